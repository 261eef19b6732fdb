//! Host-state security vetting: the officers' track beside the organizers' review.

pub mod batches;
pub mod exchange;
pub mod results;
pub mod uploads;
