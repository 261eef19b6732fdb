//! The anonymous directory's page cache: the directory is read far more often than it changes,
//! and every change in this instance clears it at once. It is bounded by the bytes it holds
//! (`application.directory_cache_bytes`), not by a count of entries.

use std::time::Duration;

use actix_web::web;

/// Serialized anonymous directory pages, by event and parsed query (the directory route builds the key from the parsed query).
pub type DirectoryCache = moka::future::Cache<String, web::Bytes>;

/// What an entry costs beyond its key and page: moka's own bookkeeping, roughly.
const ENTRY_OVERHEAD: usize = 256;

/// A cache holding at most `max_bytes` of keys and pages (an entry larger than that is not kept).
pub fn new_cache(max_bytes: u64) -> DirectoryCache {
    moka::future::Cache::builder()
        .weigher(|key: &String, page: &web::Bytes| {
            u32::try_from(key.len() + page.len() + ENTRY_OVERHEAD).unwrap_or(u32::MAX)
        })
        .max_capacity(max_bytes)
        .time_to_live(Duration::from_secs(5))
        .build()
}
