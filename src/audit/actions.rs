//! Every kind of audit record the service writes, as the OpenAPI document lists them. A test
//! reads the sources and fails when code records an action missing here.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::text_enum;

text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub enum AuditAction {
        #[serde(rename = "accreditation.approved")]
        AccreditationApproved = "accreditation.approved",
        #[serde(rename = "accreditation.badge_overridden")]
        AccreditationBadgeOverridden = "accreditation.badge_overridden",
        #[serde(rename = "accreditation.first_approval")]
        AccreditationFirstApproval = "accreditation.first_approval",
        #[serde(rename = "accreditation.info_requested")]
        AccreditationInfoRequested = "accreditation.info_requested",
        #[serde(rename = "accreditation.reissued")]
        AccreditationReissued = "accreditation.reissued",
        #[serde(rename = "accreditation.rejected")]
        AccreditationRejected = "accreditation.rejected",
        #[serde(rename = "accreditation.reported_lost")]
        AccreditationReportedLost = "accreditation.reported_lost",
        #[serde(rename = "accreditation.revoked")]
        AccreditationRevoked = "accreditation.revoked",
        #[serde(rename = "delegation.created")]
        DelegationCreated = "delegation.created",
        #[serde(rename = "delegation.invitation_accepted")]
        DelegationInvitationAccepted = "delegation.invitation_accepted",
        #[serde(rename = "delegation.invitation_resent")]
        DelegationInvitationResent = "delegation.invitation_resent",
        #[serde(rename = "delegation.updated")]
        DelegationUpdated = "delegation.updated",
        #[serde(rename = "event.badge_rules_replaced")]
        EventBadgeRulesReplaced = "event.badge_rules_replaced",
        #[serde(rename = "event.created")]
        EventCreated = "event.created",
        #[serde(rename = "event.personal_data_purged")]
        EventPersonalDataPurged = "event.personal_data_purged",
        #[serde(rename = "event.updated")]
        EventUpdated = "event.updated",
        #[serde(rename = "exhibitor.applied")]
        ExhibitorApplied = "exhibitor.applied",
        #[serde(rename = "exhibitor.approved")]
        ExhibitorApproved = "exhibitor.approved",
        #[serde(rename = "exhibitor.booth_assigned")]
        ExhibitorBoothAssigned = "exhibitor.booth_assigned",
        #[serde(rename = "exhibitor.rejected")]
        ExhibitorRejected = "exhibitor.rejected",
        #[serde(rename = "exhibitor.reopened")]
        ExhibitorReopened = "exhibitor.reopened",
        #[serde(rename = "exhibitor.updated")]
        ExhibitorUpdated = "exhibitor.updated",
        #[serde(rename = "gate_device.enrolled")]
        GateDeviceEnrolled = "gate_device.enrolled",
        #[serde(rename = "gate_device.registered")]
        GateDeviceRegistered = "gate_device.registered",
        #[serde(rename = "gate_device.revoked")]
        GateDeviceRevoked = "gate_device.revoked",
        #[serde(rename = "participant.corrected")]
        ParticipantCorrected = "participant.corrected",
        #[serde(rename = "participant.document_read")]
        ParticipantDocumentRead = "participant.document_read",
        #[serde(rename = "participant.document_uploaded")]
        ParticipantDocumentUploaded = "participant.document_uploaded",
        #[serde(rename = "participant.photo_uploaded")]
        ParticipantPhotoUploaded = "participant.photo_uploaded",
        #[serde(rename = "participant.registered")]
        ParticipantRegistered = "participant.registered",
        #[serde(rename = "participant.withdrawn")]
        ParticipantWithdrawn = "participant.withdrawn",
        #[serde(rename = "pavilion.created")]
        PavilionCreated = "pavilion.created",
        #[serde(rename = "session.replay_detected")]
        SessionReplayDetected = "session.replay_detected",
        #[serde(rename = "user.created")]
        UserCreated = "user.created",
        #[serde(rename = "user.disabled")]
        UserDisabled = "user.disabled",
        #[serde(rename = "user.email_verified")]
        UserEmailVerified = "user.email_verified",
        #[serde(rename = "user.enabled")]
        UserEnabled = "user.enabled",
        #[serde(rename = "user.locked")]
        UserLocked = "user.locked",
        #[serde(rename = "user.mfa_enabled")]
        UserMfaEnabled = "user.mfa_enabled",
        #[serde(rename = "user.mfa_recovery_code_used")]
        UserMfaRecoveryCodeUsed = "user.mfa_recovery_code_used",
        #[serde(rename = "user.mfa_removed")]
        UserMfaRemoved = "user.mfa_removed",
        #[serde(rename = "user.mfa_reset")]
        UserMfaReset = "user.mfa_reset",
        #[serde(rename = "user.password_changed")]
        UserPasswordChanged = "user.password_changed",
        #[serde(rename = "user.password_reset")]
        UserPasswordReset = "user.password_reset",
        #[serde(rename = "user.password_reset_requested")]
        UserPasswordResetRequested = "user.password_reset_requested",
        #[serde(rename = "user.registered")]
        UserRegistered = "user.registered",
        #[serde(rename = "user.registration_attempted")]
        UserRegistrationAttempted = "user.registration_attempted",
        #[serde(rename = "user.roles_changed")]
        UserRolesChanged = "user.roles_changed",
        #[serde(rename = "vetting.batch_exported")]
        VettingBatchExported = "vetting.batch_exported",
        #[serde(rename = "vetting.cleared")]
        VettingCleared = "vetting.cleared",
        #[serde(rename = "vetting.document_read")]
        VettingDocumentRead = "vetting.document_read",
        #[serde(rename = "vetting.info_requested")]
        VettingInfoRequested = "vetting.info_requested",
        #[serde(rename = "vetting.refused")]
        VettingRefused = "vetting.refused",
        #[serde(rename = "vetting.reopened")]
        VettingReopened = "vetting.reopened",
        #[serde(rename = "vetting.results_imported")]
        VettingResultsImported = "vetting.results_imported",
        #[serde(rename = "visa_letter.issued")]
        VisaLetterIssued = "visa_letter.issued",
        #[serde(rename = "webhook.created")]
        WebhookCreated = "webhook.created",
        #[serde(rename = "webhook.deleted")]
        WebhookDeleted = "webhook.deleted",
        #[serde(rename = "webhook.redelivered")]
        WebhookRedelivered = "webhook.redelivered",
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::AuditAction;

    /// What audit records are about; other `x.y` literals (settings keys, file names) are not
    /// actions.
    const AREAS: &[&str] = &[
        "accreditation",
        "badge",
        "delegation",
        "event",
        "exhibitor",
        "gate_device",
        "participant",
        "pavilion",
        "session",
        "user",
        "vetting",
        "visa_letter",
        "webhook",
    ];

    /// Whether `text` looks like an action name: `area.what`, lower case.
    fn looks_like_action(text: &str) -> bool {
        let Some((area, what)) = text.split_once('.') else {
            return false;
        };
        AREAS.contains(&area)
            && !what.is_empty()
            && what.chars().all(|c| c.is_ascii_lowercase() || c == '_')
    }

    fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// Every string literal shaped like an action must be a documented action (webhook kinds,
    /// `src/webhooks/`, are named alike but are not audit records). That the API spells them as
    /// stored is checked with the other text enums (`tests/api/openapi.rs`).
    #[test]
    fn every_recorded_action_is_documented() {
        let mut files = Vec::new();
        sources(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        let mut undocumented = Vec::new();
        let mut seen = 0;
        for file in files {
            let webhooks = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/webhooks");
            if file.starts_with(&webhooks) || file.ends_with("audit/actions.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            // Odd pieces between double quotes are the literals (no action holds a quote).
            for literal in text.split('"').skip(1).step_by(2) {
                if looks_like_action(literal) {
                    seen += 1;
                    if AuditAction::from_text(literal).is_none() {
                        undocumented.push(format!("{}: {literal}", file.display()));
                    }
                }
            }
        }
        assert!(seen >= 30, "the scan found only {seen} actions");
        assert!(
            undocumented.is_empty(),
            "recorded but missing from AuditAction (src/audit/actions.rs): {undocumented:#?}"
        );
    }
}
