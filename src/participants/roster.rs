//! What an exhibitor's staff and a delegation's members have in common: a list with a limited
//! number of places, whose people are registered, read, corrected and withdrawn while their
//! accreditation is pending. The routes of each group check who may act, then call this.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::emails::RegistrationReceived;
use super::store::{self, Group, Registration};
use super::{AccreditationSummary, ParticipantData, ParticipantView};
use crate::accreditations::{AccreditationStatus, Category};
use crate::app::AppState;
use crate::audit::AuditEntry;
use crate::auth::extract::{ClientIp, CurrentUser};
use crate::delegations::store as delegations;
use crate::email;
use crate::error::{ApiError, ApiResult};
use crate::events::store as events;
use crate::exhibitors::store as exhibitors;
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

/// Gives a place of `group`'s list back: a person withdrawn, rejected or revoked no longer
/// counts against the exhibitor's quota or the delegation's limit.
pub async fn free_place(conn: &mut AsyncPgConnection, group: Group) -> ApiResult<()> {
    match group {
        Group::Exhibitor(id) => exhibitors::release_staff_slot(conn, id).await?,
        Group::Delegation(id) => delegations::release_member_slot(conn, id).await?,
        Group::Visitor(_) => {}
    }
    Ok(())
}

impl Roster {
    /// Takes a place, atomically in the database; `false` when the list is full.
    async fn take_place(&self, conn: &mut AsyncPgConnection) -> ApiResult<bool> {
        Ok(match self.group {
            Group::Exhibitor(id) => exhibitors::take_staff_slot(conn, id).await?,
            Group::Delegation(id) => delegations::take_member_slot(conn, id).await?,
            Group::Visitor(_) => true,
        })
    }

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
        state: &AppState,
        actor: &CurrentUser,
        ip: &ClientIp,
        data: &ParticipantData,
        confirmation: Option<Confirmation>,
    ) -> ApiResult<ParticipantView> {
        let id = Uuid::now_v7();
        let sealed = state.documents.seal(id, &data.id_document_number)?;
        let (participant, accreditation) = conn
            .transaction::<_, ApiError, _>(async |conn| {
                events::lock_open_for_registration(conn, self.event_id).await?;
                if !self.take_place(conn).await? {
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
                    .by(actor.id, ip.as_string().as_deref())
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

    /// One person of the list. With `office`, the identity document number is decrypted and
    /// the read recorded in the audit trail (unless it was purged: nothing is read then).
    pub async fn read(
        &self,
        conn: &mut AsyncPgConnection,
        state: &AppState,
        actor: &CurrentUser,
        ip: &ClientIp,
        id: Uuid,
        office: bool,
    ) -> ApiResult<ParticipantView> {
        conn.transaction::<_, ApiError, _>(async |conn| {
            let (participant, accreditation) = store::lock_in_group(conn, self.group, id).await?;
            let number = if office && participant.anonymized_at.is_none() {
                AuditEntry::new(
                    "participant.document_read",
                    "participant",
                    Some(participant.id),
                )
                .by(actor.id, ip.as_string().as_deref())
                .record(conn)
                .await?;
                participant.open_document(&state.documents)?
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
        state: &AppState,
        actor: &CurrentUser,
        ip: &ClientIp,
        id: Uuid,
        data: &ParticipantData,
    ) -> ApiResult<ParticipantView> {
        let sealed = state.documents.seal(id, &data.id_document_number)?;
        let (participant, accreditation) = conn
            .transaction::<_, ApiError, _>(async |conn| {
                let (participant, accreditation) =
                    store::lock_in_group(conn, self.group, id).await?;
                participant.ensure_not_anonymized()?;
                if !editable(accreditation.status()) {
                    return Err(not_editable());
                }
                let replaced = store::replace(conn, id, data, &sealed).await?;
                AuditEntry::new("participant.corrected", "participant", Some(id))
                    .by(actor.id, ip.as_string().as_deref())
                    .details(serde_json::json!({ "previous_status": accreditation.status }))
                    .record(conn)
                    .await?;
                Ok(replaced)
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
        actor: &CurrentUser,
        ip: &ClientIp,
        id: Uuid,
    ) -> ApiResult<()> {
        conn.transaction::<_, ApiError, _>(async |conn| {
            let (_, accreditation) = store::lock_in_group(conn, self.group, id).await?;
            if !editable(accreditation.status()) {
                return Err(not_editable());
            }
            // The list's row first, as a registration takes it: one lock order for both.
            free_place(conn, self.group).await?;
            store::delete(conn, id).await?;
            AuditEntry::new("participant.withdrawn", "participant", Some(id))
                .by(actor.id, ip.as_string().as_deref())
                .record(conn)
                .await?;
            Ok(())
        })
        .await
    }
}
