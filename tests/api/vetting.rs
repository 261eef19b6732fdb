//! Security vetting: the officers' queue and decisions, the badge waiting for both tracks,
//! refusals (confidential, revoking at once), re-opening by corrections, overrules.

use bamex::users::Role;
use serde_json::{Value, json};

use crate::fixtures::{EVENT, approve, audit_actions, decide, event_from_today, get, visitor};
use crate::helpers::{TestApp, TestUser, assert_problem, spawn_app};

/// An event open from today that vets `categories`, with an organizer and an officer.
struct Vetting {
    app: TestApp,
    organizer: TestUser,
    officer: TestUser,
}

async fn vetting_event(categories: &[&str]) -> Vetting {
    let app = spawn_app().await;
    let admin = event_from_today(&app).await;
    let patched = app
        .patch_as(
            EVENT,
            &admin.access_token,
            &json!({"vetting_categories": categories}),
        )
        .await;
    assert_eq!(patched.status(), 200, "{}", patched.text().await.unwrap());
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let officer = app.user_with_roles(&[Role::VettingOfficer]).await;
    Vetting {
        app,
        organizer,
        officer,
    }
}

impl Vetting {
    async fn detail(&self, id: &str) -> Value {
        let response = self
            .app
            .get_as(&format!("{EVENT}/vetting/{id}"), &self.officer.access_token)
            .await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    async fn rule(&self, officer: &TestUser, id: &str, mut body: Value) -> reqwest::Response {
        if body.get("version").is_none() {
            body["version"] = self.detail(id).await["accreditation"]["version"].clone();
        }
        self.app
            .post_as(
                &format!("{EVENT}/vetting/{id}/decision"),
                &officer.access_token,
                &body,
            )
            .await
    }

    /// Decides as the officer, expecting success.
    async fn ruled(&self, id: &str, body: Value) -> Value {
        let response = self.rule(&self.officer, id, body).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    async fn scan(&self, qr: &str) -> Value {
        let agent = self.app.user_with_roles(&[Role::GateAgent]).await;
        let response = self
            .app
            .post_as(
                &format!("{EVENT}/scans"),
                &agent.access_token,
                &json!({"qr": qr, "gate": "north-1", "zone": "exhibition_halls", "direction": "in"}),
            )
            .await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    async fn badge_pdf(&self, id: &str) -> reqwest::Response {
        self.app
            .get_as(
                &format!("{EVENT}/accreditations/{id}/badge.pdf"),
                &self.organizer.access_token,
            )
            .await
    }
}

/// The emails enqueued to `address`, oldest first: (template, subject, badge attached).
async fn outbox_to(app: &TestApp, address: &str) -> Vec<(String, String, bool)> {
    use bamex::db::schema::outbox::dsl;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    dsl::outbox
        .filter(dsl::recipient.eq(address))
        .order(dsl::created_at)
        .select((
            dsl::template,
            dsl::subject,
            dsl::badge_accreditation_id.is_not_null(),
        ))
        .load(&mut app.conn().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_approval_before_clearance_issues_nothing_until_the_clearance() {
    let v = vetting_event(&["trade_visitor"]).await;
    let (visitor_user, id) = visitor(&v.app, "trade_visitor", "Traoré", "M1000001").await;
    let approved = approve(&v.app, &v.organizer, &id).await;
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["vetting_state"], "pending");
    assert_eq!(approved["awaiting_clearance"], true);
    assert!(
        approved["badge"].is_null(),
        "no badge, no QR before clearance"
    );
    assert_problem(v.badge_pdf(&id).await, 409, "awaiting_clearance").await;
    let mine: Value = v
        .app
        .get_as("/api/v1/me/accreditations", &visitor_user.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"][0]["status"], "approved");
    assert_eq!(mine["items"][0]["awaiting_clearance"], true);
    assert!(mine["items"][0]["badge"].is_null());
    let sent = outbox_to(&v.app, &visitor_user.email).await;
    assert_eq!(
        sent.len(),
        1,
        "only the registration was acknowledged: {sent:?}"
    );
    assert_eq!(sent[0].0, "registration_received");

    let cleared = v
        .ruled(
            &id,
            json!({"state": "cleared", "reference": "DGSE-2026-0001"}),
        )
        .await;
    assert_eq!(cleared["vetting_state"], "cleared");
    let now = get(&v.app, &v.organizer, &id).await;
    assert_eq!(now["awaiting_clearance"], false);
    let number = now["badge"]["number"].as_str().unwrap().to_owned();
    assert!(now["badge"]["qr"].is_string());
    assert_eq!(v.badge_pdf(&id).await.status(), 200);
    let mail = v.app.smtp.wait_for_mail_to(&visitor_user.email, 2).await;
    assert!(mail.text().contains(&number), "{}", mail.text());
    assert_eq!(mail.attachments(), [format!("{number}.pdf")]);
    assert_eq!(outbox_to(&v.app, &visitor_user.email).await.len(), 2);
    assert_eq!(audit_actions(&v.app, "vetting.cleared").await, 1);
}

#[tokio::test]
async fn a_clearance_before_the_approval_lets_the_approval_issue_the_badge() {
    let v = vetting_event(&["trade_visitor"]).await;
    let (visitor_user, id) = visitor(&v.app, "trade_visitor", "Keïta", "M1000002").await;
    v.ruled(&id, json!({"state": "cleared"})).await;
    let sent = outbox_to(&v.app, &visitor_user.email).await;
    assert_eq!(sent.len(), 1, "a clearance alone tells nobody: {sent:?}");
    let approved = approve(&v.app, &v.organizer, &id).await;
    assert_eq!(approved["awaiting_clearance"], false);
    assert!(approved["badge"]["number"].is_string());
    let mail = v.app.smtp.wait_for_mail_to(&visitor_user.email, 2).await;
    assert_eq!(mail.attachments().len(), 1);
}

#[tokio::test]
async fn a_refusal_after_issue_revokes_the_badge_at_the_next_scan_and_says_only_not_granted() {
    let v = vetting_event(&["trade_visitor"]).await;
    let (visitor_user, id) = visitor(&v.app, "trade_visitor", "Coulibaly", "M1000003").await;
    v.ruled(&id, json!({"state": "cleared"})).await;
    let qr = approve(&v.app, &v.organizer, &id).await["badge"]["qr"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(v.scan(&qr).await["verdict"], "allowed");

    let note = "Listed by the services under file 77-B; do not disclose";
    v.ruled(
        &id,
        json!({"state": "refused", "note": note, "reference": "DGSE-77-B"}),
    )
    .await;
    let denied = v.scan(&qr).await;
    assert_eq!(denied["verdict"], "denied");
    assert_eq!(denied["reason"], "revoked");

    let seen = get(&v.app, &v.organizer, &id).await;
    assert_eq!(seen["status"], "rejected");
    assert_eq!(seen["decision_reason"], "not_granted");
    assert_eq!(seen["vetting_state"], "refused");
    assert!(
        !seen.to_string().contains("77-B"),
        "organizers see no note: {seen}"
    );
    let mail = v.app.smtp.wait_for_mail_to(&visitor_user.email, 3).await;
    assert!(mail.subject().contains("not granted") || mail.subject().contains("refusée"));
    for part in [mail.text(), mail.html(), mail.subject()] {
        assert!(!part.contains("77-B"), "{part}");
        assert!(!part.contains("not_granted"), "{part}");
    }
    // Organizers cannot approve over it.
    let version = seen["version"].clone();
    assert_problem(
        decide(
            &v.app,
            &v.organizer,
            &id,
            json!({"decision": "approve", "version": version}),
        )
        .await,
        409,
        "vetting_refused",
    )
    .await;
    // Their queue shows refusals.
    let refused: Value = v
        .app
        .get_as(
            &format!("{EVENT}/accreditations?vetting_state=refused"),
            &v.organizer.access_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(refused["total"], 1);
    assert_eq!(refused["items"][0]["vetting_state"], "refused");
    // The note stays in the officers' history.
    let history = &v.detail(&id).await["history"];
    assert_eq!(history[1]["note"], note);
    assert_eq!(audit_actions(&v.app, "vetting.refused").await, 1);
}

#[tokio::test]
async fn an_overruled_refusal_goes_back_to_the_organizers_and_gets_a_new_badge() {
    let v = vetting_event(&["trade_visitor"]).await;
    let (_, id) = visitor(&v.app, "trade_visitor", "Diarra", "M1000004").await;
    v.ruled(&id, json!({"state": "cleared"})).await;
    let first = approve(&v.app, &v.organizer, &id).await["badge"].clone();
    let first_qr = first["qr"].as_str().unwrap().to_owned();
    v.ruled(
        &id,
        json!({"state": "refused", "note": "Hit on a watch list"}),
    )
    .await;

    let second_officer = v.app.user_with_roles(&[Role::VettingOfficer]).await;
    // An overrule needs its reason.
    assert_problem(
        v.rule(&second_officer, &id, json!({"state": "cleared"}))
            .await,
        422,
        "validation_failed",
    )
    .await;
    let overruled = v
        .rule(
            &second_officer,
            &id,
            json!({"state": "cleared", "note": "Namesake: date of birth differs"}),
        )
        .await;
    assert_eq!(overruled.status(), 200);
    let pending = get(&v.app, &v.organizer, &id).await;
    assert_eq!(pending["status"], "pending");
    assert!(pending["badge"].is_null());
    let again = approve(&v.app, &v.organizer, &id).await;
    let number = again["badge"]["number"].as_str().unwrap();
    assert_eq!(number, format!("{}-2", first["number"].as_str().unwrap()));
    let new_qr = again["badge"]["qr"].as_str().unwrap();
    assert_ne!(new_qr, first_qr);
    assert_eq!(v.scan(&first_qr).await["reason"], "revoked");
    assert_eq!(v.scan(new_qr).await["verdict"], "allowed");
    let history = &v.detail(&id).await["history"];
    assert_eq!(history[2]["overrules"], history[1]["id"]);
}

#[tokio::test]
async fn a_request_for_information_reaches_the_applicant_and_their_correction_reopens_it() {
    let v = vetting_event(&["trade_visitor"]).await;
    let (visitor_user, id) = visitor(&v.app, "trade_visitor", "Sidibé", "M1000005").await;
    assert_problem(
        v.rule(&v.officer, &id, json!({"state": "info_requested"}))
            .await,
        422,
        "validation_failed",
    )
    .await;
    v.ruled(
        &id,
        json!({"state": "info_requested", "note": "internal: check the spelling",
               "message": "Please give your name as on your passport."}),
    )
    .await;
    let mine: Value = v
        .app
        .get_as(&format!("{EVENT}/visitors/me"), &visitor_user.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["accreditation"]["status"], "info_requested");
    let mail = v.app.smtp.wait_for_mail_to(&visitor_user.email, 2).await;
    assert!(
        mail.text()
            .contains("Please give your name as on your passport.")
    );
    assert!(!mail.text().contains("internal"));

    correct(&v.app, &visitor_user, "Sidibe").await;
    let detail = v.detail(&id).await;
    assert_eq!(detail["accreditation"]["vetting_state"], "pending");
    assert_eq!(get(&v.app, &v.organizer, &id).await["status"], "pending");
}

/// The visitor corrects their registration with `last_name`.
async fn correct(app: &TestApp, visitor_user: &TestUser, last_name: &str) {
    let mut body = crate::fixtures::person(last_name, "M1000005");
    body["email"] = json!(visitor_user.email);
    body["category"] = json!("trade_visitor");
    let response = app
        .client
        .put(app.url(&format!("{EVENT}/visitors/me")))
        .bearer_auth(&visitor_user.access_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

#[tokio::test]
async fn a_correction_of_identity_reopens_a_clearance_and_others_do_not() {
    let v = vetting_event(&["trade_visitor"]).await;
    let (visitor_user, id) = visitor(&v.app, "trade_visitor", "Sangaré", "M1000005").await;
    v.ruled(&id, json!({"state": "cleared"})).await;
    // The same identity sent again: still cleared.
    correct(&v.app, &visitor_user, "Sangaré").await;
    assert_eq!(
        v.detail(&id).await["accreditation"]["vetting_state"],
        "cleared"
    );
    correct(&v.app, &visitor_user, "Sangare").await;
    let detail = v.detail(&id).await;
    assert_eq!(detail["accreditation"]["vetting_state"], "pending");
    assert!(detail["history"][1]["officer_id"].is_null());
}

#[tokio::test]
async fn officers_see_masked_numbers_in_the_queue_and_reading_one_in_full_is_audited() {
    let v = vetting_event(&["trade_visitor"]).await;
    let (_, id) = visitor(&v.app, "trade_visitor", "Touré", "M1234567").await;
    // Public visitors are not vetted at this event: not in the queue.
    visitor(&v.app, "public_visitor", "Dembélé", "M7654321").await;
    let queue: Value = v
        .app
        .get_as(&format!("{EVENT}/vetting"), &v.officer.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue["total"], 1);
    let item = &queue["items"][0];
    assert_eq!(item["accreditation_id"], id.as_str());
    assert_eq!(item["person"]["id_document_number"], "••••4567");
    assert_eq!(item["person"]["last_name"], "Touré");
    assert_eq!(item["vetting_state"], "pending");
    assert_eq!(audit_actions(&v.app, "vetting.document_read").await, 0);
    let head = v
        .app
        .client
        .head(v.app.url(&format!("{EVENT}/vetting/{id}")))
        .bearer_auth(&v.officer.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        audit_actions(&v.app, "vetting.document_read").await,
        0,
        "a HEAD shows nothing, so it reads nothing"
    );
    let detail = v.detail(&id).await;
    assert_eq!(
        detail["accreditation"]["person"]["id_document_number"],
        "M1234567"
    );
    assert_eq!(audit_actions(&v.app, "vetting.document_read").await, 1);
    let filtered: Value = v
        .app
        .get_as(
            &format!("{EVENT}/vetting?vetting_state=cleared"),
            &v.officer.access_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(filtered["total"], 0);
}

#[tokio::test]
async fn officers_cannot_read_the_review_and_organizers_cannot_clear() {
    let v = vetting_event(&["trade_visitor"]).await;
    let (_, id) = visitor(&v.app, "trade_visitor", "Cissé", "M1000006").await;
    for path in [
        format!("{EVENT}/accreditations"),
        format!("{EVENT}/accreditations/{id}"),
        format!("{EVENT}/accreditations.csv"),
    ] {
        assert_problem(
            v.app.get_as(&path, &v.officer.access_token).await,
            403,
            "forbidden",
        )
        .await;
    }
    let admin = v.app.user_with_roles(&[Role::Admin]).await;
    for user in [&v.organizer, &admin] {
        assert_problem(
            v.app
                .post_as(
                    &format!("{EVENT}/vetting/{id}/decision"),
                    &user.access_token,
                    &json!({"state": "cleared", "version": 1}),
                )
                .await,
            403,
            "forbidden",
        )
        .await;
        assert_problem(
            v.app
                .get_as(&format!("{EVENT}/vetting"), &user.access_token)
                .await,
            403,
            "forbidden",
        )
        .await;
    }
}

#[tokio::test]
async fn a_stale_version_is_refused_and_bulk_decisions_answer_each_id() {
    let v = vetting_event(&["trade_visitor"]).await;
    let (_, first) = visitor(&v.app, "trade_visitor", "Konaté", "M1000007").await;
    let (_, second) = visitor(&v.app, "trade_visitor", "Bagayoko", "M1000008").await;
    let (_, public) = visitor(&v.app, "public_visitor", "Maïga", "M1000009").await;
    let stale = v.detail(&first).await["accreditation"]["version"].clone();
    approve(&v.app, &v.organizer, &first).await;
    assert_problem(
        v.rule(
            &v.officer,
            &first,
            json!({"state": "cleared", "version": stale}),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    v.ruled(&second, json!({"state": "cleared"})).await;
    let unknown = uuid::Uuid::now_v7().to_string();
    let results: Value = v
        .app
        .post_as(
            &format!("{EVENT}/vetting/decisions"),
            &v.officer.access_token,
            &json!({"ids": [first, second, public, unknown], "state": "cleared", "reference": "LOT-12"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let codes: Vec<_> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["error"]["code"].as_str().unwrap_or("ok").to_owned())
        .collect();
    assert_eq!(
        codes,
        ["ok", "invalid_transition", "not_vetted", "not_found"]
    );
    assert_eq!(results[0]["vetting_state"], "cleared");
    assert!(
        get(&v.app, &v.organizer, &first).await["badge"]["number"].is_string(),
        "the approved one got its badge with the bulk clearance"
    );
    assert_problem(
        v.app
            .post_as(
                &format!("{EVENT}/vetting/decisions"),
                &v.officer.access_token,
                &json!({"ids": [], "state": "cleared"}),
            )
            .await,
        422,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn auto_approved_public_visitors_wait_where_the_public_is_vetted() {
    let v = vetting_event(&["public_visitor"]).await;
    let (visitor_user, id) = visitor(&v.app, "public_visitor", "Sissoko", "M1000010").await;
    let seen = get(&v.app, &v.organizer, &id).await;
    assert_eq!(seen["status"], "approved");
    assert_eq!(seen["awaiting_clearance"], true);
    assert!(seen["badge"].is_null());
    v.ruled(&id, json!({"state": "cleared"})).await;
    assert!(get(&v.app, &v.organizer, &id).await["badge"]["qr"].is_string());
    let mail = v.app.smtp.wait_for_mail_to(&visitor_user.email, 2).await;
    assert_eq!(mail.attachments().len(), 1);
}
