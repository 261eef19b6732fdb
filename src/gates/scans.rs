//! `POST /api/v1/events/{event}/scans`: a gate agent scans a badge and gets allowed or denied
//! with the reason, in milliseconds. The QR's signature is checked first (no database needed),
//! then the badge's current state — a badge revoked after printing is refused although its
//! signature is valid — then the day, the zone and anti-passback. Every scan is recorded once:
//! a retry with the same `scan_id` returns the first answer. The deciding and recording is
//! done in batches by the [`ScanRecorder`](super::recorder::ScanRecorder).

use actix_web::{post, web};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use super::recorder::SubmittedScan;
use crate::accreditations::Category;
use crate::accreditations::badges::Zone;
use crate::app::AppState;
use crate::auth::extract::{GateAgent, Require};
use crate::error::{ApiError, ApiResult, Problem};
use crate::text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Allowed,
    Denied,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DenialReason {
    InvalidSignature,
    UnknownBadge,
    Revoked,
    NotValidToday,
    ZoneNotAllowed,
    AlreadyInside,
}

impl DenialReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidSignature => "invalid_signature",
            Self::UnknownBadge => "unknown_badge",
            Self::Revoked => "revoked",
            Self::NotValidToday => "not_valid_today",
            Self::ZoneNotAllowed => "zone_not_allowed",
            Self::AlreadyInside => "already_inside",
        }
    }

    pub fn from_db(raw: &str) -> Option<Self> {
        [
            Self::InvalidSignature,
            Self::UnknownBadge,
            Self::Revoked,
            Self::NotValidToday,
            Self::ZoneNotAllowed,
            Self::AlreadyInside,
        ]
        .into_iter()
        .find(|r| r.as_str() == raw)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    /// The QR code's content: the badge's compact JWS.
    qr: String,
    #[schema(example = "north-1")]
    gate: String,
    zone: Zone,
    direction: Direction,
    /// Chosen by the scanner; a retry with the same id is answered from the first scan.
    scan_id: Option<Uuid>,
}

/// The minimum a guard needs to recognise the holder.
#[derive(Debug, Serialize, ToSchema)]
pub struct Holder {
    pub name: String,
    pub organization: String,
    pub country: String,
    pub category: Category,
    pub badge_number: String,
    pub photo_url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScanResult {
    pub scan_id: Uuid,
    pub verdict: Verdict,
    pub reason: Option<DenialReason>,
    pub holder: Option<Holder>,
}

/// Scan a badge at a gate (gate agents and admins).
#[utoipa::path(
    tag = "gates",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026")),
    request_body = ScanRequest,
    responses(
        (status = 200, description = "The verdict; a denial is an answer, not an error", body = ScanResult),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither a gate agent nor an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The `scan_id` was used for another scan (`scan_id_reused`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable (`service_unavailable`); retry with the same `scan_id`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/scans")]
pub async fn scan(
    state: web::Data<AppState>,
    agent: Require<GateAgent>,
    slug: web::Path<String>,
    body: web::Json<ScanRequest>,
) -> ApiResult<web::Json<ScanResult>> {
    let body = body.into_inner();
    let gate = text::required(&body.gate, 50).map_err(|e| ApiError::validation("gate", e))?;
    let scan = SubmittedScan {
        slug: slug.into_inner(),
        sees_drafts: agent.is_organizer(),
        agent_id: agent.id,
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
