//! The outbox table: emails waiting to be sent, written in the caller's transaction.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::templates::{self, EmailTemplate};
use crate::db::schema::outbox;
use crate::users::{EmailAddress, Locale};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg))]
pub struct OutboxMessage {
    pub id: Uuid,
    pub recipient: String,
    pub template: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub attempts: i32,
    /// Attach this accreditation's badge (as a PDF) when sending.
    pub badge_accreditation_id: Option<Uuid>,
    /// Until when the worker that claimed it may send it ([`claim_due`]).
    pub leased_until: Option<DateTime<Utc>>,
}

#[derive(Insertable)]
#[diesel(table_name = outbox)]
struct NewOutboxMessage<'a> {
    id: Uuid,
    recipient: &'a str,
    template: &'static str,
    locale: &'static str,
    subject: &'a str,
    body_text: &'a str,
    body_html: &'a str,
    badge_accreditation_id: Option<Uuid>,
    event_id: Option<Uuid>,
}

/// Renders `email` in the recipient's language and queues it. Call it inside the transaction
/// of the change that causes the email: both happen, or neither does. For an email about an
/// account; one about an event's people goes through [`enqueue_for_event`].
pub async fn enqueue<T: EmailTemplate>(
    conn: &mut AsyncPgConnection,
    recipient: &EmailAddress,
    locale: Locale,
    email: &T,
) -> anyhow::Result<Uuid> {
    insert(conn, recipient, locale, email, None, None).await
}

/// Like [`enqueue`], for an email caused by something at an event: tagged with the event so that
/// the retention purge deletes it with the event's personal data (its subject names people).
/// With `badge_accreditation_id`, that accreditation's badge is attached as a PDF when it is sent.
pub async fn enqueue_for_event<T: EmailTemplate>(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    recipient: &EmailAddress,
    locale: Locale,
    email: &T,
    badge_accreditation_id: Option<Uuid>,
) -> anyhow::Result<Uuid> {
    insert(
        conn,
        recipient,
        locale,
        email,
        Some(event_id),
        badge_accreditation_id,
    )
    .await
}

/// One email of [`enqueue_all_for_event`].
pub struct EventEmail<'a, T> {
    pub recipient: &'a EmailAddress,
    pub locale: Locale,
    pub email: &'a T,
    pub badge_accreditation_id: Option<Uuid>,
}

/// Like [`enqueue_for_event`] for many emails, in one statement (a bulk decision sends
/// hundreds).
pub async fn enqueue_all_for_event<T: EmailTemplate>(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    emails: &[EventEmail<'_, T>],
) -> anyhow::Result<Vec<Uuid>> {
    insert_all(conn, Some(event_id), emails).await
}

async fn insert<T: EmailTemplate>(
    conn: &mut AsyncPgConnection,
    recipient: &EmailAddress,
    locale: Locale,
    email: &T,
    event_id: Option<Uuid>,
    badge_accreditation_id: Option<Uuid>,
) -> anyhow::Result<Uuid> {
    let one = EventEmail {
        recipient,
        locale,
        email,
        badge_accreditation_id,
    };
    let ids = insert_all(conn, event_id, &[one]).await?;
    Ok(ids[0])
}

/// Renders and queues `emails`; their ids in the order given.
async fn insert_all<T: EmailTemplate>(
    conn: &mut AsyncPgConnection,
    event_id: Option<Uuid>,
    emails: &[EventEmail<'_, T>],
) -> anyhow::Result<Vec<Uuid>> {
    let rendered = emails
        .iter()
        .map(|e| Ok((Uuid::now_v7(), templates::render(e.locale, e.email)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let rows: Vec<_> = emails
        .iter()
        .zip(&rendered)
        .map(|(e, (id, rendered))| NewOutboxMessage {
            id: *id,
            recipient: e.recipient.as_str(),
            template: T::NAME,
            locale: rendered.locale.as_str(),
            subject: &rendered.subject,
            body_text: &rendered.text,
            body_html: &rendered.html,
            badge_accreditation_id: e.badge_accreditation_id,
            event_id,
        })
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(outbox::table)
            .values(&rows)
            .execute(conn)
            .await?;
    }
    Ok(rendered.into_iter().map(|(id, _)| id).collect())
}

/// Claims up to `limit` of the oldest due pending messages for `lease`, skipping rows another
/// worker is claiming at this instant. One statement, committed on its own: no lock or
/// transaction outlives it. The claim pushes `next_attempt_at` to the end of the lease, so a
/// worker that dies or hangs mid-send holds its messages only until then; `leased_until` tells
/// the claim apart from a later one, so that a worker whose lease ran out cannot record an
/// outcome over its successor's.
pub(super) async fn claim_due(
    conn: &mut AsyncPgConnection,
    limit: usize,
    lease: std::time::Duration,
) -> QueryResult<Vec<OutboxMessage>> {
    diesel::sql_query(
        "WITH due AS MATERIALIZED ( \
             SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= now() \
             ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
         UPDATE outbox SET leased_until = now() + make_interval(secs => $1), \
                next_attempt_at = now() + make_interval(secs => $1) \
         FROM due WHERE outbox.id = due.id \
         RETURNING outbox.id, recipient, template, subject, body_text, body_html, attempts, \
                   badge_accreditation_id, leased_until",
    )
    .bind::<diesel::sql_types::Double, _>(lease.as_secs_f64())
    .bind::<diesel::sql_types::BigInt, _>(i64::try_from(limit).unwrap_or(i64::MAX))
    .load(conn)
    .await
}

/// Marks messages sent, each only under the claim (`leased_until`) it was sent under, and drops
/// their bodies: they may hold one-time links that must not outlive their delivery in the
/// database or its backups. One statement for them all; returns the ids whose lease still held.
pub(super) async fn mark_sent(
    conn: &mut AsyncPgConnection,
    sent: &[(Uuid, DateTime<Utc>)],
) -> QueryResult<Vec<Uuid>> {
    #[derive(QueryableByName)]
    struct Marked {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    let (ids, leases): (Vec<Uuid>, Vec<DateTime<Utc>>) = sent.iter().copied().unzip();
    let marked: Vec<Marked> = diesel::sql_query(
        "UPDATE outbox SET leased_until = NULL, status = 'sent', body_text = '', body_html = '', \
                attempts = attempts + 1, sent_at = now(), last_error = NULL \
         FROM unnest($1, $2) AS claimed(id, lease) \
         WHERE outbox.id = claimed.id AND outbox.leased_until = claimed.lease \
         RETURNING outbox.id",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Timestamptz>, _>(leases)
    .load(conn)
    .await?;
    Ok(marked.into_iter().map(|m| m.id).collect())
}

/// Records a failed attempt under the claim `lease`, and says whether it still held: retried at
/// `retry_at`, or given up (`failed`) when `retry_at` is None.
pub(super) async fn mark_attempt_failed(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    lease: DateTime<Utc>,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> QueryResult<bool> {
    let status = if retry_at.is_some() {
        "pending"
    } else {
        "failed"
    };
    diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::leased_until.eq(lease)),
    )
    .set((
        outbox::leased_until.eq(None::<DateTime<Utc>>),
        outbox::status.eq(status),
        outbox::attempts.eq(outbox::attempts + 1),
        outbox::last_error.eq(error),
        outbox::next_attempt_at.eq(retry_at.unwrap_or_else(Utc::now)),
    ))
    .execute(conn)
    .await
    .map(|rows| rows == 1)
}
