//! Editions of the show (`bamex-2026`): dates, venue, public days, build-up and tear-down days,
//! status, registration window, badge rules.

pub mod badge_rules;
pub mod path;
pub mod routes;
pub mod store;
pub mod zones;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accreditations::Category;
use crate::db::schema::events;
use crate::db::text_enum;
use crate::error::ApiError;
pub use badge_rules::ZoneDays;
use badge_rules::{BadgeRules, DaySet, StoredBadgeRules};
use zones::Zone;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events, check_for_backend(diesel::pg::Pg))]
pub struct Event {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub venue: String,
    pub time_zone: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub public_days: Vec<NaiveDate>,
    pub status: EventStatus,
    pub auto_approve_public: bool,
    pub registration_opens_at: Option<DateTime<Utc>>,
    pub registration_closes_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sensitive_categories: Vec<Category>,
    /// Categories the host state's security services clear before a badge is issued.
    pub vetting_categories: Vec<Category>,
    /// When the retention purge removed the personal data of its participants.
    pub personal_data_purged_at: Option<DateTime<Utc>>,
    /// Days before `starts_on` when stands are built, sorted.
    pub build_up_days: Vec<NaiveDate>,
    /// Days after `ends_on` when stands are taken down, sorted.
    pub tear_down_days: Vec<NaiveDate>,
    #[diesel(deserialize_as = StoredBadgeRules)]
    pub badge_rules: BadgeRules,
}

text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum EventStatus {
        /// Being prepared: visible to organizers only.
        Draft = "draft",
        /// Published and, within its window, taking registrations.
        Open = "open",
        /// Over, or no longer taking registrations.
        Closed = "closed",
    }
}

impl Event {
    pub fn status(&self) -> EventStatus {
        self.status
    }

    /// Applications and registrations are taken only while the event is open and inside its
    /// registration window — and never once its personal data was purged, since the purge does
    /// not come back for people registered later.
    pub fn check_registration_open(&self, now: DateTime<Utc>) -> Result<(), ApiError> {
        let before = self.registration_opens_at.is_some_and(|opens| now < opens);
        let after = self
            .registration_closes_at
            .is_some_and(|closes| now >= closes);
        let purged = self.personal_data_purged_at.is_some();
        if self.status() != EventStatus::Open || before || after || purged {
            return Err(ApiError::Conflict {
                code: "registration_closed",
                detail: format!("{} is not taking registrations now.", self.name),
            });
        }
        Ok(())
    }

    /// Whether people of `category` are cleared by the security services before their badge.
    pub fn vets(&self, category: Category) -> bool {
        self.vetting_categories.contains(&category)
    }

    pub fn zone_open_on(&self, zone: Zone, day: NaiveDate) -> bool {
        self.badge_rules
            .zone_days
            .get(&zone)
            .is_none_or(|days| days.contains(&day))
    }

    /// The days each of `zones` is open, for those open on some days only: what a badge opening
    /// `zones` carries in its QR (`zone_days`), and what the gates' sync feed sends with it.
    pub fn zone_days_of(&self, zones: &[Zone]) -> badge_rules::ZoneDays {
        self.badge_rules
            .zone_days
            .iter()
            .filter(|(zone, _)| zones.contains(zone))
            .map(|(zone, days)| (*zone, days.clone()))
            .collect()
    }

    /// The first day a badge of the event can be valid: the first build-up day, or `starts_on`.
    pub fn first_day(&self) -> NaiveDate {
        self.build_up_days
            .first()
            .copied()
            .unwrap_or(self.starts_on)
            .min(self.starts_on)
    }

    /// The last day a badge of the event can be valid: the last tear-down day, or `ends_on`.
    pub fn last_day(&self) -> NaiveDate {
        self.tear_down_days
            .last()
            .copied()
            .unwrap_or(self.ends_on)
            .max(self.ends_on)
    }

    /// The days of a named day set.
    pub fn days_of(&self, set: DaySet) -> Vec<NaiveDate> {
        match set {
            DaySet::BuildUp => self.build_up_days.clone(),
            DaySet::Show => self
                .starts_on
                .iter_days()
                .take_while(|day| *day <= self.ends_on)
                .collect(),
            DaySet::Public => self.public_days.clone(),
            DaySet::TearDown => self.tear_down_days.clone(),
        }
    }

    /// The year in two digits, for badge numbers (`B26-…`).
    pub fn year_suffix(&self) -> String {
        self.starts_on.format("%y").to_string()
    }
}

/// An event as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    #[schema(example = "bamex-2026")]
    pub slug: String,
    #[schema(example = "BAMEX'26")]
    pub name: String,
    #[schema(example = "Parc des Expositions de Bamako")]
    pub venue: String,
    /// IANA zone of the venue; all timestamps are UTC.
    #[schema(example = "Africa/Bamako")]
    pub time_zone: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// Days open to the general public; the others are trade-only.
    pub public_days: Vec<NaiveDate>,
    /// Days before `starts_on` when stands are built (exhibitor staff and contractors by
    /// default).
    pub build_up_days: Vec<NaiveDate>,
    /// Days after `ends_on` when stands are taken down (contractors by default). Badges expire
    /// after the last of them.
    pub tear_down_days: Vec<NaiveDate>,
    pub status: EventStatus,
    /// Public-visitor registrations are approved at once.
    pub auto_approve_public: bool,
    pub registration_opens_at: Option<DateTime<Utc>>,
    pub registration_closes_at: Option<DateTime<Utc>>,
    /// Categories whose approval needs two different organizers ("four eyes").
    pub sensitive_categories: Vec<Category>,
    /// Categories whose badges open the demonstration range (derived from the badge rules).
    pub range_categories: Vec<Category>,
    /// Categories the host state's security services clear: their badges are issued only once
    /// the person is both approved and cleared.
    pub vetting_categories: Vec<Category>,
    /// Zones open on some days only; the others are open every day of the event (the badge
    /// rules' `zone_days`).
    #[schema(value_type = BTreeMap<String, Vec<NaiveDate>>, example = json!({"demonstration_range": ["2026-11-26", "2026-11-27"]}))]
    pub zone_days: ZoneDays,
    /// Set once the retention period after the event has passed and its participants' personal
    /// data was purged: their names read `[purged]` from then on.
    pub personal_data_purged_at: Option<DateTime<Utc>>,
}

impl From<Event> for EventView {
    fn from(event: Event) -> Self {
        Self {
            status: event.status(),
            range_categories: event.badge_rules.range_categories(),
            zone_days: event.badge_rules.zone_days,
            build_up_days: event.build_up_days,
            tear_down_days: event.tear_down_days,
            slug: event.slug,
            name: event.name,
            venue: event.venue,
            time_zone: event.time_zone,
            starts_on: event.starts_on,
            ends_on: event.ends_on,
            public_days: event.public_days,
            auto_approve_public: event.auto_approve_public,
            registration_opens_at: event.registration_opens_at,
            registration_closes_at: event.registration_closes_at,
            sensitive_categories: event.sensitive_categories,
            vetting_categories: event.vetting_categories,
            personal_data_purged_at: event.personal_data_purged_at,
        }
    }
}

/// An event slug: lower-case letters and digits in dash-separated words, at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw.split('-').all(|word| {
                !word.is_empty()
                    && word
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(
                "must be lower-case words of letters and digits joined by dashes, such as bamex-2026",
            )
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
