//! Queries on participants, always with their accreditation.

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::documents::SealedDocument;
use super::{AccreditationSummary, Participant, ParticipantData};
use crate::accreditations::{Accreditation, AccreditationStatus, Category};
use crate::db::schema::{accreditations, participant_photos, participants};
use crate::pagination::PageRequest;
use crate::users::EmailAddress;

/// Whose list a participant is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Staff of an exhibitor.
    Exhibitor(Uuid),
    /// Contractors (stand builders) of an exhibitor, within its contractor quota.
    Contractors(Uuid),
    /// Members of a delegation.
    Delegation(Uuid),
    /// A visitor registered by their own account.
    Visitor(Uuid),
    /// Entered by hand by the accreditation office of the event (`Uuid`): in no one's list.
    Office(Uuid),
}

impl Group {
    /// The exhibitor's or delegation's list whose limited places `participant`, accredited in
    /// `category`, takes one of; `None` for a visitor, who registered themselves, and for
    /// whoever the accreditation office entered.
    pub fn with_places(participant: &Participant, category: Category) -> Option<Group> {
        match (participant.exhibitor_id, participant.delegation_id) {
            (Some(exhibitor), _) if category == Category::Contractor => {
                Some(Group::Contractors(exhibitor))
            }
            (Some(exhibitor), _) => Some(Group::Exhibitor(exhibitor)),
            (None, Some(delegation)) => Some(Group::Delegation(delegation)),
            (None, None) => None,
        }
    }
}

/// A new participant's place: event, group, who registered them and their badge category.
pub struct Registration {
    pub event_id: Uuid,
    pub registered_by: Uuid,
    pub group: Group,
    pub category: Category,
    /// Delegation members carry their delegation's protocol level.
    pub protocol_level: Option<&'static str>,
    /// Media visitors: outlet and press card number.
    pub press: Option<(String, String)>,
    /// Approved at once (public visitors of an event that allows it).
    pub approved: bool,
    /// What the accreditation office notes for protocol (entries made by hand).
    pub protocol_note: Option<String>,
}

/// The columns a registration or a correction writes.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = participants, treat_none_as_null = true)]
struct Details {
    first_name: String,
    last_name: String,
    email: Option<EmailAddress>,
    title: Option<String>,
    organization: String,
    function: Option<String>,
    nationality: String,
    date_of_birth: NaiveDate,
    id_document_type: &'static str,
    id_document_ciphertext: Vec<u8>,
    id_document_nonce: Vec<u8>,
    id_document_key_id: String,
    id_document_hash: Vec<u8>,
    id_document_expires_on: Option<NaiveDate>,
    place_of_birth: Option<String>,
}

impl Details {
    fn new(data: &ParticipantData, sealed: &SealedDocument) -> Self {
        Self {
            first_name: data.first_name.clone(),
            last_name: data.last_name.clone(),
            email: data.email.clone(),
            title: data.title.clone(),
            organization: data.organization.clone(),
            function: data.function.clone(),
            nationality: data.nationality.as_str().to_owned(),
            date_of_birth: data.date_of_birth,
            id_document_type: data.id_document_type.as_str(),
            id_document_ciphertext: sealed.ciphertext.clone(),
            id_document_nonce: sealed.nonce.clone(),
            id_document_key_id: sealed.key_id.clone(),
            id_document_hash: sealed.fingerprint.clone(),
            id_document_expires_on: data.identity.id_document_expires_on,
            place_of_birth: data.identity.place_of_birth.clone(),
        }
    }
}

