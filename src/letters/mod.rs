//! Verifiable visa letters. The invitation letter an accredited foreign participant shows for a
//! visa is a record (`visa_letters`): addressed to the consulate they name, in French or English,
//! issued only once they are approved and, where the event vets their category, cleared. It
//! carries a verification code and a QR of its public verification link, where a consulate
//! confirms it (`GET /api/v1/letters/{code}`) and learns nothing more than the letter states.

pub mod code;
pub mod issue;
pub mod routes;
pub mod store;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::visa_letters;
use crate::db::text_enum;

text_enum! {
    /// The language a letter is written in (its title stays bilingual, for any consular officer).
    #[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum LetterLanguage {
        #[default]
        Fr = "fr",
        En = "en",
    }
}

/// A letter as stored; its code is sealed (see [`code::VerificationCode`]).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = visa_letters, check_for_backend(diesel::pg::Pg))]
pub struct VisaLetter {
    pub id: Uuid,
    pub accreditation_id: Uuid,
    pub code_ciphertext: Vec<u8>,
    pub code_nonce: Vec<u8>,
    pub code_key_id: String,
    pub consulate: Option<String>,
    pub language: LetterLanguage,
    pub issued_at: DateTime<Utc>,
    pub issued_by: Option<Uuid>,
}
