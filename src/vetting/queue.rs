//! The officers' queue: the accreditations of the categories the event vets, through the review
//! queue's query (`accreditations/queue.rs`, its filters and paging), each shown with what the
//! services check a person against and nothing more.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accreditations::{Accreditation, Category, VettingState};
use crate::db::schema::{delegations, exhibitors, participant_photos};
use crate::error::ApiResult;
use crate::events::Event;
use crate::participants::documents::{DocumentVault, mask_number};
use crate::participants::{DocumentType, Participant};

/// The exhibitor or delegation a person comes with.
#[derive(Debug, Serialize, ToSchema)]
pub struct Group {
    pub id: Uuid,
    pub name: String,
}

/// The person, as the services check them.
#[derive(Debug, Serialize, ToSchema)]
pub struct VettedPerson {
    pub participant_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: Option<NaiveDate>,
    pub place_of_birth: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub nationality: String,
    pub organization: String,
    pub function: Option<String>,
    pub id_document_type: Option<DocumentType>,
    /// Masked but for its last four characters in the queue; in full in the person's detail
    /// (an audited read).
    #[schema(example = "•••••5678")]
    pub id_document_number: Option<String>,
    pub id_document_expires_on: Option<NaiveDate>,
    /// The photo (`GET`, officers may read it); null without one.
    pub photo_url: Option<String>,
}

/// One accreditation of the vetting queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct VettingItem {
    pub accreditation_id: Uuid,
    pub category: Category,
    /// Set on every accreditation of the queue.
    pub vetting_state: Option<VettingState>,
    /// Send it back with a decision: a stale one is refused.
    pub version: i32,
    pub person: VettedPerson,
    pub exhibitor: Option<Group>,
    pub delegation: Option<Group>,
}

/// How the document number is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Number {
    Masked,
    Full,
}

/// The items of `rows`, their groups' names and photos loaded in three queries whatever the
/// number of rows.
pub async fn items(
    conn: &mut AsyncPgConnection,
    vault: &DocumentVault,
    event: &Event,
    rows: Vec<(Accreditation, Participant)>,
    number: Number,
) -> ApiResult<Vec<VettingItem>> {
    let exhibitor_ids: Vec<Uuid> = rows.iter().filter_map(|(_, p)| p.exhibitor_id).collect();
    let delegation_ids: Vec<Uuid> = rows.iter().filter_map(|(_, p)| p.delegation_id).collect();
    let participant_ids: Vec<Uuid> = rows.iter().map(|(_, p)| p.id).collect();
    let exhibitor_names: HashMap<Uuid, String> = exhibitors::table
        .filter(exhibitors::id.eq_any(exhibitor_ids))
        .select((exhibitors::id, exhibitors::display_name))
        .load::<(Uuid, String)>(conn)
        .await?
        .into_iter()
        .collect();
    let delegation_names: HashMap<Uuid, String> = delegations::table
        .filter(delegations::id.eq_any(delegation_ids))
        .select((delegations::id, delegations::name))
        .load::<(Uuid, String)>(conn)
        .await?
        .into_iter()
        .collect();
    let with_photo: HashSet<Uuid> = participant_photos::table
        .filter(participant_photos::participant_id.eq_any(participant_ids))
        .select(participant_photos::participant_id)
        .load::<Uuid>(conn)
        .await?
        .into_iter()
        .collect();
    let group = |id: Option<Uuid>, names: &HashMap<Uuid, String>| {
        id.and_then(|id| {
            names.get(&id).map(|name| Group {
                id,
                name: name.clone(),
            })
        })
    };
    rows.into_iter()
        .map(|(accreditation, participant)| {
            let document = participant.open_document(vault)?.map(|n| match number {
                Number::Masked => mask_number(&n),
                Number::Full => n,
            });
            Ok(VettingItem {
                accreditation_id: accreditation.id,
                category: accreditation.category(),
                vetting_state: accreditation.vetting_state,
                version: accreditation.version,
                exhibitor: group(participant.exhibitor_id, &exhibitor_names),
                delegation: group(participant.delegation_id, &delegation_names),
                person: VettedPerson {
                    photo_url: with_photo.contains(&participant.id).then(|| {
                        format!(
                            "/api/v1/events/{}/participants/{}/photo",
                            event.slug, participant.id
                        )
                    }),
                    participant_id: participant.id,
                    first_name: participant.first_name,
                    last_name: participant.last_name,
                    date_of_birth: participant.date_of_birth,
                    place_of_birth: participant.place_of_birth,
                    nationality: participant.nationality,
                    organization: participant.organization,
                    function: participant.function,
                    id_document_type: participant.id_document_type,
                    id_document_number: document,
                    id_document_expires_on: participant.id_document_expires_on,
                },
            })
        })
        .collect()
}
