//! The caches each instance keeps — the anonymous directory's pages, the sessions it checked
//! and the review queue's totals — are told through PostgreSQL `LISTEN`/`NOTIFY` when any
//! instance changed what they hold, so several instances behind a load balancer neither show
//! each other's stale pages nor let an ended session in until their caches expire. The service
//! sends the directory's and the sessions' notices; the database's triggers send the queue
//! totals' (`queue_totals:<event id>`), as no write path can forget them there. The caches'
//! short lifetimes (5 s and 10 s) remain the bound when the listening connection is down; on
//! reconnecting an instance drops every cache, since it may have missed notifications meanwhile.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use futures_util::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::db::DbPool;
use crate::error::ApiError;

/// The channel every instance listens on.
const CHANNEL: &str = "bamex_caches";

/// The caches the service tells the others about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cache {
    Directory,
    Sessions,
}

impl Cache {
    const ALL: [Cache; 2] = [Cache::Directory, Cache::Sessions];

    fn as_str(self) -> &'static str {
        match self {
            Cache::Directory => "directory",
            Cache::Sessions => "sessions",
        }
    }
}

/// What a notice tells an instance to drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stale {
    Cache(Cache),
    /// The review-queue totals of one event (sent by the database's triggers).
    QueueTotals(Uuid),
    /// Everything: notices may have been missed.
    All,
}

impl Stale {
    fn parse(payload: &str) -> Option<Self> {
        if let Some(event) = payload.strip_prefix("queue_totals:") {
            return Uuid::parse_str(event).ok().map(Stale::QueueTotals);
        }
        Cache::ALL
            .into_iter()
            .find(|cache| cache.as_str() == payload)
            .map(Stale::Cache)
    }
}

/// The invalidations waiting to be sent, one flag per cache: callers stay synchronous, a burst
/// of changes costs one notification per cache, and memory does not grow with the burst.
#[derive(Default)]
pub struct Invalidations {
    pending: [AtomicBool; 2],
    wake: Notify,
}

impl Invalidations {
    /// Tells every instance (this one included) that `cache` holds stale entries.
    pub fn publish(&self, cache: Cache) {
        self.pending[cache as usize].store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// Sends the pending invalidations until `shutdown`.
    pub async fn run_sender(self: Arc<Self>, pool: DbPool, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = self.wake.notified() => {}
                () = shutdown.cancelled() => return,
            }
            for cache in Cache::ALL {
                if !self.pending[cache as usize].swap(false, Ordering::SeqCst) {
                    continue;
                }
                if let Err(e) = notify(&pool, cache).await {
                    tracing::error!(
                        error = e.log_message(),
                        cache = cache.as_str(),
                        "could not tell the other instances to drop a cache; retrying"
                    );
                    self.pending[cache as usize].store(true, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    self.wake.notify_one();
                }
            }
        }
    }
}

async fn notify(pool: &DbPool, cache: Cache) -> Result<(), ApiError> {
    let mut conn = pool.get().await?;
    diesel::sql_query("SELECT pg_notify($1, $2)")
        .bind::<Text, _>(CHANNEL)
        .bind::<Text, _>(cache.as_str())
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// Listens on a connection of its own (a pooled one would be handed to others) until
/// `shutdown`, reconnecting after a loss; `forget_here` drops stale entries in this instance.
///
/// A lost listening connection is also the first sign that the database restarted or dropped
/// its sessions: the idle connections of `pool` died with it, and are closed at once rather
/// than each failing the next request it is handed to.
pub async fn run_listener(
    forget_here: impl Fn(Stale),
    pool: DbPool,
    url: SecretString,
    shutdown: CancellationToken,
) {
    let mut delay = Duration::from_millis(250);
    let mut lost = None;
    loop {
        tokio::select! {
            () = listen(&forget_here, &pool, &url, &mut delay, &mut lost) => {}
            () = shutdown.cancelled() => return,
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = shutdown.cancelled() => return,
        }
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

/// `lost`: when the previous listening connection was lost, if it was.
async fn listen(
    forget_here: &impl Fn(Stale),
    pool: &DbPool,
    url: &SecretString,
    delay: &mut Duration,
    lost: &mut Option<Instant>,
) {
    let mut conn = match AsyncPgConnection::establish(url.expose_secret()).await {
        Ok(conn) => conn,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for cache invalidations yet");
            return;
        }
    };
    if let Some(at) = lost.take() {
        // A connection in use when the listener was lost went back to the pool afterwards, and
        // may be as dead; those opened since the loss are not.
        pool.retain(|_, metrics| metrics.created > at);
    }
    if let Err(e) = conn.batch_execute(&format!("LISTEN {CHANNEL}")).await {
        tracing::warn!(error = %e, "cannot listen for cache invalidations yet");
        return;
    }
    *delay = Duration::from_millis(250);
    // Notifications sent while nobody listened are lost: whatever they said, assume it.
    forget_here(Stale::All);
    let mut notifications = std::pin::pin!(conn.notifications_stream());
    while let Some(notification) = notifications.next().await {
        match notification {
            Ok(notification) => match Stale::parse(&notification.payload) {
                Some(stale) => forget_here(stale),
                None => {
                    tracing::warn!(payload = %notification.payload, "unknown cache invalidation")
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "lost the cache invalidation listener");
                break;
            }
        }
    }
    tracing::warn!("the cache invalidation listener's connection closed");
    *lost = Some(Instant::now());
    let closed = pool.retain(|_, _| false).removed.len();
    tracing::info!(
        closed,
        "closed the idle database connections, as they may have died too"
    );
}
