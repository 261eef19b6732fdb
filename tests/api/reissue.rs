//! Lost, stolen or damaged badges: reissue, report-lost, the organizers' request queue, and the
//! gates' verdicts on the badges that ended.

use bamex::users::Role;
use serde_json::{Value, json};

use crate::fixtures::{
    EVENT, apply, approve, approve_exhibitor, booth, company, event_from_today, get, person,
    visitor,
};
use crate::helpers::{TestApp, TestUser, assert_problem, spawn_app};

async fn scan(app: &TestApp, agent: &TestUser, qr: &str) -> Value {
    let response = app
        .post_as(
            &format!("{EVENT}/scans"),
            &agent.access_token,
            &json!({"qr": qr, "gate": "north-1", "zone": "exhibition_halls", "direction": "in"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn reissue(app: &TestApp, organizer: &TestUser, id: &str, body: &Value) -> reqwest::Response {
    app.post_as(
        &format!("{EVENT}/accreditations/{id}/reissue"),
        &organizer.access_token,
        body,
    )
    .await
}

async fn report_lost(app: &TestApp, user: &TestUser, id: &str) -> reqwest::Response {
    app.post_as(
        &format!("{EVENT}/accreditations/{id}/report-lost"),
        &user.access_token,
        &json!({}),
    )
    .await
}

fn qr(accreditation: &Value) -> String {
    accreditation["badge"]["qr"].as_str().unwrap().to_owned()
}

/// Waits (up to 20 s) for an email to `address` whose text mentions `needle`.
async fn wait_for_mail_mentioning(app: &TestApp, address: &str, needle: &str) -> String {
    for _ in 0..400 {
        if let Some(mail) = app
            .smtp
            .to(address)
            .into_iter()
            .find(|mail| mail.text().contains(needle))
        {
            return mail.subject();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no email to {address} mentions {needle}");
}

#[tokio::test]
async fn a_reissued_badge_opens_the_gates_and_the_old_one_is_superseded() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let agent = app.user_with_roles(&[Role::GateAgent]).await;
    let (holder, id) = visitor(&app, "trade_visitor", "Keïta", "R1000001").await;
    let approved = approve(&app, &organizer, &id).await;
    let old_qr = qr(&approved);
    let old_number = approved["badge"]["number"].as_str().unwrap().to_owned();
    let printed = app
        .get_as(
            &format!("{EVENT}/accreditations/{id}/badge.pdf"),
            &organizer.access_token,
        )
        .await;
    assert_eq!(printed.status(), 200);
    assert_eq!(get(&app, &organizer, &id).await["badge"]["prints"], 1);

    // A reason is required, and only organizers reissue.
    let missing = reissue(&app, &organizer, &id, &json!({})).await;
    assert_problem(missing, 422, "validation_failed").await;
    let blank = reissue(&app, &organizer, &id, &json!({"reason": "  "})).await;
    assert_problem(blank, 422, "validation_failed").await;
    let by_holder = reissue(&app, &holder, &id, &json!({"reason": "damaged"})).await;
    assert_eq!(by_holder.status(), 403);

    let response = reissue(&app, &organizer, &id, &json!({"reason": "Badge damaged"})).await;
    assert_eq!(response.status(), 200);
    let reissued: Value = response.json().await.unwrap();
    let new_qr = qr(&reissued);
    assert_ne!(new_qr, old_qr);
    assert_eq!(reissued["badge"]["number"], format!("{old_number}-2"));
    assert_eq!(reissued["badge"]["prints"], 0, "the reprint count restarts");
    let history = reissued["badge_history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["number"], old_number.as_str());
    assert_eq!(history[0]["end_reason"], "superseded");
    assert!(history[0]["ended_at"].is_string());
    assert_eq!(history[0]["prints"], 1);
    assert!(history[1]["ended_at"].is_null());
    assert!(reissued["reissue_request"].is_null());

    let new_scan = scan(&app, &agent, &new_qr).await;
    assert_eq!(new_scan["verdict"], "allowed");
    assert_eq!(
        new_scan["holder"]["badge_number"],
        format!("{old_number}-2")
    );
    let old_scan = scan(&app, &agent, &old_qr).await;
    assert_eq!(old_scan["verdict"], "denied");
    assert_eq!(old_scan["reason"], "superseded");

    wait_for_mail_mentioning(&app, &holder.email, &format!("{old_number}-2")).await;
    assert_eq!(
        crate::fixtures::audit_actions(&app, "accreditation.reissued").await,
        1
    );

    // A third badge is the `-3`.
    let again = reissue(&app, &organizer, &id, &json!({"reason": "Stolen"})).await;
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["badge"]["number"], format!("{old_number}-3"));
    assert_eq!(
        scan(&app, &agent, &new_qr).await["reason"],
        "superseded",
        "the second badge is superseded too"
    );
}

#[tokio::test]
async fn only_an_issued_badge_is_reissued_or_reported() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (holder, pending) = visitor(&app, "trade_visitor", "Traoré", "R2000001").await;
    let response = reissue(&app, &organizer, &pending, &json!({"reason": "Lost"})).await;
    assert_problem(response, 409, "no_badge").await;
    assert_problem(report_lost(&app, &holder, &pending).await, 409, "no_badge").await;
    let unknown = uuid::Uuid::now_v7();
    let response = reissue(
        &app,
        &organizer,
        &unknown.to_string(),
        &json!({"reason": "Lost"}),
    )
    .await;
    assert_eq!(response.status(), 404);
}

/// An approved exhibitor's owner and one of its staff's accreditation ids, approved.
async fn approved_staff(app: &TestApp, organizer: &TestUser, name: &str) -> (TestUser, String) {
    let (owner, exhibitor) = apply(app, &company(name, "TR")).await;
    approve_exhibitor(app, organizer, &exhibitor).await;
    let booked = booth(
        app,
        organizer,
        &exhibitor,
        &format!("R-{}", name.len()),
        18.0,
    )
    .await;
    assert_eq!(booked.status(), 200);
    let created = app
        .post_as(
            &format!("{EVENT}/exhibitors/{exhibitor}/staff"),
            &owner.access_token,
            &person(
                "Kaya",
                &format!("K{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
            ),
        )
        .await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let id = created["accreditation"]["id"].as_str().unwrap().to_owned();
    approve(app, organizer, &id).await;
    (owner, id)
}

#[tokio::test]
async fn a_lost_badge_report_blocks_it_at_once_and_queues_a_reissue() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let agent = app.user_with_roles(&[Role::GateAgent]).await;
    let (holder, id) = visitor(&app, "trade_visitor", "Diarra", "R3000001").await;
    let approved = approve(&app, &organizer, &id).await;
    let lost_qr = qr(&approved);
    let lost_number = approved["badge"]["number"].as_str().unwrap().to_owned();
    assert_eq!(scan(&app, &agent, &lost_qr).await["verdict"], "allowed");

    // Someone else (another visitor, another company) can neither report it nor see the queue.
    let (stranger, _) = visitor(&app, "trade_visitor", "Sangaré", "R3000002").await;
    assert_eq!(report_lost(&app, &stranger, &id).await.status(), 404);
    let (other_owner, _) = approved_staff(&app, &organizer, "Aselsan").await;
    assert_eq!(report_lost(&app, &other_owner, &id).await.status(), 404);
    for user in [&holder, &other_owner] {
        let listed = app
            .get_as(&format!("{EVENT}/reissue-requests"), &user.access_token)
            .await;
        assert_eq!(listed.status(), 403);
    }

    let reported = report_lost(&app, &holder, &id).await;
    assert_eq!(reported.status(), 201);
    let request: Value = reported.json().await.unwrap();
    assert_eq!(request["state"], "open");
    assert_eq!(request["reported_by"], holder.id.to_string());
    let denied = scan(&app, &agent, &lost_qr).await;
    assert_eq!(denied["verdict"], "denied");
    assert_eq!(denied["reason"], "reported_lost");
    // The holder sees the loss, not a clearance that would never come.
    let mine: Value = app
        .get_as("/api/v1/me/accreditations", &holder.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"][0]["reported_lost"], true);
    assert_eq!(mine["items"][0]["awaiting_clearance"], false);
    assert!(mine["items"][0]["badge"].is_null());

    // Twice: the same open request, no second one.
    let again = report_lost(&app, &holder, &id).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap()["id"], request["id"]);

    let queue: Value = app
        .get_as(
            &format!("{EVENT}/reissue-requests?state=open"),
            &organizer.access_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue["total"], 1);
    assert_eq!(queue["items"][0]["id"], request["id"]);
    assert_eq!(queue["items"][0]["lost_badge_number"], lost_number.as_str());
    assert_eq!(queue["items"][0]["last_name"], "Diarra");
    let seen = get(&app, &organizer, &id).await;
    assert!(seen["badge"].is_null());
    assert_eq!(seen["awaiting_clearance"], false);
    assert_eq!(seen["reissue_request"]["id"], request["id"]);
    assert_eq!(seen["badge_history"][0]["end_reason"], "reported_lost");
    let printed = app
        .get_as(
            &format!("{EVENT}/accreditations/{id}/badge.pdf"),
            &holder.access_token,
        )
        .await;
    assert_problem(printed, 409, "no_badge").await;

    // The reissue closes the request; the lost badge stays denied as lost.
    let response = reissue(&app, &organizer, &id, &json!({"reason": "Reported lost"})).await;
    assert_eq!(response.status(), 200);
    let reissued: Value = response.json().await.unwrap();
    assert_eq!(reissued["badge"]["number"], format!("{lost_number}-2"));
    assert!(reissued["reissue_request"].is_null());
    let history = reissued["badge_history"].as_array().unwrap();
    assert_eq!(history[0]["end_reason"], "reported_lost");
    assert_eq!(history[0]["ended_at"], seen["badge_history"][0]["ended_at"]);
    assert_eq!(
        scan(&app, &agent, &qr(&reissued)).await["verdict"],
        "allowed"
    );
    assert_eq!(
        scan(&app, &agent, &lost_qr).await["reason"],
        "reported_lost"
    );
    let queue: Value = app
        .get_as(
            &format!("{EVENT}/reissue-requests"),
            &organizer.access_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue["items"][0]["state"], "done");
    assert_eq!(queue["items"][0]["closed_by"], organizer.id.to_string());
    assert!(queue["items"][0]["new_badge_id"].is_string());
    let open: Value = app
        .get_as(
            &format!("{EVENT}/reissue-requests?state=open"),
            &organizer.access_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(open["total"], 0);
    assert_eq!(
        crate::fixtures::audit_actions(&app, "accreditation.reported_lost").await,
        1
    );
}

#[tokio::test]
async fn whoever_registered_a_person_reports_their_badge_and_other_companies_cannot() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (owner, staff) = approved_staff(&app, &organizer, "Roketsan").await;
    let (other_owner, _) = approved_staff(&app, &organizer, "Otokar-Savunma").await;
    assert_eq!(report_lost(&app, &other_owner, &staff).await.status(), 404);
    assert!(get(&app, &organizer, &staff).await["badge"].is_object());
    assert_eq!(report_lost(&app, &owner, &staff).await.status(), 201);
    assert!(get(&app, &organizer, &staff).await["badge"].is_null());
}
