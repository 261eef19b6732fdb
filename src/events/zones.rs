//! The zones of the show a badge can open: the halls in Bamako and the demonstration range at
//! Koulikoro. Each event says which are open on which days (`zone_days`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The places a badge can open.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Zone {
    ExhibitionHalls,
    StaticDisplay,
    ConferenceRooms,
    VipLounge,
    PressCentre,
    /// The live-fire demonstration range at Koulikoro.
    DemonstrationRange,
}

impl Zone {
    pub const ALL: [Zone; 6] = [
        Zone::ExhibitionHalls,
        Zone::StaticDisplay,
        Zone::ConferenceRooms,
        Zone::VipLounge,
        Zone::PressCentre,
        Zone::DemonstrationRange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Zone::ExhibitionHalls => "exhibition_halls",
            Zone::StaticDisplay => "static_display",
            Zone::ConferenceRooms => "conference_rooms",
            Zone::VipLounge => "vip_lounge",
            Zone::PressCentre => "press_centre",
            Zone::DemonstrationRange => "demonstration_range",
        }
    }

    pub fn parse(raw: &str) -> Option<Zone> {
        Zone::ALL.into_iter().find(|z| z.as_str() == raw)
    }
}
