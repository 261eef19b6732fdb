//! The email that tells a registered person (or whoever registered them) it was received.

use serde::Serialize;

use crate::email::EmailTemplate;

#[derive(Serialize)]
pub struct RegistrationReceived<'a> {
    pub full_name: &'a str,
    pub event: &'a str,
    pub category: &'a str,
    /// Approved at once (public visitors when the event allows it).
    pub approved: bool,
}
impl EmailTemplate for RegistrationReceived<'_> {
    const NAME: &'static str = "registration_received";
}
