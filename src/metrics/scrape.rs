//! What is sampled at each scrape, into a registry of that scrape only: a value that cannot be
//! had this time (the database does not answer) is left out rather than shown stale.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use super::PREFIX;
use crate::auth::password;
use crate::db::DbPool;
use crate::db::replica::ReadPools;
use crate::email::backlog::{self, Backlog};

/// How long a scrape waits for the database (a pooled connection and the backlog query).
const OUTBOX_QUERY_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: &'static str,
}

fn gauge(value: i64) -> Gauge {
    let gauge = Gauge::default();
    gauge.set(value);
    gauge
}

fn int(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn count(value: usize) -> Gauge {
    gauge(int(value))
}

/// Samples everything into a new registry.
pub(super) async fn sample(pool: &DbPool, reads: &ReadPools) -> Registry {
    let mut registry = Registry::default();
    process_memory(&mut registry);
    let ours = registry.sub_registry_with_prefix(PREFIX);
    // Before the backlog query takes a connection of its own.
    pool_status(ours, pool);
    replica(ours, reads);
    hashing_queue(ours);
    outbox(ours, pool).await;
    registry
}

fn pool_status(registry: &mut Registry, pool: &DbPool) {
    let status = pool.status();
    let connections = Family::<StateLabel, Gauge>::default();
    let idle = status.available;
    connections
        .get_or_create(&StateLabel { state: "in_use" })
        .set(int(status.size.saturating_sub(idle)));
    connections
        .get_or_create(&StateLabel { state: "idle" })
        .set(int(idle));
    registry.register(
        "db_pool_connections",
        "Open connections of the request pool, in use or idle (scan lanes hold their own)",
        connections,
    );
    registry.register(
        "db_pool_waiting",
        "Requests waiting for a pooled connection",
        count(status.waiting),
    );
    registry.register(
        "db_pool_max_connections",
        "Most connections the pool opens (database.max_connections)",
        count(status.max_size),
    );
}

/// As the replica's probe found it last (nothing without `database.replica_url`).
fn replica(registry: &mut Registry, reads: &ReadPools) {
    let Some(status) = reads.replica_status() else {
        return;
    };
    registry.register(
        "db_replica_reads",
        "Whether the reads that may lag go to the read replica (1) or to the primary (0)",
        gauge(i64::from(status.reads_on_replica)),
    );
    registry.register(
        "db_replica_probe_success",
        "Whether the last probe could measure the replica's lag (1) or not (0: the lag is absent)",
        gauge(i64::from(status.lag.is_some())),
    );
    if let Some(lag) = status.lag {
        let seconds = Gauge::<f64, AtomicU64>::default();
        seconds.set(lag.as_secs_f64());
        registry.register_with_unit(
            "db_replica_lag",
            "How long ago the primary was where the replica has replayed to (0: caught up)",
            Unit::Seconds,
            seconds,
        );
    }
}

fn hashing_queue(registry: &mut Registry) {
    let (depth, capacity) = password::queue_depth();
    registry.register(
        "password_hashing_queue_depth",
        "Password hashes running or waiting for a hashing thread",
        count(depth),
    );
    registry.register(
        "password_hashing_queue_capacity",
        "Most password hashes running or waiting at once (more answer 503)",
        count(capacity),
    );
}

async fn outbox(registry: &mut Registry, pool: &DbPool) {
    let queried = tokio::time::timeout(OUTBOX_QUERY_TIMEOUT, async {
        let mut conn = pool.get().await.map_err(|e| e.to_string())?;
        backlog::backlog(&mut conn).await.map_err(|e| e.to_string())
    })
    .await
    .unwrap_or_else(|_| Err(format!("no answer within {OUTBOX_QUERY_TIMEOUT:?}")));
    registry.register(
        "outbox_query_success",
        "Whether this scrape could read the outbox backlog (1) or not (0: its metrics are absent)",
        gauge(i64::from(queried.is_ok())),
    );
    let Backlog {
        pending,
        failed,
        oldest_pending_seconds,
    } = match queried {
        Ok(backlog) => backlog,
        Err(error) => {
            tracing::warn!(%error, "metrics: the outbox backlog could not be read");
            return;
        }
    };
    let messages = Family::<StatusLabel, Gauge>::default();
    messages
        .get_or_create(&StatusLabel { status: "pending" })
        .set(pending);
    messages
        .get_or_create(&StatusLabel { status: "failed" })
        .set(failed);
    registry.register(
        "outbox_messages",
        "Emails in the outbox still to be sent (pending) or given up (failed)",
        messages,
    );
    let oldest = Gauge::<f64, AtomicU64>::default();
    oldest.set(oldest_pending_seconds.unwrap_or(0.0).max(0.0));
    registry.register_with_unit(
        "outbox_oldest_pending_age",
        "Age of the oldest pending email (0 when none is pending)",
        Unit::Seconds,
        oldest,
    );
}

/// Resident and virtual memory from `/proc/self/statm` (Linux; absent elsewhere). A read of
/// procfs is answered from kernel memory: it does not block like a disk read.
fn process_memory(registry: &mut Registry) {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else {
        return;
    };
    // SAFETY: sysconf reads a constant of the system; no memory is shared.
    let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let mut pages = statm
        .split_whitespace()
        .map(|field| field.parse::<i64>().ok());
    let (Some(Some(size)), Some(Some(resident))) = (pages.next(), pages.next()) else {
        return;
    };
    let page_size = (page_size as i64).max(1);
    registry.register_with_unit(
        "process_resident_memory",
        "Resident set size of the process",
        Unit::Bytes,
        gauge(resident.saturating_mul(page_size)),
    );
    registry.register_with_unit(
        "process_virtual_memory",
        "Virtual memory size of the process",
        Unit::Bytes,
        gauge(size.saturating_mul(page_size)),
    );
}
