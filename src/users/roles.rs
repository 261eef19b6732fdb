//! Roles and locales: closed sets, stored as text and checked by the database too.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Organizer,
    GateAgent,
    Exhibitor,
    DelegationLead,
    Visitor,
    Media,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::Organizer,
        Role::GateAgent,
        Role::Exhibitor,
        Role::DelegationLead,
        Role::Visitor,
        Role::Media,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Organizer => "organizer",
            Role::GateAgent => "gate_agent",
            Role::Exhibitor => "exhibitor",
            Role::DelegationLead => "delegation_lead",
            Role::Visitor => "visitor",
            Role::Media => "media",
        }
    }

    pub fn parse(raw: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == raw)
    }

    /// Roles as stored (the database refuses unknown ones), in alphabetical order, once each.
    pub fn to_db(roles: &[Role]) -> Vec<String> {
        let mut roles = roles.to_vec();
        roles.sort_by_key(|role| role.as_str());
        roles.dedup();
        roles.into_iter().map(|r| r.as_str().to_owned()).collect()
    }

    pub fn from_db(roles: &[String]) -> Vec<Role> {
        roles.iter().filter_map(|r| Role::parse(r)).collect()
    }
}

/// The languages the service writes in. French first: it is Mali's official language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    Fr,
    En,
    Tr,
}

impl Locale {
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::Fr => "fr",
            Locale::En => "en",
            Locale::Tr => "tr",
        }
    }

    /// Unknown or missing locales fall back to French.
    pub fn from_db(raw: &str) -> Locale {
        match raw {
            "en" => Locale::En,
            "tr" => Locale::Tr,
            _ => Locale::Fr,
        }
    }
}
