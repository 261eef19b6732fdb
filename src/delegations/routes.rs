//! `/api/v1/events/{event}/delegations`: organizers create, list, change and close delegations;
//! a lead reads their own.

use actix_web::{HttpResponse, get, patch, post, web};
use chrono::{Duration, NaiveDate};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::access::load;
use super::emails::DelegationInvitation;
use super::store::{self, DelegationChanges, DelegationFilter, DelegationMemberRow, NewDelegation};
use super::{Delegation, DelegationKind, DelegationStatus, DelegationView, ProtocolLevel};
use crate::audit::AuditEntry;
use crate::auth::extract::{ClientIp, CurrentUser, Organizer, Require};
use crate::body::Body;
use crate::country::CountryCode;
use crate::csv_export::{self, Sheet};
use crate::email;
use crate::error::{ApiError, ApiResult, FieldError, Problem, Validator};
use crate::events::Event;
use crate::events::path::EventPath;
use crate::pagination::{Page, PageQuery};
use crate::participants::store::{self as participants, Group};
use crate::state::AppState;
use crate::users::{EmailAddress, FullName, Locale};

/// How long an invitation link stays valid.
const INVITATION_DAYS: u32 = 7;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_delegations)
        .service(export_delegations)
        .service(create_delegation)
        .service(get_delegation)
        .service(patch_delegation)
        .service(resend_invitation);
}

/// Emails the lead a fresh invitation link, in the same transaction as the change behind it.
async fn invite(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    event: &Event,
    delegation: &Delegation,
    locale: Locale,
) -> ApiResult<()> {
    let lead_email = delegation
        .lead_email
        .as_ref()
        .ok_or_else(ApiError::purged)?;
    let token =
        store::issue_invitation(conn, delegation.id, Duration::days(INVITATION_DAYS.into()))
            .await?;
    let link = state
        .settings
        .application
        .frontend_link(&format!("invitations/{token}"), None);
    email::enqueue_for_event(
        conn,
        event.id,
        lead_email,
        locale,
        &DelegationInvitation {
            lead_name: &delegation.lead_name,
            delegation: &delegation.name,
            event: &event.name,
            link: &link,
            days: INVITATION_DAYS,
        },
        None,
    )
    .await?;
    Ok(())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DelegationsQuery {
    /// Name or lead, case- and accent-insensitive.
    q: Option<String>,
    country: Option<String>,
    kind: Option<DelegationKind>,
    status: Option<DelegationStatus>,
}

impl DelegationsQuery {
    /// The filter of the list and the export; `lead_id` narrows it to one lead's delegations.
    fn filter(&self, lead_id: Option<Uuid>) -> ApiResult<DelegationFilter> {
        let country = self
            .country
            .as_deref()
            .map(CountryCode::parse)
            .transpose()
            .map_err(|e| ApiError::validation("country", e.to_string()))?;
        Ok(DelegationFilter {
            country: country.map(|c| c.as_str().to_owned()),
            kind: self.kind.map(DelegationKind::as_str),
            status: self.status.map(DelegationStatus::as_str),
            lead_id,
            q: self.q.clone(),
        })
    }
}

/// The event's delegations (organizers; a lead sees only their own), oldest first.
#[utoipa::path(
    tag = "delegations",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026"), DelegationsQuery, PageQuery),
    responses(
        (status = 200, description = "A page of delegations", body = Page<DelegationView>),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/delegations")]
async fn list_delegations(
    state: web::Data<AppState>,
    user: CurrentUser,
    event: EventPath,
    query: web::Query<DelegationsQuery>,
    page: web::Query<PageQuery>,
) -> ApiResult<web::Json<Page<DelegationView>>> {
    let page = page.parse::<Uuid>()?;
    let filter = query.filter((!user.is_organizer()).then_some(user.id))?;
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&user)).await?;
    let (rows, total) = store::list(&mut conn, event.id, &filter, &page).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        total,
        &page,
        |d| d.id,
        DelegationView::from,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDelegationRequest {
    #[schema(example = "TR", pattern = "^[A-Za-z]{2}$")]
    country: String,
    #[schema(example = "Ministry of National Defence of Türkiye")]
    name: String,
    kind: DelegationKind,
    protocol_level: ProtocolLevel,
    arrival_on: Option<NaiveDate>,
    departure_on: Option<NaiveDate>,
    #[schema(example = 8, minimum = 1, maximum = 500)]
    member_limit: i32,
    #[schema(example = "liaison@msb.gov.tr", format = Email, max_length = 254)]
    lead_email: String,
    #[schema(example = "Col. Emre Aydın", min_length = 1, max_length = 200)]
    lead_name: String,
    /// Language of the invitation email (default `fr`).
    #[serde(default)]
    lead_locale: Option<Locale>,
}

fn check_stay(
    errors: &mut Vec<FieldError>,
    arrival: Option<NaiveDate>,
    departure: Option<NaiveDate>,
) {
    if let (Some(arrival), Some(departure)) = (arrival, departure)
        && departure < arrival
    {
        errors.push(FieldError::new(
            "departure_on",
            "must not be before arrival_on",
        ));
    }
}

fn member_limit(limit: i32) -> Result<i32, &'static str> {
    if (1..=500).contains(&limit) {
        Ok(limit)
    } else {
        Err("must be between 1 and 500")
    }
}

