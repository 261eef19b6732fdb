//! Delivers what the webhook outbox holds, as the email worker sends the email outbox
//! (`email/worker.rs`): each of `webhooks.workers` loops claims one due delivery at a time with
//! a lease ([`store::claim_next_due`], committed at once), so any number of loops and service
//! instances share the work without delivering one message twice at once, and no transaction or
//! row lock is held while the receiver is talked to. Each exchange is bounded as a whole by
//! `webhooks.timeout_ms` and the lease lasts longer. A failure (no answer, or anything but 2xx)
//! is retried with exponential backoff until `webhooks.max_attempts`.
//!
//! Delivery is at least once: a crash between the receiver's answer and the marking delivers
//! that message again once its lease is over, with the same `webhook-id`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::client::{Attempt, Outgoing, WebhookClient};
use super::signing::{self, SigningSecret};
use super::store::{self, Claimed};
use crate::backoff::RetryPolicy;
use crate::config::WebhookSettings;
use crate::db::DbPool;
use crate::participants::documents::DocumentVault;

/// How much longer than one exchange a claim lasts: room for recording the outcome.
const LEASE_MARGIN: Duration = Duration::from_secs(60);

pub struct DeliveryWorker {
    pool: DbPool,
    vault: DocumentVault,
    client: WebhookClient,
    retry: RetryPolicy,
    poll_interval: Duration,
    timeout: Duration,
    workers: usize,
}

impl DeliveryWorker {
    /// `vault` opens the endpoints' signing secrets (sealed under the document keys).
    pub fn new(
        pool: DbPool,
        settings: &WebhookSettings,
        vault: DocumentVault,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            pool,
            vault,
            client: WebhookClient::new(settings.allow_private_targets, settings.timeout())?,
            retry: RetryPolicy {
                max_attempts: settings.max_attempts,
                base: Duration::from_millis(settings.retry_base_ms),
            },
            poll_interval: Duration::from_millis(settings.poll_interval_ms),
            timeout: settings.timeout(),
            workers: settings.workers.max(1),
        })
    }

    /// Runs the loops until `shutdown` is cancelled, which also interrupts deliveries under way
    /// (each is attempted again once its lease is over).
    pub async fn run(self, shutdown: CancellationToken) {
        let worker = Arc::new(self);
        let loops: Vec<_> = (0..worker.workers)
            .map(|_| tokio::spawn(worker.clone().run_loop(shutdown.clone())))
            .collect();
        tracing::info!(workers = loops.len(), "webhook workers started");
        for handle in loops {
            let _ = handle.await;
        }
        tracing::info!("webhook workers stopped");
    }

    /// One loop. Errors (database down, say) are logged and the loop goes on: a background
    /// worker must never die silently.
    async fn run_loop(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                drained = self.drain() => if let Err(e) = drained {
                    tracing::error!(error = format!("{e:#}"), "webhook worker could not process the outbox");
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(self.poll_interval) => {}
            }
        }
    }

    /// Attempts every due delivery; returns how many were attempted.
    pub async fn drain(&self) -> anyhow::Result<usize> {
        let mut attempted = 0;
        while self.process_next().await? {
            attempted += 1;
        }
        Ok(attempted)
    }

    /// Claims the oldest due delivery, if any, and attempts it. No pooled connection is held
    /// while the receiver is talked to.
    async fn process_next(&self) -> anyhow::Result<bool> {
        let mut conn = self.pool.get().await.context("no database connection")?;
        let Some(delivery) = store::claim_next_due(&mut conn, self.timeout + LEASE_MARGIN).await?
        else {
            return Ok(false);
        };
        drop(conn);

        let attempt = match self.secret(&delivery) {
            Ok(secret) => self.attempt(&delivery, &secret).await,
            Err(e) => Attempt::Failed {
                status: None,
                error: format!("{e:#}"),
            },
        };

        let mut conn = self.pool.get().await.context("no database connection")?;
        let lease = delivery.leased_until;
        let held = match attempt {
            Attempt::Delivered { status } => {
                tracing::info!(delivery_id = %delivery.id, endpoint_id = %delivery.endpoint_id, status, "webhook delivered");
                store::mark_delivered(&mut conn, delivery.id, lease, status).await?
            }
            Attempt::Failed { status, error } => {
                let attempts = delivery.attempts + 1;
                let retry_at = self.retry.retries(attempts).then(|| {
                    Utc::now()
                        + chrono::Duration::from_std(self.retry.delay_after(delivery.attempts))
                            .unwrap_or_else(|_| chrono::Duration::hours(1))
                });
                tracing::warn!(delivery_id = %delivery.id, endpoint_id = %delivery.endpoint_id,
                    attempts, %error, gave_up = retry_at.is_none(), "webhook not delivered");
                store::mark_attempt_failed(&mut conn, delivery.id, lease, status, &error, retry_at)
                    .await?
            }
        };
        if !held {
            tracing::warn!(delivery_id = %delivery.id, "the lease on a webhook delivery ran out before its outcome was recorded");
        }
        Ok(true)
    }

    fn secret(&self, delivery: &Claimed) -> anyhow::Result<SigningSecret> {
        let sealed = delivery.sealed_secret();
        let bytes = self
            .vault
            .open_secret(&store::secret_context(delivery.endpoint_id), &sealed)
            .context("the endpoint's signing secret cannot be opened")?;
        Ok(SigningSecret::from_bytes(bytes))
    }

    /// One signed attempt; the timestamp is this attempt's, as the scheme wants.
    async fn attempt(&self, delivery: &Claimed, secret: &SigningSecret) -> Attempt {
        let message_id = delivery.message_id.to_string();
        let timestamp = Utc::now().timestamp();
        let signature = secret.sign(&message_id, timestamp, delivery.body.as_bytes());
        self.client
            .post(Outgoing {
                url: &delivery.url,
                headers: [
                    (signing::ID_HEADER, message_id),
                    (signing::TIMESTAMP_HEADER, timestamp.to_string()),
                    (signing::SIGNATURE_HEADER, signature),
                ],
                body: delivery.body.clone(),
            })
            .await
    }
}
