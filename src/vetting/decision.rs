//! The vetting track's state machine, beside the organizers' review (`accreditations/workflow.rs`):
//!
//! ```text
//! (registered) ──▶ pending ──▶ cleared | refused | info_requested
//! info_requested ──(applicant corrected)──▶ pending
//! cleared ──(identity corrected)──▶ pending
//! cleared | refused ──overrule, with a reason──▶ any other state (pending re-opens)
//! ```
//!
//! What each state does to the accreditation:
//! - `cleared`: an accreditation already approved gets its badge now (and the approval email);
//!   one not yet approved gets it with the organizers' approval.
//! - `refused`: the accreditation is `rejected` with the reason `not_granted`; its place in the
//!   list is freed, a live badge is revoked at once, and the applicant is told only that it was
//!   not granted (the officers' note stays in the history).
//! - `info_requested`: the applicant is asked, exactly as by organizers (status `info_requested`,
//!   the same email, with only the officer's `message`); their correction re-opens vetting. An
//!   organizers' approval given before is void (the corrected person is reviewed again). Not
//!   possible once a badge is issued: refuse, or clear.
//! - Overruling a refusal puts the accreditation back to awaiting the organizers' decision; the
//!   revoked badge stays dead and a new one (`…-2`) is issued once approved and cleared again.
//!
//! Four eyes do not apply: one officer decides; a second one (or the same) may overrule with a
//! reason. Every decision is in the history (`vetting_decisions`) and in the audit trail.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::store::{self, NewDecision};
use crate::accreditations::badges::{self, BadgeKeys};
use crate::accreditations::workflow::{self, forget_first_approvals};
use crate::accreditations::{Accreditation, AccreditationStatus, Category, VettingState};
use crate::audit::{Actor, AuditEntry};
use crate::db::schema::accreditations;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::events::Event;
use crate::participants::Participant;
use crate::participants::places::{free_place, take_place};
use crate::participants::store::Group;
use crate::reissues::store as reissues;
use crate::text;
use crate::webhooks::{self, WebhookKind, kinds};

/// The reason a refused accreditation carries: all the applicant (and the organizers) learn.
pub const NOT_GRANTED: &str = "not_granted";

/// A decision as an officer sends it (one route, the bulk route or an imported result).
#[derive(Debug, Clone)]
pub struct VettingRuling {
    pub state: VettingState,
    /// Internal; required to overrule a clearance or a refusal (the reason).
    pub note: Option<String>,
    /// The services' own reference.
    pub reference: Option<String>,
    /// For the applicant; required with `info_requested`, refused otherwise.
    pub message: Option<String>,
    /// The `version` it was made on; `None` in bulk decisions (the current one).
    pub version: Option<i32>,
}

/// What a decision did.
#[derive(Debug)]
pub struct VettingOutcome {
    pub accreditation: Accreditation,
    /// The decision recorded in the history.
    pub decision_id: Uuid,
    /// The earlier decision it overruled.
    pub overruled: Option<Uuid>,
    /// The number of the badge issued by this clearance.
    pub badge: Option<String>,
}

/// The ruling's texts, trimmed and checked (field errors name `note`, `reference`, `message`).
struct Texts {
    note: Option<String>,
    reference: Option<String>,
    message: Option<String>,
}

fn texts(ruling: &VettingRuling) -> ApiResult<Texts> {
    let mut errors = Vec::new();
    let mut field = |name: &str, raw: Option<&str>, max: usize| {
        text::optional(raw, max).unwrap_or_else(|e| {
            errors.push(FieldError::new(name, e));
            None
        })
    };
    let checked = Texts {
        note: field("note", ruling.note.as_deref(), 2000),
        reference: field("reference", ruling.reference.as_deref(), 200),
        message: field("message", ruling.message.as_deref(), 2000),
    };
    match (ruling.state, &checked.message) {
        (VettingState::InfoRequested, None) if errors.is_empty() => errors.push(FieldError::new(
            "message",
            "is required to request information from the applicant",
        )),
        (VettingState::InfoRequested, _) | (_, None) => {}
        (_, Some(_)) => errors.push(FieldError::new(
            "message",
            "is only sent with a request for information",
        )),
    }
    if errors.is_empty() {
        Ok(checked)
    } else {
        Err(ApiError::Validation(errors))
    }
}

