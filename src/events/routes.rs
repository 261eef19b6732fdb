//! `/api/v1/events`: anyone reads published events; admins create and change them.

use actix_web::{HttpResponse, get, patch, post, put, web};
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::AsyncConnection;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::badge_rules::{BadgeRules, ZoneDays};
use super::path::EventPath;
use super::store::{self, EventChanges, NewEvent};
use super::{EventStatus, EventView, Slug};
use crate::accreditations::Category;
use crate::audit::AuditEntry;
use crate::auth::extract::{Admin, ClientIp, MaybeUser, Require};
use crate::body::Body;
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::pagination::{Page, PageQuery};
use crate::state::AppState;
use crate::text;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_events)
        .service(create_event)
        .service(get_event)
        .service(patch_event)
        .service(get_badge_rules)
        .service(put_badge_rules);
}

/// Published events (organizers also see drafts), in creation order.
#[utoipa::path(
    tag = "events",
    security((), ("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of events", body = Page<EventView>),
        (status = 401, description = "A token was sent but is invalid", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events")]
async fn list_events(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    page: web::Query<PageQuery>,
) -> ApiResult<web::Json<Page<EventView>>> {
    let page = page.parse::<Uuid>()?;
    let mut conn = state.pool.get().await?;
    let (events, total) = store::list(&mut conn, !viewer.is_organizer(), &page).await?;
    Ok(web::Json(Page::from_rows(
        events,
        total,
        &page,
        |e| e.id,
        EventView::from,
    )))
}

/// One event by its slug.
#[utoipa::path(
    tag = "events",
    security((), ("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026")),
    responses(
        (status = 200, description = "The event", body = EventView),
        (status = 401, description = "A token was sent but is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such (published) event", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}")]
async fn get_event(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    event: EventPath,
) -> ApiResult<web::Json<EventView>> {
    let mut conn = state.pool.get().await?;
    Ok(web::Json(
        event.load_event(&mut conn, viewer.0.as_ref()).await?.into(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEventRequest {
    #[schema(example = "bamex-2026")]
    slug: String,
    #[schema(example = "BAMEX'26")]
    name: String,
    #[schema(example = "Parc des Expositions de Bamako")]
    venue: String,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    #[serde(default)]
    public_days: Vec<NaiveDate>,
    /// Days before `starts_on` when stands are built (at most 30 days before).
    #[serde(default)]
    build_up_days: Vec<NaiveDate>,
    /// Days after `ends_on` when stands are taken down (at most 30 days after).
    #[serde(default)]
    tear_down_days: Vec<NaiveDate>,
    #[serde(default)]
    status: Option<EventStatus>,
    #[serde(default)]
    auto_approve_public: bool,
    registration_opens_at: Option<DateTime<Utc>>,
    registration_closes_at: Option<DateTime<Utc>>,
    /// Categories whose approval needs two different organizers (default: `delegation_member`,
    /// `vip`, `media`).
    sensitive_categories: Option<Vec<Category>>,
    /// Categories whose badges open the demonstration range (default: `delegation_member`,
    /// `vip`, `organizer_staff`); a shortcut into the badge rules.
    range_categories: Option<Vec<Category>>,
    /// Categories the host state's security services clear before a badge is issued (default:
    /// every category but `public_visitor`).
    vetting_categories: Option<Vec<Category>>,
    /// Zones open on some days only (default: every zone every day); the badge rules'
    /// `zone_days`.
    #[schema(value_type = Option<BTreeMap<String, Vec<NaiveDate>>>, example = json!({"demonstration_range": ["2026-11-26", "2026-11-27"]}))]
    zone_days: Option<ZoneDays>,
}

/// A set of categories as stored: each once, in a stable order.
fn category_set(categories: &[Category]) -> Vec<String> {
    let mut names: Vec<String> = categories.iter().map(|c| c.as_str().to_owned()).collect();
    names.sort();
    names.dedup();
    names
}

/// A set of days as stored: sorted, each once.
fn day_set(days: &[NaiveDate]) -> Vec<NaiveDate> {
    let mut days = days.to_vec();
    days.sort();
    days.dedup();
    days
}

/// The rules an event's dates must follow, whether created or changed.
struct Schedule<'a> {
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    public_days: &'a [NaiveDate],
    build_up_days: &'a [NaiveDate],
    tear_down_days: &'a [NaiveDate],
    opens: Option<DateTime<Utc>>,
    closes: Option<DateTime<Utc>>,
    badge_rules: &'a BadgeRules,
}

impl Schedule<'_> {
    fn check(&self, errors: &mut Vec<FieldError>) {
        if self.ends_on < self.starts_on {
            errors.push(FieldError::new("ends_on", "must not be before starts_on"));
        } else if (self.ends_on - self.starts_on).num_days() > 30 {
            errors.push(FieldError::new(
                "ends_on",
                "an edition lasts at most 31 days",
            ));
        }
        if self
            .public_days
            .iter()
            .any(|d| *d < self.starts_on || *d > self.ends_on)
        {
            errors.push(FieldError::new(
                "public_days",
                "must fall between starts_on and ends_on",
            ));
        }
        let days_before = |d: &NaiveDate| (self.starts_on - *d).num_days();
        if !self
            .build_up_days
            .iter()
            .all(|d| (1..=30).contains(&days_before(d)))
        {
            errors.push(FieldError::new(
                "build_up_days",
                "must fall within the 30 days before starts_on",
            ));
        }
        let days_after = |d: &NaiveDate| (*d - self.ends_on).num_days();
        if !self
            .tear_down_days
            .iter()
            .all(|d| (1..=30).contains(&days_after(d)))
        {
            errors.push(FieldError::new(
                "tear_down_days",
                "must fall within the 30 days after ends_on",
            ));
        }
        let first = self
            .build_up_days
            .first()
            .copied()
            .unwrap_or(self.starts_on);
        let last = self.tear_down_days.last().copied().unwrap_or(self.ends_on);
        self.badge_rules
            .check(first.min(self.starts_on), last.max(self.ends_on), errors);
        if let (Some(opens), Some(closes)) = (self.opens, self.closes)
            && opens >= closes
        {
            errors.push(FieldError::new(
                "registration_closes_at",
                "must be after registration_opens_at",
            ));
        }
    }
}

fn rules_json(rules: &BadgeRules) -> ApiResult<serde_json::Value> {
    serde_json::to_value(rules)
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("badge rules as JSON")))
}

fn check_text(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize) {
    if let Err(message) = text::required(value, max) {
        errors.push(FieldError::new(field, message));
    }
}

/// Create an edition (admins).
#[utoipa::path(
    tag = "events",
    security(("bearer" = [])),
    request_body = CreateEventRequest,
    responses(
        (status = 201, description = "Event created", body = EventView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slug is taken (`slug_taken`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events")]
async fn create_event(
    state: web::Data<AppState>,
    admin: Require<Admin>,
    ip: ClientIp,
    body: Body<CreateEventRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.read()?;
    let mut errors = Vec::new();
    let slug = Slug::parse(&body.slug);
    if let Err(message) = &slug {
        errors.push(FieldError::new("slug", *message));
    }
    check_text(&mut errors, "name", &body.name, 200);
    check_text(&mut errors, "venue", &body.venue, 300);
    let public_days = day_set(&body.public_days);
    let build_up_days = day_set(&body.build_up_days);
    let tear_down_days = day_set(&body.tear_down_days);
    let mut badge_rules = BadgeRules::defaults(
        body.range_categories
            .as_deref()
            .unwrap_or(&BadgeRules::DEFAULT_RANGE),
    );
    if let Some(zone_days) = &body.zone_days {
        badge_rules.zone_days = zone_days.clone();
    }
    let badge_rules = badge_rules.tidy();
    Schedule {
        starts_on: body.starts_on,
        ends_on: body.ends_on,
        public_days: &public_days,
        build_up_days: &build_up_days,
        tear_down_days: &tear_down_days,
        opens: body.registration_opens_at,
        closes: body.registration_closes_at,
        badge_rules: &badge_rules,
    }
    .check(&mut errors);
    let (Ok(slug), true) = (slug, errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let mut conn = state.pool.get().await?;
    let event = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let event = store::insert(
                conn,
                &NewEvent {
                    id: Uuid::now_v7(),
                    slug: slug.as_str(),
                    name: body.name.trim(),
                    venue: body.venue.trim(),
                    starts_on: body.starts_on,
                    ends_on: body.ends_on,
                    public_days,
                    status: body.status.unwrap_or(EventStatus::Draft).as_str(),
                    auto_approve_public: body.auto_approve_public,
                    registration_opens_at: body.registration_opens_at,
                    registration_closes_at: body.registration_closes_at,
                    sensitive_categories: body.sensitive_categories.as_deref().map(category_set),
                    vetting_categories: body.vetting_categories.as_deref().map(category_set),
                    build_up_days,
                    tear_down_days,
                    badge_rules: rules_json(&badge_rules)?,
                },
            )
            .await?;
            AuditEntry::new("event.created", "event", Some(event.id))
                .by(admin.id, ip.as_string().as_deref())
                .record(conn)
                .await?;
            Ok(event)
        })
        .await?;
    Ok(HttpResponse::Created().json(EventView::from(event)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateEventRequest {
    name: Option<String>,
    venue: Option<String>,
    starts_on: Option<NaiveDate>,
    ends_on: Option<NaiveDate>,
    public_days: Option<Vec<NaiveDate>>,
    /// Replaces the build-up days; badges issued from now on follow.
    build_up_days: Option<Vec<NaiveDate>>,
    /// Replaces the tear-down days; badges issued from now on follow.
    tear_down_days: Option<Vec<NaiveDate>>,
    status: Option<EventStatus>,
    auto_approve_public: Option<bool>,
    /// `null` removes the bound.
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    registration_opens_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    registration_closes_at: Option<Option<DateTime<Utc>>>,
    /// Applies to decisions taken from now on.
    sensitive_categories: Option<Vec<Category>>,
    /// Applies to badges issued from now on (a shortcut into the badge rules).
    range_categories: Option<Vec<Category>>,
    /// Applies to accreditations registered from now on.
    vetting_categories: Option<Vec<Category>>,
    /// Replaces the whole schedule (the badge rules' `zone_days`); `{}` opens every zone every
    /// day.
    #[schema(value_type = Option<BTreeMap<String, Vec<NaiveDate>>>)]
    zone_days: Option<ZoneDays>,
}

/// Change an edition (admins); fields left out stay as they are.
#[utoipa::path(
    tag = "events",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026")),
    request_body = UpdateEventRequest,
    responses(
        (status = 200, description = "The event, updated", body = EventView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/events/{event}")]
async fn patch_event(
    state: web::Data<AppState>,
    admin: Require<Admin>,
    ip: ClientIp,
    slug: web::Path<String>,
    body: Body<UpdateEventRequest>,
) -> ApiResult<web::Json<EventView>> {
    let body = body.read()?;
    let mut conn = state.pool.get().await?;
    let event = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let before = store::lock_by_slug(conn, &slug).await?;
            let mut errors = Vec::new();
            if let Some(name) = &body.name {
                check_text(&mut errors, "name", name, 200);
            }
            if let Some(venue) = &body.venue {
                check_text(&mut errors, "venue", venue, 300);
            }
            let public_days = day_set(body.public_days.as_ref().unwrap_or(&before.public_days));
            let build_up_days =
                day_set(body.build_up_days.as_ref().unwrap_or(&before.build_up_days));
            let tear_down_days = day_set(
                body.tear_down_days
                    .as_ref()
                    .unwrap_or(&before.tear_down_days),
            );
            let mut badge_rules = before.badge_rules.clone();
            if let Some(categories) = &body.range_categories {
                badge_rules.set_range_categories(categories);
            }
            if let Some(zone_days) = &body.zone_days {
                badge_rules.zone_days = zone_days.clone();
            }
            let badge_rules = badge_rules.tidy();
            Schedule {
                starts_on: body.starts_on.unwrap_or(before.starts_on),
                ends_on: body.ends_on.unwrap_or(before.ends_on),
                public_days: &public_days,
                build_up_days: &build_up_days,
                tear_down_days: &tear_down_days,
                opens: body
                    .registration_opens_at
                    .unwrap_or(before.registration_opens_at),
                closes: body
                    .registration_closes_at
                    .unwrap_or(before.registration_closes_at),
                badge_rules: &badge_rules,
            }
            .check(&mut errors);
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            let event = store::update(
                conn,
                before.id,
                EventChanges {
                    name: body.name.as_deref().map(|n| n.trim().to_owned()),
                    venue: body.venue.as_deref().map(|v| v.trim().to_owned()),
                    starts_on: body.starts_on,
                    ends_on: body.ends_on,
                    public_days: body.public_days.as_ref().map(|_| public_days),
                    status: body.status.map(|s| s.as_str().to_owned()),
                    auto_approve_public: body.auto_approve_public,
                    registration_opens_at: body.registration_opens_at,
                    registration_closes_at: body.registration_closes_at,
                    sensitive_categories: body.sensitive_categories.as_deref().map(category_set),
                    vetting_categories: body.vetting_categories.as_deref().map(category_set),
                    build_up_days: body.build_up_days.as_ref().map(|_| build_up_days),
                    tear_down_days: body.tear_down_days.as_ref().map(|_| tear_down_days),
                    badge_rules: (badge_rules != before.badge_rules)
                        .then(|| rules_json(&badge_rules))
                        .transpose()?,
                    updated_at: None,
                },
            )
            .await?;
            AuditEntry::new("event.updated", "event", Some(event.id))
                .by(admin.id, ip.as_string().as_deref())
                .details(serde_json::json!({
                    "status": event.status,
                    "sensitive_categories": event.sensitive_categories,
                    "range_categories": event.badge_rules.range_categories(),
                    "vetting_categories": event.vetting_categories,
                    "build_up_days": event.build_up_days,
                    "tear_down_days": event.tear_down_days,
                }))
                .record(conn)
                .await?;
            Ok(event)
        })
        .await?;
    Ok(web::Json(event.into()))
}

/// An event's badge rules (admins): the category × zone × day matrix, the zones' opening days
/// and the protocol levels' extra zones.
#[utoipa::path(
    tag = "events",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026")),
    responses(
        (status = 200, description = "The event's badge rules", body = BadgeRules),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/badge-rules")]
async fn get_badge_rules(
    state: web::Data<AppState>,
    admin: Require<Admin>,
    event: EventPath,
) -> ApiResult<web::Json<BadgeRules>> {
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&admin)).await?;
    Ok(web::Json(event.badge_rules))
}

/// Replace an event's badge rules (admins): every category once, known zones, dates within the
/// event (build-up and tear-down days included). Badges issued from now on follow them; issued
/// badges keep what they were signed with.
#[utoipa::path(
    tag = "events",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026")),
    request_body = BadgeRules,
    responses(
        (status = 200, description = "The badge rules, replaced", body = BadgeRules),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid rules (`validation_failed`): a category missing or twice, a rule without zones or days, a date outside the event", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/events/{event}/badge-rules")]
async fn put_badge_rules(
    state: web::Data<AppState>,
    admin: Require<Admin>,
    ip: ClientIp,
    event: EventPath,
    body: Body<BadgeRules>,
) -> ApiResult<web::Json<BadgeRules>> {
    let rules = body.read()?.tidy();
    let mut conn = state.pool.get().await?;
    let event = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let before = store::lock_by_slug(conn, event.slug()).await?;
            let mut errors = Vec::new();
            rules.check(before.first_day(), before.last_day(), &mut errors);
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            let event = store::update(
                conn,
                before.id,
                EventChanges {
                    badge_rules: Some(rules_json(&rules)?),
                    ..EventChanges::default()
                },
            )
            .await?;
            AuditEntry::new("event.badge_rules_replaced", "event", Some(event.id))
                .by(admin.id, ip.as_string().as_deref())
                .details(serde_json::json!({ "before": before.badge_rules, "after": rules }))
                .record(conn)
                .await?;
            Ok(event)
        })
        .await?;
    Ok(web::Json(event.badge_rules))
}
