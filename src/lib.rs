//! BAMEX accreditation backend: registration, badge accreditation and gate control for the
//! Bamako International Defence and Security Exhibition.

pub mod accreditations;
pub mod app;
pub mod audit;
pub mod auth;
pub mod body;
pub mod cli;
pub mod config;
pub mod country;
pub mod db;
pub mod delegations;
pub mod demo;
pub mod email;
pub mod error;
pub mod events;
pub mod exhibitors;
pub mod gates;
pub mod idempotency;
pub mod openapi;
pub mod pagination;
pub mod participants;
pub mod patch;
pub mod periodic;
pub mod retention;
pub mod router;
pub mod state;
pub mod storable_text;
pub mod system;
pub mod telemetry;
pub mod text;
pub mod users;
pub mod visitors;
pub mod webhooks;
