//! `/api/v1/events/{event}/exhibitors/{id}`: apply, read, edit, review, assign a booth.

use actix_web::{HttpResponse, get, patch, post, put, web};
use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::access;
use super::emails::{ExhibitorApproved, ExhibitorRejected};
use super::quota::{default_contractor_quota, default_staff_quota};
use super::review::{ReviewDecision, next_status};
use super::store::{self, ExhibitorChanges, NewExhibitor};
use super::{Access, Exhibitor, ExhibitorStatus, ExhibitorView, Sector};
use crate::audit::AuditEntry;
use crate::auth::extract::{ClientIp, CurrentUser, MaybeUser, Organizer, Require};
use crate::body::Body;
use crate::country::CountryCode;
use crate::email;
use crate::error::{ApiError, ApiResult, FieldError, Problem, Validator};
use crate::events::path::EventPath;
use crate::state::AppState;
use crate::text;
use crate::users::store as users;
use crate::users::{EmailAddress, Role};
use crate::webhooks::{self, WebhookKind};

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(apply)
        .service(get_exhibitor)
        .service(patch_exhibitor)
        .service(review)
        .service(assign_booth);
}

fn website(raw: Option<&str>) -> Result<Option<String>, &'static str> {
    let Some(raw) = raw.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let url = url::Url::parse(raw).map_err(|_| "is not a URL")?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(|h| !h.contains('.'))
    {
        return Err("must be an http(s) address such as https://example.com");
    }
    let normalized = String::from(url);
    if normalized.len() > 500 {
        return Err("must have at most 500 characters");
    }
    Ok(Some(normalized))
}

fn sectors(list: &[Sector]) -> Result<Vec<String>, &'static str> {
    let mut codes: Vec<String> = list.iter().map(|s| s.as_str().to_owned()).collect();
    codes.sort();
    codes.dedup();
    if codes.is_empty() {
        return Err("must name at least one sector");
    }
    Ok(codes)
}

async fn check_pavilion(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    id: Option<Uuid>,
) -> ApiResult<()> {
    let Some(id) = id else { return Ok(()) };
    if store::pavilion_in_event(conn, event_id, id).await? {
        Ok(())
    } else {
        Err(ApiError::validation(
            "pavilion_id",
            "is not a pavilion of this event",
        ))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    #[schema(
        example = "Anadolu Savunma Sistemleri A.Ş.",
        min_length = 1,
        max_length = 200
    )]
    legal_name: String,
    #[schema(example = "Anadolu Savunma", min_length = 1, max_length = 200)]
    display_name: String,
    #[schema(example = "TR", pattern = "^[A-Za-z]{2}$")]
    country: String,
    #[schema(example = "Ankara", min_length = 1, max_length = 100)]
    city: String,
    #[schema(example = "https://anadolusavunma.com.tr", max_length = 500)]
    website: Option<String>,
    #[serde(default)]
    #[schema(max_length = 4000)]
    description: String,
    sectors: Vec<Sector>,
    pavilion_id: Option<Uuid>,
    #[schema(max_length = 200)]
    contact_name: Option<String>,
    #[schema(format = Email, max_length = 254)]
    contact_email: Option<String>,
    #[schema(max_length = 40)]
    contact_phone: Option<String>,
}

