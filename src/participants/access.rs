//! Who may act on a participant besides the accreditation office: the person themselves and
//! whoever registered them or manages their group. Photos, badges and letters all ask here.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::extract::CurrentUser;
use crate::db::schema::{delegations, exhibitors, participants};
use crate::error::ApiResult;

/// Who may change a participant: organizers, the person themselves, and whoever manages the
/// group they were registered in (the exhibitor's account, the delegation's lead).
pub async fn may_edit(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    participant_id: Uuid,
    user: &CurrentUser,
) -> ApiResult<bool> {
    if user.is_organizer() {
        return Ok(true);
    }
    let (registered_by, own_account, exhibitor_owner, delegation_lead): (
        Option<Uuid>,
        Option<Uuid>,
        Option<Uuid>,
        Option<Uuid>,
    ) = participants::table
        .left_join(exhibitors::table)
        .left_join(delegations::table)
        .filter(participants::event_id.eq(event_id))
        .filter(participants::id.eq(participant_id))
        .select((
            participants::registered_by,
            participants::user_id,
            exhibitors::owner_id.nullable(),
            delegations::lead_id.nullable(),
        ))
        .first(conn)
        .await?;
    Ok([registered_by, own_account, exhibitor_owner, delegation_lead].contains(&Some(user.id)))
}
