ALTER TABLE accreditations DROP COLUMN cleared_identity;
DROP FUNCTION participant_identity(participants);
DROP INDEX accreditations_event_vetting_idx;
DROP INDEX badges_accreditation_idx;
DROP INDEX badges_one_live_per_accreditation;
DELETE FROM badges WHERE revoked_at IS NOT NULL
    AND accreditation_id IN (SELECT accreditation_id FROM badges GROUP BY 1 HAVING count(*) > 1);
ALTER TABLE badges ADD CONSTRAINT badges_accreditation_key UNIQUE (accreditation_id);
ALTER TABLE badges DROP COLUMN revoked_at;
DROP TABLE vetting_decisions;
