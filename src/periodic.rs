//! The service's background chores (sweeping expired idempotency keys, folding queue counts,
//! the retention purge) share one loop.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Runs `job` now, then every `period` after it ends, until `shutdown`; a run under way
/// finishes first. Jobs log their own failures: one failed run does not stop the next.
pub async fn every<Job, Run>(period: Duration, shutdown: CancellationToken, mut job: Job)
where
    Job: FnMut() -> Run,
    Run: Future<Output = ()>,
{
    loop {
        job().await;
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(period) => {}
        }
    }
}
