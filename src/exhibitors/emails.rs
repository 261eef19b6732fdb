//! Emails to an applicant about its company's application.

use serde::Serialize;

use crate::email::EmailTemplate;

#[derive(Serialize)]
pub struct ExhibitorApproved<'a> {
    pub full_name: &'a str,
    pub company: &'a str,
    pub event: &'a str,
    pub reason: Option<&'a str>,
}
impl EmailTemplate for ExhibitorApproved<'_> {
    const NAME: &'static str = "exhibitor_approved";
}

#[derive(Serialize)]
pub struct ExhibitorRejected<'a> {
    pub full_name: &'a str,
    pub company: &'a str,
    pub event: &'a str,
    pub reason: &'a str,
}
impl EmailTemplate for ExhibitorRejected<'_> {
    const NAME: &'static str = "exhibitor_rejected";
}
