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

use std::collections::HashMap;

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
use crate::email::{self, EventEmail};
use crate::error::{ApiError, ApiResult};
use crate::events::Event;
use crate::participants::Participant;
use crate::participants::places::{free_place, free_places};
use crate::participants::store::Group;
use crate::reissues::store as reissues;
use crate::users::store as users;
use crate::users::{EmailAddress, Locale, Role, User};
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
    let (accreditation, participant) = lock_all(conn, event, &[id])
        .await?
        .remove(&id)
        .ok_or_else(ApiError::not_found)?;
    participant.ensure_not_anonymized()?;
    Ok((accreditation, participant))
}

/// The event's accreditations among `ids` with their participants, locked in one statement, in
/// the order of their ids so that two batches over the same ones cannot deadlock; those not
/// found are missing from the map.
pub async fn lock_all(
    conn: &mut AsyncPgConnection,
    event: &Event,
    ids: &[Uuid],
) -> ApiResult<HashMap<Uuid, (Accreditation, Participant)>> {
    let locked: Vec<(Accreditation, Participant)> = accreditations::table
        .inner_join(participants::table)
        .filter(accreditations::event_id.eq(event.id))
        .filter(accreditations::id.eq_any(ids))
        .order(accreditations::id)
        .select((Accreditation::as_select(), Participant::as_select()))
        .for_update()
        .load(conn)
        .await?;
    Ok(locked.into_iter().map(|row| (row.0.id, row)).collect())
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
    forget_first_approvals_of(conn, &[accreditation_id]).await
}

/// [`forget_first_approvals`] for many accreditations, in one statement.
async fn forget_first_approvals_of(
    conn: &mut AsyncPgConnection,
    accreditation_ids: &[Uuid],
) -> QueryResult<()> {
    diesel::delete(
        accreditation_approvals::table
            .filter(accreditation_approvals::accreditation_id.eq_any(accreditation_ids)),
    )
    .execute(conn)
    .await
    .map(drop)
}

