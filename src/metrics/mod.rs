//! Prometheus metrics, served at `/metrics` on a listener of their own (`metrics.listen`), never
//! on the public port. Two kinds:
//!
//! - counted as things happen, in the [`Metrics`] registry: requests by route pattern, method
//!   and status with their latency ([`http`]), scan batches by size and time, offline scans uploaded and flagged ([`scans`]);
//! - sampled at each scrape ([`scrape`]): the pool, the read replica's lag and whether reads go
//!   to it, the outbox backlog (one short query, left out when the database does not answer),
//!   the password-hashing queue and process memory.
//!
//! Built with `prometheus-client`, the Prometheus project's own Rust client: it writes the
//! Prometheus text format or OpenMetrics, as the scraper asks (see README, "Metrics").

pub mod http;
pub mod scans;
mod scrape;
pub mod server;

use prometheus_client::registry::Registry;

use self::http::RequestMetrics;
use self::scans::{OfflineScanMetrics, ScanBatchMetrics};

/// Every metric prefix of ours; process metrics keep their conventional `process_` names.
const PREFIX: &str = "bamex";

/// The registry of what is counted as it happens, and the handles that count it.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub requests: RequestMetrics,
    pub scan_batches: ScanBatchMetrics,
    pub offline_scans: OfflineScanMetrics,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let ours = registry.sub_registry_with_prefix(PREFIX);
        let requests = RequestMetrics::register(ours);
        let scan_batches = ScanBatchMetrics::register(ours);
        let offline_scans = OfflineScanMetrics::register(ours);
        Self {
            registry,
            requests,
            scan_batches,
            offline_scans,
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
