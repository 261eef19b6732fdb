DROP TABLE badge_overrides;

ALTER TABLE events
    ADD COLUMN range_categories text[] NOT NULL DEFAULT '{delegation_member,vip,organizer_staff}',
    ADD COLUMN zone_days jsonb NOT NULL DEFAULT '{}'
        CONSTRAINT events_zone_days_object CHECK (jsonb_typeof(zone_days) = 'object');

UPDATE events SET
    zone_days = coalesce(badge_rules -> 'zone_days', '{}'::jsonb),
    range_categories = ARRAY(
        SELECT rule ->> 'category' FROM jsonb_array_elements(badge_rules -> 'categories') AS rule
         WHERE rule -> 'zones' ? 'demonstration_range' ORDER BY 1);

ALTER TABLE events
    DROP COLUMN badge_rules,
    DROP COLUMN build_up_days,
    DROP COLUMN tear_down_days;

DROP FUNCTION dates_all_before(date[], date);
DROP FUNCTION dates_all_after(date[], date);
