use std::process::{Command, Stdio};
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use serde_json::{Value, json};

use crate::helpers::{SmtpSink, TestDb, manifest_dir};

/// Runs the real binary with every crate logging at debug level, walks the account flows and a
/// registration, and searches the whole log for the secrets that went through it.
#[tokio::test]
async fn logs_never_contain_passwords_or_tokens() {
    let db = TestDb::from_template().await;
    let smtp = SmtpSink::up();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log_path = std::env::temp_dir().join(format!("{}.log", db.name));
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bamex"))
        .arg("serve")
        .env("BAMEX_CONFIG_DIR", manifest_dir().join("config"))
        .env("BAMEX_ENV", "test")
        .env("DATABASE_URL", db.url())
        .env("SMTP_URL", smtp.url())
        .env("PORT", port.to_string())
        .env("BAMEX__APPLICATION__HOST", "127.0.0.1")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let password = "Secret-Djenne-Mosque-1907";
    let post = async |path: &str, body: Value| {
        client
            .post(format!("{base}{path}"))
            .json(&body)
            .send()
            .await
            .unwrap()
    };
    let email = "log.check@example.org";
    assert_eq!(
        post(
            "/api/v1/auth/register",
            json!({"email": email, "password": password, "full_name": "Log Check"})
        )
        .await
        .status(),
        202
    );
    let verify_token = smtp
        .wait_for_mail_to(email, 1)
        .await
        .token("http://localhost:3000/verify-email");
    post("/api/v1/auth/verify-email", json!({"token": verify_token})).await;
    let pair: Value = post(
        "/api/v1/auth/login",
        json!({"email": email, "password": password}),
    )
    .await
    .json()
    .await
    .unwrap();
    let access = pair["access_token"].as_str().unwrap().to_owned();
    let refresh = pair["refresh_token"].as_str().unwrap().to_owned();
    client
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    client
        .get(format!("{base}/api/v1/me?token={refresh}"))
        .bearer_auth("forged.token.value")
        .send()
        .await
        .unwrap();
    post("/api/v1/auth/refresh", json!({"refresh_token": refresh})).await;
    post("/api/v1/auth/password/forgot", json!({"email": email})).await;
    let reset_token = smtp
        .wait_for_mail_to(email, 2)
        .await
        .token("http://localhost:3000/reset-password");
    post(
        "/api/v1/auth/password/reset",
        json!({"token": reset_token, "new_password": "Another-Secret-Timbuktu-1"}),
    )
    .await;
    post(
        "/api/v1/auth/login",
        json!({"email": email, "password": "Wrong-Secret-Gao-2"}),
    )
    .await;

    // Identity documents: a registration, and one with the number sent as a JSON number
    // (a type error, whose message must not quote it).
    let mut conn = AsyncPgConnection::establish(&db.url()).await.unwrap();
    conn.batch_execute(
        "INSERT INTO events (id, slug, name, venue, starts_on, ends_on, status, public_days, \
                             vetting_categories) \
         VALUES (gen_random_uuid(), 'log-check', 'Log Check', 'Bamako', current_date, \
                 current_date + 2, 'open', '{}', '{}')",
    )
    .await
    .unwrap();
    let login: Value = post(
        "/api/v1/auth/login",
        json!({"email": email, "password": "Another-Secret-Timbuktu-1"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let visitor = |document: Value| {
        client
            .post(format!("{base}/api/v1/events/log-check/visitors"))
            .bearer_auth(login["access_token"].as_str().unwrap())
            .json(&json!({"category": "trade_visitor", "first_name": "Log", "last_name": "Check",
                          "organization": "Logs", "nationality": "ML", "date_of_birth": "1980-01-01",
                          "id_document_type": "passport", "id_document_number": document}))
            .send()
    };
    assert_eq!(visitor(json!(918273645)).await.unwrap().status(), 422);
    assert_eq!(visitor(json!("LOGDOC918273")).await.unwrap().status(), 201);
    // A visa letter's code travels in the path of its public verification.
    let letter_code = "LQGC-H3CK-7777-8888-9999-ZZZZ";
    let verification = client
        .get(format!("{base}/api/v1/letters/{letter_code}"))
        .send()
        .await
        .unwrap();
    assert_eq!(verification.status(), 404);

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    let logs = std::fs::read_to_string(&log_path).unwrap();
    let _ = std::fs::remove_file(&log_path);
    assert!(logs.contains("request"), "the log was written: {logs}");
    for secret in [
        password,
        "Another-Secret-Timbuktu-1",
        "Wrong-Secret-Gao-2",
        &access,
        &refresh,
        &verify_token,
        &reset_token,
        "forged.token.value",
        "918273645",
        "LOGDOC918273",
        letter_code,
        &letter_code.replace('-', ""),
    ] {
        assert!(
            !logs.contains(secret),
            "the log contains a secret: {secret}"
        );
    }
    assert!(
        !logs.to_lowercase().contains("authorization"),
        "the log mentions the Authorization header"
    );
}
