-- The gate feed's trigger found the live badges of a holder or of an accreditation with one
-- query, `participant_id = holder OR id = accreditation`: PL/pgSQL keeps a generic plan for it,
-- and with the badges table's statistics from before a day's approvals that plan scanned the
-- badges for every row changed, so a bulk approval of 500 ran past the statement timeout. One
-- query per case, each on a unique index, stays a lookup whatever the statistics say.
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
