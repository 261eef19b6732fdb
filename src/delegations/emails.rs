//! The invitation a delegation's lead receives.

use serde::Serialize;

use crate::email::EmailTemplate;

#[derive(Serialize)]
pub struct DelegationInvitation<'a> {
    pub lead_name: &'a str,
    pub delegation: &'a str,
    pub event: &'a str,
    pub link: &'a str,
    pub days: u32,
}
impl EmailTemplate for DelegationInvitation<'_> {
    const NAME: &'static str = "delegation_invitation";
}
