//! Applying a file of results from the security services: each row on its own savepoint, so
//! that valid rows apply when others fail, and each applied row recorded under the digest of
//! what it says, so that nothing is applied twice.
//!
//! A row already applied (the same file uploaded again, or by two officers at once) meets the
//! unique key `vetting_results_once`: the second insert waits for the first upload's
//! transaction and then finds the row there, and answers `unchanged`. Rows are applied in the
//! order of their accreditation ids (and, for one accreditation, of the file), so that two
//! uploads touching the same people take their locks in one order and never deadlock; the
//! answer lists them in the file's order.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::decision::{self, VettingRuling};
use super::uploads::{CheckedResult, Row, RowError};
use crate::accreditations::VettingState;
use crate::accreditations::badges::BadgeKeys;
use crate::audit::{Actor, AuditEntry};
use crate::db::schema::{accreditations, vetting_results};
use crate::error::{ApiError, ApiResult};
use crate::events::Event;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RowOutcome {
    /// The decision was taken.
    Applied,
    /// The same row was applied before: nothing was done again.
    Unchanged,
    /// Refused; see `error`.
    Failed,
}

/// What became of one row of the upload.
#[derive(Debug, Serialize, ToSchema)]
pub struct RowResult {
    /// The row's number in the file, from 1 (in CSV the header is not counted).
    pub row: usize,
    /// As written in the row.
    pub accreditation_id: String,
    pub outcome: RowOutcome,
    /// The accreditation's vetting state after the row was applied.
    pub vetting_state: Option<VettingState>,
    pub error: Option<RowError>,
}

/// The answer to an upload: counts, and one result per row in the file's order.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    pub applied: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub results: Vec<RowResult>,
}

/// What became of one row: applied, unchanged or failed, the state after it, and why it failed.
type Outcome = (RowOutcome, Option<VettingState>, Option<RowError>);

/// Applies the rows in one transaction, a savepoint each, and records the import.
pub async fn apply(
    conn: &mut AsyncPgConnection,
    keys: &BadgeKeys,
    event: &Event,
    officer: &Actor,
    rows: Vec<Row>,
) -> ApiResult<ImportReport> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|&i| (rows[i].checked.as_ref().ok().map(|c| c.accreditation_id), i));
        let mut outcomes: Vec<Option<Outcome>> = (0..rows.len()).map(|_| None).collect();
        for i in order {
            outcomes[i] = Some(match &rows[i].checked {
                Err(error) => (RowOutcome::Failed, None, Some(error.clone())),
                Ok(checked) => {
                    let applied = conn
                        .transaction::<_, ApiError, _>(async |conn| {
                            apply_one(conn, keys, event, officer, checked).await
                        })
                        .await;
                    match applied {
                        Ok(Some(state)) => (RowOutcome::Applied, Some(state), None),
                        Ok(None) => (RowOutcome::Unchanged, None, None),
                        Err(e @ (ApiError::Internal(_) | ApiError::Unavailable(_))) => {
                            return Err(e);
                        }
                        Err(e) => (RowOutcome::Failed, None, Some(row_error(&e))),
                    }
                }
            });
        }
        let results: Vec<RowResult> = rows
            .into_iter()
            .zip(outcomes)
            .map(|(row, outcome)| {
                let (outcome, vetting_state, error) = outcome.expect("every row was visited");
                RowResult {
                    row: row.row,
                    accreditation_id: row.accreditation_id,
                    outcome,
                    vetting_state,
                    error,
                }
            })
            .collect();
        let count = |o: RowOutcome| results.iter().filter(|r| r.outcome == o).count();
        let report = ImportReport {
            applied: count(RowOutcome::Applied),
            unchanged: count(RowOutcome::Unchanged),
            failed: count(RowOutcome::Failed),
            results,
        };
        AuditEntry::new("vetting.results_imported", "event", Some(event.id))
            .by_actor(officer)
            .details(serde_json::json!({
                "applied": report.applied,
                "unchanged": report.unchanged,
                "failed": report.failed,
            }))
            .record(conn)
            .await?;
        Ok(report)
    })
    .await
}

/// The row's decision, unless the same row was applied before (`None`).
async fn apply_one(
    conn: &mut AsyncPgConnection,
    keys: &BadgeKeys,
    event: &Event,
    officer: &Actor,
    checked: &CheckedResult,
) -> ApiResult<Option<VettingState>> {
    let known = accreditations::table
        .filter(accreditations::event_id.eq(event.id))
        .filter(accreditations::id.eq(checked.accreditation_id))
        .select(accreditations::id)
        .first::<Uuid>(conn)
        .await
        .optional()?;
    if known.is_none() {
        return Err(unknown_accreditation());
    }
    let recorded = diesel::insert_into(vetting_results::table)
        .values((
            vetting_results::id.eq(Uuid::now_v7()),
            vetting_results::event_id.eq(event.id),
            vetting_results::accreditation_id.eq(checked.accreditation_id),
            vetting_results::row_digest.eq(checked.digest()),
            vetting_results::uploaded_by.eq(officer.id),
        ))
        .on_conflict((
            vetting_results::accreditation_id,
            vetting_results::row_digest,
        ))
        .do_nothing()
        .execute(conn)
        .await?;
    if recorded == 0 {
        return Ok(None);
    }
    let ruling = VettingRuling {
        state: checked.state,
        note: checked.note.clone(),
        reference: checked.reference.clone(),
        message: checked.message.clone(),
        version: checked.version,
    };
    let decided =
        decision::decide(conn, keys, event, officer, checked.accreditation_id, ruling).await?;
    Ok(decided.accreditation.vetting_state)
}

fn unknown_accreditation() -> ApiError {
    ApiError::NotFound {
        code: "unknown_accreditation",
        detail: "This event has no accreditation with this id.".into(),
    }
}

/// A refused decision as a row's error: the codes a services' file is written against.
fn row_error(e: &ApiError) -> RowError {
    if let ApiError::Validation(errors) = e {
        let fields: Vec<_> = errors
            .iter()
            .map(|f| format!("`{}` {}", f.field, f.message))
            .collect();
        return RowError::new("invalid_value", fields.join("; "));
    }
    match e.code() {
        "not_found" | "unknown_accreditation" => {
            RowError::new("unknown_accreditation", unknown_accreditation().to_string())
        }
        "conflict" => RowError::new(
            "stale_version",
            "The person's details changed since this version was exported: export them again.",
        ),
        code => RowError::new(code, e.to_string()),
    }
}
