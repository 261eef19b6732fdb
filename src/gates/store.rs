//! Queries on attendance and the figures of an event. Each takes a connection so that callers
//! compose them in transactions; the scan recorder keeps its own in `recorder.rs`.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::{count_star, sql};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{DenialReason, Direction, Verdict};
use crate::accreditations::VettingState;
use crate::db::kept_prepared::KeptPrepared;
use crate::db::schema::{
    accreditation_counts, accreditations, badge_presence, badges, delegations, exhibitors,
    gate_devices, participants, scans, users,
};
use crate::events::zones::Zone;

/// How many accreditations of the event have each (status, category), in that order, from the
/// counts a trigger keeps exactly (`accreditation_counts`): a few rows rather than the event.
pub async fn accreditations_by_status_and_category(
    mut conn: &AsyncPgConnection,
    event_id: Uuid,
) -> QueryResult<Vec<(String, String, i64)>> {
    accreditation_counts::table
        .filter(accreditation_counts::event_id.eq(event_id))
        .group_by((accreditation_counts::status, accreditation_counts::category))
        // Rows not folded yet may add up to nothing: such a pair has no accreditation.
        .having(sql::<Bool>("sum(n) <> 0"))
        .select((
            accreditation_counts::status,
            accreditation_counts::category,
            sql::<BigInt>("sum(n)::bigint"),
        ))
        .order((accreditation_counts::status, accreditation_counts::category))
        .load(&mut conn)
        .await
}

/// How many accreditations of the event stand in each vetting state, by category (those whose
/// category the event does not vet are left out).
pub async fn accreditations_by_vetting_state_and_category(
    mut conn: &AsyncPgConnection,
    event_id: Uuid,
) -> QueryResult<Vec<(VettingState, String, i64)>> {
    accreditations::table
        .filter(accreditations::event_id.eq(event_id))
        .filter(accreditations::vetting_state.is_not_null())
        .group_by((accreditations::vetting_state, accreditations::category))
        .select((
            accreditations::vetting_state.assume_not_null(),
            accreditations::category,
            count_star(),
        ))
        .order((accreditations::vetting_state, accreditations::category))
        .load(&mut conn)
        .await
}

/// How many accreditations of the event go to participants of each nationality.
pub async fn accreditations_by_nationality(
    mut conn: &AsyncPgConnection,
    event_id: Uuid,
) -> QueryResult<Vec<(String, i64)>> {
    accreditations::table
        .inner_join(participants::table)
        .filter(accreditations::event_id.eq(event_id))
        .group_by(participants::nationality)
        .select((participants::nationality, count_star()))
        .order(participants::nationality)
        .load(&mut conn)
        .await
}

/// How many exhibitors of the event have each status.
pub async fn exhibitors_by_status(
    mut conn: &AsyncPgConnection,
    event_id: Uuid,
) -> QueryResult<Vec<(String, i64)>> {
    exhibitors::table
        .filter(exhibitors::event_id.eq(event_id))
        .group_by(exhibitors::status)
        .select((exhibitors::status, count_star()))
        .order(exhibitors::status)
        .load(&mut conn)
        .await
}

/// How many delegations of the event have each status.
pub async fn delegations_by_status(
    mut conn: &AsyncPgConnection,
    event_id: Uuid,
) -> QueryResult<Vec<(String, i64)>> {
    delegations::table
        .filter(delegations::event_id.eq(event_id))
        .group_by(delegations::status)
        .select((delegations::status, count_star()))
        .order(delegations::status)
        .load(&mut conn)
        .await
}

#[derive(QueryableByName)]
struct DayRow {
    #[diesel(sql_type = diesel::sql_types::Date)]
    day: NaiveDate,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}

/// How many allowed entries the event had on each day (UTC) that had any, in day order; an
/// offline scan counts on the day it was made (`scanned_at`), not the day it was uploaded.
pub async fn entries_per_day(
    mut conn: &AsyncPgConnection,
    event_id: Uuid,
) -> QueryResult<Vec<(NaiveDate, i64)>> {
    // Grouping by an expression is beyond diesel's query builder; the SQL is small and bound.
    let rows: Vec<DayRow> = KeptPrepared(
        diesel::sql_query(
            "SELECT scanned_at::date AS day, count(*) AS count FROM scans \
             WHERE event_id = $1 AND verdict = 'allowed' AND direction = 'in' \
             GROUP BY 1 ORDER BY 1",
        )
        .bind::<diesel::sql_types::Uuid, _>(event_id),
    )
    .load(&mut conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|DayRow { day, count }| (day, count))
        .collect())
}

/// How many allowed entries the event had at each gate.
pub async fn entries_per_gate(
    mut conn: &AsyncPgConnection,
    event_id: Uuid,
) -> QueryResult<Vec<(String, i64)>> {
    scans::table
        .filter(scans::event_id.eq(event_id))
        .filter(scans::verdict.eq("allowed"))
        .filter(scans::direction.eq("in"))
        .group_by(scans::gate)
        .select((scans::gate, count_star()))
        .order(scans::gate)
        .load(&mut conn)
        .await
}

