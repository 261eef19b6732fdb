//! The one integration-test binary: real HTTP, real PostgreSQL, real SMTP.

mod fixtures;
mod helpers;

mod accreditations;
mod auth;
mod cli;
mod delegations;
mod errors;
mod exhibitors;
mod gates;
mod idempotency;
mod logs;
mod openapi;
mod outbox;
mod permissions;
mod retention;
mod system;
mod users;
mod visitors;
mod webhooks;
