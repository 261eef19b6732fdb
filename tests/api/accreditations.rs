use bamex::users::Role;
use serde_json::{Value, json};

use crate::fixtures::{
    EVENT, approve, approve_all, audit_actions, decide, event_from_today, get, person, put_photo,
    visitor,
};
use crate::helpers::{TestApp, TestUser, assert_problem, spawn_app};

#[tokio::test]
async fn decisions_follow_the_workflow_and_approval_issues_a_badge() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (applicant, id) = visitor(&app, "trade_visitor", "Coulibaly", "T1000001").await;

    let queue: Value = app
        .get_as(
            &format!("{EVENT}/accreditations?status=pending"),
            &organizer.access_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue["total"], 1);
    assert_eq!(queue["items"][0]["participant"]["last_name"], "Coulibaly");
    let version = queue["items"][0]["version"].clone();

    let no_reason = decide(
        &app,
        &organizer,
        &id,
        json!({"decision": "reject", "version": version}),
    )
    .await;
    assert_problem(no_reason, 422, "validation_failed").await;
    let approved = decide(
        &app,
        &organizer,
        &id,
        json!({"decision": "approve", "version": version}),
    )
    .await;
    let body: Value = approved.json().await.unwrap();
    assert_eq!(body["status"], "approved");
    let yy = chrono::Utc::now().format("%y").to_string();
    assert_eq!(body["badge"]["number"], format!("B{yy}-TRD-000001"));
    assert_eq!(
        body["badge"]["zones"],
        json!(["exhibition_halls", "static_display", "conference_rooms"])
    );
    assert_eq!(body["badge"]["valid_days"].as_array().unwrap().len(), 3);

    // Decided once: neither a stale nor a fresh version decides again.
    let stale = decide(
        &app,
        &organizer,
        &id,
        json!({"decision": "reject", "reason": "x", "version": version}),
    )
    .await;
    assert_problem(stale, 409, "conflict").await;
    let again = decide(
        &app,
        &organizer,
        &id,
        json!({"decision": "reject", "reason": "x", "version": body["version"]}),
    )
    .await;
    assert_problem(again, 409, "invalid_transition").await;

    let mail = app.smtp.wait_for_mail_to(&applicant.email, 2).await;
    assert!(
        mail.subject().contains("approuvée") || mail.subject().contains("approved"),
        "{}",
        mail.subject()
    );
    assert!(mail.text().contains(&format!("B{yy}-TRD-000001")));
    assert_eq!(
        mail.attachments(),
        [format!("B{yy}-TRD-000001.pdf")],
        "the badge travels with the email"
    );
    let mine: Value = app
        .get_as("/api/v1/me/accreditations", &applicant.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["total"], 1);
    assert_eq!(
        mine["items"][0]["badge"]["number"],
        format!("B{yy}-TRD-000001")
    );

    let revoke = async |reason: &'static str| {
        app.post_as(
            &format!("{EVENT}/accreditations/{id}/revoke"),
            &organizer.access_token,
            &json!({"reason": reason}),
        )
        .await
    };
    assert_eq!(
        revoke("Badge reported lost")
            .await
            .json::<Value>()
            .await
            .unwrap()["status"],
        "revoked"
    );
    assert_problem(revoke("twice").await, 409, "invalid_transition").await;
    let mine: Value = app
        .get_as("/api/v1/me/accreditations", &applicant.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        mine["items"][0]["badge"].is_null(),
        "a revoked badge is no badge"
    );
    assert_eq!(audit_actions(&app, "accreditation.approved").await, 1);
    assert_eq!(audit_actions(&app, "accreditation.revoked").await, 1);

    let (second_applicant, second) = visitor(&app, "trade_visitor", "Diarra", "T1000002").await;
    let info = decide(
        &app,
        &organizer,
        &second,
        json!({"decision": "request_info", "reason": "Photo missing", "version": 1}),
    )
    .await;
    assert_eq!(
        info.json::<Value>().await.unwrap()["status"],
        "info_requested"
    );
    // The photo asked for is the answer: the application is back in the queue, on a new version.
    let participant = get(&app, &organizer, &second).await["participant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let uploaded = put_photo(
        &app,
        &second_applicant.access_token,
        &participant,
        (400, 500),
    )
    .await;
    assert_eq!(uploaded.status(), 204);
    let answered = get(&app, &organizer, &second).await;
    assert_eq!(
        (answered["status"].as_str(), answered["version"].as_i64()),
        (Some("pending"), Some(3))
    );
    let (_, third) = visitor(&app, "trade_visitor", "Sangaré", "T1000003").await;
    let approved: Value = approve(&app, &organizer, &third).await;
    assert_eq!(
        approved["badge"]["number"],
        format!("B{yy}-TRD-000002"),
        "numbers are never reused"
    );
}

