//! `/api/v1/events/{event}/delegations/{id}/members`: the lead registers the delegation's
//! members up to its limit; each is a pending `delegation_member` accreditation carrying the
//! delegation's protocol level.

use actix_web::{HttpResponse, delete, get, post, put, web};
use chrono::Utc;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::access::load;
use super::{Delegation, DelegationStatus};
use crate::accreditations::Category;
use crate::auth::extract::{ClientIp, CurrentUser};
use crate::body::Body;
use crate::error::{ApiError, ApiResult, Problem};
use crate::events::Event;
use crate::events::path::EventPath;
use crate::http_method::IsHead;
use crate::pagination::{Page, PageQuery};
use crate::participants::identity::IdentityRules;
use crate::participants::roster::{Confirmation, Roster};
use crate::participants::store::Group;
use crate::participants::{ParticipantInput, ParticipantView};
use crate::state::AppState;
use crate::users::store as users;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_members)
        .service(register_member)
        .service(get_member)
        .service(replace_member)
        .service(withdraw_member);
}

/// The member list of the delegation in the path, if the caller leads it or is an organizer.
async fn roster(
    conn: &mut AsyncPgConnection,
    event: &EventPath,
    id: Uuid,
    user: &CurrentUser,
) -> ApiResult<(Roster, Delegation, Event)> {
    let (event, delegation) = load(conn, event, id, user).await?;
    let roster = Roster {
        event_id: event.id,
        group: Group::Delegation(delegation.id),
        category: Category::DelegationMember,
        protocol_level: Some(delegation.protocol_level().as_str()),
        places: delegation.member_limit,
        full_code: "member_limit_reached",
    };
    Ok((roster, delegation, event))
}

/// A closed delegation's members are final.
fn refuse_if_closed(delegation: &Delegation) -> ApiResult<()> {
    if delegation.status() == DelegationStatus::Closed {
        return Err(ApiError::Conflict {
            code: "delegation_closed",
            detail: "The delegation is closed; its members can no longer change.".into(),
        });
    }
    Ok(())
}

/// The delegation's members with their accreditation status (its lead, organizers).
#[utoipa::path(
    tag = "delegations",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Delegation id"),
        PageQuery,
    ),
    responses(
        (status = 200, description = "A page of the delegation's members", body = Page<ParticipantView>),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such delegation of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/delegations/{id}/members")]
pub async fn list_members(
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

/// Register a member (its lead, organizers), never beyond the member limit. The member (or, with
/// no address, the lead) is emailed that the registration was received.
#[utoipa::path(
    tag = "delegations",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Delegation id"),
    ),
    request_body = ParticipantInput,
    responses(
        (status = 201, description = "Member registered", body = ParticipantView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such delegation of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Limit reached (`member_limit_reached`), delegation not active (`delegation_not_active`) or registration closed (`registration_closed`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`): each field error may carry a `code`, e.g. `required` (place of birth and document expiry, where the event vets the category) or `expires_too_soon`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/delegations/{id}/members")]
pub async fn register_member(
    state: web::Data<AppState>,
    user: CurrentUser,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
    body: Body<ParticipantInput>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let (roster, delegation, event) = roster(&mut conn, &event, id, &user).await?;
    let rules = IdentityRules::new(&event, roster.category);
    let data = body.read()?.parse(Utc::now().date_naive(), &rules)?;
    event.check_registration_open(Utc::now())?;
    if delegation.status() != DelegationStatus::Active {
        return Err(ApiError::Conflict {
            code: "delegation_not_active",
            detail:
                "Members are registered once the lead has accepted, until the delegation is closed."
                    .into(),
        });
    }
    let registrant = users::find(&mut conn, user.id).await?;
    let confirmation = Confirmation {
        to: data.email.clone().unwrap_or(registrant.email.clone()),
        locale: registrant.locale(),
        event_name: event.name.clone(),
    };
    let view = roster
        .register(
            &mut conn,
            &state.documents,
            &user.actor(ip),
            &data,
            Some(confirmation),
        )
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// One member. Organizers also get the identity document number (an audited read).
#[utoipa::path(
    tag = "delegations",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Delegation id"),
        ("member_id" = Uuid, Path, description = "Participant id"),
    ),
    responses(
        (status = 200, description = "The member", body = ParticipantView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such member of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/delegations/{id}/members/{member_id}")]
pub async fn get_member(
    state: web::Data<AppState>,
    user: CurrentUser,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid, Uuid)>,
    head: IsHead,
) -> ApiResult<web::Json<ParticipantView>> {
    let (_, id, member_id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let (roster, ..) = roster(&mut conn, &event, id, &user).await?;
    let office = user.is_organizer();
    Ok(web::Json(
        roster
            .read(
                &mut conn,
                &state.documents,
                &user.actor(ip),
                member_id,
                office,
                head.shown(),
            )
            .await?,
    ))
}

/// Correct a member while pending (or awaiting information): send the whole corrected member.
#[utoipa::path(
    tag = "delegations",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Delegation id"),
        ("member_id" = Uuid, Path, description = "Participant id"),
    ),
    request_body = ParticipantInput,
    responses(
        (status = 200, description = "The member, corrected", body = ParticipantView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such member of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided (`not_editable`)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The personal data was purged after the event (`personal_data_purged`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`): each field error may carry a `code`, e.g. `required` (place of birth and document expiry, where the event vets the category) or `expires_too_soon`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/events/{event}/delegations/{id}/members/{member_id}")]
pub async fn replace_member(
    state: web::Data<AppState>,
    user: CurrentUser,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid, Uuid)>,
    body: Body<ParticipantInput>,
) -> ApiResult<web::Json<ParticipantView>> {
    let (_, id, member_id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let (roster, delegation, event) = roster(&mut conn, &event, id, &user).await?;
    let rules = IdentityRules::new(&event, roster.category);
    let data = body.read()?.parse(Utc::now().date_naive(), &rules)?;
    refuse_if_closed(&delegation)?;
    Ok(web::Json(
        roster
            .replace(
                &mut conn,
                &state.documents,
                &user.actor(ip),
                member_id,
                &data,
            )
            .await?,
    ))
}

/// Withdraw a pending member; the place is freed.
#[utoipa::path(
    tag = "delegations",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Delegation id"),
        ("member_id" = Uuid, Path, description = "Participant id"),
    ),
    responses(
        (status = 204, description = "Withdrawn"),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such member of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided (`not_editable`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/events/{event}/delegations/{id}/members/{member_id}")]
pub async fn withdraw_member(
    state: web::Data<AppState>,
    user: CurrentUser,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (_, id, member_id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let (roster, delegation, _) = roster(&mut conn, &event, id, &user).await?;
    refuse_if_closed(&delegation)?;
    roster
        .withdraw(&mut conn, &user.actor(ip), member_id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
