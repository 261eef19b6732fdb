//! The email that tells an applicant what became of their accreditation.

use serde::Serialize;

use crate::email::EmailTemplate;

#[derive(Serialize)]
pub struct AccreditationUpdate<'a> {
    pub full_name: &'a str,
    pub event: &'a str,
    /// `approved`, `rejected`, `info_requested` or `revoked`.
    pub status: &'a str,
    pub reason: Option<&'a str>,
    pub badge_number: Option<&'a str>,
}
impl EmailTemplate for AccreditationUpdate<'_> {
    const NAME: &'static str = "accreditation_update";
}
