//! An exhibitor's lists of people, staff and contractors: the roster each of their routes works
//! on, and the rule that only an approved exhibitor registers anyone. Both lists count their
//! places the same way (`store::take_slot`), so both quotas hold under concurrent requests.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::access::load_managed;
use super::{Access, BadgeList, Exhibitor, ExhibitorStatus};
use crate::accreditations::Category;
use crate::auth::extract::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::events::Event;
use crate::events::path::EventPath;
use crate::participants::roster::Roster;
use crate::participants::store::Group;

/// The `list` of the exhibitor in the path, if the caller manages it (its own account or the
/// accreditation office; anyone else gets 404).
pub async fn roster(
    conn: &mut AsyncPgConnection,
    event: &EventPath,
    id: Uuid,
    user: &CurrentUser,
    list: BadgeList,
) -> ApiResult<(Roster, Exhibitor, Access, Event)> {
    let (event, exhibitor, access) = load_managed(conn, event, id, user).await?;
    let roster = match list {
        BadgeList::Staff => Roster {
            event_id: event.id,
            group: Group::Exhibitor(exhibitor.id),
            category: Category::ExhibitorStaff,
            protocol_level: None,
            places: exhibitor.staff_quota,
            full_code: "staff_quota_reached",
        },
        BadgeList::Contractors => Roster {
            event_id: event.id,
            group: Group::Contractors(exhibitor.id),
            category: Category::Contractor,
            protocol_level: None,
            places: exhibitor.contractor_quota,
            full_code: "contractor_quota_reached",
        },
    };
    Ok((roster, exhibitor, access, event))
}

/// People are registered once the exhibitor's application is approved.
pub fn ensure_approved(exhibitor: &Exhibitor) -> ApiResult<()> {
    if exhibitor.status() != ExhibitorStatus::Approved {
        return Err(ApiError::Conflict {
            code: "not_approved",
            detail: "Staff and contractors can be registered once the application is approved."
                .into(),
        });
    }
    Ok(())
}
