-- An event inserted without badge rules (by hand, by a script) gets a new event's defaults, as
-- `BadgeRules::defaults(&BadgeRules::DEFAULT_RANGE)` writes them: contractors on build-up and
-- tear-down days, exhibitor staff from the build-up days on, the range for delegation members,
-- VIPs and organizer staff, the VIP lounge for VVIP and VIP delegations.
ALTER TABLE events ALTER COLUMN badge_rules SET DEFAULT '{
  "categories": [
    {"category": "contractor", "zones": ["exhibition_halls", "static_display"], "days": ["build_up", "tear_down"], "dates": []},
    {"category": "delegation_member", "zones": ["exhibition_halls", "static_display", "conference_rooms", "demonstration_range"], "days": ["show"], "dates": []},
    {"category": "exhibitor_staff", "zones": ["exhibition_halls", "static_display", "conference_rooms"], "days": ["build_up", "show"], "dates": []},
    {"category": "media", "zones": ["exhibition_halls", "static_display", "conference_rooms", "press_centre"], "days": ["show"], "dates": []},
    {"category": "organizer_staff", "zones": ["exhibition_halls", "static_display", "conference_rooms", "vip_lounge", "press_centre", "demonstration_range"], "days": ["show"], "dates": []},
    {"category": "public_visitor", "zones": ["exhibition_halls", "static_display"], "days": ["public"], "dates": []},
    {"category": "trade_visitor", "zones": ["exhibition_halls", "static_display", "conference_rooms"], "days": ["show"], "dates": []},
    {"category": "vip", "zones": ["exhibition_halls", "static_display", "conference_rooms", "vip_lounge", "demonstration_range"], "days": ["show"], "dates": []}
  ],
  "zone_days": {},
  "protocol_levels": [
    {"level": "vvip", "zones": ["vip_lounge"]},
    {"level": "vip", "zones": ["vip_lounge"]},
    {"level": "standard", "zones": []}
  ]
}'::jsonb;
