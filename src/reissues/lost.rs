//! A holder's report of a lost or stolen badge: the badge is blocked at once (denied as
//! `reported_lost` from the next scan) and a reissue request joins the organizers' queue.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::{ReissueRequest, store};
use crate::accreditations::badges::{self, BadgeEnd};
use crate::accreditations::printable::no_badge;
use crate::accreditations::workflow;
use crate::audit::{Actor, AuditEntry};
use crate::error::ApiResult;
use crate::events::Event;

/// What a report did.
pub enum Report {
    /// The badge was blocked and this request opened.
    Opened(ReissueRequest),
    /// The badge was reported already: the same open request, nothing changed.
    AlreadyOpen(ReissueRequest),
}

/// Reports the live badge of accreditation `id` lost, inside the caller's transaction; the
/// caller checked that `reporter` may act for its participant. Reporting twice answers the same
/// open request (the accreditation's row lock orders concurrent reports).
pub async fn report_lost(
    conn: &mut AsyncPgConnection,
    event: &Event,
    reporter: &Actor,
    id: Uuid,
) -> ApiResult<Report> {
    workflow::lock(conn, event, id).await?;
    if let Some(open) = store::open_of(conn, id).await? {
        return Ok(Report::AlreadyOpen(open));
    }
    let lost = badges::end_live(conn, id, BadgeEnd::ReportedLost)
        .await?
        .ok_or_else(no_badge)?;
    let request = store::open(conn, event.id, id, lost, reporter.id).await?;
    AuditEntry::new("accreditation.reported_lost", "accreditation", Some(id))
        .by_actor(reporter)
        .details(serde_json::json!({ "badge_id": lost, "request_id": request.id }))
        .record(conn)
        .await?;
    Ok(Report::Opened(request))
}
