//! The set-ups several test modules share (an open event, companies, people, visitors, delegations).

use std::io::Cursor;

use bamex::users::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser};

pub const EVENT: &str = "/api/v1/events/bamex-2026";

/// An open event taking registrations, created over HTTP by a fresh admin.
pub async fn open_event(app: &TestApp) -> TestUser {
    let admin = app.user_with_roles(&[Role::Admin]).await;
    let response = app
        .post_as(
            "/api/v1/events",
            &admin.access_token,
            &json!({"slug": "bamex-2026", "name": "BAMEX'26", "venue": "Parc des Expositions de Bamako",
                    "starts_on": "2026-11-24", "ends_on": "2026-11-27", "public_days": ["2026-11-26", "2026-11-27"],
                    "status": "open", "auto_approve_public": true, "vetting_categories": []}),
        )
        .await;
    assert_eq!(response.status(), 201);
    admin
}

pub fn company(legal_name: &str, country: &str) -> Value {
    json!({"legal_name": legal_name, "display_name": legal_name, "country": country, "city": "Ankara",
           "website": "https://example.com.tr", "description": "Systèmes de défense terrestre",
           "sectors": ["land_systems", "communications"], "contact_email": "sales@example.com.tr"})
}

/// Applies with a new account; returns the account and the exhibitor id.
pub async fn apply(app: &TestApp, body: &Value) -> (TestUser, String) {
    let owner = app.user_with_roles(&[Role::Visitor]).await;
    let response = app
        .post_as(&format!("{EVENT}/exhibitors"), &owner.access_token, body)
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (owner, id)
}

