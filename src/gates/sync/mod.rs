//! The gate sync feed: `GET /api/v1/events/{event}/gate-sync` hands an enrolled gate device, in
//! pages, everything it needs to decide offline — the badge keys, the live badges that open one
//! of its zones with what a guard checks a face against, and every badge that stopped opening
//! gates since its last cursor, with the time and the reason. Photos come separately, with an
//! ETag (`…/gate-sync/photos/{badge_id}`).
//!
//! A first sync (no cursor) pages through the event's live badges by id (`feed.rs`), then
//! continues from the changes log, which triggers fill (migration `2026-12-04-000100_gate_sync`):
//! the log is read in the writing transactions' order, only below the oldest transaction still
//! running, so a row never appears behind a cursor handed out (`store.rs`). Each row only names
//! a badge; the page says what that badge is now, so a change read twice is harmless.

pub mod cursor;
pub mod feed;
pub mod routes;
pub mod store;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accreditations::Category;
use crate::events::zones::Zone;

/// A badge a device may let in, with the minimum a guard needs to check the face.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncedBadge {
    pub badge_id: Uuid,
    #[schema(example = "B26-EXH-000123")]
    pub number: String,
    #[schema(example = "Awa Konaté")]
    pub name: String,
    pub organization: String,
    /// ISO 3166-1 alpha-2, the holder's nationality.
    #[schema(example = "ML")]
    pub country: String,
    pub category: Category,
    pub zones: Vec<Zone>,
    pub days: Vec<NaiveDate>,
    /// Those of `zones` open on some days only, with those days (as in the QR's claims, from
    /// the event's schedule now).
    #[schema(value_type = Object, example = json!({"demonstration_range": ["2026-11-13"]}))]
    pub zone_days: BTreeMap<Zone, Vec<NaiveDate>>,
    /// `/api/v1/events/{event}/gate-sync/photos/{badge_id}`; null without a photo.
    pub photo_url: Option<String>,
    /// SHA-256 of the photo, hex: the photo's ETag. Fetch it again only when this changes.
    pub photo_digest: Option<String>,
    /// When the badge or its holder's details last changed.
    pub changed_at: DateTime<Utc>,
}

/// Why a badge no longer opens any gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Revoked by the organizers.
    Revoked,
    /// Replaced by a newer badge (a reissue, a re-signed QR), which comes in `badges`.
    Superseded,
    /// Reported lost or stolen.
    ReportedLost,
    /// Refused by the security services.
    VettingRefused,
}

/// A badge that stopped opening gates: delete it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndedBadge {
    pub badge_id: Uuid,
    #[schema(example = "B26-EXH-000123")]
    pub number: String,
    pub reason: EndReason,
    /// When it ended.
    pub at: DateTime<Utc>,
}

/// One page of the feed. Apply it by upserting `badges` by `badge_id`, then deleting every
/// `badge_id` of `ends` (a badge id is never in both).
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncPage {
    #[schema(example = "bamex-2026")]
    pub event: String,
    /// The badge verification keys, exactly as `GET /.well-known/jwks.json` answers them.
    #[schema(value_type = Object)]
    pub keys: serde_json::Value,
    pub badges: Vec<SyncedBadge>,
    pub ends: Vec<EndedBadge>,
    /// Send it as `cursor` next time (always present).
    pub next_cursor: String,
    /// True: call again now with `next_cursor`; false: the device is up to date.
    pub more: bool,
}
