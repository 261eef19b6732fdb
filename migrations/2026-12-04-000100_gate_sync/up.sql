-- The gate sync feed (src/gates/sync/): what changed for the gates, in the order a device can
-- trust. Each row says "this badge changed" (issued, ended, its holder's name, organization,
-- country or photo changed, its accreditation's decision or vetting changed); the feed reads the
-- badge's current state for it, so a row is never wrong, only sometimes redundant.
--
-- Rows are ordered by the writing transaction's id (`xact`, pg_current_xact_id) and then `seq`.
-- Transactions commit out of id order, so the feed hands out only rows whose `xact` is below the
-- oldest transaction still running (pg_snapshot_xmin): every transaction below it has finished,
-- so no row can later appear behind a cursor. Triggers write the rows, so that no path that
-- changes a badge or its holder can forget to.
CREATE TABLE gate_sync_changes (
    seq       bigint GENERATED ALWAYS AS IDENTITY,
    xact      bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    event_id  uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    badge_id  uuid NOT NULL REFERENCES badges (id) ON DELETE CASCADE,
    PRIMARY KEY (event_id, xact, seq)
);
CREATE INDEX gate_sync_changes_badge_idx ON gate_sync_changes (badge_id);

-- The first sync pages through an event's live badges by id.
CREATE INDEX badges_live_by_event_idx ON badges (event_id, id) WHERE revoked_at IS NULL;

-- The digest a device compares before fetching a photo again (its ETag). Computed by the
-- database from the stored JPEG, so it cannot disagree with it.
ALTER TABLE participant_photos ADD COLUMN sha256 bytea GENERATED ALWAYS AS (sha256(jpeg)) STORED;

CREATE FUNCTION gate_sync_badge_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO gate_sync_changes (event_id, badge_id) VALUES (NEW.event_id, NEW.id);
    RETURN NULL;
END
$$;
CREATE TRIGGER gate_sync_badge_issued AFTER INSERT ON badges
    FOR EACH ROW EXECUTE FUNCTION gate_sync_badge_changed();
-- Not on `prints`: reprinting changes nothing at a gate.
CREATE TRIGGER gate_sync_badge_updated AFTER UPDATE OF revoked_at, end_reason, zones, valid_days, number ON badges
    FOR EACH ROW
    WHEN ((OLD.revoked_at, OLD.end_reason, OLD.zones, OLD.valid_days, OLD.number)
          IS DISTINCT FROM (NEW.revoked_at, NEW.end_reason, NEW.zones, NEW.valid_days, NEW.number))
    EXECUTE FUNCTION gate_sync_badge_changed();

-- The live badges of a holder (a photo or participant row) or of an accreditation.
CREATE FUNCTION gate_sync_live_badges_changed() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER gate_sync_photo_changed AFTER INSERT OR UPDATE OR DELETE ON participant_photos
    FOR EACH ROW EXECUTE FUNCTION gate_sync_live_badges_changed();
CREATE TRIGGER gate_sync_participant_changed AFTER UPDATE OF first_name, last_name, organization, nationality ON participants
    FOR EACH ROW
    WHEN ((OLD.first_name, OLD.last_name, OLD.organization, OLD.nationality)
          IS DISTINCT FROM (NEW.first_name, NEW.last_name, NEW.organization, NEW.nationality))
    EXECUTE FUNCTION gate_sync_live_badges_changed();
-- A decision or a vetting change: the feed decides again whether the badge still opens a gate
-- (a refusal or a revocation also ends it, which its own row says).
CREATE TRIGGER gate_sync_accreditation_changed AFTER UPDATE OF status, category, vetting_state ON accreditations
    FOR EACH ROW
    WHEN ((OLD.status, OLD.category, OLD.vetting_state)
          IS DISTINCT FROM (NEW.status, NEW.category, NEW.vetting_state))
    EXECUTE FUNCTION gate_sync_live_badges_changed();
