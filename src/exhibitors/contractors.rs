//! `/api/v1/events/{event}/exhibitors/{id}/contractors`: an approved exhibitor registers its
//! stand builders within its contractor quota; each becomes a pending `contractor`
//! accreditation, reviewed, vetted and badged like any other.

use actix_web::{HttpResponse, get, post, web};
use chrono::Utc;
use uuid::Uuid;

use super::BadgeList;
use super::lists;
use crate::auth::extract::{ClientIp, CurrentUser};
use crate::body::Body;
use crate::error::{ApiResult, Problem};
use crate::events::path::EventPath;
use crate::pagination::{Page, PageQuery};
use crate::participants::identity::IdentityRules;
use crate::participants::{ParticipantInput, ParticipantView};
use crate::state::AppState;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_contractors).service(register_contractor);
}

/// The exhibitor's contractors with their accreditation status (the exhibitor's account,
/// organizers).
#[utoipa::path(
    tag = "exhibitors",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Exhibitor id"),
        PageQuery,
    ),
    responses(
        (status = 200, description = "A page of the exhibitor's contractors", body = Page<ParticipantView>),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such exhibitor of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/exhibitors/{id}/contractors")]
pub async fn list_contractors(
    state: web::Data<AppState>,
    user: CurrentUser,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
    page: web::Query<PageQuery>,
) -> ApiResult<web::Json<Page<ParticipantView>>> {
    let (_, id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let (roster, ..) = lists::roster(&mut conn, &event, id, &user, BadgeList::Contractors).await?;
    Ok(web::Json(roster.list(&mut conn, &page).await?))
}

/// Register a contractor (the exhibitor's account, organizers), once the exhibitor is approved.
/// Never beyond the contractor quota, even under concurrent requests: the database holds the
/// count.
#[utoipa::path(
    tag = "exhibitors",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Exhibitor id"),
    ),
    request_body = ParticipantInput,
    responses(
        (status = 201, description = "Contractor registered", body = ParticipantView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such exhibitor of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Quota used up (`contractor_quota_reached`), exhibitor not approved (`not_approved`), or registration closed (`registration_closed`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`): each field error may carry a `code`, e.g. `required` (place of birth and document expiry, where the event vets the category) or `expires_too_soon`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/exhibitors/{id}/contractors")]
pub async fn register_contractor(
    state: web::Data<AppState>,
    user: CurrentUser,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
    body: Body<ParticipantInput>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let (roster, exhibitor, _, event) =
        lists::roster(&mut conn, &event, id, &user, BadgeList::Contractors).await?;
    let rules = IdentityRules::new(&event, roster.category);
    let data = body.read()?.parse(Utc::now().date_naive(), &rules)?;
    event.check_registration_open(Utc::now())?;
    lists::ensure_approved(&exhibitor)?;
    let view = roster
        .register(&mut conn, &state.documents, &user.actor(ip), &data, None)
        .await?;
    // The directory shows the counts.
    state.directory_changed();
    Ok(HttpResponse::Created().json(view))
}
