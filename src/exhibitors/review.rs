//! The review of an exhibitor's application, as a state machine:
//!
//! ```text
//! pending ──approve──▶ approved ──┐
//!    └─────reject───▶ rejected ──┴──reopen──▶ pending
//! ```
//!
//! A company that holds a booth or staff cannot be reopened: free them first.

use serde::Deserialize;
use utoipa::ToSchema;

use super::{Exhibitor, ExhibitorStatus};
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    Approve,
    Reject,
    /// Puts a decided application back to `pending`, so that it can be decided again.
    Reopen,
}

/// The status `decision` moves `exhibitor` to, and the audit action that records it.
pub fn next_status(
    exhibitor: &Exhibitor,
    decision: ReviewDecision,
) -> ApiResult<(ExhibitorStatus, &'static str)> {
    Ok(match (exhibitor.status(), decision) {
        (ExhibitorStatus::Pending, ReviewDecision::Approve) => {
            (ExhibitorStatus::Approved, "exhibitor.approved")
        }
        (ExhibitorStatus::Pending, ReviewDecision::Reject) => {
            (ExhibitorStatus::Rejected, "exhibitor.rejected")
        }
        (ExhibitorStatus::Pending, ReviewDecision::Reopen) => {
            return Err(ApiError::Conflict {
                code: "not_decided",
                detail: "The application is pending already.".into(),
            });
        }
        (_, ReviewDecision::Reopen)
            if exhibitor.booth_stand.is_some()
                || exhibitor.staff_count > 0
                || exhibitor.contractor_count > 0 =>
        {
            return Err(ApiError::Conflict {
                code: "has_booth_or_staff",
                detail: "Withdraw the staff and contractors and free the booth before reopening the application."
                    .into(),
            });
        }
        (_, ReviewDecision::Reopen) => (ExhibitorStatus::Pending, "exhibitor.reopened"),
        (decided, _) => {
            return Err(ApiError::Conflict {
                code: "already_decided",
                detail: format!(
                    "The application is {} already; reopen it to decide again.",
                    decided.as_str()
                ),
            });
        }
    })
}
