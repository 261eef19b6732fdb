//! Webhooks: integrations (the host state's access-control system, a CRM) are told what happens
//! at an event. Admins register endpoints per event with the kinds they want (`routes.rs`); a
//! change that causes a webhook writes one delivery per subscribed endpoint to the
//! `webhook_deliveries` outbox in its own transaction ([`enqueue`]; scan denials inside the
//! `record_scans` statement); the workers (`worker.rs`) claim due deliveries with a lease, post
//! them signed the Standard Webhooks way (`signing.rs`), each exchange bounded in time and no
//! transaction open meanwhile, and retry with exponential backoff. Targets in private networks
//! are refused at registration and at every delivery (`targets.rs`).
//!
//! Payloads hold ids and states only (`kinds.rs`): never a note, a reason or personal data.

pub mod client;
pub mod kinds;
pub mod routes;
pub mod signing;
pub mod store;
pub mod targets;
pub mod worker;

pub use kinds::WebhookKind;
pub use store::{enqueue, enqueue_all};
