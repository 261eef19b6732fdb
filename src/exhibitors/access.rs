//! Who may see and change an exhibitor: the loaders every exhibitor route starts with. A caller
//! who may not know an exhibitor exists gets 404, before anything of the request is read.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::store;
use super::{Access, Exhibitor};
use crate::auth::extract::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::events::Event;
use crate::events::path::EventPath;

/// Whether `user` coordinates the pavilion `pavilion_id`.
pub async fn coordinates(
    conn: &mut AsyncPgConnection,
    user: Option<&CurrentUser>,
    pavilion_id: Option<Uuid>,
) -> ApiResult<bool> {
    let (Some(user), Some(pavilion_id)) = (user, pavilion_id) else {
        return Ok(false);
    };
    let coordinator = store::pavilion_coordinator(conn, pavilion_id).await?;
    Ok(coordinator == Some(user.id))
}

/// The event and exhibitor named in a path, with what the caller may do; 404 when the caller
/// may not know the exhibitor exists.
pub async fn load(
    conn: &mut AsyncPgConnection,
    event: &EventPath,
    id: Uuid,
    viewer: Option<&CurrentUser>,
) -> ApiResult<(Event, Exhibitor, Access)> {
    let event = event.load_event(conn, viewer).await?;
    let exhibitor = store::find(conn, event.id, id).await?;
    let coordinator = coordinates(conn, viewer, exhibitor.pavilion_id).await?;
    let access = Access::of(viewer, &exhibitor, coordinator).ok_or_else(ApiError::not_found)?;
    Ok((event, exhibitor, access))
}

/// Like [`load`], for changes: the exhibitor's own account or the accreditation office.
pub async fn load_managed(
    conn: &mut AsyncPgConnection,
    event: &EventPath,
    id: Uuid,
    user: &CurrentUser,
) -> ApiResult<(Event, Exhibitor, Access)> {
    let loaded = load(conn, event, id, Some(user)).await?;
    if !loaded.2.manages() {
        return Err(ApiError::not_found());
    }
    Ok(loaded)
}
