//! Authentication and authorization: passwords, the second factor (TOTP), tokens, sessions,
//! gate devices' token format, abuse limits, the role extractors handlers declare, and the
//! `/auth/*` and `/me/mfa` routes.

pub mod device_tokens;
pub mod emails;
pub mod extract;
pub mod limits;
pub mod mfa_routes;
pub mod mfa_store;
pub mod new_password;
pub mod password;
pub mod routes;
pub mod second_factor;
pub mod sessions;
pub mod store;
pub mod tokens;
pub mod totp;
