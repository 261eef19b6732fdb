//! `GET /api/v1/events/{event}/scans.csv`: the event's recorded gate scans as CSV, for the
//! organizers, in time order.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::store::{self, ExportedScan, ScanFilter};
use super::{Direction, Verdict};
use crate::auth::extract::{Organizer, Require};
use crate::csv_export::{self, Sheet};
use crate::error::{ApiError, ApiResult, Problem};
use crate::events::path::EventPath;
use crate::events::zones::Zone;
use crate::state::AppState;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(export_scans);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScansExportQuery {
    /// The gate's name, exactly as the scanner sent it.
    #[param(example = "north-1")]
    gate: Option<String>,
    zone: Option<Zone>,
    direction: Option<Direction>,
    verdict: Option<Verdict>,
    /// Scans at or after this time (RFC 3339, such as `2026-11-24T08:00:00Z`).
    from: Option<DateTime<Utc>>,
    /// Scans before this time (RFC 3339).
    to: Option<DateTime<Utc>>,
}

/// The event's gate scans as CSV (organizers), oldest first, with filters: UTF-8 with a
/// byte-order mark so that Excel reads it, and cells neutralised against formula injection.
/// `holder` is empty for a badge the service does not know and for a person whose personal
/// data was purged. `device` is the gate device that recorded the scan and `agent` the email
/// of the gate agent who scanned (on their own or signed in on the device), when known.
/// `received_at` is when the service got the scan (later for a device's offline upload),
/// `offline_verdict` what the device decided offline, and `flagged` a gate alert: let in
/// offline although the service refuses it at `scanned_at`.
#[utoipa::path(
    tag = "gates",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026"), ScansExportQuery),
    responses(
        (status = 200, description = "The scans, one a row", content_type = "text/csv"),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A filter that does not parse, or `from` after `to` (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/scans.csv")]
async fn export_scans(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    event: EventPath,
    query: web::Query<ScansExportQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    if let (Some(from), Some(to)) = (query.from, query.to)
        && from > to
    {
        return Err(ApiError::validation("to", "must not be before `from`"));
    }
    let filter = ScanFilter {
        gate: query.gate,
        zone: query.zone,
        direction: query.direction,
        verdict: query.verdict,
        from: query.from,
        to: query.to,
    };
    csv_export::of_event(&state.pool, &event, &organizer, "scans", |event| {
        ScanSheet {
            event_id: event.id,
            filter,
        }
    })
    .await
}

struct ScanSheet {
    event_id: Uuid,
    filter: ScanFilter,
}

impl Sheet for ScanSheet {
    type Row = ExportedScan;
    type Key = (DateTime<Utc>, Uuid);

    const COLUMNS: &'static [&'static str] = &[
        "scan_id",
        "scanned_at",
        "gate",
        "zone",
        "direction",
        "verdict",
        "reason",
        "badge_number",
        "holder",
        "device",
        "agent",
        "received_at",
        "offline_verdict",
        "flagged",
    ];

    async fn page(
        &self,
        conn: &mut AsyncPgConnection,
        after: Option<&(DateTime<Utc>, Uuid)>,
        limit: i64,
    ) -> ApiResult<Vec<ExportedScan>> {
        Ok(store::scans_export_page(conn, self.event_id, &self.filter, after, limit).await?)
    }

    fn key(&self, scan: &ExportedScan) -> (DateTime<Utc>, Uuid) {
        (scan.scanned_at, scan.id)
    }

    fn cells(&self, scan: ExportedScan) -> Vec<String> {
        let holder = match (scan.first_name, scan.last_name, scan.anonymized_at) {
            (Some(first), Some(last), None) => format!("{first} {last}"),
            _ => String::new(),
        };
        vec![
            scan.id.to_string(),
            scan.scanned_at.to_rfc3339(),
            scan.gate,
            scan.zone.as_str().to_owned(),
            scan.direction.as_str().to_owned(),
            scan.verdict.as_str().to_owned(),
            scan.reason
                .map(|r| r.as_str().to_owned())
                .unwrap_or_default(),
            scan.badge_number.unwrap_or_default(),
            holder,
            scan.device_name.unwrap_or_default(),
            scan.agent_email
                .map(|email| email.as_str().to_owned())
                .unwrap_or_default(),
            scan.received_at.to_rfc3339(),
            scan.offline_verdict
                .map(|verdict| verdict.as_str().to_owned())
                .unwrap_or_default(),
            scan.flagged.to_string(),
        ]
    }
}
