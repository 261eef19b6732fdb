//! Gates: badge scans with their verdict, the public badge-verification keys, and attendance.

pub mod recorder;
pub mod routes;
pub mod scans;
pub mod stats;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accreditations::Category;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Allowed,
    Denied,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DenialReason {
    InvalidSignature,
    UnknownBadge,
    Revoked,
    NotValidToday,
    ZoneNotAllowed,
    AlreadyInside,
}

impl DenialReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidSignature => "invalid_signature",
            Self::UnknownBadge => "unknown_badge",
            Self::Revoked => "revoked",
            Self::NotValidToday => "not_valid_today",
            Self::ZoneNotAllowed => "zone_not_allowed",
            Self::AlreadyInside => "already_inside",
        }
    }

    pub fn from_db(raw: &str) -> Option<Self> {
        [
            Self::InvalidSignature,
            Self::UnknownBadge,
            Self::Revoked,
            Self::NotValidToday,
            Self::ZoneNotAllowed,
            Self::AlreadyInside,
        ]
        .into_iter()
        .find(|r| r.as_str() == raw)
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
