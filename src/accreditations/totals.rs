//! Totals of review-queue filters about people (`country`, `q`, `exhibitor_id`,
//! `delegation_id`). They need a real count, 20–40 ms at 100,000 accreditations, while a page
//! costs a few: so each instance keeps them. The first request for a filter counts (requests
//! arriving meanwhile wait for that count instead of counting again); later ones are answered
//! from memory, and a total older than ten seconds is counted again in the background while the
//! previous one still answers. A change to what an event's totals count makes every instance
//! count them again at the next request: the database's triggers tell them (see
//! src/invalidation.rs). Totals of the `status` and `category` filters come from counters and
//! are always exact (see `counted` in queue.rs), folded here every thirty seconds.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel_async::methods::LoadQuery;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::db::DbPool;
use crate::db::replica::ReadPools;
use crate::error::{ApiError, ApiResult};

/// How long a total answers before it is counted again.
const FRESH: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
struct Counted {
    total: i64,
    /// When its count began: it saw every change committed before.
    at: Instant,
}

/// How many events' moments [`Forgotten`] keeps before it forgets all events at once.
const FORGOTTEN_EVENTS: usize = 1_024;

/// When totals were last told stale, of one event or of all. Kept as moments rather than by
/// dropping entries, so that a count already running when a change committed cannot store
/// its outdated total afterwards.
#[derive(Default)]
struct Forgotten {
    all: Option<Instant>,
    events: HashMap<Uuid, Instant>,
}

impl Forgotten {
    fn stale(&self, event: Uuid, counted: &Counted) -> bool {
        let before = |at: Option<&Instant>| at.is_some_and(|at| counted.at <= *at);
        before(self.all.as_ref()) || before(self.events.get(&event))
    }
}

pub struct QueueTotals {
    /// By event, then the filters.
    recent: moka::future::Cache<(Uuid, String), Counted>,
    forgotten: Mutex<Forgotten>,
    /// Counting again in the background: a total is a moment old anyway.
    reads: ReadPools,
}

impl QueueTotals {
    pub fn new(reads: ReadPools) -> Self {
        Self {
            // Keys hold the search text as typed: bounded by their size, not their number.
            recent: moka::future::Cache::builder()
                .weigher(|(_, filters): &(Uuid, String), _: &Counted| {
                    u32::try_from(filters.len() + 80).unwrap_or(u32::MAX)
                })
                .max_capacity(8 * 1024 * 1024)
                .time_to_idle(Duration::from_secs(600))
                .build(),
            forgotten: Mutex::default(),
            reads,
        }
    }

    /// Tells that the totals of `event` (of every event if `None`) may have changed.
    pub fn forget(&self, event: Option<Uuid>) {
        let now = Instant::now();
        let mut forgotten = self.forgotten.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            Some(event)
                if forgotten.events.len() < FORGOTTEN_EVENTS
                    || forgotten.events.contains_key(&event) =>
            {
                forgotten.events.insert(event, now);
            }
            _ => {
                forgotten.all = Some(now);
                forgotten.events.clear();
            }
        }
    }

    fn is_stale(&self, event: Uuid, counted: &Counted) -> bool {
        let forgotten = self.forgotten.lock().unwrap_or_else(|e| e.into_inner());
        forgotten.stale(event, counted)
    }

    /// The total of the filters `filters` (which must name every filter) of `event`, as the
    /// queries `count` builds count it.
    pub async fn get<Q>(
        &self,
        conn: &AsyncPgConnection,
        event: Uuid,
        filters: String,
        count: impl Fn() -> Q,
    ) -> ApiResult<i64>
    where
        Q: for<'c> LoadQuery<'static, &'c AsyncPgConnection, i64> + Send + 'static,
    {
        let key = (event, filters);
        if let Some(known) = self.recent.get(&key).await {
            if !self.is_stale(event, &known) {
                if known.at.elapsed() >= FRESH {
                    self.count_again(key, known.total, count()).await;
                }
                return Ok(known.total);
            }
            self.recent.invalidate(&key).await;
        }
        // Requests arriving meanwhile share this count; one that joined a count begun before a
        // change was told counts once more.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let count = count();
            let counted = self
                .recent
                .try_get_with(key.clone(), async {
                    let mut conn = conn;
                    let at = Instant::now();
                    let total = count.get_result::<i64>(&mut conn).await?;
                    Ok::<_, diesel::result::Error>(Counted { total, at })
                })
                .await
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("counting the queue: {e}")))?;
            if attempts == 2 || !self.is_stale(event, &counted) {
                return Ok(counted.total);
            }
            self.recent.invalidate(&key).await;
        }
    }

    /// Counts again in the background; until it is done, `previous` answers as if fresh, so
    /// that one request only starts the count.
    async fn count_again<Q>(&self, key: (Uuid, String), previous: i64, count: Q)
    where
        Q: for<'c> LoadQuery<'static, &'c AsyncPgConnection, i64> + Send + 'static,
    {
        let pending = Counted {
            total: previous,
            at: Instant::now(),
        };
        self.recent.insert(key.clone(), pending).await;
        let recent = self.recent.clone();
        let reads = self.reads.clone();
        tokio::spawn(async move {
            let counted = async {
                let conn = reads.conn().await?;
                let mut conn: &AsyncPgConnection = &conn;
                let at = Instant::now();
                let total = count.get_result::<i64>(&mut conn).await?;
                Ok::<_, ApiError>(Counted { total, at })
            };
            match counted.await {
                Ok(counted) => {
                    recent.insert(key, counted).await;
                }
                Err(e) => {
                    tracing::warn!(
                        error = e.log_message(),
                        "could not count a queue total again"
                    );
                }
            }
        });
    }
}

const FOLD_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// The service's loop that folds the count rows the trigger appends, so that a total sums a few
/// rows. Errors are logged and the loop goes on.
pub async fn run_count_folding(pool: DbPool, shutdown: CancellationToken) {
    crate::periodic::every(FOLD_EVERY, shutdown, || async {
        let folded = async {
            let mut conn = pool.get().await?;
            diesel::sql_query("SELECT fold_accreditation_counts()")
                .execute(&mut conn)
                .await?;
            Ok::<_, ApiError>(())
        };
        if let Err(e) = folded.await {
            tracing::error!(
                error = e.log_message(),
                "could not fold the accreditation counts"
            );
        }
    })
    .await;
}
