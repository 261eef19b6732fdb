//! What every handler can reach: the pool, the settings and the services built once at start.
//! It knows no route; handlers import it, and `app.rs` builds it.

use std::sync::Arc;

use crate::accreditations::badges::BadgeKeys;
use crate::accreditations::totals::QueueTotals;
use crate::auth::limits::AbuseLimits;
use crate::auth::sessions::Sessions;
use crate::auth::tokens::AccessTokens;
use crate::config::Settings;
use crate::db::DbPool;
use crate::db::replica::ReadPools;
use crate::exhibitors::cache::DirectoryCache;
use crate::gates::figures::StatsCache;
use crate::gates::recorder::ScanRecorder;
use crate::invalidation::{Cache, Invalidations, Stale};
use crate::metrics::Metrics;
use crate::participants::documents::DocumentVault;

/// What every handler can reach.
pub struct AppState {
    pub pool: DbPool,
    /// For reads that may lag a moment behind the writes (`reads.conn()`): the read replica
    /// while it keeps up, else `pool`.
    pub reads: ReadPools,
    pub settings: Arc<Settings>,
    pub tokens: AccessTokens,
    pub limits: AbuseLimits,
    pub sessions: Sessions,
    pub documents: DocumentVault,
    pub badge_keys: BadgeKeys,
    pub directory_cache: DirectoryCache,
    pub scan_recorder: ScanRecorder,
    pub queue_totals: QueueTotals,
    pub stats: StatsCache,
    pub metrics: Arc<Metrics>,
    pub invalidations: Arc<Invalidations>,
}

impl AppState {
    /// After a change the anonymous directory shows: its pages are dropped on every instance.
    pub fn directory_changed(&self) {
        self.forget_here(Stale::Cache(Cache::Directory));
        self.invalidations.publish(Cache::Directory);
    }

    /// Drops stale entries in this instance (told by another, by the database or by itself).
    pub fn forget_here(&self, stale: Stale) {
        match stale {
            Stale::Cache(Cache::Directory) => self.directory_cache.invalidate_all(),
            Stale::Cache(Cache::Sessions) => self.sessions.forget_here(),
            Stale::QueueTotals(event) => self.queue_totals.forget(Some(event)),
            Stale::All => {
                self.directory_cache.invalidate_all();
                self.sessions.forget_here();
                self.queue_totals.forget(None);
            }
        }
    }

    /// After a change that ends sessions or alters roles: every instance checks them again.
    pub fn sessions_changed(&self) {
        self.forget_here(Stale::Cache(Cache::Sessions));
        self.invalidations.publish(Cache::Sessions);
    }
}

/// The serialized OpenAPI document, built once at start.
pub struct ApiDocument(pub Vec<u8>);
