//! Queries on accreditations. Each takes a connection so that callers compose them in
//! transactions; the review queue's filtered query is in `queue.rs`.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::Accreditation;
use super::badges::Badge;
use crate::db::schema::{accreditation_approvals, accreditations, badges, participants};
use crate::participants::Participant;

/// An accreditation with its participant and, once approved, its badge.
pub type Row = (Accreditation, Participant, Option<Badge>);

/// One accreditation of the event with its participant and badge.
pub async fn find(conn: &mut AsyncPgConnection, event_id: Uuid, id: Uuid) -> QueryResult<Row> {
    accreditations::table
        .inner_join(participants::table)
        .left_join(badges::table)
        .filter(accreditations::event_id.eq(event_id))
        .filter(accreditations::id.eq(id))
        .select((
            Accreditation::as_select(),
            Participant::as_select(),
            Option::<Badge>::as_select(),
        ))
        .first(conn)
        .await
}

/// The participant of one accreditation of the event.
pub async fn participant_of(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    id: Uuid,
) -> QueryResult<Participant> {
    accreditations::table
        .inner_join(participants::table)
        .filter(accreditations::event_id.eq(event_id))
        .filter(accreditations::id.eq(id))
        .select(Participant::as_select())
        .first(conn)
        .await
}

/// The organizers who gave a first approval, for each of `ids` that has one.
pub async fn first_approvals(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, Vec<Uuid>>> {
    let mut approvals: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (accreditation, organizer) in accreditation_approvals::table
        .filter(accreditation_approvals::accreditation_id.eq_any(ids))
        .select((
            accreditation_approvals::accreditation_id,
            accreditation_approvals::organizer_id,
        ))
        .load::<(Uuid, Uuid)>(conn)
        .await?
    {
        approvals.entry(accreditation).or_default().push(organizer);
    }
    Ok(approvals)
}

/// Which likely duplicates a participant has among the event's other registrations.
#[derive(QueryableByName)]
pub struct DuplicateFlags {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub participant_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub same_document: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub same_person: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub previously_rejected: bool,
}

/// Likely duplicates of each participant, by the SQL function `duplicate_flags` (migration
/// 2026-11-23-000008): one query for a whole page, answered from indexes.
pub async fn duplicate_flags(
    conn: &mut AsyncPgConnection,
    participant_ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, DuplicateFlags>> {
    let flags: Vec<DuplicateFlags> = diesel::sql_query(
        "SELECT participant_id, same_document, same_person, previously_rejected \
         FROM duplicate_flags($1)",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(participant_ids)
    .load(conn)
    .await?;
    Ok(flags.into_iter().map(|f| (f.participant_id, f)).collect())
}

/// Each badge printed counts as a (re)print.
pub async fn count_prints(
    conn: &mut AsyncPgConnection,
    accreditation_ids: &[Uuid],
) -> QueryResult<()> {
    diesel::update(badges::table.filter(badges::accreditation_id.eq_any(accreditation_ids)))
        .set(badges::prints.eq(badges::prints + 1))
        .execute(conn)
        .await?;
    Ok(())
}
