//! Authentication and authorization: passwords, tokens, sessions, abuse limits, the role
//! extractors handlers declare, and the `/auth/*` routes.

pub mod emails;
pub mod extract;
pub mod limits;
pub mod new_password;
pub mod password;
pub mod routes;
pub mod sessions;
pub mod store;
pub mod tokens;
