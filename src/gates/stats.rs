//! `GET /api/v1/events/{event}/stats`: live figures for the accreditation office.

use actix_web::{get, web};

use super::figures::EventStats;
use crate::auth::extract::{Organizer, Require};
use crate::error::{ApiResult, Problem};
use crate::events::path::EventPath;
use crate::state::AppState;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(stats);
}

/// Attendance and accreditation figures (organizers).
///
/// Each instance counts an event's figures at most once every `gates.stats_fresh_ms` (2 s by
/// default): they may be that old.
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
    Ok(web::Json(EventStats::clone(
        &*state.stats.get(conn, event.id).await?,
    )))
}
