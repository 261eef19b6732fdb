//! Queries on accreditations. Each takes a connection so that callers compose them in
//! transactions; the review queue's filtered query is in `queue.rs`.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::badges::{Badge, live_badge_on};
use super::{Accreditation, AccreditationStatus, Category};
use crate::db::kept_prepared::KeptPrepared;
use crate::db::schema::{accreditation_approvals, accreditations, badges, events, participants};
use crate::pagination::PageRequest;
use crate::participants::Participant;
use crate::users::EmailAddress;

/// An accreditation with its participant and, once approved, its badge.
pub type Row = (Accreditation, Participant, Option<Badge>);

/// One accreditation of the event `event_slug` with its participant and badge. By the slug, so
/// that a caller may send it along with the event's own query rather than after it.
pub async fn find(mut conn: &AsyncPgConnection, event_slug: &str, id: Uuid) -> QueryResult<Row> {
    accreditations::table
        .inner_join(participants::table)
        .left_join(badges::table.on(live_badge_on()))
        .filter(
            accreditations::event_id.eq_any(
                events::table
                    .filter(events::slug.eq(event_slug))
                    .select(events::id),
            ),
        )
        .filter(accreditations::id.eq(id))
        .select((
            Accreditation::as_select(),
            Participant::as_select(),
            Option::<Badge>::as_select(),
        ))
        .first(&mut conn)
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
    mut conn: &AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, Vec<Uuid>>> {
    let mut approvals: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (accreditation, organizer) in accreditation_approvals::table
        .filter(accreditation_approvals::accreditation_id.eq_any(ids))
        .select((
            accreditation_approvals::accreditation_id,
            accreditation_approvals::organizer_id,
        ))
        .load::<(Uuid, Uuid)>(&mut conn)
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

/// Likely duplicates of the participant of each accreditation of `ids`: other registrations at
/// the event with the same identity document (by its keyed hash), or the same name and date of
/// birth; and whether one of them was rejected. Two lateral lookups rather than one join with
/// OR, so that each keeps `event_id` in its index condition (an OR join scanned whole indexes).
/// Anonymized people have none: nothing is left to compare, and they share the placeholder name.
/// One statement for a whole page, kept prepared. Sent as the statement itself rather than as
/// a call of a PL/pgSQL function: the call cost the database 0.3 ms more for one accreditation
/// at 130,000 people, a quarter of that read's database time (see BENCHMARKS.md).
pub async fn duplicate_flags(
    mut conn: &AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, DuplicateFlags>> {
    let flags: Vec<DuplicateFlags> = KeptPrepared(
        diesel::sql_query(
            "SELECT p.id AS participant_id, \
                    bool_or(o.id_document_hash = p.id_document_hash) AS same_document, \
                    bool_or(o.id_document_hash IS DISTINCT FROM p.id_document_hash) AS same_person, \
                    bool_or(a.status = 'rejected') AS previously_rejected \
             FROM participants p \
             CROSS JOIN LATERAL ( \
                 SELECT o.id, o.id_document_hash FROM participants o \
                 WHERE o.event_id = p.event_id AND o.id_document_hash = p.id_document_hash \
                   AND o.id <> p.id AND o.anonymized_at IS NULL \
                 UNION \
                 SELECT o.id, o.id_document_hash FROM participants o \
                 WHERE o.event_id = p.event_id \
                   AND search_key(o.last_name || ' ' || o.first_name) \
                         = search_key(p.last_name || ' ' || p.first_name) \
                   AND o.date_of_birth = p.date_of_birth \
                   AND o.id <> p.id AND o.anonymized_at IS NULL) o \
             JOIN accreditations a ON a.participant_id = o.id \
             WHERE p.id = ANY(ARRAY(SELECT participant_id FROM accreditations WHERE id = ANY($1))) \
               AND p.anonymized_at IS NULL \
             GROUP BY p.id",
        )
        .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids),
    )
    .load(&mut conn)
    .await?;
    Ok(flags.into_iter().map(|f| (f.participant_id, f)).collect())
}

/// Each badge printed counts as a (re)print.
pub async fn count_prints(
    conn: &mut AsyncPgConnection,
    accreditation_ids: &[Uuid],
) -> QueryResult<()> {
    diesel::update(
        badges::table
            .filter(badges::accreditation_id.eq_any(accreditation_ids))
            .filter(badges::revoked_at.is_null()),
    )
    .set(badges::prints.eq(badges::prints + 1))
    .execute(conn)
    .await?;
    Ok(())
}

/// A person's own accreditation: (id, status, category, participant id, first name, last name,
/// organization, created at), its event's (slug, name, starts on, ends on), and its badge.
pub type OwnRow = (
    (
        Uuid,
        AccreditationStatus,
        Category,
        Uuid,
        String,
        String,
        String,
        DateTime<Utc>,
    ),
    (String, String, NaiveDate, NaiveDate),
    Option<Badge>,
);

/// A page of the accreditations of the participants who are account `user_id` or, when given,
/// carry `email`, newest first; and how many there are in all.
pub async fn own(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    email: Option<&EmailAddress>,
    page: &PageRequest<Uuid>,
) -> QueryResult<(Vec<OwnRow>, i64)> {
    let mine = || {
        let query = accreditations::table
            .inner_join(participants::table)
            .inner_join(events::table)
            .left_join(badges::table.on(live_badge_on()))
            .into_boxed();
        match email.cloned() {
            Some(email) => query.filter(
                participants::user_id
                    .eq(user_id)
                    .or(participants::email.eq(email)),
            ),
            None => query.filter(participants::user_id.eq(user_id)),
        }
    };
    let total = mine().count().get_result(conn).await?;
    let mut rows = mine()
        .select((
            (
                accreditations::id,
                accreditations::status,
                accreditations::category,
                participants::id,
                participants::first_name,
                participants::last_name,
                participants::organization,
                accreditations::created_at,
            ),
            (
                events::slug,
                events::name,
                events::starts_on,
                events::ends_on,
            ),
            Option::<Badge>::as_select(),
        ))
        // Ids are UUIDv7: their order is creation order.
        .order(accreditations::id.desc())
        .limit(page.limit + 1);
    if let Some(after) = page.after {
        rows = rows.filter(accreditations::id.lt(after));
    }
    Ok((rows.load(conn).await?, total))
}
