//! `/api/v1/events/{event}/accreditations`: the organizers' review queue, decisions (one or
//! many), revocation, and the CSV export.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::badges::{Badge, BadgeView};
use super::totals::QueueTotals;
use super::workflow::{self, Decision, Outcome, Reviewer, Ruling};
use super::{Accreditation, AccreditationStatus, Category};
use crate::app::AppState;
use crate::auth::extract::{ClientIp, MaybeUser, Organizer, Require};
use crate::country::CountryCode;
use crate::db::DbPool;
use crate::db::schema::{
    accreditation_approvals, accreditation_counts, accreditations, badges, participants,
};
use crate::db::search_key;
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::events::Event;
use crate::events::routes::visible_event;
use crate::pagination::{Page, PageQuery, PageRequest, like_pattern};
use crate::participants::Participant;
use crate::text;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(review_queue)
        .service(export_csv)
        .service(decide_many)
        .service(get_accreditation)
        .service(decide_one)
        .service(revoke)
        .service(super::printing::badge_pdf)
        .service(super::printing::badges_pdf)
        .service(super::printing::invitation_letter);
}

/// A likely duplicate, for the reviewer's attention.
#[derive(Debug, Serialize, ToSchema)]
pub struct Warning {
    /// `same_document`, `same_person` or `previously_rejected`.
    #[schema(example = "same_document")]
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantSummary {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub title: Option<String>,
    pub organization: String,
    pub function: Option<String>,
    pub nationality: String,
    pub date_of_birth: Option<NaiveDate>,
    /// Set once the retention purge removed this person's data (names read `[purged]`).
    pub anonymized_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccreditationView {
    pub id: Uuid,
    pub status: AccreditationStatus,
    pub category: Category,
    /// Send it back with a decision: a stale one is refused.
    pub version: i32,
    pub protocol_level: Option<String>,
    pub participant: ParticipantSummary,
    /// The account that registered the participant (null once anonymized).
    pub registered_by: Option<Uuid>,
    pub exhibitor_id: Option<Uuid>,
    pub delegation_id: Option<Uuid>,
    /// Organizers who gave a first approval (sensitive categories need two).
    pub approvals: Vec<Uuid>,
    pub decision_reason: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub badge: Option<BadgeView>,
    pub warnings: Vec<Warning>,
    pub created_at: DateTime<Utc>,
}

type Row = (Accreditation, Participant, Option<Badge>);
/// A queue row with its name sort key, as the database computes it (for the cursor).
type QueueRow = (Accreditation, Participant, Option<Badge>, String);

/// Which likely duplicates a participant has among the event's other registrations.
#[derive(QueryableByName)]
struct DuplicateFlags {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    participant_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    same_document: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    same_person: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    previously_rejected: bool,
}

impl DuplicateFlags {
    fn warnings(&self) -> Vec<Warning> {
        let mut found = Vec::new();
        if self.same_document {
            found.push(Warning {
                code: "same_document",
                message: "Another registration for this event has the same identity document."
                    .into(),
            });
        }
        if self.same_person {
            found.push(Warning {
                code: "same_person",
                message: "Another registration for this event has the same name and date of birth."
                    .into(),
            });
        }
        if self.previously_rejected {
            found.push(Warning {
                code: "previously_rejected",
                message: "A matching registration for this event was rejected.".into(),
            });
        }
        found
    }
}

/// Likely duplicates of each participant, by the SQL function `duplicate_flags` (migration
/// 2026-11-23-000008): one query for a whole page, answered from indexes.
async fn duplicate_flags(
    conn: &mut AsyncPgConnection,
    participant_ids: &[Uuid],
) -> ApiResult<HashMap<Uuid, DuplicateFlags>> {
    let flags: Vec<DuplicateFlags> = diesel::sql_query(
        "SELECT participant_id, same_document, same_person, previously_rejected \
         FROM duplicate_flags($1)",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(participant_ids)
    .load(conn)
    .await?;
    Ok(flags.into_iter().map(|f| (f.participant_id, f)).collect())
}

/// The views of `rows`, with their first approvals and warnings loaded in two queries whatever
/// the number of rows.
async fn views(conn: &mut AsyncPgConnection, rows: Vec<Row>) -> ApiResult<Vec<AccreditationView>> {
    let ids: Vec<Uuid> = rows.iter().map(|(a, ..)| a.id).collect();
    let participant_ids: Vec<Uuid> = rows.iter().map(|(_, p, _)| p.id).collect();
    let mut approvals: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (accreditation, organizer) in accreditation_approvals::table
        .filter(accreditation_approvals::accreditation_id.eq_any(&ids))
        .select((
            accreditation_approvals::accreditation_id,
            accreditation_approvals::organizer_id,
        ))
        .load::<(Uuid, Uuid)>(conn)
        .await?
    {
        approvals.entry(accreditation).or_default().push(organizer);
    }
    let flags = duplicate_flags(conn, &participant_ids).await?;
    Ok(rows
        .into_iter()
        .map(|(accreditation, participant, badge)| AccreditationView {
            warnings: flags
                .get(&participant.id)
                .map(DuplicateFlags::warnings)
                .unwrap_or_default(),
            approvals: approvals.remove(&accreditation.id).unwrap_or_default(),
            id: accreditation.id,
            status: accreditation.status(),
            category: accreditation.category(),
            version: accreditation.version,
            protocol_level: accreditation.protocol_level,
            registered_by: participant.registered_by,
            exhibitor_id: participant.exhibitor_id,
            delegation_id: participant.delegation_id,
            decision_reason: accreditation.decision_reason,
            decided_at: accreditation.decided_at,
            badge: badge.map(BadgeView::from),
            created_at: accreditation.created_at,
            participant: ParticipantSummary {
                id: participant.id,
                first_name: participant.first_name,
                last_name: participant.last_name,
                email: participant.email.map(String::from),
                title: participant.title,
                organization: participant.organization,
                function: participant.function,
                nationality: participant.nationality,
                date_of_birth: participant.date_of_birth,
                anonymized_at: participant.anonymized_at,
            },
        })
        .collect())
}

async fn view(conn: &mut AsyncPgConnection, row: Row) -> ApiResult<AccreditationView> {
    let mut one = views(conn, vec![row]).await?;
    Ok(one.remove(0))
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Oldest first (the queue's order).
    #[default]
    Created,
    /// By last name, then first name.
    Name,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    status: Option<AccreditationStatus>,
    category: Option<Category>,
    /// Nationality, ISO 3166-1 alpha-2.
    country: Option<String>,
    exhibitor_id: Option<Uuid>,
    delegation_id: Option<Uuid>,
    /// Names and organization, case- and accent-insensitive.
    q: Option<String>,
    sort: Option<Sort>,
}

fn sort_key() -> diesel::expression::SqlLiteral<diesel::sql_types::Text> {
    diesel::dsl::sql::<diesel::sql_types::Text>(
        "search_key(participants.last_name || ' ' || participants.first_name)",
    )
}

/// How many accreditations of the event have `status` and `category` (either may be any), from
/// the counts a trigger keeps (`accreditation_counts`, folded by [`run_count_folding`]).
async fn counted(
    conn: &mut AsyncPgConnection,
    event: &Event,
    status: Option<AccreditationStatus>,
    category: Option<Category>,
) -> ApiResult<i64> {
    let mut counters = accreditation_counts::table
        .filter(accreditation_counts::event_id.eq(event.id))
        .into_boxed();
    if let Some(status) = status {
        counters = counters.filter(accreditation_counts::status.eq(status.as_str()));
    }
    if let Some(category) = category {
        counters = counters.filter(accreditation_counts::category.eq(category.as_str()));
    }
    Ok(counters
        .select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "coalesce(sum(n), 0)::bigint",
        ))
        .first(conn)
        .await?)
}

const FOLD_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// The service's loop that folds the count rows the trigger appends, so that a total sums a few
/// rows. Errors are logged and the loop goes on.
pub async fn run_count_folding(pool: DbPool, shutdown: CancellationToken) {
    crate::periodic::every(FOLD_EVERY, shutdown, || async {
        let folded = async {
            let mut conn = pool.get().await?;
            diesel::sql_query("SELECT fold_accreditation_counts()")
                .execute(&mut conn)
                .await?;
            Ok::<_, ApiError>(())
        };
        if let Err(e) = folded.await {
            tracing::error!(
                error = e.log_message(),
                "could not fold the accreditation counts"
            );
        }
    })
    .await;
}

/// How [`find`] answers its total.
enum Total<'a> {
    /// Not wanted (the CSV export).
    Skipped,
    /// Counted now (batch printing refuses more than it can print).
    Exact,
    /// From the counters, or as [`QueueTotals`] keeps them (queue pages).
    Recent(&'a QueueTotals),
}

/// The accreditations of an event matching `query`, as rows, with the total.
async fn find(
    conn: &mut AsyncPgConnection,
    event: &Event,
    query: &QueueQuery,
    page: Option<&PageRequest<(String, Uuid)>>,
    wanted: Total<'_>,
) -> ApiResult<(Vec<QueueRow>, i64)> {
    let country = query
        .country
        .as_deref()
        .map(CountryCode::parse)
        .transpose()
        .map_err(|e| ApiError::validation("country", e.to_string()))?;
    let text = query.q.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let filtered = || {
        let mut q = accreditations::table
            .inner_join(participants::table)
            .left_join(badges::table)
            .filter(accreditations::event_id.eq(event.id))
            // Redundant, but lets the name order walk `participants_event_sort_idx`.
            .filter(participants::event_id.eq(event.id))
            .into_boxed();
        if let Some(status) = query.status {
            q = q.filter(accreditations::status.eq(status.as_str()));
        }
        if let Some(category) = query.category {
            q = q.filter(accreditations::category.eq(category.as_str()));
        }
        if let Some(country) = country {
            q = q.filter(participants::nationality.eq(country.as_str().to_owned()));
        }
        if let Some(id) = query.exhibitor_id {
            q = q.filter(participants::exhibitor_id.eq(id));
        }
        if let Some(id) = query.delegation_id {
            q = q.filter(participants::delegation_id.eq(id));
        }
        if let Some(text) = text {
            q = q.filter(participants::search_text.like(search_key(like_pattern(text))));
        }
        q
    };
    let about_people = country.is_some()
        || query.exhibitor_id.is_some()
        || query.delegation_id.is_some()
        || text.is_some();
    let total = match wanted {
        Total::Skipped => 0,
        _ if !about_people => counted(conn, event, query.status, query.category).await?,
        Total::Exact => filtered().count().get_result(conn).await?,
        Total::Recent(recent) => {
            let key = format!(
                "{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
                event.id,
                query.status,
                query.category,
                country,
                query.exhibitor_id,
                query.delegation_id,
                text
            );
            recent.get(conn, key, filtered().count()).await?
        }
    };
    let sort = query.sort.unwrap_or_default();
    let mut rows = match sort {
        // No SQL literal in this one, so that diesel keeps it prepared (and PostgreSQL can
        // keep its plan): the cursor is the id alone.
        Sort::Created => filtered().select((
            Accreditation::as_select(),
            Participant::as_select(),
            Option::<Badge>::as_select(),
            String::new().into_sql::<diesel::sql_types::Text>(),
        )),
        Sort::Name => filtered().select((
            Accreditation::as_select(),
            Participant::as_select(),
            Option::<Badge>::as_select(),
            sort_key(),
        )),
    };
    match sort {
        Sort::Created => {
            rows = rows.order(accreditations::id);
            if let Some((_, after)) = page.and_then(|p| p.after.as_ref()) {
                rows = rows.filter(accreditations::id.gt(*after));
            }
        }
        Sort::Name => {
            rows = rows.order((sort_key(), participants::id));
            if let Some((name, after)) = page.and_then(|p| p.after.as_ref()) {
                rows = rows.filter(
                    diesel::dsl::sql::<diesel::sql_types::Bool>(
                        "(search_key(participants.last_name || ' ' || participants.first_name), participants.id) > (",
                    )
                    .bind::<diesel::sql_types::Text, _>(name.clone())
                    .sql(", ")
                    .bind::<diesel::sql_types::Uuid, _>(*after)
                    .sql(")"),
                );
            }
        }
    }
    if let Some(page) = page {
        rows = rows.limit(page.limit + 1);
    }
    Ok((rows.load(conn).await?, total))
}

/// Most badges one batch PDF prints (125 A4 sheets).
const BATCH_LIMIT: i64 = 500;

/// The ids of the accreditations matching `query`, for batch printing.
pub async fn matching_ids(
    conn: &mut AsyncPgConnection,
    event: &Event,
    query: &QueueQuery,
) -> ApiResult<Vec<Uuid>> {
    let at_most = PageRequest {
        limit: BATCH_LIMIT,
        after: None,
    };
    let (rows, total) = find(conn, event, query, Some(&at_most), Total::Exact).await?;
    if total > BATCH_LIMIT {
        return Err(ApiError::validation(
            "query",
            format!("{total} accreditations match; narrow the filters to at most {BATCH_LIMIT}"),
        ));
    }
    Ok(rows
        .into_iter()
        .map(|(accreditation, ..)| accreditation.id)
        .collect())
}

async fn organizer_event(
    conn: &mut AsyncPgConnection,
    slug: &str,
    organizer: &Require<Organizer>,
) -> ApiResult<Event> {
    visible_event(conn, slug, &MaybeUser(Some(organizer.user.clone()))).await
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
        (status = 200, body = Page<AccreditationView>),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/accreditations")]
async fn review_queue(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    slug: web::Path<String>,
    query: web::Query<QueueQuery>,
    page: web::Query<PageQuery>,
) -> ApiResult<web::Json<Page<AccreditationView>>> {
    let page = page.parse::<(String, Uuid)>()?;
    let mut conn = state.pool.get().await?;
    let event = organizer_event(&mut conn, &slug, &organizer).await?;
    let (rows, total) = find(
        &mut conn,
        &event,
        &query,
        Some(&page),
        Total::Recent(&state.queue_totals),
    )
    .await?;
    let by_name = query.sort.unwrap_or_default() == Sort::Name;
    let (keys, rows): (Vec<_>, Vec<Row>) = rows
        .into_iter()
        .map(|(accreditation, participant, badge, name)| {
            // The cursor is the position in the order the page was read in.
            let key = if by_name {
                (name, participant.id)
            } else {
                (String::new(), accreditation.id)
            };
            (key, (accreditation, participant, badge))
        })
        .unzip();
    let items: Vec<_> = keys
        .into_iter()
        .zip(views(&mut conn, rows).await?)
        .collect();
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
        (status = 200, body = AccreditationView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such accreditation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/accreditations/{id}")]
async fn get_accreditation(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<web::Json<AccreditationView>> {
    let (slug, id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let event = organizer_event(&mut conn, &slug, &organizer).await?;
    let row = load(&mut conn, &event, id).await?;
    Ok(web::Json(view(&mut conn, row).await?))
}

async fn load(conn: &mut AsyncPgConnection, event: &Event, id: Uuid) -> ApiResult<Row> {
    Ok(accreditations::table
        .inner_join(participants::table)
        .left_join(badges::table)
        .filter(accreditations::event_id.eq(event.id))
        .filter(accreditations::id.eq(id))
        .select((
            Accreditation::as_select(),
            Participant::as_select(),
            Option::<Badge>::as_select(),
        ))
        .first(conn)
        .await?)
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
    reason: Option<String>,
    /// The `version` the decision was made on.
    version: i32,
}

/// Decide one accreditation (organizers). Sensitive categories need two different organizers:
/// the first approval is recorded (`approvals`), the second approves.
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
        (status = 409, description = "Stale version (`conflict`), decided already (`invalid_transition`), or the same organizer twice (`four_eyes`)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The personal data was purged after the event (`personal_data_purged`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/accreditations/{id}/decision")]
async fn decide_one(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    ip: ClientIp,
    path: web::Path<(String, Uuid)>,
    body: web::Json<DecisionRequest>,
) -> ApiResult<web::Json<AccreditationView>> {
    let (slug, id) = path.into_inner();
    let reason = reason_for(body.decision, body.reason.as_deref())?;
    let mut conn = state.pool.get().await?;
    let event = organizer_event(&mut conn, &slug, &organizer).await?;
    let reviewer = Reviewer {
        user: &organizer.user,
        ip: &ip,
    };
    let ruling = Ruling {
        decision: body.decision,
        reason: reason.as_deref(),
        version: Some(body.version),
    };
    conn.transaction::<_, ApiError, _>(async |conn| {
        workflow::decide(conn, &state, &event, &reviewer, id, ruling).await
    })
    .await?;
    let row = load(&mut conn, &event, id).await?;
    Ok(web::Json(view(&mut conn, row).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkDecisionRequest {
    /// Up to 500 accreditation ids.
    ids: Vec<Uuid>,
    decision: Decision,
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
        (status = 200, body = Vec<BulkResult>),
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
    slug: web::Path<String>,
    body: web::Json<BulkDecisionRequest>,
) -> ApiResult<web::Json<Vec<BulkResult>>> {
    if body.ids.is_empty() || body.ids.len() > 500 {
        return Err(ApiError::Validation(vec![FieldError::new(
            "ids",
            "must hold 1 to 500 ids",
        )]));
    }
    let reason = reason_for(body.decision, body.reason.as_deref())?;
    let mut conn = state.pool.get().await?;
    let event = organizer_event(&mut conn, &slug, &organizer).await?;
    let reviewer = Reviewer {
        user: &organizer.user,
        ip: &ip,
    };
    let ruling = Ruling {
        decision: body.decision,
        reason: reason.as_deref(),
        version: None,
    };
    let results = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let mut results = Vec::with_capacity(body.ids.len());
            for id in &body.ids {
                // A savepoint per id: a refused one rolls back alone.
                let outcome = conn
                    .transaction::<_, ApiError, _>(async |conn| {
                        workflow::decide(conn, &state, &event, &reviewer, *id, ruling).await
                    })
                    .await;
                results.push(match outcome {
                    Ok(outcome) => BulkResult {
                        id: *id,
                        first_approval: matches!(outcome, Outcome::FirstApproval(_)),
                        status: Some(outcome.accreditation().status()),
                        error: None,
                    },
                    Err(e @ (ApiError::Internal(_) | ApiError::Unavailable(_))) => return Err(e),
                    Err(e) => BulkResult {
                        id: *id,
                        status: None,
                        first_approval: false,
                        error: Some(BulkError {
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
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
        (status = 200, body = AccreditationView),
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
    path: web::Path<(String, Uuid)>,
    body: web::Json<RevokeRequest>,
) -> ApiResult<web::Json<AccreditationView>> {
    let (slug, id) = path.into_inner();
    let reason =
        text::required(&body.reason, 2000).map_err(|e| ApiError::validation("reason", e))?;
    let mut conn = state.pool.get().await?;
    let event = organizer_event(&mut conn, &slug, &organizer).await?;
    let reviewer = Reviewer {
        user: &organizer.user,
        ip: &ip,
    };
    conn.transaction::<_, ApiError, _>(async |conn| {
        workflow::revoke(conn, &event, &reviewer, id, &reason).await
    })
    .await?;
    let row = load(&mut conn, &event, id).await?;
    Ok(web::Json(view(&mut conn, row).await?))
}

/// A CSV cell that a spreadsheet will not run as a formula.
fn cell(value: &str) -> String {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_owned(),
    }
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
    slug: web::Path<String>,
    query: web::Query<QueueQuery>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let event = organizer_event(&mut conn, &slug, &organizer).await?;
    let (rows, _) = find(&mut conn, &event, &query, None, Total::Skipped).await?;
    let mut out = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let write = |out: &mut csv::Writer<Vec<u8>>, record: Vec<String>| {
        out.write_record(record)
            .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("writing CSV")))
    };
    write(
        &mut out,
        [
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
        ]
        .map(String::from)
        .to_vec(),
    )?;
    for (accreditation, participant, badge, _) in rows {
        write(
            &mut out,
            vec![
                accreditation.id.to_string(),
                accreditation.status.clone(),
                accreditation.category.clone(),
                cell(&participant.last_name),
                cell(&participant.first_name),
                cell(&participant.organization),
                participant.nationality.clone(),
                cell(
                    participant
                        .email
                        .as_ref()
                        .map(|e| e.as_str())
                        .unwrap_or_default(),
                ),
                badge.map(|b| b.number).unwrap_or_default(),
                accreditation.created_at.to_rfc3339(),
            ],
        )?;
    }
    let body = out
        .into_inner()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("finishing CSV: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}-accreditations.csv\"", event.slug),
        ))
        .body(body))
}
