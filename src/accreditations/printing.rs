//! The badge PDFs: one badge, a batch of badges. Each badge printed counts as a (re)print, once
//! its PDF exists. Every photo of a batch is decoded before anything is sent, so a photo that
//! does not decode refuses the batch (`photo_unreadable`) rather than printing a blank; the
//! batch is then sent as it is drawn (`badge_batch.rs`). (The visa invitation letters are in
//! `letters/`.)

use actix_web::{HttpResponse, get, web};
use uuid::Uuid;

use super::badge_batch;
use super::badge_sheets::badge_a6;
use super::cards::{issued_card, render};
use super::printable::{pdf_response, printable, streamed_pdf_response};
use super::queue::{self, QueueQuery};
use super::store;
use crate::auth::extract::{CurrentUser, Organizer, Require};
use crate::error::{ApiError, ApiResult, Problem};
use crate::events::path::EventPath;
use crate::http_method::IsHead;
use crate::state::AppState;

/// Batches checked and printed at once in the whole process; more answer 503. A batch holds one
/// page of cards at a time whatever its size (BENCHMARKS.md), but takes CPU while it is drawn,
/// and its slot until its download ends.
const BATCHES_AT_ONCE: usize = 2;

fn batches() -> &'static tokio::sync::Semaphore {
    static BATCHES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(BATCHES_AT_ONCE);
    &BATCHES
}

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(badge_pdf).service(badges_pdf);
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
        (status = 409, description = "Not approved (`no_badge`), or approved and awaiting the security services' clearance (`awaiting_clearance`), or the stored photo does not decode (`photo_unreadable`, naming the badge: upload it again)", body = Problem, content_type = "application/problem+json"),
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
    // No connection is held while rendering; a print counts once the PDF exists.
    drop(conn);
    let bytes = render(move || badge_a6(&card)).await?;
    if head.shown() {
        store::count_prints(&mut *state.pool.get().await?, &[id]).await?;
    }
    Ok(pdf_response(bytes, &filename))
}

/// A batch of badges on A4 sheets of four (organizers), with the review queue's filters; only
/// approved accreditations are printed. Every photo is checked before the answer starts; the
/// PDF is then sent as it is drawn (chunked, no Content-Length), and a failure past that point
/// can only cut it short.
#[utoipa::path(
    tag = "accreditations",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026"), QueueQuery),
    responses(
        (status = 200, description = "A4 sheets of four badges, streamed", content_type = "application/pdf"),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No approved accreditation matches (`no_badge`), or those approved await the security services' clearance (`awaiting_clearance`), or stored photos do not decode (`photo_unreadable`, naming the badges; nothing is printed)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The personal data was purged after the event (`personal_data_purged`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "More than 5,000 accreditations match (`validation_failed`): narrow the filters", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Two batches are being printed already (`service_unavailable`), see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/badges.pdf")]
pub async fn badges_pdf(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    event: EventPath,
    query: web::Query<QueueQuery>,
) -> ApiResult<HttpResponse> {
    let (event, ids) = {
        let mut conn = state.pool.get().await?;
        let event = event.load_event(&mut conn, Some(&organizer)).await?;
        if event.personal_data_purged_at.is_some() {
            return Err(ApiError::purged());
        }
        let ids = queue::matching_ids(&conn, &event, &query).await?;
        (event, ids)
    };
    let slot = batches().try_acquire().map_err(|_| {
        ApiError::Unavailable(anyhow::anyhow!(
            "{BATCHES_AT_ONCE} badge batches are being printed already"
        ))
    })?;
    let printable = badge_batch::check(&state.pool, &ids).await?;
    // A HEAD gets here too, with GET's status; its body is dropped unread (`http_method.rs`),
    // so nothing is drawn and nothing counted.
    let body = badge_batch::stream(state.pool.clone(), printable, slot)?;
    Ok(streamed_pdf_response(
        body,
        &format!("{}-badges.pdf", event.slug),
    ))
}
