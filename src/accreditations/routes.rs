//! `/api/v1/events/{event}/accreditations`: the organizers' review queue, decisions (one or
//! many), revocation, and the CSV export.

use actix_web::{HttpResponse, get, post, web};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AccreditationStatus;
use super::overrides::{self, BadgeOverride};
use super::queue::{QueueQuery, QueueRow, Total, find, position};
use super::store::Row;
use super::view::{self, AccreditationView, views};
use super::workflow::{self, Decision, Outcome, Ruling};
use crate::auth::extract::{ClientIp, Organizer, Require};
use crate::body::Body;
use crate::csv_export::{self, Sheet};
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::events::Event;
use crate::events::path::EventPath;
use crate::pagination::{Page, PageQuery, PageRequest};
use crate::state::AppState;
use crate::text;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(review_queue)
        .service(export_csv)
        .service(decide_many)
        .service(get_accreditation)
        .service(decide_one)
        .service(revoke);
}

/// The review queue (organizers): filter, search, sort and page the event's accreditations.
///
/// `total` is exact for the `status` and `category` filters; with `country`, `q`,
/// `exhibitor_id` or `delegation_id` it is counted at most every ten seconds, so it may not yet
/// include the last seconds' registrations (the items always do).
#[utoipa::path(
    tag = "accreditations",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026"), QueueQuery, PageQuery),
    responses(
        (status = 200, description = "A page of the review queue", body = Page<AccreditationView>),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/accreditations")]
async fn review_queue(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    event: EventPath,
    query: web::Query<QueueQuery>,
    page: web::Query<PageQuery>,
) -> ApiResult<web::Json<Page<AccreditationView>>> {
    let page = page.parse::<(String, Uuid)>()?;
    let mut conn = state.reads.conn().await?;
    let event = event.load_event(&mut conn, Some(&organizer)).await?;
    let (rows, total) = find(
        &conn,
        &event,
        &query,
        Some(&page),
        Total::Recent(&state.queue_totals),
    )
    .await?;
    let sort = query.sort.unwrap_or_default();
    let (keys, rows): (Vec<_>, Vec<Row>) = rows
        .into_iter()
        .map(|row| {
            // The cursor is the position in the order the page was read in.
            let key = position(sort, &row);
            let (accreditation, participant, badge, _) = row;
            (key, (accreditation, participant, badge))
        })
        .unzip();
    let items: Vec<_> = keys.into_iter().zip(views(&conn, rows).await?).collect();
    Ok(web::Json(Page::from_rows(
        items,
        total,
        &page,
        |(key, _)| key.clone(),
        |(_, v)| v,
    )))
}

/// One accreditation (organizers).
#[utoipa::path(
    tag = "accreditations",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Accreditation id"),
    ),
    responses(
        (status = 200, description = "The accreditation", body = AccreditationView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such accreditation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/accreditations/{id}")]
async fn get_accreditation(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<web::Json<AccreditationView>> {
    let (_, id) = path.into_inner();
    let conn = state.pool.get().await?;
    // One round trip: the accreditation is read by the event's slug, along with the event.
    let (_, found) = futures_util::try_join!(
        event.load_event_on(&conn, Some(&organizer)),
        view::of(&conn, event.slug(), id),
    )?;
    Ok(web::Json(found))
}

fn reason_for(decision: Decision, reason: Option<&str>) -> ApiResult<Option<String>> {
    let reason = text::optional(reason, 2000).map_err(|e| ApiError::validation("reason", e))?;
    if decision.needs_reason() && reason.is_none() {
        return Err(ApiError::validation(
            "reason",
            "is required to reject or request information",
        ));
    }
    Ok(reason)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    decision: Decision,
    /// Required to reject or request information; sent to the applicant.
    #[schema(max_length = 2000)]
    reason: Option<String>,
    /// The `version` the decision was made on.
    version: i32,
}

/// Decide one accreditation (organizers). Sensitive categories need two different organizers:
/// the first approval is recorded (`approvals`), the second approves. Where the event vets the
/// category, an approval before the security services' clearance issues no badge yet
/// (`awaiting_clearance`): the clearance issues it.
#[utoipa::path(
    tag = "accreditations",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Accreditation id"),
    ),
    request_body = DecisionRequest,
    responses(
        (status = 200, description = "Decided (or first approval recorded)", body = AccreditationView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such accreditation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version (`conflict`), decided already (`invalid_transition`), the same organizer twice (`four_eyes`), an approval by the organizer who entered it (`creator_cannot_approve`), or refused by the security services (`vetting_refused`)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The personal data was purged after the event (`personal_data_purged`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/accreditations/{id}/decision")]
async fn decide_one(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
    body: Body<DecisionRequest>,
) -> ApiResult<web::Json<AccreditationView>> {
    let (_, id) = path.into_inner();
    let body = body.read()?;
    let reason = reason_for(body.decision, body.reason.as_deref())?;
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&organizer)).await?;
    let reviewer = organizer.actor(ip);
    let ruling = Ruling {
        decision: body.decision,
        reason: reason.as_deref(),
        version: Some(body.version),
    };
    conn.transaction::<_, ApiError, _>(async |conn| {
        let mut results =
            workflow::decide(conn, &state.badge_keys, &event, &reviewer, &[id], ruling).await?;
        results.remove(0)
    })
    .await?;
    Ok(web::Json(view::of(&conn, &event.slug, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkDecisionRequest {
    /// Up to 500 accreditation ids.
    #[schema(min_items = 1, max_items = 500)]
    ids: Vec<Uuid>,
    decision: Decision,
    #[schema(max_length = 2000)]
    reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResult {
    pub id: Uuid,
    /// The status after the decision, when it was taken.
    pub status: Option<AccreditationStatus>,
    /// An approval of a sensitive category recorded as the first of the two it needs: the
    /// status stays `pending` until a different organizer approves.
    pub first_approval: bool,
    /// Why it was not, as a problem `code` and `detail`.
    pub error: Option<BulkError>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkError {
    pub code: String,
    pub detail: String,
}

/// Decide many accreditations at once (organizers), in one transaction: each id gets its own
/// result; one that cannot be decided does not stop the others.
#[utoipa::path(
    tag = "accreditations",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026")),
    request_body = BulkDecisionRequest,
    responses(
        (status = 200, description = "One result per accreditation sent", body = Vec<BulkResult>),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/accreditations/decisions")]
async fn decide_many(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    ip: ClientIp,
    event: EventPath,
    body: Body<BulkDecisionRequest>,
) -> ApiResult<web::Json<Vec<BulkResult>>> {
    let body = body.read()?;
    if body.ids.is_empty() || body.ids.len() > 500 {
        return Err(ApiError::Validation(vec![FieldError::new(
            "ids",
            "must hold 1 to 500 ids",
        )]));
    }
    let reason = reason_for(body.decision, body.reason.as_deref())?;
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&organizer)).await?;
    let reviewer = organizer.actor(ip);
    let ruling = Ruling {
        decision: body.decision,
        reason: reason.as_deref(),
        version: None,
    };
    let outcomes = conn
        .transaction::<_, ApiError, _>(async |conn| {
            workflow::decide(
                conn,
                &state.badge_keys,
                &event,
                &reviewer,
                &body.ids,
                ruling,
            )
            .await
        })
        .await?;
    let results = body
        .ids
        .iter()
        .zip(outcomes)
        .map(|(id, outcome)| match outcome {
            Ok(outcome) => BulkResult {
                id: *id,
                first_approval: matches!(outcome, Outcome::FirstApproval(_)),
                status: Some(outcome.accreditation().status()),
                error: None,
            },
            Err(e) => BulkResult {
                id: *id,
                status: None,
                first_approval: false,
                error: Some(BulkError {
                    code: e.code().to_owned(),
                    detail: e.to_string(),
                }),
            },
        })
        .collect();
    Ok(web::Json(results))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    #[schema(min_length = 1, max_length = 2000)]
    reason: String,
}

/// Revoke an approved accreditation (organizers): its badge is refused at every gate, printed or
/// not.
#[utoipa::path(
    tag = "accreditations",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Accreditation id"),
    ),
    request_body = RevokeRequest,
    responses(
        (status = 200, description = "The accreditation, revoked", body = AccreditationView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such accreditation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not approved (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The personal data was purged after the event (`personal_data_purged`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/accreditations/{id}/revoke")]
async fn revoke(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
    body: Body<RevokeRequest>,
) -> ApiResult<web::Json<AccreditationView>> {
    let (_, id) = path.into_inner();
    let body = body.read()?;
    let reason =
        text::required(&body.reason, 2000).map_err(|e| ApiError::validation("reason", e))?;
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&organizer)).await?;
    let reviewer = organizer.actor(ip);
    conn.transaction::<_, ApiError, _>(async |conn| {
        workflow::revoke(conn, &event, &reviewer, id, &reason).await
    })
    .await?;
    Ok(web::Json(view::of(&conn, &event.slug, id).await?))
}

/// The queue as CSV (organizers), with the queue's filters: UTF-8 with a byte-order mark so that
/// Excel reads it, and cells neutralised against formula injection.
#[utoipa::path(
    tag = "accreditations",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026"), QueueQuery),
    responses(
        (status = 200, description = "The accreditations", content_type = "text/csv"),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/accreditations.csv")]
async fn export_csv(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    event: EventPath,
    query: web::Query<QueueQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    csv_export::of_event(&state.pool, &event, &organizer, "accreditations", |event| {
        QueueSheet {
            event: event.clone(),
            query,
        }
    })
    .await
}

/// The queue's rows as CSV, in the queue's order.
struct QueueSheet {
    event: Event,
    query: QueueQuery,
}

impl Sheet for QueueSheet {
    /// A queue row and its badge override, if any.
    type Row = (QueueRow, Option<BadgeOverride>);
    type Key = (String, Uuid);

    const COLUMNS: &'static [&'static str] = &[
        "id",
        "status",
        "category",
        "last_name",
        "first_name",
        "organization",
        "nationality",
        "email",
        "badge_number",
        "created_at",
        // Last, so that sheets built on the earlier columns keep working.
        "vetting_state",
        "protocol_note",
        "badge_override",
    ];

    async fn page(
        &self,
        conn: &mut AsyncPgConnection,
        after: Option<&(String, Uuid)>,
        limit: i64,
    ) -> ApiResult<Vec<Self::Row>> {
        // `find` reads one row more than its page's limit (to tell that a next page exists).
        let page = PageRequest {
            limit: limit - 1,
            after: after.cloned(),
        };
        let (rows, _) = find(conn, &self.event, &self.query, Some(&page), Total::Skipped).await?;
        let ids: Vec<Uuid> = rows.iter().map(|(a, ..)| a.id).collect();
        let mut adjustments = overrides::store::of_accreditations(conn, &ids).await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let adjustment = adjustments.remove(&row.0.id);
                (row, adjustment)
            })
            .collect())
    }

    fn key(&self, (row, _): &Self::Row) -> (String, Uuid) {
        position(self.query.sort.unwrap_or_default(), row)
    }

    fn cells(
        &self,
        ((accreditation, participant, badge, _), adjustment): Self::Row,
    ) -> Vec<String> {
        vec![
            accreditation.id.to_string(),
            accreditation.status.as_str().to_owned(),
            accreditation.category.as_str().to_owned(),
            participant.last_name,
            participant.first_name,
            participant.organization,
            participant.nationality,
            participant
                .email
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default(),
            badge.map(|b| b.number).unwrap_or_default(),
            accreditation.created_at.to_rfc3339(),
            accreditation
                .vetting_state
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            accreditation.protocol_note.unwrap_or_default(),
            adjustment
                .map(|a| format!("{} ({})", a.summary(), a.reason))
                .unwrap_or_default(),
        ]
    }
}
