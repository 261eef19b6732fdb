//! The batch exchange with security services that work offline: exports that never send a
//! person twice (unless their identity was corrected), result uploads applied once per row.

use bamex::users::Role;
use serde_json::{Value, json};

use crate::fixtures::{EVENT, audit_actions, open_event, person, visitor};
use crate::helpers::{TestApp, TestUser, assert_problem, spawn_app};

/// An open event whose trade visitors are vetted; returns an organizer and an officer.
async fn vetted_event(app: &TestApp) -> (TestUser, TestUser) {
    let admin = open_event(app).await;
    let response = app
        .patch_as(
            EVENT,
            &admin.access_token,
            &json!({"vetting_categories": ["trade_visitor"]}),
        )
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let officer = app.user_with_roles(&[Role::VettingOfficer]).await;
    (organizer, officer)
}

/// The rows of a CSV answer (byte-order mark removed), header first.
async fn csv_rows(response: reqwest::Response) -> Vec<Vec<String>> {
    let bytes = response.bytes().await.unwrap();
    let text = std::str::from_utf8(&bytes).unwrap();
    let text = text.strip_prefix('\u{feff}').expect("a byte-order mark");
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

fn batch_header(response: &reqwest::Response) -> String {
    response.headers()["x-vetting-batch"]
        .to_str()
        .unwrap()
        .to_owned()
}

async fn export_json(app: &TestApp, officer: &TestUser, query: &str) -> (String, Value) {
    let response = app
        .get_as(
            &format!("{EVENT}/vetting/export.json{query}"),
            &officer.access_token,
        )
        .await;
    assert_eq!(response.status(), 200);
    let header = batch_header(&response);
    let file: Value = response.json().await.unwrap();
    assert_eq!(file["batch_id"], header.as_str());
    (header, file)
}

fn ids(file: &Value) -> Vec<String> {
    let mut ids: Vec<String> = file["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["accreditation_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn upload(
    app: &TestApp,
    officer: &TestUser,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    app.request_as(
        reqwest::Method::POST,
        &format!("{EVENT}/vetting/results"),
        &officer.access_token,
    )
    .header("content-type", content_type)
    .body(body)
    .send()
    .await
    .unwrap()
}

/// The (vetting_state, category, count) triples of the event's stats.
async fn vetting_stats(app: &TestApp, organizer: &TestUser) -> Vec<(String, String, i64)> {
    let stats: Value = app
        .get_as(&format!("{EVENT}/stats"), &organizer.access_token)
        .await
        .json()
        .await
        .unwrap();
    stats["vetting"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["vetting_state"].as_str().unwrap().to_owned(),
                v["category"].as_str().unwrap().to_owned(),
                v["count"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_export_never_sends_a_person_twice_unless_their_identity_was_corrected() {
    let app = spawn_app().await;
    let (_, officer) = vetted_event(&app).await;
    let (ayse, first) = visitor(&app, "trade_visitor", "Yılmaz", "U1000001").await;
    let (_, second) = visitor(&app, "trade_visitor", "=Demir", "U1000002").await;
    // Not vetted at this event: never exported.
    visitor(&app, "public_visitor", "Kaya", "U1000003").await;

    let response = app
        .get_as(
            &format!("{EVENT}/vetting/export.csv"),
            &officer.access_token,
        )
        .await;
    assert_eq!(response.status(), 200);
    let batch = batch_header(&response);
    let rows = csv_rows(response).await;
    assert_eq!(
        rows[0],
        [
            "batch_id",
            "accreditation_id",
            "version",
            "last_name",
            "first_name",
            "date_of_birth",
            "place_of_birth",
            "nationality",
            "id_document_type",
            "id_document_number",
            "id_document_expires_on",
            "organization",
            "function",
            "category",
            "exhibitor",
            "delegation",
        ]
    );
    assert_eq!(rows.len(), 3, "{rows:?}");
    let row_of = |id: &str| rows.iter().find(|r| r[1] == id).unwrap().clone();
    let ayse_row = row_of(&first);
    assert_eq!(ayse_row[0], batch);
    assert_eq!(ayse_row[3], "Yılmaz");
    assert_eq!(ayse_row[5], "1985-04-12");
    // In full: the services check the document itself.
    assert_eq!(ayse_row[9], "U1000001");
    assert_eq!(ayse_row[13], "trade_visitor");
    // A name that reads as a formula is neutralised.
    assert_eq!(row_of(&second)[3], "'=Demir");
    assert_eq!(audit_actions(&app, "vetting.batch_exported").await, 1);

    // Sent already: the next batch is empty.
    let (empty, file) = export_json(&app, &officer, "").await;
    assert_ne!(empty, batch);
    assert!(ids(&file).is_empty(), "{file}");

    // A corrected identity is sent again, at its new version.
    let mut corrected = person("Yılmaz-Öztürk", "U1000001");
    corrected["email"] = json!(ayse.email);
    corrected["category"] = json!("trade_visitor");
    let response = app
        .request_as(
            reqwest::Method::PUT,
            &format!("{EVENT}/visitors/me"),
            &ayse.access_token,
        )
        .json(&corrected)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let (_, file) = export_json(&app, &officer, "").await;
    assert_eq!(ids(&file), std::slice::from_ref(&first));
    let sent = &file["people"][0];
    assert_eq!(sent["last_name"], "Yılmaz-Öztürk");
    assert_eq!(sent["id_document_number"], "U1000001");
    assert_ne!(sent["version"], json!(ayse_row[2].parse::<i64>().unwrap()));
    let (_, file) = export_json(&app, &officer, "").await;
    assert!(ids(&file).is_empty());

    // Asked for: everyone awaiting clearance again, or one earlier batch as it was chosen.
    let (_, file) = export_json(&app, &officer, "?include_sent=true").await;
    let mut both = vec![first.clone(), second.clone()];
    both.sort();
    assert_eq!(ids(&file), both);
    let (again, file) = export_json(&app, &officer, &format!("?batch={batch}")).await;
    assert_eq!(again, batch);
    assert_eq!(ids(&file), both);
    // `limit` caps a new batch; it does not go with `batch`.
    let (_, file) = export_json(&app, &officer, "?include_sent=true&limit=1").await;
    assert_eq!(ids(&file).len(), 1);
    let response = app
        .get_as(
            &format!("{EVENT}/vetting/export.json?batch={batch}&limit=1"),
            &officer.access_token,
        )
        .await;
    assert_problem(response, 422, "validation_failed").await;
    let response = app
        .get_as(
            &format!("{EVENT}/vetting/export.csv?batch={}", uuid::Uuid::new_v4()),
            &officer.access_token,
        )
        .await;
    assert_problem(response, 404, "unknown_batch").await;
    // Every file written is an audited read of the document numbers in it.
    assert_eq!(audit_actions(&app, "vetting.batch_exported").await, 7);
}

#[tokio::test]
async fn a_csv_of_results_applies_each_valid_row_once_and_names_what_is_wrong_with_the_others() {
    let app = spawn_app().await;
    let (organizer, officer) = vetted_event(&app).await;
    let (_, a) = visitor(&app, "trade_visitor", "Traoré", "M2000001").await;
    let (_, b) = visitor(&app, "trade_visitor", "Keïta", "M2000002").await;
    let (_, c) = visitor(&app, "trade_visitor", "Coulibaly", "M2000003").await;
    let unknown = uuid::Uuid::new_v4();
    let file = format!(
        "\u{feff}accreditation_id,state,reference,note,message\n\
         {a},cleared,DGSE-1,,\n\
         {a},cleared,DGSE-1,,\n\
         {unknown},cleared,DGSE-2,,\n\
         not-an-id,cleared,DGSE-3,,\n\
         {b},approved,DGSE-4,,\n\
         {c},info_requested,DGSE-5,,\n\
         {b},refused,DGSE-6,\"Listed, see file\",\n"
    );
    let response = upload(&app, &officer, "text/csv; charset=utf-8", file.clone()).await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    let outcomes: Vec<(i64, String, Option<String>)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["row"].as_i64().unwrap(),
                r["outcome"].as_str().unwrap().to_owned(),
                r["error"]["code"].as_str().map(str::to_owned),
            )
        })
        .collect();
    let expected = |rows: &[(&str, Option<&str>)]| -> Vec<(i64, String, Option<String>)> {
        rows.iter()
            .enumerate()
            .map(|(i, (outcome, code))| {
                (i as i64 + 1, outcome.to_string(), code.map(str::to_owned))
            })
            .collect()
    };
    assert_eq!(
        outcomes,
        expected(&[
            ("applied", None),
            ("unchanged", None),
            ("failed", Some("unknown_accreditation")),
            ("failed", Some("unknown_accreditation")),
            ("failed", Some("invalid_state")),
            ("failed", Some("missing_message")),
            ("applied", None),
        ])
    );
    assert_eq!(report["results"][0]["accreditation_id"], a.as_str());
    assert_eq!(report["results"][0]["vetting_state"], "cleared");
    assert_eq!(
        (report["applied"].as_i64(), report["failed"].as_i64()),
        (Some(2), Some(4))
    );

    // The same file again changes nothing: its three valid rows were all applied before.
    let report: Value = upload(&app, &officer, "text/csv", file)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["applied"], 0);
    assert_eq!(report["unchanged"], 3);
    assert_eq!(report["failed"], 4);

    let mut stats = vetting_stats(&app, &organizer).await;
    stats.sort();
    assert_eq!(
        stats,
        [
            ("cleared".into(), "trade_visitor".into(), 1),
            ("pending".into(), "trade_visitor".into(), 1),
            ("refused".into(), "trade_visitor".into(), 1),
        ]
    );
    // The organizers' CSV carries each accreditation's vetting state.
    let rows = csv_rows(
        app.get_as(
            &format!("{EVENT}/accreditations.csv"),
            &organizer.access_token,
        )
        .await,
    )
    .await;
    let column = rows[0].iter().position(|c| c == "vetting_state").unwrap();
    let state_of = |id: &str| rows.iter().find(|r| r[0] == id).unwrap()[column].clone();
    assert_eq!(state_of(&a), "cleared");
    assert_eq!(state_of(&b), "refused");
    assert_eq!(state_of(&c), "pending");
    // Cleared or refused: no longer awaiting clearance, so not exported.
    let (_, file) = export_json(&app, &officer, "").await;
    assert_eq!(ids(&file), [c]);
}

#[tokio::test]
async fn json_results_uploaded_twice_at_once_are_applied_once() {
    let app = spawn_app().await;
    let (organizer, officer) = vetted_event(&app).await;
    let mut rows = Vec::new();
    for n in 0..6 {
        let (_, id) = visitor(&app, "trade_visitor", "Diarra", &format!("M30000{n}")).await;
        rows.push(
            json!({"accreditation_id": id, "state": "cleared", "reference": format!("DGSE-{n}")}),
        );
    }
    rows.push(json!({"accreditation_id": uuid::Uuid::new_v4(), "state": "cleared"}));
    // Decided on details that have changed since.
    let (_, late) = visitor(&app, "trade_visitor", "Diarra", "M3000099").await;
    rows.push(json!({"accreditation_id": late, "state": "refused", "version": 999}));
    let body = serde_json::to_vec(&json!({"results": rows})).unwrap();
    let (one, two) = tokio::join!(
        upload(&app, &officer, "application/json", body.clone()),
        upload(&app, &officer, "application/json", body.clone()),
    );
    let mut applied = 0;
    for response in [one, two] {
        assert_eq!(response.status(), 200);
        let report: Value = response.json().await.unwrap();
        assert_eq!(
            report["applied"].as_i64().unwrap() + report["unchanged"].as_i64().unwrap(),
            6
        );
        assert_eq!(
            report["results"][6]["error"]["code"],
            "unknown_accreditation"
        );
        assert_eq!(report["results"][7]["error"]["code"], "stale_version");
        applied += report["applied"].as_i64().unwrap();
    }
    assert_eq!(
        applied, 6,
        "each row applied by exactly one of the two uploads"
    );
    assert_eq!(
        vetting_stats(&app, &organizer).await,
        [
            ("cleared".into(), "trade_visitor".into(), 6),
            ("pending".into(), "trade_visitor".into(), 1),
        ]
    );
}

#[tokio::test]
async fn an_upload_that_is_not_a_results_file_is_refused_whole() {
    let app = spawn_app().await;
    let (_, officer) = vetted_event(&app).await;
    let id = uuid::Uuid::new_v4();
    let ragged = format!("accreditation_id,state\n{id},cleared,extra\n");
    let body = assert_problem(
        upload(&app, &officer, "text/csv", ragged).await,
        400,
        "invalid_csv",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("line 2"),
        "{body}"
    );
    let no_state = format!("accreditation_id,verdict\n{id},cleared\n");
    let body = assert_problem(
        upload(&app, &officer, "text/csv", no_state).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "header");
    assert_problem(
        upload(&app, &officer, "text/csv", vec![0xff, 0xfe, b'\n']).await,
        400,
        "invalid_csv",
    )
    .await;
    assert_problem(
        upload(&app, &officer, "application/json", r#"{"results": ["#).await,
        400,
        "invalid_json",
    )
    .await;
    assert_problem(
        upload(&app, &officer, "application/json", r#"{"rows": []}"#).await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        upload(&app, &officer, "application/json", r#"{"results": []}"#).await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        upload(&app, &officer, "text/plain", "accreditation_id,state\n").await,
        415,
        "unsupported_media_type",
    )
    .await;
    let huge = vec![b'a'; 4 * 1024 * 1024 + 1];
    assert_problem(
        upload(&app, &officer, "text/csv", huge).await,
        413,
        "payload_too_large",
    )
    .await;
}

#[tokio::test]
async fn only_vetting_officers_exchange_batches() {
    let app = spawn_app().await;
    let (organizer, _) = vetted_event(&app).await;
    visitor(&app, "trade_visitor", "Sidibé", "M4000001").await;
    let admin = app.user_with_roles(&[Role::Admin]).await;
    for user in [&organizer, &admin] {
        for path in ["export.csv", "export.json"] {
            let response = app
                .get_as(&format!("{EVENT}/vetting/{path}"), &user.access_token)
                .await;
            assert_problem(response, 403, "forbidden").await;
        }
        // Refused before the body is looked at.
        assert_problem(
            upload(&app, user, "text/csv", "not,a\nresults,file,at all\n").await,
            403,
            "forbidden",
        )
        .await;
    }
    assert_eq!(audit_actions(&app, "vetting.batch_exported").await, 0);
}
