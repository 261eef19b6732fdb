//! `/api/v1/events/{event}/participants/{id}/photo`: the badge photo. An upload (JPEG or PNG,
//! at most 5 MB) is decoded for real, checked for a sensible size, cropped and resized to badge
//! proportions and re-encoded as JPEG — which also drops EXIF and anything else it carried.
//!
//! A few compressed bytes can declare an enormous image (a 160 KB PNG of 7,000 × 7,000 pixels
//! decodes to 150 MB), so memory is bounded before anything is decoded:
//! - the dimensions are read from the header and an image above the pixel budget
//!   ([`image_budget::MAX_PIXELS`], shared with document scans) is refused (422
//!   `image_too_large`), and the decoder itself may not allocate more than [`MAX_DECODE_BYTES`]
//!   (which also refuses 16-bit images near the pixel budget);
//! - at most [`UPLOADS_AT_ONCE`] bodies are buffered at once (503 with Retry-After beyond), and
//!   at most [`DECODES_AT_ONCE`] images are decoded at once, on the blocking pool;
//! - the image is shrunk from a view of its 4:5 crop by area averaging, without a full-size copy.
//!
//! Together: at most 16 × 5 MB of bodies plus 2 × 100 MiB of decoded pixels, about 300 MiB
//! over the rest of the service, whatever is uploaded (README, "Memory").

use std::io::Cursor;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, put, web};
use diesel_async::AsyncConnection;
use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageError, ImageFormat, ImageReader, Limits, imageops};
use uuid::Uuid;

use super::access::may_edit;
use super::image_budget::{self, PHOTO_HEIGHT as HEIGHT, PHOTO_WIDTH as WIDTH};
use super::roster::change_allowed;
use super::store;
use crate::accreditations::workflow;
use crate::audit::AuditEntry;
use crate::auth::extract::{ClientIp, CurrentUser};
use crate::body::read_limited;
use crate::error::{ApiError, ApiResult, Problem};
use crate::events::path::EventPath;
use crate::state::AppState;
use crate::users::Role;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(upload_photo).service(get_photo);
}

pub const MAX_UPLOAD_BYTES: usize = 5 * 1024 * 1024;
const MIN_SIDE: u32 = 120;
/// What one decode may allocate: 24 megapixels of 8-bit RGBA and some room.
pub const MAX_DECODE_BYTES: u64 = 100 * 1024 * 1024;
/// Images decoded at once in the whole process; more wait their turn.
pub const DECODES_AT_ONCE: usize = 2;
/// Upload bodies buffered at once in the whole process; more are refused with 503.
pub const UPLOADS_AT_ONCE: usize = 16;

fn decodes() -> &'static tokio::sync::Semaphore {
    static DECODES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(DECODES_AT_ONCE);
    &DECODES
}

fn uploads() -> &'static tokio::sync::Semaphore {
    static UPLOADS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(UPLOADS_AT_ONCE);
    &UPLOADS
}

fn invalid_image(detail: &str) -> ApiError {
    ApiError::validation("photo", detail)
}

/// Decodes, checks and re-encodes an upload. CPU-bound: call it off the executor.
fn normalize(bytes: &[u8], declared: ImageFormat) -> ApiResult<(Vec<u8>, u32, u32)> {
    let guessed = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| invalid_image("could not be read"))?
        .format();
    if guessed != Some(declared) {
        return Err(invalid_image(
            "is not the JPEG or PNG image its content type says",
        ));
    }
    // From the header alone, before a single pixel is decoded.
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), declared)
        .into_dimensions()
        .map_err(|_| invalid_image("is not a valid JPEG or PNG image"))?;
    image_budget::check(width, height)?;
    if width < MIN_SIDE || height < MIN_SIDE {
        return Err(invalid_image("must be at least 120 × 120 pixels"));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), declared);
    let mut limits = Limits::default();
    limits.max_image_width = Some(image_budget::MAX_SIDE);
    limits.max_image_height = Some(image_budget::MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| match e {
        ImageError::Limits(_) => image_budget::too_large(width, height),
        _ => invalid_image("is not a valid JPEG or PNG image"),
    })?;
    let badge = badge_sized(&image);
    drop(image);
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode_image(&badge)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("JPEG encoding failed: {e}")))?;
    Ok((jpeg, WIDTH, HEIGHT))
}

