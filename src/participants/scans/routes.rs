//! `/api/v1/events/{event}/participants/{id}/documents`: upload, list and read document scans.
//!
//! Memory stays bounded whatever is sent: one body of at most 10 MB per request, and at most
//! [`SCANS_AT_ONCE`] scans in memory in the whole process, uploads and reads together (an upload
//! beyond answers 503 with Retry-After, a read waits its turn); the content check, the
//! encryption and the decryption run on the blocking pool, and images are never decoded
//! (README, "Memory").

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, put, web};
use diesel_async::AsyncConnection;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::content::{self, ScanFormat};
use super::store::{self as scans, NewScan};
use super::{DocumentKind, MAX_SCAN_BYTES, ScanSummary};
use crate::accreditations::workflow;
use crate::audit::AuditEntry;
use crate::auth::extract::{ClientIp, CurrentUser, Require, RoleSet};
use crate::body::read_limited;
use crate::error::{ApiError, ApiResult, Problem};
use crate::events::path::EventPath;
use crate::http_method::IsHead;
use crate::participants::access::may_edit;
use crate::participants::roster::change_allowed;
use crate::participants::store;
use crate::state::AppState;
use crate::users::Role;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(upload_document)
        .service(list_documents)
        .service(get_document);
}

/// Scans held in memory at once in the whole process, each at most 10 MB in clear and as much
/// sealed: 80 MB at worst.
pub const SCANS_AT_ONCE: usize = 4;

fn in_memory() -> &'static tokio::sync::Semaphore {
    static SCANS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(SCANS_AT_ONCE);
    &SCANS
}

/// Who may read a scan: the accreditation office (admins included) and the security services'
/// liaison. Not the people who uploaded it: they had the paper in hand.
pub struct DocumentReaders;
impl RoleSet for DocumentReaders {
    const ROLES: &'static [Role] = &[Role::Admin, Role::Organizer, Role::VettingOfficer];
}

/// Upload a scan of one of the participant's documents — organizers and whoever may edit the
/// person (their exhibitor's account, delegation's lead, the visitor themself). PDF, JPEG or
/// PNG of at most 10 MB, judged by its content; it replaces the scan of the same kind.
#[utoipa::path(
    tag = "participants",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Participant id"),
        ("kind" = DocumentKind, Path, description = "What the scan shows"),
    ),
    request_body(description = "The scan, at most 10 MB", content(
        (Vec<u8> = "application/pdf"),
        (Vec<u8> = "image/jpeg"),
        (Vec<u8> = "image/png"),
    )),
    responses(
        (status = 200, description = "Stored, encrypted; the application counts as changed", body = ScanSummary),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant of the caller's, or no such kind", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Decided already: only organizers may change the scans now (`not_editable`)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The personal data was purged after the event (`personal_data_purged`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than 10 MB (`payload_too_large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/pdf, image/jpeg or image/png (`unsupported_media_type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The content is not what the content type says (`document_not_recognized`); an image of more than 24 megapixels or 12,000 pixels a side, read from its header (`image_too_large`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many document uploads under way (`service_unavailable`), see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/events/{event}/participants/{id}/documents/{kind}")]
pub async fn upload_document(
    state: web::Data<AppState>,
    request: HttpRequest,
    user: CurrentUser,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid, String)>,
    mut payload: web::Payload,
) -> ApiResult<web::Json<ScanSummary>> {
    let (_, id, kind) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&user)).await?;
    if !may_edit(&mut conn, event.id, id, &user).await? {
        return Err(ApiError::not_found());
    }
    let kind = DocumentKind::from_path(&kind)?;
    // Checked before reading up to 10 MB, and again under lock once the scan is sealed.
    let (participant, accreditation) = store::in_event(&mut conn, event.id, id).await?;
    change_allowed(&participant, &accreditation, &user)?;
    drop(conn);
    let format = ScanFormat::declared(
        request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    )?;

    let buffered = in_memory().try_acquire().map_err(|_| {
        ApiError::Unavailable(anyhow::anyhow!(
            "{SCANS_AT_ONCE} document scans are in memory already"
        ))
    })?;
    let body = read_limited(&mut payload, MAX_SCAN_BYTES).await?;
    let vault = state.clone();
    // The permit goes with the work: a client that leaves does not free it while it runs.
    let (sealed, sha256, size) = tokio::task::spawn_blocking(move || {
        let _held = buffered;
        content::check(&body, format)?;
        let sealed = vault.documents.seal_scan(id, kind.as_str(), &body)?;
        let size = i32::try_from(body.len()).expect("at most 10 MB");
        ApiResult::Ok((sealed, Sha256::digest(&body).to_vec(), size))
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("scan task panicked")))??;

    let mut conn = state.pool.get().await?;
    let stored = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let (participant, accreditation) = store::lock_in_event(conn, event.id, id).await?;
            change_allowed(&participant, &accreditation, &user)?;
            let scan = NewScan {
                participant_id: id,
                kind,
                content_type: format.content_type(),
                sha256,
                size,
                sealed,
                uploaded_by: user.id,
            };
            let stored = scans::save(conn, &scan).await?;
            // A new scan is a change of the application, and may be the information requested.
            workflow::application_changed(conn, id).await?;
            AuditEntry::new("participant.document_uploaded", "participant", Some(id))
                .by(user.id, ip.as_string().as_deref())
                .details(serde_json::json!({
                    "kind": kind.as_str(),
                    "content_type": scan.content_type,
                    "size": size,
                }))
                .record(conn)
                .await?;
            Ok(stored)
        })
        .await?;
    Ok(web::Json(ScanSummary::from(stored)))
}

