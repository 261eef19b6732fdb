//! The PDF routes: a badge, a batch of badges, the visa invitation letter. Each badge printed
//! counts as a (re)print.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::cards::{card, issued_card, no_card, render};
use super::pdf::{self, Invitation};
use super::queue::{self, QueueQuery};
use super::store;
use crate::audit::AuditEntry;
use crate::auth::extract::{ClientIp, CurrentUser, Organizer, Require};
use crate::error::{ApiError, ApiResult, Problem};
use crate::events::Event;
use crate::events::path::EventPath;
use crate::http_method::IsHead;
use crate::participants::access::may_edit;
use crate::participants::documents::mask_number;
use crate::participants::{DocumentType, Participant};
use crate::state::AppState;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(badge_pdf)
        .service(badges_pdf)
        .service(invitation_letter);
}

fn pdf_response(bytes: Vec<u8>, filename: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"{filename}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(bytes)
}

/// The participant of an accreditation at `event`, if `user` may print for them: organizers,
/// and whoever registered the person (their exhibitor's account, delegation's lead, themselves).
/// A purged person answers 410 `personal_data_purged` to those who could print before.
async fn printable(
    conn: &mut AsyncPgConnection,
    event: &Event,
    id: Uuid,
    user: &CurrentUser,
) -> ApiResult<Participant> {
    let participant = store::participant_of(conn, event.id, id).await?;
    if !may_edit(conn, event.id, participant.id, user).await? {
        return Err(ApiError::not_found());
    }
    participant.ensure_not_anonymized()?;
    Ok(participant)
}

/// The badge as a printable A6 PDF (organizers; whoever registered the participant).
#[utoipa::path(
    tag = "accreditations",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Accreditation id"),
    ),
    responses(
        (status = 200, description = "One A6 page", content_type = "application/pdf"),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such accreditation of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not approved (`no_badge`), or approved and awaiting the security services' clearance (`awaiting_clearance`)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The personal data was purged after the event (`personal_data_purged`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/accreditations/{id}/badge.pdf")]
pub async fn badge_pdf(
    state: web::Data<AppState>,
    user: CurrentUser,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
    head: IsHead,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&user)).await?;
    printable(&mut conn, &event, id, &user).await?;
    let card = issued_card(&mut conn, id).await?;
    let filename = format!("{}.pdf", card.number);
    if head.shown() {
        store::count_prints(&mut conn, &[id]).await?;
    }
    drop(conn);
    let bytes = render(move || pdf::badges_a6(&[card])).await?;
    Ok(pdf_response(bytes, &filename))
}

/// A batch of badges on A4 sheets of four (organizers), with the review queue's filters; only
/// approved accreditations are printed.
#[utoipa::path(
    tag = "accreditations",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026"), QueueQuery),
    responses(
        (status = 200, description = "A4 sheets of four badges", content_type = "application/pdf"),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No approved accreditation matches (`no_badge`), or those approved await the security services' clearance (`awaiting_clearance`)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The personal data was purged after the event (`personal_data_purged`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/badges.pdf")]
pub async fn badges_pdf(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    event: EventPath,
    query: web::Query<QueueQuery>,
    head: IsHead,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&organizer)).await?;
    if event.personal_data_purged_at.is_some() {
        return Err(ApiError::purged());
    }
    let ids = queue::matching_ids(&mut conn, &event, &query).await?;
    let mut cards = Vec::new();
    let mut printed = Vec::new();
    for &id in &ids {
        if let Some(card) = card(&mut conn, id).await? {
            cards.push(card);
            printed.push(id);
        }
    }
    if cards.is_empty() {
        return Err(no_card(&mut conn, &ids).await?);
    }
    if head.shown() {
        store::count_prints(&mut conn, &printed).await?;
    }
    drop(conn);
    let bytes = render(move || pdf::badges_a4(&cards)).await?;
    Ok(pdf_response(bytes, &format!("{}-badges.pdf", event.slug)))
}

/// The invitation letter for a visa application, once approved (organizers; whoever registered
/// the participant). It states the identity document, so producing it is an audited read; the
/// number is masked but for its last four characters unless the caller is an organizer or the
/// holder.
#[utoipa::path(
    tag = "accreditations",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Accreditation id"),
    ),
    responses(
        (status = 200, description = "One A4 page", content_type = "application/pdf"),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such accreditation of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not approved (`no_badge`), or approved and awaiting the security services' clearance (`awaiting_clearance`)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The personal data was purged after the event (`personal_data_purged`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/accreditations/{id}/invitation-letter.pdf")]
pub async fn invitation_letter(
    state: web::Data<AppState>,
    user: CurrentUser,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
    head: IsHead,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&user)).await?;
    let participant = printable(&mut conn, &event, id, &user).await?;
    let card = issued_card(&mut conn, id).await?;
    let number = participant
        .open_document(&state.documents)?
        .ok_or_else(ApiError::purged)?;
    // Document numbers are for organizers' eyes and the holder's own: an exhibitor or a
    // delegation lead printing the letter for someone gets it masked.
    let number = if user.is_organizer() || participant.user_id == Some(user.id) {
        number
    } else {
        mask_number(&number)
    };
    if head.shown() {
        conn.transaction::<_, ApiError, _>(async |conn| {
            AuditEntry::new(
                "participant.document_read",
                "participant",
                Some(participant.id),
            )
            .by(user.id, ip.as_string().as_deref())
            .details(serde_json::json!({ "for": "invitation_letter" }))
            .record(conn)
            .await?;
            Ok(())
        })
        .await?;
    }
    drop(conn);
    let letter = Invitation {
        event_name: event.name.clone(),
        venue: event.venue.clone(),
        dates: format!("{} au {}", event.starts_on, event.ends_on),
        holder_name: card.holder_name,
        nationality: card.country,
        date_of_birth: participant
            .date_of_birth
            .map(|d| d.to_string())
            .unwrap_or_default(),
        document: format!(
            "{} {number}",
            participant
                .id_document_type
                .map(DocumentType::as_str)
                .unwrap_or_default()
        ),
        organization: card.organization,
        category: card.category.as_str().to_owned(),
        badge_number: card.number.clone(),
        issued_on: chrono::Utc::now().date_naive().to_string(),
    };
    let bytes = render(move || pdf::invitation_letter(&letter)).await?;
    Ok(pdf_response(
        bytes,
        &format!("invitation-{}.pdf", card.number),
    ))
}
