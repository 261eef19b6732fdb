//! Offline scans: a gate device that lost its connection decides on its own (against the keys
//! and badges it synced) and uploads its scans later, up to 10,000 at once
//! (`POST /api/v1/events/{event}/scans/batch`, `routes.rs`). Each is judged again at its own
//! `scanned_at` by the rules online scans follow (`gates/admission.rs`), recorded once per
//! `scan_id` with both times and the device, and presence is rebuilt in time order with the
//! scans recorded before, in one database call (`store.rs`, `record_offline_scans`). A scan let
//! in offline that the server refuses at its time (revoked before it, another zone …) is
//! flagged: organizers list these alerts at `GET …/gate-alerts` (`alerts.rs`).

pub mod alerts;
pub mod routes;
pub mod store;
pub mod upload;
