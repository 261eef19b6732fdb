//! The badge rules of an event (category × zone × day matrix, build-up and tear-down days,
//! protocol levels) and per-person badge overrides, end to end: rules → issued QR → gate.

use bamex::users::Role;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

use crate::fixtures::{
    EVENT, apply, approve, approve_exhibitor, audit_actions, booth, delegation, get, person,
    visitor,
};
use crate::gates::{scan, verify_with_pyjwt};
use crate::helpers::{TestApp, TestUser, assert_problem, spawn_app};

fn day(n: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(n)).to_string()
}

/// An open event whose build-up day is today, the show tomorrow and the day after, tear-down
/// the day after that; nobody's approval needs four eyes and nobody is vetted.
async fn event_building_up_today(app: &TestApp) -> TestUser {
    let admin = app.user_with_roles(&[Role::Admin]).await;
    let response = app
        .post_as(
            "/api/v1/events",
            &admin.access_token,
            &json!({"slug": "bamex-2026", "name": "BAMEX'26", "venue": "Bamako",
                    "starts_on": day(1), "ends_on": day(2), "public_days": [day(2)],
                    "build_up_days": [day(0)], "tear_down_days": [day(3)],
                    "status": "open", "auto_approve_public": true,
                    "sensitive_categories": [], "vetting_categories": []}),
        )
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let event: Value = response.json().await.unwrap();
    assert_eq!(event["build_up_days"], json!([day(0)]));
    assert_eq!(event["tear_down_days"], json!([day(3)]));
    admin
}

/// An open event running from today for three days, with the same reviewers' settings.
async fn event_from_today(app: &TestApp) -> TestUser {
    let admin = app.user_with_roles(&[Role::Admin]).await;
    let response = app
        .post_as(
            "/api/v1/events",
            &admin.access_token,
            &json!({"slug": "bamex-2026", "name": "BAMEX'26", "venue": "Bamako",
                    "starts_on": day(0), "ends_on": day(2), "public_days": [day(1)],
                    "status": "open", "auto_approve_public": true,
                    "sensitive_categories": [], "vetting_categories": []}),
        )
        .await;
    assert_eq!(response.status(), 201);
    admin
}

