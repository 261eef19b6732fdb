//! The one integration-test binary: real HTTP, real PostgreSQL, real SMTP.

mod fixtures;
mod helpers;

mod accreditations;
mod audit_log;
mod auth;
mod badge_rules;
mod cli;
mod compose;
mod delegations;
mod documents;
mod errors;
mod exhibitors;
mod exports;
mod gate_devices;
mod gates;
mod head;
mod idempotency;
mod letters;
mod logs;
mod metrics;
mod mfa;
mod office;
mod offline_scans;
mod openapi;
mod outbox;
mod permissions;
mod printing;
mod reissue;
mod retention;
mod system;
mod users;
mod vetting;
mod vetting_exchange;
mod visitors;
mod webhooks;
