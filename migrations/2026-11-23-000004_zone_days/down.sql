ALTER TABLE events DROP COLUMN zone_days;
