//! Scan batches: how many scans each batch of the recorder (`gates/recorder.rs`) decided and
//! recorded, and how long it took.

use std::time::Duration;

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
