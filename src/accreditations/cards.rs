//! Badge cards: what an approved accreditation prints, loaded once for the PDF routes and for the
//! badge attached to an approval email, and rendered off the executor.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::badges::live_badge_on;
use super::printable::{awaiting_clearance, no_badge};
use super::{AccreditationStatus, Category, VettingState};
use crate::country::CountryCode;
use crate::db::schema::{accreditations, badges, events, participant_photos, participants};
use crate::error::{ApiError, ApiResult};
use crate::participants::Participant;

/// What a badge shows.
pub struct BadgeCard {
    pub event_name: String,
    pub holder_name: String,
    pub organization: String,
    pub country: String,
    pub category: Category,
    /// A delegation member's protocol level as printed (`VVIP`, `VIP`, `STANDARD`).
    pub protocol_level: Option<String>,
    pub number: String,
    pub qr: String,
    /// The badge photo as stored, a JPEG (see `participants/photos.rs`); checked to decode
    /// before anything is drawn (`badge_photo.rs`).
    pub photo: Option<Vec<u8>>,
}

type CardRow = (
    Uuid,
    Participant,
    Category,
    Option<String>,
    String,
    Option<String>,
    String,
    Option<Vec<u8>>,
);

/// A person's name as badges and letters print it: given name, then family name in capitals.
pub fn holder_name(participant: &Participant) -> String {
    format!(
        "{} {}",
        participant.first_name,
        participant.last_name.to_uppercase()
    )
}

/// The printable card of an approved accreditation; `None` without a live badge (or once the
/// holder's personal data was purged, which takes the signed QR with it).
pub async fn card(
    conn: &mut AsyncPgConnection,
    accreditation_id: Uuid,
) -> ApiResult<Option<BadgeCard>> {
    Ok(cards(conn, &[accreditation_id])
        .await?
        .pop()
        .map(|(_, card)| card))
}

/// The printable cards of those of `ids` that have one (see [`card`]), in the order of `ids`,
/// with their accreditation ids: one query, photos included, whatever the number.
pub async fn cards(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> ApiResult<Vec<(Uuid, BadgeCard)>> {
    let rows: Vec<CardRow> = accreditations::table
        .inner_join(participants::table.left_join(participant_photos::table))
        .inner_join(badges::table.on(live_badge_on()))
        .inner_join(events::table)
        .filter(accreditations::id.eq_any(ids))
        .filter(accreditations::status.eq(AccreditationStatus::Approved.as_str()))
        .select((
            accreditations::id,
            Participant::as_select(),
            accreditations::category,
            accreditations::protocol_level,
            badges::number,
            badges::token,
            events::name,
            participant_photos::jpeg.nullable(),
        ))
        .load(conn)
        .await?;
    let position: HashMap<Uuid, usize> = ids.iter().enumerate().map(|(i, &id)| (id, i)).collect();
    let mut cards: Vec<(Uuid, BadgeCard)> = rows
        .into_iter()
        .filter_map(
            |(id, participant, category, protocol_level, number, qr, event_name, photo)| {
                // The purge takes the signed QR away: no card for a purged person.
                let qr = qr?;
                let country = CountryCode::parse(&participant.nationality)
                    .map(|c| c.name().to_owned())
                    .unwrap_or(participant.nationality.clone());
                Some((
                    id,
                    BadgeCard {
                        event_name,
                        holder_name: holder_name(&participant),
                        organization: participant.organization,
                        country,
                        category,
                        protocol_level: protocol_level.map(|level| level.to_uppercase()),
                        number,
                        qr,
                        photo,
                    },
                ))
            },
        )
        .collect();
    cards.sort_by_key(|(id, _)| position.get(id).copied());
    Ok(cards)
}

/// Why accreditations have no card: some approved ones wait for the security services'
/// clearance (`awaiting_clearance`), or none is approved (`no_badge`).
pub async fn no_card(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> ApiResult<ApiError> {
    let waiting: i64 = accreditations::table
        .filter(accreditations::id.eq_any(ids))
        .filter(accreditations::status.eq(AccreditationStatus::Approved.as_str()))
        .filter(accreditations::vetting_state.is_not_null())
        .filter(accreditations::vetting_state.ne(VettingState::Cleared.as_str()))
        .count()
        .get_result(conn)
        .await?;
    Ok(if waiting > 0 {
        awaiting_clearance()
    } else {
        no_badge()
    })
}

/// The card of one accreditation, or why it has none (see [`no_card`]).
pub async fn issued_card(
    conn: &mut AsyncPgConnection,
    accreditation_id: Uuid,
) -> ApiResult<BadgeCard> {
    match card(conn, accreditation_id).await? {
        Some(card) => Ok(card),
        None => Err(no_card(conn, &[accreditation_id]).await?),
    }
}

/// Runs drawing or photo decoding off the executor, on the blocking pool: they take CPU.
pub async fn render<T: Send + 'static>(
    job: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("PDF task panicked")))?
}
