//! Exhibitors: a company's application to an event, its review, its booth, its staff and
//! contractor quotas, the pavilions companies exhibit in, and the public directory.

pub mod access;
pub mod cache;
pub mod contractors;
pub mod directory;
pub mod emails;
pub mod export;
pub mod lists;
pub mod pavilions;
pub mod quota;
pub mod review;
pub mod routes;
pub mod search;
pub mod staff;
pub mod store;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::CurrentUser;
use crate::db::schema::exhibitors;
use crate::db::text_enum;
use crate::users::EmailAddress;

text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum Sector {
        LandSystems = "land_systems",
        AirSystems = "air_systems",
        NavalSystems = "naval_systems",
        WeaponsMunitions = "weapons_munitions",
        Communications = "communications",
        SpaceSatellites = "space_satellites",
        HeavyWeapons = "heavy_weapons",
        CyberSecurity = "cyber_security",
        CivilProtectionPolicing = "civil_protection_policing",
        TrainingServices = "training_services",
    }
}

text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum ExhibitorStatus {
        Pending = "pending",
        Approved = "approved",
        Rejected = "rejected",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = exhibitors, check_for_backend(diesel::pg::Pg))]
pub struct Exhibitor {
    pub id: Uuid,
    pub event_id: Uuid,
    pub owner_id: Uuid,
    pub legal_name: String,
    pub display_name: String,
    pub country: String,
    pub city: String,
    pub website: Option<String>,
    pub description: String,
    pub sectors: Vec<Sector>,
    pub pavilion_id: Option<Uuid>,
    pub contact_name: Option<String>,
    pub contact_email: Option<EmailAddress>,
    pub contact_phone: Option<String>,
    pub status: ExhibitorStatus,
    pub decision_reason: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub booth_hall: Option<String>,
    pub booth_stand: Option<String>,
    pub booth_area_m2: Option<f64>,
    pub staff_quota_override: Option<i32>,
    pub staff_quota: i32,
    pub staff_count: i32,
    pub sort_key: String,
    pub created_at: DateTime<Utc>,
    pub contractor_quota: i32,
    pub contractor_count: i32,
}

impl Exhibitor {
    pub fn status(&self) -> ExhibitorStatus {
        self.status
    }
}

/// An exhibitor's two lists of people with limited places, each counted in its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadgeList {
    /// Its staff, within `staff_quota`.
    Staff,
    /// Its contractors (stand builders), within `contractor_quota`.
    Contractors,
}

impl BadgeList {
    /// One place of this list, as (staff, contractors) counts.
    pub fn one(self) -> (i32, i32) {
        match self {
            BadgeList::Staff => (1, 0),
            BadgeList::Contractors => (0, 1),
        }
    }
}

/// How much of an exhibitor a caller may see and do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Approved exhibitors, to anyone: the public directory entry.
    Public,
    /// The coordinator of the exhibitor's pavilion: reads it, whatever its status.
    Coordinator,
    /// The account that applied for the company.
    Owner,
    /// Organizers and admins.
    Office,
}

impl Access {
    /// What `viewer` may do with `exhibitor`; `None` when they may not even know it exists.
    pub fn of(
        viewer: Option<&CurrentUser>,
        exhibitor: &Exhibitor,
        coordinates_its_pavilion: bool,
    ) -> Option<Access> {
        match viewer {
            Some(user) if user.is_organizer() => Some(Access::Office),
            Some(user) if user.id == exhibitor.owner_id => Some(Access::Owner),
            Some(_) if coordinates_its_pavilion => Some(Access::Coordinator),
            _ if exhibitor.status() == ExhibitorStatus::Approved => Some(Access::Public),
            _ => None,
        }
    }

    /// May change the profile and register staff.
    pub fn manages(self) -> bool {
        self >= Access::Owner
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Booth {
    #[schema(example = "Hall A")]
    pub hall: String,
    #[schema(example = "A-12")]
    pub stand: String,
    #[schema(example = 18.0)]
    pub area_m2: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Contact {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// The accreditation office's last review of the company (its schema name sets it apart from
/// the accreditation decision).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ExhibitorDecision)]
pub struct Decision {
    pub reason: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// An exhibitor as the API shows it. `contact` and `decision` only reach the company itself
/// and the accreditation office.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExhibitorView {
    pub id: Uuid,
    #[schema(example = "Anadolu Savunma Sistemleri A.Ş.")]
    pub legal_name: String,
    #[schema(example = "Anadolu Savunma")]
    pub display_name: String,
    #[schema(example = "TR")]
    pub country: String,
    #[schema(example = "Ankara")]
    pub city: String,
    pub website: Option<String>,
    pub description: String,
    pub sectors: Vec<Sector>,
    pub pavilion_id: Option<Uuid>,
    pub status: ExhibitorStatus,
    pub booth: Option<Booth>,
    pub staff_quota: i32,
    /// Staff holding or awaiting a badge: rejected and revoked ones give their place back.
    pub staff_count: i32,
    /// How many contractors (stand builders) the exhibitor may register.
    pub contractor_quota: i32,
    /// Contractors holding or awaiting a badge, counted like the staff.
    pub contractor_count: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    pub created_at: DateTime<Utc>,
}

impl ExhibitorView {
    pub fn new(exhibitor: Exhibitor, access: Access) -> Self {
        let private = access.manages();
        let booth = match (
            exhibitor.booth_hall,
            exhibitor.booth_stand,
            exhibitor.booth_area_m2,
        ) {
            (Some(hall), Some(stand), Some(area_m2)) => Some(Booth {
                hall,
                stand,
                area_m2,
            }),
            _ => None,
        };
        Self {
            id: exhibitor.id,
            status: exhibitor.status,
            sectors: exhibitor.sectors,
            legal_name: exhibitor.legal_name,
            display_name: exhibitor.display_name,
            country: exhibitor.country,
            city: exhibitor.city,
            website: exhibitor.website,
            description: exhibitor.description,
            pavilion_id: exhibitor.pavilion_id,
            booth,
            staff_quota: exhibitor.staff_quota,
            staff_count: exhibitor.staff_count,
            contractor_quota: exhibitor.contractor_quota,
            contractor_count: exhibitor.contractor_count,
            contact: private.then(|| Contact {
                name: exhibitor.contact_name,
                email: exhibitor.contact_email.map(String::from),
                phone: exhibitor.contact_phone,
            }),
            decision: private.then_some(Decision {
                reason: exhibitor.decision_reason,
                decided_at: exhibitor.decided_at,
            }),
            created_at: exhibitor.created_at,
        }
    }
}

#[derive(Debug, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = crate::db::schema::pavilions, check_for_backend(diesel::pg::Pg))]
pub struct PavilionView {
    pub id: Uuid,
    #[schema(example = "The Peak Defense")]
    pub name: String,
    #[schema(example = "TR")]
    pub country: Option<String>,
    pub description: String,
    /// The account that coordinates the pavilion and sees its exhibitors.
    pub coordinator_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}
