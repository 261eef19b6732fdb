//! Gate devices: registered by organizers, enrolled once with their code, scanning with their
//! token at their own event's gates and zones only, revoked at once.

use bamex::users::Role;
use serde_json::{Value, json};

use crate::fixtures::{
    EVENT, approve, audit_actions, enrolled_device, event_from_today, event_from_today_named,
    visitor,
};
use crate::helpers::{TestApp, TestUser, assert_problem, spawn_app};

/// A service with an event open today, its organizer, a gate agent and one approved trade
/// visitor's QR.
struct Gate {
    app: TestApp,
    organizer: TestUser,
    agent: TestUser,
    qr: String,
}

async fn gate() -> Gate {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let agent = app.user_with_roles(&[Role::GateAgent]).await;
    let (_, id) = visitor(&app, "trade_visitor", "Konaté", "G1000001").await;
    let qr = approve(&app, &organizer, &id).await["badge"]["qr"]
        .as_str()
        .unwrap()
        .to_owned();
    Gate {
        app,
        organizer,
        agent,
        qr,
    }
}

fn scan_body(qr: &str, gate: &str, zone: &str, direction: &str) -> Value {
    json!({"qr": qr, "gate": gate, "zone": zone, "direction": direction})
}

/// `POST {EVENT}/scans` with the device token, and the agent's token in `X-Gate-Agent` if given.
async fn device_scan(
    app: &TestApp,
    token: &str,
    agent: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    let mut request = app
        .request_as(reqwest::Method::POST, &format!("{EVENT}/scans"), token)
        .json(body);
    if let Some(agent) = agent {
        request = request.header("X-Gate-Agent", agent);
    }
    request.send().await.unwrap()
}

fn token(enrolled: &Value) -> &str {
    enrolled["token"].as_str().unwrap()
}

async fn devices(app: &TestApp, organizer: &TestUser) -> Vec<Value> {
    let response = app
        .get_as(&format!("{EVENT}/gate-devices"), &organizer.access_token)
        .await;
    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_code_enrolls_once_and_the_token_scans_only_at_its_gates_and_zones() {
    let Gate {
        app, organizer, qr, ..
    } = gate().await;
    let registered = app
        .post_as(
            &format!("{EVENT}/gate-devices"),
            &organizer.access_token,
            &json!({"name": "Hall A, scanner 1", "gates": ["north-1"], "zones": ["exhibition_halls"]}),
        )
        .await;
    assert_eq!(registered.status(), 201);
    let registered: Value = registered.json().await.unwrap();
    assert_eq!(registered["state"], "awaiting_enrollment");
    let code = registered["enrollment_code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 29, "24 symbols in groups of four");

    // Typed in lower case without its dashes, it still works, once.
    let typed = code.replace('-', "").to_lowercase();
    let enrolled = app
        .post_json("/api/v1/gate-devices/enroll", &json!({"code": typed}))
        .await;
    assert_eq!(enrolled.status(), 200);
    let enrolled: Value = enrolled.json().await.unwrap();
    assert!(token(&enrolled).starts_with("bxdev_"));
    assert_eq!(enrolled["event"], "bamex-2026");
    assert_eq!(enrolled["device_id"], registered["id"]);
    assert_eq!(enrolled["zones"], json!(["exhibition_halls"]));
    let again = app
        .post_json("/api/v1/gate-devices/enroll", &json!({"code": code}))
        .await;
    assert_problem(again, 409, "enrollment_code_used").await;
    let unknown = app
        .post_json(
            "/api/v1/gate-devices/enroll",
            &json!({"code": "0000-0000-0000-0000-0000-0000"}),
        )
        .await;
    assert_problem(unknown, 404, "enrollment_code_unknown").await;
    assert_eq!(audit_actions(&app, "gate_device.registered").await, 1);
    assert_eq!(audit_actions(&app, "gate_device.enrolled").await, 1);

    let token = token(&enrolled);
    let allowed = device_scan(
        &app,
        token,
        None,
        &scan_body(&qr, "north-1", "exhibition_halls", "in"),
    )
    .await;
    assert_eq!(allowed.status(), 200);
    assert_eq!(allowed.json::<Value>().await.unwrap()["verdict"], "allowed");
    // Outside its zones or gates the scan is refused before the QR is looked at, and not
    // recorded (the badge could open the conference rooms; a broken QR changes nothing).
    for qr in [qr.as_str(), "not.a.badge"] {
        let zone = device_scan(
            &app,
            token,
            None,
            &scan_body(qr, "north-1", "conference_rooms", "in"),
        )
        .await;
        assert_problem(zone, 403, "zone_not_on_device").await;
        let gate = device_scan(
            &app,
            token,
            None,
            &scan_body(qr, "south-2", "exhibition_halls", "out"),
        )
        .await;
        assert_problem(gate, 403, "gate_not_on_device").await;
    }

    let listed = devices(&app, &organizer).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["state"], "active");
    assert!(listed[0]["enrolled_at"].is_string());
    assert!(listed[0]["last_seen_at"].is_string());
    assert!(listed[0]["last_sync_at"].is_null());
    assert!(listed[0].get("enrollment_code").is_none());
}

#[tokio::test]
async fn an_expired_code_is_refused_and_names_are_unique_per_event() {
    let Gate { app, organizer, .. } = gate().await;
    let register = async |name: &str| {
        app.post_as(
            &format!("{EVENT}/gate-devices"),
            &organizer.access_token,
            &json!({"name": name, "gates": ["north-1"], "zones": ["vip_lounge"]}),
        )
        .await
    };
    let registered: Value = register("VIP door").await.json().await.unwrap();
    assert_problem(register("VIP door").await, 409, "device_name_taken").await;
    {
        use bamex::db::schema::gate_devices::dsl;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        diesel::update(dsl::gate_devices)
            .set(dsl::enrollment_expires_at.eq(chrono::Utc::now() - chrono::Duration::minutes(1)))
            .execute(&mut app.conn().await)
            .await
            .unwrap();
    }
    let late = app
        .post_json(
            "/api/v1/gate-devices/enroll",
            &json!({"code": registered["enrollment_code"]}),
        )
        .await;
    assert_problem(late, 410, "enrollment_code_expired").await;
    assert_eq!(
        devices(&app, &organizer).await[0]["state"],
        "enrollment_expired"
    );

    let invalid = app
        .post_as(
            &format!("{EVENT}/gate-devices"),
            &organizer.access_token,
            &json!({"name": "Twice", "gates": ["a", "a"], "zones": []}),
        )
        .await;
    let problem = assert_problem(invalid, 422, "validation_failed").await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["gates", "zones"]);
}

