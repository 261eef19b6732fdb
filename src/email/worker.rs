//! Sends what the outbox holds, many messages at once. A worker keeps up to `email.concurrency`
//! messages in hand: it claims them in batches with a lease ([`outbox::claim_due`], one
//! statement committed at once), loads the batch's badge cards with one query, renders their
//! PDFs on the blocking pool (as many at once as there are cores, never on the executor) and
//! sends them over at most `email.smtp_connections` pooled SMTP connections. Any number of
//! workers, in any number of service instances, share the work and never send the same message
//! at once, and no database connection, transaction or row lock is held while the mail server
//! is talked to. Outcomes are recorded under the lease they were claimed with: successes in one
//! statement for all that finished within [`RECORD_AFTER`] of each other, failures one by one.
//!
//! The lease is kept as short as the work allows: a batch is only as large as the free slots, so
//! every claimed message starts at once, and the lease lasts one SMTP exchange (bounded as a
//! whole by `email.smtp_timeout_ms`; lettre's own timeout covers only the TCP connect, and a
//! server that accepts and never greets would stall it for good) plus [`LEASE_MARGIN`]. A
//! message whose lease would no longer cover a whole exchange and its recording when its turn to
//! be sent comes is not sent at all: it waits for its lease to end and goes to the next claim.
//! So a message is never on the wire twice at once.
//!
//! Delivery is at least once: a crash, or a shutdown, between the SMTP server's acceptance and
//! the recording sends that message again once its lease is over, and only once unless that
//! worker dies too: the next claim records it. The copy has the same Message-ID,
//! `<id@bamex.outbox>`, so mail clients recognise it.
//!
//! An exchange cut by the timeout may leave its connection mid-command (even mid-message), and
//! lettre would put it back in its pool; so after a timeout the worker drops the whole pool
//! (its connections close once the sends under way on them end) and opens a fresh one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::transport::smtp::{AsyncSmtpTransportBuilder, PoolConfig};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::outbox::{self, OutboxMessage};
use crate::accreditations::badge_sheets;
use crate::accreditations::cards;
use crate::accreditations::cards::BadgeCard;
use crate::backoff::RetryPolicy;
use crate::config::EmailSettings;
use crate::db::DbPool;

/// How much longer than one SMTP exchange a claim lasts: room for waiting for a render and a
/// connection, rendering, and recording the outcome.
const LEASE_MARGIN: Duration = Duration::from_secs(60);
/// What must be left of a lease after an exchange for its outcome to be recorded in time.
const RECORD_ROOM: Duration = Duration::from_secs(10);
/// How long a success may wait to be recorded with the next ones.
const RECORD_AFTER: Duration = Duration::from_millis(200);

enum Transport {
    Smtp(SmtpPool),
    /// Development without SMTP: each email becomes an `.eml` file.
    Files(AsyncFileTransport<Tokio1Executor>),
}

/// The SMTP connections, pooled by lettre and replaced as a whole after a timed-out exchange
/// (see the module comment).
struct SmtpPool {
    builder: AsyncSmtpTransportBuilder,
    current: Mutex<Arc<AsyncSmtpTransport<Tokio1Executor>>>,
}

impl SmtpPool {
    fn new(builder: AsyncSmtpTransportBuilder) -> Self {
        let current = Mutex::new(Arc::new(builder.clone().build()));
        Self { builder, current }
    }

