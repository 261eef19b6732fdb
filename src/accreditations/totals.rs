//! Totals of review-queue filters about people (`country`, `q`, `exhibitor_id`,
//! `delegation_id`). They need a real count, 20–40 ms at 100,000 accreditations, while a page
//! costs a few: so each instance keeps them. The first request for a filter counts (requests
//! arriving meanwhile wait for that count instead of counting again); later ones are answered
//! from memory, and a total older than ten seconds is counted again in the background while the
//! previous one still answers. Totals of the `status` and `category` filters come from counters
//! and are always exact (see `counted` in queue.rs), folded here every thirty seconds.

use std::time::{Duration, Instant};

use diesel_async::methods::LoadQuery;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tokio_util::sync::CancellationToken;

use crate::db::DbPool;
use crate::db::replica::ReadPools;
use crate::error::{ApiError, ApiResult};

/// How long a total answers before it is counted again.
const FRESH: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
struct Counted {
    total: i64,
    at: Instant,
}

pub struct QueueTotals {
    recent: moka::future::Cache<String, Counted>,
    /// Counting again in the background: a total is a moment old anyway.
    reads: ReadPools,
}

impl QueueTotals {
    pub fn new(reads: ReadPools) -> Self {
        Self {
            // Keys hold the search text as typed: bounded by their size, not their number.
            recent: moka::future::Cache::builder()
                .weigher(|key: &String, _: &Counted| {
                    u32::try_from(key.len() + 64).unwrap_or(u32::MAX)
                })
                .max_capacity(8 * 1024 * 1024)
                .time_to_idle(Duration::from_secs(600))
                .build(),
            reads,
        }
    }

    /// The total of the filter `key` (which must name the event and every filter), as `count`
    /// counts it.
    pub async fn get<Q>(&self, conn: &AsyncPgConnection, key: String, count: Q) -> ApiResult<i64>
    where
        Q: for<'c> LoadQuery<'static, &'c AsyncPgConnection, i64> + Send + 'static,
    {
        if let Some(known) = self.recent.get(&key).await {
            if known.at.elapsed() >= FRESH {
                self.count_again(key, known.total, count).await;
            }
            return Ok(known.total);
        }
        let counted = self
            .recent
            .try_get_with(key, async {
                let mut conn = conn;
                let total = count.get_result::<i64>(&mut conn).await?;
                Ok::<_, diesel::result::Error>(Counted {
                    total,
                    at: Instant::now(),
                })
            })
            .await
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("counting the queue: {e}")))?;
        Ok(counted.total)
    }

    /// Counts again in the background; until it is done, `previous` answers as if fresh, so
    /// that one request only starts the count.
    async fn count_again<Q>(&self, key: String, previous: i64, count: Q)
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
                Ok::<_, ApiError>(count.get_result::<i64>(&mut conn).await?)
            };
            match counted.await {
                Ok(total) => {
                    let at = Instant::now();
                    recent.insert(key, Counted { total, at }).await;
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