#[tokio::test]
async fn a_revoked_device_is_refused_from_its_next_request() {
    let Gate {
        app, organizer, qr, ..
    } = gate().await;
    let enrolled = enrolled_device(
        &app,
        &organizer,
        "bamex-2026",
        "North",
        &["exhibition_halls"],
    )
    .await;
    let body = scan_body(&qr, "north-1", "exhibition_halls", "in");
    assert_eq!(
        device_scan(&app, token(&enrolled), None, &body)
            .await
            .status(),
        200
    );

    let id = enrolled["device_id"].as_str().unwrap();
    let revoked = app
        .post_as(
            &format!("{EVENT}/gate-devices/{id}/revoke"),
            &organizer.access_token,
            &json!({}),
        )
        .await;
    assert_eq!(revoked.status(), 200);
    let revoked: Value = revoked.json().await.unwrap();
    assert_eq!(revoked["state"], "revoked");
    assert!(revoked["revoked_at"].is_string());

    let refused = device_scan(&app, token(&enrolled), None, &body).await;
    assert_problem(refused, 401, "device_revoked").await;
    let twice = app
        .post_as(
            &format!("{EVENT}/gate-devices/{id}/revoke"),
            &organizer.access_token,
            &json!({}),
        )
        .await;
    assert_problem(twice, 409, "device_already_revoked").await;
    assert_eq!(audit_actions(&app, "gate_device.revoked").await, 1);

    // A token that was never issued is refused too.
    let forged = device_scan(&app, "bxdev_not-a-token-of-ours", None, &body).await;
    assert_problem(forged, 401, "invalid_device_token").await;
}

#[tokio::test]
async fn a_device_token_opens_nothing_but_its_own_events_scans() {
    let Gate {
        app, organizer, qr, ..
    } = gate().await;
    event_from_today_named(&app, "other-2026").await;
    let enrolled = enrolled_device(
        &app,
        &organizer,
        "bamex-2026",
        "North",
        &["exhibition_halls"],
    )
    .await;
    let token = token(&enrolled);

    let elsewhere = app
        .request_as(
            reqwest::Method::POST,
            "/api/v1/events/other-2026/scans",
            token,
        )
        .json(&scan_body(&qr, "north-1", "exhibition_halls", "in"))
        .send()
        .await
        .unwrap();
    assert_problem(elsewhere, 403, "device_not_for_event").await;
    for path in [
        format!("{EVENT}/stats"),
        format!("{EVENT}/gate-devices"),
        format!("{EVENT}/scans.csv"),
        "/api/v1/me".to_owned(),
        "/api/v1/events".to_owned(),
    ] {
        let response = app.get_as(&path, token).await;
        assert_problem(response, 403, "device_token_not_accepted").await;
    }
    let organizer_route = app
        .post_as(
            &format!("{EVENT}/gate-devices"),
            token,
            &json!({"name": "Mine", "gates": ["x"], "zones": ["vip_lounge"]}),
        )
        .await;
    assert_problem(organizer_route, 403, "device_token_not_accepted").await;
    // The public keys a device verifies with read no token at all.
    assert_eq!(
        app.get_as("/.well-known/jwks.json", token).await.status(),
        200
    );
}

