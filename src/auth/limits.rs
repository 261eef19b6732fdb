//! Abuse limits on the anonymous routes that cost CPU (argon2), send email or check a secret
//! (a visa letter's code, a gate device's enrollment code). Per IP they are
//! generous (an expo hall shares one NAT address); per account they are strict. The budgets
//! live in PostgreSQL (`take_rate_limit`, migration 2026-12-05-000100), as the lockout after
//! repeated failed logins does, so every instance behind a load balancer counts against the same
//! ones.

use std::net::IpAddr;
use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{Bytea, Double, Integer};
use diesel_async::RunQueryDsl;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::config::RateLimitSettings;
use crate::db::DbPool;
use crate::db::schema::rate_limits;
use crate::error::{ApiError, ApiResult};
use crate::users::EmailAddress;

diesel::define_sql_function! {
    /// Takes one request from a key's budget: `None` when allowed, else the seconds to wait.
    fn take_rate_limit(digest: Bytea, emission_seconds: Double, burst: Integer) -> Nullable<Double>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Login,
    Register,
    ForgotPassword,
    ResendVerification,
    /// A consulate checking a visa letter's code (`GET /api/v1/letters/{code}`).
    VerifyLetter,
    /// A gate device exchanging its enrollment code (`POST /api/v1/gate-devices/enroll`).
    EnrollDevice,
}

/// `rate` requests per `period`, `burst` of them at once.
#[derive(Debug, Clone, Copy)]
struct Quota {
    emission_seconds: f64,
    burst: i32,
}

impl Quota {
    fn new(period: Duration, rate: u32, burst: u32) -> Self {
        Self {
            emission_seconds: period.as_secs_f64() / f64::from(rate.max(1)),
            burst: i32::try_from(burst.max(1)).unwrap_or(i32::MAX),
        }
    }
}

pub struct AbuseLimits {
    pool: DbPool,
    per_ip: Quota,
    login_per_account: Quota,
    emails_per_account: Quota,
}

impl AbuseLimits {
    pub fn new(settings: &RateLimitSettings, pool: DbPool) -> Self {
        let minute = Duration::from_secs(60);
        let hour = Duration::from_secs(3600);
        Self {
            pool,
            per_ip: Quota::new(minute, settings.per_ip_per_minute, settings.per_ip_burst),
            login_per_account: Quota::new(
                minute,
                settings.login_per_account_per_minute,
                settings.login_per_account_burst,
            ),
            emails_per_account: Quota::new(
                hour,
                settings.emails_per_account_per_hour,
                settings.emails_per_account_per_hour,
            ),
        }
    }

    pub async fn check_ip(&self, action: Action, ip: Option<IpAddr>) -> ApiResult<()> {
        match ip {
            Some(ip) => self.take(self.per_ip, &format!("ip|{action:?}|{ip}")).await,
            None => Ok(()),
        }
    }

    /// Per-account limit; the account is named by the email in the request, known or not.
    pub async fn check_account(&self, action: Action, email: &EmailAddress) -> ApiResult<()> {
        let account = email.as_str().to_lowercase();
        match action {
            Action::Login => {
                self.take(self.login_per_account, &format!("login|{account}"))
                    .await
            }
            // Register counts only the notices sent to the owners of known addresses.
            Action::ForgotPassword | Action::ResendVerification | Action::Register => {
                self.take(
                    self.emails_per_account,
                    &format!("email|{action:?}|{account}"),
                )
                .await
            }
            // A letter's or a device's code names no account: checked per IP only.
            Action::VerifyLetter | Action::EnrollDevice => Ok(()),
        }
    }

    async fn take(&self, quota: Quota, key: &str) -> ApiResult<()> {
        let digest = Sha256::digest(key.as_bytes()).to_vec();
        let mut conn = self.pool.get().await?;
        let wait: Option<f64> =
            diesel::select(take_rate_limit(digest, quota.emission_seconds, quota.burst))
                .get_result(&mut conn)
                .await?;
        match wait {
            None => Ok(()),
            // Whole seconds, rounded up: a client that waits as told is let through.
            Some(seconds) => Err(ApiError::RateLimited {
                retry_after_seconds: seconds.max(0.0).ceil() as u64 + 1,
            }),
        }
    }

    /// Deletes every minute the keys whose budget is whole again, so the table stays small.
    pub async fn run_sweeper(&self, shutdown: CancellationToken) {
        crate::periodic::every(Duration::from_secs(60), shutdown, || async {
            let swept = async {
                let mut conn = self.pool.get().await?;
                Ok::<_, ApiError>(
                    diesel::delete(
                        rate_limits::table.filter(rate_limits::tat.lt(diesel::dsl::now)),
                    )
                    .execute(&mut conn)
                    .await?,
                )
            };
            if let Err(e) = swept.await {
                tracing::error!(error = e.log_message(), "could not sweep the rate limits");
            }
        })
        .await;
    }
}
