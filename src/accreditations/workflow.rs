//! The review workflow, in one place:
//!
//! ```text
//! pending ──approve──▶ approved ──revoke──▶ revoked
//!    │  ╲──reject───▶ rejected
//!    └──request_info─▶ info_requested ──(participant corrected)──▶ pending
//! ```
//!
//! Every decision names the `version` it was made on; a stale version is refused, so two
//! organizers deciding at once cannot both win. Sensitive categories need the approvals of two
//! different organizers ("four eyes"): the first is recorded, the second decides. The organizer
//! who entered an accreditation by hand (`created_by`) gives none of these approvals.
//!
//! Where the event vets the category, the badge (number, QR, PDF, the approval email) waits for
//! both tracks: an approval before clearance is recorded and the badge comes with the clearance
//! (`crate::vetting::decision`); a refusal by the services cannot be approved over.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::badges::{self, BadgeKeys};
use super::emails::AccreditationUpdate;
use super::{Accreditation, AccreditationStatus, Category, VettingState};
use crate::audit::{Actor, AuditEntry};
use crate::db::schema::{accreditation_approvals, accreditations, participants};
use crate::email;
use crate::error::{ApiError, ApiResult};
use crate::events::Event;
use crate::participants::Participant;
use crate::participants::places::free_place;
use crate::participants::store::Group;
use crate::reissues::store as reissues;
use crate::users::store as users;
use crate::users::{EmailAddress, Locale, Role};
use crate::vetting::store as vetting;
use crate::webhooks::{self, WebhookKind, kinds};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
    RequestInfo,
}

impl Decision {
    pub fn needs_reason(self) -> bool {
        matches!(self, Decision::Reject | Decision::RequestInfo)
    }
}

/// Where a decision leads from a status, or why it cannot be taken.
pub fn transition(from: AccreditationStatus, decision: Decision) -> ApiResult<AccreditationStatus> {
    use AccreditationStatus::*;
    match (from, decision) {
        (Pending, Decision::Approve) => Ok(Approved),
        (Pending, Decision::Reject) => Ok(Rejected),
        (Pending, Decision::RequestInfo) => Ok(InfoRequested),
        (status, _) => Err(ApiError::Conflict {
            code: "invalid_transition",
            detail: format!(
                "An accreditation that is {} cannot be decided now.",
                status.as_str()
            ),
        }),
    }
}

pub fn stale() -> ApiError {
    ApiError::Conflict {
        code: "conflict",
        detail: "The accreditation changed since it was read; reload it and decide again.".into(),
    }
}

/// An organizer who entered an accreditation by hand approves it neither alone nor as one of
/// the four eyes: someone else must look at what they typed.
pub fn creator_cannot_approve() -> ApiError {
    ApiError::Conflict {
        code: "creator_cannot_approve",
        detail: "The organizer who entered this accreditation cannot approve it; another organizer must.".into(),
    }
}

/// What a decision did.
#[derive(Debug)]
pub enum Outcome {
    Decided(Accreditation),
    /// A sensitive approval recorded, waiting for a second organizer.
    FirstApproval(Accreditation),
}

impl Outcome {
    pub fn accreditation(self) -> Accreditation {
        match self {
            Outcome::Decided(a) | Outcome::FirstApproval(a) => a,
        }
    }
}

/// A decision as an organizer sends it.
#[derive(Debug, Clone, Copy)]
pub struct Ruling<'a> {
    pub decision: Decision,
    pub reason: Option<&'a str>,
    /// The version it was made on; `None` in bulk decisions (the current one).
    pub version: Option<i32>,
}

