//! `Idempotency-Key` on creating requests: a retry gets the first answer, nothing runs twice.

use bamex::db::schema::{delegations, idempotency_keys, outbox, users};
use bamex::users::Role;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};

use crate::fixtures::{EVENT, open_event, person};
use crate::helpers::{PASSWORD, TestApp, assert_problem, spawn_app};

const REPLAYED: &str = "idempotent-replayed";

fn delegation(lead_email: &str) -> Value {
    json!({"country": "NE", "name": "Forces Armées Nigériennes", "kind": "armed_forces",
           "protocol_level": "vip", "arrival_on": "2026-11-23", "departure_on": "2026-11-27",
           "member_limit": 5, "lead_email": lead_email, "lead_name": "Col. Amadou Issa", "lead_locale": "fr"})
}

fn visitor() -> Value {
    let mut body = person("Keïta", "V7654321");
    body["category"] = json!("trade_visitor");
    body
}

async fn post_with_key(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    key: &str,
    body: &Value,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(path))
        .header("Idempotency-Key", key)
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

fn replayed(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get(REPLAYED)
        .is_some_and(|v| v.as_bytes() == b"true")
}

async fn delegation_count(app: &TestApp) -> i64 {
    delegations::table
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap()
}

async fn emails_to(app: &TestApp, address: &str) -> i64 {
    outbox::table
        .filter(outbox::recipient.eq(address))
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap()
}

