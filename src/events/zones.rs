//! The zones of the show a badge can open: the halls in Bamako and the demonstration range at
//! Koulikoro. Each event says which are open on which days (`zone_days`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::text_enum;

text_enum! {
    /// The places a badge can open.
    #[derive(
        Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
    )]
    #[serde(rename_all = "snake_case")]
    pub enum Zone {
        ExhibitionHalls = "exhibition_halls",
        StaticDisplay = "static_display",
        ConferenceRooms = "conference_rooms",
        VipLounge = "vip_lounge",
        PressCentre = "press_centre",
        /// The live-fire demonstration range at Koulikoro.
        DemonstrationRange = "demonstration_range",
    }
}