/// The accreditation and its participant, locked for a decision; a purged person is no longer
/// decided on (there is nobody left to tell, nor anything to check).
pub async fn lock(
    conn: &mut AsyncPgConnection,
    event: &Event,
    id: Uuid,
) -> ApiResult<(Accreditation, Participant)> {
    let (accreditation, participant): (Accreditation, Participant) = accreditations::table
        .inner_join(participants::table)
        .filter(accreditations::event_id.eq(event.id))
        .filter(accreditations::id.eq(id))
        .select((Accreditation::as_select(), Participant::as_select()))
        .for_update()
        .first(conn)
        .await?;
    participant.ensure_not_anonymized()?;
    Ok((accreditation, participant))
}

/// The applicant changed the application (the participant's details or photo): a request for
/// information is answered, so it goes back to the queue; the version moves on, so that a
/// decision made on what the reviewer saw before is refused; first approvals given on it are
/// void. On the vetting track, an answered request and a cleared person whose identity changed
/// go back to `pending`.
pub async fn application_changed(
    conn: &mut AsyncPgConnection,
    participant_id: Uuid,
) -> QueryResult<Accreditation> {
    vetting::reopen_after_correction(conn, participant_id).await?;
    diesel::update(
        accreditations::table
            .filter(accreditations::participant_id.eq(participant_id))
            .filter(accreditations::status.eq(AccreditationStatus::InfoRequested.as_str())),
    )
    .set(accreditations::status.eq(AccreditationStatus::Pending.as_str()))
    .execute(conn)
    .await?;
    let accreditation = diesel::update(
        accreditations::table.filter(accreditations::participant_id.eq(participant_id)),
    )
    .set((
        accreditations::version.eq(accreditations::version + 1),
        accreditations::updated_at.eq(Utc::now()),
    ))
    .returning(Accreditation::as_returning())
    .get_result(conn)
    .await?;
    forget_first_approvals(conn, accreditation.id).await?;
    Ok(accreditation)
}

