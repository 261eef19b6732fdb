//! Cursor paging, as the front-end contract wants it: `limit` (default 20, at most 100) and an
//! opaque `cursor` in; `{items, total, next_cursor}` out.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult};

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A validated page request; `after` is the decoded position to continue from.
pub struct PageRequest<K> {
    pub limit: i64,
    pub after: Option<K>,
}

impl PageQuery {
    pub fn parse<K: DeserializeOwned>(&self) -> ApiResult<PageRequest<K>> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::validation("limit", "must be between 1 and 100"));
        }
        let after = match &self.cursor {
            None => None,
            Some(cursor) => {
                let bytes = URL_SAFE_NO_PAD.decode(cursor).ok();
                // Its text goes into a query: one holding a NUL is refused like any other.
                if bytes
                    .as_deref()
                    .is_some_and(crate::storable_text::json_holds_nul)
                {
                    return Err(crate::storable_text::nul_refused("cursor"));
                }
                Some(
                    bytes
                        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                        .ok_or_else(|| {
                            ApiError::validation("cursor", "is not a cursor of this list")
                        })?,
                )
            }
        };
        Ok(PageRequest { limit, after })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    /// How many items match the filters, over all pages.
    pub total: i64,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> Page<T> {
    /// `rows` holds up to `limit + 1` rows: the extra one only says a next page exists.
    pub fn from_rows<R, K: Serialize>(
        mut rows: Vec<R>,
        total: i64,
        request: &PageRequest<impl Sized>,
        key: impl Fn(&R) -> K,
        view: impl Fn(R) -> T,
    ) -> Self {
        let limit = request.limit as usize;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|last| {
                URL_SAFE_NO_PAD.encode(serde_json::to_vec(&key(last)).unwrap_or_default())
            })
        } else {
            None
        };
        Self {
            items: rows.into_iter().map(view).collect(),
            total,
            next_cursor,
        }
    }
}

/// Escapes `%`, `_` and `\` so that user text matches literally inside a LIKE pattern.
pub fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}
