//! The operator commands behind `bamex migrate | create-admin | seed-demo | purge`.

use std::io::{BufRead, IsTerminal};

use anyhow::Context;
use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use secrecy::{ExposeSecret, SecretString};

use crate::audit::AuditEntry;
use crate::auth::password;
use crate::config::Settings;
use crate::users::store::{self as users, NewUser};
use crate::users::{EmailAddress, Locale, Role};
use crate::{db, retention};

/// Creates the database when missing and applies pending migrations.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    db::ensure_database(&settings.database).await?;
    db::run_migrations(settings.database.url.expose_secret()).await?;
    println!("database is up to date");
    Ok(())
}

async fn connect(settings: &Settings) -> anyhow::Result<AsyncPgConnection> {
    migrate(settings).await?;
    AsyncPgConnection::establish(settings.database.url.expose_secret())
        .await
        .context("could not connect to the database")
}

/// Reads the password from the terminal without echo, or as one line from a pipe.
fn read_password() -> anyhow::Result<SecretString> {
    let line = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Password for the admin account: ")?
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    Ok(SecretString::from(line))
}

/// Creates an admin account, or makes an existing account admin; either way the password read
/// from standard input becomes the account's password and its address counts as verified.
pub async fn create_admin(settings: &Settings, email: &str, name: &str) -> anyhow::Result<()> {
    let email = EmailAddress::parse(email).map_err(|e| anyhow::anyhow!("--email {e}"))?;
    let name = name.trim();
    anyhow::ensure!(
        (1..=200).contains(&name.chars().count()),
        "--name must have 1 to 200 characters"
    );
    let secret = read_password()?;
    let length = secret.expose_secret().chars().count();
    anyhow::ensure!(
        (12..=128).contains(&length),
        "the password must have 12 to 128 characters"
    );
    let hash = password::hash(secret).await?;

    let mut conn = connect(settings).await?;
    let (user, created) = conn
        .transaction::<_, anyhow::Error, _>(async |conn| {
            let (user, created) = match users::find_by_email(conn, &email).await? {
                Some(existing) => (
                    users::grant_role_and_password(conn, existing.id, Role::Admin, &hash).await?,
                    false,
                ),
                None => {
                    let mut new_user = NewUser::new(&email, name, Locale::Fr, &[Role::Admin]);
                    new_user.password_hash = Some(&hash);
                    new_user.email_verified_at = Some(Utc::now());
                    (users::insert(conn, &new_user).await?, true)
                }
            };
            let action = if created {
                "user.created"
            } else {
                "user.roles_changed"
            };
            AuditEntry::new(action, "user", Some(user.id))
                .details(serde_json::json!({ "roles": user.roles, "via": "create-admin" }))
                .record(conn)
                .await?;
            Ok((user, created))
        })
        .await?;
    if created {
        println!("created admin account {} ({})", user.email, user.id);
    } else {
        println!(
            "made {} admin and set its password ({})",
            user.email, user.id
        );
    }
    Ok(())
}

/// Purges the personal data of the events whose retention period is over (see `retention.rs`),
/// or with `dry_run` only lists them.
pub async fn purge(settings: &Settings, dry_run: bool) -> anyhow::Result<()> {
    let mut conn = connect(settings).await?;
    let today = Utc::now().date_naive();
    let days = settings.retention.purge_after_days;
    if dry_run {
        let due = retention::due_events(&mut conn, today, days).await?;
        if due.is_empty() {
            println!("no event ended more than {days} days ago with personal data left");
        }
        for event in due {
            println!(
                "would purge {} (ended {}): {} participants",
                event.slug, event.ends_on, event.participants
            );
        }
        return Ok(());
    }
    let run = retention::purge_due(&mut conn, today, days).await?;
    if run.purged.is_empty() && run.failed.is_empty() {
        println!("no event ended more than {days} days ago with personal data left");
    }
    for event in run.purged {
        println!(
            "purged {}: {} participants anonymized, {} emails deleted",
            event.slug, event.participants, event.emails_deleted
        );
    }
    for error in &run.failed {
        eprintln!("{error:#}");
    }
    anyhow::ensure!(
        run.failed.is_empty(),
        "{} event(s) could not be purged; the next run tries again",
        run.failed.len()
    );
    Ok(())
}

/// Idempotent demo data for front-end developers (see `demo.rs`).
pub async fn seed_demo(settings: &Settings) -> anyhow::Result<()> {
    let mut conn = connect(settings).await?;
    crate::demo::seed(settings, &mut conn).await
}

/// Prints the OpenAPI document as served at `/api/v1/openapi.json`, so that linters and client
/// generators can read it without a running server.
pub fn print_openapi() -> anyhow::Result<()> {
    let json = crate::openapi::document().to_pretty_json()?;
    println!("{json}");
    Ok(())
}
