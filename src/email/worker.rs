//! Sends what the outbox holds. A worker claims one message at a time with a lease
//! ([`outbox::claim_next_due`], committed at once), so any number of workers, in any number of
//! service instances, share the work and never send the same message concurrently, and no
//! database transaction or row lock is held while the mail server is talked to. Each SMTP
//! exchange is bounded as a whole by `email.smtp_timeout_ms` (lettre's own timeout covers only
//! the TCP connect: a server that accepts and never greets would stall it for good), and the
//! lease lasts longer than that, so it cannot run out under a send in progress.
//!
//! Delivery is at least once: a crash, or a shutdown, between the SMTP answer and the marking
//! sends that message again once its lease is over (with the same Message-ID, so mail clients
//! recognise the copy).

use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use diesel_async::AsyncPgConnection;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio_util::sync::CancellationToken;

use super::outbox::{self, OutboxMessage};
use crate::backoff::RetryPolicy;
use crate::config::EmailSettings;
use crate::db::DbPool;

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Development without SMTP: each email becomes an `.eml` file.
    Files(AsyncFileTransport<Tokio1Executor>),
}

pub struct OutboxWorker {
    pool: DbPool,
    transport: Transport,
    from: Mailbox,
    retry: RetryPolicy,
    poll_interval: Duration,
    send_timeout: Duration,
}

/// How much longer than one send a claim lasts: room for rendering an attachment and recording
/// the outcome.
const LEASE_MARGIN: Duration = Duration::from_secs(60);

impl OutboxWorker {
    pub fn new(pool: DbPool, settings: &EmailSettings) -> anyhow::Result<Self> {
        let transport = match settings.smtp_url() {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .context("setting `email.smtp_url` is not a usable SMTP URL")?
                    .timeout(Some(Duration::from_millis(settings.smtp_timeout_ms)))
                    .build(),
            ),
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
        })
    }

    /// Polls until `shutdown` is cancelled, which also interrupts a send under way (its message
    /// is sent again once its lease is over). Errors (database down, say) are logged and the
    /// loop goes on: a background worker must never die silently.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::info!("outbox worker started");
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                drained = self.drain() => if let Err(e) = drained {
                    tracing::error!(
                        error = format!("{e:#}"),
                        "outbox worker could not process the outbox"
                    );
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(self.poll_interval) => {}
            }
        }
        tracing::info!("outbox worker stopped");
    }

    /// Sends every due message; returns how many were attempted.
    pub async fn drain(&self) -> anyhow::Result<usize> {
        let mut attempted = 0;
        while self.process_next().await? {
            attempted += 1;
        }
        Ok(attempted)
    }

    /// Claims the oldest due message, if any, and attempts it. No pooled connection is held
    /// while the mail server is talked to.
    async fn process_next(&self) -> anyhow::Result<bool> {
        let mut conn = self.pool.get().await.context("no database connection")?;
        let Some(message) =
            outbox::claim_next_due(&mut conn, self.send_timeout + LEASE_MARGIN).await?
        else {
            return Ok(false);
        };
        let lease = message
            .leased_until
            .context("a claimed message has a lease")?;
        let email = self.build(&mut conn, &message).await;
        drop(conn);
        let outcome = match email {
            Ok(email) => self.deliver(email, &message).await,
            Err(e) => Err(e),
        };

        let mut conn = self.pool.get().await.context("no database connection")?;
        let held = match outcome {
            Ok(()) => {
                tracing::info!(email_id = %message.id, template = %message.template, "email sent");
                outbox::mark_sent(&mut conn, message.id, lease).await?
            }
            Err(e) => {
                let attempts = message.attempts + 1;
                let retry_at = self.retry.retries(attempts).then(|| {
                    Utc::now()
                        + chrono::Duration::from_std(self.retry.delay_after(message.attempts))
                            .unwrap_or_else(|_| chrono::Duration::hours(1))
                });
                let error = format!("{e:#}");
                tracing::warn!(email_id = %message.id, attempts, %error, gave_up = retry_at.is_none(),
                    "email not sent");
                outbox::mark_attempt_failed(&mut conn, message.id, lease, &error, retry_at).await?
            }
        };
        if !held {
            tracing::warn!(email_id = %message.id, "the lease on an email ran out before its outcome was recorded");
        }
        Ok(true)
    }

    async fn build(
        &self,
        conn: &mut AsyncPgConnection,
        message: &OutboxMessage,
    ) -> anyhow::Result<Message> {
        let body =
            MultiPart::alternative_plain_html(message.body_text.clone(), message.body_html.clone());
        let body = match badge_attachment(conn, message.badge_accreditation_id).await? {
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
        let delivery = async {
            match &self.transport {
                Transport::Smtp(smtp) => {
                    smtp.send(email).await.context("SMTP delivery failed")?;
                }
                Transport::Files(files) => {
                    let id = files
                        .send(email)
                        .await
                        .context("could not write the .eml file")?;
                    // Never the body: it holds one-time links.
                    tracing::info!(to = %message.recipient, subject = %message.subject, file = %id,
                        "email written to the outbox folder (no SMTP configured)");
                }
            }
            anyhow::Ok(())
        };
        tokio::time::timeout(self.send_timeout, delivery)
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "SMTP exchange timed out after {} ms",
                    self.send_timeout.as_millis()
                )
            })?
    }
}

/// The badge PDF to attach, rendered now on the shared render path (off the executor); `None` when there is none to attach
/// or the badge was revoked since the email was queued.
async fn badge_attachment(
    conn: &mut AsyncPgConnection,
    accreditation_id: Option<uuid::Uuid>,
) -> anyhow::Result<Option<(String, Vec<u8>)>> {
    let Some(id) = accreditation_id else {
        return Ok(None);
    };
    let Some(card) = crate::accreditations::cards::card(conn, id).await? else {
        return Ok(None);
    };
    let filename = format!("{}.pdf", card.number);
    let pdf = crate::accreditations::cards::render(move || {
        crate::accreditations::badge_sheets::badge_a6(&card)
    })
    .await?;
    Ok(Some((filename, pdf)))
}