fn invalid(detail: String) -> ApiError {
    ApiError::Conflict {
        code: "invalid_transition",
        detail,
    }
}

/// Whether `from → to` is a decision an officer may take; `true` when it overrules one.
pub fn transition(from: VettingState, to: VettingState) -> ApiResult<bool> {
    use VettingState::*;
    if from == to {
        return Err(invalid(format!("The vetting is {} already.", to.as_str())));
    }
    match (from, to) {
        (Cleared | Refused, _) => Ok(true),
        (Pending | InfoRequested, Pending) => Err(invalid(
            "Only a clearance or a refusal can be re-opened.".into(),
        )),
        (Pending | InfoRequested, _) => Ok(false),
    }
}

/// Takes an officer's decision on one accreditation, inside the caller's transaction (the bulk
/// route and the import run each in a savepoint of their own).
pub async fn decide(
    conn: &mut AsyncPgConnection,
    keys: &BadgeKeys,
    event: &Event,
    officer: &Actor,
    accreditation_id: Uuid,
    ruling: VettingRuling,
) -> ApiResult<VettingOutcome> {
    let texts = texts(&ruling)?;
    let (current, participant) = workflow::lock(conn, event, accreditation_id).await?;
    let Some(from) = current.vetting_state else {
        return Err(ApiError::Conflict {
            code: "not_vetted",
            detail: "The event does not vet this accreditation's category.".into(),
        });
    };
    if ruling.version.is_some_and(|v| v != current.version) {
        return Err(workflow::stale());
    }
    let to = ruling.state;
    let overrule = transition(from, to)?;
    if overrule && texts.note.is_none() {
        return Err(ApiError::validation(
            "note",
            "is required to overrule a clearance or a refusal (the reason)",
        ));
    }
    let overruled = if overrule {
        store::latest_by_officer(conn, accreditation_id).await?
    } else {
        None
    };
    let live_badge = badges::id_of(conn, accreditation_id).await?;
    if to == VettingState::InfoRequested && live_badge.is_some() {
        return Err(ApiError::Conflict {
            code: "badge_issued",
            detail: "The badge is issued already: refuse the accreditation, or clear it.".into(),
        });
    }
    store::set_state(conn, accreditation_id, to).await?;
    // A refusal by the services (not the organizers' own rejection) is what an overrule undoes.
    let refused_by_vetting = from == VettingState::Refused
        && current.status() == AccreditationStatus::Rejected
        && current.decision_reason.as_deref() == Some(NOT_GRANTED);
    if refused_by_vetting {
        reopen(conn, &participant, current.category(), accreditation_id).await?;
    }
    let status = if refused_by_vetting {
        AccreditationStatus::Pending
    } else {
        current.status()
    };
    let mut badge = None;
    match (to, status) {
        (VettingState::Refused, AccreditationStatus::Rejected | AccreditationStatus::Revoked) => {}
        (VettingState::Refused, _) => {
            refuse(
                conn,
                event,
                officer,
                &participant,
                current.category(),
                accreditation_id,
            )
            .await?;
        }
        (VettingState::Cleared, AccreditationStatus::Approved) if live_badge.is_none() => {
            let approved = reload(conn, accreditation_id).await?;
            let issued =
                workflow::issue_badge(conn, keys, event, &participant, &approved, None).await?;
            badge = Some(issued.number);
        }
        (
            VettingState::InfoRequested,
            AccreditationStatus::Pending
            | AccreditationStatus::Approved
            | AccreditationStatus::InfoRequested,
        ) => {
            forget_first_approvals(conn, accreditation_id).await?;
            let asked = workflow::set_status(
                conn,
                accreditation_id,
                AccreditationStatus::InfoRequested,
                officer.id,
                texts.message.as_deref(),
            )
            .await?;
            workflow::notify(
                conn,
                event,
                &participant,
                &asked,
                texts.message.as_deref(),
                None,
            )
            .await?;
        }
        _ => {}
    }
    let decision_id = store::record(
        conn,
        NewDecision {
            accreditation_id,
            event_id: event.id,
            officer_id: Some(officer.id),
            state: to,
            note: texts.note.as_deref(),
            reference: texts.reference.as_deref(),
            message: texts.message.as_deref(),
            overrules: overruled,
        },
    )
    .await?;
    let accreditation = reload(conn, accreditation_id).await?;
    // Neither the note nor the message: the audit trail is read by admins, not the services.
    AuditEntry::new(
        match to {
            VettingState::Cleared => "vetting.cleared",
            VettingState::Refused => "vetting.refused",
            VettingState::InfoRequested => "vetting.info_requested",
            VettingState::Pending => "vetting.reopened",
        },
        "accreditation",
        Some(accreditation_id),
    )
    .by_actor(officer)
    .details(serde_json::json!({
        "decision": decision_id, "from": from.as_str(), "reference": texts.reference,
        "overrules": overruled, "version": accreditation.version, "badge": badge,
    }))
    .record(conn)
    .await?;
    Ok(VettingOutcome {
        accreditation,
        decision_id,
        overruled,
        badge,
    })
}

