//! Scan batches: how many scans each batch of the recorder (`gates/recorder.rs`) decided and
//! recorded, and how long it took; and the scans gate devices uploaded after scanning offline.

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// A handle the recorder's lanes observe their batches with (clones count into the same series).
#[derive(Debug, Clone)]
pub struct ScanBatchMetrics {
    size: Histogram,
    duration: Histogram,
}

impl ScanBatchMetrics {
    pub(super) fn register(registry: &mut Registry) -> Self {
        // 1, 2, 4 … 256: a batch holds at most 256 scans.
        let size = Histogram::new(exponential_buckets(1.0, 2.0, 9));
        // 0.5 ms to about 8 s; a batch gives up after 10 s.
        let duration = Histogram::new(exponential_buckets(0.0005, 2.0, 15));
        registry.register(
            "scan_batch_size",
            "Scans decided and recorded per batch",
            size.clone(),
        );
        // The unit is in the name only, as for the request latency (see `http.rs`).
        registry.register(
            "scan_batch_duration_seconds",
            "Time to decide and record one batch of scans, failed ones included",
            duration.clone(),
        );
        Self { size, duration }
    }

    pub fn observe(&self, scans: usize, took: Duration) {
        self.size.observe(scans as f64);
        self.duration.observe(took.as_secs_f64());
    }
}

/// A handle the offline upload counts its scans with: those recorded, and those of them flagged
/// (let in offline, refused by the server at their time).
#[derive(Debug, Clone)]
pub struct OfflineScanMetrics {
    recorded: Counter,
    flagged: Counter,
}

impl OfflineScanMetrics {
    pub(super) fn register(registry: &mut Registry) -> Self {
        let recorded = Counter::default();
        let flagged = Counter::default();
        registry.register(
            "offline_scans",
            "Scans made offline by gate devices and recorded on upload",
            recorded.clone(),
        );
        registry.register(
            "offline_scans_flagged",
            "Offline scans let in by the device that the server refused at their time (gate alerts)",
            flagged.clone(),
        );
        Self { recorded, flagged }
    }

    pub fn observe(&self, recorded: usize, flagged: usize) {
        self.recorded.inc_by(recorded as u64);
        self.flagged.inc_by(flagged as u64);
    }
}
