//! An event's badge rules: which zones and which days a badge of each category opens (the
//! category × zone × day matrix), the days some zones open at all, and the zones a delegation's
//! protocol level adds for its members. Stored as one document on the event
//! (`events.badge_rules`); admins read and replace it (`GET`/`PUT …/badge-rules`). A badge takes
//! the rules in force when it is issued (`accreditations/badges.rs::entitlements`).
//!
//! A category's days are named day sets of the event (`build_up`, `show`, `public`,
//! `tear_down`) plus explicit `dates`, so that moving the event's dates moves the badges' days
//! with them.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use diesel::deserialize::{self, FromSql};
use diesel::pg::{Pg, PgValue};
use diesel::sql_types::Jsonb;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::zones::Zone;
use crate::accreditations::Category;
use crate::db::text_enum;
use crate::delegations::protocol::ProtocolLevel;
use crate::error::FieldError;

text_enum! {
    /// Named days of an event, as a badge rule lists them.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum DaySet {
        /// The event's `build_up_days`, before the show.
        BuildUp = "build_up",
        /// Every day from `starts_on` to `ends_on`.
        Show = "show",
        /// The event's `public_days`.
        Public = "public",
        /// The event's `tear_down_days`, after the show.
        TearDown = "tear_down",
    }
}

/// The days some zones are open, when not every day of their badges.
pub type ZoneDays = BTreeMap<Zone, Vec<NaiveDate>>;

/// What a badge of one category opens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryRule {
    pub category: Category,
    /// The zones the badge opens.
    #[schema(min_items = 1)]
    pub zones: Vec<Zone>,
    /// The day sets the badge is valid on.
    pub days: Vec<DaySet>,
    /// Further days the badge is valid on, within the event's span (first build-up day to last
    /// tear-down day).
    #[serde(default)]
    pub dates: Vec<NaiveDate>,
}

/// The zones members of delegations of one protocol level get on top of their category's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProtocolRule {
    pub level: ProtocolLevel,
    pub zones: Vec<Zone>,
}

/// The badge rules of an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BadgeRules {
    /// One rule for every category.
    pub categories: Vec<CategoryRule>,
    /// Zones open on some days only (the demonstration range on the last days, say), whatever
    /// the badge; a zone left out is open on every day of its badges.
    #[schema(value_type = BTreeMap<String, Vec<NaiveDate>>, example = json!({"demonstration_range": ["2026-11-26", "2026-11-27"]}))]
    pub zone_days: ZoneDays,
    /// Extra zones by the delegation's protocol level; a level left out adds none.
    pub protocol_levels: Vec<ProtocolRule>,
}

impl Category {
    /// The zones a category's badge opens unless the event says otherwise (the range comes on
    /// top for the event's range categories; delegation members' VIP lounge from their level).
    fn default_zones(self) -> &'static [Zone] {
        use Zone::*;
        match self {
            Category::ExhibitorStaff | Category::TradeVisitor | Category::DelegationMember => {
                &[ExhibitionHalls, StaticDisplay, ConferenceRooms]
            }
            Category::PublicVisitor | Category::Contractor => &[ExhibitionHalls, StaticDisplay],
            Category::Media => &[ExhibitionHalls, StaticDisplay, ConferenceRooms, PressCentre],
            Category::Vip => &[ExhibitionHalls, StaticDisplay, ConferenceRooms, VipLounge],
            Category::OrganizerStaff => &[
                ExhibitionHalls,
                StaticDisplay,
                ConferenceRooms,
                VipLounge,
                PressCentre,
            ],
        }
    }

    /// The days a category's badge is valid on unless the event says otherwise: stand builders
    /// work while the show is built and taken down, exhibitor staff from the build-up on.
    fn default_days(self) -> &'static [DaySet] {
        match self {
            Category::PublicVisitor => &[DaySet::Public],
            Category::ExhibitorStaff => &[DaySet::BuildUp, DaySet::Show],
            Category::Contractor => &[DaySet::BuildUp, DaySet::TearDown],
            _ => &[DaySet::Show],
        }
    }
}

impl BadgeRules {
    /// The rules of a new event: the default matrix, the range for `range_categories`, VVIP and
    /// VIP delegation members in the VIP lounge.
    pub fn defaults(range_categories: &[Category]) -> Self {
        let mut rules = Self {
            categories: Category::ALL
                .iter()
                .map(|&category| CategoryRule {
                    category,
                    zones: category.default_zones().to_vec(),
                    days: category.default_days().to_vec(),
                    dates: Vec::new(),
                })
                .collect(),
            zone_days: ZoneDays::new(),
            protocol_levels: [ProtocolLevel::Vvip, ProtocolLevel::Vip]
                .into_iter()
                .map(|level| ProtocolRule {
                    level,
                    zones: vec![Zone::VipLounge],
                })
                .chain([ProtocolRule {
                    level: ProtocolLevel::Standard,
                    zones: Vec::new(),
                }])
                .collect(),
        };
        rules.set_range_categories(range_categories);
        rules.tidy()
    }

    /// The default range categories of a new event.
    pub const DEFAULT_RANGE: [Category; 3] = [
        Category::DelegationMember,
        Category::Vip,
        Category::OrganizerStaff,
    ];

    pub fn rule(&self, category: Category) -> Option<&CategoryRule> {
        self.categories
            .iter()
            .find(|rule| rule.category == category)
    }

    pub fn protocol_zones(&self, level: ProtocolLevel) -> &[Zone] {
        self.protocol_levels
            .iter()
            .find(|rule| rule.level == level)
            .map_or(&[][..], |rule| rule.zones.as_slice())
    }

