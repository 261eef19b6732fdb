//! Accreditations: one participant's badge application for one event.

pub mod badge_batch;
pub mod badge_layout;
pub mod badge_photo;
pub mod badge_sheets;
pub mod badges;
pub mod by_hand;
pub mod cards;
pub mod emails;
pub mod embedded_fonts;
pub mod mine;
pub mod office;
pub mod overrides;
pub mod paper;
pub mod pdf;
pub mod printable;
pub mod printing;
pub mod qr_modules;
pub mod queue;
pub mod routes;
pub mod store;
pub mod totals;
pub mod view;
pub mod workflow;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::accreditations;
use crate::db::text_enum;

text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum Category {
        ExhibitorStaff = "exhibitor_staff",
        DelegationMember = "delegation_member",
        TradeVisitor = "trade_visitor",
        PublicVisitor = "public_visitor",
        Media = "media",
        Vip = "vip",
        OrganizerStaff = "organizer_staff",
        Contractor = "contractor",
    }
}

text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum AccreditationStatus {
        Pending = "pending",
        Approved = "approved",
        Rejected = "rejected",
        InfoRequested = "info_requested",
        Revoked = "revoked",
    }
}

text_enum! {
    /// Where an accreditation stands with the host state's security services, beside the
    /// organizers' review; `None` where the event does not vet its category.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum VettingState {
        Pending = "pending",
        Cleared = "cleared",
        Refused = "refused",
        InfoRequested = "info_requested",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accreditations, check_for_backend(diesel::pg::Pg))]
pub struct Accreditation {
    pub id: Uuid,
    pub event_id: Uuid,
    pub participant_id: Uuid,
    pub category: Category,
    pub status: AccreditationStatus,
    pub version: i32,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_reason: Option<String>,
    pub protocol_level: Option<String>,
    pub vetting_state: Option<VettingState>,
    pub created_at: DateTime<Utc>,
    /// The organizer who entered it by hand; null for everything registered otherwise.
    pub created_by: Option<Uuid>,
    pub protocol_note: Option<String>,
}

impl Accreditation {
    pub fn status(&self) -> AccreditationStatus {
        self.status
    }

    pub fn category(&self) -> Category {
        self.category
    }

    /// Vetted and not (or no longer) cleared: no badge is issued for it now.
    pub fn awaits_clearance(&self) -> bool {
        self.vetting_state
            .is_some_and(|state| state != VettingState::Cleared)
    }
}
