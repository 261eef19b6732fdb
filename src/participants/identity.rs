//! What the host state's security services check a person against beside the document number:
//! where they were born and until when their document is valid. Both are optional, unless the
//! event vets the person's category (`events.vetting_categories`). A document that expires before
//! the event's last day is refused whatever the category: it would not carry its holder through
//! the event (nor, for a foreign visitor, through the visa the letter supports).

use chrono::NaiveDate;

use crate::accreditations::Category;
use crate::error::FieldError;
use crate::events::Event;
use crate::text;

/// What an event asks of the identity details of a person in one category.
#[derive(Debug, Clone, Copy)]
pub struct IdentityRules {
    /// The event vets the category: both details are required.
    pub vetted: bool,
    /// The event's last day: the document must be valid until then at least.
    pub last_day: NaiveDate,
}

impl IdentityRules {
    pub fn new(event: &Event, category: Category) -> Self {
        Self {
            vetted: event.vets(category),
            last_day: event.ends_on,
        }
    }
}

/// A place of birth and a document expiry that meet the event's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityDetails {
    pub place_of_birth: Option<String>,
    pub id_document_expires_on: Option<NaiveDate>,
}

fn required(field: &str) -> FieldError {
    FieldError::with_code(
        field,
        "required",
        "is required: the event's security services vet this category",
    )
}

impl IdentityDetails {
    /// Every invalid field at once, each with its code (`required`, `expires_too_soon`).
    pub fn parse(
        place_of_birth: Option<&str>,
        expires_on: Option<NaiveDate>,
        rules: &IdentityRules,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let place = match text::optional_name(place_of_birth, 200) {
            Ok(None) if rules.vetted => {
                errors.push(required("place_of_birth"));
                None
            }
            Ok(place) => place,
            Err(message) => {
                errors.push(FieldError::new("place_of_birth", message));
                None
            }
        };
        match expires_on {
            None if rules.vetted => errors.push(required("id_document_expires_on")),
            Some(date) if date < rules.last_day => errors.push(FieldError::with_code(
                "id_document_expires_on",
                "expires_too_soon",
                format!(
                    "the document expires before the event's last day ({})",
                    rules.last_day
                ),
            )),
            _ => {}
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            place_of_birth: place,
            id_document_expires_on: expires_on,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(vetted: bool) -> IdentityRules {
        IdentityRules {
            vetted,
            last_day: NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
        }
    }

    fn codes(errors: Vec<FieldError>) -> Vec<(String, Option<&'static str>)> {
        errors.into_iter().map(|e| (e.field, e.code)).collect()
    }

    #[test]
    fn required_only_where_vetted() {
        let none = IdentityDetails::parse(None, None, &rules(false)).unwrap();
        assert_eq!(none.place_of_birth, None);
        assert_eq!(
            codes(IdentityDetails::parse(Some("  "), None, &rules(true)).unwrap_err()),
            [
                ("place_of_birth".to_owned(), Some("required")),
                ("id_document_expires_on".to_owned(), Some("required")),
            ]
        );
    }

    #[test]
    fn valid_through_the_last_day() {
        let last_day = rules(true).last_day;
        let ok = IdentityDetails::parse(Some(" Ankara "), Some(last_day), &rules(true)).unwrap();
        assert_eq!(ok.place_of_birth.as_deref(), Some("Ankara"));
        let early = last_day.pred_opt();
        assert_eq!(
            codes(IdentityDetails::parse(None, early, &rules(false)).unwrap_err()),
            [(
                "id_document_expires_on".to_owned(),
                Some("expires_too_soon")
            )]
        );
    }
}
