//! Settings: `config/default.toml`, overlaid by `config/{BAMEX_ENV}.toml`, overlaid by
//! `BAMEX__SECTION__KEY` environment variables and the usual `DATABASE_URL`, `PORT`, `SMTP_URL`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Secrets in `config/default.toml` start with this: good enough on a laptop, refused in production.
const DEVELOPMENT_SECRET_PREFIX: &str = "dev-insecure-";

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("setting `{key}` {reason}")]
    Invalid { key: &'static str, reason: String },
}

fn invalid(key: &'static str, reason: impl Into<String>) -> SettingsError {
    SettingsError::Invalid {
        key,
        reason: reason.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Test,
    Production,
}

impl Environment {
    fn from_env() -> Result<Self, SettingsError> {
        match std::env::var("BAMEX_ENV").as_deref() {
            Err(_) | Ok("") | Ok("development") => Ok(Self::Development),
            Ok("test") => Ok(Self::Test),
            Ok("production") => Ok(Self::Production),
            Ok(other) => Err(invalid(
                "BAMEX_ENV",
                format!("is `{other}`; expected development, test or production"),
            )),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Test => "test",
            Self::Production => "production",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(skip, default = "default_environment")]
    pub environment: Environment,
    pub application: ApplicationSettings,
    pub database: DatabaseSettings,
    pub email: EmailSettings,
    pub auth: AuthSettings,
    pub rate_limits: RateLimitSettings,
    pub documents: DocumentSettings,
    pub badges: BadgeSettings,
    pub idempotency: IdempotencySettings,
    pub retention: RetentionSettings,
    pub gates: GateSettings,
    pub metrics: MetricsSettings,
    pub log: LogSettings,
    pub webhooks: WebhookSettings,
}

fn default_environment() -> Environment {
    Environment::Development
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationSettings {
    pub host: String,
    pub port: u16,
    pub frontend_url: url::Url,
    pub cors_allowed_origins: Vec<String>,
    pub json_body_limit: usize,
    pub workers: usize,
    pub shutdown_timeout_seconds: u64,
    /// Bytes the anonymous exhibitor directory cache may hold (keys and pages).
    pub directory_cache_bytes: u64,
}

impl ApplicationSettings {
    /// A link into the front-end: `{frontend_url}/{path}`, with `?token=…` when given.
    pub fn frontend_link(&self, path: &str, token: Option<&str>) -> String {
        let mut url = self.frontend_url.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}/{}", path.trim_start_matches('/')));
        url.set_query(None);
        if let Some(token) = token {
            url.query_pairs_mut().append_pair("token", token);
        }
        url.into()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Holds the password when there is one, so it is kept secret.
    pub url: SecretString,
    pub max_connections: usize,
    pub acquire_timeout_ms: u64,
    pub statement_timeout_ms: u64,
    pub startup_retry_seconds: u64,
    /// A streaming replica for the reads that may be a moment behind (see `db/replica.rs`);
    /// empty: every read goes to `url`. Secret like `url`.
    pub replica_url: SecretString,
    /// Most connections the replica's pool opens.
    pub replica_max_connections: usize,
    /// While the replica is further behind the primary than this, its reads go to the primary.
    pub replica_max_lag_ms: u64,
}

impl DatabaseSettings {
    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_millis(self.acquire_timeout_ms)
    }
    pub fn replica_url(&self) -> Option<&SecretString> {
        Some(&self.replica_url).filter(|url| !url.expose_secret().is_empty())
    }
    pub fn replica_max_lag(&self) -> Duration {
        Duration::from_millis(self.replica_max_lag_ms)
    }
    pub fn startup_retry(&self) -> Duration {
        Duration::from_secs(self.startup_retry_seconds)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// May carry SMTP credentials.
    pub smtp_url: SecretString,
    pub from: String,
    pub outbox_dir: PathBuf,
    pub max_attempts: i32,
    pub retry_base_ms: u64,
    pub poll_interval_ms: u64,
    pub smtp_timeout_ms: u64,
    /// Messages a worker has in hand at once (claimed, rendering or being sent).
    pub concurrency: usize,
    /// SMTP connections a worker keeps open and sends over at once (at most `concurrency`).
    pub smtp_connections: usize,
}

impl EmailSettings {
    pub fn smtp_url(&self) -> Option<&str> {
        Some(self.smtp_url.expose_secret()).filter(|url| !url.is_empty())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub jwt_secret: SecretString,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl_seconds: u64,
    pub refresh_token_ttl_days: u64,
    pub verify_email_ttl_hours: u32,
    pub reset_password_ttl_minutes: u32,
    pub first_password_ttl_hours: u32,
    pub lockout_threshold: u32,
    pub lockout_window_minutes: u32,
    pub lockout_minutes: u32,
    /// Roles whose accounts need a second factor: without one their sessions reach only `/me`
    /// and `/me/mfa…`.
    pub mfa_required_roles: Vec<crate::users::roles::Role>,
    /// Seconds a sign-in waits for its second factor after the password.
    pub mfa_challenge_ttl_seconds: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentSettings {
    pub active_key: String,
    /// None in default.toml: development.toml and test.toml list theirs, production its own.
    #[serde(default)]
    pub keys: std::collections::BTreeMap<String, SecretString>,
    pub hash_key: SecretString,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BadgeSettings {
    pub active_key: String,
    /// None in default.toml, as for documents.
    #[serde(default)]
    pub keys: std::collections::BTreeMap<String, SecretString>,
    pub valid_days_after_event: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Days after an event's last day (`ends_on`) after which its personal data is purged.
    pub purge_after_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateSettings {
    /// Scans are recorded in batches by this many lanes at once (a badge always in the same
    /// lane), each with a database connection of its own; see `gates/recorder.rs`.
    pub recorder_lanes: usize,
    /// How long a gate device's one-time enrollment code stays usable after registration.
    pub enrollment_code_ttl_hours: u32,
    /// How long an event's figures (`GET …/stats`) answer before they are counted again.
    pub stats_fresh_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// `host:port` of the Prometheus `/metrics` listener (never the public port); empty: none.
    pub listen: String,
}

impl MetricsSettings {
    /// The address to serve metrics on, or `None` when they are turned off.
    pub fn address(&self) -> Result<Option<std::net::SocketAddr>, SettingsError> {
        let listen = self.listen.trim();
        if listen.is_empty() {
            return Ok(None);
        }
        listen.parse().map(Some).map_err(|_| {
            invalid(
                "metrics.listen",
                format!("is `{listen}`, not an address such as 127.0.0.1:9464 (or empty)"),
            )
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Lets endpoints point at private, loopback and link-local addresses (the tests' receivers).
    pub allow_private_targets: bool,
    /// A delivery that failed this many times is marked failed.
    pub max_attempts: i32,
    /// First retry delay, doubled each time, capped at one hour.
    pub retry_base_ms: u64,
    /// How often the workers look for due deliveries.
    pub poll_interval_ms: u64,
    /// Bound of one whole HTTP exchange (resolution, connection, TLS, request, response head).
    pub timeout_ms: u64,
    /// Deliveries attempted at once (one worker each).
    pub workers: usize,
}

impl WebhookSettings {
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    pub per_ip_per_minute: u32,
    pub per_ip_burst: u32,
    pub login_per_account_per_minute: u32,
    pub login_per_account_burst: u32,
    pub emails_per_account_per_hour: u32,
    pub trust_forwarded_for: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdempotencySettings {
    pub ttl_hours: u32,
    pub in_progress_timeout_seconds: u32,
}

impl IdempotencySettings {
    pub fn ttl(&self) -> chrono::Duration {
        chrono::Duration::hours(self.ttl_hours.into())
    }
    pub fn in_progress_timeout(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.in_progress_timeout_seconds.into())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

impl Settings {
    /// Loads the settings for the environment named by `BAMEX_ENV` from the configuration
    /// folder (`BAMEX_CONFIG_DIR`, or `./config`).
    pub fn load() -> Result<Self, SettingsError> {
        Self::load_for(Environment::from_env()?)
    }

    pub fn load_for(environment: Environment) -> Result<Self, SettingsError> {
        let dir = config_dir()?;
        let env_var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let source = config::Config::builder()
            .add_source(config::File::from(dir.join("default.toml")).required(true))
            .add_source(
                config::File::from(dir.join(format!("{}.toml", environment.as_str())))
                    .required(false),
            )
            .add_source(
                config::Environment::with_prefix("BAMEX")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    .list_separator(",")
                    .with_list_parse_key("application.cors_allowed_origins")
                    .with_list_parse_key("auth.mfa_required_roles"),
            )
            .set_override_option("database.url", env_var("DATABASE_URL"))?
            .set_override_option("application.port", env_var("PORT"))?
            .set_override_option("email.smtp_url", env_var("SMTP_URL"))?
            .build()?;
        let mut settings: Settings = source.try_deserialize()?;
        settings.environment = environment;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what types alone cannot: URLs, ranges, and no development secret in production.
    pub fn validate(&self) -> Result<(), SettingsError> {
        postgres_url("database.url", &self.database.url)?;
        if self.database.max_connections < 2 {
            return Err(invalid("database.max_connections", "must be at least 2"));
        }
        if let Some(replica) = self.database.replica_url() {
            postgres_url("database.replica_url", replica)?;
            if self.database.replica_max_connections < 2 {
                return Err(invalid(
                    "database.replica_max_connections",
                    "must be at least 2",
                ));
            }
        }
        // The probe measures every 250 ms: a smaller bound would send reads to the primary
        // whenever a write was under way.
        if !(250..=3_600_000).contains(&self.database.replica_max_lag_ms) {
            return Err(invalid(
                "database.replica_max_lag_ms",
                "must be 250 to 3600000 (one hour)",
            ));
        }
        if let Some(smtp) = self.email.smtp_url() {
            let parsed = url::Url::parse(smtp)
                .map_err(|e| invalid("email.smtp_url", format!("is not a URL: {e}")))?;
            if !matches!(parsed.scheme(), "smtp" | "smtps") {
                return Err(invalid(
                    "email.smtp_url",
                    "must start with smtp:// or smtps://",
                ));
            }
        }
        if self.email.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid(
                "email.from",
                "is not a mailbox such as `Name <a@b.org>`",
            ));
        }
        if self.email.max_attempts < 1 {
            return Err(invalid("email.max_attempts", "must be at least 1"));
        }
        if !(1..=64).contains(&self.email.concurrency) {
            return Err(invalid("email.concurrency", "must be 1 to 64"));
        }
        if !(1..=self.email.concurrency).contains(&self.email.smtp_connections) {
            return Err(invalid(
                "email.smtp_connections",
                "must be 1 to email.concurrency",
            ));
        }
        if self.webhooks.max_attempts < 1 {
            return Err(invalid("webhooks.max_attempts", "must be at least 1"));
        }
        if !(1..=32).contains(&self.webhooks.workers) {
            return Err(invalid("webhooks.workers", "must be 1 to 32"));
        }
        if self.webhooks.timeout_ms == 0 {
            return Err(invalid("webhooks.timeout_ms", "must be at least 1"));
        }
        if self.application.json_body_limit < 1024 {
            return Err(invalid(
                "application.json_body_limit",
                "must be at least 1024 bytes",
            ));
        }
        if !matches!(self.application.frontend_url.scheme(), "http" | "https") {
            return Err(invalid(
                "application.frontend_url",
                "must be an http(s) URL",
            ));
        }
        for origin in &self.application.cors_allowed_origins {
            // An origin is scheme://host[:port], exactly as browsers send it: no path, no slash.
            let parsed = url::Url::parse(origin)
                .ok()
                .map(|u| u.origin().ascii_serialization());
            if parsed.as_deref() != Some(origin.as_str()) {
                return Err(invalid(
                    "application.cors_allowed_origins",
                    format!("has `{origin}`, not an origin such as https://bamex.ml"),
                ));
            }
        }
        let limits = &self.rate_limits;
        for (key, value) in [
            ("rate_limits.per_ip_per_minute", limits.per_ip_per_minute),
            ("rate_limits.per_ip_burst", limits.per_ip_burst),
            (
                "rate_limits.login_per_account_per_minute",
                limits.login_per_account_per_minute,
            ),
            (
                "rate_limits.login_per_account_burst",
                limits.login_per_account_burst,
            ),
            (
                "rate_limits.emails_per_account_per_hour",
                limits.emails_per_account_per_hour,
            ),
            ("auth.lockout_threshold", self.auth.lockout_threshold),
            (
                "auth.mfa_challenge_ttl_seconds",
                self.auth.mfa_challenge_ttl_seconds,
            ),
            ("idempotency.ttl_hours", self.idempotency.ttl_hours),
            (
                "idempotency.in_progress_timeout_seconds",
                self.idempotency.in_progress_timeout_seconds,
            ),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be at least 1"));
            }
        }
        if self.auth.jwt_secret.expose_secret().len() < 32 {
            return Err(invalid("auth.jwt_secret", "must be at least 32 characters"));
        }
        if self.environment == Environment::Production {
            if self
                .auth
                .jwt_secret
                .expose_secret()
                .starts_with(DEVELOPMENT_SECRET_PREFIX)
            {
                return Err(invalid(
                    "auth.jwt_secret",
                    "is the development default; set BAMEX__AUTH__JWT_SECRET in production",
                ));
            }
            if self.email.smtp_url().is_none() {
                return Err(invalid(
                    "email.smtp_url",
                    "is required in production (SMTP_URL)",
                ));
            }
        }
        let documents = &self.documents;
        if !documents.keys.contains_key(&documents.active_key) {
            return Err(invalid(
                "documents.active_key",
                format!(
                    "names `{}`, which is not in documents.keys (BAMEX__DOCUMENTS__KEYS__<ID>; `bamex secrets` writes them)",
                    documents.active_key
                ),
            ));
        }
        if !self.badges.keys.contains_key(&self.badges.active_key) {
            return Err(invalid(
                "badges.active_key",
                format!(
                    "names `{}`, which is not in badges.keys (BAMEX__BADGES__KEYS__<ID>; `bamex secrets` writes them)",
                    self.badges.active_key
                ),
            ));
        }
        self.metrics.address()?;
        // Each lane keeps a database connection of its own, besides the pool's.
        if !(1..=8).contains(&self.gates.recorder_lanes) {
            return Err(invalid("gates.recorder_lanes", "must be 1 to 8"));
        }
        if !(1..=720).contains(&self.gates.enrollment_code_ttl_hours) {
            return Err(invalid(
                "gates.enrollment_code_ttl_hours",
                "must be 1 to 720",
            ));
        }
        if self.gates.stats_fresh_ms > 60_000 {
            return Err(invalid("gates.stats_fresh_ms", "must be 0 to 60000"));
        }
        let retention_days = self.retention.purge_after_days;
        if !(1..=3650).contains(&retention_days) {
            return Err(invalid(
                "retention.purge_after_days",
                "must be 1 to 3650 days",
            ));
        }
        // Purging the holder of a badge that still opens the gates would leave the guards a
        // photo-less, nameless badge to judge.
        if retention_days <= self.badges.valid_days_after_event {
            return Err(invalid(
                "retention.purge_after_days",
                "must be more than badges.valid_days_after_event (badges still verify until then)",
            ));
        }
        // Stored answers name the people registered; they must be gone before the purge.
        if u64::from(self.idempotency.ttl_hours) >= u64::from(retention_days) * 24 {
            return Err(invalid(
                "idempotency.ttl_hours",
                "must be shorter than retention.purge_after_days (stored answers hold personal data)",
            ));
        }
        let secrets = documents
            .keys
            .values()
            .chain(self.badges.keys.values())
            .chain([&documents.hash_key, &self.auth.jwt_secret]);
        if secrets.clone().any(|s| s.expose_secret().len() < 32) {
            return Err(invalid(
                "documents.keys",
                "every key (documents, badges, auth.jwt_secret) needs at least 32 characters",
            ));
        }
        if self.environment == Environment::Production
            && secrets
                .into_iter()
                .any(|s| s.expose_secret().starts_with(DEVELOPMENT_SECRET_PREFIX))
        {
            return Err(invalid(
                "documents.keys",
                "holds a development key; set BAMEX__DOCUMENTS__KEYS__<ID>, BAMEX__DOCUMENTS__HASH_KEY and BAMEX__BADGES__KEYS__<ID> (with their ACTIVE_KEY) in production",
            ));
        }
        Ok(())
    }
}

/// A `postgres://` URL naming a database.
fn postgres_url(key: &'static str, raw: &SecretString) -> Result<(), SettingsError> {
    let parsed = url::Url::parse(raw.expose_secret())
        .map_err(|e| invalid(key, format!("is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return Err(invalid(key, "must start with postgres://"));
    }
    if parsed.path().trim_start_matches('/').is_empty() {
        return Err(invalid(key, "must name a database"));
    }
    Ok(())
}

fn config_dir() -> Result<PathBuf, SettingsError> {
    let dir = std::env::var_os("BAMEX_CONFIG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("config"));
    if Path::new(&dir).join("default.toml").is_file() {
        Ok(dir)
    } else {
        Err(invalid(
            "BAMEX_CONFIG_DIR",
            format!(
                "points at `{}`, which has no default.toml; run from the repository or set BAMEX_CONFIG_DIR",
                dir.display()
            ),
        ))
    }
}
