//! A delegation's protocol level, which decides some of its members' zones (the event's badge
//! rules say which). Apart, so that the badge rules can name it without the rest of delegations.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::text_enum;

text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum ProtocolLevel {
        Vvip = "vvip",
        Vip = "vip",
        Standard = "standard",
    }
}