async fn stored_keys(app: &TestApp) -> i64 {
    idempotency_keys::table
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_retry_gets_the_first_answer_and_nothing_runs_twice() {
    let app = spawn_app().await;
    let admin = open_event(&app).await;
    let path = format!("{EVENT}/delegations");
    let body = delegation("lead@fan.ne");
    let token = Some(admin.access_token.as_str());

    let first = post_with_key(&app, &path, token, "create-fan-1", &body).await;
    assert_eq!(first.status(), 201);
    assert!(!replayed(&first));
    let first_type = first.headers()["content-type"].clone();
    let first_body = first.text().await.unwrap();

    for _ in 0..2 {
        let again = post_with_key(&app, &path, token, "create-fan-1", &body).await;
        assert_eq!(again.status(), 201);
        assert!(replayed(&again), "a replay says so");
        assert_eq!(again.headers()["content-type"], first_type);
        assert_eq!(again.text().await.unwrap(), first_body, "byte for byte");
    }
    assert_eq!(delegation_count(&app).await, 1);
    assert_eq!(
        emails_to(&app, "lead@fan.ne").await,
        1,
        "one invitation email"
    );

    // Without a key (or with a new one) the same body is a new request.
    let other = post_with_key(&app, &path, token, "create-fan-2", &body).await;
    assert_eq!(other.status(), 201);
    assert!(!replayed(&other));
    assert_eq!(delegation_count(&app).await, 2);
}

#[tokio::test]
async fn a_replayed_registration_answers_201_rather_than_already_registered() {
    let app = spawn_app().await;
    open_event(&app).await;
    let me = app.user_with_roles(&[Role::Visitor]).await;
    let path = format!("{EVENT}/visitors");
    let token = Some(me.access_token.as_str());
    let first = post_with_key(&app, &path, token, "visit-1", &visitor()).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = post_with_key(&app, &path, token, "visit-1", &visitor()).await;
    assert_eq!(again.status(), 201, "the handler did not run again");
    assert!(replayed(&again));
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    let mine: Value = app
        .get_as("/api/v1/me/accreditations", &me.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["total"], 1);
}

#[tokio::test]
async fn a_key_used_for_another_request_is_refused() {
    let app = spawn_app().await;
    let admin = open_event(&app).await;
    let token = Some(admin.access_token.as_str());
    let path = format!("{EVENT}/delegations");
    let created = post_with_key(&app, &path, token, "k-1", &delegation("a@fan.ne")).await;
    assert_eq!(created.status(), 201);

    let other_body = post_with_key(&app, &path, token, "k-1", &delegation("b@fan.ne")).await;
    assert_problem(other_body, 422, "idempotency_key_reused").await;
    let pavilion = json!({"name": "Pavillon du Niger", "country": "NE"});
    let other_route =
        post_with_key(&app, &format!("{EVENT}/pavilions"), token, "k-1", &pavilion).await;
    assert_problem(other_route, 422, "idempotency_key_reused").await;
    assert_eq!(delegation_count(&app).await, 1);

    // The same route with another event in its path is another request too.
    let admin_token = admin.access_token.as_str();
    let second_event = app
        .post_as(
            "/api/v1/events",
            admin_token,
            &json!({"slug": "bamex-2027", "name": "BAMEX'27", "venue": "Bamako",
                    "starts_on": "2027-11-23", "ends_on": "2027-11-26", "status": "open",
                    "vetting_categories": []}),
        )
        .await;
    assert_eq!(second_event.status(), 201);
    let elsewhere = post_with_key(
        &app,
        "/api/v1/events/bamex-2027/delegations",
        token,
        "k-1",
        &delegation("a@fan.ne"),
    )
    .await;
    assert_problem(elsewhere, 422, "idempotency_key_reused").await;
    assert_eq!(delegation_count(&app).await, 1);
}

#[tokio::test]
async fn keys_belong_to_their_caller() {
    let app = spawn_app().await;
    open_event(&app).await;
    let path = format!("{EVENT}/visitors");
    let mut ids = Vec::new();
    for _ in 0..2 {
        let user = app.user_with_roles(&[Role::Visitor]).await;
        let response = post_with_key(
            &app,
            &path,
            Some(&user.access_token),
            "same-key",
            &visitor(),
        )
        .await;
        assert_eq!(response.status(), 201);
        assert!(!replayed(&response), "another user's key is not mine");
        let body: Value = response.json().await.unwrap();
        ids.push(body["id"].clone());
    }
    assert_ne!(ids[0], ids[1]);
    assert_eq!(stored_keys(&app).await, 2);
}

#[tokio::test]
async fn a_client_error_is_replayed_but_a_conflict_is_not_kept() {
    let app = spawn_app().await;
    open_event(&app).await;
    let me = app.user_with_roles(&[Role::Visitor]).await;
    let path = format!("{EVENT}/visitors");
    let token = Some(me.access_token.as_str());

    let invalid = json!({"category": "vip"});
    let first = post_with_key(&app, &path, token, "bad-1", &invalid).await;
    assert!(!replayed(&first));
    let first = assert_problem(first, 422, "validation_failed").await;
    let again = post_with_key(&app, &path, token, "bad-1", &invalid).await;
    assert!(replayed(&again));
    assert_eq!(assert_problem(again, 422, "validation_failed").await, first);

    // A 409 may not hold on retry: the key is released and a retry runs again.
    let registered = app.post_as(&path, &me.access_token, &visitor()).await;
    assert_eq!(registered.status(), 201);
    for _ in 0..2 {
        let conflict = post_with_key(&app, &path, token, "dup-1", &visitor()).await;
        assert!(!replayed(&conflict));
        assert_problem(conflict, 409, "already_registered").await;
    }
    let kept: Vec<String> = idempotency_keys::table
        .select(idempotency_keys::key)
        .load(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(kept, ["bad-1"]);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_create_one_record() {
    let app = spawn_app().await;
    let admin = open_event(&app).await;
    let path = format!("{EVENT}/delegations");
    let body = delegation("lead@fan.ne");
    let requests = (0..6).map(|_| {
        post_with_key(
            &app,
            &path,
            Some(admin.access_token.as_str()),
            "race-1",
            &body,
        )
    });
    let responses = futures_util::future::join_all(requests).await;
    let mut ran = 0;
    let mut created = Vec::new();
    for response in responses {
        match response.status().as_u16() {
            201 => {
                if !replayed(&response) {
                    ran += 1;
                }
                created.push(response.json::<Value>().await.unwrap()["id"].clone());
            }
            _ => {
                assert_problem(response, 409, "idempotency_in_progress").await;
            }
        }
    }
    assert_eq!(ran, 1, "exactly one request ran the handler");
    assert!(created.iter().all(|id| *id == created[0]), "{created:?}");
    assert_eq!(delegation_count(&app).await, 1);
    assert_eq!(emails_to(&app, "lead@fan.ne").await, 1);
}

#[tokio::test]
async fn anonymous_registration_with_a_key_is_replayed() {
    let app = spawn_app().await;
    let path = "/api/v1/auth/register";
    let body = json!({"email": "awa@example.ml", "password": PASSWORD, "full_name": "Awa Traoré", "locale": "fr"});
    let first = post_with_key(&app, path, None, "signup-1", &body).await;
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();
    let again = post_with_key(&app, path, None, "signup-1", &body).await;
    assert_eq!(again.status(), 202);
    assert!(replayed(&again));
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    let accounts: i64 = users::table
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(accounts, 1);
    assert_eq!(
        emails_to(&app, "awa@example.ml").await,
        1,
        "one confirmation email"
    );
    let principal: String = idempotency_keys::table
        .select(idempotency_keys::principal)
        .first(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(principal, "anonymous");

    let mut other = body.clone();
    other["email"] = json!("someone.else@example.ml");
    let reused = post_with_key(&app, path, None, "signup-1", &other).await;
    assert_problem(reused, 422, "idempotency_key_reused").await;
}

#[tokio::test]
async fn malformed_keys_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let admin = open_event(&app).await;
    let path = format!("{EVENT}/delegations");
    let long = "k".repeat(256);
    for key in ["", long.as_str(), "tab\there"] {
        let response = post_with_key(
            &app,
            &path,
            Some(&admin.access_token),
            key,
            &delegation("x@fan.ne"),
        )
        .await;
        assert_problem(response, 400, "invalid_idempotency_key").await;
    }
    let not_ascii = app
        .request_as(reqwest::Method::POST, &path, &admin.access_token)
        .header(
            "Idempotency-Key",
            reqwest::header::HeaderValue::from_bytes("clé".as_bytes()).unwrap(),
        )
        .json(&delegation("x@fan.ne"))
        .send()
        .await
        .unwrap();
    assert_problem(not_ascii, 400, "invalid_idempotency_key").await;
    let two = app
        .request_as(reqwest::Method::POST, &path, &admin.access_token)
        .header("Idempotency-Key", "a")
        .header("Idempotency-Key", "b")
        .json(&delegation("x@fan.ne"))
        .send()
        .await
        .unwrap();
    assert_problem(two, 400, "invalid_idempotency_key").await;
    let longest = "k".repeat(255);
    let fine = post_with_key(
        &app,
        &path,
        Some(&admin.access_token),
        &format!("~ {}", &longest[2..]),
        &delegation("x@fan.ne"),
    )
    .await;
    assert_eq!(fine.status(), 201);
    assert_eq!(delegation_count(&app).await, 1);
}

#[tokio::test]
async fn secrets_scans_and_bad_tokens_are_left_alone() {
    let app = spawn_app().await;
    open_event(&app).await;
    let user = app.user_with_roles(&[Role::Visitor]).await;
    let login = json!({"email": user.email, "password": PASSWORD});
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let response = post_with_key(&app, "/api/v1/auth/login", None, "login-1", &login).await;
        assert_eq!(response.status(), 200);
        assert!(!replayed(&response));
        tokens.push(response.json::<Value>().await.unwrap()["refresh_token"].clone());
    }
    assert_ne!(tokens[0], tokens[1], "each login ran");

    let gate = app.user_with_roles(&[Role::GateAgent]).await;
    let scan = json!({"qr": "not-a-badge", "gate": "A", "zone": "hall_1", "direction": "in"});
    let scanned = post_with_key(
        &app,
        &format!("{EVENT}/scans"),
        Some(&gate.access_token),
        "scan-1",
        &scan,
    )
    .await;
    assert!(!replayed(&scanned));

    // An invalid token: the handler answers 401 as always, and no key is taken.
    let bad = post_with_key(
        &app,
        &format!("{EVENT}/visitors"),
        Some("not.a.token"),
        "visit-1",
        &visitor(),
    )
    .await;
    assert_problem(bad, 401, "invalid_token").await;
    // No token on a route that needs one: nothing kept either, whoever sends it.
    let anonymous = post_with_key(
        &app,
        &format!("{EVENT}/visitors"),
        None,
        "visit-2",
        &visitor(),
    )
    .await;
    assert_problem(anonymous, 401, "unauthenticated").await;
    assert_eq!(stored_keys(&app).await, 0);
}

#[tokio::test]
async fn a_running_request_holds_its_key_until_it_expires_or_is_abandoned() {
    let app = spawn_app().await;
    let admin = open_event(&app).await;
    let path = format!("{EVENT}/delegations");
    let token = Some(admin.access_token.as_str());
    let body = delegation("lead@fan.ne");
    assert_eq!(
        post_with_key(&app, &path, token, "held", &body)
            .await
            .status(),
        201
    );
    let principal = admin.id.to_string();
    let this_key = idempotency_keys::table.find((principal.as_str(), "held"));
    let set_in_progress = |age: chrono::Duration| {
        diesel::update(this_key).set((
            idempotency_keys::state.eq("in_progress"),
            idempotency_keys::status.eq(None::<i16>),
            idempotency_keys::content_type.eq(None::<String>),
            idempotency_keys::body.eq(None::<Vec<u8>>),
            idempotency_keys::created_at.eq(chrono::Utc::now() - age),
        ))
    };

    // Still running (as far as the table says): a retry is told to wait.
    set_in_progress(chrono::Duration::seconds(1))
        .execute(&mut app.conn().await)
        .await
        .unwrap();
    let waiting = post_with_key(&app, &path, token, "held", &body).await;
    assert_problem(waiting, 409, "idempotency_in_progress").await;
    assert_eq!(delegation_count(&app).await, 1);

    // Running for longer than `in_progress_timeout_seconds`: its server died; the retry runs.
    set_in_progress(chrono::Duration::minutes(6))
        .execute(&mut app.conn().await)
        .await
        .unwrap();
    let rerun = post_with_key(&app, &path, token, "held", &body).await;
    assert_eq!(rerun.status(), 201);
    assert!(!replayed(&rerun));
    assert_eq!(delegation_count(&app).await, 2);

    // An answer older than the key's lifetime is not replayed: the key is free again.
    diesel::update(this_key)
        .set(idempotency_keys::created_at.eq(chrono::Utc::now() - chrono::Duration::hours(25)))
        .execute(&mut app.conn().await)
        .await
        .unwrap();
    let expired = post_with_key(&app, &path, token, "held", &body).await;
    assert_eq!(expired.status(), 201);
    assert!(!replayed(&expired));
    assert_eq!(delegation_count(&app).await, 3);
}

#[tokio::test]
async fn expired_keys_are_swept() {
    let app = spawn_app().await;
    let admin = open_event(&app).await;
    let path = format!("{EVENT}/delegations");
    let token = Some(admin.access_token.as_str());
    for key in ["old", "new"] {
        let body = delegation(&format!("{key}@fan.ne"));
        assert_eq!(
            post_with_key(&app, &path, token, key, &body).await.status(),
            201
        );
    }
    let mut conn = app.conn().await;
    diesel::update(idempotency_keys::table.filter(idempotency_keys::key.eq("old")))
        .set(idempotency_keys::created_at.eq(chrono::Utc::now() - chrono::Duration::hours(25)))
        .execute(&mut conn)
        .await
        .unwrap();
    let ttl = app.settings.idempotency.ttl();
    let swept = bamex::idempotency::sweep_expired(&mut conn, ttl)
        .await
        .unwrap();
    assert_eq!(swept, 1);
    let left: Vec<String> = idempotency_keys::table
        .select(idempotency_keys::key)
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, ["new"]);
}