/// How many of the event's badges are inside now (their last allowed scan was an entry).
pub async fn inside_now(mut conn: &AsyncPgConnection, event_id: Uuid) -> QueryResult<i64> {
    badge_presence::table
        .inner_join(badges::table)
        .filter(badges::event_id.eq(event_id))
        .filter(badge_presence::inside.eq(true))
        .select(diesel::dsl::count(badge_presence::badge_id).aggregate_distinct())
        .get_result(&mut conn)
        .await
}

/// How many scans of the event gate devices made offline and uploaded later, and how many of
/// them are alerts (let in offline, refused by the server at their time).
pub async fn offline_scans_and_alerts(
    mut conn: &AsyncPgConnection,
    event_id: Uuid,
) -> QueryResult<(i64, i64)> {
    let offline = scans::table
        .filter(scans::event_id.eq(event_id))
        .filter(scans::offline_verdict.is_not_null())
        .select(count_star())
        .get_result::<i64>(&mut conn);
    let mut also = conn;
    let alerts = scans::table
        .filter(scans::event_id.eq(event_id))
        .filter(scans::flagged)
        .select(count_star())
        .get_result::<i64>(&mut also);
    futures_util::try_join!(offline, alerts)
}

/// The scans the CSV export keeps; every field narrows, `from` inclusive and `to` exclusive.
#[derive(Debug, Default)]
pub struct ScanFilter {
    pub gate: Option<String>,
    pub zone: Option<Zone>,
    pub direction: Option<Direction>,
    pub verdict: Option<Verdict>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// A recorded scan with its badge number and holder, as the CSV export shows it.
#[derive(Debug, Queryable)]
pub struct ExportedScan {
    pub id: Uuid,
    pub scanned_at: DateTime<Utc>,
    pub gate: String,
    pub zone: Zone,
    pub direction: Direction,
    pub verdict: Verdict,
    pub reason: Option<DenialReason>,
    pub badge_number: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Set once the holder's personal data was purged (their name then says nothing).
    pub anonymized_at: Option<DateTime<Utc>>,
    /// The gate device that recorded the scan, if one did.
    pub device_name: Option<String>,
    /// The gate agent who scanned, or was signed in on the device.
    pub agent_email: Option<crate::users::EmailAddress>,
    /// When the service got the scan: later than `scanned_at` for an offline upload.
    pub received_at: DateTime<Utc>,
    /// What the device decided offline (`None`: decided online).
    pub offline_verdict: Option<Verdict>,
    /// Let in offline although the service refuses it at its time: a gate alert.
    pub flagged: bool,
}

/// Up to `limit` scans of the event matching `filter` in time order (ties broken by id), after
/// the position `after`. The purge unlinks scans from their badges, so a purged person's scans
/// come without a badge and holder.
pub async fn scans_export_page(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    filter: &ScanFilter,
    after: Option<&(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<ExportedScan>> {
    let mut query = scans::table
        .left_join(badges::table)
        .left_join(accreditations::table.on(accreditations::id.eq(badges::accreditation_id)))
        .left_join(participants::table.on(participants::id.eq(accreditations::participant_id)))
        .left_join(gate_devices::table)
        .left_join(users::table.on(users::id.nullable().eq(scans::agent_id)))
        .filter(scans::event_id.eq(event_id))
        .select((
            scans::id,
            scans::scanned_at,
            scans::gate,
            scans::zone,
            scans::direction,
            scans::verdict,
            scans::reason,
            badges::number.nullable(),
            participants::first_name.nullable(),
            participants::last_name.nullable(),
            participants::anonymized_at.nullable(),
            gate_devices::name.nullable(),
            users::email.nullable(),
            scans::received_at,
            scans::offline_verdict,
            scans::flagged,
        ))
        .order((scans::scanned_at, scans::id))
        .limit(limit)
        .into_boxed();
    if let Some(gate) = &filter.gate {
        query = query.filter(scans::gate.eq(gate.clone()));
    }
    if let Some(zone) = filter.zone {
        query = query.filter(scans::zone.eq(zone.as_str()));
    }
    if let Some(direction) = filter.direction {
        query = query.filter(scans::direction.eq(direction.as_str()));
    }
    if let Some(verdict) = filter.verdict {
        query = query.filter(scans::verdict.eq(verdict.as_str()));
    }
    if let Some(from) = filter.from {
        query = query.filter(scans::scanned_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(scans::scanned_at.lt(to));
    }
    if let Some((at, id)) = after {
        // The first condition lets PostgreSQL seek in `scans_event_idx` (event, time).
        query = query.filter(scans::scanned_at.ge(*at)).filter(
            scans::scanned_at
                .gt(*at)
                .or(scans::scanned_at.eq(*at).and(scans::id.gt(*id))),
        );
    }
    query.load(conn).await
}
