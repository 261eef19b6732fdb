//! Setting an override, and re-signing the badge it changes (see the module above).

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::{OverrideChange, store};
use crate::accreditations::badges::{self, Badge, BadgeEnd, BadgeKeys};
use crate::accreditations::workflow;
use crate::accreditations::{AccreditationStatus, Category};
use crate::audit::{Actor, AuditEntry};
use crate::error::{ApiError, ApiResult};
use crate::events::Event;

/// Ends the live badge of an accreditation whose override changed and issues the next, with the
/// new zones and days in a newly signed QR; `None` when no badge was issued yet (the override
/// applies when it is). Call inside the transaction that changed the override.
pub async fn supersede_for_override(
    conn: &mut AsyncPgConnection,
    keys: &BadgeKeys,
    event: &Event,
    accreditation_id: Uuid,
    category: Category,
) -> ApiResult<Option<Badge>> {
    if badges::end_live(conn, accreditation_id, BadgeEnd::Superseded)
        .await?
        .is_none()
    {
        return Ok(None);
    }
    Ok(Some(
        badges::issue(conn, keys, event, accreditation_id, category).await?,
    ))
}

/// Sets (or, when `change` is empty, lifts) an accreditation's override, audited, and re-signs
/// its badge if one is issued. Refused on rejected and revoked accreditations, which have no
/// badge to change.
pub async fn set(
    conn: &mut AsyncPgConnection,
    keys: &BadgeKeys,
    event: &Event,
    organizer: &Actor,
    id: Uuid,
    change: &OverrideChange,
) -> ApiResult<Option<Badge>> {
    let (accreditation, _) = workflow::lock(conn, event, id).await?;
    if matches!(
        accreditation.status(),
        AccreditationStatus::Rejected | AccreditationStatus::Revoked
    ) {
        return Err(ApiError::Conflict {
            code: "invalid_transition",
            detail: "A rejected or revoked accreditation has no badge to change.".into(),
        });
    }
    if change.is_empty() {
        store::clear(conn, id).await?;
    } else {
        store::replace(conn, id, change, organizer.id).await?;
    }
    let badge = supersede_for_override(conn, keys, event, id, accreditation.category()).await?;
    AuditEntry::new("accreditation.badge_overridden", "accreditation", Some(id))
        .by_actor(organizer)
        .details(serde_json::json!({
            "add_zones": change.add_zones,
            "remove_zones": change.remove_zones,
            "add_days": change.add_days,
            "remove_days": change.remove_days,
            "reason": change.reason,
            "badge": badge.as_ref().map(|b| &b.number),
        }))
        .record(conn)
        .await?;
    Ok(badge)
}
