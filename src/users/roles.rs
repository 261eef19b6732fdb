//! Roles and locales: closed sets, stored as text and checked by the database too.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::text_enum;

text_enum! {
    #[derive(
        Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
    )]
    #[serde(rename_all = "snake_case")]
    pub enum Role {
        Admin = "admin",
        Organizer = "organizer",
        GateAgent = "gate_agent",
        Exhibitor = "exhibitor",
        DelegationLead = "delegation_lead",
        Visitor = "visitor",
        Media = "media",
        /// The host state's security services' liaison: clears people before their badges
        /// open a gate.
        VettingOfficer = "vetting_officer",
    }
}

impl Role {
    /// Roles as stored (the database refuses unknown ones), in alphabetical order, once each.
    pub fn to_db(roles: &[Role]) -> Vec<String> {
        let mut roles = roles.to_vec();
        roles.sort_by_key(|role| role.as_str());
        roles.dedup();
        roles.into_iter().map(|r| r.as_str().to_owned()).collect()
    }
}

text_enum! {
    /// The languages the service writes in. French first: it is Mali's official language.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum Locale {
        #[default]
        Fr = "fr",
        En = "en",
        Tr = "tr",
    }
}
