//! The front door: every route of the service, and the only module that knows the handlers.
//! `app.rs` mounts it on the server and `openapi.rs` collects the document from it.

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::{
    accreditations, audit, auth, delegations, events, exhibitors, gates, letters, participants,
    reissues, system, users, vetting, visitors, webhooks,
};

/// Every route of the service. Handlers are registered with `.service()` so that their
/// `#[utoipa::path]` lands in the OpenAPI document: a route cannot be mounted undocumented.
pub fn mount(cfg: &mut ServiceConfig) {
    cfg.service(system::healthz)
        .service(system::readyz)
        .service(system::docs)
        .configure(gates::routes::mount)
        .service(
            scope::scope("/api/v1")
                .service(system::openapi_json)
                .configure(auth::routes::mount)
                .configure(auth::mfa_routes::mount)
                .configure(audit::routes::mount)
                .configure(users::routes::mount)
                .configure(events::routes::mount)
                .configure(exhibitors::directory::mount)
                .configure(exhibitors::export::mount)
                .configure(exhibitors::routes::mount)
                .configure(exhibitors::staff::mount)
                .configure(exhibitors::contractors::mount)
                .configure(exhibitors::pavilions::mount)
                .configure(delegations::routes::mount)
                .configure(delegations::members::mount)
                .configure(delegations::invitations::mount)
                .configure(visitors::routes::mount)
                .configure(participants::photos::mount)
                .configure(participants::scans::routes::mount)
                .service(accreditations::mine::my_accreditations)
                .configure(accreditations::routes::mount)
                .configure(accreditations::office::mount)
                .configure(accreditations::overrides::routes::mount)
                .configure(accreditations::printing::mount)
                .configure(reissues::routes::mount)
                .configure(letters::routes::mount)
                .configure(gates::scans::mount)
                .configure(gates::offline::routes::mount)
                .configure(gates::offline::alerts::mount)
                .configure(gates::devices::routes::mount)
                .configure(gates::sync::routes::mount)
                .configure(gates::export::mount)
                .configure(gates::stats::mount)
                .configure(vetting::exchange::mount)
                // After any `/vetting/<name>` route: `/vetting/{id}` would take the name.
                .configure(vetting::routes::mount)
                .configure(webhooks::routes::mount),
        );
}
