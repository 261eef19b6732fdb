//! Queries of the vetting track: an accreditation's state, the history of the officers'
//! decisions, and the re-opening of vetting when the person's identity is corrected.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accreditations::{Accreditation, VettingState};
use crate::db::schema::{accreditations, participants, vetting_decisions};
use crate::participants::Participant;

/// A decision to record in the history.
pub struct NewDecision<'a> {
    pub accreditation_id: Uuid,
    pub event_id: Uuid,
    /// `None` when vetting re-opened by itself (the person's identity was corrected).
    pub officer_id: Option<Uuid>,
    pub state: VettingState,
    pub note: Option<&'a str>,
    pub reference: Option<&'a str>,
    pub message: Option<&'a str>,
    pub overrules: Option<Uuid>,
}

/// One decision of the history, as officers see it.
#[derive(Debug, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = vetting_decisions, check_for_backend(diesel::pg::Pg))]
pub struct DecisionRecord {
    pub id: Uuid,
    /// The officer; null when vetting re-opened because the person's identity was corrected.
    pub officer_id: Option<Uuid>,
    pub state: VettingState,
    /// Internal: never shown to the applicant nor to organizers.
    pub note: Option<String>,
    pub reference: Option<String>,
    /// What the applicant was told (a request for information).
    pub message: Option<String>,
    /// The decision this one overruled.
    pub overrules: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

pub async fn record(conn: &mut AsyncPgConnection, new: NewDecision<'_>) -> QueryResult<Uuid> {
    diesel::insert_into(vetting_decisions::table)
        .values((
            vetting_decisions::id.eq(Uuid::now_v7()),
            vetting_decisions::accreditation_id.eq(new.accreditation_id),
            vetting_decisions::event_id.eq(new.event_id),
            vetting_decisions::officer_id.eq(new.officer_id),
            vetting_decisions::state.eq(new.state),
            vetting_decisions::note.eq(new.note),
            vetting_decisions::reference.eq(new.reference),
            vetting_decisions::message.eq(new.message),
            vetting_decisions::overrules.eq(new.overrules),
        ))
        .returning(vetting_decisions::id)
        .get_result(conn)
        .await
}

/// The latest decision an officer took on the accreditation (the one a new decision overrules).
pub async fn latest_by_officer(
    conn: &mut AsyncPgConnection,
    accreditation_id: Uuid,
) -> QueryResult<Option<Uuid>> {
    vetting_decisions::table
        .filter(vetting_decisions::accreditation_id.eq(accreditation_id))
        .filter(vetting_decisions::officer_id.is_not_null())
        .order((
            vetting_decisions::created_at.desc(),
            vetting_decisions::id.desc(),
        ))
        .select(vetting_decisions::id)
        .first(conn)
        .await
        .optional()
}

/// The history of an accreditation's vetting, oldest first.
pub async fn history(
    conn: &mut AsyncPgConnection,
    accreditation_id: Uuid,
) -> QueryResult<Vec<DecisionRecord>> {
    vetting_decisions::table
        .filter(vetting_decisions::accreditation_id.eq(accreditation_id))
        .order((vetting_decisions::created_at, vetting_decisions::id))
        .select(DecisionRecord::as_select())
        .load(conn)
        .await
}

/// Moves the accreditation's vetting to `state`; a clearance keeps what the person was cleared
/// as (`participant_identity`, migration 2026-12-02-000010), so that a later correction of their
/// identity re-opens it.
pub async fn set_state(
    conn: &mut AsyncPgConnection,
    accreditation_id: Uuid,
    state: VettingState,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE accreditations a SET vetting_state = $2, version = a.version + 1, \
         updated_at = now(), \
         cleared_identity = CASE WHEN $2 = 'cleared' THEN participant_identity(p) END \
         FROM participants p WHERE a.id = $1 AND p.id = a.participant_id",
    )
    .bind::<diesel::sql_types::Uuid, _>(accreditation_id)
    .bind::<diesel::sql_types::Text, _>(state.as_str())
    .execute(conn)
    .await
    .map(drop)
}

/// After the applicant corrected the participant: an answered request for information, and a
/// clearance given on an identity that changed since, go back to `pending` (recorded in the
/// history without an officer).
pub async fn reopen_after_correction(
    conn: &mut AsyncPgConnection,
    participant_id: Uuid,
) -> QueryResult<usize> {
    diesel::sql_query(
        "WITH reopened AS ( \
           UPDATE accreditations a SET vetting_state = 'pending', cleared_identity = NULL \
           FROM participants p \
           WHERE p.id = $1 AND a.participant_id = p.id \
             AND (a.vetting_state = 'info_requested' \
                  OR (a.vetting_state = 'cleared' \
                      AND a.cleared_identity IS DISTINCT FROM participant_identity(p))) \
           RETURNING a.id, a.event_id) \
         INSERT INTO vetting_decisions (id, accreditation_id, event_id, state) \
         SELECT gen_random_uuid(), id, event_id, 'pending' FROM reopened",
    )
    .bind::<diesel::sql_types::Uuid, _>(participant_id)
    .execute(conn)
    .await
}

/// One accreditation of the event that the event vets, with its participant.
pub async fn find_vetted(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    id: Uuid,
) -> QueryResult<(Accreditation, Participant)> {
    accreditations::table
        .inner_join(participants::table)
        .filter(accreditations::event_id.eq(event_id))
        .filter(accreditations::id.eq(id))
        .filter(accreditations::vetting_state.is_not_null())
        .select((Accreditation::as_select(), Participant::as_select()))
        .first(conn)
        .await
}
