ALTER TABLE exhibitors
    DROP CONSTRAINT exhibitors_contractors_within_quota,
    DROP COLUMN contractor_count,
    DROP COLUMN contractor_quota,
    DROP COLUMN contractor_quota_override;
DROP TRIGGER accreditation_approvals_not_by_creator ON accreditation_approvals;
DROP FUNCTION accreditation_approvals_not_by_creator();
ALTER TABLE accreditations
    DROP CONSTRAINT accreditations_creator_not_approver,
    DROP COLUMN protocol_note,
    DROP COLUMN created_by;
