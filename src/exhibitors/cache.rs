//! The anonymous directory's page cache: the directory is read far more often than it changes,
//! and every change in this instance clears it at once.

use std::time::Duration;

use actix_web::web;

/// Serialized anonymous directory pages, by event and query.
pub type DirectoryCache = moka::future::Cache<String, web::Bytes>;

pub fn new_cache() -> DirectoryCache {
    moka::future::Cache::builder()
        .max_capacity(20_000)
        .time_to_live(Duration::from_secs(5))
        .build()
}
