//! `POST /api/v1/events/{event}/scans`: a gate agent scans a badge and gets allowed or denied
//! with the reason, in milliseconds. The QR's signature is checked first (no database needed),
//! then the badge's current state — a badge revoked after printing is refused although its
//! signature is valid — then the day, the zone and anti-passback. Every scan is recorded once:
//! a retry with the same `scan_id` returns the first answer. The deciding and recording is
//! done in batches by the [`ScanRecorder`](super::recorder::ScanRecorder).
//!
//! A gate device scans with its device token (see [`Scanner`]): for its own event only, and
//! only at its gates and zones. Those are in the body, so they are checked as soon as the body
//! parses, before the QR is looked at: a scan outside them is refused (403) and not recorded.

use actix_web::{post, web};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use super::recorder::SubmittedScan;
use super::scanner::Scanner;
use super::{Direction, ScanResult};
use crate::body::Body;
use crate::error::{ApiError, ApiResult, Problem};
use crate::events::path::EventPath;
use crate::events::zones::Zone;
use crate::state::AppState;
use crate::text;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(scan);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    /// The QR code's content: the badge's compact JWS.
    qr: String,
    #[schema(example = "north-1", min_length = 1, max_length = 50)]
    gate: String,
    zone: Zone,
    direction: Direction,
    /// Chosen by the scanner; a retry with the same id is answered from the first scan.
    scan_id: Option<Uuid>,
}

/// Scan a badge at a gate: gate agents and admins with their access token, or an enrolled gate
/// device of the event with its device token, alone or with the gate agent signed in on it
/// (`X-Gate-Agent`). A device scans only at the gates and zones it was registered for.
#[utoipa::path(
    tag = "gates",
    security(("bearer" = []), ("device_token" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("X-Gate-Agent" = Option<String>, Header, description = "With a device token only: the access token of the gate agent signed in on the device (bare, or as `Bearer <token>`), recorded with the scan. Checked as a gate agent's bearer token is: 401 `invalid_gate_agent_token` or `session_ended`, 403 `gate_agent_required` or `mfa_enrollment_required`. Ignored with an access token."),
    ),
    request_body = ScanRequest,
    responses(
        (status = 200, description = "The verdict; a denial is an answer, not an error", body = ScanResult),
        (status = 401, description = "No or invalid access token (`unauthenticated`, `invalid_token`), an unknown or revoked device token (`invalid_device_token`, `device_revoked`), or an invalid `X-Gate-Agent` (`invalid_gate_agent_token`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither a gate agent nor an admin (`forbidden`); a device of another event (`device_not_for_event`), or scanning outside its zones (`zone_not_on_device`) or gates (`gate_not_on_device`); `X-Gate-Agent` naming someone who is not a gate agent (`gate_agent_required`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The `scan_id` was used for another scan (`scan_id_reused`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable (`service_unavailable`); retry with the same `scan_id`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/scans")]
pub async fn scan(
    state: web::Data<AppState>,
    scanner: Scanner,
    event: EventPath,
    body: Body<ScanRequest>,
) -> ApiResult<web::Json<ScanResult>> {
    let body = body.read()?;
    let gate = text::required(&body.gate, 50).map_err(|e| ApiError::validation("gate", e))?;
    if let Some(device) = scanner.device() {
        device.check_gate(&gate)?;
        device.check_zone(body.zone)?;
    }
    let scan = SubmittedScan {
        slug: event.slug().to_owned(),
        sees_drafts: scanner.sees_drafts(),
        agent_id: scanner.agent_id(),
        device_id: scanner.device().map(|device| device.id),
        // Ours are UUIDv7: recorded in time order, they keep the scans' index compact.
        id: body.scan_id.unwrap_or_else(Uuid::now_v7),
        id_chosen_by_scanner: body.scan_id.is_some(),
        claims: state.badge_keys.verify(&body.qr),
        gate,
        zone: body.zone,
        direction: body.direction,
        qr_digest: Sha256::digest(body.qr.as_bytes()).to_vec(),
    };
    Ok(web::Json(state.scan_recorder.record(scan).await?))
}
