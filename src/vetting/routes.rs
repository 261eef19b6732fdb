//! `/api/v1/events/{event}/vetting`: the security services' officers' queue, a person's detail
//! (the full document number, an audited read) and their decisions, one or many.

use actix_web::{get, post, web};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::decision::{self, VettingRuling};
use super::queue::{Number, VettingItem, items};
use super::store::{self, DecisionRecord};
use crate::accreditations::queue::{QueueQuery, Total, find, position};
use crate::accreditations::{AccreditationStatus, VettingState};
use crate::audit::AuditEntry;
use crate::auth::extract::{ClientIp, Require, VettingOfficer};
use crate::body::Body;
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::events::Event;
use crate::events::path::EventPath;
use crate::http_method::IsHead;
use crate::pagination::{Page, PageQuery};
use crate::state::AppState;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(vetting_queue)
        .service(vetting_decisions)
        .service(vetting_detail)
        .service(vetting_decision);
}

/// The vetting queue (vetting officers): the accreditations of the categories the event vets,
/// with the review queue's filters, sorting and paging and a `vetting_state` filter. Document
/// numbers are masked but for their last four characters.
#[utoipa::path(
    tag = "vetting",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026"), QueueQuery, PageQuery),
    responses(
        (status = 200, description = "A page of the vetting queue", body = Page<VettingItem>),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a vetting officer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter, `limit` or `cursor` (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/vetting")]
async fn vetting_queue(
    state: web::Data<AppState>,
    officer: Require<VettingOfficer>,
    event: EventPath,
    query: web::Query<QueueQuery>,
    page: web::Query<PageQuery>,
) -> ApiResult<web::Json<Page<VettingItem>>> {
    let page = page.parse::<(String, Uuid)>()?;
    let mut query = query.into_inner();
    query.vetted_only = true;
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&officer)).await?;
    let (rows, total) = find(
        &conn,
        &event,
        &query,
        Some(&page),
        Total::Recent(&state.queue_totals),
    )
    .await?;
    let sort = query.sort.unwrap_or_default();
    let (keys, rows): (Vec<_>, Vec<_>) = rows
        .into_iter()
        .map(|row| {
            let key = position(sort, &row);
            let (accreditation, participant, ..) = row;
            (key, (accreditation, participant))
        })
        .unzip();
    let shown: Vec<_> = keys
        .into_iter()
        .zip(items(&mut conn, &state.documents, &event, rows, Number::Masked).await?)
        .collect();
    Ok(web::Json(Page::from_rows(
        shown,
        total,
        &page,
        |(key, _)| key.clone(),
        |(_, item)| item,
    )))
}

/// A person of the vetting queue with the full document number, and the history of the
/// officers' decisions.
#[derive(Debug, Serialize, ToSchema)]
pub struct VettingDetail {
    pub accreditation: VettingItem,
    /// Oldest first.
    pub history: Vec<DecisionRecord>,
}

async fn detail(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    event: &Event,
    id: Uuid,
    number: Number,
) -> ApiResult<VettingDetail> {
    let row = store::find_vetted(conn, event.id, id).await?;
    let accreditation = items(conn, &state.documents, event, vec![row], number)
        .await?
        .remove(0);
    Ok(VettingDetail {
        accreditation,
        history: store::history(conn, id).await?,
    })
}

/// One person of the vetting queue (vetting officers), with the full document number: every
/// read is an audit record (`vetting.document_read`; not a `HEAD`, which shows nothing).
#[utoipa::path(
    tag = "vetting",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Accreditation id"),
    ),
    responses(
        (status = 200, description = "The person and the decisions so far", body = VettingDetail),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a vetting officer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such accreditation the event vets", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/vetting/{id}")]
async fn vetting_detail(
    state: web::Data<AppState>,
    officer: Require<VettingOfficer>,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
    head: IsHead,
) -> ApiResult<web::Json<VettingDetail>> {
    let (_, id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&officer)).await?;
    let shown = detail(&mut conn, &state, &event, id, Number::Full).await?;
    if head.shown() {
        AuditEntry::new("vetting.document_read", "accreditation", Some(id))
            .by_actor(&officer.actor(ip))
            .details(
                serde_json::json!({ "participant": shown.accreditation.person.participant_id }),
            )
            .record(&mut conn)
            .await?;
    }
    Ok(web::Json(shown))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VettingDecisionRequest {
    /// `pending` only re-opens a clearance or a refusal.
    state: VettingState,
    /// Internal, never shown to the applicant nor to organizers; required to overrule a
    /// clearance or a refusal (the reason).
    #[schema(max_length = 2000)]
    note: Option<String>,
    /// The services' own reference for the case.
    #[schema(max_length = 200)]
    reference: Option<String>,
    /// For the applicant: required with `info_requested`, refused otherwise.
    #[schema(max_length = 2000)]
    message: Option<String>,
    /// The `version` the decision was made on.
    version: i32,
}