    fn current(&self) -> Arc<AsyncSmtpTransport<Tokio1Executor>> {
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Replaces `used` with a fresh pool, unless another send replaced it already.
    fn discard(&self, used: &Arc<AsyncSmtpTransport<Tokio1Executor>>) {
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if Arc::ptr_eq(&current, used) {
            *current = Arc::new(self.builder.clone().build());
        }
    }
}

pub struct OutboxWorker {
    pool: DbPool,
    transport: Transport,
    from: Mailbox,
    retry: RetryPolicy,
    poll_interval: Duration,
    send_timeout: Duration,
    concurrency: usize,
    /// Badge PDFs rendered at once: one per core.
    rendering: Semaphore,
    /// Exchanges at once: one per SMTP connection (lettre's pool bounds only the idle ones).
    sending: Semaphore,
}

/// A claimed message and what it needs to be sent.
struct Claimed {
    message: OutboxMessage,
    lease: DateTime<Utc>,
    /// Past this instant the lease may be over (measured from before the claim).
    deadline: Instant,
    card: Option<Arc<BadgeCard>>,
}

impl OutboxWorker {
    pub fn new(pool: DbPool, settings: &EmailSettings) -> anyhow::Result<Self> {
        let transport = match settings.smtp_url() {
            Some(url) => {
                let connections = u32::try_from(settings.smtp_connections)
                    .context("setting `email.smtp_connections` is too large")?;
                Transport::Smtp(SmtpPool::new(
                    AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                        .context("setting `email.smtp_url` is not a usable SMTP URL")?
                        .timeout(Some(Duration::from_millis(settings.smtp_timeout_ms)))
                        .pool_config(PoolConfig::new().max_size(connections)),
                ))
            }
            None => {
                std::fs::create_dir_all(&settings.outbox_dir).with_context(|| {
                    format!(
                        "could not create email.outbox_dir {}",
                        settings.outbox_dir.display()
                    )
                })?;
                Transport::Files(AsyncFileTransport::new(&settings.outbox_dir))
            }
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(Self {
            pool,
            transport,
            from: settings
                .from
                .parse()
                .context("setting `email.from` is not a mailbox")?,
            retry: RetryPolicy {
                max_attempts: settings.max_attempts,
                base: Duration::from_millis(settings.retry_base_ms),
            },
            poll_interval: Duration::from_millis(settings.poll_interval_ms),
            send_timeout: Duration::from_millis(settings.smtp_timeout_ms),
            concurrency: settings.concurrency.max(1),
            rendering: Semaphore::new(cores),
            sending: Semaphore::new(settings.smtp_connections.max(1)),
        })
    }

    /// Polls until `shutdown` is cancelled, which also interrupts the sends under way (their
    /// messages are sent again once their leases are over). Errors (database down, say) are
    /// logged and the loop goes on: a background worker must never die silently.
    pub async fn run(self, shutdown: CancellationToken) {
        let worker = Arc::new(self);
        tracing::info!(concurrency = worker.concurrency, "outbox worker started");
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                drained = worker.drain() => if let Err(e) = drained {
                    tracing::error!(
                        error = format!("{e:#}"),
                        "outbox worker could not process the outbox"
                    );
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(worker.poll_interval) => {}
            }
        }
        tracing::info!("outbox worker stopped");
    }

    /// Sends every due message, up to `email.concurrency` at once, claiming more whenever half
    /// the slots are free; returns how many were attempted. A database error stops the claims;
    /// the messages in hand are still seen through before it is returned.
    async fn drain(self: &Arc<Self>) -> anyhow::Result<usize> {
        let mut in_hand = JoinSet::new();
        let mut sent = Vec::new();
        let mut first_unrecorded = Instant::now();
        let mut attempted = 0;
        let mut more = true;
        let mut failure = None;
        loop {
            let free = self.concurrency - in_hand.len();
            let refill = more && free * 2 >= self.concurrency;
            if refill || (!sent.is_empty() && first_unrecorded.elapsed() >= RECORD_AFTER) {
                match self
                    .record_and_claim(&mut sent, if refill { free } else { 0 })
                    .await
                {
                    Ok(batch) => {
                        more = more && !(refill && batch.is_empty());
                        for claimed in batch {
                            in_hand.spawn(self.clone().process(claimed));
                        }
                    }
                    Err(e) => {
                        more = false;
                        failure = Some(e);
                    }
                }
            }
            let record_at = first_unrecorded + RECORD_AFTER;
            tokio::select! {
                done = in_hand.join_next() => match done {
                    None => break,
                    Some(done) => {
                        attempted += 1;
                        match done {
                            Ok(Some(success)) => {
                                if sent.is_empty() {
                                    first_unrecorded = Instant::now();
                                }
                                sent.push(success);
                            }
                            Ok(None) => {}
                            Err(e) => tracing::error!(error = %e, "an email task panicked"),
                        }
                    }
                },
                () = tokio::time::sleep_until(record_at), if !sent.is_empty() => {}
            }
        }
        if !sent.is_empty() {
            self.record_and_claim(&mut sent, 0).await?;
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(attempted),
        }
    }

    /// Records the successes in `sent` (emptied once recorded) and claims up to `limit` more,
    /// with their badge cards, on one pooled connection held only for that.
    async fn record_and_claim(
        &self,
        sent: &mut Vec<(Uuid, DateTime<Utc>)>,
        limit: usize,
    ) -> anyhow::Result<Vec<Claimed>> {
        let mut conn = self.pool.get().await.context("no database connection")?;
        if !sent.is_empty() {
            let held = outbox::mark_sent(&mut conn, sent).await?;
            if held.len() < sent.len() {
                for (id, _) in sent.iter().filter(|(id, _)| !held.contains(id)) {
                    tracing::warn!(email_id = %id, "the lease on an email ran out before its outcome was recorded");
                }
            }
            sent.clear();
        }
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.claim(&mut conn, limit).await
    }

    async fn claim(
        &self,
        conn: &mut AsyncPgConnection,
        limit: usize,
    ) -> anyhow::Result<Vec<Claimed>> {
        let lease = self.send_timeout + LEASE_MARGIN;
        let deadline = Instant::now() + lease;
        let messages = outbox::claim_due(conn, limit, lease).await?;
        let badges: Vec<Uuid> = messages
            .iter()
            .filter_map(|m| m.badge_accreditation_id)
            .collect();
        let cards: HashMap<Uuid, Arc<BadgeCard>> = if badges.is_empty() {
            HashMap::new()
        } else {
            cards::cards(conn, &badges)
                .await?
                .into_iter()
                .map(|(id, card)| (id, Arc::new(card)))
                .collect()
        };
        messages
            .into_iter()
            .map(|message| {
                Ok(Claimed {
                    lease: message
                        .leased_until
                        .context("a claimed message has a lease")?,
                    deadline,
                    card: message
                        .badge_accreditation_id
                        .and_then(|id| cards.get(&id).cloned()),
                    message,
                })
            })
            .collect()
    }

