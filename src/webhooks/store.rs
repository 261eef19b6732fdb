//! The endpoints and the outbox of their deliveries. Each query takes a connection, so that
//! [`enqueue`] runs inside the transaction of the change it reports.

use chrono::{DateTime, SecondsFormat, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Double, Jsonb, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::kinds::WebhookKind;
use crate::db::schema::{webhook_deliveries, webhook_endpoints};
use crate::db::text_enum;
use crate::pagination::PageRequest;
use crate::participants::documents::SealedSecret;

text_enum! {
    /// How a delivery stands.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum DeliveryStatus {
        /// Waiting for its first attempt or its next retry (or being attempted).
        Pending = "pending",
        /// The receiver answered 2xx.
        Delivered = "delivered",
        /// Given up after `webhooks.max_attempts` attempts.
        Failed = "failed",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints, check_for_backend(diesel::pg::Pg))]
pub struct Endpoint {
    pub id: Uuid,
    pub event_id: Uuid,
    pub url: String,
    pub kinds: Vec<WebhookKind>,
    pub description: Option<String>,
    pub secret_ciphertext: Vec<u8>,
    pub secret_nonce: Vec<u8>,
    pub secret_key_id: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// What the signing secret of endpoint `id` is bound to when sealed.
pub fn secret_context(id: Uuid) -> Vec<u8> {
    [b"webhook-secret:".as_slice(), id.as_bytes()].concat()
}

#[derive(Debug, Insertable)]
#[diesel(table_name = webhook_endpoints)]
pub struct NewEndpoint<'a> {
    pub id: Uuid,
    pub event_id: Uuid,
    pub url: &'a str,
    pub kinds: Vec<WebhookKind>,
    pub description: Option<&'a str>,
    pub secret_ciphertext: Vec<u8>,
    pub secret_nonce: Vec<u8>,
    pub secret_key_id: String,
    pub created_by: Option<Uuid>,
}

pub async fn insert_endpoint(
    conn: &mut AsyncPgConnection,
    new: &NewEndpoint<'_>,
) -> QueryResult<Endpoint> {
    diesel::insert_into(webhook_endpoints::table)
        .values(new)
        .returning(Endpoint::as_returning())
        .get_result(conn)
        .await
}

pub async fn count_endpoints(conn: &mut AsyncPgConnection, event_id: Uuid) -> QueryResult<i64> {
    webhook_endpoints::table
        .filter(webhook_endpoints::event_id.eq(event_id))
        .count()
        .get_result(conn)
        .await
}

/// The endpoints of an event, oldest first.
pub async fn list_endpoints(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    page: &PageRequest<Uuid>,
) -> QueryResult<(Vec<Endpoint>, i64)> {
    let total = count_endpoints(conn, event_id).await?;
    let mut query = webhook_endpoints::table
        .filter(webhook_endpoints::event_id.eq(event_id))
        .select(Endpoint::as_select())
        .order(webhook_endpoints::id)
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(webhook_endpoints::id.gt(after));
    }
    Ok((query.load(conn).await?, total))
}

/// An endpoint of the event (`NotFound` for another event's).
pub async fn find_endpoint(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    id: Uuid,
) -> QueryResult<Endpoint> {
    webhook_endpoints::table
        .filter(webhook_endpoints::event_id.eq(event_id))
        .filter(webhook_endpoints::id.eq(id))
        .select(Endpoint::as_select())
        .first(conn)
        .await
}

/// Deletes an endpoint and its deliveries (pending ones are never sent); whether it existed.
pub async fn delete_endpoint(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    id: Uuid,
) -> QueryResult<bool> {
    diesel::delete(
        webhook_endpoints::table
            .filter(webhook_endpoints::event_id.eq(event_id))
            .filter(webhook_endpoints::id.eq(id)),
    )
    .execute(conn)
    .await
    .map(|rows| rows == 1)
}

/// Queues `kind` with `data` for every endpoint of the event that subscribes to it: one
/// statement, inside the caller's transaction, so the change and its webhooks are committed
/// together or not at all; with no subscriber it inserts nothing. The body is
/// `{type, id, timestamp, data}` with `data` completed by the event's slug and id; `data` must
/// hold ids and states only (see `kinds.rs`). Returns how many deliveries were queued.
pub async fn enqueue<D: Serialize>(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    kind: WebhookKind,
    data: &D,
) -> anyhow::Result<usize> {
    enqueue_all(conn, event_id, kind, std::slice::from_ref(data)).await
}

