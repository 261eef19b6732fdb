//! What an exhibitor's staff and a delegation's members have in common: a list with a limited
//! number of places, whose people are registered, read, corrected and withdrawn while their
//! accreditation is pending. The routes of each group check who may act, then call this.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::documents::DocumentVault;
use super::emails::RegistrationReceived;
use super::places;
use super::store::{self, Group, Registration};
use super::{AccreditationSummary, Participant, ParticipantData, ParticipantView};
use crate::accreditations::{Accreditation, workflow};
use crate::accreditations::{AccreditationStatus, Category};
use crate::audit::{Actor, AuditEntry};
use crate::auth::extract::CurrentUser;
use crate::email;
use crate::error::{ApiError, ApiResult};
use crate::events::store as events;
use crate::pagination::{Page, PageQuery};
use crate::users::{EmailAddress, Locale};

/// Who is told that a registration was received, and in which language.
pub struct Confirmation {
    pub to: EmailAddress,
    pub locale: Locale,
    pub event_name: String,
}

pub struct Roster {
    pub event_id: Uuid,
    pub group: Group,
    pub category: Category,
    pub protocol_level: Option<&'static str>,
    /// How many places the list has, and the problem code once they are all taken.
    pub places: i32,
    pub full_code: &'static str,
}

pub fn not_editable() -> ApiError {
    ApiError::Conflict {
        code: "not_editable",
        detail: "Only a person whose accreditation is still pending (or awaiting information) can be changed or withdrawn.".into(),
    }
}

/// Whether the people who registered someone may still change them: once an organizer has
/// decided, only organizers may.
pub fn editable(status: AccreditationStatus) -> bool {
    matches!(
        status,
        AccreditationStatus::Pending | AccreditationStatus::InfoRequested
    )
}

/// Whether `user` may change what was submitted about this person now (the photo, a document
/// scan). A purged person's data is gone for good (410). The photo is what a guard compares a
/// face with and the scans what the services cleared: once a badge is decided, only an
/// organizer may change them.
pub fn change_allowed(
    participant: &Participant,
    accreditation: &Accreditation,
    user: &CurrentUser,
) -> ApiResult<()> {
    participant.ensure_not_anonymized()?;
    if !user.is_organizer() && !editable(accreditation.status()) {
        return Err(not_editable());
    }
    Ok(())
}

impl Roster {
    pub async fn list(
        &self,
        conn: &mut AsyncPgConnection,
        page: &PageQuery,
    ) -> ApiResult<Page<ParticipantView>> {
        let page = page.parse::<Uuid>()?;
        let (rows, total) = store::list_group(conn, self.group, &page).await?;
        Ok(Page::from_rows(
            rows,
            total,
            &page,
            |(p, _)| p.id,
            |(p, a)| ParticipantView::new(p, AccreditationSummary::from(&a)),
        ))
    }

    /// Registers a person as a pending accreditation, within the list's places.
    pub async fn register(
        &self,
        conn: &mut AsyncPgConnection,
        vault: &DocumentVault,
        actor: &Actor,
        data: &ParticipantData,
        confirmation: Option<Confirmation>,
    ) -> ApiResult<ParticipantView> {
        let id = Uuid::now_v7();
        let sealed = vault.seal(id, &data.id_document_number)?;
        let (participant, accreditation) = conn
            .transaction::<_, ApiError, _>(async |conn| {
                events::lock_open_for_registration(conn, self.event_id).await?;
                if !places::take_place(conn, self.group).await? {
                    return Err(ApiError::Conflict {
                        code: self.full_code,
                        detail: format!("All {} places of this list are taken.", self.places),
                    });
                }
                let registration = Registration {
                    event_id: self.event_id,
                    registered_by: actor.id,
                    group: self.group,
                    category: self.category,
                    protocol_level: self.protocol_level,
                    press: None,
                    approved: false,
                    protocol_note: None,
                };
                let created = store::insert(conn, id, &registration, data, &sealed).await?;
                if let Some(confirmation) = &confirmation {
                    let full_name = format!("{} {}", data.first_name, data.last_name);
                    let email = RegistrationReceived {
                        full_name: &full_name,
                        event: &confirmation.event_name,
                        category: self.category.as_str(),
                        approved: false,
                    };
                    email::enqueue_for_event(
                        conn,
                        self.event_id,
                        &confirmation.to,
                        confirmation.locale,
                        &email,
                        None,
                    )
                    .await?;
                }
                AuditEntry::new("participant.registered", "participant", Some(id))
                    .by_actor(actor)
                    .details(serde_json::json!({ "category": self.category.as_str() }))
                    .record(conn)
                    .await?;
                Ok(created)
            })
            .await?;
        Ok(ParticipantView::new(
            participant,
            AccreditationSummary::from(&accreditation),
        ))
    }

