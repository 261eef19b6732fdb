//! Accreditations the accreditation office enters by hand (`POST …/accreditations`): VIPs, its
//! own staff, contractors it hires (caterers, security firms), and visitors it registers at the
//! desk. They belong to no exhibitor's or delegation's list and take none of their places; they
//! go through the same review, vetting and badge issue as every other accreditation, and the
//! organizer who entered one never approves it (`workflow::decide`, and a check in the
//! database).
//!
//! Exhibitor staff and delegation members belong to a list with limited places: they are
//! registered through the exhibitor's staff or the delegation's members routes (organizers may
//! use those too). Journalists register themselves with their press card.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::{Accreditation, Category};
use crate::audit::{Actor, AuditEntry};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::events::store as events;
use crate::participants::documents::DocumentVault;
use crate::participants::store::{self as participants, Group, Registration};
use crate::participants::{Participant, ParticipantData};

/// Whether the office enters people of `category` by hand; the field error says where the
/// others are registered.
pub fn office_category(category: Category) -> Result<Category, FieldError> {
    let elsewhere = match category {
        Category::Vip
        | Category::OrganizerStaff
        | Category::Contractor
        | Category::TradeVisitor
        | Category::PublicVisitor => return Ok(category),
        Category::ExhibitorStaff => {
            "exhibitor staff are registered in the exhibitor's staff list (POST …/exhibitors/{id}/staff)"
        }
        Category::DelegationMember => {
            "delegation members are registered in the delegation's member list (POST …/delegations/{id}/members)"
        }
        Category::Media => {
            "journalists register themselves with their press card (POST …/visitors)"
        }
    };
    Err(FieldError::with_code(
        "category",
        "category_not_by_hand",
        elsewhere,
    ))
}

/// What the office enters: the person, the category (see [`office_category`]) and a note.
pub struct Entry<'a> {
    pub category: Category,
    pub person: &'a ParticipantData,
    pub protocol_note: Option<String>,
}

/// Enters a pending accreditation for the event, while it takes registrations, as any
/// registration is (the vetting state set by the database where the event vets the category).
pub async fn enter(
    conn: &mut AsyncPgConnection,
    vault: &DocumentVault,
    event_id: Uuid,
    organizer: &Actor,
    entry: Entry<'_>,
) -> ApiResult<(Participant, Accreditation)> {
    let id = Uuid::now_v7();
    let sealed = vault.seal(id, &entry.person.id_document_number)?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        events::lock_open_for_registration(conn, event_id).await?;
        let registration = Registration {
            event_id,
            registered_by: organizer.id,
            group: Group::Office(event_id),
            category: entry.category,
            protocol_level: None,
            press: None,
            approved: false,
            protocol_note: entry.protocol_note.clone(),
        };
        let created = participants::insert(conn, id, &registration, entry.person, &sealed).await?;
        AuditEntry::new("participant.registered", "participant", Some(id))
            .by_actor(organizer)
            .details(serde_json::json!({ "category": entry.category.as_str(), "by_hand": true }))
            .record(conn)
            .await?;
        Ok(created)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_people_and_journalists_are_registered_elsewhere() {
        for category in [
            Category::Vip,
            Category::OrganizerStaff,
            Category::Contractor,
            Category::TradeVisitor,
            Category::PublicVisitor,
        ] {
            assert_eq!(office_category(category).unwrap(), category);
        }
        for category in [
            Category::ExhibitorStaff,
            Category::DelegationMember,
            Category::Media,
        ] {
            let error = office_category(category).unwrap_err();
            assert_eq!(error.code, Some("category_not_by_hand"));
        }
    }
}
