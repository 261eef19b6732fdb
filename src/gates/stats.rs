//! `GET /api/v1/events/{event}/stats`: live figures for the accreditation office.

use actix_web::{get, web};
use chrono::NaiveDate;
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::extract::{Organizer, Require};
use crate::db::schema::{
    accreditations, badge_presence, badges, delegations, exhibitors, participants, scans,
};
use crate::error::{ApiResult, Problem};
use crate::events::path::EventPath;
use crate::state::AppState;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(stats);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Count {
    /// What is counted (a status, a category, a country, a gate …).
    pub key: String,
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusByCategory {
    pub status: String,
    pub category: String,
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DayCount {
    pub day: NaiveDate,
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventStats {
    pub accreditations: Vec<StatusByCategory>,
    /// Accreditations by the participant's nationality.
    pub accreditations_by_country: Vec<Count>,
    pub exhibitors_by_status: Vec<Count>,
    pub delegations_by_status: Vec<Count>,
    /// Allowed entries per day (UTC, which is Bamako time).
    pub entries_per_day: Vec<DayCount>,
    pub entries_per_gate: Vec<Count>,
    /// Badges whose last allowed scan was an entry.
    pub inside_now: i64,
}

fn counts(rows: Vec<(String, i64)>) -> Vec<Count> {
    rows.into_iter()
        .map(|(key, count)| Count { key, count })
        .collect()
}

#[derive(QueryableByName)]
struct DayRow {
    #[diesel(sql_type = diesel::sql_types::Date)]
    day: NaiveDate,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}

/// Attendance and accreditation figures (organizers).
#[utoipa::path(
    tag = "gates",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026")),
    responses(
        (status = 200, body = EventStats),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/stats")]
pub async fn stats(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    event: EventPath,
) -> ApiResult<web::Json<EventStats>> {
    let mut conn = state.pool.get().await?;
    let conn = &mut conn;
    let event = event.load_event(conn, Some(&organizer)).await?;
    let accreditations_by: Vec<(String, String, i64)> = accreditations::table
        .filter(accreditations::event_id.eq(event.id))
        .group_by((accreditations::status, accreditations::category))
        .select((
            accreditations::status,
            accreditations::category,
            count_star(),
        ))
        .order((accreditations::status, accreditations::category))
        .load(conn)
        .await?;
    let by_country = accreditations::table
        .inner_join(participants::table)
        .filter(accreditations::event_id.eq(event.id))
        .group_by(participants::nationality)
        .select((participants::nationality, count_star()))
        .order(participants::nationality)
        .load(conn)
        .await?;
    let exhibitors_by_status = exhibitors::table
        .filter(exhibitors::event_id.eq(event.id))
        .group_by(exhibitors::status)
        .select((exhibitors::status, count_star()))
        .order(exhibitors::status)
        .load(conn)
        .await?;
    let delegations_by_status = delegations::table
        .filter(delegations::event_id.eq(event.id))
        .group_by(delegations::status)
        .select((delegations::status, count_star()))
        .order(delegations::status)
        .load(conn)
        .await?;
    let entries = || {
        scans::table
            .filter(scans::event_id.eq(event.id))
            .filter(scans::verdict.eq("allowed"))
            .filter(scans::direction.eq("in"))
    };
    // Grouping by an expression is beyond diesel's query builder; the SQL is small and bound.
    let per_day: Vec<DayRow> = diesel::sql_query(
        "SELECT scanned_at::date AS day, count(*) AS count FROM scans \
         WHERE event_id = $1 AND verdict = 'allowed' AND direction = 'in' GROUP BY 1 ORDER BY 1",
    )
    .bind::<diesel::sql_types::Uuid, _>(event.id)
    .load(conn)
    .await?;
    let per_gate = entries()
        .group_by(scans::gate)
        .select((scans::gate, count_star()))
        .order(scans::gate)
        .load(conn)
        .await?;
    let inside_now = badge_presence::table
        .inner_join(badges::table)
        .filter(badges::event_id.eq(event.id))
        .filter(badge_presence::inside.eq(true))
        .select(diesel::dsl::count(badge_presence::badge_id).aggregate_distinct())
        .get_result(conn)
        .await?;
    Ok(web::Json(EventStats {
        accreditations: accreditations_by
            .into_iter()
            .map(|(status, category, count)| StatusByCategory {
                status,
                category,
                count,
            })
            .collect(),
        accreditations_by_country: counts(by_country),
        exhibitors_by_status: counts(exhibitors_by_status),
        delegations_by_status: counts(delegations_by_status),
        entries_per_day: per_day
            .into_iter()
            .map(|DayRow { day, count }| DayCount { day, count })
            .collect(),
        entries_per_gate: counts(per_gate),
        inside_now,
    }))
}
