//! Offline scans uploaded later by a gate device: each judged at its `scanned_at`, recorded
//! once per `scan_id`, presence rebuilt in time order, and what was let in wrongly flagged and
//! listed for organizers.

use bamex::users::Role;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::fixtures::{EVENT, approve, enrolled_device, event_from_today, event_from_today_named};
use crate::helpers::{TestApp, TestUser, assert_problem, spawn_app};

/// A badge: its accreditation id, QR and number.
struct Badge {
    accreditation: String,
    qr: String,
    number: String,
}

async fn badge(app: &TestApp, organizer: &TestUser, name: &str, document: &str) -> Badge {
    let (_, id) = crate::fixtures::visitor(app, "trade_visitor", name, document).await;
    let approved = approve(app, organizer, &id).await;
    Badge {
        accreditation: id,
        qr: approved["badge"]["qr"].as_str().unwrap().to_owned(),
        number: approved["badge"]["number"].as_str().unwrap().to_owned(),
    }
}

/// An event open today with a `scan.denied` webhook, its organizer, and a device for the exhibition halls and the VIP
/// lounge at `north-1`, enrolled two hours ago (so that it can upload scans of the last hours).
async fn gate() -> (TestApp, TestUser, String) {
    let app = spawn_app().await;
    let admin = event_from_today(&app).await;
    // Denied scans are announced to the event's webhooks, offline ones too.
    let webhook = app
        .post_as(
            &format!("{EVENT}/webhooks"),
            &admin.access_token,
            &json!({"url": "https://crm.example.org/hooks/bamex", "kinds": ["scan.denied"]}),
        )
        .await;
    assert_eq!(webhook.status(), 201);
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let device = enrolled_device(
        &app,
        &organizer,
        "bamex-2026",
        "Koulikoro, scanner 1",
        &["exhibition_halls", "vip_lounge"],
    )
    .await;
    backdate_enrollment(&app, &device, Duration::hours(2)).await;
    let token = device["token"].as_str().unwrap().to_owned();
    (app, organizer, token)
}

async fn backdate_enrollment(app: &TestApp, device: &Value, by: Duration) {
    use bamex::db::schema::gate_devices::dsl;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let id: Uuid = device["device_id"].as_str().unwrap().parse().unwrap();
    diesel::update(dsl::gate_devices.find(id))
        .set(dsl::enrolled_at.eq(Utc::now() - by))
        .execute(&mut app.conn().await)
        .await
        .unwrap();
}

fn scan(qr: &str, zone: &str, direction: &str, at: DateTime<Utc>, offline: &str) -> Value {
    json!({"scan_id": Uuid::new_v4(), "qr": qr, "gate": "north-1", "zone": zone,
           "direction": direction, "scanned_at": at, "offline_verdict": offline})
}

async fn upload(app: &TestApp, token: &str, scans: &[Value]) -> reqwest::Response {
    app.post_as(
        &format!("{EVENT}/scans/batch"),
        token,
        &json!({ "scans": scans }),
    )
    .await
}

