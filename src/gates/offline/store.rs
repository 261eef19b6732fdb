//! The queries of offline uploads and gate alerts. Each takes a connection so that the upload
//! runs them in one transaction.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::accreditations::AccreditationStatus;
use crate::accreditations::badges::BadgeEnd;
use crate::db::schema::{accreditations, badges, gate_devices, scans};
use crate::events::zones::Zone;
use crate::gates::{DenialReason, Direction, Verdict};
use crate::pagination::PageRequest;

/// A badge as an upload judges it.
#[derive(Debug, Queryable)]
pub struct UploadBadge {
    pub id: Uuid,
    pub event_id: Uuid,
    pub number: String,
    pub zones: Vec<Zone>,
    pub valid_days: Vec<NaiveDate>,
    pub end_reason: Option<BadgeEnd>,
    pub ended_at: Option<DateTime<Utc>>,
    pub status: AccreditationStatus,
}

/// The event's badges with one of the ids `ids` or the numbers `numbers`.
pub async fn badges_named(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    ids: Vec<Uuid>,
    numbers: Vec<String>,
) -> QueryResult<Vec<UploadBadge>> {
    if ids.is_empty() && numbers.is_empty() {
        return Ok(Vec::new());
    }
    badges::table
        .inner_join(accreditations::table)
        .filter(badges::event_id.eq(event_id))
        .filter(badges::id.eq_any(ids).or(badges::number.eq_any(numbers)))
        .select((
            badges::id,
            badges::event_id,
            badges::number,
            badges::zones,
            badges::valid_days,
            badges::end_reason,
            badges::revoked_at,
            accreditations::status,
        ))
        .load(conn)
        .await
}

/// A scan recorded before under an id an upload sends again.
#[derive(Debug, Queryable)]
pub struct RecordedScan {
    pub id: Uuid,
    pub event_id: Uuid,
    pub device_id: Option<Uuid>,
    pub qr_digest: Option<Vec<u8>>,
    pub entered_number: Option<String>,
    pub gate: String,
    pub zone: Zone,
    pub direction: Direction,
    pub scanned_at: DateTime<Utc>,
    pub offline_verdict: Option<Verdict>,
    pub verdict: Verdict,
    pub reason: Option<DenialReason>,
    pub flagged: bool,
}

/// The scans recorded under the ids `ids`, online or offline, of any event.
pub async fn recorded_scans(
    conn: &mut AsyncPgConnection,
    ids: Vec<Uuid>,
) -> QueryResult<Vec<RecordedScan>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    scans::table
        .filter(scans::id.eq_any(ids))
        .select((
            scans::id,
            scans::event_id,
            scans::device_id,
            scans::qr_digest,
            scans::entered_number,
            scans::gate,
            scans::zone,
            scans::direction,
            scans::scanned_at,
            scans::offline_verdict,
            scans::verdict,
            scans::reason,
            scans::flagged,
        ))
        .load(conn)
        .await
}

/// A scan of the upload to record: its badge, and its denial if one is decided without presence.
pub struct NewOfflineScan<'a> {
    pub id: Uuid,
    pub badge_id: Option<Uuid>,
    pub reason: Option<DenialReason>,
    pub qr_digest: Option<&'a [u8]>,
    pub entered_number: Option<&'a str>,
    pub gate: &'a str,
    pub zone: Zone,
    pub direction: Direction,
    pub scanned_at: DateTime<Utc>,
    pub offline_verdict: Verdict,
}

/// What the database recorded for a scan.
#[derive(Debug, Clone, QueryableByName)]
pub struct Written {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub verdict: Verdict,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub reason: Option<DenialReason>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub flagged: bool,
}

/// Records the scans with presence rebuilt in time order, in one call of the function
/// `record_offline_scans` (migration 2026-12-04-000200). A scan whose id was recorded meanwhile
/// is left out of the answer: the caller then undoes the call.
pub async fn record(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    device_id: Uuid,
    agent_id: Option<Uuid>,
    rows: &[NewOfflineScan<'_>],
) -> QueryResult<Vec<Written>> {
    use diesel::sql_types::{Array, Bytea, Nullable, Text, Timestamptz, Uuid as SqlUuid};
    diesel::sql_query(
        "SELECT id, verdict, reason, flagged \
         FROM record_offline_scans($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind::<SqlUuid, _>(event_id)
    .bind::<SqlUuid, _>(device_id)
    .bind::<Nullable<SqlUuid>, _>(agent_id)
    .bind::<Array<SqlUuid>, _>(rows.iter().map(|row| row.id).collect::<Vec<_>>())
    .bind::<Array<Nullable<SqlUuid>>, _>(rows.iter().map(|row| row.badge_id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(rows.iter().map(|row| row.gate).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(rows.iter().map(|row| row.zone.as_str()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(
        rows.iter()
            .map(|row| row.direction.as_str())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Nullable<Text>>, _>(
        rows.iter()
            .map(|row| row.reason.map(DenialReason::as_str))
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Nullable<Bytea>>, _>(rows.iter().map(|row| row.qr_digest).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(
        rows.iter()
            .map(|row| row.entered_number)
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Timestamptz>, _>(rows.iter().map(|row| row.scanned_at).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(
        rows.iter()
            .map(|row| row.offline_verdict.as_str())
            .collect::<Vec<_>>(),
    )
    .load(conn)
    .await
}

/// Records that the device uploaded scans now.
pub async fn mark_upload(conn: &mut AsyncPgConnection, device_id: Uuid) -> QueryResult<()> {
    diesel::update(gate_devices::table.find(device_id))
        .set(gate_devices::last_upload_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(())
}

/// A flagged scan with its badge and device, as organizers list it.
#[derive(Debug, Queryable)]
pub struct AlertRow {
    pub scan_id: Uuid,
    pub scanned_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub gate: String,
    pub zone: Zone,
    pub direction: Direction,
    pub reason: Option<DenialReason>,
    pub badge_id: Option<Uuid>,
    pub badge_number: Option<String>,
    pub entered_number: Option<String>,
    pub device_id: Option<Uuid>,
    pub device_name: Option<String>,
    pub agent_id: Option<Uuid>,
}

/// Up to `page.limit + 1` of the event's flagged scans, the latest first (by `scanned_at`, then
/// id), after the position `page.after`; and how many there are.
pub async fn alerts_page(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    page: &PageRequest<(DateTime<Utc>, Uuid)>,
) -> QueryResult<(Vec<AlertRow>, i64)> {
    let total = scans::table
        .filter(scans::event_id.eq(event_id))
        .filter(scans::flagged)
        .select(count_star())
        .get_result(conn)
        .await?;
    let mut query = scans::table
        .left_join(badges::table)
        .left_join(gate_devices::table)
        .filter(scans::event_id.eq(event_id))
        .filter(scans::flagged)
        .select((
            scans::id,
            scans::scanned_at,
            scans::received_at,
            scans::gate,
            scans::zone,
            scans::direction,
            scans::reason,
            scans::badge_id,
            badges::number.nullable(),
            scans::entered_number,
            scans::device_id,
            gate_devices::name.nullable(),
            scans::agent_id,
        ))
        .order((scans::scanned_at.desc(), scans::id.desc()))
        .limit(page.limit + 1)
        .into_boxed();
    if let Some((at, id)) = page.after {
        query = query.filter(
            scans::scanned_at
                .lt(at)
                .or(scans::scanned_at.eq(at).and(scans::id.lt(id))),
        );
    }
    Ok((query.load(conn).await?, total))
}