    /// One person of the list. With `office`, the identity document number is decrypted and,
    /// when the answer is `shown` (a GET, not a HEAD), the read recorded in the audit trail
    /// (unless it was purged: nothing is read then).
    pub async fn read(
        &self,
        conn: &mut AsyncPgConnection,
        vault: &DocumentVault,
        actor: &Actor,
        id: Uuid,
        office: bool,
        shown: bool,
    ) -> ApiResult<ParticipantView> {
        conn.transaction::<_, ApiError, _>(async |conn| {
            let (participant, accreditation) = store::lock_in_group(conn, self.group, id).await?;
            let number = if office && participant.anonymized_at.is_none() {
                if shown {
                    AuditEntry::new(
                        "participant.document_read",
                        "participant",
                        Some(participant.id),
                    )
                    .by_actor(actor)
                    .record(conn)
                    .await?;
                }
                participant.open_document(vault)?
            } else {
                None
            };
            let mut view =
                ParticipantView::new(participant, AccreditationSummary::from(&accreditation));
            view.id_document_number = number;
            Ok(view)
        })
        .await
    }

    /// Replaces a person's details while pending; an answer to a request for information puts
    /// the accreditation back in the queue.
    pub async fn replace(
        &self,
        conn: &mut AsyncPgConnection,
        vault: &DocumentVault,
        actor: &Actor,
        id: Uuid,
        data: &ParticipantData,
    ) -> ApiResult<ParticipantView> {
        let sealed = vault.seal(id, &data.id_document_number)?;
        let (participant, accreditation) = conn
            .transaction::<_, ApiError, _>(async |conn| {
                let (participant, accreditation) =
                    store::lock_in_group(conn, self.group, id).await?;
                participant.ensure_not_anonymized()?;
                if !editable(accreditation.status()) {
                    return Err(not_editable());
                }
                let participant = store::replace(conn, id, data, &sealed).await?;
                let accreditation = workflow::application_changed(conn, id).await?;
                AuditEntry::new("participant.corrected", "participant", Some(id))
                    .by_actor(actor)
                    .details(serde_json::json!({ "previous_status": accreditation.status }))
                    .record(conn)
                    .await?;
                Ok((participant, accreditation))
            })
            .await?;
        Ok(ParticipantView::new(
            participant,
            AccreditationSummary::from(&accreditation),
        ))
    }

    /// Withdraws a pending person and frees their place.
    pub async fn withdraw(
        &self,
        conn: &mut AsyncPgConnection,
        actor: &Actor,
        id: Uuid,
    ) -> ApiResult<()> {
        conn.transaction::<_, ApiError, _>(async |conn| {
            let (_, accreditation) = store::lock_in_group(conn, self.group, id).await?;
            if !editable(accreditation.status()) {
                return Err(not_editable());
            }
            // The list's row first, as a registration takes it: one lock order for both.
            places::free_place(conn, self.group).await?;
            store::delete(conn, id).await?;
            AuditEntry::new("participant.withdrawn", "participant", Some(id))
                .by_actor(actor)
                .record(conn)
                .await?;
            Ok(())
        })
        .await
    }
}
