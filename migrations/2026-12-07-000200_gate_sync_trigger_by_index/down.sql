CREATE OR REPLACE FUNCTION gate_sync_live_badges_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    holder uuid;
    accreditation uuid;
BEGIN
    IF TG_TABLE_NAME = 'participant_photos' AND TG_OP = 'DELETE' THEN
        holder := OLD.participant_id;
    ELSIF TG_TABLE_NAME = 'participant_photos' THEN
        holder := NEW.participant_id;
    ELSIF TG_TABLE_NAME = 'participants' THEN
        holder := NEW.id;
    ELSE
        accreditation := NEW.id;
    END IF;
    INSERT INTO gate_sync_changes (event_id, badge_id)
    SELECT b.event_id, b.id
      FROM accreditations a JOIN badges b ON b.accreditation_id = a.id AND b.revoked_at IS NULL
     WHERE a.participant_id = holder OR a.id = accreditation;
    RETURN NULL;
END
$$;