/// Inserts a participant and its pending accreditation. `id` must be the one the document was
/// sealed for.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    registration: &Registration,
    data: &ParticipantData,
    sealed: &SealedDocument,
) -> QueryResult<(Participant, Accreditation)> {
    let (exhibitor_id, delegation_id, user_id) = match registration.group {
        Group::Exhibitor(id) | Group::Contractors(id) => (Some(id), None, None),
        Group::Delegation(id) => (None, Some(id), None),
        Group::Visitor(id) => (None, None, Some(id)),
        Group::Office(_) => (None, None, None),
    };
    // The office's own entries keep who made them, for the four-eyes rule.
    let created_by =
        matches!(registration.group, Group::Office(_)).then_some(registration.registered_by);
    let (media_outlet, press_card_number) = registration.press.clone().unzip();
    let participant = diesel::insert_into(participants::table)
        .values((
            participants::id.eq(id),
            participants::event_id.eq(registration.event_id),
            participants::registered_by.eq(registration.registered_by),
            participants::exhibitor_id.eq(exhibitor_id),
            participants::delegation_id.eq(delegation_id),
            participants::user_id.eq(user_id),
            participants::media_outlet.eq(media_outlet),
            participants::press_card_number.eq(press_card_number),
            Details::new(data, sealed),
        ))
        .returning(Participant::as_returning())
        .get_result(conn)
        .await?;
    let accreditation = diesel::insert_into(accreditations::table)
        .values((
            accreditations::id.eq(Uuid::now_v7()),
            accreditations::event_id.eq(registration.event_id),
            accreditations::participant_id.eq(id),
            accreditations::category.eq(registration.category.as_str()),
            accreditations::protocol_level.eq(registration.protocol_level),
            accreditations::status.eq(if registration.approved {
                "approved"
            } else {
                "pending"
            }),
            accreditations::decided_at.eq(registration.approved.then(Utc::now)),
            accreditations::created_by.eq(created_by),
            accreditations::protocol_note.eq(&registration.protocol_note),
        ))
        .returning(Accreditation::as_returning())
        .get_result(conn)
        .await?;
    Ok((participant, accreditation))
}

/// Replaces a participant's details (the caller tells the workflow that the application
/// changed).
pub async fn replace(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    data: &ParticipantData,
    sealed: &SealedDocument,
) -> QueryResult<Participant> {
    diesel::update(participants::table.find(id))
        .set((
            Details::new(data, sealed),
            participants::updated_at.eq(Utc::now()),
        ))
        .returning(Participant::as_returning())
        .get_result(conn)
        .await
}

/// The participant `id` of event `event_id` with its accreditation (another event's participant
/// is not found).
pub async fn in_event(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    id: Uuid,
) -> QueryResult<(Participant, Accreditation)> {
    participants::table
        .inner_join(accreditations::table)
        .filter(participants::event_id.eq(event_id))
        .filter(participants::id.eq(id))
        .select((Participant::as_select(), Accreditation::as_select()))
        .first(conn)
        .await
}

/// Like [`in_event`], locking the rows until the transaction ends.
pub async fn lock_in_event(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    id: Uuid,
) -> QueryResult<(Participant, Accreditation)> {
    participants::table
        .inner_join(accreditations::table)
        .filter(participants::event_id.eq(event_id))
        .filter(participants::id.eq(id))
        .select((Participant::as_select(), Accreditation::as_select()))
        .for_update()
        .first(conn)
        .await
}

type WithAccreditation =
    diesel::dsl::InnerJoinQuerySource<participants::table, accreditations::table>;

/// The condition "is on the list of `group`".
fn in_group(
    group: Group,
) -> Box<dyn BoxableExpression<WithAccreditation, diesel::pg::Pg, SqlType = Nullable<Bool>>> {
    match group {
        Group::Exhibitor(id) => Box::new(
            participants::exhibitor_id
                .eq(id)
                .and(accreditations::category.ne(Category::Contractor.as_str())),
        ),
        Group::Contractors(id) => Box::new(
            participants::exhibitor_id
                .eq(id)
                .and(accreditations::category.eq(Category::Contractor.as_str())),
        ),
        Group::Delegation(id) => Box::new(participants::delegation_id.eq(id)),
        Group::Visitor(id) => Box::new(participants::user_id.eq(id)),
        Group::Office(event_id) => Box::new(
            participants::event_id
                .eq(event_id)
                .and(participants::exhibitor_id.is_null())
                .and(participants::delegation_id.is_null())
                .and(participants::user_id.is_null())
                .nullable(),
        ),
    }
}