/// Apply for a company to exhibit at the event (any signed-in account). The application is
/// `pending` until an organizer reviews it.
#[utoipa::path(
    tag = "exhibitors",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026")),
    request_body = ApplyRequest,
    responses(
        (status = 201, description = "Application received", body = ExhibitorView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The company already applied (`exhibitor_exists`), or registration is closed (`registration_closed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/exhibitors")]
async fn apply(
    state: web::Data<AppState>,
    user: CurrentUser,
    ip: ClientIp,
    event: EventPath,
    body: Body<ApplyRequest>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&user)).await?;
    let body = body.read()?;
    let mut v = Validator::default();
    let legal_name = v.check("legal_name", text::name(&body.legal_name, 200));
    let display_name = v.check("display_name", text::name(&body.display_name, 200));
    let country = v.check("country", CountryCode::parse(&body.country));
    let city = v.check("city", text::required(&body.city, 100));
    let site = v.check("website", website(body.website.as_deref()));
    let description = v.check("description", text::optional(Some(&body.description), 4000));
    let sector_codes = v.check("sectors", sectors(&body.sectors));
    let contact_name = v.check(
        "contact_name",
        text::optional_name(body.contact_name.as_deref(), 200),
    );
    let contact_email = v.check(
        "contact_email",
        body.contact_email
            .as_deref()
            .filter(|e| !e.trim().is_empty())
            .map(EmailAddress::parse)
            .transpose(),
    );
    let contact_phone = v.check(
        "contact_phone",
        text::optional(body.contact_phone.as_deref(), 40),
    );
    let new = v.finish(|| {
        Some(NewExhibitor {
            id: Uuid::now_v7(),
            event_id: Uuid::nil(),
            owner_id: user.id,
            legal_name: legal_name?,
            display_name: display_name?,
            country: country?.as_str().to_owned(),
            city: city?,
            website: site?,
            description: description?.unwrap_or_default(),
            sectors: sector_codes?,
            pavilion_id: body.pavilion_id,
            contact_name: contact_name?,
            contact_email: contact_email?,
            contact_phone: contact_phone?,
        })
    })?;

    event.check_registration_open(Utc::now())?;
    check_pavilion(&mut conn, event.id, new.pavilion_id).await?;
    let exhibitor = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let exhibitor = store::insert(
                conn,
                &NewExhibitor {
                    event_id: event.id,
                    ..new
                },
            )
            .await?;
            AuditEntry::new("exhibitor.applied", "exhibitor", Some(exhibitor.id))
                .by(user.id, ip.as_string().as_deref())
                .record(conn)
                .await?;
            Ok(exhibitor)
        })
        .await?;
    state.directory_changed();
    Ok(HttpResponse::Created().json(ExhibitorView::new(exhibitor, Access::Owner)))
}

/// One exhibitor. Approved ones are public; others only to their own account, the
/// coordinator of their pavilion and organizers.
#[utoipa::path(
    tag = "exhibitors",
    security((), ("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Exhibitor id"),
    ),
    responses(
        (status = 200, description = "The exhibitor", body = ExhibitorView),
        (status = 401, description = "A token was sent but is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such exhibitor (or not visible to the caller)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/exhibitors/{id}")]
async fn get_exhibitor(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<web::Json<ExhibitorView>> {
    let (_, id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let (_, exhibitor, access) = access::load(&mut conn, &event, id, viewer.0.as_ref()).await?;
    Ok(web::Json(ExhibitorView::new(exhibitor, access)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateExhibitorRequest {
    #[schema(min_length = 1, max_length = 200)]
    legal_name: Option<String>,
    #[schema(min_length = 1, max_length = 200)]
    display_name: Option<String>,
    #[schema(pattern = "^[A-Za-z]{2}$")]
    country: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    city: Option<String>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>, max_length = 500)]
    website: Option<Option<String>>,
    #[schema(max_length = 4000)]
    description: Option<String>,
    sectors: Option<Vec<Sector>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<Uuid>)]
    pavilion_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>, max_length = 200)]
    contact_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>, format = Email, max_length = 254)]
    contact_email: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>, max_length = 40)]
    contact_phone: Option<Option<String>>,
}

/// Edit a profile: the company's own account while pending (everything) or approved (not the
/// legal name or country); organizers at any time.
#[utoipa::path(
    tag = "exhibitors",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Exhibitor id"),
    ),
    request_body = UpdateExhibitorRequest,
    responses(
        (status = 200, description = "The exhibitor, updated", body = ExhibitorView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such exhibitor of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A rejected application cannot be edited (`not_editable`); the company already applied (`exhibitor_exists`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/events/{event}/exhibitors/{id}")]
async fn patch_exhibitor(
    state: web::Data<AppState>,
    user: CurrentUser,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
    body: Body<UpdateExhibitorRequest>,
) -> ApiResult<web::Json<ExhibitorView>> {
    let (_, id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let (event, exhibitor, access) = access::load_managed(&mut conn, &event, id, &user).await?;
    let body = body.read()?;
    let mut v = Validator::default();
    let changes = ExhibitorChanges {
        legal_name: v
            .check(
                "legal_name",
                body.legal_name
                    .as_deref()
                    .map(|n| text::name(n, 200))
                    .transpose(),
            )
            .flatten(),
        display_name: v
            .check(
                "display_name",
                body.display_name
                    .as_deref()
                    .map(|n| text::name(n, 200))
                    .transpose(),
            )
            .flatten(),
        country: v
            .check(
                "country",
                body.country.as_deref().map(CountryCode::parse).transpose(),
            )
            .flatten()
            .map(|c| c.as_str().to_owned()),
        city: v
            .check(
                "city",
                body.city
                    .as_deref()
                    .map(|c| text::required(c, 100))
                    .transpose(),
            )
            .flatten(),
        website: v
            .check(
                "website",
                body.website
                    .as_ref()
                    .map(|w| website(w.as_deref()))
                    .transpose(),
            )
            .flatten(),
        description: v
            .check(
                "description",
                body.description
                    .as_deref()
                    .map(|d| text::optional(Some(d), 4000))
                    .transpose(),
            )
            .flatten()
            .map(Option::unwrap_or_default),
        sectors: v
            .check("sectors", body.sectors.as_deref().map(sectors).transpose())
            .flatten(),
        pavilion_id: body.pavilion_id,
        contact_name: v
            .check(
                "contact_name",
                body.contact_name
                    .as_ref()
                    .map(|c| text::optional_name(c.as_deref(), 200))
                    .transpose(),
            )
            .flatten(),
        contact_email: v
            .check(
                "contact_email",
                body.contact_email
                    .as_ref()
                    .map(|e| {
                        e.as_deref()
                            .filter(|e| !e.trim().is_empty())
                            .map(EmailAddress::parse)
                            .transpose()
                    })
                    .transpose(),
            )
            .flatten(),
        contact_phone: v
            .check(
                "contact_phone",
                body.contact_phone
                    .as_ref()
                    .map(|c| text::optional(c.as_deref(), 40))
                    .transpose(),
            )
            .flatten(),
        ..Default::default()
    };
    v.finish(|| Some(()))?;
    if let Some(pavilion) = changes.pavilion_id {
        check_pavilion(&mut conn, event.id, pavilion).await?;
    }
    let updated = conn
        .transaction::<_, ApiError, _>(async |conn| {
            // Checked on the locked row: a decision landing meanwhile is taken into account.
            let current = store::lock(conn, event.id, exhibitor.id).await?;
            if access == Access::Owner {
                owner_may_change(&current, &body)?;
            }
            let updated = store::update(conn, exhibitor.id, changes).await?;
            if access == Access::Office {
                AuditEntry::new("exhibitor.updated", "exhibitor", Some(exhibitor.id))
                    .by(user.id, ip.as_string().as_deref())
                    .record(conn)
                    .await?;
            }
            Ok(updated)
        })
        .await?;
    state.directory_changed();
    Ok(web::Json(ExhibitorView::new(updated, access)))
}

/// What a company may still change itself: everything while pending; once approved, neither
/// its legal identity (name, country) nor its pavilion; nothing once rejected.
fn owner_may_change(exhibitor: &Exhibitor, body: &UpdateExhibitorRequest) -> ApiResult<()> {
    match exhibitor.status() {
        ExhibitorStatus::Pending => Ok(()),
        ExhibitorStatus::Rejected => Err(ApiError::Conflict {
            code: "not_editable",
            detail: "A rejected application cannot be edited.".into(),
        }),
        ExhibitorStatus::Approved => {
            let frozen: Vec<FieldError> = [
                ("legal_name", body.legal_name.is_some()),
                ("country", body.country.is_some()),
                ("pavilion_id", body.pavilion_id.is_some()),
            ]
            .into_iter()
            .filter(|(_, sent)| *sent)
            .map(|(field, _)| {
                FieldError::new(field, "cannot change once the application is approved")
            })
            .collect();
            if frozen.is_empty() {
                Ok(())
            } else {
                Err(ApiError::Validation(frozen))
            }
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    decision: ReviewDecision,
    /// Required to reject; sent to the applicant.
    #[schema(max_length = 2000)]
    reason: Option<String>,
}

/// Approve or reject an application (organizers); the applicant is told by email in their
/// language. A decided application is decided again only after `reopen`.
#[utoipa::path(
    tag = "exhibitors",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Exhibitor id"),
    ),
    request_body = ReviewRequest,
    responses(
        (status = 200, description = "The exhibitor, reviewed", body = ExhibitorView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such exhibitor", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided (`already_decided`) or nothing to reopen (`not_decided`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/exhibitors/{id}/review")]
async fn review(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
    body: Body<ReviewRequest>,
) -> ApiResult<web::Json<ExhibitorView>> {
    let (_, id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&organizer)).await?;
    let body = body.read()?;
    let reason = text::optional(body.reason.as_deref(), 2000)
        .map_err(|e| ApiError::validation("reason", e))?;
    if body.decision == ReviewDecision::Reject && reason.is_none() {
        return Err(ApiError::validation("reason", "is required to reject"));
    }
    let updated = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let exhibitor = store::lock(conn, event.id, id).await?;
            let (status, action) = next_status(&exhibitor, body.decision)?;
            let decided = status != ExhibitorStatus::Pending;
            let updated = store::update(
                conn,
                exhibitor.id,
                ExhibitorChanges {
                    status: Some(status.as_str().to_owned()),
                    decision_reason: Some(reason.clone()),
                    decided_by: Some(decided.then_some(organizer.id)),
                    decided_at: Some(decided.then(Utc::now)),
                    ..Default::default()
                },
            )
            .await?;
            let owner = users::find(conn, exhibitor.owner_id).await?;
            match status {
                ExhibitorStatus::Approved => {
                    users::grant_role(conn, owner.id, Role::Exhibitor).await?;
                    let email = ExhibitorApproved {
                        full_name: &owner.full_name,
                        company: &exhibitor.display_name,
                        event: &event.name,
                        reason: reason.as_deref(),
                    };
                    email::enqueue_for_event(
                        conn,
                        event.id,
                        &owner.email,
                        owner.locale(),
                        &email,
                        None,
                    )
                    .await?;
                }
                ExhibitorStatus::Rejected => {
                    let email = ExhibitorRejected {
                        full_name: &owner.full_name,
                        company: &exhibitor.display_name,
                        event: &event.name,
                        reason: reason.as_deref().unwrap_or_default(),
                    };
                    email::enqueue_for_event(
                        conn,
                        event.id,
                        &owner.email,
                        owner.locale(),
                        &email,
                        None,
                    )
                    .await?;
                }
                ExhibitorStatus::Pending => {}
            }
            AuditEntry::new(action, "exhibitor", Some(exhibitor.id))
                .by(organizer.id, ip.as_string().as_deref())
                .details(serde_json::json!({ "reason": reason }))
                .record(conn)
                .await?;
            let data = webhooks::kinds::ExhibitorReviewed {
                exhibitor_id: exhibitor.id,
                status: status.as_str(),
            };
            webhooks::enqueue(conn, event.id, WebhookKind::ExhibitorReviewed, &data).await?;
            Ok(updated)
        })
        .await?;
    state.directory_changed();
    Ok(web::Json(ExhibitorView::new(updated, Access::Office)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BoothRequest {
    #[schema(example = "Hall A", min_length = 1, max_length = 50)]
    hall: String,
    /// Unique within the event.
    #[schema(example = "A-12", min_length = 1, max_length = 50)]
    stand: String,
    #[schema(example = 18.0, exclusive_minimum = 0, maximum = 100000)]
    area_m2: f64,
    /// Replaces the default quota, 2 + ⌈max(area − 9, 0) / 9⌉.
    #[schema(minimum = 0, maximum = 500)]
    staff_quota_override: Option<i32>,
    /// Replaces the default contractor quota, the same formula as the staff's.
    #[schema(minimum = 0, maximum = 500)]
    contractor_quota_override: Option<i32>,
}

/// Assign or change an approved exhibitor's booth (organizers); it sets the staff and contractor
/// badge quotas.
#[utoipa::path(
    tag = "exhibitors",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Exhibitor id"),
    ),
    request_body = BoothRequest,
    responses(
        (status = 200, description = "The exhibitor with its booth", body = ExhibitorView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such exhibitor", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stand taken (`stand_taken`), exhibitor not approved (`not_approved`), or quota below the staff (`quota_below_staff`) or contractors (`quota_below_contractors`) already registered", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/events/{event}/exhibitors/{id}/booth")]
async fn assign_booth(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
    body: Body<BoothRequest>,
) -> ApiResult<web::Json<ExhibitorView>> {
    let (_, id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&organizer)).await?;
    let body = body.read()?;
    let mut v = Validator::default();
    let hall = v.check("hall", text::required(&body.hall, 50));
    let stand = v.check("stand", text::required(&body.stand, 50));
    v.check(
        "area_m2",
        if body.area_m2.is_finite() && body.area_m2 > 0.0 && body.area_m2 <= 100_000.0 {
            Ok(())
        } else {
            Err("must be a number of square metres above 0")
        },
    );
    for (field, quota_override) in [
        ("staff_quota_override", body.staff_quota_override),
        ("contractor_quota_override", body.contractor_quota_override),
    ] {
        v.check(
            field,
            match quota_override {
                Some(q) if !(0..=500).contains(&q) => Err("must be between 0 and 500"),
                _ => Ok(()),
            },
        );
    }
    let (hall, stand) = v.finish(|| Some((hall?, stand?)))?;
    let quota = body
        .staff_quota_override
        .unwrap_or_else(|| default_staff_quota(body.area_m2));
    let contractor_quota = body
        .contractor_quota_override
        .unwrap_or_else(|| default_contractor_quota(body.area_m2));

    let updated = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let exhibitor = store::lock(conn, event.id, id).await?;
            if exhibitor.status() != ExhibitorStatus::Approved {
                return Err(ApiError::Conflict {
                    code: "not_approved",
                    detail: "Booths go to approved exhibitors only.".into(),
                });
            }
            let updated = store::update(
                conn,
                id,
                ExhibitorChanges {
                    booth_hall: Some(Some(hall.clone())),
                    booth_stand: Some(Some(stand.clone())),
                    booth_area_m2: Some(Some(body.area_m2)),
                    staff_quota_override: Some(body.staff_quota_override),
                    staff_quota: Some(quota),
                    contractor_quota_override: Some(body.contractor_quota_override),
                    contractor_quota: Some(contractor_quota),
                    ..Default::default()
                },
            )
            .await?;
            AuditEntry::new("exhibitor.booth_assigned", "exhibitor", Some(id))
                .by(organizer.id, ip.as_string().as_deref())
                .details(serde_json::json!({ "hall": hall, "stand": stand, "area_m2": body.area_m2, "staff_quota": quota, "contractor_quota": contractor_quota }))
                .record(conn)
                .await?;
            Ok(updated)
        })
        .await?;
    state.directory_changed();
    Ok(web::Json(ExhibitorView::new(updated, Access::Office)))
}