    /// The categories whose badges open the demonstration range, by name.
    pub fn range_categories(&self) -> Vec<Category> {
        let mut categories: Vec<Category> = self
            .categories
            .iter()
            .filter(|rule| rule.zones.contains(&Zone::DemonstrationRange))
            .map(|rule| rule.category)
            .collect();
        categories.sort_by_key(|category| category.as_str());
        categories
    }

    /// Opens the demonstration range to exactly `categories` (the events' `range_categories`).
    pub fn set_range_categories(&mut self, categories: &[Category]) {
        for rule in &mut self.categories {
            rule.zones.retain(|zone| *zone != Zone::DemonstrationRange);
            if categories.contains(&rule.category) {
                rule.zones.push(Zone::DemonstrationRange);
            }
        }
    }

    /// The rules as stored: categories by name, each list sorted and once.
    pub fn tidy(mut self) -> Self {
        fn sorted<T: Ord>(items: &mut Vec<T>) {
            items.sort();
            items.dedup();
        }
        for rule in &mut self.categories {
            sorted(&mut rule.zones);
            sorted(&mut rule.days);
            sorted(&mut rule.dates);
        }
        self.categories.sort_by_key(|rule| rule.category.as_str());
        for days in self.zone_days.values_mut() {
            sorted(days);
        }
        for rule in &mut self.protocol_levels {
            sorted(&mut rule.zones);
        }
        self.protocol_levels.sort_by_key(|rule| rule.level.as_str());
        self
    }

    /// Checks the rules against the event's span (`first` build-up day to `last` tear-down
    /// day): every category once, each with zones and days, dates inside the span.
    pub fn check(&self, first: NaiveDate, last: NaiveDate, errors: &mut Vec<FieldError>) {
        let inside = |day: &NaiveDate| *day >= first && *day <= last;
        let mut seen = BTreeSet::new();
        for (i, rule) in self.categories.iter().enumerate() {
            let field = |name: &str| format!("categories[{i}].{name}");
            if !seen.insert(rule.category.as_str()) {
                errors.push(FieldError::new(field("category"), "is listed twice"));
            }
            if rule.zones.is_empty() {
                errors.push(FieldError::new(
                    field("zones"),
                    "must list at least one zone",
                ));
            }
            if rule.days.is_empty() && rule.dates.is_empty() {
                errors.push(FieldError::new(
                    field("days"),
                    "a rule needs a day set or a date",
                ));
            }
            if !rule.dates.iter().all(inside) {
                errors.push(FieldError::new(
                    field("dates"),
                    "must fall within the event, build-up and tear-down days included",
                ));
            }
        }
        let missing: Vec<&str> = Category::ALL
            .iter()
            .map(|category| category.as_str())
            .filter(|name| !seen.contains(name))
            .collect();
        if !missing.is_empty() {
            errors.push(FieldError::new(
                "categories",
                format!(
                    "must hold a rule for every category; missing: {}",
                    missing.join(", ")
                ),
            ));
        }
        if self
            .zone_days
            .values()
            .any(|days| days.is_empty() || !days.iter().all(inside))
        {
            errors.push(FieldError::new(
                "zone_days",
                "each zone listed needs days within the event, build-up and tear-down days included (leave a zone out to open it every day)",
            ));
        }
        let mut levels = BTreeSet::new();
        for (i, rule) in self.protocol_levels.iter().enumerate() {
            if !levels.insert(rule.level.as_str()) {
                errors.push(FieldError::new(
                    format!("protocol_levels[{i}].level"),
                    "is listed twice",
                ));
            }
        }
    }
}

/// `events.badge_rules` as read, parsed once when the event loads. Rules that do not parse fail
/// the load rather than reading as some default at the gates.
#[derive(diesel::deserialize::FromSqlRow)]
pub struct StoredBadgeRules(BadgeRules);

impl FromSql<Jsonb, Pg> for StoredBadgeRules {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        let value = <serde_json::Value as FromSql<Jsonb, Pg>>::from_sql(bytes)?;
        Ok(Self(serde_json::from_value(value)?))
    }
}

impl From<StoredBadgeRules> for BadgeRules {
    fn from(stored: StoredBadgeRules) -> Self {
        stored.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    #[test]
    fn defaults_give_the_range_to_range_categories_and_the_lounge_by_level() {
        let rules = BadgeRules::defaults(&BadgeRules::DEFAULT_RANGE);
        assert_eq!(
            rules.range_categories(),
            [
                Category::DelegationMember,
                Category::OrganizerStaff,
                Category::Vip
            ]
        );
        assert_eq!(rules.protocol_zones(ProtocolLevel::Vip), [Zone::VipLounge]);
        assert!(rules.protocol_zones(ProtocolLevel::Standard).is_empty());
        let contractor = rules.rule(Category::Contractor).unwrap();
        assert_eq!(contractor.days, [DaySet::BuildUp, DaySet::TearDown]);
        let mut errors = Vec::new();
        rules.check(day(20), day(30), &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn rules_missing_a_category_or_out_of_the_span_are_refused() {
        let mut rules = BadgeRules::defaults(&[]);
        rules
            .categories
            .retain(|rule| rule.category != Category::Media);
        rules.categories[0].dates = vec![day(30)];
        let mut errors = Vec::new();
        rules.check(day(20), day(28), &mut errors);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["categories[0].dates", "categories"], "{errors:?}");
    }
}