/// Drops the first approvals given so far: they were given on what the reviewer saw, and a
/// rejection, a request for information or a corrected participant makes that moot (otherwise
/// the organizer who rejected could later approve alone, as the "second" pair of eyes).
pub async fn forget_first_approvals(
    conn: &mut AsyncPgConnection,
    accreditation_id: Uuid,
) -> QueryResult<()> {
    diesel::delete(
        accreditation_approvals::table
            .filter(accreditation_approvals::accreditation_id.eq(accreditation_id)),
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn set_status(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    status: AccreditationStatus,
    by: Uuid,
    reason: Option<&str>,
) -> ApiResult<Accreditation> {
    Ok(diesel::update(accreditations::table.find(id))
        .set((
            accreditations::status.eq(status.as_str()),
            accreditations::version.eq(accreditations::version + 1),
            accreditations::decided_by.eq(Some(by)),
            accreditations::decided_at.eq(Some(Utc::now())),
            accreditations::decision_reason.eq(reason),
            accreditations::updated_at.eq(Utc::now()),
        ))
        .returning(Accreditation::as_returning())
        .get_result(conn)
        .await?)
}

/// Where the person's emails go: their own address or, with none, whoever registered them; in
/// the registrant's language.
pub async fn recipient(
    conn: &mut AsyncPgConnection,
    participant: &Participant,
) -> ApiResult<(EmailAddress, Locale)> {
    let registered_by = participant.registered_by.ok_or_else(ApiError::purged)?;
    let registrant = users::find(conn, registered_by).await?;
    let locale = registrant.locale();
    Ok((
        participant.email.clone().unwrap_or(registrant.email),
        locale,
    ))
}

/// Tells the person (or, with no address, whoever registered them) in their language.
pub async fn notify(
    conn: &mut AsyncPgConnection,
    event: &Event,
    participant: &Participant,
    accreditation: &Accreditation,
    reason: Option<&str>,
    badge_number: Option<&str>,
) -> ApiResult<()> {
    let (to, locale) = recipient(conn, participant).await?;
    let full_name = format!("{} {}", participant.first_name, participant.last_name);
    let update = AccreditationUpdate {
        full_name: &full_name,
        event: &event.name,
        status: accreditation.status().as_str(),
        reason,
        badge_number,
    };
    let badge =
        (accreditation.status() == AccreditationStatus::Approved).then_some(accreditation.id);
    email::enqueue_for_event(conn, event.id, &to, locale, &update, badge).await?;
    Ok(())
}

/// Takes a decision on one accreditation, inside the caller's transaction.
pub async fn decide(
    conn: &mut AsyncPgConnection,
    keys: &BadgeKeys,
    event: &Event,
    reviewer: &Actor,
    id: Uuid,
    ruling: Ruling<'_>,
) -> ApiResult<Outcome> {
    let reason = ruling.reason;
    let (current, participant) = lock(conn, event, id).await?;
    if ruling.version.is_some_and(|v| v != current.version) {
        return Err(stale());
    }
    if current.vetting_state == Some(VettingState::Refused) {
        return Err(ApiError::Conflict {
            code: "vetting_refused",
            detail: "The security services did not grant this accreditation.".into(),
        });
    }
    let next = transition(current.status(), ruling.decision)?;
    let organizer = reviewer.id;
    if next == AccreditationStatus::Approved && current.created_by == Some(organizer) {
        return Err(creator_cannot_approve());
    }
    let sensitive = event.sensitive_categories.contains(&current.category);
    if next == AccreditationStatus::Approved && sensitive {
        let approvals: Vec<Uuid> = accreditation_approvals::table
            .filter(accreditation_approvals::accreditation_id.eq(id))
            .select(accreditation_approvals::organizer_id)
            .load(conn)
            .await?;
        if approvals.contains(&organizer) {
            return Err(ApiError::Conflict {
                code: "four_eyes",
                detail: "A second, different organizer must approve this accreditation.".into(),
            });
        }
        if approvals.is_empty() {
            diesel::insert_into(accreditation_approvals::table)
                .values((
                    accreditation_approvals::accreditation_id.eq(id),
                    accreditation_approvals::organizer_id.eq(organizer),
                ))
                .execute(conn)
                .await?;
            let bumped: Accreditation = diesel::update(accreditations::table.find(id))
                .set((
                    accreditations::version.eq(accreditations::version + 1),
                    accreditations::updated_at.eq(Utc::now()),
                ))
                .returning(Accreditation::as_returning())
                .get_result(conn)
                .await?;
            AuditEntry::new("accreditation.first_approval", "accreditation", Some(id))
                .by_actor(reviewer)
                .record(conn)
                .await?;
            return Ok(Outcome::FirstApproval(bumped));
        }
    }
    if next != AccreditationStatus::Approved {
        forget_first_approvals(conn, id).await?;
    }
    if next == AccreditationStatus::Rejected
        && let Some(group) = Group::with_places(&participant, current.category())
    {
        free_place(conn, group).await?;
    }
    let decided = set_status(conn, id, next, organizer, reason).await?;
    let awaiting_clearance = next == AccreditationStatus::Approved && decided.awaits_clearance();
    let badge = if next == AccreditationStatus::Approved && !awaiting_clearance {
        Some(issue_badge(conn, keys, event, &participant, &decided, reason).await?)
    } else {
        None
    };
    if next != AccreditationStatus::Approved {
        notify(conn, event, &participant, &decided, reason, None).await?;
    }
    AuditEntry::new(
        match next {
            AccreditationStatus::Approved => "accreditation.approved",
            AccreditationStatus::Rejected => "accreditation.rejected",
            _ => "accreditation.info_requested",
        },
        "accreditation",
        Some(id),
    )
    .by_actor(reviewer)
    .details(
        serde_json::json!({ "reason": reason, "version": decided.version,
        "badge": badge.map(|b| b.number), "awaiting_clearance": awaiting_clearance }),
    )
    .record(conn)
    .await?;
    let data = kinds::AccreditationDecided {
        accreditation_id: id,
        status: next.as_str(),
    };
    webhooks::enqueue(conn, event.id, WebhookKind::AccreditationDecided, &data).await?;
    Ok(Outcome::Decided(decided))
}

/// Issues the next badge of an accreditation approved (and cleared where vetted) and tells the
/// person, the badge attached; a media badge opens the press area of the account.
pub async fn issue_badge(
    conn: &mut AsyncPgConnection,
    keys: &BadgeKeys,
    event: &Event,
    participant: &Participant,
    accreditation: &Accreditation,
    reason: Option<&str>,
) -> ApiResult<badges::Badge> {
    let category = accreditation.category();
    let badge = badges::issue(conn, keys, event, accreditation.id, category).await?;
    if category == Category::Media
        && let Some(account) = participant.user_id
    {
        users::grant_role(conn, account, Role::Media).await?;
    }
    notify(
        conn,
        event,
        participant,
        accreditation,
        reason,
        Some(&badge.number),
    )
    .await?;
    Ok(badge)
}

/// Issues the badge of a public visitor approved at once (events that allow it); `None` where
/// the event vets public visitors: the badge comes with the clearance.
pub async fn approve_automatically(
    conn: &mut AsyncPgConnection,
    keys: &BadgeKeys,
    event: &Event,
    accreditation: &Accreditation,
) -> ApiResult<Option<badges::Badge>> {
    let badge = if accreditation.awaits_clearance() {
        None
    } else {
        Some(
            badges::issue(
                conn,
                keys,
                event,
                accreditation.id,
                accreditation.category(),
            )
            .await?,
        )
    };
    let data = kinds::AccreditationDecided {
        accreditation_id: accreditation.id,
        status: AccreditationStatus::Approved.as_str(),
    };
    webhooks::enqueue(conn, event.id, WebhookKind::AccreditationDecided, &data).await?;
    Ok(badge)
}

/// Revokes an approved accreditation: its badge is refused at every gate from now on.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    event: &Event,
    reviewer: &Actor,
    id: Uuid,
    reason: &str,
) -> ApiResult<Accreditation> {
    let (current, participant) = lock(conn, event, id).await?;
    if current.status() != AccreditationStatus::Approved {
        return Err(ApiError::Conflict {
            code: "invalid_transition",
            detail: "Only an approved accreditation can be revoked.".into(),
        });
    }
    let revoked = set_status(
        conn,
        id,
        AccreditationStatus::Revoked,
        reviewer.id,
        Some(reason),
    )
    .await?;
    if let Some(group) = Group::with_places(&participant, current.category()) {
        free_place(conn, group).await?;
    }
    let badge_id = badges::revoke_live(conn, id).await?;
    // A lost badge waiting for its reissue gets none now.
    reissues::close_open(conn, id, reviewer.id, None).await?;
    notify(conn, event, &participant, &revoked, Some(reason), None).await?;
    AuditEntry::new("accreditation.revoked", "accreditation", Some(id))
        .by_actor(reviewer)
        .details(serde_json::json!({ "reason": reason }))
        .record(conn)
        .await?;
    let data = kinds::BadgeRevoked {
        accreditation_id: id,
        badge_id,
        status: AccreditationStatus::Revoked.as_str(),
    };
    webhooks::enqueue(conn, event.id, WebhookKind::BadgeRevoked, &data).await?;
    Ok(revoked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use AccreditationStatus::*;

    #[test]
    fn only_pending_accreditations_are_decided() {
        assert_eq!(transition(Pending, Decision::Approve).unwrap(), Approved);
        assert_eq!(transition(Pending, Decision::Reject).unwrap(), Rejected);
        assert_eq!(
            transition(Pending, Decision::RequestInfo).unwrap(),
            InfoRequested
        );
        for status in [Approved, Rejected, InfoRequested, Revoked] {
            for decision in [Decision::Approve, Decision::Reject, Decision::RequestInfo] {
                assert!(
                    transition(status, decision).is_err(),
                    "{status:?} {decision:?}"
                );
            }
        }
    }
}
