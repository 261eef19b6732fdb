use std::collections::HashSet;
use std::time::Duration;

use bamex::email::worker::OutboxWorker;
use bamex::email::{self, EmailTemplate};
use bamex::users::{EmailAddress, Locale};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::helpers::{SmtpSink, TestApp, TestDb, spawn_app, spawn_app_on};

/// The confirmation email of the accounts flow, used here for the outbox plumbing alone.
#[derive(Serialize)]
struct VerifyEmail {
    full_name: String,
    link: String,
}
impl EmailTemplate for VerifyEmail {
    const NAME: &'static str = "verify_email";
}

async fn enqueue(app: &TestApp, to: &str, locale: Locale) {
    let mut conn = app.conn().await;
    email::enqueue(
        &mut conn,
        &EmailAddress::parse(to).unwrap(),
        locale,
        &VerifyEmail {
            full_name: "Ayşe Yılmaz".into(),
            link: "http://localhost:3000/verify-email?token=abc".into(),
        },
    )
    .await
    .unwrap();
}

#[derive(Debug, Queryable)]
struct Row {
    status: String,
    attempts: i32,
    last_error: Option<String>,
}

async fn rows(app: &TestApp) -> Vec<Row> {
    use bamex::db::schema::outbox::dsl::*;
    outbox
        .select((status, attempts, last_error))
        .order(created_at)
        .load(&mut app.conn().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn emails_go_out_over_smtp_in_the_recipients_language() {
    let app = spawn_app().await;
    enqueue(&app, "ayse@peakdefense.com.tr", Locale::Tr).await;
    enqueue(&app, "jean@forces.gouv.ml", Locale::Fr).await;
    enqueue(&app, "john@example.org", Locale::En).await;

    let tr = app
        .smtp
        .wait_for_mail_to("ayse@peakdefense.com.tr", 1)
        .await;
    assert!(tr.subject().contains("doğrulayın"), "{}", tr.subject());
    assert!(tr.text().contains("Sayın Ayşe Yılmaz"));
    assert!(tr.html().contains("Adresimi doğrula"));
    let fr = app.smtp.wait_for_mail_to("jean@forces.gouv.ml", 1).await;
    assert!(fr.subject().starts_with("Confirmez"), "{}", fr.subject());
    assert_eq!(fr.token("http://localhost:3000/verify-email"), "abc");
    let en = app.smtp.wait_for_mail_to("john@example.org", 1).await;
    assert!(en.subject().starts_with("Confirm your"), "{}", en.subject());

    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        rows(&app)
            .await
            .iter()
            .all(|r| r.status == "sent" && r.attempts == 1)
    );
}

#[tokio::test]
async fn nothing_is_lost_or_doubled_while_smtp_is_down_with_workers_racing() {
    let smtp = SmtpSink::down();
    let app = spawn_app_on(TestDb::from_template().await, smtp, |_| {}).await;
    // Two more workers, as if three instances of the service shared the database.
    let stop = CancellationToken::new();
    for _ in 0..2 {
        let worker = OutboxWorker::new(app.pool.clone(), &app.settings.email).unwrap();
        tokio::spawn(worker.run(stop.clone()));
    }
    for i in 0..12 {
        enqueue(&app, &format!("visitor{i}@example.org"), Locale::En).await;
    }
    // Every message fails at least once while the server is down…
    for _ in 0..100 {
        if rows(&app).await.iter().all(|r| r.attempts >= 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = rows(&app).await;
    assert!(
        before
            .iter()
            .all(|r| r.status == "pending" && r.attempts >= 1 && r.last_error.is_some())
    );

    // …then the server comes up: each arrives exactly once.
    app.smtp.start();
    let received = app.smtp.wait_for(12).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let received_after = app.smtp.received();
    assert_eq!(received_after.len(), 12, "no duplicates");
    let ids: HashSet<_> = received.iter().map(|e| e.message_id()).collect();
    assert_eq!(ids.len(), 12);
    assert!(rows(&app).await.iter().all(|r| r.status == "sent"));
    stop.cancel();
}

#[tokio::test]
async fn a_message_is_marked_failed_after_the_last_attempt() {
    let app = spawn_app_on(TestDb::from_template().await, SmtpSink::down(), |s| {
        s.email.max_attempts = 3;
        s.email.retry_base_ms = 50;
    })
    .await;
    enqueue(&app, "nobody@example.org", Locale::Fr).await;
    let mut last = None;
    for _ in 0..100 {
        let rows = rows(&app).await;
        if rows[0].status == "failed" {
            last = rows.into_iter().next();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let row = last.expect("the message is given up");
    assert_eq!(row.attempts, 3);
    assert!(row.last_error.unwrap().contains("SMTP"));
}

/// A mail server that accepts connections and never says a word (not even its greeting), and
/// keeps them open: what a hung relay looks like from the service.
struct SilentSmtp {
    port: u16,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl SilentSmtp {
    fn on(port: u16) -> Self {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = accepted.clone();
        std::thread::spawn(move || {
            let mut open = Vec::new();
            for stream in listener.incoming().flatten() {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                open.push(stream);
            }
        });
        Self { port, accepted }
    }

    fn accepted(&self) -> usize {
        std::sync::atomic::AtomicUsize::load(&self.accepted, std::sync::atomic::Ordering::SeqCst)
    }

    async fn wait_for_a_connection(&self) {
        for _ in 0..200 {
            if self.accepted() > 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the service never connected to the mail server");
    }
}

/// Sessions of the test database that have sat in an open transaction for a while.
async fn idle_in_transaction(app: &TestApp) -> i64 {
    use diesel::sql_types::BigInt;
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    diesel::sql_query(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
         AND state LIKE 'idle in transaction%' AND state_change < now() - interval '250 ms'",
    )
    .get_result::<Count>(&mut app.conn().await)
    .await
    .unwrap()
    .n
}

#[tokio::test]
async fn a_mail_server_that_never_greets_is_timed_out_and_no_transaction_waits_for_it() {
    let smtp = SmtpSink::down();
    let silent = SilentSmtp::on(smtp.port);
    let app = spawn_app_on(TestDb::from_template().await, smtp, |s| {
        s.email.smtp_timeout_ms = 400;
        s.email.retry_base_ms = 50;
        s.email.max_attempts = 20;
    })
    .await;
    enqueue(&app, "stalled@example.org", Locale::En).await;
    silent.wait_for_a_connection().await;

    // While sends hang on the silent server, no session holds a transaction (or a row lock).
    for _ in 0..12 {
        assert_eq!(idle_in_transaction(&app).await, 0);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Each hung exchange is cut at the timeout and counted: the message is tried again.
    let mut row = None;
    for _ in 0..100 {
        let rows = rows(&app).await;
        if rows[0].attempts >= 2 {
            row = rows.into_iter().next();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let row = row.expect("the message is retried");
    assert_eq!(row.status, "pending");
    assert!(
        row.last_error.as_deref().unwrap().contains("timed out"),
        "{:?}",
        row.last_error
    );
    assert!(silent.accepted() >= 2, "a new connection for each attempt");
}

#[tokio::test]
async fn sigterm_ends_the_process_within_the_shutdown_timeout_while_a_send_hangs() {
    use diesel_async::AsyncConnection;
    use std::process::Stdio;

    let db = TestDb::from_template().await;
    let silent = SilentSmtp::on(SmtpSink::down().port);
    {
        let mut conn = diesel_async::AsyncPgConnection::establish(&db.url())
            .await
            .unwrap();
        email::enqueue(
            &mut conn,
            &EmailAddress::parse("stalled@example.org").unwrap(),
            Locale::Fr,
            &VerifyEmail {
                full_name: "Awa Traoré".into(),
                link: "http://localhost:3000/verify-email?token=abc".into(),
            },
        )
        .await
        .unwrap();
    }
    let (mut serve, port) = crate::helpers::bamex_serve(&db.url());
    let shutdown_timeout = Duration::from_secs(2);
    let mut child = serve
        .env("SMTP_URL", format!("smtp://127.0.0.1:{}", silent.port))
        // Longer than the test: only the shutdown can end the hung exchange.
        .env("BAMEX__EMAIL__SMTP_TIMEOUT_MS", "600000")
        .env(
            "BAMEX__APPLICATION__SHUTDOWN_TIMEOUT_SECONDS",
            shutdown_timeout.as_secs().to_string(),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        let healthz = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await;
        if healthz.is_ok_and(|r| r.status() == 200) {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the server came up");
    silent.wait_for_a_connection().await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // SAFETY: a plain syscall sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let deadline = std::time::Instant::now() + shutdown_timeout + Duration::from_secs(3);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("still running {shutdown_timeout:?} (+3 s) after SIGTERM");
    };
    assert_eq!(status.code(), Some(0));
}
