//! An organizer's reissue of a badge (lost, stolen, damaged): the live badge ends as
//! `superseded` — or, reported lost, has ended already and its request is closed — and the next
//! badge of the accreditation is issued in the same transaction.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::emails::BadgeReissued;
use super::store;
use crate::accreditations::badges::{self, Badge, BadgeEnd, BadgeKeys};
use crate::accreditations::printable::{awaiting_clearance, no_badge};
use crate::accreditations::{AccreditationStatus, workflow};
use crate::audit::{Actor, AuditEntry};
use crate::email;
use crate::error::ApiResult;
use crate::events::Event;

/// Reissues the badge of accreditation `id`, inside the caller's transaction: only an approved
/// (and, where vetted, cleared) accreditation whose badge is live or reported lost. The holder
/// gets an email with the new badge attached.
pub async fn reissue(
    conn: &mut AsyncPgConnection,
    keys: &BadgeKeys,
    event: &Event,
    organizer: &Actor,
    id: Uuid,
    reason: &str,
) -> ApiResult<Badge> {
    let (accreditation, participant) = workflow::lock(conn, event, id).await?;
    if accreditation.status() != AccreditationStatus::Approved {
        return Err(no_badge());
    }
    if accreditation.awaits_clearance() {
        return Err(awaiting_clearance());
    }
    let superseded = badges::end_live(conn, id, BadgeEnd::Superseded).await?;
    let reported = store::open_of(conn, id).await?;
    if superseded.is_none() && reported.is_none() {
        return Err(no_badge());
    }
    let badge = badges::issue(conn, keys, event, id, accreditation.category()).await?;
    let request = store::close_open(conn, id, organizer.id, Some(badge.id)).await?;
    AuditEntry::new("accreditation.reissued", "accreditation", Some(id))
        .by_actor(organizer)
        .details(serde_json::json!({
            "reason": reason,
            "badge": badge.number,
            "superseded_badge_id": superseded,
            "request_id": request.map(|r| r.id),
        }))
        .record(conn)
        .await?;
    let (to, locale) = workflow::recipient(conn, &participant).await?;
    let full_name = format!("{} {}", participant.first_name, participant.last_name);
    let email = BadgeReissued {
        full_name: &full_name,
        event: &event.name,
        badge_number: &badge.number,
        reason,
    };
    email::enqueue_for_event(conn, event.id, &to, locale, &email, Some(id)).await?;
    Ok(badge)
}