/// Decide one person (vetting officers): `cleared`, `refused`, `info_requested`, or `pending`
/// to re-open a decision. A clearance of an approved accreditation issues its badge; a refusal
/// rejects it as `not_granted` and revokes a badge already issued.
#[utoipa::path(
    tag = "vetting",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Accreditation id"),
    ),
    request_body = VettingDecisionRequest,
    responses(
        (status = 200, description = "Decided", body = VettingItem),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a vetting officer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such accreditation the event vets", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version (`conflict`), the same state again or `pending` on an undecided person (`invalid_transition`), information requested once the badge is issued (`badge_issued`), or a refusal overruled when the person's list is full (`no_place_left`)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The personal data was purged after the event (`personal_data_purged`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid or missing `note`, `reference` or `message` (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/vetting/{id}/decision")]
async fn vetting_decision(
    state: web::Data<AppState>,
    officer: Require<VettingOfficer>,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
    body: Body<VettingDecisionRequest>,
) -> ApiResult<web::Json<VettingItem>> {
    let (_, id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&officer)).await?;
    store::find_vetted(&mut conn, event.id, id).await?;
    let body = body.read()?;
    let ruling = VettingRuling {
        state: body.state,
        note: body.note,
        reference: body.reference,
        message: body.message,
        version: Some(body.version),
    };
    let actor = officer.actor(ip);
    conn.transaction::<_, ApiError, _>(async |conn| {
        decision::decide(conn, &state.badge_keys, &event, &actor, id, ruling).await
    })
    .await?;
    let shown = detail(&mut conn, &state, &event, id, Number::Masked).await?;
    Ok(web::Json(shown.accreditation))
}

/// Most accreditations one bulk decision takes.
const BULK_LIMIT: usize = 500;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkItem {
    id: Uuid,
    /// The `version` seen; a stale one is refused for this item alone.
    version: i32,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkVettingRequest {
    /// Up to 500 accreditation ids, decided on their current version; or send `items`.
    #[schema(min_items = 1, max_items = 500)]
    ids: Option<Vec<Uuid>>,
    /// Up to 500 accreditations with the version each was seen at; or send `ids`.
    #[schema(min_items = 1, max_items = 500)]
    items: Option<Vec<BulkItem>>,
    state: VettingState,
    #[schema(max_length = 2000)]
    note: Option<String>,
    #[schema(max_length = 200)]
    reference: Option<String>,
    #[schema(max_length = 2000)]
    message: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkVettingResult {
    pub id: Uuid,
    /// The vetting state after the decision, when it was taken.
    pub vetting_state: Option<VettingState>,
    /// The accreditation's status after the decision, when it was taken.
    pub status: Option<AccreditationStatus>,
    /// Why it was not, as a problem `code` and `detail`.
    pub error: Option<BulkVettingError>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkVettingError {
    pub code: String,
    pub detail: String,
}

/// Decide many people at once (vetting officers), in one transaction: each gets its own result
/// (and its own savepoint); one that cannot be decided does not stop the others.
#[utoipa::path(
    tag = "vetting",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026")),
    request_body = BulkVettingRequest,
    responses(
        (status = 200, description = "One result per accreditation sent", body = Vec<BulkVettingResult>),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a vetting officer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Neither or both of `ids` and `items`, more than 500, or invalid texts (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/vetting/decisions")]
async fn vetting_decisions(
    state: web::Data<AppState>,
    officer: Require<VettingOfficer>,
    ip: ClientIp,
    event: EventPath,
    body: Body<BulkVettingRequest>,
) -> ApiResult<web::Json<Vec<BulkVettingResult>>> {
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&officer)).await?;
    let body = body.read()?;
    let targets: Vec<(Uuid, Option<i32>)> = match (body.ids, body.items) {
        (Some(ids), None) => ids.into_iter().map(|id| (id, None)).collect(),
        (None, Some(items)) => items
            .into_iter()
            .map(|item| (item.id, Some(item.version)))
            .collect(),
        _ => {
            return Err(ApiError::validation("ids", "send either `ids` or `items`"));
        }
    };
    if targets.is_empty() || targets.len() > BULK_LIMIT {
        return Err(ApiError::Validation(vec![FieldError::new(
            "ids",
            format!("must hold 1 to {BULK_LIMIT} accreditations"),
        )]));
    }
    let actor = officer.actor(ip);
    let results = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let mut results = Vec::with_capacity(targets.len());
            for &(id, version) in &targets {
                let ruling = VettingRuling {
                    state: body.state,
                    note: body.note.clone(),
                    reference: body.reference.clone(),
                    message: body.message.clone(),
                    version,
                };
                // A savepoint per accreditation: a refused one rolls back alone.
                let outcome = conn
                    .transaction::<_, ApiError, _>(async |conn| {
                        decision::decide(conn, &state.badge_keys, &event, &actor, id, ruling).await
                    })
                    .await;
                results.push(match outcome {
                    Ok(outcome) => BulkVettingResult {
                        id,
                        vetting_state: outcome.accreditation.vetting_state,
                        status: Some(outcome.accreditation.status()),
                        error: None,
                    },
                    Err(e @ (ApiError::Internal(_) | ApiError::Unavailable(_))) => return Err(e),
                    Err(e) => BulkVettingResult {
                        id,
                        vetting_state: None,
                        status: None,
                        error: Some(BulkVettingError {
                            code: e.code().to_owned(),
                            detail: e.to_string(),
                        }),
                    },
                });
            }
            Ok(results)
        })
        .await?;
    Ok(web::Json(results))
}