    /// Attempts one claimed message and records a failure; a success is returned, to be
    /// recorded with others.
    async fn process(self: Arc<Self>, claimed: Claimed) -> Option<(Uuid, DateTime<Utc>)> {
        let message = &claimed.message;
        let error = match self.attempt(&claimed).await {
            Ok(true) => {
                tracing::info!(email_id = %message.id, template = %message.template, "email sent");
                return Some((message.id, claimed.lease));
            }
            Ok(false) => {
                tracing::warn!(email_id = %message.id,
                    "an email waited too long for a connection and is left to its next claim");
                return None;
            }
            Err(e) => format!("{e:#}"),
        };
        let attempts = message.attempts + 1;
        let retry_at = self.retry.retries(attempts).then(|| {
            Utc::now()
                + chrono::Duration::from_std(self.retry.delay_after(message.attempts))
                    .unwrap_or_else(|_| chrono::Duration::hours(1))
        });
        tracing::warn!(email_id = %message.id, attempts, %error, gave_up = retry_at.is_none(),
            "email not sent");
        let recorded = async {
            let mut conn = self.pool.get().await.context("no database connection")?;
            let held =
                outbox::mark_attempt_failed(&mut conn, message.id, claimed.lease, &error, retry_at)
                    .await?;
            anyhow::Ok(held)
        };
        match recorded.await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(email_id = %message.id, "the lease on an email ran out before its outcome was recorded");
            }
            Err(e) => {
                tracing::error!(email_id = %message.id, error = format!("{e:#}"),
                    "a failed email attempt could not be recorded; it is tried again after its lease");
            }
        }
        None
    }

    /// Renders and sends one message: `Ok(false)` when its lease no longer leaves room for the
    /// exchange and it was not sent.
    async fn attempt(&self, claimed: &Claimed) -> anyhow::Result<bool> {
        let attachment = match &claimed.card {
            Some(card) => {
                let _rendering = self.rendering.acquire().await?;
                let filename = format!("{}.pdf", card.number);
                let card = card.clone();
                let pdf = cards::render(move || badge_sheets::badge_a6(&card)).await?;
                Some((filename, pdf))
            }
            None => None,
        };
        let email = self.compose(&claimed.message, attachment)?;
        let _sending = self.sending.acquire().await?;
        if Instant::now() + self.send_timeout + RECORD_ROOM > claimed.deadline {
            return Ok(false);
        }
        self.deliver(email, &claimed.message).await?;
        Ok(true)
    }

    fn compose(
        &self,
        message: &OutboxMessage,
        attachment: Option<(String, Vec<u8>)>,
    ) -> anyhow::Result<Message> {
        let body =
            MultiPart::alternative_plain_html(message.body_text.clone(), message.body_html.clone());
        let body = match attachment {
            Some((filename, pdf)) => MultiPart::mixed().multipart(body).singlepart(
                Attachment::new(filename).body(pdf, ContentType::parse("application/pdf")?),
            ),
            None => body,
        };
        Message::builder()
            .from(self.from.clone())
            .to(message
                .recipient
                .parse()
                .context("recipient is not a mailbox")?)
            .subject(&message.subject)
            .message_id(Some(format!("<{}@bamex.outbox>", message.id)))
            .multipart(body)
            .context("could not build the message")
    }

    /// One delivery, bounded as a whole by `email.smtp_timeout_ms`.
    async fn deliver(&self, email: Message, message: &OutboxMessage) -> anyhow::Result<()> {
        let timed_out = || {
            anyhow::anyhow!(
                "SMTP exchange timed out after {} ms",
                self.send_timeout.as_millis()
            )
        };
        match &self.transport {
            Transport::Smtp(smtp) => {
                let transport = smtp.current();
                match tokio::time::timeout(self.send_timeout, transport.send(email)).await {
                    Ok(sent) => {
                        sent.context("SMTP delivery failed")?;
                    }
                    Err(_) => {
                        smtp.discard(&transport);
                        return Err(timed_out());
                    }
                }
            }
            Transport::Files(files) => {
                let id = tokio::time::timeout(self.send_timeout, files.send(email))
                    .await
                    .map_err(|_| timed_out())?
                    .context("could not write the .eml file")?;
                // Never the body: it holds one-time links.
                tracing::info!(to = %message.recipient, subject = %message.subject, file = %id,
                    "email written to the outbox folder (no SMTP configured)");
            }
        }
        Ok(())
    }
}
