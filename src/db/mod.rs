//! PostgreSQL: the connection pool, creating the database, and the embedded migrations.

pub mod kept_prepared;
pub mod replica;
pub mod schema;
mod text_enum;

pub(crate) use text_enum::text_enum;

diesel::define_sql_function! {
    /// The migrations' text normalisation for search: lower case, no accents, single spaces.
    /// Search columns hold `search_key(...)` of their text; patterns get the same treatment.
    fn search_key(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

use std::time::Duration;

use anyhow::Context;
use diesel::Connection;
use diesel::prelude::*;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use futures_util::FutureExt;
use secrecy::ExposeSecret;

use crate::config::DatabaseSettings;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type DbPool = Pool<AsyncPgConnection>;
pub type DbConn = Object<AsyncPgConnection>;

/// The database named in a URL, and the URL of the server's maintenance database beside it.
pub struct DatabaseUrl {
    url: url::Url,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> anyhow::Result<Self> {
        let url = url::Url::parse(raw).context("database URL is not a URL")?;
        Ok(Self { url })
    }

    pub fn name(&self) -> &str {
        self.url.path().trim_start_matches('/')
    }

    /// `host:port`, for messages (never the password).
    pub fn server(&self) -> String {
        format!(
            "{}:{}",
            self.url.host_str().unwrap_or("localhost"),
            self.url.port().unwrap_or(5432)
        )
    }

    pub fn maintenance_url(&self) -> String {
        let mut url = self.url.clone();
        url.set_path("/postgres");
        url.into()
    }

    pub fn with_name(&self, name: &str) -> String {
        let mut url = self.url.clone();
        url.set_path(&format!("/{name}"));
        url.into()
    }
}

/// Double quotes a name for SQL, as PostgreSQL's `quote_ident` does.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Connects to the server's `postgres` database, retrying with backoff until `startup_retry`
/// has passed, and creates the configured database when it does not exist yet.
pub async fn ensure_database(settings: &DatabaseSettings) -> anyhow::Result<()> {
    let target = DatabaseUrl::parse(settings.url.expose_secret())?;
    let mut conn = connect_with_retry(&target.maintenance_url(), &target, settings).await?;
    if database_exists(&mut conn, target.name()).await? {
        return Ok(());
    }
    let sql = format!("CREATE DATABASE {}", quote_ident(target.name()));
    match conn.batch_execute(&sql).await {
        Ok(()) => {
            tracing::info!(database = target.name(), "created the database");
            Ok(())
        }
        // Another instance starting at the same moment may have created it first.
        Err(_) if database_exists(&mut conn, target.name()).await? => Ok(()),
        Err(e) => Err(e).with_context(|| format!("could not create database {}", target.name())),
    }
}

pub async fn database_exists(conn: &mut AsyncPgConnection, name: &str) -> anyhow::Result<bool> {
    diesel::select(diesel::dsl::exists(
        pg_database::table.filter(pg_database::datname.eq(name)),
    ))
    .get_result(conn)
    .await
    .context("could not list databases")
}

diesel::table! {
    pg_database (datname) {
        datname -> Text,
    }
}

async fn connect_with_retry(
    url: &str,
    target: &DatabaseUrl,
    settings: &DatabaseSettings,
) -> anyhow::Result<AsyncPgConnection> {
    let deadline = tokio::time::Instant::now() + settings.startup_retry();
    let mut delay = Duration::from_millis(250);
    loop {
        match AsyncPgConnection::establish(url).await {
            Ok(conn) => return Ok(conn),
            Err(e) if tokio::time::Instant::now() + delay < deadline => {
                tracing::warn!(server = %target.server(), error = %e, retry_in_ms = delay.as_millis() as u64,
                    "PostgreSQL is not reachable yet");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                anyhow::bail!(
                    "PostgreSQL at {} is unreachable after {} s: {e}",
                    target.server(),
                    settings.startup_retry_seconds
                )
            }
        }
    }
}

/// Applies pending migrations. diesel's migration harness is synchronous, so it runs on the
/// blocking pool through a wrapper connection (see NOTES.md: it must not block an executor).
pub async fn run_migrations(url: &str) -> anyhow::Result<()> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut conn = <AsyncConnectionWrapper<AsyncPgConnection> as Connection>::establish(&url)
            .context("could not connect to run migrations")?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
        for version in applied {
            tracing::info!(%version, "applied migration");
        }
        Ok(())
    })
    .await
    .context("migration task panicked")?
}

/// The request pool. Every connection gets a statement timeout so a runaway query cannot hold
/// a connection forever; waiting for a connection is bounded too (the caller answers 503).
/// A connection is handed out again without a test query (a round trip before every
/// request's own): one whose server went away is closed, and so never handed out, as soon as
/// its socket tells; one lost in between fails its query, which answers 503.
pub fn build_pool(settings: &DatabaseSettings) -> anyhow::Result<DbPool> {
    pool_on(
        settings.url.expose_secret(),
        settings.max_connections,
        settings,
        "",
    )
}

/// The pool of `database.replica_url`, when there is one: as the request pool, and read-only,
/// so that a write sent there by mistake fails on any server, not only on a hot standby.
pub fn build_replica_pool(settings: &DatabaseSettings) -> anyhow::Result<Option<DbPool>> {
    settings
        .replica_url()
        .map(|url| {
            pool_on(
                url.expose_secret(),
                settings.replica_max_connections,
                settings,
                "; SET default_transaction_read_only = on",
            )
        })
        .transpose()
}

fn pool_on(
    url: &str,
    max_connections: usize,
    settings: &DatabaseSettings,
    extra_setup: &'static str,
) -> anyhow::Result<DbPool> {
    let statement_timeout = settings.statement_timeout_ms;
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(move |url| {
        async move {
            let mut conn = AsyncPgConnection::establish(url).await?;
            conn.batch_execute(&format!(
                "SET statement_timeout = {statement_timeout}; SET TIME ZONE 'UTC'{extra_setup}"
            ))
            .await
            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        }
        .boxed()
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    Pool::builder(manager)
        .max_size(max_connections)
        .wait_timeout(Some(settings.acquire_timeout()))
        .create_timeout(Some(settings.acquire_timeout()))
        .recycle_timeout(Some(settings.acquire_timeout()))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .context("could not build the database pool")
}