#[tokio::test]
async fn the_gate_agent_signed_in_on_a_device_is_recorded_with_its_scans() {
    let Gate {
        app,
        organizer,
        agent,
        qr,
    } = gate().await;
    let enrolled = enrolled_device(
        &app,
        &organizer,
        "bamex-2026",
        "Hall A scanner 1",
        &["exhibition_halls"],
    )
    .await;
    let token = token(&enrolled);

    let with_agent = device_scan(
        &app,
        token,
        Some(&agent.access_token),
        &scan_body(&qr, "north-1", "exhibition_halls", "in"),
    )
    .await;
    assert_eq!(with_agent.status(), 200);
    assert_eq!(
        with_agent.json::<Value>().await.unwrap()["verdict"],
        "allowed"
    );
    let alone = device_scan(
        &app,
        token,
        None,
        &scan_body(&qr, "north-1", "exhibition_halls", "out"),
    )
    .await;
    assert_eq!(alone.status(), 200);

    let visitor = app.user_with_roles(&[Role::Visitor]).await;
    let not_an_agent = device_scan(
        &app,
        token,
        Some(&visitor.access_token),
        &scan_body(&qr, "north-1", "exhibition_halls", "in"),
    )
    .await;
    assert_problem(not_an_agent, 403, "gate_agent_required").await;
    let garbage = device_scan(
        &app,
        token,
        Some("not-a-token"),
        &scan_body(&qr, "north-1", "exhibition_halls", "in"),
    )
    .await;
    assert_problem(garbage, 401, "invalid_gate_agent_token").await;

    let csv = app
        .get_as(&format!("{EVENT}/scans.csv"), &organizer.access_token)
        .await
        .text()
        .await
        .unwrap();
    let rows: Vec<Vec<&str>> = csv
        .trim_start_matches('\u{feff}')
        .lines()
        .map(|line| line.split(',').collect())
        .collect();
    assert_eq!(&rows[0][9..11], ["device", "agent"]);
    assert_eq!(rows.len(), 3, "the refused scans were not recorded: {csv}");
    assert_eq!(&rows[1][4..6], ["in", "allowed"]);
    assert_eq!(&rows[1][9..11], ["Hall A scanner 1", agent.email.as_str()]);
    assert_eq!(&rows[2][4..6], ["out", "allowed"]);
    assert_eq!(&rows[2][9..11], ["Hall A scanner 1", ""]);
}

#[tokio::test]
async fn only_organizers_manage_devices_and_only_through_their_event() {
    let Gate {
        app,
        organizer,
        agent,
        ..
    } = gate().await;
    event_from_today_named(&app, "other-2026").await;
    let enrolled = enrolled_device(
        &app,
        &organizer,
        "bamex-2026",
        "North",
        &["exhibition_halls"],
    )
    .await;
    let id = enrolled["device_id"].as_str().unwrap();
    let body = json!({"name": "Rogue", "gates": ["north-1"], "zones": ["vip_lounge"]});
    let exhibitor = app.user_with_roles(&[Role::Exhibitor]).await;
    for caller in [&agent, &exhibitor] {
        let token = &caller.access_token;
        let register = app
            .post_as(&format!("{EVENT}/gate-devices"), token, &body)
            .await;
        assert_problem(register, 403, "forbidden").await;
        let list = app.get_as(&format!("{EVENT}/gate-devices"), token).await;
        assert_problem(list, 403, "forbidden").await;
        let revoke = app
            .post_as(
                &format!("{EVENT}/gate-devices/{id}/revoke"),
                token,
                &json!({}),
            )
            .await;
        assert_problem(revoke, 403, "forbidden").await;
    }
    // Through another event the device does not exist.
    let other = app
        .post_as(
            &format!("/api/v1/events/other-2026/gate-devices/{id}/revoke"),
            &organizer.access_token,
            &json!({}),
        )
        .await;
    assert_problem(other, 404, "not_found").await;
    let listed = app
        .get_as(
            "/api/v1/events/other-2026/gate-devices",
            &organizer.access_token,
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(listed["total"], 0);
    assert_eq!(devices(&app, &organizer).await[0]["state"], "active");
    assert_eq!(audit_actions(&app, "gate_device.revoked").await, 0);
}
