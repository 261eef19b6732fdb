//! Liveness, readiness and the API's own description.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use diesel_async::RunQueryDsl;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, Problem};
use crate::state::{ApiDocument, AppState};

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    status: &'static str,
}

/// Liveness: the process answers HTTP. Does not touch the database.
#[utoipa::path(
    tag = "system",
    security(),
    responses((status = 200, description = "Alive", body = Health))
)]
#[get("/healthz")]
pub async fn healthz() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// Readiness: the database answers, so requests can be served.
#[utoipa::path(
    tag = "system",
    security(),
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "The database does not answer (`service_unavailable`)",
            body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> ApiResult<web::Json<Health>> {
    let mut conn = state.pool.get().await?;
    diesel::sql_query("SELECT 1")
        .execute(&mut conn)
        .await
        .map_err(|e| ApiError::Unavailable(anyhow::Error::new(e).context("readiness probe")))?;
    Ok(web::Json(Health { status: "ok" }))
}

/// This OpenAPI 3.1 document.
#[utoipa::path(
    tag = "system",
    security(),
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json"))
)]
#[get("/openapi.json")]
pub async fn openapi_json(doc: web::Data<ApiDocument>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.0.clone())
}

/// Swagger UI lives at `/docs/`.
#[utoipa::path(
    tag = "system",
    security(),
    responses((status = 308, description = "Redirect to the Swagger UI at /docs/"))
)]
#[get("/docs")]
pub async fn docs() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}
