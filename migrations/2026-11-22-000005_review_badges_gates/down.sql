ALTER TABLE outbox DROP COLUMN badge_accreditation_id;
DROP INDEX participants_event_name_idx;
DROP INDEX accreditations_event_category_idx;
DROP TABLE scans;
DROP TABLE badge_presence;
DROP TABLE badges;
DROP TABLE badge_sequences;
DROP TABLE accreditation_approvals;
ALTER TABLE events DROP COLUMN range_categories, DROP COLUMN sensitive_categories;
