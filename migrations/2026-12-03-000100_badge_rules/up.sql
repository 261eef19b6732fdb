-- Build-up and tear-down days around the show, and each event's badge rules: the category ×
-- zone × day matrix, the zones' opening days and the protocol levels' extra zones, as one
-- document (`events/badge_rules.rs` reads and checks it). `range_categories` and `zone_days` fold
-- into it; `public_days` stays (the `public_days` day set names it).

CREATE FUNCTION dates_all_before(days date[], bound date) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$ SELECT coalesce(bool_and(d < bound), true) FROM unnest(days) AS d $$;

CREATE FUNCTION dates_all_after(days date[], bound date) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$ SELECT coalesce(bool_and(d > bound), true) FROM unnest(days) AS d $$;

ALTER TABLE events
    ADD COLUMN build_up_days date[] NOT NULL DEFAULT '{}',
    ADD COLUMN tear_down_days date[] NOT NULL DEFAULT '{}',
    ADD COLUMN badge_rules jsonb,
    ADD CONSTRAINT events_build_up_before_show CHECK (dates_all_before(build_up_days, starts_on)),
    ADD CONSTRAINT events_tear_down_after_show CHECK (dates_all_after(tear_down_days, ends_on));

-- Today's behaviour, exactly: the hard-coded zones, the range for `range_categories`, every show
-- day (public days for public visitors), the zone schedule as it was. Delegation members' VIP
-- lounge now comes from their protocol level (VVIP and VIP; standard members no longer get it).
UPDATE events e SET badge_rules = jsonb_build_object(
    'categories', (
        SELECT jsonb_agg(jsonb_build_object(
                   'category', c.category,
                   'zones', to_jsonb(c.zones || CASE WHEN c.category = ANY (e.range_categories)
                                                     THEN ARRAY['demonstration_range']
                                                     ELSE ARRAY[]::text[] END),
                   'days', to_jsonb(c.days),
                   'dates', '[]'::jsonb)
                 ORDER BY c.category)
          FROM (VALUES
              ('contractor', ARRAY['exhibition_halls', 'static_display'], ARRAY['show']),
              ('delegation_member', ARRAY['exhibition_halls', 'static_display', 'conference_rooms'], ARRAY['show']),
              ('exhibitor_staff', ARRAY['exhibition_halls', 'static_display', 'conference_rooms'], ARRAY['build_up', 'show']),
              ('media', ARRAY['exhibition_halls', 'static_display', 'conference_rooms', 'press_centre'], ARRAY['show']),
              ('organizer_staff', ARRAY['exhibition_halls', 'static_display', 'conference_rooms', 'vip_lounge', 'press_centre'], ARRAY['show']),
              ('public_visitor', ARRAY['exhibition_halls', 'static_display'], ARRAY['public']),
              ('trade_visitor', ARRAY['exhibition_halls', 'static_display', 'conference_rooms'], ARRAY['show']),
              ('vip', ARRAY['exhibition_halls', 'static_display', 'conference_rooms', 'vip_lounge'], ARRAY['show'])
          ) AS c (category, zones, days)),
    'zone_days', e.zone_days,
    'protocol_levels', '[{"level": "vvip", "zones": ["vip_lounge"]},
                         {"level": "vip", "zones": ["vip_lounge"]},
                         {"level": "standard", "zones": []}]'::jsonb);

ALTER TABLE events
    ALTER COLUMN badge_rules SET NOT NULL,
    ADD CONSTRAINT events_badge_rules_object CHECK (jsonb_typeof(badge_rules) = 'object'),
    DROP COLUMN range_categories,
    DROP COLUMN zone_days;

-- Organizers' per-person changes to what the badge rules give an accreditation: zones and days
-- added or taken away, with the reason (its history is in the audit trail).
CREATE TABLE badge_overrides (
    accreditation_id uuid PRIMARY KEY REFERENCES accreditations (id) ON DELETE CASCADE,
    add_zones text[] NOT NULL DEFAULT '{}',
    remove_zones text[] NOT NULL DEFAULT '{}',
    add_days date[] NOT NULL DEFAULT '{}',
    remove_days date[] NOT NULL DEFAULT '{}',
    reason text NOT NULL CONSTRAINT badge_overrides_reason_given CHECK (length(btrim(reason)) > 0),
    set_by uuid REFERENCES users (id) ON DELETE SET NULL,
    set_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT badge_overrides_known_zones CHECK (
        (add_zones || remove_zones) <@ ARRAY['exhibition_halls', 'static_display', 'conference_rooms',
                                             'vip_lounge', 'press_centre', 'demonstration_range']),
    CONSTRAINT badge_overrides_zones_disjoint CHECK (NOT (add_zones && remove_zones)),
    CONSTRAINT badge_overrides_days_disjoint CHECK (NOT (add_days && remove_days)),
    CONSTRAINT badge_overrides_not_empty CHECK (
        cardinality(add_zones) + cardinality(remove_zones) + cardinality(add_days)
            + cardinality(remove_days) > 0)
);