/// Create a delegation (organizers); its lead is emailed an invitation link (valid 7 days).
#[utoipa::path(
    tag = "delegations",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026")),
    request_body = CreateDelegationRequest,
    responses(
        (status = 201, description = "Delegation created", body = DelegationView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/delegations")]
async fn create_delegation(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    ip: ClientIp,
    event: EventPath,
    body: Body<CreateDelegationRequest>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&organizer)).await?;
    let body = body.read()?;
    let mut v = Validator::default();
    let country = v.check("country", CountryCode::parse(&body.country));
    let name = v.check("name", FullName::parse(&body.name));
    let limit = v.check("member_limit", member_limit(body.member_limit));
    let lead_email = v.check("lead_email", EmailAddress::parse(&body.lead_email));
    let lead_name = v.check("lead_name", FullName::parse(&body.lead_name));
    let mut stay = Vec::new();
    check_stay(&mut stay, body.arrival_on, body.departure_on);
    for error in stay {
        v.check::<(), _>(&error.field, Err(error.message));
    }
    let new = v.finish(|| {
        Some(NewDelegation {
            id: Uuid::now_v7(),
            event_id: Uuid::nil(),
            country: country?.as_str().to_owned(),
            name: name?.as_str().to_owned(),
            kind: body.kind.as_str(),
            protocol_level: body.protocol_level.as_str(),
            arrival_on: body.arrival_on,
            departure_on: body.departure_on,
            member_limit: limit?,
            lead_email: lead_email?,
            lead_name: lead_name?.as_str().to_owned(),
        })
    })?;
    let delegation = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let delegation = store::insert(
                conn,
                &NewDelegation {
                    event_id: event.id,
                    ..new
                },
            )
            .await?;
            invite(
                conn,
                &state,
                &event,
                &delegation,
                body.lead_locale.unwrap_or_default(),
            )
            .await?;
            AuditEntry::new("delegation.created", "delegation", Some(delegation.id))
                .by(organizer.id, ip.as_string().as_deref())
                .record(conn)
                .await?;
            Ok(delegation)
        })
        .await?;
    Ok(HttpResponse::Created().json(DelegationView::from(delegation)))
}