fn claims_of(qr: &str) -> Value {
    serde_json::from_slice(&B64.decode(qr.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

fn reason(result: &Value) -> &str {
    result["reason"].as_str().unwrap_or("allowed")
}

async fn put_rules(app: &TestApp, token: &str, rules: &Value) -> reqwest::Response {
    app.request_as(reqwest::Method::PUT, &format!("{EVENT}/badge-rules"), token)
        .json(rules)
        .send()
        .await
        .unwrap()
}

async fn put_override(app: &TestApp, token: &str, id: &str, body: &Value) -> reqwest::Response {
    app.request_as(
        reqwest::Method::PUT,
        &format!("{EVENT}/accreditations/{id}/badge-override"),
        token,
    )
    .json(body)
    .send()
    .await
    .unwrap()
}

fn rule_of<'a>(rules: &'a mut Value, category: &str) -> &'a mut Value {
    rules["categories"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|rule| rule["category"] == category)
        .unwrap()
}

#[tokio::test]
async fn an_event_matrix_unlike_the_defaults_is_what_badges_and_gates_follow() {
    let app = spawn_app().await;
    let admin = event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let agent = app.user_with_roles(&[Role::GateAgent]).await;

    let mut rules: Value = app
        .get_as(&format!("{EVENT}/badge-rules"), &admin.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        rule_of(&mut rules, "trade_visitor")["zones"],
        json!(["exhibition_halls", "static_display", "conference_rooms"])
    );
    // Media get the range; trade visitors lose the conference rooms.
    rule_of(&mut rules, "media")["zones"] = json!([
        "exhibition_halls",
        "static_display",
        "conference_rooms",
        "press_centre",
        "demonstration_range"
    ]);
    rule_of(&mut rules, "trade_visitor")["zones"] = json!(["exhibition_halls", "static_display"]);
    let replaced = put_rules(&app, &admin.access_token, &rules).await;
    assert_eq!(replaced.status(), 200);
    assert_eq!(audit_actions(&app, "event.badge_rules_replaced").await, 1);
    let event: Value = app.get(EVENT).await.json().await.unwrap();
    assert!(
        event["range_categories"]
            .as_array()
            .unwrap()
            .contains(&json!("media"))
    );

    let (_, trade) = visitor(&app, "trade_visitor", "Konaté", "G1000001").await;
    let trade_qr = approve(&app, &organizer, &trade).await["badge"]["qr"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        claims_of(&trade_qr)["zones"],
        json!(["exhibition_halls", "static_display"])
    );
    assert_eq!(
        reason(&scan(&app, &agent, &trade_qr, "conference_rooms", "in").await),
        "zone_not_allowed"
    );
    assert_eq!(
        reason(&scan(&app, &agent, &trade_qr, "exhibition_halls", "in").await),
        "allowed"
    );

    let (_, media) = visitor(&app, "media", "Diarra", "G1000002").await;
    let media_qr = approve(&app, &organizer, &media).await["badge"]["qr"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        claims_of(&media_qr)["zones"]
            .as_array()
            .unwrap()
            .contains(&json!("demonstration_range"))
    );
    assert_eq!(
        reason(&scan(&app, &agent, &media_qr, "demonstration_range", "in").await),
        "allowed"
    );
}

#[tokio::test]
async fn badge_rules_are_for_admins_and_invalid_ones_are_refused() {
    let app = spawn_app().await;
    let admin = event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let path = format!("{EVENT}/badge-rules");
    assert_problem(
        app.get_as(&path, &organizer.access_token).await,
        403,
        "forbidden",
    )
    .await;
    let mut rules: Value = app
        .get_as(&path, &admin.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_problem(
        put_rules(&app, &organizer.access_token, &rules).await,
        403,
        "forbidden",
    )
    .await;

    // A date outside the event, a category left out, a zone nobody knows.
    rule_of(&mut rules, "vip")["dates"] = json!([day(40)]);
    let outside = put_rules(&app, &admin.access_token, &rules).await;
    let problem = assert_problem(outside, 422, "validation_failed").await;
    assert!(problem.to_string().contains("dates"), "{problem}");
    rule_of(&mut rules, "vip")["dates"] = json!([]);
    rules["categories"]
        .as_array_mut()
        .unwrap()
        .retain(|rule| rule["category"] != "contractor");
    let missing = put_rules(&app, &admin.access_token, &rules).await;
    let problem = assert_problem(missing, 422, "validation_failed").await;
    assert!(problem.to_string().contains("contractor"), "{problem}");
    let mut unknown = rules.clone();
    unknown["categories"][0]["zones"] = json!(["koulikoro_beach"]);
    assert_problem(
        put_rules(&app, &admin.access_token, &unknown).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(audit_actions(&app, "event.badge_rules_replaced").await, 0);
}

#[tokio::test]
async fn exhibitor_staff_are_let_in_on_a_build_up_day_and_visitors_are_not() {
    let app = spawn_app().await;
    event_building_up_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let agent = app.user_with_roles(&[Role::GateAgent]).await;
    let (owner, exhibitor) = apply(&app, &crate::fixtures::company("Kurulum A.Ş.", "TR")).await;
    approve_exhibitor(&app, &organizer, &exhibitor).await;
    assert_eq!(
        booth(&app, &organizer, &exhibitor, "B-1", 18.0)
            .await
            .status(),
        200
    );
    let staff: Value = app
        .post_as(
            &format!("{EVENT}/exhibitors/{exhibitor}/staff"),
            &owner.access_token,
            &person("Demir", "P1234567"),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = staff["accreditation"]["id"].as_str().unwrap();
    let badge = approve(&app, &organizer, id).await["badge"].clone();
    assert_eq!(badge["valid_days"], json!([day(0), day(1), day(2)]));
    let qr = badge["qr"].as_str().unwrap();
    assert_eq!(
        reason(&scan(&app, &agent, qr, "exhibition_halls", "in").await),
        "allowed"
    );
    // The badge runs to the last tear-down day.
    assert!(
        claims_of(qr)["exp"].as_i64().unwrap()
            > (chrono::Utc::now() + chrono::Duration::days(3)).timestamp()
    );

    let (_, trade) = visitor(&app, "trade_visitor", "Konaté", "G1000001").await;
    let trade_qr = approve(&app, &organizer, &trade).await["badge"]["qr"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        reason(&scan(&app, &agent, &trade_qr, "exhibition_halls", "in").await),
        "not_valid_today"
    );

    // A stand builder, entered by the accreditation office: build-up and tear-down days only.
    let office = app.user_with_roles(&[Role::Organizer]).await;
    let entered = app
        .post_as(
            &format!("{EVENT}/accreditations"),
            &office.access_token,
            &json!({"participant": person("Yapı", "C7000001"), "category": "contractor"}),
        )
        .await;
    assert_eq!(entered.status(), 201, "{}", entered.text().await.unwrap());
    let contractor: Value = entered.json().await.unwrap();
    let badge =
        approve(&app, &organizer, contractor["id"].as_str().unwrap()).await["badge"].clone();
    assert_eq!(badge["valid_days"], json!([day(0), day(3)]));
    assert_eq!(
        reason(
            &scan(
                &app,
                &agent,
                badge["qr"].as_str().unwrap(),
                "exhibition_halls",
                "in"
            )
            .await
        ),
        "allowed"
    );
}

#[tokio::test]
async fn vip_delegation_members_enter_the_vip_lounge_and_standard_members_do_not() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let agent = app.user_with_roles(&[Role::GateAgent]).await;
    let mut qrs = Vec::new();
    for (level, lead_email, document) in [
        ("vip", "vip@defense.gouv.tr", "M1000001"),
        ("standard", "std@defense.gouv.tr", "M1000002"),
    ] {
        let mut body = delegation(lead_email, 3);
        body["protocol_level"] = json!(level);
        body["name"] = json!(format!("Delegation {level}"));
        let id = crate::fixtures::create(&app, &organizer, &body).await;
        let token = crate::fixtures::invitation_token(&app, lead_email, 1).await;
        let accepted = crate::fixtures::accept(
            &app,
            &token,
            &json!({"full_name": "Emre Aydın", "password": "Anitkabir-Ankara-1938"}),
            None,
        )
        .await;
        assert_eq!(accepted.status(), 201);
        let lead: Value = app
            .login(lead_email, "Anitkabir-Ankara-1938")
            .await
            .json()
            .await
            .unwrap();
        let member: Value = app
            .post_as(
                &format!("{EVENT}/delegations/{id}/members"),
                lead["access_token"].as_str().unwrap(),
                &person(&format!("Üye{level}"), document),
            )
            .await
            .json()
            .await
            .unwrap();
        let accreditation = member["accreditation"]["id"].as_str().unwrap();
        let approved = approve(&app, &organizer, accreditation).await;
        assert_eq!(approved["protocol_level"], level);
        qrs.push(approved["badge"]["qr"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        reason(&scan(&app, &agent, &qrs[0], "vip_lounge", "in").await),
        "allowed"
    );
    assert_eq!(
        reason(&scan(&app, &agent, &qrs[1], "vip_lounge", "in").await),
        "zone_not_allowed"
    );
    assert_eq!(
        reason(&scan(&app, &agent, &qrs[1], "exhibition_halls", "in").await),
        "allowed"
    );
}

#[tokio::test]
async fn an_override_re_signs_the_badge_and_the_old_qr_is_denied() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let agent = app.user_with_roles(&[Role::GateAgent]).await;
    let (visitor_user, id) = visitor(&app, "trade_visitor", "Traoré", "G2000001").await;
    let first = approve(&app, &organizer, &id).await["badge"].clone();
    let old_qr = first["qr"].as_str().unwrap().to_owned();

    // Only organizers override, and a reason is required.
    let body = json!({"add_zones": ["vip_lounge"], "remove_zones": ["conference_rooms"],
                      "remove_days": [day(2)], "reason": "Invité du ministre"});
    assert_problem(
        put_override(&app, &visitor_user.access_token, &id, &body).await,
        403,
        "forbidden",
    )
    .await;
    let nobody = app.user_with_roles(&[Role::Exhibitor]).await;
    assert_problem(
        put_override(&app, &nobody.access_token, &id, &body).await,
        403,
        "forbidden",
    )
    .await;
    let mut no_reason = body.clone();
    no_reason["reason"] = json!("  ");
    assert_problem(
        put_override(&app, &organizer.access_token, &id, &no_reason).await,
        422,
        "validation_failed",
    )
    .await;
    let mut both = body.clone();
    both["add_zones"] = json!(["conference_rooms"]);
    assert_problem(
        put_override(&app, &organizer.access_token, &id, &both).await,
        422,
        "validation_failed",
    )
    .await;
    let mut outside = body.clone();
    outside["add_days"] = json!([day(30)]);
    assert_problem(
        put_override(&app, &organizer.access_token, &id, &outside).await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        put_override(
            &app,
            &organizer.access_token,
            "0190b6c4-0000-7000-8000-000000000000",
            &body,
        )
        .await,
        404,
        "not_found",
    )
    .await;

    let response = put_override(&app, &organizer.access_token, &id, &body).await;
    assert_eq!(response.status(), 200);
    let overridden: Value = response.json().await.unwrap();
    assert_eq!(
        overridden["badge_override"]["add_zones"],
        json!(["vip_lounge"])
    );
    assert_eq!(overridden["badge_override"]["reason"], "Invité du ministre");
    let badge = &overridden["badge"];
    assert_eq!(
        badge["number"],
        format!("{}-2", first["number"].as_str().unwrap())
    );
    assert_eq!(
        badge["zones"],
        json!(["exhibition_halls", "static_display", "vip_lounge"])
    );
    assert_eq!(badge["valid_days"], json!([day(0), day(1)]));
    assert_eq!(
        audit_actions(&app, "accreditation.badge_overridden").await,
        1
    );

    // The new QR, checked by an independent JWT library, carries the override.
    let new_qr = badge["qr"].as_str().unwrap();
    let jwks = app
        .get("/.well-known/jwks.json")
        .await
        .text()
        .await
        .unwrap();
    let verified = verify_with_pyjwt(&jwks, new_qr);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let claims: Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(
        claims["zones"],
        json!(["exhibition_halls", "static_display", "vip_lounge"])
    );
    assert_eq!(claims["days"], json!([day(0), day(1)]));

    assert_eq!(
        reason(&scan(&app, &agent, new_qr, "conference_rooms", "in").await),
        "zone_not_allowed"
    );
    assert_eq!(
        reason(&scan(&app, &agent, &old_qr, "conference_rooms", "in").await),
        "superseded"
    );
    assert_eq!(
        reason(&scan(&app, &agent, new_qr, "vip_lounge", "in").await),
        "allowed"
    );

    // Shown in the view and the CSV.
    let seen = get(&app, &organizer, &id).await;
    assert_eq!(
        seen["badge_override"]["remove_zones"],
        json!(["conference_rooms"])
    );
    let csv = app
        .get_as(
            &format!("{EVENT}/accreditations.csv"),
            &organizer.access_token,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.lines().next().unwrap().ends_with("badge_override"));
    assert!(csv.contains("+vip_lounge -conference_rooms"), "{csv}");
}

#[tokio::test]
async fn an_override_before_approval_is_in_the_first_badge() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (_, id) = visitor(&app, "trade_visitor", "Coulibaly", "G3000001").await;
    let response = put_override(
        &app,
        &organizer.access_token,
        &id,
        &json!({"add_zones": ["press_centre"], "reason": "Conférence de presse"}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let pending: Value = response.json().await.unwrap();
    assert!(pending["badge"].is_null());
    let badge = approve(&app, &organizer, &id).await["badge"].clone();
    assert!(!badge["number"].as_str().unwrap().ends_with("-2"));
    assert!(
        claims_of(badge["qr"].as_str().unwrap())["zones"]
            .as_array()
            .unwrap()
            .contains(&json!("press_centre"))
    );
    // Other events' organizers see nothing of it: the route is per event.
    let elsewhere = app
        .request_as(
            reqwest::Method::PUT,
            &format!("/api/v1/events/other-2026/accreditations/{id}/badge-override"),
            &organizer.access_token,
        )
        .json(&json!({"add_zones": ["vip_lounge"], "reason": "x"}))
        .send()
        .await
        .unwrap();
    assert_problem(elsewhere, 404, "not_found").await;
}
