//! `POST /api/v1/events/{event}/scans/batch`: a gate device uploads the scans it made offline.
//!
//! Memory stays bounded whatever is sent: a body of at most [`MAX_UPLOAD_BYTES`] (its own limit,
//! room for 10,000 scans), and at most [`UPLOADS_AT_ONCE`] uploads read, parsed and checked at
//! once in the whole process (503 beyond); the parsing and the signatures' checks run on the
//! blocking pool, each distinct QR verified once.

use std::collections::HashMap;

use actix_web::{HttpRequest, post, web};
use chrono::{SubsecRound, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use super::store::{self, RecordedScan, Written};
use super::upload::{BadgeSource, Badges, MAX_SCANS, Refusal, UploadedScan};
use crate::accreditations::badges::BadgeClaims;
use crate::body::{parse_json, read_json};
use crate::error::{ApiError, ApiResult, Problem, Validator};
use crate::events::Event;
use crate::events::path::EventPath;
use crate::events::zones::Zone;
use crate::gates::scanner::DeviceScanner;
use crate::gates::{DenialReason, Direction, Verdict};
use crate::state::AppState;
use crate::text;

/// An upload's body limit: 10,000 scans of a QR (about 600 bytes) and their fields fit.
pub const MAX_UPLOAD_BYTES: usize = 16 * 1024 * 1024;

/// Uploads read and parsed at once in the whole process: 2 × 16 MiB of body and its parse.
pub const UPLOADS_AT_ONCE: usize = 2;

fn uploads() -> &'static tokio::sync::Semaphore {
    static UPLOADS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(UPLOADS_AT_ONCE);
    &UPLOADS
}

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(upload_scans);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    /// 1 to 10,000 scans, in any order.
    #[schema(min_items = 1, max_items = 10000)]
    scans: Vec<OfflineScan>,
}

/// A scan made offline. Exactly one of `qr` and `badge_number`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfflineScan {
    /// Chosen by the device; a re-upload with the same id changes nothing.
    scan_id: Uuid,
    /// The QR code's content: the badge's compact JWS.
    qr: Option<String>,
    /// The badge's number, typed by the guard when the QR would not scan.
    #[schema(example = "B26-TRV-000042", min_length = 1, max_length = 50)]
    badge_number: Option<String>,
    #[schema(example = "north-1", min_length = 1, max_length = 50)]
    gate: String,
    zone: Zone,
    direction: Direction,
    /// When the device scanned (its clock; at most two minutes ahead of the server's).
    scanned_at: chrono::DateTime<Utc>,
    /// What the device decided offline.
    offline_verdict: Verdict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UploadOutcome {
    /// Recorded now.
    Recorded,
    /// Recorded before (an earlier upload, or earlier in this one): the same answer again.
    AlreadyRecorded,
    /// Not recorded: see `error`.
    Refused,
}

/// Why a scan was refused.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScanError {
    /// `scanned_before_enrollment`, `scanned_in_future`, `zone_not_on_device`,
    /// `gate_not_on_device` or `scan_id_reused`.
    #[schema(example = "scanned_in_future")]
    code: &'static str,
    detail: String,
}

/// The outcome of one scan of the upload.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadedScanResult {
    scan_id: Uuid,
    outcome: UploadOutcome,
    /// The server's judgement at `scanned_at`; null when refused.
    verdict: Option<Verdict>,
    reason: Option<DenialReason>,
    /// Let in offline, although the server refuses it at its time for another reason than
    /// being inside already: listed at `GET …/gate-alerts`.
    flagged: bool,
    /// Only when refused.
    error: Option<ScanError>,
}

/// One result per scan, in the request's order, and how many had each outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadResult {
    results: Vec<UploadedScanResult>,
    recorded: usize,
    already_recorded: usize,
    refused: usize,
    flagged: usize,
}

