//! `/api/v1/events/{event}/participants/{id}/photo`: the badge photo. An upload (JPEG or PNG,
//! at most 5 MB) is decoded for real, checked for a sensible size, cropped and resized to badge
//! proportions and re-encoded as JPEG — which also drops EXIF and anything else it carried.

use std::io::Cursor;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, put, web};
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::StreamExt;
use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{ImageFormat, ImageReader, Limits};
use uuid::Uuid;

use super::Participant;
use super::access::may_edit;
use super::roster::{editable, not_editable};
use crate::accreditations::{Accreditation, workflow};
use crate::audit::AuditEntry;
use crate::auth::extract::{ClientIp, CurrentUser};
use crate::db::schema::{accreditations, participant_photos, participants};
use crate::error::{ApiError, ApiResult, Problem};
use crate::events::path::EventPath;
use crate::state::AppState;
use crate::users::Role;

pub const MAX_UPLOAD_BYTES: usize = 5 * 1024 * 1024;
/// Badge photos are 4:5, like passport photos.
const WIDTH: u32 = 400;
const HEIGHT: u32 = 500;
const MIN_SIDE: u32 = 120;
const MAX_SIDE: u32 = 12_000;

/// A participant of the event with their accreditation; locked for a change with `lock`.
async fn with_accreditation(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    participant_id: Uuid,
    lock: bool,
) -> ApiResult<(Participant, Accreditation)> {
    let query = participants::table
        .inner_join(accreditations::table)
        .filter(participants::event_id.eq(event_id))
        .filter(participants::id.eq(participant_id))
        .select((Participant::as_select(), Accreditation::as_select()));
    Ok(if lock {
        query.for_update().first(conn).await?
    } else {
        query.first(conn).await?
    })
}

/// Whether `user` may replace this person's photo now. A purged person's photo is gone for
/// good (410). The photo is what a guard compares a face with: once a badge is decided, only
/// an organizer may change it.
fn photo_change_allowed(
    participant: &Participant,
    accreditation: &Accreditation,
    user: &CurrentUser,
) -> ApiResult<()> {
    participant.ensure_not_anonymized()?;
    if !user.is_organizer() && !editable(accreditation.status()) {
        return Err(not_editable());
    }
    Ok(())
}

fn invalid_image(detail: &str) -> ApiError {
    ApiError::validation("photo", detail)
}

/// Decodes, checks and re-encodes an upload. CPU-bound: call it off the executor.
fn normalize(bytes: &[u8], declared: ImageFormat) -> ApiResult<(Vec<u8>, u32, u32)> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| invalid_image("could not be read"))?;
    if reader.format() != Some(declared) {
        return Err(invalid_image(
            "is not the JPEG or PNG image its content type says",
        ));
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|_| invalid_image("is not a valid JPEG or PNG image"))?;
    if image.width() < MIN_SIDE || image.height() < MIN_SIDE {
        return Err(invalid_image("must be at least 120 × 120 pixels"));
    }
    let badge = image
        .resize_to_fill(WIDTH, HEIGHT, FilterType::Lanczos3)
        .to_rgb8();
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode_image(&badge)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("JPEG encoding failed: {e}")))?;
    Ok((jpeg, WIDTH, HEIGHT))
}

/// Upload a participant's badge photo (`image/jpeg` or `image/png`, at most 5 MB) — organizers,
/// the person themselves, their exhibitor's account or delegation's lead.
#[utoipa::path(
    tag = "participants",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Participant id"),
    ),
    request_body(content = Vec<u8>, content_type = "image/jpeg", description = "The photo, JPEG or PNG"),
    responses(
        (status = 204, description = "Stored as a 400 × 500 JPEG"),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Decided already: only organizers may change the photo now (`not_editable`)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The personal data was purged after the event (`personal_data_purged`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than 5 MB (`payload_too_large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not image/jpeg or image/png (`unsupported_media_type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a real image, or too small (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/events/{event}/participants/{id}/photo")]
pub async fn upload_photo(
    state: web::Data<AppState>,
    user: CurrentUser,
    ip: ClientIp,
    request: HttpRequest,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
    mut payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&user)).await?;
    if !may_edit(&mut conn, event.id, id, &user).await? {
        return Err(ApiError::not_found());
    }
    // Checked before reading up to 5 MB, and again under lock once the image is ready.
    let (participant, accreditation) = with_accreditation(&mut conn, event.id, id, false).await?;
    photo_change_allowed(&participant, &accreditation, &user)?;
    drop(conn);
    let format = match request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        Some("image/jpeg") => ImageFormat::Jpeg,
        Some("image/png") => ImageFormat::Png,
        _ => return Err(ApiError::UnsupportedMediaType),
    };

    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::BadRequest {
            code: "invalid_body",
            detail: "The upload was interrupted.".into(),
        })?;
        if body.len() + chunk.len() > MAX_UPLOAD_BYTES {
            return Err(ApiError::PayloadTooLarge {
                limit: MAX_UPLOAD_BYTES,
            });
        }
        body.extend_from_slice(&chunk);
    }
    let (jpeg, width, height) = tokio::task::spawn_blocking(move || normalize(&body, format))
        .await
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("image task panicked")))??;

    let mut conn = state.pool.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let (participant, accreditation) = with_accreditation(conn, event.id, id, true).await?;
        photo_change_allowed(&participant, &accreditation, &user)?;
        diesel::insert_into(participant_photos::table)
            .values((
                participant_photos::participant_id.eq(id),
                participant_photos::jpeg.eq(&jpeg),
                participant_photos::width.eq(width as i32),
                participant_photos::height.eq(height as i32),
            ))
            .on_conflict(participant_photos::participant_id)
            .do_update()
            .set((
                participant_photos::jpeg.eq(&jpeg),
                participant_photos::width.eq(width as i32),
                participant_photos::height.eq(height as i32),
                participant_photos::updated_at.eq(Utc::now()),
            ))
            .execute(conn)
            .await?;
        // A new face is a change of the application, and may be the information requested.
        workflow::application_changed(conn, id).await?;
        AuditEntry::new("participant.photo_uploaded", "participant", Some(id))
            .by(user.id, ip.as_string().as_deref())
            .record(conn)
            .await?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A participant's badge photo (JPEG) — whoever may edit the participant, and gate agents.
#[utoipa::path(
    tag = "participants",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Participant id"),
    ),
    responses(
        (status = 200, description = "The photo", content_type = "image/jpeg"),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant of the caller's, or no photo", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The personal data was purged after the event (`personal_data_purged`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/participants/{id}/photo")]
pub async fn get_photo(
    state: web::Data<AppState>,
    user: CurrentUser,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&user)).await?;
    if !(user.has(Role::GateAgent) || may_edit(&mut conn, event.id, id, &user).await?) {
        return Err(ApiError::not_found());
    }
    with_accreditation(&mut conn, event.id, id, false)
        .await?
        .0
        .ensure_not_anonymized()?;
    let jpeg: Vec<u8> = participant_photos::table
        .inner_join(participants::table)
        .filter(participants::event_id.eq(event.id))
        .filter(participant_photos::participant_id.eq(id))
        .select(participant_photos::jpeg)
        .first(&mut conn)
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("image/jpeg")
        .insert_header((header::CACHE_CONTROL, "private, max-age=300"))
        .body(jpeg))
}
