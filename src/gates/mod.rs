//! Gates: badge scans with their verdict, the public badge-verification keys, and attendance.

pub mod recorder;
pub mod scans;
pub mod stats;

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};

use crate::app::AppState;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(scans::scan).service(stats::stats);
}

/// The public keys that verify badge QR codes (JWKS, Ed25519): a gate that lost its connection
/// checks badges offline with them.
#[utoipa::path(
    tag = "gates",
    responses((status = 200, description = "A JSON Web Key Set", content_type = "application/json"))
)]
#[get("/.well-known/jwks.json")]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(state.badge_keys.jwks())
}
