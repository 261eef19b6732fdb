//! The emails of the account flows. Each names its templates in `src/email/templates`.

use serde::Serialize;

use crate::email::EmailTemplate;

#[derive(Serialize)]
pub struct VerifyEmail<'a> {
    pub full_name: &'a str,
    pub link: &'a str,
}
impl EmailTemplate for VerifyEmail<'_> {
    const NAME: &'static str = "verify_email";
}

#[derive(Serialize)]
pub struct ResetPassword<'a> {
    pub full_name: &'a str,
    pub link: &'a str,
    pub minutes: u32,
}
impl EmailTemplate for ResetPassword<'_> {
    const NAME: &'static str = "reset_password";
}

/// To an account an admin created: set your first password.
#[derive(Serialize)]
pub struct SetFirstPassword<'a> {
    pub full_name: &'a str,
    pub link: &'a str,
    pub hours: u32,
    pub roles: String,
}
impl EmailTemplate for SetFirstPassword<'_> {
    const NAME: &'static str = "set_first_password";
}

#[derive(Serialize)]
pub struct AccountLocked<'a> {
    pub full_name: &'a str,
    pub minutes: u32,
    pub reset_link: &'a str,
}
impl EmailTemplate for AccountLocked<'_> {
    const NAME: &'static str = "account_locked";
}

/// To the owner of an address someone tried to register again: sign in, or reset the password.
#[derive(Serialize)]
pub struct RegistrationAttempt<'a> {
    pub full_name: &'a str,
    pub sign_in_link: &'a str,
    pub reset_link: &'a str,
}
impl EmailTemplate for RegistrationAttempt<'_> {
    const NAME: &'static str = "registration_attempt";
}

/// To an account whose second factor an admin reset: sign in and enroll again.
#[derive(Serialize)]
pub struct MfaReset<'a> {
    pub full_name: &'a str,
    pub sign_in_link: &'a str,
}
impl EmailTemplate for MfaReset<'_> {
    const NAME: &'static str = "mfa_reset";
}
