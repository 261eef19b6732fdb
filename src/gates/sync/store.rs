//! Queries of the sync feed. The changes log (`gate_sync_changes`) is read in (`xact`, `seq`)
//! order, and only below the horizon: the oldest transaction id still running anywhere in the
//! cluster (`pg_snapshot_xmin`). Every transaction below it has committed or rolled back, so no
//! row can still appear below it — whereas a transaction that took its id earlier may commit
//! after a later one, and a plain `seq` or time order would let a device's cursor pass it.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::cursor::LogPosition;
use crate::accreditations::badges::BadgeEnd;
use crate::accreditations::{AccreditationStatus, Category, VettingState};
use crate::db::schema::{
    accreditations, badges, gate_sync_changes, participant_photos, participants,
};
use crate::events::zones::Zone;

/// Every log row below this `xact` is final.
pub async fn horizon(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    diesel::select(sql::<diesel::sql_types::BigInt>(
        "pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
    ))
    .get_result(conn)
    .await
}

/// A badge as it stands now, with its holder.
#[derive(Debug, Queryable)]
pub struct BadgeState {
    pub id: Uuid,
    pub number: String,
    pub zones: Vec<Zone>,
    pub valid_days: Vec<NaiveDate>,
    pub issued_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<BadgeEnd>,
    pub status: AccreditationStatus,
    pub vetting_state: Option<VettingState>,
    pub decided_at: Option<DateTime<Utc>>,
    pub category: Category,
    pub participant_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub organization: String,
    pub nationality: String,
    pub holder_changed_at: DateTime<Utc>,
    pub photo_sha256: Option<Vec<u8>>,
    pub photo_changed_at: Option<DateTime<Utc>>,
}

macro_rules! badge_states {
    () => {
        badges::table
            .inner_join(
                accreditations::table
                    .inner_join(participants::table.left_join(participant_photos::table)),
            )
            .select((
                badges::id,
                badges::number,
                badges::zones,
                badges::valid_days,
                badges::created_at,
                badges::revoked_at,
                badges::end_reason,
                accreditations::status,
                accreditations::vetting_state,
                accreditations::decided_at,
                accreditations::category,
                participants::id,
                participants::first_name,
                participants::last_name,
                participants::organization,
                participants::nationality,
                participants::updated_at,
                participant_photos::sha256.nullable(),
                participant_photos::updated_at.nullable(),
            ))
    };
}

/// Up to `limit` live badges of the event opening one of `zones`, by id, after `after`.
pub async fn live_badges(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    zones: &[Zone],
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<BadgeState>> {
    let mut query = badge_states!()
        .filter(badges::event_id.eq(event_id))
        .filter(badges::revoked_at.is_null())
        .filter(badges::zones.overlaps_with(zones))
        .order(badges::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(badges::id.gt(after));
    }
    query.load(conn).await
}

/// The badges `ids`, as they stand now.
pub async fn badges_now(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<BadgeState>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    badge_states!()
        .filter(badges::id.eq_any(ids))
        .load(conn)
        .await
}

/// The event's badge `id`, if it opens one of `zones`.
pub async fn badge_for_zones(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    zones: &[Zone],
    id: Uuid,
) -> QueryResult<Option<BadgeState>> {
    badge_states!()
        .filter(badges::id.eq(id))
        .filter(badges::event_id.eq(event_id))
        .filter(badges::zones.overlaps_with(zones))
        .first(conn)
        .await
        .optional()
}

/// Up to `limit` log rows of the event after `after` and below `horizon`, in order, of badges
/// opening one of `zones`: their position and badge.
pub async fn changes(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    zones: &[Zone],
    after: LogPosition,
    horizon: i64,
    limit: i64,
) -> QueryResult<Vec<(LogPosition, Uuid)>> {
    let rows: Vec<(i64, i64, Uuid)> = gate_sync_changes::table
        .inner_join(badges::table)
        .filter(gate_sync_changes::event_id.eq(event_id))
        .filter(gate_sync_changes::xact.ge(after.xact))
        .filter(
            gate_sync_changes::xact
                .gt(after.xact)
                .or(gate_sync_changes::seq.gt(after.seq)),
        )
        .filter(gate_sync_changes::xact.lt(horizon))
        .filter(badges::zones.overlaps_with(zones))
        .order((gate_sync_changes::xact, gate_sync_changes::seq))
        .limit(limit)
        .select((
            gate_sync_changes::xact,
            gate_sync_changes::seq,
            gate_sync_changes::badge_id,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(xact, seq, badge)| (LogPosition { xact, seq }, badge))
        .collect())
}

/// Whether committed log rows of the event after `after`, of badges opening one of `zones`,
/// wait above the horizon for an older transaction to finish.
pub async fn held_back(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    zones: &[Zone],
    after: LogPosition,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        gate_sync_changes::table
            .inner_join(badges::table)
            .filter(gate_sync_changes::event_id.eq(event_id))
            .filter(gate_sync_changes::xact.ge(after.xact))
            .filter(
                gate_sync_changes::xact
                    .gt(after.xact)
                    .or(gate_sync_changes::seq.gt(after.seq)),
            )
            .filter(badges::zones.overlaps_with(zones)),
    ))
    .get_result(conn)
    .await
}
