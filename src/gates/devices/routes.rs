//! `/api/v1/events/{event}/gate-devices`: organizers register an event's gate devices, list
//! them and revoke them; `POST /api/v1/gate-devices/enroll`: a device exchanges its one-time
//! enrollment code for its device token.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::DeviceState;
use super::store::{self, Device, EnrollmentRefused, NewDevice};
use crate::audit::AuditEntry;
use crate::auth::device_tokens;
use crate::auth::extract::{ClientIp, Organizer, Require};
use crate::auth::limits::Action;
use crate::body::Body;
use crate::error::{ApiError, ApiResult, Problem, Validator};
use crate::events::path::EventPath;
use crate::events::zones::Zone;
use crate::letters::code::VerificationCode;
use crate::pagination::{Page, PageQuery};
use crate::state::AppState;
use crate::text;

/// Gates, and zones, a device may be registered for.
const MAX_GATES: usize = 20;
const MAX_ZONES: usize = 20;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_devices)
        .service(register_device)
        .service(revoke_device)
        .service(enroll_device);
}

/// A gate device as organizers see it; its code and token are never shown again.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceView {
    id: Uuid,
    #[schema(example = "Hall A entrance, scanner 1")]
    name: String,
    #[schema(example = json!(["north-1"]))]
    gates: Vec<String>,
    zones: Vec<Zone>,
    state: DeviceState,
    created_at: DateTime<Utc>,
    /// The organizer who registered it (null once their account is deleted).
    created_by: Option<Uuid>,
    /// Until when its enrollment code can be used (it can be used once).
    enrollment_expires_at: DateTime<Utc>,
    enrolled_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    /// Its last request, to the minute.
    last_seen_at: Option<DateTime<Utc>>,
    /// Its last sync of the badges it checks offline.
    last_sync_at: Option<DateTime<Utc>>,
    /// Its last upload of scans made offline.
    last_upload_at: Option<DateTime<Utc>>,
}

impl From<Device> for DeviceView {
    fn from(device: Device) -> Self {
        Self {
            state: DeviceState::of(&device, Utc::now()),
            id: device.id,
            name: device.name,
            gates: device.gates,
            zones: device.zones,
            created_at: device.created_at,
            created_by: device.created_by,
            enrollment_expires_at: device.enrollment_expires_at,
            enrolled_at: device.enrolled_at,
            revoked_at: device.revoked_at,
            last_seen_at: device.last_seen_at,
            last_sync_at: device.last_sync_at,
            last_upload_at: device.last_upload_at,
        }
    }
}

/// A new device, with its enrollment code: shown this once, never again.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisteredDevice {
    #[serde(flatten)]
    device: DeviceView,
    /// Type it (or scan it) on the device, which sends it to `POST /api/v1/gate-devices/enroll`
    /// once, before `enrollment_expires_at`. Case and dashes do not matter.
    #[schema(example = "7K3Q-FM2X-9ABC-DEFG-HJKM-NPQR")]
    enrollment_code: String,
}

/// The event's gate devices (organizers), oldest first, with their state and when they were
/// last seen, synced and uploaded.
#[utoipa::path(
    tag = "gates",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026"), PageQuery),
    responses(
        (status = 200, description = "The devices, without their secrets", body = Page<DeviceView>),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A `limit` or `cursor` that does not parse (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/gate-devices")]
async fn list_devices(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    event: EventPath,
    page: web::Query<PageQuery>,
) -> ApiResult<web::Json<Page<DeviceView>>> {
    let page = page.parse::<Uuid>()?;
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&organizer)).await?;
    let (rows, total) = store::list(&mut conn, event.id, &page).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        total,
        &page,
        |device| device.id,
        DeviceView::from,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterDeviceRequest {
    /// Unique within the event.
    #[schema(
        example = "Hall A entrance, scanner 1",
        min_length = 1,
        max_length = 100
    )]
    name: String,
    /// The gates it scans at, each once (names as scans send them).
    #[schema(example = json!(["north-1"]), min_items = 1, max_items = 20)]
    gates: Vec<String>,
    /// The zones it scans for, each once.
    #[schema(min_items = 1, max_items = 20)]
    zones: Vec<Zone>,
}

/// Each given once, between one and `max` of them.
fn distinct<T: PartialEq>(items: &[T], max: usize) -> Result<(), String> {
    if items.is_empty() || items.len() > max {
        return Err(format!("must name 1 to {max}"));
    }
    if items
        .iter()
        .enumerate()
        .any(|(i, item)| items[..i].contains(item))
    {
        return Err("must name each once".into());
    }
    Ok(())
}

/// Register a gate device for the event (organizers). The answer holds its one-time
/// enrollment code, shown this once.
#[utoipa::path(
    tag = "gates",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026")),
    request_body = RegisterDeviceRequest,
    responses(
        (status = 201, description = "Registered; `enrollment_code` is shown only now", body = RegisteredDevice),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The event has a device of this name (`device_name_taken`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/gate-devices")]
async fn register_device(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    ip: ClientIp,
    event: EventPath,
    body: Body<RegisterDeviceRequest>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&organizer)).await?;
    let body = body.read()?;
    let mut v = Validator::default();
    let name = v.check("name", text::name(&body.name, 100));
    let gates = v.check(
        "gates",
        body.gates
            .iter()
            .map(|gate| text::required(gate, 50))
            .collect::<Result<Vec<_>, _>>()
            .and_then(|gates| distinct(&gates, MAX_GATES).map(|()| gates)),
    );
    v.check("zones", distinct(&body.zones, MAX_ZONES));
    let (name, gates) = v.finish(|| Some((name?, gates?)))?;

    let code = VerificationCode::generate();
    let ttl = chrono::Duration::hours(state.settings.gates.enrollment_code_ttl_hours.into());
    let device = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let device = store::insert(
                conn,
                &NewDevice {
                    id: Uuid::now_v7(),
                    event_id: event.id,
                    name: &name,
                    gates: &gates,
                    zones: &body.zones,
                    created_by: Some(organizer.id),
                    enrollment_code_digest: code.hash(),
                    enrollment_expires_at: Utc::now() + ttl,
                },
            )
            .await?;
            AuditEntry::new("gate_device.registered", "gate_device", Some(device.id))
                .by(organizer.id, ip.as_string().as_deref())
                .details(serde_json::json!({
                    "event": event.slug, "name": device.name, "gates": device.gates, "zones": device.zones,
                }))
                .record(conn)
                .await?;
            Ok(device)
        })
        .await?;
    Ok(HttpResponse::Created().json(RegisteredDevice {
        device: device.into(),
        enrollment_code: code.grouped(),
    }))
}

