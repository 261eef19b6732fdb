//! Abuse limits on the anonymous routes that cost CPU (argon2), send email or check a secret
//! (a visa letter's code, a gate device's enrollment code). Per IP they are
//! generous (an expo hall shares one NAT address); per account they are strict. The counters
//! live in this process; the lockout after repeated failed logins lives in the database.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::config::RateLimitSettings;
use crate::error::ApiError;
use crate::users::EmailAddress;

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

pub struct AbuseLimits {
    per_ip: DefaultKeyedRateLimiter<(Action, IpAddr)>,
    login_per_account: DefaultKeyedRateLimiter<String>,
    emails_per_account: DefaultKeyedRateLimiter<(Action, String)>,
}

fn nonzero(value: u32) -> NonZeroU32 {
    NonZeroU32::new(value).unwrap_or(NonZeroU32::MIN)
}

fn refused(not_until: governor::NotUntil<<DefaultClock as Clock>::Instant>) -> ApiError {
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    ApiError::RateLimited {
        retry_after_seconds: wait.as_secs() + 1,
    }
}

impl AbuseLimits {
    pub fn new(settings: &RateLimitSettings) -> Self {
        Self {
            per_ip: DefaultKeyedRateLimiter::keyed(
                Quota::per_minute(nonzero(settings.per_ip_per_minute))
                    .allow_burst(nonzero(settings.per_ip_burst)),
            ),
            login_per_account: DefaultKeyedRateLimiter::keyed(
                Quota::per_minute(nonzero(settings.login_per_account_per_minute))
                    .allow_burst(nonzero(settings.login_per_account_burst)),
            ),
            emails_per_account: DefaultKeyedRateLimiter::keyed(Quota::per_hour(nonzero(
                settings.emails_per_account_per_hour,
            ))),
        }
    }

    pub fn check_ip(&self, action: Action, ip: Option<IpAddr>) -> Result<(), ApiError> {
        match ip {
            Some(ip) => self.per_ip.check_key(&(action, ip)).map_err(refused),
            None => Ok(()),
        }
    }

    /// Per-account limit; the account is named by the email in the request, known or not.
    pub fn check_account(&self, action: Action, email: &EmailAddress) -> Result<(), ApiError> {
        let key = email.as_str().to_lowercase();
        match action {
            Action::Login => self.login_per_account.check_key(&key).map_err(refused),
            // Register counts only the notices sent to the owners of known addresses.
            Action::ForgotPassword | Action::ResendVerification | Action::Register => self
                .emails_per_account
                .check_key(&(action, key))
                .map_err(refused),
            // A letter's or a device's code names no account: checked per IP only.
            Action::VerifyLetter | Action::EnrollDevice => Ok(()),
        }
    }

    /// Forgets keys whose budget is whole again, so memory stays bounded.
    pub fn forget_idle(&self) {
        self.per_ip.retain_recent();
        self.login_per_account.retain_recent();
        self.emails_per_account.retain_recent();
    }
}
