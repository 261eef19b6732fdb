//! Security vetting: the host state's services clear each person of the categories an event
//! vets, beside the organizers' review; a badge is issued only once both said yes.

pub mod batches;
pub mod decision;
pub mod exchange;
pub mod queue;
pub mod results;
pub mod routes;
pub mod store;
pub mod uploads;