/// The first approvals given to these accreditations: the organizers, by accreditation.
async fn first_approvals_of(
    conn: &mut AsyncPgConnection,
    accreditation_ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, Vec<Uuid>>> {
    if accreditation_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let given: Vec<(Uuid, Uuid)> = accreditation_approvals::table
        .filter(accreditation_approvals::accreditation_id.eq_any(accreditation_ids))
        .select((
            accreditation_approvals::accreditation_id,
            accreditation_approvals::organizer_id,
        ))
        .load(conn)
        .await?;
    let mut by_accreditation: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (accreditation, organizer) in given {
        by_accreditation
            .entry(accreditation)
            .or_default()
            .push(organizer);
    }
    Ok(by_accreditation)
}

/// Records `organizer`'s first approval of each of the accreditations; their versions move on.
async fn record_first_approvals(
    conn: &mut AsyncPgConnection,
    organizer: Uuid,
    accreditation_ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, Accreditation>> {
    if accreditation_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<_> = accreditation_ids
        .iter()
        .map(|id| {
            (
                accreditation_approvals::accreditation_id.eq(*id),
                accreditation_approvals::organizer_id.eq(organizer),
            )
        })
        .collect();
    diesel::insert_into(accreditation_approvals::table)
        .values(&rows)
        .execute(conn)
        .await?;
    let bumped: Vec<Accreditation> =
        diesel::update(accreditations::table.filter(accreditations::id.eq_any(accreditation_ids)))
            .set((
                accreditations::version.eq(accreditations::version + 1),
                accreditations::updated_at.eq(Utc::now()),
            ))
            .returning(Accreditation::as_returning())
            .get_results(conn)
            .await?;
    Ok(bumped.into_iter().map(|a| (a.id, a)).collect())
}

pub async fn set_status(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    status: AccreditationStatus,
    by: Uuid,
    reason: Option<&str>,
) -> ApiResult<Accreditation> {
    set_status_of(conn, &[id], status, by, reason)
        .await?
        .remove(&id)
        .ok_or_else(ApiError::not_found)
}

/// [`set_status`] for many accreditations, in one statement.
async fn set_status_of(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    status: AccreditationStatus,
    by: Uuid,
    reason: Option<&str>,
) -> ApiResult<HashMap<Uuid, Accreditation>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let now = Utc::now();
    let decided: Vec<Accreditation> =
        diesel::update(accreditations::table.filter(accreditations::id.eq_any(ids)))
            .set((
                accreditations::status.eq(status.as_str()),
                accreditations::version.eq(accreditations::version + 1),
                accreditations::decided_by.eq(Some(by)),
                accreditations::decided_at.eq(Some(now)),
                accreditations::decision_reason.eq(reason),
                accreditations::updated_at.eq(now),
            ))
            .returning(Accreditation::as_returning())
            .get_results(conn)
            .await?;
    Ok(decided.into_iter().map(|a| (a.id, a)).collect())
}

/// Where the person's emails go: their own address or, with none, whoever registered them; in
/// the registrant's language.
pub async fn recipient(
    conn: &mut AsyncPgConnection,
    participant: &Participant,
) -> ApiResult<(EmailAddress, Locale)> {
    Ok(recipients(conn, &[participant]).await?.remove(0))
}

/// [`recipient`] of each of the participants, in one query; in the order given.
async fn recipients(
    conn: &mut AsyncPgConnection,
    participants: &[&Participant],
) -> ApiResult<Vec<(EmailAddress, Locale)>> {
    let registrant_ids = participants
        .iter()
        .map(|p| p.registered_by.ok_or_else(ApiError::purged))
        .collect::<ApiResult<Vec<Uuid>>>()?;
    let registrants: HashMap<Uuid, User> = users::find_all(conn, &registrant_ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    participants
        .iter()
        .zip(&registrant_ids)
        .map(|(participant, registrant_id)| {
            let registrant = registrants
                .get(registrant_id)
                .ok_or_else(ApiError::not_found)?;
            Ok((
                participant
                    .email
                    .clone()
                    .unwrap_or_else(|| registrant.email.clone()),
                registrant.locale(),
            ))
        })
        .collect()
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
    notify_all(
        conn,
        event,
        &[(participant, accreditation, badge_number)],
        reason,
    )
    .await
}

/// [`notify`] for many: each participant about their accreditation and badge number, if any.
async fn notify_all(
    conn: &mut AsyncPgConnection,
    event: &Event,
    told: &[(&Participant, &Accreditation, Option<&str>)],
    reason: Option<&str>,
) -> ApiResult<()> {
    if told.is_empty() {
        return Ok(());
    }
    let participants: Vec<&Participant> = told.iter().map(|(p, _, _)| *p).collect();
    let recipients = recipients(conn, &participants).await?;
    let full_names: Vec<String> = participants
        .iter()
        .map(|p| format!("{} {}", p.first_name, p.last_name))
        .collect();
    let updates: Vec<AccreditationUpdate> = told
        .iter()
        .zip(&full_names)
        .map(
            |((_, accreditation, badge_number), full_name)| AccreditationUpdate {
                full_name,
                event: &event.name,
                status: accreditation.status().as_str(),
                reason,
                badge_number: *badge_number,
            },
        )
        .collect();
    let emails: Vec<EventEmail<AccreditationUpdate>> = told
        .iter()
        .zip(&recipients)
        .zip(&updates)
        .map(
            |(((_, accreditation, _), (to, locale)), update)| EventEmail {
                recipient: to,
                locale: *locale,
                email: update,
                badge_accreditation_id: (accreditation.status() == AccreditationStatus::Approved)
                    .then_some(accreditation.id),
            },
        )
        .collect();
    email::enqueue_all_for_event(conn, event.id, &emails).await?;
    Ok(())
}

/// What a ruling on one accreditation will write, once judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// A sensitive approval recorded as the first of the two it needs.
    FirstApproval,
    /// The status moves on to this one.
    Decide(AccreditationStatus),
}

/// Judges a ruling of `organizer` on an accreditation as it stands, with the first approvals
/// given to it so far: what to write, or why nothing.
pub fn judge(
    event: &Event,
    organizer: Uuid,
    ruling: &Ruling<'_>,
    current: &Accreditation,
    approvals: &[Uuid],
) -> ApiResult<Plan> {
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
    if next == AccreditationStatus::Approved && current.created_by == Some(organizer) {
        return Err(creator_cannot_approve());
    }
    if next == AccreditationStatus::Approved
        && event.sensitive_categories.contains(&current.category)
    {
        if approvals.contains(&organizer) {
            return Err(ApiError::Conflict {
                code: "four_eyes",
                detail: "A second, different organizer must approve this accreditation.".into(),
            });
        }
        if approvals.is_empty() {
            return Ok(Plan::FirstApproval);
        }
    }
    Ok(Plan::Decide(next))
}

/// A decision the person is told of (all but an approval waiting for clearance) needs someone
/// to tell: a person whose registrant is gone was purged.
fn ensure_reachable(
    plan: Plan,
    current: &Accreditation,
    participant: &Participant,
) -> ApiResult<()> {
    let told = match plan {
        Plan::FirstApproval => false,
        Plan::Decide(next) => next != AccreditationStatus::Approved || !current.awaits_clearance(),
    };
    if told && participant.registered_by.is_none() {
        return Err(ApiError::purged());
    }
    Ok(())
}

/// Takes a ruling on each of `ids`, inside the caller's transaction, in a bounded number of
/// statements whatever their count: all are locked and read at once, judged in memory
/// ([`judge`]), and the changes written at once; nothing is written for an id refused. One
/// result an id, in the order given (an id sent twice is judged again after its first
/// decision). Only a failure of the database or the service fails the whole.
pub async fn decide(
    conn: &mut AsyncPgConnection,
    keys: &BadgeKeys,
    event: &Event,
    reviewer: &Actor,
    ids: &[Uuid],
    ruling: Ruling<'_>,
) -> ApiResult<Vec<ApiResult<Outcome>>> {
    let reason = ruling.reason;
    let organizer = reviewer.id;
    let mut locked = lock_all(conn, event, ids).await?;
    let sensitive: Vec<Uuid> = locked
        .values()
        .filter(|(a, _)| {
            ruling.decision == Decision::Approve && event.sensitive_categories.contains(&a.category)
        })
        .map(|(a, _)| a.id)
        .collect();
    let mut approvals = first_approvals_of(conn, &sensitive).await?;
    let mut plans: Vec<ApiResult<Plan>> = Vec::with_capacity(ids.len());
    for id in ids {
        let Some((current, participant)) = locked.get_mut(id) else {
            plans.push(Err(ApiError::not_found()));
            continue;
        };
        let given = approvals.entry(*id).or_default();
        let plan = participant
            .ensure_not_anonymized()
            .and_then(|()| judge(event, organizer, &ruling, current, given))
            .and_then(|plan| ensure_reachable(plan, current, participant).map(|()| plan));
        // What the plan will write, so that the same id sent again is judged on it.
        match plan {
            Ok(Plan::FirstApproval) => given.push(organizer),
            Ok(Plan::Decide(next)) => current.status = next,
            Err(_) => {}
        }
        if plan.is_ok() {
            current.version += 1;
        }
        plans.push(plan);
    }
    let planned = |wanted: fn(&Plan) -> bool| -> Vec<Uuid> {
        ids.iter()
            .zip(&plans)
            .filter(|(_, plan)| plan.as_ref().is_ok_and(wanted))
            .map(|(id, _)| *id)
            .collect()
    };
    let first_approved = planned(|plan| *plan == Plan::FirstApproval);
    let to_decide = planned(|plan| matches!(plan, Plan::Decide(_)));
    // Only a pending accreditation is decided: every decision of the batch leads to one status.
    let next = transition(AccreditationStatus::Pending, ruling.decision)?;

    let mut bumped = record_first_approvals(conn, organizer, &first_approved).await?;
    if next != AccreditationStatus::Approved {
        forget_first_approvals_of(conn, &to_decide).await?;
    }
    if next == AccreditationStatus::Rejected {
        let groups = to_decide
            .iter()
            .filter_map(|id| {
                let (current, participant) = &locked[id];
                Group::with_places(participant, current.category())
            })
            .collect();
        free_places(conn, groups).await?;
    }
    let mut decided = set_status_of(conn, &to_decide, next, organizer, reason).await?;
    let mut badge_numbers: HashMap<Uuid, String> = HashMap::new();
    if next == AccreditationStatus::Approved {
        let to_badge: Vec<(&Participant, &Accreditation)> = to_decide
            .iter()
            .map(|id| (&locked[id].1, &decided[id]))
            .filter(|(_, a)| !a.awaits_clearance())
            .collect();
        let badges = issue_badges(conn, keys, event, &to_badge, reason).await?;
        badge_numbers.extend(badges.into_iter().map(|b| (b.accreditation_id, b.number)));
    } else {
        let told: Vec<_> = to_decide
            .iter()
            .map(|id| (&locked[id].1, &decided[id], None))
            .collect();
        notify_all(conn, event, &told, reason).await?;
    }

    let mut audit = Vec::with_capacity(first_approved.len() + to_decide.len());
    for (id, plan) in ids.iter().zip(&plans) {
        match plan {
            Ok(Plan::FirstApproval) => audit.push(
                AuditEntry::new("accreditation.first_approval", "accreditation", Some(*id))
                    .by_actor(reviewer),
            ),
            Ok(Plan::Decide(_)) => audit.push(
                AuditEntry::new(
                    match next {
                        AccreditationStatus::Approved => "accreditation.approved",
                        AccreditationStatus::Rejected => "accreditation.rejected",
                        _ => "accreditation.info_requested",
                    },
                    "accreditation",
                    Some(*id),
                )
                .by_actor(reviewer)
                .details(
                    serde_json::json!({ "reason": reason, "version": decided[id].version,
                    "badge": badge_numbers.get(id),
                    "awaiting_clearance": next == AccreditationStatus::Approved
                        && decided[id].awaits_clearance() }),
                ),
            ),
            Err(_) => {}
        }
    }
    AuditEntry::record_all(conn, &audit).await?;
    let data: Vec<_> = to_decide
        .iter()
        .map(|id| kinds::AccreditationDecided {
            accreditation_id: *id,
            status: next.as_str(),
        })
        .collect();
    webhooks::enqueue_all(conn, event.id, WebhookKind::AccreditationDecided, &data).await?;

    Ok(ids
        .iter()
        .zip(plans)
        .map(|(id, plan)| match plan? {
            Plan::FirstApproval => bumped
                .remove(id)
                .map(Outcome::FirstApproval)
                .ok_or_else(ApiError::not_found),
            Plan::Decide(_) => decided
                .remove(id)
                .map(Outcome::Decided)
                .ok_or_else(ApiError::not_found),
        })
        .collect())
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
    let mut issued =
        issue_badges(conn, keys, event, &[(participant, accreditation)], reason).await?;
    Ok(issued.remove(0))
}

/// [`issue_badge`] for many, in a bounded number of statements (but one a media account to
/// open); the badges in the order given.
async fn issue_badges(
    conn: &mut AsyncPgConnection,
    keys: &BadgeKeys,
    event: &Event,
    approved: &[(&Participant, &Accreditation)],
    reason: Option<&str>,
) -> ApiResult<Vec<badges::Badge>> {
    let wanted: Vec<(Uuid, Category)> =
        approved.iter().map(|(_, a)| (a.id, a.category())).collect();
    let issued = badges::issue_all(conn, keys, event, &wanted).await?;
    for (participant, accreditation) in approved {
        if accreditation.category() == Category::Media
            && let Some(account) = participant.user_id
        {
            users::grant_role(conn, account, Role::Media).await?;
        }
    }
    let told: Vec<_> = approved
        .iter()
        .zip(&issued)
        .map(|((participant, accreditation), badge)| {
            (*participant, *accreditation, Some(badge.number.as_str()))
        })
        .collect();
    notify_all(conn, event, &told, reason).await?;
    Ok(issued)
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
