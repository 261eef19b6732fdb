//! `POST /api/v1/events/{event}/accreditations`: the accreditation office enters an
//! accreditation by hand (`by_hand.rs` says for whom).

use actix_web::{HttpResponse, post, web};
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;

use super::Category;
use super::by_hand::{self, Entry};
use super::view::{self, AccreditationView};
use crate::auth::extract::{ClientIp, Organizer, Require};
use crate::body::Body;
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::events::path::EventPath;
use crate::participants::ParticipantInput;
use crate::participants::identity::IdentityRules;
use crate::state::AppState;
use crate::text;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(enter_accreditation);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfficeEntryRequest {
    /// The person, with the fields every registration takes.
    participant: ParticipantInput,
    /// `vip`, `organizer_staff`, `contractor`, `trade_visitor` or `public_visitor`; the others
    /// are refused (`category_not_by_hand`): exhibitor staff and delegation members are
    /// registered in their list, journalists register themselves.
    #[schema(example = "vip")]
    category: Category,
    /// For protocol: escort, seating, arrival … shown in the accreditation and its CSV.
    #[schema(
        example = "Ministre de la Défense du Togo ; accueil salon VIP",
        max_length = 1000
    )]
    protocol_note: Option<String>,
}

/// Enter an accreditation by hand (organizers), for anyone the office badges itself: it is
/// pending, reviewed (four eyes where the event says so), vetted where the event vets the
/// category, and badged like any other — and the organizer who entered it cannot approve it
/// (`creator_cannot_approve`).
#[utoipa::path(
    tag = "accreditations",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026")),
    request_body = OfficeEntryRequest,
    responses(
        (status = 201, description = "Entered, pending review", body = AccreditationView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Registration closed (`registration_closed`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`): each field error may carry a `code`, e.g. `category_not_by_hand` (a category registered elsewhere), `required` (place of birth and document expiry, where the event vets the category) or `expires_too_soon`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/accreditations")]
async fn enter_accreditation(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    ip: ClientIp,
    event: EventPath,
    body: Body<OfficeEntryRequest>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&organizer)).await?;
    let body = body.read()?;
    // Every invalid field at once.
    let mut errors = Vec::new();
    let category = by_hand::office_category(body.category)
        .map_err(|error| errors.push(error))
        .ok();
    let rules = IdentityRules::new(&event, body.category);
    let person = match body.participant.parse(Utc::now().date_naive(), &rules) {
        Ok(person) => Some(person),
        Err(ApiError::Validation(invalid)) => {
            errors.extend(invalid.into_iter().map(|mut error| {
                error.field = format!("participant.{}", error.field);
                error
            }));
            None
        }
        Err(other) => return Err(other),
    };
    let protocol_note = text::optional(body.protocol_note.as_deref(), 1000)
        .map_err(|message| errors.push(FieldError::new("protocol_note", message)))
        .ok();
    let (Some(category), Some(person), Some(protocol_note)) = (category, person, protocol_note)
    else {
        return Err(ApiError::Validation(errors));
    };
    event.check_registration_open(Utc::now())?;
    let entry = Entry {
        category,
        person: &person,
        protocol_note,
    };
    let (_, accreditation) = by_hand::enter(
        &mut conn,
        &state.documents,
        event.id,
        &organizer.actor(ip),
        entry,
    )
    .await?;
    Ok(HttpResponse::Created().json(view::of(&conn, &event.slug, accreditation.id).await?))
}
