//! What a webhook can be about, and what each one says. Every payload is
//! `{type, id, timestamp, data}`: `id` is the message id (the `webhook-id` header), `data`
//! always holds `event` (the slug) and `event_id`, then the ids and states below — never a
//! note, a reason typed by a person, or personal data. Kinds of features not built yet (badge
//! reissued, vetting decided) join this list when those features land.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::text_enum;

text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
    pub enum WebhookKind {
        /// An accreditation was approved, rejected or sent back for information (second
        /// approvals of the four-eyes rule only: a first approval decides nothing).
        #[serde(rename = "accreditation.decided")]
        AccreditationDecided = "accreditation.decided",
        /// An approved accreditation was revoked: its badge is refused at every gate.
        #[serde(rename = "badge.revoked")]
        BadgeRevoked = "badge.revoked",
        /// An exhibitor's application was approved, rejected or reopened.
        #[serde(rename = "exhibitor.reviewed")]
        ExhibitorReviewed = "exhibitor.reviewed",
        /// A gate refused a badge.
        #[serde(rename = "scan.denied")]
        ScanDenied = "scan.denied",
    }
}

/// `data` of `accreditation.decided`: `status` is `approved`, `rejected` or `info_requested`.
#[derive(Debug, Serialize)]
pub struct AccreditationDecided {
    pub accreditation_id: Uuid,
    pub status: &'static str,
}

/// `data` of `badge.revoked`: `status` is `revoked`.
#[derive(Debug, Serialize)]
pub struct BadgeRevoked {
    pub accreditation_id: Uuid,
    pub badge_id: Option<Uuid>,
    pub status: &'static str,
}

/// `data` of `exhibitor.reviewed`: `status` is `approved`, `rejected` or `pending` (reopened).
#[derive(Debug, Serialize)]
pub struct ExhibitorReviewed {
    pub exhibitor_id: Uuid,
    pub status: &'static str,
}

// `scan.denied` is written by the `record_scans` function (migration 2026-12-02-000002):
// `{scan_id, badge_id, gate, zone, direction, reason}`, `reason` being the denial code.
