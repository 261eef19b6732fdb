ALTER TABLE participants DROP COLUMN place_of_birth, DROP COLUMN id_document_expires_on;
DROP TRIGGER accreditations_start_vetting ON accreditations;
DROP FUNCTION accreditations_start_vetting();
ALTER TABLE accreditations DROP COLUMN vetting_state;
ALTER TABLE events DROP COLUMN vetting_categories;
UPDATE users SET roles = array_remove(roles, 'vetting_officer');
ALTER TABLE users DROP CONSTRAINT users_roles_known;
ALTER TABLE users ADD CONSTRAINT users_roles_known CHECK (
    roles <@ ARRAY['admin', 'organizer', 'gate_agent', 'exhibitor', 'delegation_lead', 'visitor',
                   'media']::text[]
    AND array_position(roles, NULL) IS NULL);