/// Revoke a gate device (organizers), at once: its token is refused from the next request on
/// (401 `device_revoked`), and an unused enrollment code with it.
#[utoipa::path(
    tag = "gates",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Device id"),
    ),
    responses(
        (status = 200, description = "Revoked", body = DeviceView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event, or no such device of the event", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The device was revoked before (`device_already_revoked`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/gate-devices/{id}/revoke")]
async fn revoke_device(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<web::Json<DeviceView>> {
    let (_, id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&organizer)).await?;
    let device = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let (device, revoked_now) = store::revoke(conn, event.id, id)
                .await?
                .ok_or_else(ApiError::not_found)?;
            if !revoked_now {
                return Err(ApiError::Conflict {
                    code: "device_already_revoked",
                    detail: "This device was revoked already.".into(),
                });
            }
            AuditEntry::new("gate_device.revoked", "gate_device", Some(device.id))
                .by(organizer.id, ip.as_string().as_deref())
                .details(serde_json::json!({ "event": event.slug, "name": device.name }))
                .record(conn)
                .await?;
            Ok(device)
        })
        .await?;
    Ok(web::Json(device.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// The enrollment code shown when the device was registered.
    #[schema(example = "7K3Q-FM2X-9ABC-DEFG-HJKM-NPQR", max_length = 100)]
    code: String,
}

/// What an enrolled device needs: its token, shown this once, and what it may scan.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolledDevice {
    device_id: Uuid,
    /// The event's slug: the device scans at `/api/v1/events/{event}/scans`.
    #[schema(example = "bamex-2026")]
    event: String,
    name: String,
    gates: Vec<String>,
    zones: Vec<Zone>,
    /// The device's bearer token (`Authorization: Bearer bxdev_…`), until it is revoked. Keep
    /// it in the device's secure storage: it is not shown again.
    #[schema(example = "bxdev_Qm9ndXMgdG9rZW4sIG5vdCBhIHJlYWwgb25lLCBqdXN0IGFu")]
    token: String,
    #[schema(example = "Bearer")]
    token_type: &'static str,
}

/// Enroll a gate device (no account): exchanges its one-time enrollment code for its device
/// token. A code works once; limited per IP address like the other anonymous routes.
#[utoipa::path(
    tag = "gates",
    security(),
    request_body = EnrollRequest,
    responses(
        (status = 200, description = "Enrolled; `token` is shown only now", body = EnrolledDevice),
        (status = 404, description = "No device has this code (`enrollment_code_unknown`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code was used already (`enrollment_code_used`)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The code expired unused (`enrollment_code_expired`), or the device was revoked (`device_revoked`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this address (`rate_limited`); retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/gate-devices/enroll")]
async fn enroll_device(
    state: web::Data<AppState>,
    ip: ClientIp,
    body: Body<EnrollRequest>,
) -> ApiResult<web::Json<EnrolledDevice>> {
    state.limits.check_ip(Action::EnrollDevice, ip.0).await?;
    let body = body.read()?;
    let code = text::required(&body.code, 100).map_err(|e| ApiError::validation("code", e))?;
    let code_digest = VerificationCode::lookup_hash(&code);
    let (token, token_digest) = device_tokens::generate();
    let mut conn = state.pool.get().await?;
    let (device, slug) = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let (device, slug) = store::enroll(conn, &code_digest, &token_digest)
                .await?
                .map_err(refusal)?;
            AuditEntry::new("gate_device.enrolled", "gate_device", Some(device.id))
                .from_ip(ip.as_string().as_deref())
                .details(serde_json::json!({ "event": slug, "name": device.name }))
                .record(conn)
                .await?;
            Ok((device, slug))
        })
        .await?;
    Ok(web::Json(EnrolledDevice {
        device_id: device.id,
        event: slug,
        name: device.name,
        gates: device.gates,
        zones: device.zones,
        token,
        token_type: "Bearer",
    }))
}

fn refusal(refused: EnrollmentRefused) -> ApiError {
    match refused {
        EnrollmentRefused::Unknown => ApiError::NotFound {
            code: "enrollment_code_unknown",
            detail: "No gate device has this enrollment code.".into(),
        },
        EnrollmentRefused::Used => ApiError::Conflict {
            code: "enrollment_code_used",
            detail: "This enrollment code was used already; a code enrolls one device once.".into(),
        },
        EnrollmentRefused::Expired => ApiError::Gone {
            code: "enrollment_code_expired",
            detail:
                "This enrollment code expired; ask the organizers to register the device again."
                    .into(),
        },
        EnrollmentRefused::Revoked => ApiError::Gone {
            code: "device_revoked",
            detail: "This device was revoked by the organizers.".into(),
        },
    }
}