async fn upload_ok(app: &TestApp, token: &str, scans: &[Value]) -> Value {
    let response = upload(app, token, scans).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// (outcome, verdict or reason, flagged) of each result.
fn outcomes(answer: &Value) -> Vec<(String, String, bool)> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let judged = if r["outcome"] == "refused" {
                r["error"]["code"].as_str().unwrap().to_owned()
            } else if r["verdict"] == "allowed" {
                "allowed".to_owned()
            } else {
                r["reason"].as_str().unwrap().to_owned()
            };
            (
                r["outcome"].as_str().unwrap().to_owned(),
                judged,
                r["flagged"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn outcome(outcome: &str, judged: &str, flagged: bool) -> (String, String, bool) {
    (outcome.to_owned(), judged.to_owned(), flagged)
}

async fn denied_webhooks(app: &TestApp) -> i64 {
    use bamex::db::schema::webhook_deliveries::dsl;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    dsl::webhook_deliveries
        .filter(dsl::kind.eq("scan.denied"))
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap()
}

async fn stats(app: &TestApp, organizer: &TestUser) -> Value {
    app.get_as(&format!("{EVENT}/stats"), &organizer.access_token)
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_upload_judges_each_scan_at_its_time_and_flags_what_was_let_in_wrongly() {
    let (app, organizer, token) = gate().await;
    let ada = badge(&app, &organizer, "Diallo", "O1000001").await;
    let bintou = badge(&app, &organizer, "Keïta", "O1000002").await;
    let start = Utc::now() - Duration::minutes(30);
    let at = |minutes| start + Duration::minutes(minutes);

    // Bintou's badge is revoked now, after she went in (offline, typed by the guard) …
    let revoked = app
        .post_as(
            &format!("{EVENT}/accreditations/{}/revoke", bintou.accreditation),
            &organizer.access_token,
            &json!({"reason": "stolen"}),
        )
        .await;
    assert_eq!(revoked.status(), 200);
    // … and scanned again after that by a device that did not know yet.
    let after_revocation = Utc::now();

    let mut typed = scan("", "exhibition_halls", "in", at(1), "allowed");
    typed.as_object_mut().unwrap().remove("qr");
    typed["badge_number"] = json!(bintou.number);
    let entry = scan(&ada.qr, "exhibition_halls", "in", at(2), "allowed");
    let scans = vec![
        // Out of order: Ada enters at 2, exits at 6 and enters again at 8.
        scan(&ada.qr, "exhibition_halls", "in", at(8), "allowed"),
        scan(&ada.qr, "exhibition_halls", "out", at(6), "allowed"),
        entry.clone(),
        // Inside already at 4: denied, but no alert (the device cannot know the other gates).
        scan(&ada.qr, "exhibition_halls", "in", at(4), "allowed"),
        // The same scan twice in one upload.
        entry.clone(),
        // Let in offline where her badge does not open: an alert.
        scan(&ada.qr, "vip_lounge", "in", at(3), "allowed"),
        typed,
        scan(
            &bintou.qr,
            "exhibition_halls",
            "out",
            after_revocation,
            "allowed",
        ),
        // Denied offline and by the server: no alert.
        scan(
            &bintou.qr,
            "exhibition_halls",
            "in",
            after_revocation,
            "denied",
        ),
        // What the device cannot have scanned.
        scan(
            &ada.qr,
            "exhibition_halls",
            "out",
            Utc::now() - Duration::hours(3),
            "allowed",
        ),
        scan(
            &ada.qr,
            "exhibition_halls",
            "out",
            Utc::now() + Duration::minutes(10),
            "allowed",
        ),
        scan(&ada.qr, "press_centre", "in", at(5), "allowed"),
        json!({"scan_id": Uuid::new_v4(), "qr": ada.qr, "gate": "south", "zone": "exhibition_halls",
               "direction": "in", "scanned_at": at(5), "offline_verdict": "allowed"}),
    ];
    let answer = upload_ok(&app, &token, &scans).await;
    assert_eq!(
        outcomes(&answer),
        vec![
            outcome("recorded", "allowed", false),
            outcome("recorded", "allowed", false),
            outcome("recorded", "allowed", false),
            outcome("recorded", "already_inside", false),
            outcome("already_recorded", "allowed", false),
            outcome("recorded", "zone_not_allowed", true),
            outcome("recorded", "allowed", false),
            outcome("recorded", "revoked", true),
            outcome("recorded", "revoked", false),
            outcome("refused", "scanned_before_enrollment", false),
            outcome("refused", "scanned_in_future", false),
            outcome("refused", "zone_not_on_device", false),
            outcome("refused", "gate_not_on_device", false),
        ]
    );
    assert_eq!(answer["results"][0]["scan_id"], scans[0]["scan_id"]);
    assert_eq!(
        (
            &answer["recorded"],
            &answer["already_recorded"],
            &answer["refused"],
            &answer["flagged"]
        ),
        (&json!(8), &json!(1), &json!(4), &json!(2))
    );

    assert_eq!(denied_webhooks(&app).await, 4);

    // A re-upload changes nothing and gets the same answers.
    let again = upload_ok(&app, &token, &scans).await;
    let expected: Vec<_> = outcomes(&answer)
        .into_iter()
        .map(|(outcome, judged, flagged)| match outcome.as_str() {
            "recorded" => ("already_recorded".to_owned(), judged, flagged),
            _ => (outcome, judged, flagged),
        })
        .collect();
    assert_eq!(outcomes(&again), expected);
    assert_eq!(again["recorded"], 0);
    assert_eq!(denied_webhooks(&app).await, 4);
    // The same id for another scan is refused, the others still count.
    let mut reused = scans[0].clone();
    reused["direction"] = json!("out");
    let reused = upload_ok(&app, &token, &[reused]).await;
    assert_eq!(
        outcomes(&reused),
        vec![outcome("refused", "scan_id_reused", false)]
    );

    // Ada is inside (her latest passage, at 8, was an entry), and so is Bintou: her exit came
    // after the revocation and was denied.
    let stats = stats(&app, &organizer).await;
    assert_eq!(stats["inside_now"], 2);
    assert_eq!(stats["offline_scans"], 8);
    assert_eq!(stats["gate_alerts"], 2);
    assert_eq!(stats["entries_per_day"][0]["count"], 3);

    let port = app
        .metrics_port
        .expect("the tests' config turns metrics on");
    let metrics = app
        .client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "bamex_offline_scans_total 8",
        "bamex_offline_scans_flagged_total 2",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }

    // The alerts, the latest first, with their badge and device.
    let alerts = app
        .get_as(
            &format!("{EVENT}/gate-alerts?limit=1"),
            &organizer.access_token,
        )
        .await;
    assert_eq!(alerts.status(), 200);
    let alerts: Value = alerts.json().await.unwrap();
    assert_eq!(alerts["total"], 2);
    let latest = &alerts["items"][0];
    assert_eq!(latest["scan_id"], scans[7]["scan_id"]);
    assert_eq!(latest["reason"], "revoked");
    assert_eq!(latest["badge_number"], json!(bintou.number));
    assert_eq!(latest["device_name"], "Koulikoro, scanner 1");
    let cursor = alerts["next_cursor"].as_str().unwrap();
    let rest: Value = app
        .get_as(
            &format!("{EVENT}/gate-alerts?limit=1&cursor={cursor}"),
            &organizer.access_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["items"][0]["scan_id"], scans[5]["scan_id"]);
    assert_eq!(rest["items"][0]["reason"], "zone_not_allowed");
    assert!(rest["next_cursor"].is_null());
    let agent = app.user_with_roles(&[Role::GateAgent]).await;
    let refused = app
        .get_as(&format!("{EVENT}/gate-alerts"), &agent.access_token)
        .await;
    assert_problem(refused, 403, "forbidden").await;

    // The device shows its upload.
    let devices: Value = app
        .get_as(&format!("{EVENT}/gate-devices"), &organizer.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(devices["items"][0]["last_upload_at"].is_string());
}

/// Whether the badge of `qr` is inside the exhibition halls (`None`: never passed).
async fn presence(app: &TestApp, qr: &str) -> Option<bool> {
    use bamex::db::schema::badge_presence::dsl;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            qr.split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    let badge: Uuid = claims["jti"].as_str().unwrap().parse().unwrap();
    dsl::badge_presence
        .filter(dsl::badge_id.eq(badge))
        .filter(dsl::zone.eq("exhibition_halls"))
        .select(dsl::inside)
        .first(&mut app.conn().await)
        .await
        .optional()
        .unwrap()
}

#[tokio::test]
async fn presence_after_an_upload_equals_the_same_scans_sent_online_in_time_order() {
    let (app, organizer, token) = gate().await;
    let online = badge(&app, &organizer, "Sidibé", "O2000001").await;
    let offline = badge(&app, &organizer, "Dembélé", "O2000002").await;
    let directions = ["in", "in", "out", "out", "in", "out", "in", "in"];

    let mut online_verdicts = Vec::new();
    for direction in directions {
        let answer: Value = app
            .post_as(
                &format!("{EVENT}/scans"),
                &token,
                &json!({"qr": online.qr, "gate": "north-1", "zone": "exhibition_halls", "direction": direction}),
            )
            .await
            .json()
            .await
            .unwrap();
        online_verdicts.push(answer["reason"].as_str().unwrap_or("allowed").to_owned());
    }

    // The same scans made offline over the last half hour, uploaded in two parts, each out of
    // order: the second part is judged with the first one's scans already recorded.
    let start = Utc::now() - Duration::minutes(30);
    let scans: Vec<Value> = directions
        .iter()
        .enumerate()
        .map(|(i, direction)| {
            let at = start + Duration::minutes(i as i64 * 3);
            scan(&offline.qr, "exhibition_halls", direction, at, "allowed")
        })
        .collect();
    let mut verdicts = std::collections::HashMap::new();
    for part in [[6, 1, 3, 0], [7, 2, 5, 4]] {
        let sent: Vec<Value> = part.iter().map(|&i| scans[i].clone()).collect();
        let answer = upload_ok(&app, &token, &sent).await;
        for (&i, result) in part.iter().zip(answer["results"].as_array().unwrap()) {
            verdicts.insert(i, result["reason"].as_str().unwrap_or("allowed").to_owned());
        }
    }
    // Each scan got the verdict it got online, where they came in time order.
    let offline_verdicts: Vec<String> = (0..scans.len()).map(|i| verdicts[&i].clone()).collect();
    assert_eq!(offline_verdicts, online_verdicts);
    assert_eq!(presence(&app, &offline.qr).await, Some(true));
    assert_eq!(
        presence(&app, &offline.qr).await,
        presence(&app, &online.qr).await
    );

    // After the upload, an online entry of the badge inside is refused, an exit passes.
    let inside: Value = app
        .post_as(
            &format!("{EVENT}/scans"),
            &token,
            &json!({"qr": offline.qr, "gate": "north-1", "zone": "exhibition_halls", "direction": "in"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inside["reason"], "already_inside");
}

#[tokio::test]
async fn only_the_events_devices_upload_and_bodies_are_bounded() {
    let (app, organizer, token) = gate().await;
    let ada = badge(&app, &organizer, "Traoré", "O3000001").await;
    let one = [scan(
        &ada.qr,
        "exhibition_halls",
        "in",
        Utc::now(),
        "allowed",
    )];

    let agent = app.user_with_roles(&[Role::GateAgent]).await;
    assert_problem(
        upload(&app, &agent.access_token, &one).await,
        403,
        "gate_device_required",
    )
    .await;
    event_from_today_named(&app, "other-2026").await;
    let other = enrolled_device(
        &app,
        &organizer,
        "other-2026",
        "Other",
        &["exhibition_halls"],
    )
    .await;
    assert_problem(
        upload(&app, other["token"].as_str().unwrap(), &one).await,
        403,
        "device_not_for_event",
    )
    .await;

    let mut both = one[0].clone();
    both["badge_number"] = json!(ada.number);
    let problem = assert_problem(
        upload(&app, &token, &[both]).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "scans[0].qr");
    let too_many: Vec<Value> = (0..10_001)
        .map(|_| scan("x", "exhibition_halls", "in", Utc::now(), "denied"))
        .collect();
    let problem = assert_problem(
        upload(&app, &token, &too_many).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "scans");

    let huge = format!(
        r#"{{"scans": [{{"qr": "{}"}}]}}"#,
        "x".repeat(17 * 1024 * 1024)
    );
    let response = app
        .request_as(
            reqwest::Method::POST,
            &format!("{EVENT}/scans/batch"),
            &token,
        )
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_problem(response, 413, "payload_too_large").await;

    // Nothing was recorded by the refused requests; the device's own upload is.
    let answer = upload_ok(&app, &token, &one).await;
    assert_eq!(answer["recorded"], 1);
}

#[tokio::test]
async fn the_same_upload_sent_twice_at_once_counts_once() {
    let (app, organizer, token) = gate().await;
    let ada = badge(&app, &organizer, "Coulibaly", "O4000001").await;
    let start = Utc::now() - Duration::minutes(20);
    let scans: Vec<Value> = (0..6)
        .map(|k| {
            let direction = ["in", "out"][k % 2];
            let at = start + Duration::minutes(k as i64);
            scan(&ada.qr, "exhibition_halls", direction, at, "allowed")
        })
        .collect();
    let (first, second) = futures_util::join!(
        upload_ok(&app, &token, &scans),
        upload_ok(&app, &token, &scans)
    );
    let recorded = [&first, &second].map(|answer| answer["recorded"].as_i64().unwrap());
    assert_eq!(recorded.iter().sum::<i64>(), 6, "{first} {second}");
    for answer in [&first, &second] {
        assert!(
            answer["results"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["verdict"] == "allowed"),
            "{answer}"
        );
    }
    assert_eq!(stats(&app, &organizer).await["offline_scans"], 6);
}
