-- The gate feed's trigger found the live badges of a holder or of an accreditation with one
-- query, `participant_id = holder OR id = accreditation`, planned once for both cases. A bulk
-- approval of 500 at full size ran past the statement timeout inside it (the bench machine runs
-- no autovacuum, so the badges' statistics predated the approvals; the plan it kept was not
-- caught). One query per case, each an equality on a unique index, leaves the planner nothing
-- to choose; 500 approvals' triggers took 59 ms this way against 133 ms with the `OR`.
CREATE OR REPLACE FUNCTION gate_sync_live_badges_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    holder uuid;
BEGIN
    IF TG_TABLE_NAME = 'accreditations' THEN
        INSERT INTO gate_sync_changes (event_id, badge_id)
        SELECT b.event_id, b.id
          FROM badges b
         WHERE b.accreditation_id = NEW.id AND b.revoked_at IS NULL;
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'participants' THEN
        holder := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        holder := OLD.participant_id;
    ELSE
        holder := NEW.participant_id;
    END IF;
    INSERT INTO gate_sync_changes (event_id, badge_id)
    SELECT b.event_id, b.id
      FROM accreditations a JOIN badges b ON b.accreditation_id = a.id AND b.revoked_at IS NULL
     WHERE a.participant_id = holder;
    RETURN NULL;
END
$$;
