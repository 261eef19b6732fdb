//! An optional streaming replica (`database.replica_url`) for the reads that may be a moment
//! behind: the exhibitor directory, the review queue and the event statistics. A probe compares,
//! every 250 ms, the position the primary has written its WAL to (`pg_current_wal_lsn()`) with
//! the one the replica has replayed (`pg_last_wal_replay_lsn()`); those reads go to the replica
//! while its lag is within `database.replica_max_lag_ms`, and to the primary while it is not, the
//! replica does not answer the probe, or a connection to it cannot be had.
//!
//! The lag is how long ago, on this instance's clock, the primary was at the last position the
//! replica has replayed: what the replica shows is at most that old. The usual
//! `now() - pg_last_xact_replay_timestamp()` is not used: it is the age of the last transaction
//! replayed, so after a quiet hour the first write makes a replica an hour behind until it is
//! replayed; it compares two servers' clocks; and a replica that stopped receiving WAL looks
//! caught up, having nothing left to replay.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use diesel::sql_types::{BigInt, Nullable};
use diesel_async::pooled_connection::deadpool::PoolError;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use secrecy::{ExposeSecret, SecretString};
use tokio_util::sync::CancellationToken;

use super::{DbConn, DbPool};

const PROBE_EVERY: Duration = Duration::from_millis(250);
/// A server that takes longer to answer the probe leaves the reads on the primary.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// Primary positions remembered while the replica is behind (a minute at the probe's pace).
/// When full, the newest is moved forward instead, which can only overstate the lag.
const MAX_POSITIONS: usize = 240;
/// `lag_ms` while the probe fails.
const UNKNOWN: u64 = u64::MAX;

/// Where reads that may lag are taken from; clones share the replica's state.
#[derive(Clone)]
pub struct ReadPools {
    primary: DbPool,
    replica: Option<Arc<Replica>>,
}

struct Replica {
    pool: DbPool,
    /// For the probe's own connection.
    url: SecretString,
    /// Whether reads go to the replica: set by the probe, cleared by a read that could not get
    /// a connection to it.
    in_use: AtomicBool,
    /// The lag the probe measured last, in milliseconds ([`UNKNOWN`] when it failed).
    lag_ms: AtomicU64,
}

/// The replica as the last probe found it, for the metrics.
pub struct ReplicaStatus {
    pub reads_on_replica: bool,
    /// `None` while the probe fails.
    pub lag: Option<Duration>,
}

impl ReadPools {
    /// Reads from `primary` only, or from `replica` (the pool of `url`) once the probe has found
    /// it within bound.
    pub fn new(primary: DbPool, replica: Option<(DbPool, SecretString)>) -> Self {
        let replica = replica.map(|(pool, url)| {
            Arc::new(Replica {
                pool,
                url,
                in_use: AtomicBool::new(false),
                lag_ms: AtomicU64::new(UNKNOWN),
            })
        });
        Self { primary, replica }
    }

    /// A connection for reads that may be up to `database.replica_max_lag_ms` behind: the
    /// replica's while it keeps up, else the primary's. A replica that gives no connection
    /// costs the request a wait of at most `database.acquire_timeout_ms`, not an error.
    pub async fn conn(&self) -> Result<DbConn, PoolError> {
        if let Some(replica) = &self.replica
            && replica.in_use.load(Ordering::Relaxed)
        {
            match replica.pool.get().await {
                Ok(conn) => return Ok(conn),
                Err(e) => {
                    // Until the probe finds it answering again.
                    replica.in_use.store(false, Ordering::Relaxed);
                    tracing::warn!(error = %e, "no connection to the read replica: reading from the primary");
                }
            }
        }
        self.primary.get().await
    }

    /// `None` without a replica.
    pub fn replica_status(&self) -> Option<ReplicaStatus> {
        self.replica.as_ref().map(|replica| {
            let lag_ms = replica.lag_ms.load(Ordering::Relaxed);
            ReplicaStatus {
                reads_on_replica: replica.in_use.load(Ordering::Relaxed),
                lag: (lag_ms != UNKNOWN).then(|| Duration::from_millis(lag_ms)),
            }
        })
    }
}

