//! Visitors and the press: a signed-in person registers themselves for an event.

pub mod routes;
