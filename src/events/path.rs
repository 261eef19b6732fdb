//! `EventPath`: the `{event}` segment of a route, loaded once as the caller may see it.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use diesel_async::AsyncPgConnection;

use super::{Event, EventStatus, store};
use crate::auth::extract::CurrentUser;
use crate::error::{ApiError, ApiResult};

/// The slug of the event a route is about (`/events/{event}/…`).
pub struct EventPath(String);

impl EventPath {
    pub fn slug(&self) -> &str {
        &self.0
    }

    /// The event, as `viewer` may see it: drafts exist only for the accreditation office.
    pub async fn load_event(
        &self,
        conn: &mut AsyncPgConnection,
        viewer: Option<&CurrentUser>,
    ) -> ApiResult<Event> {
        self.load_event_on(conn, viewer).await
    }

    /// [`Self::load_event`] on a shared connection, so that other queries can be sent along
    /// with it (pipelined).
    pub async fn load_event_on(
        &self,
        conn: &AsyncPgConnection,
        viewer: Option<&CurrentUser>,
    ) -> ApiResult<Event> {
        let event = store::find_by_slug(conn, &self.0).await?;
        if event.status() == EventStatus::Draft && !viewer.is_some_and(CurrentUser::is_organizer) {
            return Err(ApiError::not_found());
        }
        Ok(event)
    }
}

impl FromRequest for EventPath {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.match_info()
                .get("event")
                .map(|slug| Self(slug.to_owned()))
                .ok_or_else(|| {
                    ApiError::Internal(anyhow::anyhow!(
                        "EventPath used on a route without an {{event}} segment"
                    ))
                }),
        )
    }
}
