-- The days each zone is open, when not every day of the event: BAMEX holds its live
-- demonstrations at the Koulikoro range on the last days only. A zone absent from the object
-- is open every day. Shape: {"demonstration_range": ["2026-11-26", "2026-11-27"]}.
ALTER TABLE events ADD COLUMN zone_days jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT events_zone_days_object CHECK (jsonb_typeof(zone_days) = 'object');
