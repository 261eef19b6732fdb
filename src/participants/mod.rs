//! Participants: the people badges are for, registered by an exhibitor (staff), a delegation
//! lead (members) or themselves (visitors). Their identity document number is sensitive.

pub mod access;
pub mod documents;
pub mod emails;
pub mod identity;
pub mod image_budget;
pub mod photos;
pub mod places;
pub mod roster;
pub mod scans;
pub mod store;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accreditations::{AccreditationStatus, Category};
use crate::country::CountryCode;
use crate::db::schema::participants;
use crate::db::text_enum;
use crate::error::{ApiError, ApiResult, Validator};
use crate::text;
use crate::users::EmailAddress;
use documents::DocumentNumber;
use identity::{IdentityDetails, IdentityRules};

text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum DocumentType {
        Passport = "passport",
        NationalId = "national_id",
        DiplomaticPassport = "diplomatic_passport",
        ResidencePermit = "residence_permit",
    }
}

/// A participant as submitted (staff member, delegation member, visitor).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParticipantInput {
    #[schema(example = "Ayşe", min_length = 1, max_length = 100)]
    pub first_name: String,
    #[schema(example = "Yılmaz", min_length = 1, max_length = 100)]
    pub last_name: String,
    #[schema(example = "ayse.yilmaz@peakdefense.com.tr", format = Email, max_length = 254)]
    pub email: Option<String>,
    #[schema(example = "Dr.", max_length = 100)]
    pub title: Option<String>,
    #[schema(example = "Anadolu Savunma", min_length = 1, max_length = 200)]
    pub organization: String,
    #[schema(example = "Export sales manager", max_length = 200)]
    pub function: Option<String>,
    #[schema(example = "TR", pattern = "^[A-Za-z]{2}$")]
    pub nationality: String,
    #[schema(example = "1984-03-17")]
    pub date_of_birth: NaiveDate,
    pub id_document_type: DocumentType,
    /// Stored encrypted; shown again only to organizers.
    #[schema(example = "U12345678")]
    pub id_document_number: String,
    /// Required when the event vets the category (`required`).
    #[schema(example = "Ankara", min_length = 1, max_length = 200)]
    pub place_of_birth: Option<String>,
    /// Required when the event vets the category (`required`); a document that expires before
    /// the event's last day is refused (`expires_too_soon`).
    #[schema(example = "2031-05-01")]
    pub id_document_expires_on: Option<NaiveDate>,
}

/// A participant whose every field was checked.
#[derive(Debug)]
pub struct ParticipantData {
    pub first_name: String,
    pub last_name: String,
    pub email: Option<EmailAddress>,
    pub title: Option<String>,
    pub organization: String,
    pub function: Option<String>,
    pub nationality: CountryCode,
    pub date_of_birth: NaiveDate,
    pub id_document_type: DocumentType,
    pub id_document_number: DocumentNumber,
    pub identity: IdentityDetails,
}

impl ParticipantInput {
    /// Every field checked, the identity details against what the event asks of `rules`.
    pub fn parse(&self, today: NaiveDate, rules: &IdentityRules) -> ApiResult<ParticipantData> {
        let mut v = Validator::default();
        let first_name = v.check("first_name", text::name(&self.first_name, 100));
        let last_name = v.check("last_name", text::name(&self.last_name, 100));
        let email = v.check(
            "email",
            self.email
                .as_deref()
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(EmailAddress::parse)
                .transpose(),
        );
        let title = v.check("title", text::optional(self.title.as_deref(), 100));
        let organization = v.check("organization", text::name(&self.organization, 200));
        let function = v.check("function", text::optional(self.function.as_deref(), 200));
        let nationality = v.check("nationality", CountryCode::parse(&self.nationality));
        let age_years = today.years_since(self.date_of_birth);
        v.check(
            "date_of_birth",
            match age_years {
                Some(age) if age <= 120 => Ok(()),
                _ => Err("must be a real date of birth in the past"),
            },
        );
        let number = v.check(
            "id_document_number",
            DocumentNumber::parse(&self.id_document_number),
        );
        let identity = v.check_fields(IdentityDetails::parse(
            self.place_of_birth.as_deref(),
            self.id_document_expires_on,
            rules,
        ));
        v.finish(|| {
            Some(ParticipantData {
                first_name: first_name?,
                last_name: last_name?,
                email: email?,
                title: title?,
                organization: organization?,
                function: function?,
                nationality: nationality?,
                date_of_birth: self.date_of_birth,
                id_document_type: self.id_document_type,
                id_document_number: number?,
                identity: identity?,
            })
        })
    }
}

