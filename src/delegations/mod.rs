//! Official delegations: organizers create them and invite their lead by email; the lead
//! accepts, gets an account and registers the members, each a pending accreditation.

pub mod access;
pub mod emails;
pub mod invitations;
pub mod members;
pub mod protocol;
pub mod routes;
pub mod store;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::CurrentUser;
use crate::db::schema::delegations;
use crate::db::text_enum;
use crate::users::EmailAddress;
pub use protocol::ProtocolLevel;

text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum DelegationKind {
        Government = "government",
        ArmedForces = "armed_forces",
        Police = "police",
        DiplomaticCorps = "diplomatic_corps",
        Industry = "industry",
    }
}

text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum DelegationStatus {
        /// The lead has not accepted the invitation yet.
        Invited = "invited",
        /// The lead registers members.
        Active = "active",
        /// No more changes to the members.
        Closed = "closed",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = delegations, check_for_backend(diesel::pg::Pg))]
pub struct Delegation {
    pub id: Uuid,
    pub event_id: Uuid,
    pub country: String,
    pub name: String,
    pub kind: DelegationKind,
    pub protocol_level: ProtocolLevel,
    pub arrival_on: Option<NaiveDate>,
    pub departure_on: Option<NaiveDate>,
    pub member_limit: i32,
    pub member_count: i32,
    /// `None` once the retention purge removed it (and `lead_name` reads `[purged]`).
    pub lead_email: Option<EmailAddress>,
    pub lead_name: String,
    pub lead_id: Option<Uuid>,
    pub status: DelegationStatus,
    pub created_at: DateTime<Utc>,
}

impl Delegation {
    pub fn status(&self) -> DelegationStatus {
        self.status
    }

    pub fn protocol_level(&self) -> ProtocolLevel {
        self.protocol_level
    }

    /// Organizers see every delegation; a lead sees only their own.
    pub fn visible_to(&self, user: &CurrentUser) -> bool {
        user.is_organizer() || self.lead_id == Some(user.id)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DelegationView {
    pub id: Uuid,
    #[schema(example = "TR")]
    pub country: String,
    #[schema(example = "Ministry of National Defence of Türkiye")]
    pub name: String,
    pub kind: DelegationKind,
    pub protocol_level: ProtocolLevel,
    pub arrival_on: Option<NaiveDate>,
    pub departure_on: Option<NaiveDate>,
    pub member_limit: i32,
    /// Members holding or awaiting a badge: rejected and revoked ones give their place back.
    pub member_count: i32,
    /// Null once the event's personal data was purged.
    pub lead_email: Option<String>,
    pub lead_name: String,
    /// Whether the lead has accepted the invitation.
    pub lead_accepted: bool,
    pub status: DelegationStatus,
    pub created_at: DateTime<Utc>,
}

impl From<Delegation> for DelegationView {
    fn from(d: Delegation) -> Self {
        Self {
            id: d.id,
            kind: d.kind,
            protocol_level: d.protocol_level(),
            status: d.status(),
            lead_accepted: d.lead_id.is_some(),
            country: d.country,
            name: d.name,
            arrival_on: d.arrival_on,
            departure_on: d.departure_on,
            member_limit: d.member_limit,
            member_count: d.member_count,
            lead_email: d.lead_email.map(String::from),
            lead_name: d.lead_name,
            created_at: d.created_at,
        }
    }
}