/// Which scans the participant has (no content) — organizers, vetting officers and whoever may
/// edit the person.
#[utoipa::path(
    tag = "participants",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Participant id"),
    ),
    responses(
        (status = 200, description = "The scans on file, by kind", body = [ScanSummary]),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The personal data was purged after the event (`personal_data_purged`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/participants/{id}/documents")]
pub async fn list_documents(
    state: web::Data<AppState>,
    user: CurrentUser,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<web::Json<Vec<ScanSummary>>> {
    let (_, id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&user)).await?;
    if !(user.has(Role::VettingOfficer) || may_edit(&mut conn, event.id, id, &user).await?) {
        return Err(ApiError::not_found());
    }
    store::in_event(&mut conn, event.id, id)
        .await?
        .0
        .ensure_not_anonymized()?;
    let listed = scans::list(&mut conn, id).await?;
    Ok(web::Json(
        listed.into_iter().map(ScanSummary::from).collect(),
    ))
}

/// A scan, decrypted — organizers and vetting officers only; each read is an audit record
/// (`participant.document_read` with the kind). Whoever uploaded it cannot read it back (403).
#[utoipa::path(
    tag = "participants",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Participant id"),
        ("kind" = DocumentKind, Path, description = "What the scan shows"),
    ),
    responses(
        (status = 200, description = "The scan as uploaded; `Cache-Control: private, no-store`", content(
            (Vec<u8> = "application/pdf"),
            (Vec<u8> = "image/jpeg"),
            (Vec<u8> = "image/png"),
        )),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither an organizer nor a vetting officer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant, kind, or no scan of that kind", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The personal data was purged after the event (`personal_data_purged`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/participants/{id}/documents/{kind}")]
pub async fn get_document(
    state: web::Data<AppState>,
    user: Require<DocumentReaders>,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid, String)>,
    head: IsHead,
) -> ApiResult<HttpResponse> {
    let (_, id, kind) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&user)).await?;
    let kind = DocumentKind::from_path(&kind)?;
    store::in_event(&mut conn, event.id, id)
        .await?
        .0
        .ensure_not_anonymized()?;
    // No pooled connection is held while waiting for a turn.
    drop(conn);
    let held = in_memory()
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?;
    let (content_type, sealed) = scans::sealed(&mut *state.pool.get().await?, id, kind).await?;
    let vault = state.clone();
    let scan = tokio::task::spawn_blocking(move || {
        let _held = held;
        vault.documents.open_scan(id, kind.as_str(), &sealed)
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("scan task panicked")))??;
    // Recorded before anything is sent: no read goes unaudited.
    if head.shown() {
        let mut conn = state.pool.get().await?;
        AuditEntry::new("participant.document_read", "participant", Some(id))
            .by(user.id, ip.as_string().as_deref())
            .details(serde_json::json!({ "kind": kind.as_str() }))
            .record(&mut conn)
            .await?;
    }
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(scan))
}
