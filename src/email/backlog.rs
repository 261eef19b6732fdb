//! How far behind the outbox is: what the metrics report at each scrape.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Double, Nullable};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct Backlog {
    /// Messages still to be sent (waiting for their first attempt or for a retry).
    #[diesel(sql_type = BigInt)]
    pub pending: i64,
    /// Messages given up after `email.max_attempts`.
    #[diesel(sql_type = BigInt)]
    pub failed: i64,
    /// Seconds since the oldest pending message was queued; `None` when none is pending.
    #[diesel(sql_type = Nullable<Double>)]
    pub oldest_pending_seconds: Option<f64>,
}

/// One round trip. Pending rows are found through the partial index of due messages and failed
/// ones through their own: the sent messages, nearly the whole table, are never read.
pub async fn backlog(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Backlog> {
    diesel::sql_query(
        "SELECT pending.count AS pending, \
                (SELECT count(*) FROM outbox WHERE status = 'failed') AS failed, \
                EXTRACT(EPOCH FROM now() - pending.oldest)::float8 AS oldest_pending_seconds \
         FROM (SELECT count(*) AS count, min(created_at) AS oldest \
               FROM outbox WHERE status = 'pending') AS pending",
    )
    .get_result(conn)
    .await
}