/// One delegation (organizers, its lead).
#[utoipa::path(
    tag = "delegations",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Delegation id"),
    ),
    responses(
        (status = 200, description = "The delegation", body = DelegationView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such delegation of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/delegations/{id}")]
async fn get_delegation(
    state: web::Data<AppState>,
    user: CurrentUser,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<web::Json<DelegationView>> {
    let (_, id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    Ok(web::Json(
        load(&mut conn, &event, id, &user).await?.1.into(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDelegationRequest {
    #[schema(pattern = "^[A-Za-z]{2}$")]
    country: Option<String>,
    name: Option<String>,
    kind: Option<DelegationKind>,
    protocol_level: Option<ProtocolLevel>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    arrival_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    departure_on: Option<Option<NaiveDate>>,
    /// Cannot fall below the members already registered.
    #[schema(minimum = 1, maximum = 500)]
    member_limit: Option<i32>,
    /// `closed` ends member registration; `active` reopens it.
    status: Option<DelegationStatus>,
}

/// Change or close a delegation (organizers).
#[utoipa::path(
    tag = "delegations",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Delegation id"),
    ),
    request_body = UpdateDelegationRequest,
    responses(
        (status = 200, description = "The delegation, updated", body = DelegationView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such delegation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Limit below the registered members (`limit_below_members`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/events/{event}/delegations/{id}")]
async fn patch_delegation(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
    body: Body<UpdateDelegationRequest>,
) -> ApiResult<web::Json<DelegationView>> {
    let (_, id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let (_, before) = load(&mut conn, &event, id, &organizer).await?;
    let body = body.read()?;
    let mut v = Validator::default();
    let country = v.check(
        "country",
        body.country.as_deref().map(CountryCode::parse).transpose(),
    );
    let name = v.check(
        "name",
        body.name.as_deref().map(FullName::parse).transpose(),
    );
    let limit = v.check(
        "member_limit",
        body.member_limit.map(member_limit).transpose(),
    );
    v.check(
        "status",
        if body.status == Some(DelegationStatus::Invited) {
            Err("can be set to active or closed")
        } else {
            Ok(())
        },
    );
    let (country, name, limit) = v.finish(|| Some((country?, name?, limit?)))?;
    let mut stay = Vec::new();
    check_stay(
        &mut stay,
        body.arrival_on.unwrap_or(before.arrival_on),
        body.departure_on.unwrap_or(before.departure_on),
    );
    if !stay.is_empty() {
        return Err(ApiError::Validation(stay));
    }
    let delegation = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let locked = store::lock(conn, id).await?;
            if limit.is_some_and(|l| l < locked.member_count) {
                return Err(ApiError::Conflict {
                    code: "limit_below_members",
                    detail: format!("{} members are registered already.", locked.member_count),
                });
            }
            // A delegation whose lead has not accepted stays `invited` until they do.
            let status = body.status.map(|s| match (s, locked.lead_id) {
                (DelegationStatus::Active, None) => DelegationStatus::Invited.as_str(),
                (s, _) => s.as_str(),
            });
            let updated = store::update(
                conn,
                id,
                DelegationChanges {
                    country: country.map(|c| c.as_str().to_owned()),
                    name: name.map(|n| n.as_str().to_owned()),
                    kind: body.kind.map(DelegationKind::as_str),
                    protocol_level: body.protocol_level.map(ProtocolLevel::as_str),
                    arrival_on: body.arrival_on,
                    departure_on: body.departure_on,
                    member_limit: limit,
                    status,
                    ..Default::default()
                },
            )
            .await?;
            if updated.protocol_level != locked.protocol_level {
                participants::set_protocol_level(conn, Group::Delegation(id), updated.protocol_level.as_str())
                    .await?;
            }
            AuditEntry::new("delegation.updated", "delegation", Some(id))
                .by(organizer.id, ip.as_string().as_deref())
                .details(serde_json::json!({ "status": updated.status, "member_limit": updated.member_limit }))
                .record(conn)
                .await?;
            Ok(updated)
        })
        .await?;
    Ok(web::Json(delegation.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResendInvitationRequest {
    /// Language of the email (default `fr`).
    #[serde(default)]
    locale: Option<Locale>,
}

/// Send the lead a new invitation link (organizers); the previous link stops working.
#[utoipa::path(
    tag = "delegations",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Delegation id"),
    ),
    request_body = ResendInvitationRequest,
    responses(
        (status = 202, description = "A new link is on its way"),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such delegation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The lead already accepted (`invitation_accepted`)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The personal data was purged after the event (`personal_data_purged`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/delegations/{id}/invitation")]
async fn resend_invitation(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
    body: Body<ResendInvitationRequest>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let (event, _) = load(&mut conn, &event, id, &organizer).await?;
    let body = body.read()?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let delegation = store::lock(conn, id).await?;
        if delegation.lead_id.is_some() {
            return Err(ApiError::Conflict {
                code: "invitation_accepted",
                detail: "The lead has accepted the invitation already.".into(),
            });
        }
        invite(
            conn,
            &state,
            &event,
            &delegation,
            body.locale.unwrap_or_default(),
        )
        .await?;
        AuditEntry::new("delegation.invitation_resent", "delegation", Some(id))
            .by(organizer.id, ip.as_string().as_deref())
            .record(conn)
            .await?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Accepted().finish())
}

/// The event's delegations with their members as CSV (organizers), with the list's filters: one
/// row per member, the delegation's columns repeated, and a delegation without members as one
/// row with empty member columns; delegations oldest first, then members in registration order.
/// UTF-8 with a byte-order mark so that Excel reads it, and cells neutralised against formula
/// injection. No identity document, of any kind.
#[utoipa::path(
    tag = "delegations",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026"), DelegationsQuery),
    responses(
        (status = 200, description = "The delegations' members, one a row", content_type = "text/csv"),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A filter that does not parse (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/delegations.csv")]
async fn export_delegations(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    event: EventPath,
    query: web::Query<DelegationsQuery>,
) -> ApiResult<HttpResponse> {
    let filter = query.filter(None)?;
    csv_export::of_event(&state.pool, &event, &organizer, "delegations", |event| {
        MembersSheet {
            event_id: event.id,
            filter,
        }
    })
    .await
}

struct MembersSheet {
    event_id: Uuid,
    filter: DelegationFilter,
}

impl Sheet for MembersSheet {
    type Row = DelegationMemberRow;
    /// The delegation, and the member of the row (none for a delegation without members).
    type Key = (Uuid, Option<Uuid>);

    const COLUMNS: &'static [&'static str] = &[
        "delegation_id",
        "delegation_name",
        "country",
        "kind",
        "protocol_level",
        "delegation_status",
        "lead_name",
        "lead_email",
        "member_limit",
        "participant_id",
        "last_name",
        "first_name",
        "organization",
        "function",
        "nationality",
        "accreditation_status",
        "badge_number",
    ];

    async fn page(
        &self,
        conn: &mut AsyncPgConnection,
        after: Option<&(Uuid, Option<Uuid>)>,
        limit: i64,
    ) -> ApiResult<Vec<DelegationMemberRow>> {
        Ok(store::members_export_page(conn, self.event_id, &self.filter, after, limit).await?)
    }

    fn key(&self, (delegation, member, _): &DelegationMemberRow) -> (Uuid, Option<Uuid>) {
        (delegation.id, member.as_ref().map(|m| m.participant_id))
    }

    fn cells(&self, (d, member, badge): DelegationMemberRow) -> Vec<String> {
        let mut cells = vec![
            d.id.to_string(),
            d.name,
            d.country,
            d.kind.as_str().to_owned(),
            d.protocol_level.as_str().to_owned(),
            d.status.as_str().to_owned(),
            d.lead_name,
            d.lead_email
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default(),
            d.member_limit.to_string(),
        ];
        match member {
            Some(m) => cells.extend([
                m.participant_id.to_string(),
                m.last_name,
                m.first_name,
                m.organization,
                m.function.unwrap_or_default(),
                m.nationality,
                m.status.as_str().to_owned(),
                badge.unwrap_or_default(),
            ]),
            None => cells.resize(Self::COLUMNS.len(), String::new()),
        }
        cells
    }
}
