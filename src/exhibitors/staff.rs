//! `/api/v1/events/{event}/exhibitors/{id}/staff`: an exhibitor registers its staff within its
//! badge quota; each becomes a pending `exhibitor_staff` accreditation.

use actix_web::{HttpResponse, delete, get, post, put, web};
use chrono::Utc;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::lists;
use super::{Access, BadgeList, Exhibitor};
use crate::auth::extract::{ClientIp, CurrentUser};
use crate::body::Body;
use crate::error::{ApiResult, Problem};
use crate::events::Event;
use crate::events::path::EventPath;
use crate::http_method::IsHead;
use crate::pagination::{Page, PageQuery};
use crate::participants::identity::IdentityRules;
use crate::participants::roster::Roster;
use crate::participants::{ParticipantInput, ParticipantView};
use crate::state::AppState;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_staff)
        .service(register_staff)
        .service(get_staff)
        .service(replace_staff)
        .service(withdraw_staff);
}

/// The staff list of the exhibitor in the path, if the caller manages it.
async fn roster(
    conn: &mut AsyncPgConnection,
    event: &EventPath,
    id: Uuid,
    user: &CurrentUser,
) -> ApiResult<(Roster, Exhibitor, Access, Event)> {
    lists::roster(conn, event, id, user, BadgeList::Staff).await
}

/// The exhibitor's staff with their accreditation status (the exhibitor's account, organizers).
#[utoipa::path(
    tag = "exhibitors",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Exhibitor id"),
        PageQuery,
    ),
    responses(
        (status = 200, description = "A page of the exhibitor's staff", body = Page<ParticipantView>),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such exhibitor of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/exhibitors/{id}/staff")]
pub async fn list_staff(
    state: web::Data<AppState>,
    user: CurrentUser,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
    page: web::Query<PageQuery>,
) -> ApiResult<web::Json<Page<ParticipantView>>> {
    let (_, id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let (roster, ..) = roster(&mut conn, &event, id, &user).await?;
    Ok(web::Json(roster.list(&mut conn, &page).await?))
}

/// Register a staff member (the exhibitor's account, organizers). Never beyond the quota, even
/// under concurrent requests: the database holds the count.
#[utoipa::path(
    tag = "exhibitors",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Exhibitor id"),
    ),
    request_body = ParticipantInput,
    responses(
        (status = 201, description = "Staff member registered", body = ParticipantView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such exhibitor of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Quota used up (`staff_quota_reached`), exhibitor not approved (`not_approved`), or registration closed (`registration_closed`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`): each field error may carry a `code`, e.g. `required` (place of birth and document expiry, where the event vets the category) or `expires_too_soon`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/exhibitors/{id}/staff")]
pub async fn register_staff(
    state: web::Data<AppState>,
    user: CurrentUser,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
    body: Body<ParticipantInput>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let (roster, exhibitor, _, event) = roster(&mut conn, &event, id, &user).await?;
    let rules = IdentityRules::new(&event, roster.category);
    let data = body.read()?.parse(Utc::now().date_naive(), &rules)?;
    event.check_registration_open(Utc::now())?;
    lists::ensure_approved(&exhibitor)?;
    let view = roster
        .register(&mut conn, &state.documents, &user.actor(ip), &data, None)
        .await?;
    state.directory_changed();
    Ok(HttpResponse::Created().json(view))
}

/// One staff member. Organizers also get the identity document number, and that read is
/// recorded in the audit trail.
#[utoipa::path(
    tag = "exhibitors",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Exhibitor id"),
        ("staff_id" = Uuid, Path, description = "Participant id"),
    ),
    responses(
        (status = 200, description = "The staff member", body = ParticipantView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such staff member of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/exhibitors/{id}/staff/{staff_id}")]
pub async fn get_staff(
    state: web::Data<AppState>,
    user: CurrentUser,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid, Uuid)>,
    head: IsHead,
) -> ApiResult<web::Json<ParticipantView>> {
    let (_, id, staff_id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let (roster, _, access, _) = roster(&mut conn, &event, id, &user).await?;
    let office = access == Access::Office;
    Ok(web::Json(
        roster
            .read(
                &mut conn,
                &state.documents,
                &user.actor(ip),
                staff_id,
                office,
                head.shown(),
            )
            .await?,
    ))
}

/// Correct a staff member while their accreditation is pending (or awaiting information, which
/// puts it back to pending): send the whole corrected participant.
#[utoipa::path(
    tag = "exhibitors",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Exhibitor id"),
        ("staff_id" = Uuid, Path, description = "Participant id"),
    ),
    request_body = ParticipantInput,
    responses(
        (status = 200, description = "The staff member, corrected", body = ParticipantView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such staff member of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided (`not_editable`)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The personal data was purged after the event (`personal_data_purged`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`): each field error may carry a `code`, e.g. `required` (place of birth and document expiry, where the event vets the category) or `expires_too_soon`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/events/{event}/exhibitors/{id}/staff/{staff_id}")]
pub async fn replace_staff(
    state: web::Data<AppState>,
    user: CurrentUser,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid, Uuid)>,
    body: Body<ParticipantInput>,
) -> ApiResult<web::Json<ParticipantView>> {
    let (_, id, staff_id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let (roster, _, _, event) = roster(&mut conn, &event, id, &user).await?;
    let rules = IdentityRules::new(&event, roster.category);
    let data = body.read()?.parse(Utc::now().date_naive(), &rules)?;
    Ok(web::Json(
        roster
            .replace(
                &mut conn,
                &state.documents,
                &user.actor(ip),
                staff_id,
                &data,
            )
            .await?,
    ))
}

/// Withdraw a staff member whose accreditation is still pending; the badge slot is freed.
#[utoipa::path(
    tag = "exhibitors",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Exhibitor id"),
        ("staff_id" = Uuid, Path, description = "Participant id"),
    ),
    responses(
        (status = 204, description = "Withdrawn"),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such staff member of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided (`not_editable`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/events/{event}/exhibitors/{id}/staff/{staff_id}")]
pub async fn withdraw_staff(
    state: web::Data<AppState>,
    user: CurrentUser,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (_, id, staff_id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let (roster, ..) = roster(&mut conn, &event, id, &user).await?;
    roster
        .withdraw(&mut conn, &user.actor(ip), staff_id)
        .await?;
    state.directory_changed();
    Ok(HttpResponse::NoContent().finish())
}
