//! When an outbox retries: the email worker and the webhook deliveries back off alike.

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts after which a message is marked failed.
    pub max_attempts: i32,
    /// The first retry delay.
    pub base: Duration,
}

impl RetryPolicy {
    /// Exponential backoff: base, 2·base, 4·base … capped at one hour.
    pub fn delay_after(&self, attempts_so_far: i32) -> Duration {
        let doublings = attempts_so_far.clamp(0, 20) as u32;
        self.base
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(Duration::from_secs(3600))
    }

    /// Whether a message that failed `attempts` times is tried again.
    pub fn retries(&self, attempts: i32) -> bool {
        attempts < self.max_attempts
    }
}
