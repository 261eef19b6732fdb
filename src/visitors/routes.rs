//! `POST /api/v1/events/{event}/visitors`: a signed-in person registers themselves as a trade
//! visitor, public visitor or journalist. Public visitors are approved at once when the event
//! allows it; every other category waits for an organizer.

use actix_web::{HttpResponse, get, post, put, web};
use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::{RefOr, schema::Schema};
use uuid::Uuid;

use crate::accreditations::{Category, workflow};
use crate::audit::AuditEntry;
use crate::auth::extract::{ClientIp, CurrentUser};
use crate::body::Body;
use crate::email;
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::events::Event;
use crate::events::path::EventPath;
use crate::events::store as events;
use crate::participants::emails::RegistrationReceived;
use crate::participants::identity::IdentityRules;
use crate::participants::roster::Roster;
use crate::participants::store::{self as participants, Group, Registration};
use crate::participants::{
    AccreditationSummary, ParticipantData, ParticipantInput, ParticipantView,
};
use crate::state::AppState;
use crate::users::store as users;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(register_visitor)
        .service(my_registration)
        .service(correct_my_registration);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VisitorCategory {
    TradeVisitor,
    PublicVisitor,
    Media,
}

impl From<VisitorCategory> for Category {
    fn from(category: VisitorCategory) -> Self {
        match category {
            VisitorCategory::TradeVisitor => Category::TradeVisitor,
            VisitorCategory::PublicVisitor => Category::PublicVisitor,
            VisitorCategory::Media => Category::Media,
        }
    }
}

/// A visitor's registration: the participant fields plus the category and, for media, the press
/// fields. Unknown fields are refused, as everywhere (serde's `flatten` alone would let them by).
#[derive(Debug, Deserialize)]
#[serde(try_from = "serde_json::Map<String, serde_json::Value>")]
pub struct VisitorRequest {
    pub category: VisitorCategory,
    pub media_outlet: Option<String>,
    pub press_card_number: Option<String>,
    pub person: ParticipantInput,
}

/// The fields a visitor's registration adds to a participant's; only its schema is used.
#[derive(ToSchema)]
#[allow(dead_code)]
struct VisitorFields {
    category: VisitorCategory,
    /// Required for `media`, 1 to 200 characters.
    #[schema(example = "L'Essor", max_length = 200)]
    media_outlet: Option<String>,
    /// Required for `media`, 1 to 50 characters.
    #[schema(example = "ML-PRESS-0421", max_length = 50)]
    press_card_number: Option<String>,
}

/// One closed object holding the participant's fields and the visitor's, as the server reads it
/// (an `allOf` of two closed objects could not be satisfied).
impl utoipa::PartialSchema for VisitorRequest {
    fn schema() -> RefOr<Schema> {
        let (RefOr::T(Schema::Object(mut object)), RefOr::T(Schema::Object(own))) =
            (ParticipantInput::schema(), VisitorFields::schema())
        else {
            unreachable!("both are derived from structs with named fields")
        };
        object.properties.extend(own.properties);
        object.required.extend(own.required);
        object.description = Some(
            "A visitor's registration: the participant fields plus the category and, for \
             media, the press fields. Unknown fields are refused."
                .to_owned(),
        );
        RefOr::T(Schema::Object(object))
    }
}

impl ToSchema for VisitorRequest {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        <ParticipantInput as ToSchema>::schemas(schemas);
        <VisitorFields as ToSchema>::schemas(schemas);
    }
}

impl TryFrom<serde_json::Map<String, serde_json::Value>> for VisitorRequest {
    type Error = serde_json::Error;

    fn try_from(
        mut fields: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Self, Self::Error> {
        let mut take = |name: &str| fields.remove(name).unwrap_or(serde_json::Value::Null);
        let category = serde_json::from_value(take("category"))?;
        let media_outlet = serde_json::from_value(take("media_outlet"))?;
        let press_card_number = serde_json::from_value(take("press_card_number"))?;
        Ok(Self {
            category,
            media_outlet,
            press_card_number,
            person: serde_json::from_value(serde_json::Value::Object(fields))?,
        })
    }
}

fn press_field(value: Option<&str>, max: usize) -> Result<String, String> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Err("is required for media".into()),
        Some(v) if v.chars().count() > max => Err(format!("must have at most {max} characters")),
        Some(v) => Ok(v.to_owned()),
    }
}

impl VisitorRequest {
    /// The person and, for media, the outlet and press card; every invalid field at once.
    fn parse(&self, event: &Event) -> ApiResult<(ParticipantData, Option<(String, String)>)> {
        let mut errors = Vec::new();
        let rules = IdentityRules::new(event, Category::from(self.category));
        let data = match self.person.parse(Utc::now().date_naive(), &rules) {
            Ok(data) => Some(data),
            Err(ApiError::Validation(invalid)) => {
                errors.extend(invalid);
                None
            }
            Err(other) => return Err(other),
        };
        let press = if self.category == VisitorCategory::Media {
            let mut field = |name: &str, value: Option<&str>, max| {
                press_field(value, max)
                    .map_err(|message| errors.push(FieldError::new(name, message)))
                    .ok()
            };
            let outlet = field("media_outlet", self.media_outlet.as_deref(), 200);
            let card = field("press_card_number", self.press_card_number.as_deref(), 50);
            outlet.zip(card)
        } else {
            None
        };
        match (data, errors.is_empty()) {
            (Some(data), true) => Ok((data, press)),
            _ => Err(ApiError::Validation(errors)),
        }
    }
}

