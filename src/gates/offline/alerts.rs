//! `GET /api/v1/events/{event}/gate-alerts`: the scans that gate devices let in offline and the
//! server refuses at their time (a badge revoked before, another zone …), for organizers.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::store::{self, AlertRow};
use crate::auth::extract::{Organizer, Require};
use crate::error::{ApiResult, Problem};
use crate::events::path::EventPath;
use crate::events::zones::Zone;
use crate::gates::{DenialReason, Direction};
use crate::pagination::{Page, PageQuery};
use crate::state::AppState;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_alerts);
}

/// A scan let in offline that the server refuses at its `scanned_at`.
#[derive(Debug, Serialize, ToSchema)]
pub struct GateAlert {
    scan_id: Uuid,
    /// When the device scanned.
    scanned_at: DateTime<Utc>,
    /// When its upload arrived.
    received_at: DateTime<Utc>,
    #[schema(example = "north-1")]
    gate: String,
    zone: Zone,
    direction: Direction,
    /// Why the server refuses it.
    reason: Option<DenialReason>,
    /// Null when the QR's signature or its badge is unknown.
    badge_id: Option<Uuid>,
    /// The badge's number, or the one the guard typed.
    #[schema(example = "B26-TRV-000042")]
    badge_number: Option<String>,
    device_id: Option<Uuid>,
    #[schema(example = "Koulikoro range, scanner 2")]
    device_name: Option<String>,
    /// The gate agent signed in on the device, if one was.
    agent_id: Option<Uuid>,
}

impl From<AlertRow> for GateAlert {
    fn from(row: AlertRow) -> Self {
        Self {
            scan_id: row.scan_id,
            scanned_at: row.scanned_at,
            received_at: row.received_at,
            gate: row.gate,
            zone: row.zone,
            direction: row.direction,
            reason: row.reason,
            badge_id: row.badge_id,
            badge_number: row.badge_number.or(row.entered_number),
            device_id: row.device_id,
            device_name: row.device_name,
            agent_id: row.agent_id,
        }
    }
}

/// The event's gate alerts (organizers), the latest scan first: scans that gate devices let in
/// offline and the server refuses at their time.
#[utoipa::path(
    tag = "gates",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026"), PageQuery),
    responses(
        (status = 200, description = "The alerts", body = Page<GateAlert>),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A `limit` or `cursor` that does not parse (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/gate-alerts")]
async fn list_alerts(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    event: EventPath,
    page: web::Query<PageQuery>,
) -> ApiResult<web::Json<Page<GateAlert>>> {
    let page = page.parse::<(DateTime<Utc>, Uuid)>()?;
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&organizer)).await?;
    let (rows, total) = store::alerts_page(&mut conn, event.id, &page).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        total,
        &page,
        |row| (row.scanned_at, row.scan_id),
        GateAlert::from,
    )))
}
