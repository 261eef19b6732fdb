DROP TABLE participant_photos;
ALTER TABLE accreditations DROP COLUMN protocol_level;
DROP INDEX participants_delegation_idx;
DROP INDEX participants_visitor_key;
ALTER TABLE participants DROP CONSTRAINT participants_one_group, DROP COLUMN press_card_number,
    DROP COLUMN media_outlet, DROP COLUMN user_id, DROP COLUMN delegation_id;
DROP TABLE delegation_invitations;
DROP TABLE delegations;
CREATE INDEX users_search_idx ON users (f_unaccent(lower(full_name)) text_pattern_ops);
