//! Pavilions: national or industry groupings of exhibitors (e.g. *The Peak Defense*, TR).

use actix_web::{HttpResponse, get, post, web};
use diesel_async::AsyncConnection;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::PavilionView;
use super::store::{self, NewPavilion};
use crate::audit::AuditEntry;
use crate::auth::extract::{ClientIp, MaybeUser, Organizer, Require};
use crate::body::Body;
use crate::country::CountryCode;
use crate::error::{ApiError, ApiResult, Problem, Validator};
use crate::events::path::EventPath;
use crate::pagination::{Page, PageQuery};
use crate::state::AppState;
use crate::text;
use crate::users::EmailAddress;
use crate::users::store as users;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_pavilions).service(create_pavilion);
}

/// The pavilions of an event, in creation order.
#[utoipa::path(
    tag = "pavilions",
    security((), ("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026"), PageQuery),
    responses(
        (status = 200, description = "A page of pavilions", body = Page<PavilionView>),
        (status = 401, description = "A token was sent but is invalid", body = Problem, content_type = "application/problem+json"),

        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/pavilions")]
pub async fn list_pavilions(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    event: EventPath,
    page: web::Query<PageQuery>,
) -> ApiResult<web::Json<Page<PavilionView>>> {
    let page = page.parse::<Uuid>()?;
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, viewer.0.as_ref()).await?;
    let (rows, total) = store::list_pavilions(&mut conn, event.id, &page).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        total,
        &page,
        |p| p.id,
        |p| p,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePavilionRequest {
    #[schema(example = "The Peak Defense", min_length = 1, max_length = 200)]
    name: String,
    #[schema(example = "TR", pattern = "^[A-Za-z]{2}$")]
    country: Option<String>,
    #[serde(default)]
    #[schema(max_length = 4000)]
    description: String,
    /// Email of an existing account that will coordinate the pavilion.
    #[schema(format = Email, max_length = 254)]
    coordinator_email: Option<String>,
}

/// Create a pavilion (organizers).
#[utoipa::path(
    tag = "pavilions",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026")),
    request_body = CreatePavilionRequest,
    responses(
        (status = 201, description = "Pavilion created", body = PavilionView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A pavilion of this name exists (`pavilion_exists`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/pavilions")]
pub async fn create_pavilion(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    ip: ClientIp,
    event: EventPath,
    body: Body<CreatePavilionRequest>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&organizer)).await?;
    let body = body.read()?;
    let mut v = Validator::default();
    let name = v.check("name", text::name(&body.name, 200));
    let country = v.check(
        "country",
        body.country.as_deref().map(CountryCode::parse).transpose(),
    );
    v.check(
        "description",
        if body.description.chars().count() <= 4000 {
            Ok(())
        } else {
            Err("must have at most 4000 characters")
        },
    );
    let coordinator_email = v.check(
        "coordinator_email",
        body.coordinator_email
            .as_deref()
            .map(EmailAddress::parse)
            .transpose(),
    );
    let (name, country, coordinator_email) =
        v.finish(|| Some((name?, country?, coordinator_email?)))?;

    let coordinator_id = match &coordinator_email {
        Some(email) => Some(
            users::find_by_email(&mut conn, email)
                .await?
                .ok_or_else(|| ApiError::validation("coordinator_email", "has no account"))?
                .id,
        ),
        None => None,
    };
    let pavilion = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let pavilion = store::insert_pavilion(
                conn,
                &NewPavilion {
                    id: Uuid::now_v7(),
                    event_id: event.id,
                    name: &name,
                    country: country.as_ref().map(CountryCode::as_str),
                    description: body.description.trim(),
                    coordinator_id,
                },
            )
            .await?;
            AuditEntry::new("pavilion.created", "pavilion", Some(pavilion.id))
                .by(organizer.id, ip.as_string().as_deref())
                .record(conn)
                .await?;
            Ok(pavilion)
        })
        .await?;
    Ok(HttpResponse::Created().json(pavilion))
}