/// Register yourself for the event (one registration per person and event).
#[utoipa::path(
    tag = "visitors",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026")),
    request_body = VisitorRequest,
    responses(
        (status = 201, description = "Registered; `accreditation.status` is `approved` for public visitors when the event approves them at once", body = ParticipantView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already registered (`already_registered`) or registration closed (`registration_closed`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`): each field error may carry a `code`, e.g. `required` (place of birth and document expiry, where the event vets the category) or `expires_too_soon`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/visitors")]
async fn register_visitor(
    state: web::Data<AppState>,
    user: CurrentUser,
    ip: ClientIp,
    event: EventPath,
    body: Body<VisitorRequest>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&user)).await?;
    let body = body.read()?;
    let (data, press) = body.parse(&event)?;
    let category = Category::from(body.category);
    event.check_registration_open(Utc::now())?;
    let me = users::find(&mut conn, user.id).await?;
    let approved = category == Category::PublicVisitor && event.auto_approve_public;
    let id = Uuid::now_v7();
    let sealed = state.documents.seal(id, &data.id_document_number)?;
    let (participant, accreditation) = conn
        .transaction::<_, ApiError, _>(async |conn| {
            events::lock_open_for_registration(conn, event.id).await?;
            let registration = Registration {
                event_id: event.id,
                registered_by: user.id,
                group: Group::Visitor(user.id),
                category,
                protocol_level: None,
                press: press.clone(),
                approved,
                protocol_note: None,
            };
            let created = participants::insert(conn, id, &registration, &data, &sealed).await?;
            // Where the event vets public visitors, the badge waits for the clearance.
            let issued = if approved {
                workflow::approve_automatically(conn, &state.badge_keys, &event, &created.1).await?
            } else {
                None
            };
            let full_name = format!("{} {}", data.first_name, data.last_name);
            let email = RegistrationReceived {
                full_name: &full_name,
                event: &event.name,
                category: category.as_str(),
                // Awaiting clearance, the visitor hears of the badge with it.
                approved: issued.is_some(),
            };
            // Approved at once: the badge travels with the confirmation, as with any approval.
            let badge = issued.map(|_| created.1.id);
            email::enqueue_for_event(conn, event.id, &me.email, me.locale(), &email, badge).await?;
            AuditEntry::new("participant.registered", "participant", Some(id))
                .by_actor(&user.actor(ip))
                .details(
                    serde_json::json!({ "category": category.as_str(), "auto_approved": approved }),
                )
                .record(conn)
                .await?;
            Ok(created)
        })
        .await?;
    Ok(HttpResponse::Created().json(ParticipantView::new(
        participant,
        AccreditationSummary::from(&accreditation),
    )))
}

/// The caller's own registration for the event, as a one-person roster.
async fn my_roster(
    conn: &mut AsyncPgConnection,
    event: &EventPath,
    user: &CurrentUser,
) -> ApiResult<(Roster, Uuid, Event)> {
    let event = event.load_event(conn, Some(user)).await?;
    let (participant_id, category) = participants::visitor_registration(conn, event.id, user.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let roster = Roster {
        event_id: event.id,
        group: Group::Visitor(user.id),
        category,
        protocol_level: None,
        places: 1,
        full_code: "already_registered",
    };
    Ok((roster, participant_id, event))
}

/// Your own registration for the event, with its accreditation status.
#[utoipa::path(
    tag = "visitors",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026")),
    responses(
        (status = 200, description = "Your registration", body = ParticipantView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event, or not registered for it", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/visitors/me")]
async fn my_registration(
    state: web::Data<AppState>,
    user: CurrentUser,
    ip: ClientIp,
    event: EventPath,
) -> ApiResult<web::Json<ParticipantView>> {
    let mut conn = state.pool.get().await?;
    let (roster, id, _) = my_roster(&mut conn, &event, &user).await?;
    Ok(web::Json(
        roster
            .read(
                &mut conn,
                &state.documents,
                &user.actor(ip),
                id,
                false,
                true,
            )
            .await?,
    ))
}

/// Correct your own registration while it is pending, or answer an organizer's request for
/// information (which puts it back in the queue): send the whole registration again, in the same
/// category (journalists with their outlet and press card).
#[utoipa::path(
    tag = "visitors",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026")),
    request_body = VisitorRequest,
    responses(
        (status = 200, description = "Your registration, corrected", body = ParticipantView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event, or not registered for it", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided (`not_editable`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`): each field error may carry a `code`, e.g. `required` (place of birth and document expiry, where the event vets the category) or `expires_too_soon`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/events/{event}/visitors/me")]
async fn correct_my_registration(
    state: web::Data<AppState>,
    user: CurrentUser,
    ip: ClientIp,
    event: EventPath,
    body: Body<VisitorRequest>,
) -> ApiResult<web::Json<ParticipantView>> {
    let mut conn = state.pool.get().await?;
    let (roster, id, event) = my_roster(&mut conn, &event, &user).await?;
    let body = body.read()?;
    let (data, press) = body.parse(&event)?;
    if Category::from(body.category) != roster.category {
        return Err(ApiError::validation(
            "category",
            format!("must stay {}", roster.category.as_str()),
        ));
    }
    let view = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let view = roster
                .replace(conn, &state.documents, &user.actor(ip), id, &data)
                .await?;
            participants::set_press(conn, id, press).await?;
            Ok(view)
        })
        .await?;
    Ok(web::Json(view))
}