/// Like [`enqueue`] for many messages of one kind (one each `data`), in one statement.
pub async fn enqueue_all<D: Serialize>(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    kind: WebhookKind,
    data: &[D],
) -> anyhow::Result<usize> {
    if data.is_empty() {
        return Ok(0);
    }
    let data = data
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()?;
    let message_ids: Vec<Uuid> = data.iter().map(|_| Uuid::now_v7()).collect();
    let queued = diesel::sql_query(
        "INSERT INTO webhook_deliveries (endpoint_id, event_id, message_id, kind, body) \
         SELECT w.id, e.id, m.id, $2, \
                jsonb_build_object('type', $2, 'id', m.id, 'timestamp', $4, \
                    'data', jsonb_build_object('event', e.slug, 'event_id', e.id) || m.data)::text \
         FROM webhook_endpoints w JOIN events e ON e.id = w.event_id, \
              unnest($3::uuid[], $5::jsonb[]) WITH ORDINALITY AS m(id, data, rank) \
         WHERE w.event_id = $1 AND $2 = ANY (w.kinds) \
         ORDER BY m.rank, w.id",
    )
    .bind::<SqlUuid, _>(event_id)
    .bind::<Text, _>(kind.as_str())
    .bind::<Array<SqlUuid>, _>(message_ids)
    .bind::<Text, _>(Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true))
    .bind::<Array<Jsonb>, _>(data)
    .execute(conn)
    .await?;
    Ok(queued)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries, check_for_backend(diesel::pg::Pg))]
pub struct Delivery {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub event_id: Uuid,
    pub message_id: Uuid,
    pub kind: WebhookKind,
    pub body: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_response_status: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub redelivery_of: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// The deliveries to an endpoint, newest first; the cursor is `(created_at, id)`.
pub async fn list_deliveries(
    conn: &mut AsyncPgConnection,
    endpoint_id: Uuid,
    page: &PageRequest<(DateTime<Utc>, Uuid)>,
) -> QueryResult<(Vec<Delivery>, i64)> {
    let total = webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
        .count()
        .get_result(conn)
        .await?;
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
        .select(Delivery::as_select())
        .order((
            webhook_deliveries::created_at.desc(),
            webhook_deliveries::id.desc(),
        ))
        .limit(page.limit + 1)
        .into_boxed();
    if let Some((created_at, id)) = page.after {
        query = query.filter(
            webhook_deliveries::created_at
                .lt(created_at)
                .or(webhook_deliveries::created_at
                    .eq(created_at)
                    .and(webhook_deliveries::id.lt(id))),
        );
    }
    Ok((query.load(conn).await?, total))
}

pub async fn find_delivery(
    conn: &mut AsyncPgConnection,
    endpoint_id: Uuid,
    id: Uuid,
) -> QueryResult<Delivery> {
    webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
        .filter(webhook_deliveries::id.eq(id))
        .select(Delivery::as_select())
        .first(conn)
        .await
}

/// Queues a new attempt of `original`: a delivery of its own (so the log keeps both), with the
/// same message id and body, so that receivers recognise the copy.
pub async fn redeliver(conn: &mut AsyncPgConnection, original: &Delivery) -> QueryResult<Delivery> {
    diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::id.eq(Uuid::now_v7()),
            webhook_deliveries::endpoint_id.eq(original.endpoint_id),
            webhook_deliveries::event_id.eq(original.event_id),
            webhook_deliveries::message_id.eq(original.message_id),
            webhook_deliveries::kind.eq(original.kind),
            webhook_deliveries::body.eq(&original.body),
            webhook_deliveries::redelivery_of.eq(Some(original.id)),
        ))
        .returning(Delivery::as_returning())
        .get_result(conn)
        .await
}