#[tokio::test]
async fn two_organizers_deciding_at_once_cannot_both_win() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let first = app.user_with_roles(&[Role::Organizer]).await;
    let second = app.user_with_roles(&[Role::Organizer]).await;
    for round in 0..3 {
        let (_, id) = visitor(
            &app,
            "trade_visitor",
            &format!("Race{round}"),
            &format!("R900000{round}"),
        )
        .await;
        let (a, b) = tokio::join!(
            decide(
                &app,
                &first,
                &id,
                json!({"decision": "approve", "version": 1})
            ),
            decide(
                &app,
                &second,
                &id,
                json!({"decision": "reject", "reason": "duplicate", "version": 1})
            ),
        );
        let statuses = [a.status().as_u16(), b.status().as_u16()];
        assert!(
            statuses.contains(&200) && statuses.contains(&409),
            "{statuses:?}"
        );
        let loser = if a.status() == 409 { a } else { b };
        let code = loser.json::<Value>().await.unwrap()["code"].clone();
        assert!(code == "conflict" || code == "invalid_transition", "{code}");
    }
}

#[tokio::test]
async fn sensitive_categories_need_two_different_organizers() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let first = app.user_with_roles(&[Role::Organizer]).await;
    let second = app.user_with_roles(&[Role::Organizer]).await;
    let (journalist, id) = visitor(&app, "media", "Traoré", "P5550001").await;

    let once: Value = approve(&app, &first, &id).await;
    assert_eq!(once["status"], "pending");
    assert_eq!(once["approvals"], json!([first.id]));
    assert!(once["badge"].is_null());
    let same = decide(
        &app,
        &first,
        &id,
        json!({"decision": "approve", "version": once["version"]}),
    )
    .await;
    assert_problem(same, 409, "four_eyes").await;
    let twice: Value = approve(&app, &second, &id).await;
    assert_eq!(twice["status"], "approved");
    assert!(twice["badge"]["number"].as_str().unwrap().contains("-MED-"));
    assert!(
        twice["badge"]["zones"]
            .as_array()
            .unwrap()
            .contains(&json!("press_centre"))
    );

    // The journalist's account now holds the media role.
    let refreshed: Value = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": journalist.refresh_token}),
        )
        .await
        .json()
        .await
        .unwrap();
    let me: Value = app
        .get_as("/api/v1/me", refreshed["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert!(me["roles"].as_array().unwrap().contains(&json!("media")));
}

#[tokio::test]
async fn bulk_decisions_answer_one_result_per_id() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(
            visitor(
                &app,
                "trade_visitor",
                &format!("Bulk{n}"),
                &format!("B100000{n}"),
            )
            .await
            .1,
        );
    }
    approve(&app, &organizer, &ids[0]).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let all = [ids.clone(), vec![unknown.clone()]].concat();
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let results = approve_all(&app, &organizer, &all).await;
    assert_eq!(results.as_array().unwrap().len(), 4);
    assert_eq!(results[0]["error"]["code"], "invalid_transition");
    assert_eq!(
        (results[1]["status"].as_str(), results[2]["status"].as_str()),
        (Some("approved"), Some("approved"))
    );
    assert_eq!(results[3]["error"]["code"], "not_found");

    let empty = app
        .post_as(
            &format!("{EVENT}/accreditations/decisions"),
            &organizer.access_token,
            &json!({"ids": [], "decision": "approve"}),
        )
        .await;
    assert_problem(empty, 422, "validation_failed").await;
    let too_many: Vec<String> = (0..501).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let over = app
        .post_as(
            &format!("{EVENT}/accreditations/decisions"),
            &organizer.access_token,
            &json!({"ids": too_many, "decision": "approve"}),
        )
        .await;
    assert_problem(over, 422, "validation_failed").await;
}

