//! The email that brings a holder their new badge.

use serde::Serialize;

use crate::email::EmailTemplate;

#[derive(Serialize)]
pub struct BadgeReissued<'a> {
    pub full_name: &'a str,
    pub event: &'a str,
    pub badge_number: &'a str,
    pub reason: &'a str,
}

impl EmailTemplate for BadgeReissued<'_> {
    const NAME: &'static str = "badge_reissued";
}