/// A delivery claimed by a worker, with what it needs to send it.
#[derive(Debug, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub endpoint_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub message_id: Uuid,
    #[diesel(sql_type = Text)]
    pub body: String,
    #[diesel(sql_type = diesel::sql_types::Int4)]
    pub attempts: i32,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub leased_until: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub url: String,
    #[diesel(sql_type = diesel::sql_types::Bytea)]
    pub secret_ciphertext: Vec<u8>,
    #[diesel(sql_type = diesel::sql_types::Bytea)]
    pub secret_nonce: Vec<u8>,
    #[diesel(sql_type = Text)]
    pub secret_key_id: String,
}

impl Claimed {
    /// The endpoint's signing secret, as sealed.
    pub fn sealed_secret(&self) -> SealedSecret {
        SealedSecret {
            ciphertext: self.secret_ciphertext.clone(),
            nonce: self.secret_nonce.clone(),
            key_id: self.secret_key_id.clone(),
        }
    }
}

/// Claims the oldest due delivery for `lease`, skipping rows another worker is claiming at this
/// instant: one statement, committed on its own, so no lock or transaction outlives it (the
/// email outbox's claim, `email/outbox.rs`). The claim pushes `next_attempt_at` to the end of
/// the lease, so a worker that dies mid-delivery holds it only until then; `leased_until` tells
/// this claim from a later one when the outcome is recorded.
pub async fn claim_next_due(
    conn: &mut AsyncPgConnection,
    lease: std::time::Duration,
) -> QueryResult<Option<Claimed>> {
    diesel::sql_query(
        "UPDATE webhook_deliveries d SET leased_until = now() + make_interval(secs => $1), \
                next_attempt_at = now() + make_interval(secs => $1) \
         FROM webhook_endpoints w \
         WHERE w.id = d.endpoint_id AND d.id = ( \
             SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= now() \
             ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED) \
         RETURNING d.id, d.endpoint_id, d.message_id, d.body, d.attempts, d.leased_until, w.url, \
                   w.secret_ciphertext, w.secret_nonce, w.secret_key_id",
    )
    .bind::<Double, _>(lease.as_secs_f64())
    .get_result(conn)
    .await
    .optional()
}

/// Records a 2xx answer, if the claim `lease` still holds (which it says).
pub async fn mark_delivered(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    lease: DateTime<Utc>,
    status: u16,
) -> QueryResult<bool> {
    let now = Utc::now();
    diesel::update(
        webhook_deliveries::table
            .find(id)
            .filter(webhook_deliveries::leased_until.eq(lease)),
    )
    .set((
        webhook_deliveries::leased_until.eq(None::<DateTime<Utc>>),
        webhook_deliveries::status.eq(DeliveryStatus::Delivered),
        webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
        webhook_deliveries::last_attempt_at.eq(Some(now)),
        webhook_deliveries::last_response_status.eq(Some(i32::from(status))),
        webhook_deliveries::last_error.eq(None::<String>),
        webhook_deliveries::delivered_at.eq(Some(now)),
    ))
    .execute(conn)
    .await
    .map(|rows| rows == 1)
}

/// Records a failed attempt: retried at `retry_at`, or given up (`failed`) when it is None.
pub async fn mark_attempt_failed(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    lease: DateTime<Utc>,
    status: Option<u16>,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> QueryResult<bool> {
    let next = if retry_at.is_some() {
        DeliveryStatus::Pending
    } else {
        DeliveryStatus::Failed
    };
    diesel::update(
        webhook_deliveries::table
            .find(id)
            .filter(webhook_deliveries::leased_until.eq(lease)),
    )
    .set((
        webhook_deliveries::leased_until.eq(None::<DateTime<Utc>>),
        webhook_deliveries::status.eq(next),
        webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
        webhook_deliveries::last_attempt_at.eq(Some(Utc::now())),
        webhook_deliveries::last_response_status.eq(status.map(i32::from)),
        webhook_deliveries::last_error.eq(Some(error)),
        webhook_deliveries::next_attempt_at.eq(retry_at.unwrap_or_else(Utc::now)),
    ))
    .execute(conn)
    .await
    .map(|rows| rows == 1)
}

/// The retention purge: every delivery about the event goes, delivered or not.
pub async fn delete_for_event(conn: &mut AsyncPgConnection, event_id: Uuid) -> QueryResult<usize> {
    diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::event_id.eq(event_id)))
        .execute(conn)
        .await
}