async fn reload(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Accreditation> {
    accreditations::table
        .find(id)
        .select(Accreditation::as_select())
        .first(conn)
        .await
}

/// The refusal: rejected as `not_granted`, the place freed, a live badge revoked, the applicant
/// told neutrally.
async fn refuse(
    conn: &mut AsyncPgConnection,
    event: &Event,
    officer: &Actor,
    participant: &Participant,
    category: Category,
    id: Uuid,
) -> ApiResult<()> {
    forget_first_approvals(conn, id).await?;
    if let Some(group) = Group::with_places(participant, category) {
        free_place(conn, group).await?;
    }
    let rejected = workflow::set_status(
        conn,
        id,
        AccreditationStatus::Rejected,
        officer.id,
        Some(NOT_GRANTED),
    )
    .await?;
    reissues::close_open(conn, id, officer.id, None).await?;
    if let Some(badge_id) = badges::revoke_live(conn, id).await? {
        let data = kinds::BadgeRevoked {
            accreditation_id: id,
            badge_id: Some(badge_id),
            status: AccreditationStatus::Revoked.as_str(),
        };
        webhooks::enqueue(conn, event.id, WebhookKind::BadgeRevoked, &data).await?;
    }
    // No reason in the email: the applicant learns only that it was not granted.
    workflow::notify(conn, event, participant, &rejected, None, None).await?;
    let data = kinds::AccreditationDecided {
        accreditation_id: id,
        status: AccreditationStatus::Rejected.as_str(),
    };
    webhooks::enqueue(conn, event.id, WebhookKind::AccreditationDecided, &data).await?;
    Ok(())
}

/// An overruled refusal: back to awaiting the organizers' decision, the person taking a place in
/// their list again.
async fn reopen(
    conn: &mut AsyncPgConnection,
    participant: &Participant,
    category: Category,
    id: Uuid,
) -> ApiResult<()> {
    if let Some(group) = Group::with_places(participant, category)
        && !take_place(conn, group).await?
    {
        return Err(ApiError::Conflict {
            code: "no_place_left",
            detail: "The person's list has no place left; free one before overruling.".into(),
        });
    }
    diesel::update(accreditations::table.find(id))
        .set((
            accreditations::status.eq(AccreditationStatus::Pending.as_str()),
            accreditations::decided_by.eq(None::<Uuid>),
            accreditations::decided_at.eq(None::<chrono::DateTime<chrono::Utc>>),
            accreditations::decision_reason.eq(None::<String>),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use VettingState::*;

    #[test]
    fn decisions_on_pending_and_overrules_of_decided() {
        for from in [Pending, InfoRequested] {
            for to in [Cleared, Refused] {
                assert!(!transition(from, to).unwrap(), "{from:?} → {to:?}");
            }
            assert!(transition(from, Pending).is_err());
        }
        assert!(!transition(Pending, InfoRequested).unwrap());
        for from in [Cleared, Refused] {
            for to in VettingState::ALL.iter().filter(|to| **to != from) {
                assert!(transition(from, *to).unwrap(), "{from:?} → {to:?}");
            }
        }
        for state in VettingState::ALL {
            assert!(transition(*state, *state).is_err());
        }
    }
}