/// The centred 4:5 crop of `image` at badge size. A large image is shrunk by area averaging
/// straight from a view of the crop, so no other full-size buffer is made; a small one (at
/// most 400 × 500 once cropped) is enlarged with Lanczos.
fn badge_sized(image: &DynamicImage) -> image::RgbImage {
    let (width, height) = (image.width(), image.height());
    let (crop_w, crop_h) =
        if u64::from(width) * u64::from(HEIGHT) > u64::from(height) * u64::from(WIDTH) {
            (
                (u64::from(height) * u64::from(WIDTH) / u64::from(HEIGHT)) as u32,
                height,
            )
        } else {
            (
                width,
                (u64::from(width) * u64::from(HEIGHT) / u64::from(WIDTH)) as u32,
            )
        };
    let crop = imageops::crop_imm(
        image,
        (width - crop_w) / 2,
        (height - crop_h) / 2,
        crop_w,
        crop_h,
    );
    if crop_w >= WIDTH && crop_h >= HEIGHT {
        DynamicImage::ImageRgba8(imageops::thumbnail(&*crop, WIDTH, HEIGHT)).to_rgb8()
    } else {
        DynamicImage::ImageRgba8(crop.to_image())
            .resize_exact(WIDTH, HEIGHT, FilterType::Lanczos3)
            .to_rgb8()
    }
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
        (status = 422, description = "Not a real image, or smaller than 120 × 120 pixels (`validation_failed`); more than 24 megapixels or 12,000 pixels a side, read from the header before decoding (`image_too_large`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many photo uploads under way (`service_unavailable`), see Retry-After", body = Problem, content_type = "application/problem+json"),
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
    let (participant, accreditation) = store::in_event(&mut conn, event.id, id).await?;
    change_allowed(&participant, &accreditation, &user)?;
    drop(conn);
    let format = match request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        Some("image/jpeg") => ImageFormat::Jpeg,
        Some("image/png") => ImageFormat::Png,
        _ => {
            return Err(ApiError::UnsupportedMediaType {
                expected: "image/jpeg or image/png",
            });
        }
    };

    let buffered = uploads().try_acquire().map_err(|_| {
        ApiError::Unavailable(anyhow::anyhow!(
            "{UPLOADS_AT_ONCE} photo uploads are being received already"
        ))
    })?;
    let body = read_limited(&mut payload, MAX_UPLOAD_BYTES).await?;
    let decoding = decodes()
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?;
    // The permits go with the work: a client that leaves does not free them while it runs.
    let (jpeg, width, height) = tokio::task::spawn_blocking(move || {
        let _held = (buffered, decoding);
        normalize(&body, format)
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("image task panicked")))??;

    let mut conn = state.pool.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let (participant, accreditation) = store::lock_in_event(conn, event.id, id).await?;
        change_allowed(&participant, &accreditation, &user)?;
        store::save_photo(conn, id, &jpeg, width as i32, height as i32).await?;
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
    let sees_every_face = user.has(Role::GateAgent) || user.has(Role::VettingOfficer);
    if !(sees_every_face || may_edit(&mut conn, event.id, id, &user).await?) {
        return Err(ApiError::not_found());
    }
    store::in_event(&mut conn, event.id, id)
        .await?
        .0
        .ensure_not_anonymized()?;
    let jpeg = store::photo(&mut conn, event.id, id).await?;
    Ok(HttpResponse::Ok()
        .content_type("image/jpeg")
        .insert_header((header::CACHE_CONTROL, "private, max-age=300"))
        .body(jpeg))
}
