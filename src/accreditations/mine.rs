//! `GET /api/v1/me/accreditations`: the caller's own accreditations across events — those
//! they registered for themselves, and those registered for them under their email address.

use std::collections::HashSet;

use actix_web::{get, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::badges::BadgeView;
use super::store;
use super::{AccreditationStatus, Category};
use crate::auth::extract::CurrentUser;
use crate::error::{ApiResult, Problem};
use crate::pagination::{Page, PageQuery};
use crate::reissues::store as reissues;
use crate::state::AppState;
use crate::users::store as users;

#[derive(Debug, Serialize, ToSchema)]
pub struct EventSummary {
    #[schema(example = "bamex-2026")]
    pub slug: String,
    pub name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MyAccreditation {
    pub id: Uuid,
    pub status: AccreditationStatus,
    pub category: Category,
    pub event: EventSummary,
    pub participant_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub organization: String,
    /// Once approved (and cleared, where the security services vet the category).
    pub badge: Option<BadgeView>,
    /// Approved, the badge waiting for the security services' clearance.
    pub awaiting_clearance: bool,
    /// The badge was reported lost: it opens no gate, and a reissue waits for the organizers.
    pub reported_lost: bool,
    pub created_at: DateTime<Utc>,
}

/// The caller's own accreditations, newest first.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of your accreditations", body = Page<MyAccreditation>),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid `limit` or `cursor` (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/accreditations")]
pub async fn my_accreditations(
    state: web::Data<AppState>,
    user: CurrentUser,
    page: web::Query<PageQuery>,
) -> ApiResult<web::Json<Page<MyAccreditation>>> {
    let page = page.parse::<Uuid>()?;
    let mut conn = state.pool.get().await?;
    let me = users::find(&mut conn, user.id).await?;
    // Registered by someone else under my address: only once I proved the address is mine.
    let verified_email = me.email_verified_at.is_some().then_some(&me.email);
    let (rows, total) = store::own(&mut conn, me.id, verified_email, &page).await?;
    let ids: Vec<Uuid> = rows.iter().map(|((id, ..), ..)| *id).collect();
    let reported_lost: HashSet<Uuid> = reissues::open_among(&conn, &ids)
        .await?
        .into_iter()
        .map(|request| request.accreditation_id)
        .collect();
    Ok(web::Json(Page::from_rows(
        rows,
        total,
        &page,
        |((id, ..), ..)| *id,
        |(
            (id, status, category, participant_id, first_name, last_name, organization, created_at),
            (slug, name, starts_on, ends_on),
            badge,
        )| MyAccreditation {
            id,
            status,
            category,
            event: EventSummary {
                slug,
                name,
                starts_on,
                ends_on,
            },
            participant_id,
            first_name,
            last_name,
            organization,
            awaiting_clearance: status == AccreditationStatus::Approved
                && badge.is_none()
                && !reported_lost.contains(&id),
            reported_lost: reported_lost.contains(&id),
            // A revoked badge is no badge.
            badge: badge
                .filter(|_| status == AccreditationStatus::Approved)
                .map(BadgeView::from),
            created_at,
        },
    )))
}
