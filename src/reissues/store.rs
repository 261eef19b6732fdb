//! Queries on reissue requests; each takes a connection so that callers compose them in the
//! transaction of a report, a reissue or a revocation.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{ReissueRequest, ReissueRequestState};
use crate::accreditations::Category;
use crate::db::schema::{accreditations, badges, participants, reissue_requests};
use crate::pagination::PageRequest;

/// The open request of an accreditation, if it has one (at most one: a partial unique index).
pub async fn open_of(
    conn: &mut AsyncPgConnection,
    accreditation_id: Uuid,
) -> QueryResult<Option<ReissueRequest>> {
    reissue_requests::table
        .filter(reissue_requests::accreditation_id.eq(accreditation_id))
        .filter(reissue_requests::state.eq(ReissueRequestState::Open))
        .select(ReissueRequest::as_select())
        .first(conn)
        .await
        .optional()
}

/// The open requests of those of `accreditation_ids` that have one.
pub async fn open_among(
    mut conn: &AsyncPgConnection,
    accreditation_ids: &[Uuid],
) -> QueryResult<Vec<ReissueRequest>> {
    reissue_requests::table
        .filter(reissue_requests::accreditation_id.eq_any(accreditation_ids))
        .filter(reissue_requests::state.eq(ReissueRequestState::Open))
        .select(ReissueRequest::as_select())
        .load(&mut conn)
        .await
}

/// Opens a request for the badge `lost_badge_id` of an accreditation of `event_id`.
pub async fn open(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    accreditation_id: Uuid,
    lost_badge_id: Uuid,
    reported_by: Uuid,
) -> QueryResult<ReissueRequest> {
    diesel::insert_into(reissue_requests::table)
        .values((
            reissue_requests::id.eq(Uuid::now_v7()),
            reissue_requests::event_id.eq(event_id),
            reissue_requests::accreditation_id.eq(accreditation_id),
            reissue_requests::lost_badge_id.eq(lost_badge_id),
            reissue_requests::reported_by.eq(reported_by),
        ))
        .returning(ReissueRequest::as_returning())
        .get_result(conn)
        .await
}

/// Closes the open request of an accreditation, if it has one: answered by `new_badge_id`, or
/// by nothing (the accreditation was revoked).
pub async fn close_open(
    conn: &mut AsyncPgConnection,
    accreditation_id: Uuid,
    closed_by: Uuid,
    new_badge_id: Option<Uuid>,
) -> QueryResult<Option<ReissueRequest>> {
    diesel::update(
        reissue_requests::table
            .filter(reissue_requests::accreditation_id.eq(accreditation_id))
            .filter(reissue_requests::state.eq(ReissueRequestState::Open)),
    )
    .set((
        reissue_requests::state.eq(ReissueRequestState::Done),
        reissue_requests::closed_at.eq(diesel::dsl::now),
        reissue_requests::closed_by.eq(closed_by),
        reissue_requests::new_badge_id.eq(new_badge_id),
    ))
    .returning(ReissueRequest::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// A request with who it is for: the lost badge's number, the holder's names and organization,
/// the accreditation's category.
pub type QueuedRow = (ReissueRequest, String, String, String, String, Category);

/// A page of an event's requests (in `state`, when given), oldest first, and how many there are.
pub async fn page(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    state: Option<ReissueRequestState>,
    page: &PageRequest<Uuid>,
) -> QueryResult<(Vec<QueuedRow>, i64)> {
    let of_event = || {
        let query = reissue_requests::table
            .inner_join(accreditations::table.inner_join(participants::table))
            .inner_join(badges::table.on(badges::id.eq(reissue_requests::lost_badge_id)))
            .filter(reissue_requests::event_id.eq(event_id))
            .into_boxed();
        match state {
            Some(state) => query.filter(reissue_requests::state.eq(state)),
            None => query,
        }
    };
    let total = of_event().count().get_result(conn).await?;
    let mut rows = of_event()
        .select((
            ReissueRequest::as_select(),
            badges::number,
            participants::first_name,
            participants::last_name,
            participants::organization,
            accreditations::category,
        ))
        // Ids are UUIDv7: their order is the order the reports came in.
        .order(reissue_requests::id)
        .limit(page.limit + 1);
    if let Some(after) = page.after {
        rows = rows.filter(reissue_requests::id.gt(after));
    }
    Ok((rows.load(conn).await?, total))
}