pub async fn approve_exhibitor(app: &TestApp, organizer: &TestUser, id: &str) {
    let response = app
        .post_as(
            &format!("{EVENT}/exhibitors/{id}/review"),
            &organizer.access_token,
            &json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(response.status(), 200);
}

pub async fn booth(
    app: &TestApp,
    organizer: &TestUser,
    id: &str,
    stand: &str,
    area: f64,
) -> reqwest::Response {
    app.client
        .put(app.url(&format!("{EVENT}/exhibitors/{id}/booth")))
        .bearer_auth(&organizer.access_token)
        .json(&json!({"hall": "Hall A", "stand": stand, "area_m2": area}))
        .send()
        .await
        .unwrap()
}

pub fn person(last_name: &str, document: &str) -> Value {
    json!({"first_name": "Ayşe", "last_name": last_name, "email": "staff@example.com.tr", "organization": "Anadolu",
           "function": "Engineer", "nationality": "TR", "date_of_birth": "1985-04-12",
           "id_document_type": "passport", "id_document_number": document,
           "place_of_birth": "Ankara", "id_document_expires_on": "2031-06-30"})
}

/// An open event running from today for three days; tomorrow is the public day.
pub async fn event_from_today(app: &TestApp) -> TestUser {
    event_from_today_named(app, "bamex-2026").await
}

/// As [`event_from_today`], under the slug `slug`.
pub async fn event_from_today_named(app: &TestApp, slug: &str) -> TestUser {
    let admin = app.user_with_roles(&[Role::Admin]).await;
    let today = chrono::Utc::now().date_naive();
    let day = |n| (today + chrono::Duration::days(n)).to_string();
    let response = app
        .post_as(
            "/api/v1/events",
            &admin.access_token,
            &json!({"slug": slug, "name": "BAMEX'26", "venue": "Bamako", "starts_on": day(0),
                    "ends_on": day(2), "public_days": [day(1)], "status": "open", "auto_approve_public": true, "vetting_categories": []}),
        )
        .await;
    assert_eq!(response.status(), 201);
    admin
}

/// A person registered as a visitor of `category`; returns their account and accreditation id.
pub async fn visitor(
    app: &TestApp,
    category: &str,
    last_name: &str,
    document: &str,
) -> (TestUser, String) {
    let user = app.user_with_roles(&[Role::Visitor]).await;
    let mut body = person(last_name, document);
    body["email"] = json!(user.email);
    body["category"] = json!(category);
    if category == "media" {
        body["media_outlet"] = json!("L'Essor");
        body["press_card_number"] = json!("ML-0001");
    }
    let response = app
        .post_as(&format!("{EVENT}/visitors"), &user.access_token, &body)
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let id = response.json::<Value>().await.unwrap()["accreditation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (user, id)
}

pub async fn get(app: &TestApp, organizer: &TestUser, id: &str) -> Value {
    app.get_as(
        &format!("{EVENT}/accreditations/{id}"),
        &organizer.access_token,
    )
    .await
    .json()
    .await
    .unwrap()
}

pub async fn decide(
    app: &TestApp,
    organizer: &TestUser,
    id: &str,
    body: Value,
) -> reqwest::Response {
    app.post_as(
        &format!("{EVENT}/accreditations/{id}/decision"),
        &organizer.access_token,
        &body,
    )
    .await
}

/// Approves at the current version; returns the accreditation afterwards.
pub async fn approve(app: &TestApp, organizer: &TestUser, id: &str) -> Value {
    let version = get(app, organizer, id).await["version"].clone();
    let response = decide(
        app,
        organizer,
        id,
        json!({"decision": "approve", "version": version}),
    )
    .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Approves `ids` in one bulk request; returns the per-id results.
pub async fn approve_all(app: &TestApp, organizer: &TestUser, ids: &[&str]) -> Value {
    let response = app
        .post_as(
            &format!("{EVENT}/accreditations/decisions"),
            &organizer.access_token,
            &json!({"ids": ids, "decision": "approve"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

pub fn delegation(lead_email: &str, limit: i64) -> Value {
    json!({"country": "TR", "name": "Ministry of National Defence of Türkiye", "kind": "government",
           "protocol_level": "vip", "arrival_on": "2026-11-23", "departure_on": "2026-11-27",
           "member_limit": limit, "lead_email": lead_email, "lead_name": "Col. Emre Aydın", "lead_locale": "en"})
}

pub async fn create(app: &TestApp, organizer: &TestUser, body: &Value) -> String {
    let response = app
        .post_as(
            &format!("{EVENT}/delegations"),
            &organizer.access_token,
            body,
        )
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The token of the `n`-th invitation email to `email`.
pub async fn invitation_token(app: &TestApp, email: &str, n: usize) -> String {
    let mail = app.smtp.wait_for_mail_to(email, n).await;
    let link = mail.link("http://localhost:3000/invitations/");
    link.rsplit('/').next().unwrap().to_owned()
}

pub async fn accept(
    app: &TestApp,
    token: &str,
    body: &Value,
    as_user: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(&format!("/api/v1/invitations/{token}/accept")))
        .json(body);
    if let Some(access) = as_user {
        request = request.bearer_auth(access);
    }
    request.send().await.unwrap()
}

/// A delegation whose new lead accepted and signed in.
pub async fn active_delegation(
    app: &TestApp,
    organizer: &TestUser,
    lead_email: &str,
    limit: i64,
) -> (String, String) {
    let id = create(app, organizer, &delegation(lead_email, limit)).await;
    let token = invitation_token(app, lead_email, 1).await;
    let accepted = accept(
        app,
        &token,
        &json!({"full_name": "Emre Aydın", "password": "Anitkabir-Ankara-1938"}),
        None,
    )
    .await;
    assert_eq!(accepted.status(), 201);
    let login: Value = app
        .login(lead_email, "Anitkabir-Ankara-1938")
        .await
        .json()
        .await
        .unwrap();
    (id, login["access_token"].as_str().unwrap().to_owned())
}

/// A gate device registered by `organizer` for the event `slug` (gate `north-1`, the zones
/// `zones`) and enrolled: the enrollment's answer (`token`, `device_id`, …).
pub async fn enrolled_device(
    app: &TestApp,
    organizer: &TestUser,
    slug: &str,
    name: &str,
    zones: &[&str],
) -> Value {
    let registered = app
        .post_as(
            &format!("/api/v1/events/{slug}/gate-devices"),
            &organizer.access_token,
            &json!({"name": name, "gates": ["north-1"], "zones": zones}),
        )
        .await;
    assert_eq!(registered.status(), 201);
    let registered: Value = registered.json().await.unwrap();
    let enrolled = app
        .post_json(
            "/api/v1/gate-devices/enroll",
            &json!({"code": registered["enrollment_code"]}),
        )
        .await;
    assert_eq!(enrolled.status(), 200);
    enrolled.json().await.unwrap()
}

pub async fn audit_actions(app: &TestApp, action: &str) -> i64 {
    use bamex::db::schema::audit_records::dsl;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    dsl::audit_records
        .filter(dsl::action.eq(action))
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap()
}

/// Uploads a `png(width, height)` as participant `participant`'s photo, as `token`'s holder.
pub async fn put_photo(
    app: &TestApp,
    token: &str,
    participant: &str,
    (width, height): (u32, u32),
) -> reqwest::Response {
    app.client
        .put(app.url(&format!("{EVENT}/participants/{participant}/photo")))
        .bearer_auth(token)
        .header("content-type", "image/png")
        .body(png(width, height))
        .send()
        .await
        .unwrap()
}

pub fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .unwrap();
    bytes
}
