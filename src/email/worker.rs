//! Sends what the outbox holds. Each message is sent while its row is locked
//! (`FOR UPDATE SKIP LOCKED`), so any number of workers, in any number of service instances,
//! share the work and never send the same message concurrently. Delivery is at least once: a
//! crash between the SMTP answer and the commit sends that message again on restart (with the
//! same Message-ID, so mail clients recognise the copy).

use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use diesel_async::AsyncConnection;
use diesel_async::AsyncPgConnection;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio_util::sync::CancellationToken;

use super::outbox::{self, OutboxMessage};
use crate::config::EmailSettings;
use crate::db::DbPool;

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Development without SMTP: each email becomes an `.eml` file.
    Files(AsyncFileTransport<Tokio1Executor>),
}

#[derive(Clone, Copy)]
struct RetryPolicy {
    max_attempts: i32,
    base: Duration,
}

impl RetryPolicy {
    /// Exponential backoff: base, 2·base, 4·base … capped at one hour.
    fn delay_after(&self, attempts_so_far: i32) -> Duration {
        let doublings = attempts_so_far.clamp(0, 20) as u32;
        self.base
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(Duration::from_secs(3600))
    }
}

pub struct OutboxWorker {
    pool: DbPool,
    transport: Transport,
    from: Mailbox,
    retry: RetryPolicy,
    poll_interval: Duration,
}

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
        })
    }

    /// Polls until `shutdown` is cancelled. Errors (database down, say) are logged and the loop
    /// goes on: a background worker must never die silently.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::info!("outbox worker started");
        loop {
            if let Err(e) = self.drain().await {
                tracing::error!(
                    error = format!("{e:#}"),
                    "outbox worker could not process the outbox"
                );
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

    /// Attempts the oldest due message, if any, inside one transaction holding its row lock.
    async fn process_next(&self) -> anyhow::Result<bool> {
        let mut conn = self.pool.get().await.context("no database connection")?;
        conn.transaction::<_, anyhow::Error, _>(async |conn| {
                let Some(message) = outbox::lock_next_due(conn).await? else {
                    return Ok(false);
                };
                match self.send(conn, &message).await {
                    Ok(()) => {
                        outbox::mark_sent(conn, message.id).await?;
                        tracing::info!(email_id = %message.id, template = %message.template, "email sent");
                    }
                    Err(e) => {
                        let attempts = message.attempts + 1;
                        let retry_at = (attempts < self.retry.max_attempts).then(|| {
                            Utc::now()
                                + chrono::Duration::from_std(self.retry.delay_after(message.attempts))
                                    .unwrap_or_else(|_| chrono::Duration::hours(1))
                        });
                        let error = format!("{e:#}");
                        tracing::warn!(email_id = %message.id, attempts, %error, gave_up = retry_at.is_none(),
                            "email not sent");
                        outbox::mark_attempt_failed(conn, message.id, &error, retry_at).await?;
                    }
                }
                Ok(true)
        })
        .await
    }

    async fn send(
        &self,
        conn: &mut AsyncPgConnection,
        message: &OutboxMessage,
    ) -> anyhow::Result<()> {
        let body =
            MultiPart::alternative_plain_html(message.body_text.clone(), message.body_html.clone());
        let body = match badge_attachment(conn, message.badge_accreditation_id).await? {
            Some((filename, pdf)) => MultiPart::mixed().multipart(body).singlepart(
                Attachment::new(filename).body(pdf, ContentType::parse("application/pdf")?),
            ),
            None => body,
        };
        let email = Message::builder()
            .from(self.from.clone())
            .to(message
                .recipient
                .parse()
                .context("recipient is not a mailbox")?)
            .subject(&message.subject)
            .message_id(Some(format!("<{}@bamex.outbox>", message.id)))
            .multipart(body)
            .context("could not build the message")?;
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
        Ok(())
    }
}

/// The badge PDF to attach, rendered now (off the executor); `None` when there is none to attach
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
    let pdf = tokio::task::spawn_blocking(move || crate::accreditations::pdf::badges_a6(&[card]))
        .await??;
    Ok(Some((filename, pdf)))
}
