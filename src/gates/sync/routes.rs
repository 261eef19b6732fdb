//! `GET /api/v1/events/{event}/gate-sync` and `…/gate-sync/photos/{badge_id}`: an enrolled gate
//! device's feed of badges and ends (`feed.rs`), and its holders' photos with their ETag.

use std::time::Duration;

use actix_web::http::header::{self, EntityTag, Header, IfNoneMatch};
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::SyncPage;
use super::cursor::SyncCursor;
use super::feed::{self, hex};
use super::store;
use crate::error::{ApiError, ApiResult, Problem};
use crate::events;
use crate::gates::devices::caller::GateDevice;
use crate::gates::devices::store as devices;
use crate::participants;
use crate::state::AppState;

const DEFAULT_LIMIT: usize = 2000;
const MAX_LIMIT: usize = 5000;
/// How long a page waits, at most, for changes held back by an older transaction still
/// running (usually milliseconds), so that a change committed just before a sync is in it.
const HELD_BACK_TRIES: u32 = 20;
const HELD_BACK_PAUSE: Duration = Duration::from_millis(50);
/// Photos change rarely and their digest comes with every sync: a device revalidates after this.
const PHOTO_CACHE_CONTROL: &str = "private, max-age=3600";

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(gate_sync).service(gate_sync_photo);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SyncQuery {
    /// `next_cursor` of the previous page; none for a first sync.
    cursor: Option<String>,
    /// Badges and ends per page, 1 to 5000 (default 2000).
    #[param(minimum = 1, maximum = 5000)]
    limit: Option<usize>,
}

/// The gate sync feed (gate devices only): the badge keys, the live badges that open one of the
/// device's zones, and the badges that stopped opening gates since `cursor`, with when and why.
/// A first sync (no cursor) lists every live badge; call again with `next_cursor` while `more`
/// is true, and later from the last `next_cursor` for what changed.
#[utoipa::path(
    tag = "gates",
    security(("device_token" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026"), SyncQuery),
    responses(
        (status = 200, description = "A page; upsert `badges`, then delete `ends`", body = SyncPage),
        (status = 400, description = "A cursor this feed did not hand out (`invalid_cursor`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No bearer token (`unauthenticated`), an unknown or revoked device token (`invalid_device_token`, `device_revoked`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a gate device's token (`gate_device_required`), or a device of another event (`device_not_for_event`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A `limit` out of range (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/gate-sync")]
pub async fn gate_sync(
    state: web::Data<AppState>,
    device: GateDevice,
    query: web::Query<SyncQuery>,
) -> ApiResult<web::Json<SyncPage>> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::validation("limit", "must be between 1 and 5000"));
    }
    let cursor = query
        .cursor
        .as_deref()
        .map(SyncCursor::decode)
        .transpose()?;
    let event = {
        let conn = state.pool.get().await?;
        events::store::find_by_slug(&conn, &device.event_slug).await?
    };
    let mut tries = 0;
    let page = loop {
        tries += 1;
        // Not held across the pause: the pool's connections serve others meanwhile.
        let page = {
            let mut conn = state.pool.get().await?;
            feed::page(&mut conn, &event, &device.zones, cursor, limit).await?
        };
        if !page.held_back || tries == HELD_BACK_TRIES {
            break page;
        }
        tokio::time::sleep(HELD_BACK_PAUSE).await;
    };
    let mut conn = state.pool.get().await?;
    devices::synced(&mut conn, device.id).await?;
    Ok(web::Json(SyncPage {
        event: event.slug,
        keys: state.badge_keys.jwks(),
        badges: page.badges,
        ends: page.ends,
        next_cursor: page.next.encode(),
        more: page.more,
    }))
}

/// The photo of a badge's holder (gate devices only), for a live badge opening one of the
/// device's zones. Its ETag is the feed's `photo_digest`: send it in `If-None-Match` to get 304.
#[utoipa::path(
    tag = "gates",
    security(("device_token" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("badge_id" = Uuid, Path, description = "The badge's id (`badge_id` in the feed)"),
        ("If-None-Match" = Option<String>, Header, description = "The ETag (photo digest) the device holds"),
    ),
    responses(
        (status = 200, description = "The photo (400 × 500 JPEG), with `ETag` and `Cache-Control`", content_type = "image/jpeg"),
        (status = 304, description = "The device's copy is current"),
        (status = 401, description = "No bearer token (`unauthenticated`), an unknown or revoked device token (`invalid_device_token`, `device_revoked`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a gate device's token (`gate_device_required`), or a device of another event (`device_not_for_event`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No live badge of the event opening one of the device's zones, or no photo", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/gate-sync/photos/{badge_id}")]
pub async fn gate_sync_photo(
    state: web::Data<AppState>,
    device: GateDevice,
    request: HttpRequest,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (_, badge_id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let badge = store::badge_for_zones(&mut conn, device.event_id, &device.zones, badge_id)
        .await?
        .filter(store::BadgeState::opens)
        .ok_or_else(ApiError::not_found)?;
    let digest = badge
        .photo_sha256
        .as_deref()
        .ok_or_else(ApiError::not_found)?;
    let etag = EntityTag::new_strong(hex(digest));
    let current = match IfNoneMatch::parse(&request) {
        Ok(IfNoneMatch::Any) => true,
        Ok(IfNoneMatch::Items(tags)) => tags.iter().any(|tag| tag.weak_eq(&etag)),
        Err(_) => false,
    };
    if current {
        return Ok(HttpResponse::NotModified()
            .insert_header(header::ETag(etag))
            .insert_header((header::CACHE_CONTROL, PHOTO_CACHE_CONTROL))
            .finish());
    }
    let jpeg = participants::store::photo(&mut conn, device.event_id, badge.participant_id).await?;
    Ok(HttpResponse::Ok()
        .content_type("image/jpeg")
        .insert_header(header::ETag(etag))
        .insert_header((header::CACHE_CONTROL, PHOTO_CACHE_CONTROL))
        .body(jpeg))
}
