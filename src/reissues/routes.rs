//! Reissue, report-lost and the organizers' queue of reissue requests.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::lost::{Report, report_lost};
use super::reissue::reissue;
use super::{ReissueRequest, ReissueRequestState, store};
use crate::accreditations::Category;
use crate::accreditations::printable::printable;
use crate::accreditations::view::{self, AccreditationView};
use crate::auth::extract::{ClientIp, CurrentUser, Organizer, Require};
use crate::body::Body;
use crate::error::{ApiError, ApiResult, Problem};
use crate::events::path::EventPath;
use crate::pagination::{Page, PageQuery};
use crate::state::AppState;
use crate::text;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(reissue_badge)
        .service(report_lost_badge)
        .service(reissue_requests);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReissueBody {
    /// Why (lost, stolen, damaged…): audited and sent to the holder.
    #[schema(
        min_length = 1,
        max_length = 2000,
        example = "Badge damaged at the north gate"
    )]
    reason: String,
}

/// Reissue the badge of an approved accreditation (organizers): the live badge is superseded (or,
/// reported lost, stays blocked and its request is closed), and a new one is issued — the next
/// number suffix (`B26-EXH-000123-2`), a new QR, no prints yet. The old QR is denied at every
/// gate as `superseded` from now on; the holder is emailed the new badge.
#[utoipa::path(
    tag = "accreditations",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Accreditation id"),
    ),
    request_body = ReissueBody,
    responses(
        (status = 200, description = "The accreditation with its new badge", body = AccreditationView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such accreditation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not approved, or no badge to replace (`no_badge`); not cleared by the security services where the event vets the category (`awaiting_clearance`)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The personal data was purged after the event (`personal_data_purged`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No `reason`, or a too long one (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/accreditations/{id}/reissue")]
async fn reissue_badge(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
    body: Body<ReissueBody>,
) -> ApiResult<web::Json<AccreditationView>> {
    let (_, id) = path.into_inner();
    let body = body.read()?;
    let reason =
        text::required(&body.reason, 2000).map_err(|e| ApiError::validation("reason", e))?;
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&organizer)).await?;
    let actor = organizer.actor(ip);
    conn.transaction::<_, ApiError, _>(async |conn| {
        reissue(conn, &state.badge_keys, &event, &actor, id, &reason).await
    })
    .await?;
    Ok(web::Json(view::of(&conn, &event.slug, id).await?))
}

/// Report the badge lost or stolen (the holder; whoever registered them — the exhibitor's
/// account, the delegation's lead; organizers): it is denied at every gate as `reported_lost`
/// from now on, and a reissue request joins the organizers' queue. Reporting a badge reported
/// already answers its open request (200) and changes nothing.
#[utoipa::path(
    tag = "accreditations",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Accreditation id"),
    ),
    responses(
        (status = 200, description = "Reported already: the open request", body = ReissueRequest),
        (status = 201, description = "The badge is blocked; the request is open", body = ReissueRequest),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such accreditation of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No live badge to report (`no_badge`)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The personal data was purged after the event (`personal_data_purged`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/accreditations/{id}/report-lost")]
async fn report_lost_badge(
    state: web::Data<AppState>,
    user: CurrentUser,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&user)).await?;
    printable(&mut conn, &event, id, &user).await?;
    let reporter = user.actor(ip);
    let report = conn
        .transaction::<_, ApiError, _>(async |conn| report_lost(conn, &event, &reporter, id).await)
        .await?;
    Ok(match report {
        Report::Opened(request) => HttpResponse::Created().json(request),
        Report::AlreadyOpen(request) => HttpResponse::Ok().json(request),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestsQuery {
    /// `open` for the badges still to reissue; all requests when absent.
    state: Option<ReissueRequestState>,
}

/// A reissue request in the organizers' queue, with whom it is for.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueuedReissueRequest {
    pub id: Uuid,
    pub accreditation_id: Uuid,
    pub state: ReissueRequestState,
    #[schema(example = "B26-EXH-000123")]
    pub lost_badge_number: String,
    pub first_name: String,
    pub last_name: String,
    pub organization: String,
    pub category: Category,
    pub reported_by: Option<Uuid>,
    pub reported_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<Uuid>,
    pub new_badge_id: Option<Uuid>,
}

/// The reissue requests of the event (organizers), oldest first.
#[utoipa::path(
    tag = "accreditations",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026"), RequestsQuery, PageQuery),
    responses(
        (status = 200, description = "A page of reissue requests", body = Page<QueuedReissueRequest>),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid `state`, `limit` or `cursor` (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/reissue-requests")]
async fn reissue_requests(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    event: EventPath,
    query: web::Query<RequestsQuery>,
    page: web::Query<PageQuery>,
) -> ApiResult<web::Json<Page<QueuedReissueRequest>>> {
    let page = page.parse::<Uuid>()?;
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&organizer)).await?;
    let (rows, total) = store::page(&mut conn, event.id, query.state, &page).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        total,
        &page,
        |(request, ..)| request.id,
        |(request, lost_badge_number, first_name, last_name, organization, category)| {
            let ReissueRequest {
                id,
                accreditation_id,
                reported_by,
                reported_at,
                state,
                closed_at,
                closed_by,
                new_badge_id,
                ..
            } = request;
            QueuedReissueRequest {
                id,
                accreditation_id,
                state,
                lost_badge_number,
                first_name,
                last_name,
                organization,
                category,
                reported_by,
                reported_at,
                closed_at,
                closed_by,
                new_badge_id,
            }
        },
    )))
}
