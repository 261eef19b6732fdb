//! Gates: badge scans with their verdict, the gate devices that make them, the public
//! badge-verification keys, and attendance.

pub mod admission;
pub mod devices;
pub mod export;
pub mod figures;
pub mod offline;
pub mod recorder;
pub mod routes;
pub mod scanner;
pub mod scans;
pub mod stats;
pub mod store;
pub mod sync;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accreditations::Category;
use crate::db::text_enum;

text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum Direction {
        In = "in",
        Out = "out",
    }
}

text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum Verdict {
        Allowed = "allowed",
        Denied = "denied",
    }
}

text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum DenialReason {
        InvalidSignature = "invalid_signature",
        UnknownBadge = "unknown_badge",
        Revoked = "revoked",
        /// A newer badge replaced this one (a reissue): only the newest QR opens the gates.
        Superseded = "superseded",
        /// The holder reported this badge lost or stolen.
        ReportedLost = "reported_lost",
        NotValidToday = "not_valid_today",
        ZoneNotAllowed = "zone_not_allowed",
        AlreadyInside = "already_inside",
    }
}

/// The minimum a guard needs to recognise the holder.
#[derive(Debug, Serialize, ToSchema)]
pub struct Holder {
    pub name: String,
    pub organization: String,
    pub country: String,
    pub category: Category,
    pub badge_number: String,
    pub photo_url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScanResult {
    pub scan_id: Uuid,
    pub verdict: Verdict,
    pub reason: Option<DenialReason>,
    pub holder: Option<Holder>,
}
