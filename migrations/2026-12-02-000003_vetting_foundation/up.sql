-- The host state's security vetting: officers who clear people, the categories each event has
-- vetted, and each accreditation's place on that track.
ALTER TABLE users DROP CONSTRAINT users_roles_known;
ALTER TABLE users ADD CONSTRAINT users_roles_known CHECK (
    roles <@ ARRAY['admin', 'organizer', 'gate_agent', 'exhibitor', 'delegation_lead', 'visitor',
                   'media', 'vetting_officer']::text[]
    AND array_position(roles, NULL) IS NULL);

-- Events that exist already vet nobody, so their badges keep coming as before; new events vet
-- every category but the general public.
ALTER TABLE events
    ADD COLUMN vetting_categories text[] NOT NULL DEFAULT '{}'
        CONSTRAINT events_vetting_categories_known CHECK (
            vetting_categories <@ ARRAY['exhibitor_staff', 'delegation_member', 'trade_visitor',
                                        'public_visitor', 'media', 'vip', 'organizer_staff',
                                        'contractor']::text[]
            AND array_position(vetting_categories, NULL) IS NULL);
ALTER TABLE events ALTER COLUMN vetting_categories
    SET DEFAULT '{contractor,delegation_member,exhibitor_staff,media,organizer_staff,trade_visitor,vip}';

-- NULL: the accreditation's category is not vetted at its event.
ALTER TABLE accreditations
    ADD COLUMN vetting_state text
        CONSTRAINT accreditations_vetting_state_known CHECK (
            vetting_state IN ('pending', 'cleared', 'refused', 'info_requested'));

-- Vetting starts when the accreditation is registered, whichever way it is registered, so that
-- it runs while the organizers review.
CREATE FUNCTION accreditations_start_vetting() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.vetting_state IS NULL THEN
        SELECT CASE WHEN NEW.category = ANY (vetting_categories) THEN 'pending' END
          INTO NEW.vetting_state
          FROM events WHERE id = NEW.event_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER accreditations_start_vetting BEFORE INSERT ON accreditations
    FOR EACH ROW EXECUTE FUNCTION accreditations_start_vetting();

-- What the services check a person against, beside the document number.
ALTER TABLE participants
    ADD COLUMN place_of_birth text
        CONSTRAINT participants_place_of_birth_length CHECK (length(place_of_birth) BETWEEN 1 AND 200),
    ADD COLUMN id_document_expires_on date;