/// A participant as stored. The fields that are optional here are always present until the
/// retention purge anonymizes the person (`anonymized_at`); a check constraint holds both ways.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = participants, check_for_backend(diesel::pg::Pg))]
pub struct Participant {
    pub id: Uuid,
    pub event_id: Uuid,
    pub registered_by: Option<Uuid>,
    pub exhibitor_id: Option<Uuid>,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<EmailAddress>,
    pub title: Option<String>,
    pub organization: String,
    pub function: Option<String>,
    pub nationality: String,
    pub date_of_birth: Option<NaiveDate>,
    pub id_document_type: Option<DocumentType>,
    pub id_document_ciphertext: Option<Vec<u8>>,
    pub id_document_nonce: Option<Vec<u8>>,
    pub id_document_key_id: Option<String>,
    pub id_document_hash: Option<Vec<u8>>,
    pub id_document_expires_on: Option<NaiveDate>,
    pub place_of_birth: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delegation_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub anonymized_at: Option<DateTime<Utc>>,
}

impl Participant {
    /// Refuses to act on a person whose personal data was purged (410 `personal_data_purged`).
    pub fn ensure_not_anonymized(&self) -> ApiResult<()> {
        match self.anonymized_at {
            Some(_) => Err(ApiError::purged()),
            None => Ok(()),
        }
    }

    /// The identity document number, decrypted; `None` once anonymized.
    pub fn open_document(&self, vault: &documents::DocumentVault) -> ApiResult<Option<String>> {
        let (Some(ciphertext), Some(nonce), Some(key_id)) = (
            &self.id_document_ciphertext,
            &self.id_document_nonce,
            &self.id_document_key_id,
        ) else {
            return Ok(None);
        };
        Ok(Some(vault.open(self.id, ciphertext, nonce, key_id)?))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccreditationSummary {
    pub id: Uuid,
    pub status: AccreditationStatus,
    pub category: Category,
    pub version: i32,
    /// Approved by the organizers, the badge waiting for the security services' clearance.
    pub awaiting_clearance: bool,
}

/// The person, as lists show them. Once the retention purge anonymized them (`anonymized_at`),
/// names read `[purged]` and the date of birth, place of birth and document expiry are null.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantSummary {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub title: Option<String>,
    pub organization: String,
    pub function: Option<String>,
    pub nationality: String,
    pub date_of_birth: Option<NaiveDate>,
    pub place_of_birth: Option<String>,
    pub id_document_expires_on: Option<NaiveDate>,
    /// Set once the retention purge removed this person's data (names read `[purged]`).
    pub anonymized_at: Option<DateTime<Utc>>,
}

impl From<Participant> for ParticipantSummary {
    fn from(participant: Participant) -> Self {
        Self {
            id: participant.id,
            first_name: participant.first_name,
            last_name: participant.last_name,
            email: participant.email.map(String::from),
            title: participant.title,
            organization: participant.organization,
            function: participant.function,
            nationality: participant.nationality,
            date_of_birth: participant.date_of_birth,
            place_of_birth: participant.place_of_birth,
            id_document_expires_on: participant.id_document_expires_on,
            anonymized_at: participant.anonymized_at,
        }
    }
}

/// A participant as the API shows it to those who registered them. The document number appears
/// only on a single record read by an organizer (and that read is audited); once anonymized, the
/// document type is null too.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantView {
    #[serde(flatten)]
    pub person: ParticipantSummary,
    pub id_document_type: Option<DocumentType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_document_number: Option<String>,
    pub accreditation: AccreditationSummary,
    pub created_at: DateTime<Utc>,
}

impl ParticipantView {
    pub fn new(participant: Participant, accreditation: AccreditationSummary) -> Self {
        Self {
            id_document_type: participant.id_document_type,
            id_document_number: None,
            accreditation,
            created_at: participant.created_at,
            person: ParticipantSummary::from(participant),
        }
    }
}
