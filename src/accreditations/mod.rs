//! Accreditations: one participant's badge application for one event.

pub mod badges;
pub mod cards;
pub mod emails;
pub mod mine;
pub mod pdf;
pub mod printing;
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    ExhibitorStaff,
    DelegationMember,
    TradeVisitor,
    PublicVisitor,
    Media,
    Vip,
    OrganizerStaff,
    Contractor,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Category::ExhibitorStaff,
        Category::DelegationMember,
        Category::TradeVisitor,
        Category::PublicVisitor,
        Category::Media,
        Category::Vip,
        Category::OrganizerStaff,
        Category::Contractor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ExhibitorStaff => "exhibitor_staff",
            Self::DelegationMember => "delegation_member",
            Self::TradeVisitor => "trade_visitor",
            Self::PublicVisitor => "public_visitor",
            Self::Media => "media",
            Self::Vip => "vip",
            Self::OrganizerStaff => "organizer_staff",
            Self::Contractor => "contractor",
        }
    }

    pub fn from_db(raw: &str) -> Category {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == raw)
            .unwrap_or(Category::Contractor)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccreditationStatus {
    Pending,
    Approved,
    Rejected,
    InfoRequested,
    Revoked,
}

impl AccreditationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::InfoRequested => "info_requested",
            Self::Revoked => "revoked",
        }
    }

    pub fn from_db(raw: &str) -> Self {
        match raw {
            "approved" => Self::Approved,
            "rejected" => Self::Rejected,
            "info_requested" => Self::InfoRequested,
            "revoked" => Self::Revoked,
            _ => Self::Pending,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accreditations, check_for_backend(diesel::pg::Pg))]
pub struct Accreditation {
    pub id: Uuid,
    pub event_id: Uuid,
    pub participant_id: Uuid,
    pub category: String,
    pub status: String,
    pub version: i32,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_reason: Option<String>,
    pub protocol_level: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Accreditation {
    pub fn status(&self) -> AccreditationStatus {
        AccreditationStatus::from_db(&self.status)
    }

    pub fn category(&self) -> Category {
        Category::from_db(&self.category)
    }
}