#[tokio::test]
async fn likely_duplicates_are_flagged_for_reviewers() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (_, first) = visitor(&app, "trade_visitor", "Maïga", "D7777777").await;
    let reject = decide(
        &app,
        &organizer,
        &first,
        json!({"decision": "reject", "reason": "forged", "version": 1}),
    )
    .await;
    assert_eq!(reject.status(), 200);
    let (_, twin) = visitor(&app, "trade_visitor", "Someone Else", "d-7777-777").await;
    let (_, namesake) = visitor(&app, "trade_visitor", "MAIGA", "N1234000").await;
    let (_, clean) = visitor(&app, "trade_visitor", "Unique", "U0000009").await;

    let codes = |view: &Value| -> Vec<String> {
        view["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["code"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        codes(&get(&app, &organizer, &twin).await),
        ["same_document", "previously_rejected"]
    );
    assert_eq!(
        codes(&get(&app, &organizer, &namesake).await),
        ["same_person", "previously_rejected"]
    );
    assert!(codes(&get(&app, &organizer, &clean).await).is_empty());
}

#[tokio::test]
async fn the_queue_filters_sorts_pages_and_exports_csv() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    for (name, document) in [
        ("Zerbo", "Q1000001"),
        ("Ba", "Q1000002"),
        ("Ékué", "Q1000003"),
        ("=HYPERLINK(\"x\")", "Q1000004"),
    ] {
        visitor(&app, "trade_visitor", name, document).await;
    }
    let list = async |query: &str| -> Value {
        let response = app
            .get_as(
                &format!("{EVENT}/accreditations?{query}"),
                &organizer.access_token,
            )
            .await;
        assert_eq!(response.status(), 200, "{query}");
        response.json().await.unwrap()
    };
    let names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["participant"]["last_name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&list("q=ekue").await), ["Ékué"]);
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = list(&format!("sort=name&limit=2{cursor}")).await;
        seen.extend(names(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen, ["=HYPERLINK(\"x\")", "Ba", "Ékué", "Zerbo"]);
    assert_problem(
        app.get_as(
            &format!("{EVENT}/accreditations?country=XX"),
            &organizer.access_token,
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    let visitor_user = app.user_with_roles(&[Role::Visitor]).await;
    assert_problem(
        app.get_as(
            &format!("{EVENT}/accreditations"),
            &visitor_user.access_token,
        )
        .await,
        403,
        "forbidden",
    )
    .await;

    let csv = app
        .get_as(
            &format!("{EVENT}/accreditations.csv?sort=name"),
            &organizer.access_token,
        )
        .await;
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let bytes = csv.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM for Excel");
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(
        &rows[0][3], "'=HYPERLINK(\"x\")",
        "formulas are neutralised"
    );
    assert_eq!(&rows[2][3], "Ékué");
}

/// `PUT …/visitors/me`: a visitor corrects their own registration.
async fn correct_my_registration(app: &TestApp, me: &TestUser, body: &Value) -> reqwest::Response {
    app.request_as(
        reqwest::Method::PUT,
        &format!("{EVENT}/visitors/me"),
        &me.access_token,
    )
    .json(body)
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn a_first_approval_does_not_survive_a_request_for_information() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let first = app.user_with_roles(&[Role::Organizer]).await;
    let second = app.user_with_roles(&[Role::Organizer]).await;
    let (journalist, id) = visitor(&app, "media", "Coulibaly", "P5550002").await;

    let once = approve(&app, &first, &id).await;
    assert_eq!(once["approvals"], json!([first.id]));
    let asked = decide(
        &app,
        &second,
        &id,
        json!({"decision": "request_info", "reason": "Which outlet?", "version": once["version"]}),
    )
    .await;
    let asked: Value = asked.json().await.unwrap();
    assert_eq!(asked["status"], "info_requested");
    assert_eq!(asked["approvals"], json!([]), "the first approval is void");

    // The journalist answers through their own registration, which goes back to the queue.
    let mine = app
        .get_as(&format!("{EVENT}/visitors/me"), &journalist.access_token)
        .await;
    assert_eq!(mine.status(), 200);
    let mine: Value = mine.json().await.unwrap();
    assert_eq!(mine["accreditation"]["status"], "info_requested");
    let mut corrected = person("Coulibaly", "P5550002");
    corrected["email"] = json!(journalist.email);
    corrected["category"] = json!("media");
    corrected["media_outlet"] = json!("ORTM");
    corrected["press_card_number"] = json!("ML-0002");
    let mut other_category = corrected.clone();
    other_category["category"] = json!("trade_visitor");
    let refused = correct_my_registration(&app, &journalist, &other_category).await;
    assert_problem(refused, 422, "validation_failed").await;
    let answered = correct_my_registration(&app, &journalist, &corrected).await;
    assert_eq!(answered.status(), 200);
    assert_eq!(get(&app, &second, &id).await["status"], "pending");

    // The organizer who asked cannot now approve alone: it takes two fresh approvals.
    let again = approve(&app, &second, &id).await;
    assert_eq!(
        (again["status"].as_str(), &again["approvals"]),
        (Some("pending"), &json!([second.id]))
    );
    let decided = approve(&app, &first, &id).await;
    assert_eq!(decided["status"], "approved");

    let stranger = app.user_with_roles(&[Role::Visitor]).await;
    assert_problem(
        app.get_as(&format!("{EVENT}/visitors/me"), &stranger.access_token)
            .await,
        404,
        "not_found",
    )
    .await;
    let late = correct_my_registration(&app, &journalist, &corrected).await;
    assert_problem(late, 409, "not_editable").await;
}

#[tokio::test]
async fn queue_totals_follow_every_change() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let mut ids = Vec::new();
    for (n, category) in ["trade_visitor", "media", "trade_visitor", "public_visitor"]
        .into_iter()
        .enumerate()
    {
        ids.push(
            visitor(&app, category, &format!("Total{n}"), &format!("C100000{n}"))
                .await
                .1,
        );
    }
    // Mixed categories in one bulk, a revocation and a request for information.
    app.post_as(
        &format!("{EVENT}/accreditations/decisions"),
        &organizer.access_token,
        &json!({"ids": [ids[2], ids[1], ids[0]], "decision": "approve"}),
    )
    .await;
    app.post_as(
        &format!("{EVENT}/accreditations/{}/revoke", ids[0]),
        &organizer.access_token,
        &json!({"reason": "Lost"}),
    )
    .await;
    let page = |query: &'static str| {
        let app = &app;
        let token = organizer.access_token.clone();
        async move {
            app.get_as(&format!("{EVENT}/accreditations{query}"), &token)
                .await
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    for (query, expected) in [
        ("", 4),
        ("?status=approved", 2),
        ("?status=revoked", 1),
        ("?status=pending", 1),
        ("?category=trade_visitor", 2),
        ("?status=approved&category=public_visitor", 1),
        ("?status=pending&category=media", 1),
        ("?q=total1", 1),
    ] {
        let answer = page(query).await;
        assert_eq!(answer["total"], expected, "{query}");
        assert_eq!(
            answer["items"].as_array().unwrap().len(),
            expected,
            "{query}"
        );
    }
    // The counts the totals come from agree with a real count, before and after folding.
    use diesel_async::RunQueryDsl;
    let mut conn = app.conn().await;
    for fold in [false, true] {
        if fold {
            diesel::sql_query("SELECT fold_accreditation_counts()")
                .execute(&mut conn)
                .await
                .unwrap();
        }
        let drift = diesel::sql_query(
            "SELECT count(*) AS drift FROM \
               (SELECT event_id, status, category, sum(n) AS n FROM accreditation_counts \
                GROUP BY 1, 2, 3) c \
             FULL JOIN \
               (SELECT event_id, status, category, count(*) AS n FROM accreditations \
                GROUP BY 1, 2, 3) a \
             USING (event_id, status, category) WHERE coalesce(c.n, 0) <> coalesce(a.n, 0)",
        )
        .get_result::<Drift>(&mut conn)
        .await
        .unwrap()
        .drift;
        assert_eq!(drift, 0, "folded: {fold}");
    }
    let rows = diesel::sql_query("SELECT count(*) AS drift FROM accreditation_counts")
        .get_result::<Drift>(&mut conn)
        .await
        .unwrap()
        .drift;
    assert_eq!(rows, 4, "one row per status and category once folded");
    drop(conn);
    assert_eq!(page("?status=approved").await["total"], 2);
}

#[derive(diesel::QueryableByName)]
struct Drift {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    drift: i64,
}
