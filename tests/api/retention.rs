//! The retention purge: an event's personal data goes `retention.purge_after_days` after its
//! last day, its statistics stay.

use bamex::db::schema::{audit_records, events, participant_photos, participants, scans};
use bamex::users::Role;
use chrono::{Days, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};

use crate::fixtures::{
    EVENT, active_delegation, apply, approve, approve_exhibitor, booth, company, decide,
    event_from_today, get, person, png, visitor,
};
use crate::helpers::{TestApp, TestUser, assert_problem, run_bamex, spawn_app};

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// Moves an event into the past: its last day becomes `days_ago` days before today.
async fn ended_days_ago(app: &TestApp, slug: &str, days_ago: u64) {
    let ends_on = today() - Days::new(days_ago);
    diesel::update(events::table.filter(events::slug.eq(slug)))
        .set((
            events::starts_on.eq(ends_on - Days::new(2)),
            events::ends_on.eq(ends_on),
            events::public_days.eq(Vec::<NaiveDate>::new()),
        ))
        .execute(&mut app.conn().await)
        .await
        .unwrap();
}

async fn purged_at(app: &TestApp, slug: &str) -> Option<chrono::DateTime<Utc>> {
    events::table
        .filter(events::slug.eq(slug))
        .select(events::personal_data_purged_at)
        .first(&mut app.conn().await)
        .await
        .unwrap()
}

/// The last names of an event's participants, as stored.
async fn last_names(app: &TestApp, slug: &str) -> Vec<String> {
    participants::table
        .inner_join(events::table.on(events::id.eq(participants::event_id)))
        .filter(events::slug.eq(slug))
        .select(participants::last_name)
        .order(participants::last_name)
        .load(&mut app.conn().await)
        .await
        .unwrap()
}

async fn purge_audits(app: &TestApp) -> i64 {
    audit_records::table
        .filter(audit_records::action.eq("event.personal_data_purged"))
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap()
}

