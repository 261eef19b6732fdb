//! Lost, stolen or damaged badges. The holder (or whoever registered them) reports a badge lost:
//! it is blocked at once and a reissue request joins the organizers' queue. An organizer reissues
//! the badge: the old one ends as `superseded` (or stays ended as `reported_lost`), a new one —
//! next number suffix, new QR, no prints yet — takes its place, the request is closed and the
//! holder is emailed. Each badge keeps when and why it ended (`badges::end_live`).

pub mod emails;
pub mod lost;
pub mod reissue;
pub mod routes;
pub mod store;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::reissue_requests;
use crate::db::text_enum;

text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum ReissueRequestState {
        /// Waiting for an organizer to reissue the badge.
        Open = "open",
        /// Reissued, or closed by the accreditation's revocation.
        Done = "done",
    }
}

/// A reported loss waiting for (or answered by) a new badge.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = reissue_requests, check_for_backend(diesel::pg::Pg))]
pub struct ReissueRequest {
    pub id: Uuid,
    pub accreditation_id: Uuid,
    /// The badge reported lost; it ended `reported_lost` when the report came in.
    pub lost_badge_id: Uuid,
    /// The account that reported it (null once that account is gone).
    pub reported_by: Option<Uuid>,
    pub reported_at: DateTime<Utc>,
    pub state: ReissueRequestState,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<Uuid>,
    /// The badge that replaced the lost one; null while open, or when closed by a revocation.
    pub new_badge_id: Option<Uuid>,
}
