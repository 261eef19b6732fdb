//! `PUT /api/v1/events/{event}/accreditations/{id}/badge-override`: organizers change the zones
//! and days of one person's badge.

use actix_web::{put, web};
use chrono::NaiveDate;
use diesel_async::AsyncConnection;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::OverrideChange;
use super::supersede::set;
use crate::accreditations::view::{self, AccreditationView};
use crate::auth::extract::{ClientIp, Organizer, Require};
use crate::body::Body;
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::events::Event;
use crate::events::path::EventPath;
use crate::events::zones::Zone;
use crate::state::AppState;
use crate::text;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(put_badge_override);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideRequest {
    /// Zones opened on top of what the event's badge rules give (on all the badge's days).
    #[serde(default)]
    add_zones: Vec<Zone>,
    /// Zones taken away.
    #[serde(default)]
    remove_zones: Vec<Zone>,
    /// Days added, within the event (build-up and tear-down days included).
    #[serde(default)]
    add_days: Vec<NaiveDate>,
    /// Days taken away.
    #[serde(default)]
    remove_days: Vec<NaiveDate>,
    /// Why; kept with the override and in the audit trail.
    #[schema(min_length = 1, max_length = 2000)]
    reason: String,
}

fn sorted<T: Ord + Clone>(items: &[T]) -> Vec<T> {
    let mut items = items.to_vec();
    items.sort();
    items.dedup();
    items
}

impl OverrideRequest {
    fn check(&self, event: &Event) -> ApiResult<OverrideChange> {
        let mut errors = Vec::new();
        let reason = text::required(&self.reason, 2000)
            .map_err(|message| errors.push(FieldError::new("reason", message)))
            .ok();
        if self.add_zones.iter().any(|z| self.remove_zones.contains(z)) {
            errors.push(FieldError::new(
                "remove_zones",
                "must not hold a zone also added",
            ));
        }
        if self.add_days.iter().any(|d| self.remove_days.contains(d)) {
            errors.push(FieldError::new(
                "remove_days",
                "must not hold a day also added",
            ));
        }
        let (first, last) = (event.first_day(), event.last_day());
        for (field, days) in [
            ("add_days", &self.add_days),
            ("remove_days", &self.remove_days),
        ] {
            if days.iter().any(|d| *d < first || *d > last) {
                errors.push(FieldError::new(
                    field,
                    format!("must fall between {first} and {last} (build-up to tear-down)"),
                ));
            }
        }
        match reason {
            Some(reason) if errors.is_empty() => Ok(OverrideChange {
                add_zones: sorted(&self.add_zones),
                remove_zones: sorted(&self.remove_zones),
                add_days: sorted(&self.add_days),
                remove_days: sorted(&self.remove_days),
                reason,
            }),
            _ => Err(ApiError::Validation(errors)),
        }
    }
}

/// Set one person's badge override (organizers): zones and days added to or taken away from
/// what the event's badge rules give, with a reason; all lists empty lifts the override. The
/// override replaces the previous one and is audited. If the badge is issued, it is re-signed:
/// the live badge ends (its QR is denied from now on) and the next one (`…-2`) carries the new
/// zones and days.
#[utoipa::path(
    tag = "accreditations",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Accreditation id"),
    ),
    request_body = OverrideRequest,
    responses(
        (status = 200, description = "The accreditation, with its override and (re-signed) badge", body = AccreditationView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such accreditation at this event", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Rejected or revoked (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The personal data was purged after the event (`personal_data_purged`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid override (`validation_failed`): no reason, a zone or day both added and removed, a day outside the event", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/events/{event}/accreditations/{id}/badge-override")]
async fn put_badge_override(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
    body: Body<OverrideRequest>,
) -> ApiResult<web::Json<AccreditationView>> {
    let (_, id) = path.into_inner();
    let body = body.read()?;
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&organizer)).await?;
    let change = body.check(&event)?;
    let actor = organizer.actor(ip);
    conn.transaction::<_, ApiError, _>(async |conn| {
        set(conn, &state.badge_keys, &event, &actor, id, &change).await
    })
    .await?;
    Ok(web::Json(view::of(&conn, &event.slug, id).await?))
}