/// Another open edition from today, with one visitor registered under `last_name`.
async fn other_event_with_visitor(app: &TestApp, admin: &TestUser, slug: &str, last_name: &str) {
    let response = app
        .post_as(
            "/api/v1/events",
            &admin.access_token,
            &json!({"slug": slug, "name": slug, "venue": "Bamako", "starts_on": today(),
                    "ends_on": today() + Days::new(2), "status": "open", "vetting_categories": []}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let user = app.user_with_roles(&[Role::Visitor]).await;
    let mut body = person(last_name, "K5550001");
    body["email"] = json!(user.email);
    body["date_of_birth"] = json!("1990-02-03");
    body["category"] = json!("trade_visitor");
    let response = app
        .post_as(
            &format!("/api/v1/events/{slug}/visitors"),
            &user.access_token,
            &body,
        )
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
}

/// What the first test builds through the API: one person of each kind, a badge and a scan.
struct Show {
    organizer: TestUser,
    visitor: TestUser,
    /// Accreditation ids.
    staff: String,
    member: String,
    trade: String,
    photo_path: String,
}

async fn a_show_with_people(app: &TestApp) -> Show {
    event_from_today(app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;

    // Exhibitor staff, registered by the company's account.
    let mut application = company("Sahel Armor", "TR");
    application["contact_name"] = json!("Zeynep Kontakçı");
    application["contact_phone"] = json!("+90 312 555 0101");
    let (owner, exhibitor) = apply(app, &application).await;
    approve_exhibitor(app, &organizer, &exhibitor).await;
    assert_eq!(
        booth(app, &organizer, &exhibitor, "A-1", 18.0)
            .await
            .status(),
        200
    );
    let staff: Value = app
        .post_as(
            &format!("{EVENT}/exhibitors/{exhibitor}/staff"),
            &owner.access_token,
            &person("Staffoğlu", "ZQ8842917"),
        )
        .await
        .json()
        .await
        .unwrap();

    // A delegation member, registered by the lead, then rejected with a reason naming them.
    let (delegation_id, lead) = active_delegation(app, &organizer, "liaison@msb.gov.tr", 5).await;
    let mut member_body = person("Memberova", "M7000001");
    member_body["email"] = json!("member@msb.gov.tr");
    let member: Value = app
        .post_as(
            &format!("{EVENT}/delegations/{delegation_id}/members"),
            &lead,
            &member_body,
        )
        .await
        .json()
        .await
        .unwrap();
    let member = member["accreditation"]["id"].as_str().unwrap().to_owned();
    let version = get(app, &organizer, &member).await["version"].clone();
    let rejected = decide(
        app,
        &organizer,
        &member,
        json!({"decision": "reject", "reason": "Passeport de M. Memberova illisible", "version": version}),
    )
    .await;
    assert_eq!(rejected.status(), 200);

    // A visitor with a photo, approved, scanned in at a gate.
    let (visitor_user, trade) = visitor(app, "trade_visitor", "Visitorescu", "G9000001").await;
    let participant = get(app, &organizer, &trade).await["participant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let photo_path = format!("{EVENT}/participants/{participant}/photo");
    let uploaded = app
        .client
        .put(app.url(&photo_path))
        .bearer_auth(&visitor_user.access_token)
        .header("content-type", "image/png")
        .body(png(300, 300))
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 204);
    let qr = approve(app, &organizer, &trade).await["badge"]["qr"]
        .as_str()
        .unwrap()
        .to_owned();
    let agent = app.user_with_roles(&[Role::GateAgent]).await;
    let scan: Value = app
        .post_as(
            &format!("{EVENT}/scans"),
            &agent.access_token,
            &json!({"qr": qr, "gate": "north-1", "zone": "exhibition_halls", "direction": "in"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(scan["verdict"], "allowed");
    // The approval email (its subject names the visitor) has gone out and stays in the outbox.
    app.smtp.wait_for_mail_to(&visitor_user.email, 2).await;
    // A journalist, still pending: outlet and press card are about the person too.
    visitor(app, "media", "Journalista", "P3000001").await;

    Show {
        organizer,
        visitor: visitor_user,
        staff: staff["accreditation"]["id"].as_str().unwrap().to_owned(),
        member,
        trade,
        photo_path,
    }
}

async fn stats(app: &TestApp, organizer: &TestUser) -> Value {
    let response = app
        .get_as(&format!("{EVENT}/stats"), &organizer.access_token)
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The database's data as text, but for the accounts (which the purge keeps on purpose).
fn dump_without_accounts(app: &TestApp) -> String {
    let dump = std::process::Command::new("pg_dump")
        .args(["--data-only", "--exclude-table=users"])
        .arg(app.db.url())
        .output()
        .expect("pg_dump runs");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    String::from_utf8(dump.stdout).unwrap()
}

#[tokio::test]
async fn an_ended_event_loses_its_personal_data_and_keeps_its_statistics() {
    let app = spawn_app().await;
    let show = a_show_with_people(&app).await;
    let organizer = &show.organizer;
    let admin = app.user_with_roles(&[Role::Admin]).await;
    other_event_with_visitor(&app, &admin, "bamex-2027", "Untouched").await;
    let before = stats(&app, organizer).await;
    assert_eq!(
        before["entries_per_gate"],
        json!([{"key": "north-1", "count": 1}])
    );

    // Ended 200 days ago: past the 90 days of retention. The other ended 30 days ago.
    ended_days_ago(&app, "bamex-2026", 200).await;
    ended_days_ago(&app, "bamex-2027", 30).await;
    let url = app.db.url();
    let env = [("DATABASE_URL", url.as_str())];

    let dry = run_bamex(&["purge", "--dry-run"], &env, None);
    let stdout = String::from_utf8_lossy(&dry.stdout);
    assert!(
        dry.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let ended = today() - Days::new(200);
    assert!(
        stdout.contains(&format!(
            "would purge bamex-2026 (ended {ended}): 4 participants"
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("bamex-2027"), "{stdout}");
    assert!(purged_at(&app, "bamex-2026").await.is_none());
    assert!(
        last_names(&app, "bamex-2026")
            .await
            .contains(&"Visitorescu".to_owned()),
        "a dry run changes nothing"
    );

    let run = run_bamex(&["purge"], &env, None);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout.contains("purged bamex-2026: 4 participants anonymized"),
        "{stdout}"
    );
    assert!(purged_at(&app, "bamex-2026").await.is_some());

    // Nothing that names, reaches or identifies these people is left outside their accounts.
    let dump = dump_without_accounts(&app);
    assert!(
        dump.contains("Untouched"),
        "the event within its retention period keeps its data"
    );
    for gone in [
        "Staffoğlu",
        "Memberova",
        "Visitorescu",
        "staff@example.com.tr",
        "member@msb.gov.tr",
        show.visitor.email.as_str(),
        "liaison@msb.gov.tr",
        "Emre Aydın",
        "Zeynep Kontakçı",
        "+90 312 555 0101",
        "sales@example.com.tr",
        "Journalista",
        "1985-04-12",
        "L'Essor",
        "ML-0001",
    ] {
        assert!(!dump.contains(gone), "`{gone}` survived the purge");
    }
    let documents_left: i64 = participants::table
        .filter(participants::id_document_ciphertext.is_not_null())
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(documents_left, 1, "only the untouched event's document");
    let photos_left: i64 = participant_photos::table
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(photos_left, 0);
    assert_eq!(
        last_names(&app, "bamex-2026").await,
        ["[purged]", "[purged]", "[purged]", "[purged]"]
    );
    let tracked_scans: i64 = scans::table
        .filter(scans::badge_id.is_not_null())
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(tracked_scans, 0, "scans no longer say whose badge it was");
    // The audit trail keeps what was decided, but neither where from nor the visitor's account.
    let trail: Vec<(String, Option<uuid::Uuid>, Option<String>)> = audit_records::table
        .filter(audit_records::target_id.eq(show.trade.parse::<uuid::Uuid>().unwrap()))
        .select((
            audit_records::action,
            audit_records::actor_id,
            audit_records::client_ip,
        ))
        .load(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(trail.len(), 1, "{trail:?}");
    assert_eq!(trail[0].0, "accreditation.approved");
    assert_eq!(
        trail[0].1,
        Some(organizer.id),
        "the organizer's decision stays theirs"
    );
    assert_eq!(trail[0].2, None);
    let own_registrations: i64 = audit_records::table
        .filter(audit_records::actor_id.eq(show.visitor.id))
        .filter(audit_records::action.eq("participant.registered"))
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(own_registrations, 0);
    let acceptances: Vec<(Option<uuid::Uuid>, Option<String>)> = audit_records::table
        .filter(audit_records::action.eq("delegation.invitation_accepted"))
        .select((audit_records::actor_id, audit_records::client_ip))
        .load(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(
        acceptances,
        [(None, None)],
        "the lead's acceptance names neither them nor where from"
    );

    // The organizers' figures are what they were.
    assert_eq!(stats(&app, organizer).await, before);

    // The API still answers for these records, and says why the personal parts are gone.
    let event: Value = app.get(EVENT).await.json().await.unwrap();
    assert!(event["personal_data_purged_at"].is_string(), "{event}");
    let queue: Value = app
        .get_as(&format!("{EVENT}/accreditations"), &organizer.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue["total"], 4, "{queue}");
    for item in queue["items"].as_array().unwrap() {
        let participant = &item["participant"];
        assert_eq!(participant["last_name"], "[purged]");
        assert!(participant["email"].is_null() && participant["date_of_birth"].is_null());
        assert!(participant["anonymized_at"].is_string());
        assert!(item["decision_reason"].is_null() && item["registered_by"].is_null());
        assert_eq!(item["warnings"], json!([]), "no false duplicates");
    }
    let trade = get(&app, organizer, &show.trade).await;
    assert_eq!(trade["status"], "approved");
    assert!(trade["badge"]["number"].is_string() && trade["badge"]["qr"].is_null());
    let token = &organizer.access_token;
    for path in [
        format!("{EVENT}/accreditations/{}/badge.pdf", show.trade),
        format!(
            "{EVENT}/accreditations/{}/invitation-letter.pdf",
            show.trade
        ),
        format!("{EVENT}/badges.pdf"),
        show.photo_path.clone(),
    ] {
        assert_problem(app.get_as(&path, token).await, 410, "personal_data_purged").await;
    }
    let version = get(&app, organizer, &show.staff).await["version"].clone();
    let decision = decide(
        &app,
        organizer,
        &show.staff,
        json!({"decision": "approve", "version": version}),
    )
    .await;
    assert_problem(decision, 410, "personal_data_purged").await;
    let member = get(&app, organizer, &show.member).await;
    assert_eq!(member["status"], "rejected", "{member}");
    // The visitor's account stays, without a trace of this edition, and cannot register again.
    let mine: Value = app
        .get_as("/api/v1/me/accreditations", &show.visitor.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine, json!({"items": [], "total": 0, "next_cursor": null}));
    let mut again = person("Visitorescu", "G9000001");
    again["category"] = json!("trade_visitor");
    let again = app
        .post_as(
            &format!("{EVENT}/visitors"),
            &show.visitor.access_token,
            &again,
        )
        .await;
    assert_problem(again, 409, "registration_closed").await;

    // Twice is harmless: the CLI and the function find nothing left to do.
    let rerun = run_bamex(&["purge"], &env, None);
    assert!(rerun.status.success());
    assert!(String::from_utf8_lossy(&rerun.stdout).contains("no event ended more than 90 days"));
    let mut conn = app.conn().await;
    let run = bamex::retention::purge_due(&mut conn, today(), 90)
        .await
        .unwrap();
    assert!(run.purged.is_empty() && run.failed.is_empty());
    drop(conn);
    assert_eq!(purge_audits(&app).await, 1);
    assert_eq!(stats(&app, organizer).await, before);
    assert_eq!(last_names(&app, "bamex-2027").await, ["Untouched"]);
}

#[tokio::test]
async fn events_are_purged_only_once_their_retention_period_is_over() {
    let app = spawn_app().await;
    let admin = app.user_with_roles(&[Role::Admin]).await;
    other_event_with_visitor(&app, &admin, "bamex-2024", "Ancien").await;
    other_event_with_visitor(&app, &admin, "bamex-2025", "Recent").await;
    // With 90 days, an event whose last day was 90 days ago is due tomorrow, not today.
    ended_days_ago(&app, "bamex-2024", 91).await;
    ended_days_ago(&app, "bamex-2025", 90).await;
    let mut conn = app.conn().await;
    let due = bamex::retention::due_events(&mut conn, today(), 90)
        .await
        .unwrap();
    drop(conn);
    assert_eq!(
        due.iter()
            .map(|e| (e.slug.as_str(), e.participants))
            .collect::<Vec<_>>(),
        [("bamex-2024", 1)]
    );

    // The service's hourly loop makes its first pass as it starts.
    let service = bamex::app::Application::build(app.settings.clone())
        .await
        .unwrap();
    tokio::spawn(service.run_until_stopped());
    for _ in 0..200 {
        if purged_at(&app, "bamex-2024").await.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(last_names(&app, "bamex-2024").await, ["[purged]"]);
    assert_eq!(last_names(&app, "bamex-2025").await, ["Recent"]);
    assert!(purged_at(&app, "bamex-2025").await.is_none());

    // A day later the other one is due as well; called directly, the function purges it.
    let tomorrow = today() + Days::new(1);
    let mut conn = app.conn().await;
    let run = bamex::retention::purge_due(&mut conn, tomorrow, 90)
        .await
        .unwrap();
    assert!(run.failed.is_empty());
    assert_eq!(
        run.purged
            .iter()
            .map(|p| (p.slug.as_str(), p.participants))
            .collect::<Vec<_>>(),
        [("bamex-2025", 1)]
    );
    assert!(
        bamex::retention::purge_due(&mut conn, tomorrow, 90)
            .await
            .unwrap()
            .purged
            .is_empty()
    );
    drop(conn);
    assert_eq!(last_names(&app, "bamex-2025").await, ["[purged]"]);
    assert_eq!(purge_audits(&app).await, 2);
}

#[tokio::test]
async fn a_retention_period_shorter_than_badge_validity_is_refused() {
    let output = run_bamex(
        &["purge", "--dry-run"],
        &[("BAMEX__RETENTION__PURGE_AFTER_DAYS", "1")],
        None,
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("retention.purge_after_days")
            && stderr.contains("badges.valid_days_after_event"),
        "{stderr}"
    );
}

#[tokio::test]
async fn stored_idempotent_answers_must_expire_before_the_purge() {
    let output = run_bamex(
        &["purge", "--dry-run"],
        &[
            ("BAMEX__RETENTION__PURGE_AFTER_DAYS", "2"),
            ("BAMEX__IDEMPOTENCY__TTL_HOURS", "48"),
        ],
        None,
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("idempotency.ttl_hours"), "{stderr}");
}
