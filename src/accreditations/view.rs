//! An accreditation as organizers see it: the person, the decision so far, the badge and the
//! reviewer's duplicate warnings.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::badges::{self, BadgeRecord, BadgeView};
use super::overrides::{self, OverrideView};
use super::store::{self, DuplicateFlags, Row};
use super::{AccreditationStatus, Category, VettingState};
use crate::error::ApiResult;
use crate::participants::ParticipantSummary;
use crate::reissues::ReissueRequest;
use crate::reissues::store as reissues;

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
    /// The organizer who entered it by hand (`POST …/accreditations`); that organizer cannot
    /// approve it. Null for registrations by exhibitors, delegation leads and visitors.
    pub created_by: Option<Uuid>,
    /// The accreditation office's note for protocol (escort, seating, arrival …).
    pub protocol_note: Option<String>,
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
    /// The live badge; none when ended (revoked, or reported lost and not reissued yet).
    pub badge: Option<BadgeView>,
    /// Every badge issued for it, oldest first, with when and why each ended.
    pub badge_history: Vec<BadgeRecord>,
    /// The badge was reported lost: the open request waits for a reissue.
    pub reissue_request: Option<ReissueRequest>,
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

/// What a view adds to its accreditation's row: first approvals, duplicate warnings, badge
/// histories, open reissue requests and overrides.
pub struct Extras {
    approvals: HashMap<Uuid, Vec<Uuid>>,
    /// By participant.
    flags: HashMap<Uuid, DuplicateFlags>,
    histories: HashMap<Uuid, Vec<BadgeRecord>>,
    requests: HashMap<Uuid, ReissueRequest>,
    adjustments: HashMap<Uuid, overrides::BadgeOverride>,
}

/// The extras of the accreditations `ids`: five queries whatever the number of ids, sent
/// together on the connection (pipelined), so they cost one round trip. They need only the
/// ids, so a caller that knows them can send them along with the rows' own query.
pub async fn extras(conn: &AsyncPgConnection, ids: &[Uuid]) -> ApiResult<Extras> {
    let (approvals, flags, history, requests, adjustments) = futures_util::try_join!(
        store::first_approvals(conn, ids),
        store::duplicate_flags(conn, ids),
        badges::history(conn, ids),
        reissues::open_among(conn, ids),
        overrides::store::of_accreditations(conn, ids),
    )?;
    let mut histories: HashMap<Uuid, Vec<BadgeRecord>> = HashMap::new();
    for record in history {
        histories
            .entry(record.accreditation_id)
            .or_default()
            .push(record);
    }
    Ok(Extras {
        approvals,
        flags,
        histories,
        requests: requests
            .into_iter()
            .map(|request| (request.accreditation_id, request))
            .collect(),
        adjustments,
    })
}

/// The views of `rows`, from the rows and their [`extras`].
pub fn assemble(rows: Vec<Row>, mut extras: Extras) -> Vec<AccreditationView> {
    rows.into_iter()
        .map(|(accreditation, participant, badge)| {
            let reissue_request = extras.requests.remove(&accreditation.id);
            AccreditationView {
                warnings: extras
                    .flags
                    .get(&participant.id)
                    .map(warnings)
                    .unwrap_or_default(),
                approvals: extras
                    .approvals
                    .remove(&accreditation.id)
                    .unwrap_or_default(),
                id: accreditation.id,
                status: accreditation.status(),
                category: accreditation.category(),
                version: accreditation.version,
                protocol_level: accreditation.protocol_level,
                created_by: accreditation.created_by,
                protocol_note: accreditation.protocol_note,
                registered_by: participant.registered_by,
                exhibitor_id: participant.exhibitor_id,
                delegation_id: participant.delegation_id,
                decision_reason: accreditation.decision_reason,
                decided_at: accreditation.decided_at,
                vetting_state: accreditation.vetting_state,
                // A badge reported lost is no badge, but it is not waiting for a clearance.
                awaiting_clearance: accreditation.status == AccreditationStatus::Approved
                    && badge.is_none()
                    && reissue_request.is_none(),
                badge: badge.map(BadgeView::from),
                badge_history: extras
                    .histories
                    .remove(&accreditation.id)
                    .unwrap_or_default(),
                reissue_request,
                badge_override: extras
                    .adjustments
                    .remove(&accreditation.id)
                    .map(OverrideView::from),
                created_at: accreditation.created_at,
                participant: ParticipantSummary::from(participant),
            }
        })
        .collect()
}

/// The views of `rows`, with their [`extras`] loaded in one round trip.
pub async fn views(conn: &AsyncPgConnection, rows: Vec<Row>) -> ApiResult<Vec<AccreditationView>> {
    let ids: Vec<Uuid> = rows.iter().map(|(a, ..)| a.id).collect();
    let extras = extras(conn, &ids).await?;
    Ok(assemble(rows, extras))
}

/// The view of accreditation `id` of the event `event_slug`: its row and its extras are sent
/// together, one round trip.
pub async fn of(
    conn: &AsyncPgConnection,
    event_slug: &str,
    id: Uuid,
) -> ApiResult<AccreditationView> {
    let ids = [id];
    let (row, extras) = futures_util::try_join!(
        async { Ok(store::find(conn, event_slug, id).await?) },
        extras(conn, &ids),
    )?;
    Ok(assemble(vec![row], extras).remove(0))
}