/// Upload scans made offline (gate devices only, up to 10,000 at once). Each is judged at its
/// `scanned_at` as an online scan is judged (signed days and zones, the event's zone days, a
/// badge revoked, superseded or reported lost before that time), recorded once per `scan_id`
/// with the device and the gate agent signed in on it (`X-Gate-Agent`), and presence is
/// rebuilt in time order with the scans recorded before.
#[utoipa::path(
    tag = "gates",
    security(("device_token" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("X-Gate-Agent" = Option<String>, Header, description = "The access token of the gate agent signed in on the device (bare, or as `Bearer <token>`), recorded with every scan of the upload; checked as on `POST …/scans`."),
    ),
    request_body(content = UploadRequest, description = "At most 16 MiB"),
    responses(
        (status = 200, description = "One result per scan; a refused or denied scan is an answer, not an error", body = UploadResult),
        (status = 401, description = "No token (`unauthenticated`), an unknown or revoked device token (`invalid_device_token`, `device_revoked`), or an invalid `X-Gate-Agent` (`invalid_gate_agent_token`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A person's access token (`gate_device_required`); a device of another event (`device_not_for_event`); `X-Gate-Agent` naming someone who is not a gate agent (`gate_agent_required`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "A body over 16 MiB (`payload_too_large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON (`unsupported_media_type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No scan or more than 10,000, or invalid fields named `scans[i].field` (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many uploads under way, or the database is unavailable (`service_unavailable`): upload again, nothing is counted twice", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/scans/batch")]
pub async fn upload_scans(
    state: web::Data<AppState>,
    scanner: DeviceScanner,
    event: EventPath,
    request: HttpRequest,
    payload: web::Payload,
) -> ApiResult<web::Json<UploadResult>> {
    let device = &scanner.device;
    let event = {
        let conn = state.pool.get().await?;
        // Devices scan at draft events too (rehearsals); the extractor checked it is theirs.
        crate::events::store::find_by_slug(&conn, event.slug()).await?
    };
    let permit = uploads().try_acquire().map_err(|_| {
        ApiError::Unavailable(anyhow::anyhow!(
            "{UPLOADS_AT_ONCE} scan uploads are under way already"
        ))
    })?;
    let bytes = read_json(&request, payload.into_inner(), MAX_UPLOAD_BYTES).await?;
    let verifier = state.clone();
    // The permit goes with the work: a client that leaves does not free it while it runs.
    let (scans, permit) = tokio::task::spawn_blocking(move || {
        let scans = parse_json::<UploadRequest>(&bytes)
            .and_then(|body| checked(body, |qr| verifier.badge_keys.verify(qr)));
        (scans, permit)
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("upload task panicked")))?;
    let scans = scans?;

    let now = Utc::now();
    let refusals: Vec<Option<Refusal>> =
        scans.iter().map(|scan| scan.refusal(device, now)).collect();
    let mut conn = state.pool.get().await?;
    // A scan id recorded meanwhile by a concurrent upload makes us read again (rare).
    for _ in 0..3 {
        let decided = decide(&mut conn, &event, &scanner, &scans, &refusals).await?;
        if let Some(results) = decided {
            drop(permit);
            let flagged = results.iter().filter(|r| r.flagged).count();
            let count = |outcome| results.iter().filter(|r| r.outcome == outcome).count();
            let recorded = count(UploadOutcome::Recorded);
            let flagged_now = results
                .iter()
                .filter(|r| r.flagged && r.outcome == UploadOutcome::Recorded)
                .count();
            state.metrics.offline_scans.observe(recorded, flagged_now);
            return Ok(web::Json(UploadResult {
                recorded,
                already_recorded: count(UploadOutcome::AlreadyRecorded),
                refused: count(UploadOutcome::Refused),
                flagged,
                results,
            }));
        }
    }
    Err(ApiError::Unavailable(anyhow::anyhow!(
        "scan ids kept being recorded concurrently"
    )))
}

/// The scans of `body` with their fields checked (422 naming `scans[i].field`), each distinct
/// QR verified once by `verify`, times cut to the microsecond the database keeps.
fn checked(
    body: UploadRequest,
    verify: impl Fn(&str) -> Option<BadgeClaims>,
) -> ApiResult<Vec<UploadedScan>> {
    if body.scans.is_empty() || body.scans.len() > MAX_SCANS {
        return Err(ApiError::validation(
            "scans",
            format!("must hold 1 to {MAX_SCANS} scans"),
        ));
    }
    let mut v = Validator::default();
    let mut verified: HashMap<String, Option<BadgeClaims>> = HashMap::new();
    let mut scans = Vec::with_capacity(body.scans.len());
    for (i, scan) in body.scans.into_iter().enumerate() {
        let gate = v.check(&format!("scans[{i}].gate"), text::required(&scan.gate, 50));
        let source = match (scan.qr, scan.badge_number) {
            (Some(qr), None) => {
                let digest = Sha256::digest(qr.as_bytes()).to_vec();
                let claims = verified
                    .entry(qr)
                    .or_insert_with_key(|qr| verify(qr))
                    .clone();
                Some(BadgeSource::Qr { claims, digest })
            }
            (None, Some(number)) => v
                .check(
                    &format!("scans[{i}].badge_number"),
                    text::required(&number, 50),
                )
                .map(BadgeSource::Number),
            _ => {
                v.check::<(), _>(
                    &format!("scans[{i}].qr"),
                    Err("give exactly one of qr and badge_number"),
                );
                None
            }
        };
        if let (Some(gate), Some(source)) = (gate, source) {
            scans.push(UploadedScan {
                id: scan.scan_id,
                source,
                gate,
                zone: scan.zone,
                direction: scan.direction,
                scanned_at: scan.scanned_at.trunc_subsecs(6),
                offline_verdict: scan.offline_verdict,
            });
        }
    }
    v.finish(|| Some(scans))
}

/// What becomes of a scan of the upload.
enum Plan<'a> {
    Refused(Refusal),
    /// Recorded before under its id.
    Earlier(&'a RecordedScan),
    /// Sent earlier in this upload, at this index: the same answer.
    Repeat(usize),
    /// Recorded now.
    New,
}

fn reused() -> Refusal {
    Refusal {
        code: "scan_id_reused",
        detail: "This scan_id belongs to another scan; use a new one for each scan.".into(),
    }
}

/// Decides and records the upload in one transaction; `None` when a scan id was recorded
/// meanwhile (the transaction is then undone, to be decided again).
async fn decide(
    conn: &mut AsyncPgConnection,
    event: &Event,
    scanner: &DeviceScanner,
    scans: &[UploadedScan],
    refusals: &[Option<Refusal>],
) -> ApiResult<Option<Vec<UploadedScanResult>>> {
    let device = &scanner.device;
    let admissible = || {
        scans
            .iter()
            .zip(refusals)
            .filter(|(_, refusal)| refusal.is_none())
            .map(|(scan, _)| scan)
    };
    let ids = admissible().map(|scan| scan.id).collect();
    let badge_ids = admissible()
        .filter_map(|scan| match &scan.source {
            BadgeSource::Qr {
                claims: Some(claims),
                ..
            } => Some(claims.jti),
            _ => None,
        })
        .collect();
    let numbers = admissible()
        .filter_map(|scan| scan.entered_number().map(str::to_owned))
        .collect();
    let recorded: HashMap<Uuid, RecordedScan> = store::recorded_scans(conn, ids)
        .await?
        .into_iter()
        .map(|scan| (scan.id, scan))
        .collect();
    let badges = Badges::new(store::badges_named(conn, event.id, badge_ids, numbers).await?);

    let mut first_seen: HashMap<Uuid, usize> = HashMap::new();
    let mut rows = Vec::new();
    let mut plans = Vec::with_capacity(scans.len());
    for (i, (scan, refusal)) in scans.iter().zip(refusals).enumerate() {
        let plan = if let Some(refusal) = refusal {
            Plan::Refused(refusal.clone())
        } else if let Some(&first) = first_seen.get(&scan.id) {
            if scan.is_same_as(&scans[first]) {
                Plan::Repeat(first)
            } else {
                Plan::Refused(reused())
            }
        } else {
            first_seen.insert(scan.id, i);
            match recorded.get(&scan.id) {
                Some(earlier) if scan.is_recorded_as(earlier, device) => Plan::Earlier(earlier),
                Some(_) => Plan::Refused(reused()),
                None => {
                    rows.push(scan.to_record(event, &badges));
                    Plan::New
                }
            }
        };
        plans.push(plan);
    }

    let agent_id = scanner.agent.as_ref().map(|agent| agent.id);
    let concurrent = || ApiError::Conflict {
        code: "duplicate_scan",
        detail: "A scan_id was recorded by a concurrent upload.".into(),
    };
    let written = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let written = if rows.is_empty() {
                Vec::new()
            } else {
                store::record(conn, event.id, device.id, agent_id, &rows).await?
            };
            if written.len() != rows.len() {
                return Err(concurrent());
            }
            store::mark_upload(conn, device.id).await?;
            Ok(written)
        })
        .await;
    let mut written: HashMap<Uuid, Written> = match written {
        Ok(written) => written.into_iter().map(|w| (w.id, w)).collect(),
        Err(ApiError::Conflict {
            code: "duplicate_scan",
            ..
        }) => return Ok(None),
        Err(e) => return Err(e),
    };

    let mut results: Vec<UploadedScanResult> = Vec::with_capacity(scans.len());
    for (scan, plan) in scans.iter().zip(plans) {
        let result = match plan {
            Plan::Refused(refusal) => UploadedScanResult {
                scan_id: scan.id,
                outcome: UploadOutcome::Refused,
                verdict: None,
                reason: None,
                flagged: false,
                error: Some(ScanError {
                    code: refusal.code,
                    detail: refusal.detail,
                }),
            },
            Plan::Earlier(earlier) => UploadedScanResult {
                scan_id: scan.id,
                outcome: UploadOutcome::AlreadyRecorded,
                verdict: Some(earlier.verdict),
                reason: earlier.reason,
                flagged: earlier.flagged,
                error: None,
            },
            Plan::Repeat(first) => {
                let first = &results[first];
                UploadedScanResult {
                    scan_id: scan.id,
                    // A repeat of a refused scan is refused alike.
                    outcome: match first.outcome {
                        UploadOutcome::Refused => UploadOutcome::Refused,
                        _ => UploadOutcome::AlreadyRecorded,
                    },
                    verdict: first.verdict,
                    reason: first.reason,
                    flagged: first.flagged,
                    error: first.error.clone(),
                }
            }
            Plan::New => {
                let written = written.remove(&scan.id).ok_or_else(|| {
                    ApiError::Internal(anyhow::anyhow!("a scan of the upload was not recorded"))
                })?;
                UploadedScanResult {
                    scan_id: scan.id,
                    outcome: UploadOutcome::Recorded,
                    verdict: Some(written.verdict),
                    reason: written.reason,
                    flagged: written.flagged,
                    error: None,
                }
            }
        };
        results.push(result);
    }
    Ok(Some(results))
}