/// A participant of `group` with its accreditation, locked for a change.
pub async fn lock_in_group(
    conn: &mut AsyncPgConnection,
    group: Group,
    id: Uuid,
) -> QueryResult<(Participant, Accreditation)> {
    participants::table
        .inner_join(accreditations::table)
        .filter(in_group(group))
        .filter(participants::id.eq(id))
        .select((Participant::as_select(), Accreditation::as_select()))
        .for_update()
        .first(conn)
        .await
}

/// A page of the participants of `group` in registration order, and how many there are.
pub async fn list_group(
    conn: &mut AsyncPgConnection,
    group: Group,
    page: &PageRequest<Uuid>,
) -> QueryResult<(Vec<(Participant, Accreditation)>, i64)> {
    let total = participants::table
        .inner_join(accreditations::table)
        .filter(in_group(group))
        .count()
        .get_result(conn)
        .await?;
    let rows = participants::table
        .inner_join(accreditations::table)
        .filter(in_group(group))
        .filter(participants::id.gt(page.after.unwrap_or_else(Uuid::nil)))
        .select((Participant::as_select(), Accreditation::as_select()))
        .order(participants::id)
        .limit(page.limit + 1)
        .load(conn)
        .await?;
    Ok((rows, total))
}

/// Sets a journalist's outlet and press card (`None` for other visitors).
pub async fn set_press(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    press: Option<(String, String)>,
) -> QueryResult<()> {
    let (media_outlet, press_card_number) = press.unzip();
    diesel::update(participants::table.find(id))
        .set((
            participants::media_outlet.eq(media_outlet),
            participants::press_card_number.eq(press_card_number),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// The participant a person registered as themselves for an event, and its category.
pub async fn visitor_registration(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    user_id: Uuid,
) -> QueryResult<Option<(Uuid, Category)>> {
    participants::table
        .inner_join(accreditations::table)
        .filter(participants::event_id.eq(event_id))
        .filter(participants::user_id.eq(user_id))
        .select((participants::id, accreditations::category))
        .first(conn)
        .await
        .optional()
}

pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    diesel::delete(participants::table.find(id))
        .execute(conn)
        .await
        .map(drop)
}

impl From<&Accreditation> for AccreditationSummary {
    fn from(a: &Accreditation) -> Self {
        Self {
            id: a.id,
            status: a.status(),
            category: a.category(),
            version: a.version,
            awaiting_clearance: a.status() == AccreditationStatus::Approved && a.awaits_clearance(),
        }
    }
}

/// Gives every accreditation of `group` the protocol level (after a delegation's changed).
pub async fn set_protocol_level(
    conn: &mut AsyncPgConnection,
    group: Group,
    level: &str,
) -> QueryResult<()> {
    let members: Vec<Uuid> = participants::table
        .inner_join(accreditations::table)
        .filter(in_group(group))
        .select(participants::id)
        .load(conn)
        .await?;
    diesel::update(accreditations::table.filter(accreditations::participant_id.eq_any(members)))
        .set((
            accreditations::protocol_level.eq(level),
            accreditations::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Stores the badge photo of participant `id`, replacing the one it had.
pub async fn save_photo(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    jpeg: &[u8],
    width: i32,
    height: i32,
) -> QueryResult<()> {
    diesel::insert_into(participant_photos::table)
        .values((
            participant_photos::participant_id.eq(id),
            participant_photos::jpeg.eq(jpeg),
            participant_photos::width.eq(width),
            participant_photos::height.eq(height),
        ))
        .on_conflict(participant_photos::participant_id)
        .do_update()
        .set((
            participant_photos::jpeg.eq(jpeg),
            participant_photos::width.eq(width),
            participant_photos::height.eq(height),
            participant_photos::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// The badge photo (JPEG) of participant `id` of event `event_id`.
pub async fn photo(conn: &mut AsyncPgConnection, event_id: Uuid, id: Uuid) -> QueryResult<Vec<u8>> {
    participant_photos::table
        .inner_join(participants::table)
        .filter(participants::event_id.eq(event_id))
        .filter(participant_photos::participant_id.eq(id))
        .select(participant_photos::jpeg)
        .first(conn)
        .await
}
