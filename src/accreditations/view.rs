//! An accreditation as organizers see it: the person, the decision so far, the badge and the
//! reviewer's duplicate warnings.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::badges::BadgeView;
use super::overrides::{self, OverrideView};
use super::store::{self, DuplicateFlags, Row};
use super::{AccreditationStatus, Category, VettingState};
use crate::error::ApiResult;
use crate::participants::ParticipantSummary;

/// A likely duplicate, for the reviewer's attention.
#[derive(Debug, Serialize, ToSchema)]
pub struct Warning {
    /// `same_document`, `same_person` or `previously_rejected`.
    #[schema(example = "same_document")]
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccreditationView {
    pub id: Uuid,
    pub status: AccreditationStatus,
    pub category: Category,
    /// Send it back with a decision: a stale one is refused.
    pub version: i32,
    pub protocol_level: Option<String>,
    pub participant: ParticipantSummary,
    /// The account that registered the participant (null once anonymized).
    pub registered_by: Option<Uuid>,
    pub exhibitor_id: Option<Uuid>,
    pub delegation_id: Option<Uuid>,
    /// Organizers who gave a first approval (sensitive categories need two).
    pub approvals: Vec<Uuid>,
    /// `not_granted` when the security services refused the accreditation.
    pub decision_reason: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Where the security services stand; null where the event does not vet the category. Their
    /// notes and references are not shown here.
    pub vetting_state: Option<VettingState>,
    /// Approved, the badge waiting for the clearance.
    pub awaiting_clearance: bool,
    pub badge: Option<BadgeView>,
    /// The organizers' change to the zones and days the event's badge rules give this person;
    /// the badge already includes it.
    pub badge_override: Option<OverrideView>,
    pub warnings: Vec<Warning>,
    pub created_at: DateTime<Utc>,
}

/// What the reviewer is warned of.
fn warnings(flags: &DuplicateFlags) -> Vec<Warning> {
    let mut found = Vec::new();
    if flags.same_document {
        found.push(Warning {
            code: "same_document",
            message: "Another registration for this event has the same identity document.".into(),
        });
    }
    if flags.same_person {
        found.push(Warning {
            code: "same_person",
            message: "Another registration for this event has the same name and date of birth."
                .into(),
        });
    }
    if flags.previously_rejected {
        found.push(Warning {
            code: "previously_rejected",
            message: "A matching registration for this event was rejected.".into(),
        });
    }
    found
}

/// The views of `rows`, with their first approvals, warnings and overrides loaded in three
/// queries whatever the number of rows.
pub async fn views(
    conn: &mut AsyncPgConnection,
    rows: Vec<Row>,
) -> ApiResult<Vec<AccreditationView>> {
    let ids: Vec<Uuid> = rows.iter().map(|(a, ..)| a.id).collect();
    let participant_ids: Vec<Uuid> = rows.iter().map(|(_, p, _)| p.id).collect();
    let mut approvals = store::first_approvals(conn, &ids).await?;
    let flags = store::duplicate_flags(conn, &participant_ids).await?;
    let mut adjustments = overrides::store::of_accreditations(conn, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|(accreditation, participant, badge)| AccreditationView {
            warnings: flags.get(&participant.id).map(warnings).unwrap_or_default(),
            approvals: approvals.remove(&accreditation.id).unwrap_or_default(),
            id: accreditation.id,
            status: accreditation.status(),
            category: accreditation.category(),
            version: accreditation.version,
            protocol_level: accreditation.protocol_level,
            registered_by: participant.registered_by,
            exhibitor_id: participant.exhibitor_id,
            delegation_id: participant.delegation_id,
            decision_reason: accreditation.decision_reason,
            decided_at: accreditation.decided_at,
            vetting_state: accreditation.vetting_state,
            awaiting_clearance: accreditation.status == AccreditationStatus::Approved
                && badge.is_none(),
            badge: badge.map(BadgeView::from),
            badge_override: adjustments
                .remove(&accreditation.id)
                .map(OverrideView::from),
            created_at: accreditation.created_at,
            participant: ParticipantSummary::from(participant),
        })
        .collect())
}

pub async fn view(conn: &mut AsyncPgConnection, row: Row) -> ApiResult<AccreditationView> {
    let mut one = views(conn, vec![row]).await?;
    Ok(one.remove(0))
}