/// Measures the replica's lag every 250 ms until `shutdown` and sends reads where it allows;
/// logs when reads move between the replica and the primary. Returns at once without a replica.
pub async fn run_lag_probe(
    reads: ReadPools,
    primary_url: SecretString,
    max_lag: Duration,
    shutdown: CancellationToken,
) {
    let Some(replica) = reads.replica else {
        return;
    };
    let probe = tokio::sync::Mutex::new(LagProbe {
        primary: ProbeConnection::new(primary_url),
        standby: ProbeConnection::new(replica.url.clone()),
        replica,
        max_lag,
        positions: Positions::new(Instant::now()),
        reported: None,
    });
    crate::periodic::every(PROBE_EVERY, shutdown, || async {
        probe.lock().await.tick().await;
    })
    .await;
}

struct LagProbe {
    primary: ProbeConnection,
    standby: ProbeConnection,
    replica: Arc<Replica>,
    max_lag: Duration,
    positions: Positions,
    /// Whether the log last said reads go to the replica.
    reported: Option<bool>,
}

impl LagProbe {
    async fn tick(&mut self) {
        let measured = self.measure().await;
        let within = matches!(measured, Ok(lag) if lag <= self.max_lag);
        let lag_ms = measured.as_ref().map_or(UNKNOWN, |lag| {
            u64::try_from(lag.as_millis()).unwrap_or(UNKNOWN - 1)
        });
        self.replica.lag_ms.store(lag_ms, Ordering::Relaxed);
        self.replica.in_use.store(within, Ordering::Relaxed);
        if self.reported == Some(within) {
            return;
        }
        self.reported = Some(within);
        let max_lag_ms = self.max_lag.as_millis() as u64;
        match measured {
            Ok(_) if within => tracing::info!(lag_ms, "reads that may lag go to the read replica"),
            Ok(_) => tracing::warn!(
                lag_ms,
                max_lag_ms,
                "the read replica lags more than database.replica_max_lag_ms: reading from the primary"
            ),
            Err(error) => tracing::warn!(
                error = format!("{error:#}"),
                "the read replica's lag cannot be measured: reading from the primary"
            ),
        }
    }

    async fn measure(&mut self) -> anyhow::Result<Duration> {
        // Read before the primary answers: whatever was committed by then is at or before it.
        let at = Instant::now();
        let written = self
            .primary
            .position("pg_current_wal_lsn()")
            .await
            .context("the primary")?
            .context("the primary has no WAL position")?;
        self.positions.remember(at, written);
        let replayed = self
            .standby
            .position("pg_last_wal_replay_lsn()")
            .await
            .context("the replica")?
            .context("the replica is not a standby (it replays no WAL)")?;
        Ok(self.positions.lag(replayed, Instant::now()))
    }
}

/// A connection of the probe's own, to the primary or the replica: a request's pooled one would
/// wait behind busy requests, and one abandoned mid-query at the timeout must not be handed on.
struct ProbeConnection {
    url: SecretString,
    connection: Option<AsyncPgConnection>,
}

impl ProbeConnection {
    fn new(url: SecretString) -> Self {
        Self {
            url,
            connection: None,
        }
    }

    /// The WAL position `lsn_function` answers, as a byte offset (`None` when it answers null),
    /// within [`PROBE_TIMEOUT`]; after a failure the next call connects again.
    async fn position(&mut self, lsn_function: &str) -> anyhow::Result<Option<i64>> {
        match tokio::time::timeout(PROBE_TIMEOUT, self.query(lsn_function)).await {
            Ok(Ok(position)) => Ok(position),
            Ok(Err(e)) => {
                self.connection = None;
                Err(e)
            }
            Err(_) => {
                self.connection = None;
                anyhow::bail!("no answer within {PROBE_TIMEOUT:?}")
            }
        }
    }

    async fn query(&mut self, lsn_function: &str) -> anyhow::Result<Option<i64>> {
        // In scope here only: its `load` would shadow the atomics' elsewhere in this file.
        use diesel_async::RunQueryDsl;
        let connection = match &mut self.connection {
            Some(connection) => connection,
            None => self
                .connection
                .insert(AsyncPgConnection::establish(self.url.expose_secret()).await?),
        };
        Ok(
            diesel::select(diesel::dsl::sql::<Nullable<BigInt>>(&format!(
                "({lsn_function} - '0/0'::pg_lsn)::bigint"
            )))
            .get_result(connection)
            .await?,
        )
    }
}

