//! Badge overrides: the accreditation office changes what the event's badge rules give one
//! person — zones and days added or taken away, always with a reason, every change audited. The
//! override travels in the signed QR: setting it on an accreditation whose badge is issued ends
//! that badge and issues the next (`B26-EXH-000123-2`), in the same transaction, so that no gate
//! honours the zones and days the old QR still names.

pub mod routes;
pub mod store;
pub mod supersede;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::badge_overrides;
use crate::events::zones::Zone;

/// An accreditation's override, as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = badge_overrides, check_for_backend(diesel::pg::Pg))]
pub struct BadgeOverride {
    pub accreditation_id: Uuid,
    pub add_zones: Vec<Zone>,
    pub remove_zones: Vec<Zone>,
    pub add_days: Vec<NaiveDate>,
    pub remove_days: Vec<NaiveDate>,
    pub reason: String,
    pub set_by: Option<Uuid>,
    pub set_at: DateTime<Utc>,
}

/// An override as the accreditation view and the CSV show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverrideView {
    pub add_zones: Vec<Zone>,
    pub remove_zones: Vec<Zone>,
    pub add_days: Vec<NaiveDate>,
    pub remove_days: Vec<NaiveDate>,
    pub reason: String,
    /// The organizer who set it (null once their account is gone).
    pub set_by: Option<Uuid>,
    pub set_at: DateTime<Utc>,
}

impl From<BadgeOverride> for OverrideView {
    fn from(found: BadgeOverride) -> Self {
        Self {
            add_zones: found.add_zones,
            remove_zones: found.remove_zones,
            add_days: found.add_days,
            remove_days: found.remove_days,
            reason: found.reason,
            set_by: found.set_by,
            set_at: found.set_at,
        }
    }
}

impl BadgeOverride {
    /// One CSV cell: `+vip_lounge -conference_rooms +2026-11-23 -2026-11-27`.
    pub fn summary(&self) -> String {
        let zones = |sign: char, zones: &[Zone]| -> Vec<String> {
            zones
                .iter()
                .map(|z| format!("{sign}{}", z.as_str()))
                .collect()
        };
        let days = |sign: char, days: &[NaiveDate]| -> Vec<String> {
            days.iter().map(|d| format!("{sign}{d}")).collect()
        };
        [
            zones('+', &self.add_zones),
            zones('-', &self.remove_zones),
            days('+', &self.add_days),
            days('-', &self.remove_days),
        ]
        .concat()
        .join(" ")
    }
}

/// A new override, checked: each list sorted and once, nothing both added and removed, days
/// within the event.
pub struct OverrideChange {
    pub add_zones: Vec<Zone>,
    pub remove_zones: Vec<Zone>,
    pub add_days: Vec<NaiveDate>,
    pub remove_days: Vec<NaiveDate>,
    pub reason: String,
}

impl OverrideChange {
    /// Nothing added or removed: the override is lifted.
    pub fn is_empty(&self) -> bool {
        self.add_zones.is_empty()
            && self.remove_zones.is_empty()
            && self.add_days.is_empty()
            && self.remove_days.is_empty()
    }
}
