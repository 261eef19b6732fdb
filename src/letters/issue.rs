//! Issuing a letter: who may have one, the record written (once per consulate and language),
//! and what the printed letter states.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::code::VerificationCode;
use super::store::{self, NewLetter};
use super::{LetterLanguage, VisaLetter};
use crate::accreditations::cards::{BadgeCard, card};
use crate::accreditations::pdf::Invitation;
use crate::accreditations::printable::{awaiting_clearance, no_badge};
use crate::accreditations::{Accreditation, VettingState, store as accreditations};
use crate::audit::{Actor, AuditEntry};
use crate::config::ApplicationSettings;
use crate::db::schema::accreditations as accreditations_table;
use crate::error::{ApiError, ApiResult};
use crate::events::Event;
use crate::participants::documents::{DocumentVault, SealedSecret, mask_number};
use crate::participants::{DocumentType, Participant};

/// What a letter needs besides its record: the badge card and the person.
pub struct Letterhead {
    pub card: BadgeCard,
    pub participant: Participant,
}

/// Whether the security services let this accreditation have a letter: cleared, where the
/// event vets its category.
pub fn cleared_where_vetted(event: &Event, accreditation: &Accreditation) -> bool {
    !event.vets(accreditation.category())
        || accreditation.vetting_state == Some(VettingState::Cleared)
}

/// What a letter for accreditation `id` of `event` prints, if it may have one: a live person
/// (else 410), cleared where vetted (else 409 `awaiting_clearance`), approved with a badge
/// (else 409 `no_badge`). Who may ask is the caller's business, checked before.
pub async fn letterhead(
    conn: &mut AsyncPgConnection,
    event: &Event,
    id: Uuid,
) -> ApiResult<Letterhead> {
    let (accreditation, participant, _) = accreditations::find(conn, &event.slug, id).await?;
    participant.ensure_not_anonymized()?;
    if !cleared_where_vetted(event, &accreditation) {
        return Err(awaiting_clearance());
    }
    let card = card(conn, id).await?.ok_or_else(no_badge)?;
    Ok(Letterhead { card, participant })
}

/// The authenticated data a letter's code is sealed under: it opens for this letter only.
fn context(letter_id: Uuid) -> Vec<u8> {
    [b"visa_letter:".as_slice(), letter_id.as_bytes()].concat()
}

/// A letter's code, unsealed.
pub fn open_code(vault: &DocumentVault, letter: &VisaLetter) -> ApiResult<VerificationCode> {
    let sealed = SealedSecret {
        ciphertext: letter.code_ciphertext.clone(),
        nonce: letter.code_nonce.clone(),
        key_id: letter.code_key_id.clone(),
    };
    let code = vault.open_secret(&context(letter.id), &sealed)?;
    let code = String::from_utf8(code)
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("letter code")))?;
    Ok(VerificationCode::from_canonical(code))
}

/// A letter issued, or the one that was: `created` is false when the accreditation's latest
/// letter already has this consulate and language.
pub struct Issued {
    pub letter: VisaLetter,
    pub code: VerificationCode,
    pub created: bool,
}

/// The accreditation's letter to `consulate` in `language`: its latest letter when that is the
/// same, else a new one (audited). Call it on an accreditation [`letterhead`] accepted.
pub async fn issue(
    conn: &mut AsyncPgConnection,
    vault: &DocumentVault,
    actor: &Actor,
    accreditation_id: Uuid,
    consulate: Option<&str>,
    language: LetterLanguage,
) -> ApiResult<Issued> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        // Two identical requests at once issue one letter.
        accreditations_table::table
            .find(accreditation_id)
            .select(accreditations_table::id)
            .for_update()
            .first::<Uuid>(conn)
            .await?;
        if let Some(letter) = store::latest(conn, accreditation_id).await?
            && letter.consulate.as_deref() == consulate
            && letter.language == language
        {
            let code = open_code(vault, &letter)?;
            return Ok(Issued {
                letter,
                code,
                created: false,
            });
        }
        let id = Uuid::now_v7();
        let code = VerificationCode::generate();
        let sealed = vault.seal_secret(&context(id), code.canonical().as_bytes())?;
        let letter = store::insert(
            conn,
            &NewLetter {
                id,
                accreditation_id,
                code_hash: code.hash(),
                code_ciphertext: sealed.ciphertext,
                code_nonce: sealed.nonce,
                code_key_id: &sealed.key_id,
                consulate,
                language,
                issued_by: actor.id,
            },
        )
        .await?;
        AuditEntry::new("visa_letter.issued", "visa_letter", Some(id))
            .by_actor(actor)
            .details(serde_json::json!({
                "accreditation_id": accreditation_id,
                "language": language,
            }))
            .record(conn)
            .await?;
        Ok(Issued {
            letter,
            code,
            created: true,
        })
    })
    .await
}

/// The public link a letter's QR carries: the front-end's page for `GET /api/v1/letters/{code}`.
pub fn verification_url(application: &ApplicationSettings, code: &VerificationCode) -> String {
    application.frontend_link(&format!("letters/{}", code.grouped()), None)
}

/// The document number as a letter prints it: in full for organizers and the holder, masked
/// for whoever else registered them (an exhibitor's account, a delegation's lead).
pub fn shown_number(number: String, in_full: bool) -> String {
    if in_full {
        number
    } else {
        mask_number(&number)
    }
}

/// What the printed letter states.
pub fn invitation(
    event: &Event,
    head: Letterhead,
    document_number: &str,
    letter: &VisaLetter,
    code: &VerificationCode,
    verification_url: String,
) -> Invitation {
    let Letterhead { card, participant } = head;
    Invitation {
        language: letter.language,
        consulate: letter.consulate.clone(),
        event_name: event.name.clone(),
        venue: event.venue.clone(),
        starts_on: event.starts_on.to_string(),
        ends_on: event.ends_on.to_string(),
        holder_name: card.holder_name,
        nationality: card.country,
        date_of_birth: participant
            .date_of_birth
            .map(|d| d.to_string())
            .unwrap_or_default(),
        document: format!(
            "{} {document_number}",
            participant
                .id_document_type
                .map(DocumentType::as_str)
                .unwrap_or_default()
        ),
        organization: card.organization,
        category: card.category.as_str().to_owned(),
        badge_number: card.number,
        issued_on: letter.issued_at.date_naive().to_string(),
        code: code.grouped(),
        verification_url,
    }
}
