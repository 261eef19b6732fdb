//! Queries on visa letters.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{LetterLanguage, VisaLetter};
use crate::accreditations::Accreditation;
use crate::db::schema::{accreditations, events, participants, visa_letters};
use crate::events::Event;
use crate::participants::Participant;

#[derive(Debug, Insertable)]
#[diesel(table_name = visa_letters)]
pub struct NewLetter<'a> {
    pub id: Uuid,
    pub accreditation_id: Uuid,
    pub code_hash: Vec<u8>,
    pub code_ciphertext: Vec<u8>,
    pub code_nonce: Vec<u8>,
    pub code_key_id: &'a str,
    pub consulate: Option<&'a str>,
    pub language: LetterLanguage,
    pub issued_by: Uuid,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewLetter<'_>) -> QueryResult<VisaLetter> {
    diesel::insert_into(visa_letters::table)
        .values(new)
        .returning(VisaLetter::as_returning())
        .get_result(conn)
        .await
}

/// The letter an accreditation shows: the latest issued.
pub async fn latest(
    conn: &mut AsyncPgConnection,
    accreditation_id: Uuid,
) -> QueryResult<Option<VisaLetter>> {
    visa_letters::table
        .filter(visa_letters::accreditation_id.eq(accreditation_id))
        .order((visa_letters::issued_at.desc(), visa_letters::id.desc()))
        .select(VisaLetter::as_select())
        .first(conn)
        .await
        .optional()
}

/// A letter by the hash of its code, with what its verification states.
pub async fn find_by_hash(
    conn: &mut AsyncPgConnection,
    code_hash: &[u8],
) -> QueryResult<Option<(VisaLetter, Accreditation, Participant, Event)>> {
    visa_letters::table
        .inner_join(
            accreditations::table
                .inner_join(participants::table)
                .inner_join(events::table),
        )
        .filter(visa_letters::code_hash.eq(code_hash))
        .select((
            VisaLetter::as_select(),
            Accreditation::as_select(),
            Participant::as_select(),
            Event::as_select(),
        ))
        .first(conn)
        .await
        .optional()
}

/// The accreditations of a delegation's members, in name order (bounded by its member limit).
pub async fn delegation_accreditations(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    delegation_id: Uuid,
) -> QueryResult<Vec<Uuid>> {
    accreditations::table
        .inner_join(participants::table)
        .filter(accreditations::event_id.eq(event_id))
        .filter(participants::delegation_id.eq(delegation_id))
        .order((
            participants::last_name,
            participants::first_name,
            accreditations::id,
        ))
        .select(accreditations::id)
        .load(conn)
        .await
}

/// The retention purge: letters stay (their verification answers 410 from then on) but lose
/// whom they were addressed to and the account that asked for them.
pub async fn purge_for_event(conn: &mut AsyncPgConnection, event_id: Uuid) -> QueryResult<usize> {
    diesel::update(
        visa_letters::table.filter(
            visa_letters::accreditation_id.eq_any(
                accreditations::table
                    .filter(accreditations::event_id.eq(event_id))
                    .select(accreditations::id),
            ),
        ),
    )
    .set((
        visa_letters::consulate.eq(None::<String>),
        visa_letters::issued_by.eq(None::<Uuid>),
    ))
    .execute(conn)
    .await
}
