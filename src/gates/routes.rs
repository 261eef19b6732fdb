//! `GET /.well-known/jwks.json`: the public keys that verify badges.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};

use crate::state::AppState;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(jwks);
}

/// The public keys that verify badge QR codes (JWKS, Ed25519): a gate that lost its connection
/// checks badges offline with them.
#[utoipa::path(
    tag = "gates",
    security(),
    responses((status = 200, description = "A JSON Web Key Set", content_type = "application/json"))
)]
#[get("/.well-known/jwks.json")]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(state.badge_keys.jwks())
}
