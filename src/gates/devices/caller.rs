//! `GateDevice`: the enrolled gate device whose token is the request's bearer token. Looked up
//! on every request (one indexed read), so that a revocation holds from the next request on.
//! A device belongs to one event: on a route about another event it is refused (403); any other
//! bearer token is refused too (403 `gate_device_required`).

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use chrono::{DateTime, Utc};
use futures_util::future::LocalBoxFuture;
use uuid::Uuid;

use super::store;
use crate::auth::device_tokens;
use crate::auth::extract::bearer_token;
use crate::error::ApiError;
use crate::events::zones::Zone;
use crate::state::AppState;

/// An enrolled, unrevoked device, calling about its own event.
#[derive(Debug, Clone)]
pub struct GateDevice {
    pub id: Uuid,
    pub name: String,
    pub event_id: Uuid,
    pub event_slug: String,
    pub gates: Vec<String>,
    pub zones: Vec<Zone>,
    /// When it exchanged its enrollment code: it cannot have scanned before.
    pub enrolled_at: DateTime<Utc>,
}

impl GateDevice {
    /// Whether the device was registered for `zone` (403 `zone_not_on_device` otherwise).
    pub fn check_zone(&self, zone: Zone) -> Result<(), ApiError> {
        if self.zones.contains(&zone) {
            return Ok(());
        }
        Err(ApiError::Forbidden {
            code: "zone_not_on_device",
            detail: format!(
                "This device was registered for the zones {}; not for {}.",
                self.zones
                    .iter()
                    .map(|z| z.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                zone.as_str()
            ),
        })
    }

    /// Whether the device was registered for `gate` (403 `gate_not_on_device` otherwise).
    pub fn check_gate(&self, gate: &str) -> Result<(), ApiError> {
        if self.gates.iter().any(|g| g == gate) {
            return Ok(());
        }
        Err(ApiError::Forbidden {
            code: "gate_not_on_device",
            detail: format!(
                "This device was registered for the gates {}.",
                self.gates.join(", ")
            ),
        })
    }
}

/// A token that is no device's: on a route only devices use, a person's access token is
/// refused as such.
fn not_a_device() -> ApiError {
    ApiError::Forbidden {
        code: "gate_device_required",
        detail: "This route takes a gate device's token (bxdev_…), not a person's access token."
            .into(),
    }
}

fn unknown() -> ApiError {
    ApiError::Unauthorized {
        code: "invalid_device_token",
        detail: "This device token is unknown.".into(),
    }
}

impl FromRequest for GateDevice {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req
            .app_data::<web::Data<AppState>>()
            .expect("AppState is registered")
            .clone();
        let digest = bearer_token(req).and_then(|token| {
            if device_tokens::is_device_token(token) {
                Ok(device_tokens::digest(token))
            } else {
                Err(not_a_device())
            }
        });
        let route_event = req.match_info().get("event").map(str::to_owned);
        Box::pin(async move {
            let digest = digest?;
            let mut conn = state.pool.get().await?;
            let (device, slug) = store::find_by_token(&mut conn, &digest)
                .await?
                .ok_or_else(unknown)?;
            if device.revoked_at.is_some() {
                return Err(ApiError::Unauthorized {
                    code: "device_revoked",
                    detail: "This device was revoked by the organizers; enroll it again under a new registration.".into(),
                });
            }
            if route_event.as_deref().is_some_and(|event| event != slug) {
                return Err(ApiError::Forbidden {
                    code: "device_not_for_event",
                    detail: format!("This device was registered for the event {slug}."),
                });
            }
            store::touch(&mut conn, device.id).await?;
            Ok(GateDevice {
                id: device.id,
                name: device.name,
                event_id: device.event_id,
                event_slug: slug,
                gates: device.gates,
                zones: device.zones,
                enrolled_at: device.enrolled_at.ok_or_else(unknown)?,
            })
        })
    }
}
