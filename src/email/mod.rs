//! Outgoing email. A change that causes an email writes it to the `outbox` table in its own
//! transaction ([`outbox::enqueue`]); the [`worker`] sends it later, with retries, so nothing is
//! lost while the mail server is down.

pub mod backlog;
pub mod outbox;
pub mod templates;
pub mod worker;

pub use outbox::{EventEmail, enqueue, enqueue_all_for_event, enqueue_for_event};
pub use templates::EmailTemplate;
