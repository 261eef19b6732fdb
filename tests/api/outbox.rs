use std::collections::HashSet;
use std::time::Duration;

use bamex::email::worker::OutboxWorker;
use bamex::email::{self, EmailTemplate};
use bamex::users::{EmailAddress, Locale, Role};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::fixtures::{approve_all, event_from_today, get, visitor};
use crate::helpers::{SmtpSink, TestApp, TestDb, spawn_app, spawn_app_on, spawn_app_with};

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

/// Waits (up to 10 s) until every outbox row is sent.
async fn all_sent(app: &TestApp) -> Vec<Row> {
    for _ in 0..200 {
        let rows = rows(app).await;
        if rows.iter().all(|r| r.status == "sent") {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not every email was recorded as sent");
}

#[tokio::test]
async fn two_instances_draining_one_outbox_deliver_each_message_exactly_once() {
    // A relay slow enough (20 ms a message) that neither instance drains it all before the
    // other's next look, and few slots each, so that both claim batch after batch.
    let smtp = SmtpSink::up_slow(Duration::from_millis(20));
    let app = spawn_app_on(TestDb::from_template().await, smtp, |s| {
        s.email.concurrency = 4;
        s.email.smtp_connections = 2;
    })
    .await;
    // The second instance signs its emails differently, to tell whose they are.
    app.another_instance_with(|s| s.email.from = "Second <second@bamex.ml>".into())
        .await;
    // All 60 committed at once: both instances find them due together.
    let mut conn = app.conn().await;
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        for i in 0..60 {
            email::enqueue(
                conn,
                &EmailAddress::parse(&format!("guest{i}@example.org")).unwrap(),
                Locale::Fr,
                &VerifyEmail {
                    full_name: format!("Invité {i}"),
                    link: "http://localhost:3000/verify-email?token=abc".into(),
                },
            )
            .await?;
        }
        Ok(())
    })
    .await
    .unwrap();
    drop(conn);

    app.smtp.wait_for(60).await;
    let rows = all_sent(&app).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let received = app.smtp.received();
    assert_eq!(received.len(), 60, "no message twice");
    let ids: HashSet<_> = received.iter().map(|e| e.message_id()).collect();
    assert_eq!(ids.len(), 60);
    let recipients: HashSet<_> = received.iter().map(|e| e.to.clone()).collect();
    assert_eq!(recipients.len(), 60);
    assert!(rows.iter().all(|r| r.attempts == 1), "{rows:?}");
    let by_second = received
        .iter()
        .filter(|e| e.sender() == "second@bamex.ml")
        .count();
    assert!(
        (1..60).contains(&by_second),
        "both instances took part: {by_second} of 60 sent by the second"
    );
}

#[tokio::test]
async fn a_message_accepted_but_not_recorded_is_sent_again_once_with_the_same_message_id() {
    let app = spawn_app().await;
    app.another_instance().await;
    enqueue(&app, "once@example.org", Locale::En).await;
    let first = app.smtp.wait_for_mail_to("once@example.org", 1).await;
    all_sent(&app).await;

    // What a crash between the server's acceptance and the recording leaves behind: the
    // message still pending with its bodies, under a claim whose lease has since run out.
    diesel::sql_query(
        "UPDATE outbox SET status = 'pending', sent_at = NULL, attempts = 0, \
                body_text = 'Again', body_html = '<p>Again</p>', \
                leased_until = now() - interval '1 second', \
                next_attempt_at = now() - interval '1 second'",
    )
    .execute(&mut app.conn().await)
    .await
    .unwrap();

    let again = app.smtp.wait_for_mail_to("once@example.org", 2).await;
    assert_eq!(again.message_id(), first.message_id());
    assert!(first.message_id().ends_with("@bamex.outbox"));
    let rows = all_sent(&app).await;
    assert_eq!(rows[0].attempts, 1);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        app.smtp.to("once@example.org").len(),
        2,
        "sent again once, not more"
    );
}

#[tokio::test]
async fn each_email_of_a_bulk_approval_carries_its_own_badge() {
    let app = spawn_app_with(|s| s.email.concurrency = 4).await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let mut people = Vec::new();
    for n in 0..6 {
        people.push(
            visitor(
                &app,
                "trade_visitor",
                &format!("Batch{n}"),
                &format!("C200000{n}"),
            )
            .await,
        );
    }
    let ids: Vec<&str> = people.iter().map(|(_, id)| id.as_str()).collect();
    approve_all(&app, &organizer, &ids).await;
    for (user, id) in &people {
        let number = get(&app, &organizer, id).await["badge"]["number"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut with_badge = None;
        for _ in 0..400 {
            with_badge = app
                .smtp
                .to(&user.email)
                .into_iter()
                .find(|mail| !mail.attachments().is_empty());
            if with_badge.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mail = with_badge.expect("the approval email arrives");
        assert!(mail.text().contains(&number));
        assert_eq!(mail.attachments(), [format!("{number}.pdf")]);
    }
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
