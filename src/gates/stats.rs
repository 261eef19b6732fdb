//! `GET /api/v1/events/{event}/stats`: live figures for the accreditation office.

use actix_web::{get, web};
use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::store;
use crate::accreditations::VettingState;
use crate::auth::extract::{Organizer, Require};
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
pub struct VettingByCategory {
    pub vetting_state: VettingState,
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
    /// Accreditations by vetting state and category, for the categories the event vets.
    pub vetting: Vec<VettingByCategory>,
    /// Accreditations by the participant's nationality.
    pub accreditations_by_country: Vec<Count>,
    pub exhibitors_by_status: Vec<Count>,
    pub delegations_by_status: Vec<Count>,
    /// Allowed entries per day (UTC, which is Bamako time), offline ones on the day they were
    /// made.
    pub entries_per_day: Vec<DayCount>,
    pub entries_per_gate: Vec<Count>,
    /// Badges whose last allowed scan was an entry.
    pub inside_now: i64,
    /// Scans gate devices made offline and uploaded.
    pub offline_scans: i64,
    /// Offline scans let in by the device that the server refuses at their time
    /// (`GET …/gate-alerts`).
    pub gate_alerts: i64,
}

fn counts(rows: Vec<(String, i64)>) -> Vec<Count> {
    rows.into_iter()
        .map(|(key, count)| Count { key, count })
        .collect()
}

/// Attendance and accreditation figures (organizers).
#[utoipa::path(
    tag = "gates",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026")),
    responses(
        (status = 200, description = "Attendance and accreditation counts", body = EventStats),
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
    let conn = state.reads.conn().await?;
    let conn = &*conn;
    let event = event.load_event_on(conn, Some(&organizer)).await?;
    // Sent together on the connection: one round trip rather than ten.
    let (
        accreditations_by,
        vetting_by,
        by_country,
        exhibitors_by_status,
        delegations_by_status,
        per_day,
        per_gate,
        inside_now,
        (offline_scans, gate_alerts),
    ) = futures_util::try_join!(
        store::accreditations_by_status_and_category(conn, event.id),
        store::accreditations_by_vetting_state_and_category(conn, event.id),
        store::accreditations_by_nationality(conn, event.id),
        store::exhibitors_by_status(conn, event.id),
        store::delegations_by_status(conn, event.id),
        store::entries_per_day(conn, event.id),
        store::entries_per_gate(conn, event.id),
        store::inside_now(conn, event.id),
        store::offline_scans_and_alerts(conn, event.id),
    )?;
    Ok(web::Json(EventStats {
        accreditations: accreditations_by
            .into_iter()
            .map(|(status, category, count)| StatusByCategory {
                status,
                category,
                count,
            })
            .collect(),
        vetting: vetting_by
            .into_iter()
            .map(|(vetting_state, category, count)| VettingByCategory {
                vetting_state,
                category,
                count,
            })
            .collect(),
        accreditations_by_country: counts(by_country),
        exhibitors_by_status: counts(exhibitors_by_status),
        delegations_by_status: counts(delegations_by_status),
        entries_per_day: per_day
            .into_iter()
            .map(|(day, count)| DayCount { day, count })
            .collect(),
        entries_per_gate: counts(per_gate),
        inside_now,
        offline_scans,
        gate_alerts,
    }))
}
