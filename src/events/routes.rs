//! `/api/v1/events`: anyone reads published events; admins create and change them.

use actix_web::{HttpResponse, get, patch, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::AsyncConnection;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::path::EventPath;
use super::store::{self, EventChanges, NewEvent};
use super::{EventStatus, EventView, Slug, ZoneDays};
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
        .service(patch_event);
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
    /// `vip`, `organizer_staff`).
    range_categories: Option<Vec<Category>>,
    /// Categories the host state's security services clear before a badge is issued (default:
    /// every category but `public_visitor`).
    vetting_categories: Option<Vec<Category>>,
    /// Zones open on some days only (default: every zone every day).
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

/// A zone schedule as stored, each zone's days sorted and once.
fn zone_days_json(zone_days: &ZoneDays) -> serde_json::Value {
    let tidy: ZoneDays = zone_days
        .iter()
        .map(|(zone, days)| {
            let mut days = days.clone();
            days.sort();
            days.dedup();
            (*zone, days)
        })
        .collect();
    serde_json::to_value(tidy).unwrap_or_default()
}

/// The rules an event's dates must follow, whether created or changed.
struct Schedule {
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    public_days: Vec<NaiveDate>,
    opens: Option<DateTime<Utc>>,
    closes: Option<DateTime<Utc>>,
    zone_days: ZoneDays,
}

impl Schedule {
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
        let during = |d: &NaiveDate| *d >= self.starts_on && *d <= self.ends_on;
        if self
            .zone_days
            .values()
            .any(|days| days.is_empty() || !days.iter().all(during))
        {
            errors.push(FieldError::new(
                "zone_days",
                "each zone listed needs days between starts_on and ends_on (leave a zone out to open it every day)",
            ));
        }
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
    let mut public_days = body.public_days.clone();
    public_days.sort();
    public_days.dedup();
    Schedule {
        starts_on: body.starts_on,
        ends_on: body.ends_on,
        public_days: public_days.clone(),
        opens: body.registration_opens_at,
        closes: body.registration_closes_at,
        zone_days: body.zone_days.clone().unwrap_or_default(),
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
                    range_categories: body.range_categories.as_deref().map(category_set),
                    vetting_categories: body.vetting_categories.as_deref().map(category_set),
                    zone_days: body.zone_days.as_ref().map(zone_days_json),
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
    /// Applies to badges issued from now on.
    range_categories: Option<Vec<Category>>,
    /// Applies to accreditations registered from now on.
    vetting_categories: Option<Vec<Category>>,
    /// Replaces the whole schedule; `{}` opens every zone every day.
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
            let before = store::find_by_slug(conn, &slug).await?;
            let mut errors = Vec::new();
            if let Some(name) = &body.name {
                check_text(&mut errors, "name", name, 200);
            }
            if let Some(venue) = &body.venue {
                check_text(&mut errors, "venue", venue, 300);
            }
            let mut public_days = body
                .public_days
                .clone()
                .unwrap_or(before.public_days.clone());
            public_days.sort();
            public_days.dedup();
            Schedule {
                starts_on: body.starts_on.unwrap_or(before.starts_on),
                ends_on: body.ends_on.unwrap_or(before.ends_on),
                public_days: public_days.clone(),
                opens: body
                    .registration_opens_at
                    .unwrap_or(before.registration_opens_at),
                closes: body
                    .registration_closes_at
                    .unwrap_or(before.registration_closes_at),
                zone_days: body
                    .zone_days
                    .clone()
                    .unwrap_or_else(|| before.zone_days.clone()),
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
                    range_categories: body.range_categories.as_deref().map(category_set),
                    vetting_categories: body.vetting_categories.as_deref().map(category_set),
                    zone_days: body.zone_days.as_ref().map(zone_days_json),
                    updated_at: None,
                },
            )
            .await?;
            AuditEntry::new("event.updated", "event", Some(event.id))
                .by(admin.id, ip.as_string().as_deref())
                .details(serde_json::json!({
                    "status": event.status,
                    "sensitive_categories": event.sensitive_categories,
                    "range_categories": event.range_categories,
                    "vetting_categories": event.vetting_categories,
                }))
                .record(conn)
                .await?;
            Ok(event)
        })
        .await?;
    Ok(web::Json(event.into()))
}
