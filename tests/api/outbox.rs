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
