-- Accreditations the accreditation office enters by hand (VIPs, its own staff, contractors …),
-- and the contractors (stand builders) an exhibitor registers within a contractor quota.

-- The organizer who entered an accreditation by hand; null for everything registered by
-- exhibitors, delegation leads and visitors. That organizer never approves it: four eyes at least.
ALTER TABLE accreditations
    ADD COLUMN created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    ADD COLUMN protocol_note text CONSTRAINT accreditations_protocol_note_length CHECK (length(protocol_note) BETWEEN 1 AND 1000),
    ADD CONSTRAINT accreditations_creator_not_approver CHECK (
        status <> 'approved' OR created_by IS NULL OR decided_by IS NULL OR decided_by <> created_by);

-- A first approval (four eyes) by the organizer who entered the accreditation is refused too.
CREATE FUNCTION accreditation_approvals_not_by_creator() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM accreditations
               WHERE id = NEW.accreditation_id AND created_by = NEW.organizer_id) THEN
        RAISE EXCEPTION 'the organizer who entered an accreditation cannot approve it'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'accreditation_approvals_not_by_creator';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER accreditation_approvals_not_by_creator BEFORE INSERT ON accreditation_approvals
    FOR EACH ROW EXECUTE FUNCTION accreditation_approvals_not_by_creator();

-- Contractors are counted like staff: a conditional UPDATE takes a place, the check guarantees
-- the quota whatever races occur. By default the quota follows the staff formula from the booth
-- area, 2 + ⌈max(area − 9, 0) / 9⌉; organizers may override it.
ALTER TABLE exhibitors
    ADD COLUMN contractor_quota_override integer CONSTRAINT exhibitors_contractor_quota_override_range CHECK (contractor_quota_override BETWEEN 0 AND 500),
    ADD COLUMN contractor_quota integer NOT NULL DEFAULT 0,
    ADD COLUMN contractor_count integer NOT NULL DEFAULT 0,
    ADD CONSTRAINT exhibitors_contractors_within_quota CHECK (contractor_count >= 0 AND contractor_count <= contractor_quota);
UPDATE exhibitors
SET contractor_quota = 2 + ceil(greatest(booth_area_m2 - 9, 0) / 9)::integer
WHERE booth_area_m2 IS NOT NULL;
