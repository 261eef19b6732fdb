-- Each instance keeps the review queue's totals of the people filters (country, search,
-- exhibitor, delegation, vetting state; src/accreditations/totals.rs). The database itself tells
-- every instance when an event's totals may have changed, so that no write path can forget to:
-- PostgreSQL sends the notice at commit, and once per transaction however many rows of the
-- event changed (identical notices of one transaction are folded).
CREATE FUNCTION queue_totals_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('bamex_caches', 'queue_totals:' || OLD.event_id);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('bamex_caches', 'queue_totals:' || NEW.event_id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER accreditations_queue_totals_added_or_removed
    AFTER INSERT OR DELETE ON accreditations
    FOR EACH ROW
    EXECUTE FUNCTION queue_totals_changed();

-- Only what a queue filter looks at: a scan or a printed badge sends nothing.
CREATE TRIGGER accreditations_queue_totals_changed
    AFTER UPDATE OF event_id, participant_id, status, category, vetting_state ON accreditations
    FOR EACH ROW
    WHEN ((OLD.event_id, OLD.participant_id, OLD.status, OLD.category, OLD.vetting_state)
          IS DISTINCT FROM
          (NEW.event_id, NEW.participant_id, NEW.status, NEW.category, NEW.vetting_state))
    EXECUTE FUNCTION queue_totals_changed();

-- A participant counts through their accreditation, which is inserted after them.
CREATE TRIGGER participants_queue_totals_changed
    AFTER UPDATE OF event_id, exhibitor_id, delegation_id, nationality, first_name, last_name, organization
    ON participants
    FOR EACH ROW
    WHEN ((OLD.event_id, OLD.exhibitor_id, OLD.delegation_id, OLD.nationality, OLD.first_name,
           OLD.last_name, OLD.organization)
          IS DISTINCT FROM
          (NEW.event_id, NEW.exhibitor_id, NEW.delegation_id, NEW.nationality, NEW.first_name,
           NEW.last_name, NEW.organization))
    EXECUTE FUNCTION queue_totals_changed();

CREATE TRIGGER participants_queue_totals_removed
    AFTER DELETE ON participants
    FOR EACH ROW
    EXECUTE FUNCTION queue_totals_changed();
