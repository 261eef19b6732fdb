//! Who may see a delegation: organizers and its lead. The loader every delegation route starts
//! with; anyone else gets 404, before anything of the request is read.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::Delegation;
use super::store;
use crate::auth::extract::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::events::Event;
use crate::events::path::EventPath;

/// The event and delegation of a path, if `user` may see it (organizers; its lead): else 404.
pub async fn load(
    conn: &mut AsyncPgConnection,
    event: &EventPath,
    id: Uuid,
    user: &CurrentUser,
) -> ApiResult<(Event, Delegation)> {
    let event = event.load_event(conn, Some(user)).await?;
    let delegation = store::find(conn, event.id, id).await?;
    if !delegation.visible_to(user) {
        return Err(ApiError::not_found());
    }
    Ok((event, delegation))
}
