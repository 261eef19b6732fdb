//! The batches of people sent to security services that work offline: which accreditations
//! went in which file, at which version and with which identity, so that the next batch holds
//! only those never sent, or sent before their identity was corrected.
//!
//! A batch is chosen and recorded in one transaction, under a lock per event: two officers
//! exporting at once get two disjoint batches, not the same people twice. The file itself is
//! then read page by page from the batch's items (the current data of those people: nothing
//! personal is copied into the batch).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accreditations::{Accreditation, Category};
use crate::audit::{Actor, AuditEntry};
use crate::db::schema::{
    accreditations, delegations, exhibitors, participants, vetting_batch_items, vetting_batches,
    vetting_results,
};
use crate::error::{ApiError, ApiResult};
use crate::participants::documents::DocumentVault;
use crate::participants::{DocumentType, Participant};

/// The most people one batch holds (and the default of `?limit`).
pub const MAX_BATCH_PEOPLE: i64 = 5_000;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = vetting_batches, check_for_backend(diesel::pg::Pg))]
pub struct Batch {
    pub id: Uuid,
    pub event_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub people: i32,
}

/// Who goes into a new batch.
#[derive(Debug, Clone, Copy)]
pub struct Selection {
    /// At most this many, the longest waiting first.
    pub limit: i64,
    /// Also those sent already with the identity they have now.
    pub include_sent: bool,
}

#[derive(QueryableByName)]
struct Chosen {
    #[diesel(sql_type = SqlUuid)]
    accreditation_id: Uuid,
}

/// Records a new batch of the event's people awaiting clearance (`vetting_state` pending), with
/// the export's audit record listing them (the file shows their document numbers).
pub async fn create(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    officer: &Actor,
    format: &str,
    selection: Selection,
) -> ApiResult<Batch> {
    // One batch chosen at a time per event, so that two at once do not take the same people.
    diesel::sql_query(
        "SELECT pg_advisory_xact_lock(hashtextextended('vetting_batch:' || $1::text, 0))",
    )
    .bind::<SqlUuid, _>(event_id)
    .execute(conn)
    .await?;
    let id = Uuid::now_v7();
    diesel::insert_into(vetting_batches::table)
        .values((
            vetting_batches::id.eq(id),
            vetting_batches::event_id.eq(event_id),
            vetting_batches::created_by.eq(officer.id),
            vetting_batches::people.eq(0),
        ))
        .execute(conn)
        .await?;
    // `participant_identity` is what a clearance is given on: a correction changes it.
    let chosen: Vec<Chosen> = diesel::sql_query(
        "INSERT INTO vetting_batch_items (batch_id, accreditation_id, version, identity)
         SELECT $1, a.id, a.version, participant_identity(p)
           FROM accreditations a JOIN participants p ON p.id = a.participant_id
          WHERE a.event_id = $2 AND a.vetting_state = 'pending' AND p.anonymized_at IS NULL
            AND ($3 OR NOT EXISTS (
                SELECT 1 FROM vetting_batch_items sent
                 WHERE sent.accreditation_id = a.id AND sent.identity = participant_identity(p)))
          ORDER BY a.created_at, a.id
          LIMIT $4
         RETURNING accreditation_id",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(event_id)
    .bind::<Bool, _>(selection.include_sent)
    .bind::<BigInt, _>(selection.limit)
    .load(conn)
    .await?;
    let ids: Vec<Uuid> = chosen.into_iter().map(|c| c.accreditation_id).collect();
    let batch = diesel::update(vetting_batches::table.find(id))
        .set(vetting_batches::people.eq(ids.len() as i32))
        .returning(Batch::as_returning())
        .get_result(conn)
        .await?;
    record_export(conn, &batch, officer, format, &ids, false).await?;
    Ok(batch)
}

/// A batch of the event, exported again: the same people, as they are now (another read of
/// their document numbers, audited).
pub async fn reexport(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    officer: &Actor,
    format: &str,
    id: Uuid,
) -> ApiResult<Batch> {
    let batch: Batch = vetting_batches::table
        .filter(vetting_batches::event_id.eq(event_id))
        .filter(vetting_batches::id.eq(id))
        .select(Batch::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| ApiError::NotFound {
            code: "unknown_batch",
            detail: "This event has no such vetting batch.".into(),
        })?;
    let ids: Vec<Uuid> = vetting_batch_items::table
        .filter(vetting_batch_items::batch_id.eq(id))
        .order(vetting_batch_items::accreditation_id)
        .select(vetting_batch_items::accreditation_id)
        .load(conn)
        .await?;
    record_export(conn, &batch, officer, format, &ids, true).await?;
    Ok(batch)
}

async fn record_export(
    conn: &mut AsyncPgConnection,
    batch: &Batch,
    officer: &Actor,
    format: &str,
    ids: &[Uuid],
    again: bool,
) -> ApiResult<()> {
    AuditEntry::new("vetting.batch_exported", "vetting_batch", Some(batch.id))
        .by_actor(officer)
        .details(serde_json::json!({
            "format": format,
            "again": again,
            "document_numbers_read": true,
            "accreditation_ids": ids,
        }))
        .record(conn)
        .await?;
    Ok(())
}

/// One person of a batch, as the services get them.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchPerson {
    pub accreditation_id: Uuid,
    /// The accreditation's version these details are at; a result may name it back.
    pub version: i32,
    pub last_name: String,
    pub first_name: String,
    pub date_of_birth: Option<NaiveDate>,
    pub place_of_birth: Option<String>,
    pub nationality: String,
    pub id_document_type: Option<DocumentType>,
    /// In full: the services check it.
    pub id_document_number: Option<String>,
    pub id_document_expires_on: Option<NaiveDate>,
    pub organization: String,
    pub function: Option<String>,
    pub category: Category,
    /// The exhibitor the person works for (staff).
    pub exhibitor: Option<String>,
    /// The delegation the person belongs to (members).
    pub delegation: Option<String>,
}

