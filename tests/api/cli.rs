use bamex::db::schema::users;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::helpers::{TestDb, run_bamex, spawn_app};

#[tokio::test]
async fn create_admin_reads_the_password_from_stdin_and_never_prints_it() {
    let app = spawn_app().await;
    let url = app.db.url();
    let password = "Sahel-Koulikoro-2026!";
    let output = run_bamex(
        &[
            "create-admin",
            "--email",
            "Admin@BAMEX.ml",
            "--name",
            "Awa Traoré",
        ],
        &[("DATABASE_URL", &url)],
        Some(&format!("{password}\n")),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(!stdout.contains(password) && !stderr.contains(password));

    let (roles, hash, verified): (
        Vec<String>,
        Option<String>,
        Option<chrono::DateTime<chrono::Utc>>,
    ) = users::table
        .filter(users::email.eq(bamex::users::EmailAddress::parse("admin@bamex.ml").unwrap()))
        .select((users::roles, users::password_hash, users::email_verified_at))
        .first(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(roles, vec!["admin"]);
    assert!(hash.unwrap().starts_with("$argon2id$"));
    assert!(verified.is_some());

    // Again for the same address (any case): promotes, does not duplicate.
    let again = run_bamex(
        &[
            "create-admin",
            "--email",
            "admin@bamex.ml",
            "--name",
            "Awa Traoré",
        ],
        &[("DATABASE_URL", &url)],
        Some("Another-long-password-1\n"),
    );
    assert!(again.status.success());
    let count: i64 = users::table
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn create_admin_refuses_a_short_password() {
    let db = TestDb::from_template().await;
    let output = run_bamex(
        &["create-admin", "--email", "a@bamex.ml", "--name", "A"],
        &[("DATABASE_URL", &db.url())],
        Some("short\n"),
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("12 to 128"));
}

#[tokio::test]
async fn a_bad_setting_stops_the_start_with_one_line_naming_it() {
    let output = run_bamex(&["serve"], &[("PORT", "eighty")], None);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("application.port"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

    let output = run_bamex(
        &["serve"],
        &[
            ("BAMEX_ENV", "production"),
            ("SMTP_URL", "smtp://127.0.0.1:25"),
        ],
        None,
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("auth.jwt_secret") && stderr.contains("development default"),
        "{stderr}"
    );
}

#[tokio::test]
async fn an_unreachable_database_is_named_after_the_retries() {
    let output = run_bamex(
        &["migrate"],
        &[
            ("DATABASE_URL", "postgres://postgres@127.0.0.1:9/bamex"),
            ("BAMEX__DATABASE__STARTUP_RETRY_SECONDS", "1"),
        ],
        None,
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("127.0.0.1:9") && stderr.contains("unreachable"),
        "{stderr}"
    );
}

#[tokio::test]
async fn sigterm_stops_the_server_gracefully_with_exit_code_0() {
    use std::process::{Command, Stdio};
    let db = TestDb::from_template().await;
    let (mut serve, port) = crate::helpers::bamex_serve(&db.url());
    let mut child = serve
        .env(
            "BAMEX__EMAIL__OUTBOX_DIR",
            std::env::temp_dir().join(&db.name),
        )
        .env_remove("SMTP_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_ok()
        {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "the server came up");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn seed_demo_fills_bamex_2026_once() {
    let app = crate::helpers::spawn_app().await;
    let url = app.db.url();
    let first = run_bamex(&["seed-demo"], &[("DATABASE_URL", &url)], None);
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        stdout.contains("demo account admin@demo.bamex.ml"),
        "{stdout}"
    );
    // Staff accounts come with a second factor, printed once.
    assert!(
        stdout.contains("totp otpauth://totp/BAMEX:admin"),
        "{stdout}"
    );
    // The enrolled halls scanner made its first sync of the approved visitors' badges.
    assert!(
        stdout.contains("the halls scanner synced ") && !stdout.contains("synced 0 badges"),
        "{stdout}"
    );

    let pavilions: serde_json::Value = app
        .get("/api/v1/events/bamex-2026/pavilions")
        .await
        .json()
        .await
        .unwrap();
    let peak = pavilions["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(pavilions["items"][0]["name"], "The Peak Defense");
    let turkish: serde_json::Value = app
        .get(&format!(
            "/api/v1/events/bamex-2026/exhibitors?pavilion={peak}&limit=100"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(turkish["total"], 30);
    let all: serde_json::Value = app
        .get("/api/v1/events/bamex-2026/exhibitors")
        .await
        .json()
        .await
        .unwrap();
    assert!(all["total"].as_i64().unwrap() > 30);
    // The hall scanner's offline upload: two scans, the lost badge's an alert (so is the other
    // on a day its badge is not valid: the demo's dates are fixed, the scans made now).
    let (offline, flagged): (i64, i64) = {
        use bamex::db::schema::scans::dsl;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        let mut conn = app.conn().await;
        let offline = dsl::scans
            .filter(dsl::offline_verdict.is_not_null())
            .count()
            .get_result(&mut conn)
            .await
            .unwrap();
        let flagged = dsl::scans
            .filter(dsl::flagged)
            .filter(dsl::reason.eq("reported_lost"))
            .count()
            .get_result(&mut conn)
            .await
            .unwrap();
        (offline, flagged)
    };
    assert_eq!((offline, flagged), (2, 1));

    let second = run_bamex(&["seed-demo"], &[("DATABASE_URL", &url)], None);
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(second.status.success());
    assert!(
        stdout.contains("nothing changed") && !stdout.contains("password"),
        "{stdout}"
    );
    let again: serde_json::Value = app
        .get("/api/v1/events/bamex-2026/exhibitors")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["total"], all["total"]);
}