/// The positions the primary had written, each with when it was read, against the one the
/// replica has replayed.
struct Positions {
    /// Those the replica has not replayed yet, oldest first.
    ahead: VecDeque<(Instant, i64)>,
    /// When the primary was last at a position the replica has replayed (until one is, the
    /// probe's start).
    caught_up_at: Instant,
}

impl Positions {
    fn new(start: Instant) -> Self {
        Self {
            ahead: VecDeque::new(),
            caught_up_at: start,
        }
    }

    /// The primary was at `position` at `at` (or later).
    fn remember(&mut self, at: Instant, position: i64) {
        let full = self.ahead.len() >= MAX_POSITIONS;
        match self.ahead.back_mut() {
            // The primary was still there at `at`, or memory is full: moving the newest
            // forward keeps what the remembered positions tell.
            Some(newest) if newest.1 == position || full => *newest = (at, position),
            _ => self.ahead.push_back((at, position)),
        }
    }

    /// The lag at `now` of a replica that has replayed up to `replayed`: zero when it has
    /// everything remembered, else the time since the primary was where it is.
    fn lag(&mut self, replayed: i64, now: Instant) -> Duration {
        while let Some(&(at, position)) = self.ahead.front()
            && position <= replayed
        {
            self.caught_up_at = at;
            self.ahead.pop_front();
        }
        if self.ahead.is_empty() {
            Duration::ZERO
        } else {
            now.saturating_duration_since(self.caught_up_at)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_replica_that_replayed_everything_has_no_lag_even_after_a_quiet_hour() {
        let start = Instant::now();
        let mut positions = Positions::new(start);
        positions.remember(start, 100);
        assert_eq!(positions.lag(100, start), Duration::ZERO);
        // Nothing written for an hour, then one write, replayed at once.
        positions.remember(start + ms(3_600_000), 200);
        assert_eq!(positions.lag(200, start + ms(3_600_001)), Duration::ZERO);
    }

    #[test]
    fn the_lag_is_the_age_of_the_last_position_replayed_and_grows_while_replay_stands_still() {
        let start = Instant::now();
        let mut positions = Positions::new(start);
        positions.remember(start, 100);
        positions.remember(start + ms(250), 150);
        positions.remember(start + ms(500), 200);
        // Replayed past the first position but not the second: the primary was there 0 ms in.
        assert_eq!(positions.lag(120, start + ms(600)), ms(600));
        assert_eq!(positions.lag(150, start + ms(800)), ms(550));
        // Paused at 150 while the primary writes on: the lag keeps growing.
        positions.remember(start + ms(1_000), 300);
        assert_eq!(positions.lag(150, start + ms(2_000)), ms(1_750));
        assert_eq!(positions.lag(300, start + ms(2_100)), Duration::ZERO);
    }

    #[test]
    fn a_replica_never_measured_lags_since_the_start() {
        let start = Instant::now();
        let mut positions = Positions::new(start);
        positions.remember(start + ms(10), 100);
        assert_eq!(positions.lag(50, start + ms(5_000)), ms(5_000));
    }

    #[test]
    fn full_memory_can_only_overstate_the_lag() {
        let start = Instant::now();
        let mut positions = Positions::new(start);
        for n in 0..(MAX_POSITIONS as u64 + 100) {
            positions.remember(start + ms(n * 250), 100 + n as i64);
        }
        assert_eq!(positions.ahead.len(), MAX_POSITIONS);
        let now = start + ms(100_000);
        // Replayed up to where the primary was at 62.5 s, which memory no longer holds on its
        // own: the lag is counted from an earlier position, never a later one.
        let replayed = 100 + MAX_POSITIONS as i64 + 10;
        let lag = positions.lag(replayed, now);
        assert!(
            lag >= now - (start + ms((MAX_POSITIONS as u64 + 10) * 250)),
            "{lag:?}"
        );
        assert!(lag <= ms(100_000));
    }
}