/// Up to `limit` people of the batch after `after`, in the order of their accreditation ids,
/// their document numbers decrypted.
pub async fn people(
    conn: &mut AsyncPgConnection,
    vault: &DocumentVault,
    batch_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> ApiResult<Vec<BatchPerson>> {
    let mut query = vetting_batch_items::table
        .inner_join(
            accreditations::table.inner_join(
                participants::table
                    .left_join(exhibitors::table)
                    .left_join(delegations::table),
            ),
        )
        .filter(vetting_batch_items::batch_id.eq(batch_id))
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(vetting_batch_items::accreditation_id.gt(after));
    }
    let rows: Vec<(Accreditation, Participant, Option<String>, Option<String>)> = query
        .order(vetting_batch_items::accreditation_id)
        .limit(limit)
        .select((
            Accreditation::as_select(),
            Participant::as_select(),
            exhibitors::display_name.nullable(),
            delegations::name.nullable(),
        ))
        .load(conn)
        .await?;
    rows.into_iter()
        .map(|(accreditation, participant, exhibitor, delegation)| {
            Ok(BatchPerson {
                accreditation_id: accreditation.id,
                version: accreditation.version,
                id_document_number: participant.open_document(vault)?,
                last_name: participant.last_name,
                first_name: participant.first_name,
                date_of_birth: participant.date_of_birth,
                place_of_birth: participant.place_of_birth,
                nationality: participant.nationality,
                id_document_type: participant.id_document_type,
                id_document_expires_on: participant.id_document_expires_on,
                organization: participant.organization,
                function: participant.function,
                category: accreditation.category,
                exhibitor,
                delegation,
            })
        })
        .collect()
}

/// Forgets what was exchanged with the services about the event's people (the retention purge):
/// a batch's identity digests, and the digests of the results applied, would still let one
/// test a guessed identity or note against them.
pub async fn delete_for_event(conn: &mut AsyncPgConnection, event_id: Uuid) -> QueryResult<()> {
    diesel::delete(vetting_batches::table.filter(vetting_batches::event_id.eq(event_id)))
        .execute(conn)
        .await?;
    diesel::delete(vetting_results::table.filter(vetting_results::event_id.eq(event_id)))
        .execute(conn)
        .await?;
    Ok(())
}
