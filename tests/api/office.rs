//! Accreditations the office enters by hand (VIPs, its own staff, contractors) and the
//! contractors exhibitors register within their contractor quota.

use bamex::users::Role;
use serde_json::{Value, json};

use crate::fixtures::{
    EVENT, apply, approve, approve_exhibitor, company, decide, event_from_today, get, person,
};
use crate::helpers::{TestApp, TestUser, assert_problem, spawn_app};

/// An event open from today vetting `vetted`, with three organizers, an officer and an agent.
struct Office {
    app: TestApp,
    a: TestUser,
    b: TestUser,
    c: TestUser,
    officer: TestUser,
    agent: TestUser,
}

async fn office(vetted: &[&str]) -> Office {
    let app = spawn_app().await;
    let admin = event_from_today(&app).await;
    let patched = app
        .patch_as(
            EVENT,
            &admin.access_token,
            &json!({"vetting_categories": vetted}),
        )
        .await;
    assert_eq!(patched.status(), 200, "{}", patched.text().await.unwrap());
    Office {
        a: app.user_with_roles(&[Role::Organizer]).await,
        b: app.user_with_roles(&[Role::Organizer]).await,
        c: app.user_with_roles(&[Role::Organizer]).await,
        officer: app.user_with_roles(&[Role::VettingOfficer]).await,
        agent: app.user_with_roles(&[Role::GateAgent]).await,
        app,
    }
}

async fn enter(app: &TestApp, organizer: &TestUser, body: &Value) -> reqwest::Response {
    app.post_as(
        &format!("{EVENT}/accreditations"),
        &organizer.access_token,
        body,
    )
    .await
}

async fn approval(app: &TestApp, organizer: &TestUser, id: &str) -> reqwest::Response {
    let version = get(app, organizer, id).await["version"].clone();
    decide(
        app,
        organizer,
        id,
        json!({"decision": "approve", "version": version}),
    )
    .await
}

impl Office {
    async fn clear(&self, id: &str) {
        let detail: Value = self
            .app
            .get_as(&format!("{EVENT}/vetting/{id}"), &self.officer.access_token)
            .await
            .json()
            .await
            .unwrap();
        let response = self
            .app
            .post_as(
                &format!("{EVENT}/vetting/{id}/decision"),
                &self.officer.access_token,
                &json!({"state": "cleared", "reference": "DGSE-2026-0042",
                        "version": detail["accreditation"]["version"]}),
            )
            .await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }

    async fn scan(&self, qr: &str, zone: &str) -> Value {
        let response = self
            .app
            .post_as(
                &format!("{EVENT}/scans"),
                &self.agent.access_token,
                &json!({"qr": qr, "gate": "north-1", "zone": zone, "direction": "in"}),
            )
            .await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// The text of the accreditation's badge PDF.
    async fn badge_text(&self, id: &str) -> String {
        let response = self
            .app
            .get_as(
                &format!("{EVENT}/accreditations/{id}/badge.pdf"),
                &self.b.access_token,
            )
            .await;
        assert_eq!(response.status(), 200);
        let path = std::env::temp_dir().join(format!("{}.pdf", uuid::Uuid::new_v4()));
        std::fs::write(&path, response.bytes().await.unwrap()).unwrap();
        let output = std::process::Command::new("pdftotext")
            .args([path.to_str().unwrap(), "-"])
            .output()
            .expect("pdftotext runs (poppler-utils)");
        std::fs::remove_file(&path).unwrap();
        assert!(output.status.success());
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

#[tokio::test]
async fn vips_organizer_staff_and_contractors_entered_by_hand_are_reviewed_by_others_vetted_badged_and_let_in()
 {
    // VIPs are sensitive (four eyes) by default; VIPs and contractors are vetted here.
    let o = office(&["vip", "contractor"]).await;
    let cases = [
        ("vip", "vip_lounge", "VIP", true, true),
        (
            "organizer_staff",
            "vip_lounge",
            "ORGANISATION",
            false,
            false,
        ),
        ("contractor", "exhibition_halls", "PRESTATAIRE", false, true),
    ];
    for (n, (category, zone, label, four_eyes, vetted)) in cases.into_iter().enumerate() {
        let entered = enter(
            &o.app,
            &o.a,
            &json!({"participant": person("Koné", &format!("OF00{n}")), "category": category,
                    "protocol_note": "Arrivée par l'entrée protocole"}),
        )
        .await;
        assert_eq!(entered.status(), 201, "{}", entered.text().await.unwrap());
        let entered: Value = entered.json().await.unwrap();
        let id = entered["id"].as_str().unwrap().to_owned();
        assert_eq!(entered["status"], "pending");
        assert_eq!(entered["category"], category);
        assert_eq!(entered["created_by"], o.a.id.to_string());
        assert_eq!(entered["protocol_note"], "Arrivée par l'entrée protocole");
        assert!(entered["exhibitor_id"].is_null() && entered["delegation_id"].is_null());
        assert_eq!(
            entered["vetting_state"],
            if vetted {
                json!("pending")
            } else {
                Value::Null
            },
            "{category}"
        );

        // The organizer who typed it in never approves it, not even as the first of four eyes.
        assert_problem(
            approval(&o.app, &o.a, &id).await,
            409,
            "creator_cannot_approve",
        )
        .await;
        let first = approval(&o.app, &o.b, &id).await;
        assert_eq!(first.status(), 200);
        let mut now: Value = first.json().await.unwrap();
        if four_eyes {
            assert_eq!(now["status"], "pending", "a first approval only");
            assert_problem(
                approval(&o.app, &o.a, &id).await,
                409,
                "creator_cannot_approve",
            )
            .await;
            now = approval(&o.app, &o.c, &id).await.json().await.unwrap();
        }
        assert_eq!(now["status"], "approved", "{category}");
        if vetted {
            assert!(now["badge"].is_null(), "the badge waits for the clearance");
            o.clear(&id).await;
            now = get(&o.app, &o.b, &id).await;
        }
        let number = now["badge"]["number"].as_str().unwrap().to_owned();
        let qr = now["badge"]["qr"].as_str().unwrap().to_owned();

        let text = o.badge_text(&id).await;
        assert!(text.contains(&number), "{text}");
        assert!(text.contains(label), "{label} in {text}");

        let verdict = o.scan(&qr, zone).await;
        if category == "contractor" {
            // Stand builders work on build-up and tear-down days, not during the show.
            assert_eq!(verdict["reason"], "not_valid_today", "{verdict}");
        } else {
            assert_eq!(verdict["verdict"], "allowed", "{category}: {verdict}");
        }
    }

    // The queue filters, the CSV and the stats know the categories and the note.
    for category in ["vip", "organizer_staff", "contractor"] {
        let page: Value = o
            .app
            .get_as(
                &format!("{EVENT}/accreditations?category={category}"),
                &o.b.access_token,
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(page["total"], 1, "{category}");
        assert_eq!(page["items"][0]["category"], category);
    }
    let csv = o
        .app
        .get_as(&format!("{EVENT}/accreditations.csv"), &o.b.access_token)
        .await
        .bytes()
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(&csv[3..]);
    let header = reader.headers().unwrap().clone();
    let note = header.iter().position(|c| c == "protocol_note").unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|r| &r[note] == "Arrivée par l'entrée protocole")
    );
    let stats: Value = o
        .app
        .get_as(&format!("{EVENT}/stats"), &o.b.access_token)
        .await
        .json()
        .await
        .unwrap();
    for category in ["vip", "organizer_staff", "contractor"] {
        assert!(
            stats["accreditations"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["category"] == category && s["status"] == "approved"),
            "{category}: {stats}"
        );
    }
}

#[tokio::test]
async fn only_organizers_enter_by_hand_and_only_the_categories_without_a_list() {
    let o = office(&[]).await;
    for category in ["exhibitor_staff", "delegation_member", "media"] {
        let refused = enter(
            &o.app,
            &o.a,
            &json!({"participant": person("Diarra", "OF100"), "category": category}),
        )
        .await;
        let problem = assert_problem(refused, 422, "validation_failed").await;
        assert!(
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == "category" && e["code"] == "category_not_by_hand"),
            "{problem}"
        );
    }
    let mut bad = person("Diarra", "OF101");
    bad["nationality"] = json!("Mali");
    let problem = assert_problem(
        enter(
            &o.app,
            &o.a,
            &json!({"participant": bad, "category": "vip"}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert!(
        problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["field"] == "participant.nationality"),
        "{problem}"
    );
    // Anyone else is refused before the body is read.
    for role in [Role::Exhibitor, Role::GateAgent, Role::VettingOfficer] {
        let user = o.app.user_with_roles(&[role]).await;
        assert_problem(enter(&o.app, &user, &json!({})).await, 403, "forbidden").await;
    }
}

#[tokio::test]
async fn contractors_are_registered_within_their_own_quota_even_all_at_once() {
    let o = office(&[]).await;
    let app = &o.app;
    let (owner, id) = apply(app, &company("Stand Kurulum", "TR")).await;
    let (other_owner, other) = apply(app, &company("Başka Savunma", "TR")).await;
    let path = format!("{EVENT}/exhibitors/{id}/contractors");

    // Not before the application is approved.
    assert_problem(
        app.post_as(&path, &owner.access_token, &person("Erken", "C0001"))
            .await,
        409,
        "not_approved",
    )
    .await;
    approve_exhibitor(app, &o.a, &id).await;
    approve_exhibitor(app, &o.a, &other).await;

    // By default the staff formula: 20 m² → 2 + ⌈11 / 9⌉ = 4; an organizer overrides it.
    let booth = |body: Value| {
        app.client
            .put(app.url(&format!("{EVENT}/exhibitors/{id}/booth")))
            .bearer_auth(&o.a.access_token)
            .json(&body)
            .send()
    };
    let default: Value = booth(json!({"hall": "A", "stand": "A-1", "area_m2": 20}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(default["contractor_quota"], 4);
    assert_eq!(default["contractor_count"], 0);
    let quota = 3;
    let overridden = booth(json!({"hall": "A", "stand": "A-1", "area_m2": 20,
                                  "contractor_quota_override": quota}))
    .await
    .unwrap();
    assert_eq!(overridden.status(), 200);
    let overridden: Value = overridden.json().await.unwrap();
    assert_eq!(overridden["contractor_quota"], quota);
    assert_eq!(
        overridden["staff_quota"], 4,
        "the staff quota keeps its own rule"
    );

    let requests = (0..quota + 5).map(|i| {
        app.client
            .post(app.url(&path))
            .bearer_auth(&owner.access_token)
            .json(&person(&format!("Usta{i}"), &format!("C10{i}")))
            .send()
    });
    let mut created = Vec::new();
    for response in futures_util::future::join_all(requests).await {
        let response = response.unwrap();
        if response.status() == 201 {
            created.push(response.json::<Value>().await.unwrap());
        } else {
            assert_problem(response, 409, "contractor_quota_reached").await;
        }
    }
    assert_eq!(created.len(), quota as usize);
    assert!(
        created
            .iter()
            .all(|c| c["accreditation"]["category"] == "contractor")
    );
    let exhibitor: Value = app
        .get_as(&format!("{EVENT}/exhibitors/{id}"), &owner.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            exhibitor["contractor_count"].as_i64(),
            exhibitor["staff_count"].as_i64()
        ),
        (Some(quota), Some(0)),
        "contractors take no staff place"
    );
    let listed: Value = app
        .get_as(&path, &owner.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["total"], quota);
    let staff: Value = app
        .get_as(
            &format!("{EVENT}/exhibitors/{id}/staff"),
            &owner.access_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(staff["total"], 0, "contractors are not in the staff list");
    // The quota cannot drop below the contractors registered.
    assert_problem(
        booth(json!({"hall": "A", "stand": "A-1", "area_m2": 20, "contractor_quota_override": 1}))
            .await
            .unwrap(),
        409,
        "quota_below_contractors",
    )
    .await;

    // A rejected contractor gives the place back; organizers register too.
    let rejected = created[0]["accreditation"]["id"].as_str().unwrap();
    let version = get(app, &o.b, rejected).await["version"].clone();
    let decision = decide(
        app,
        &o.b,
        rejected,
        json!({"decision": "reject", "reason": "Unknown firm", "version": version}),
    )
    .await;
    assert_eq!(decision.status(), 200);
    let by_office = app
        .post_as(&path, &o.a.access_token, &person("Yedek", "C1099"))
        .await;
    assert_eq!(by_office.status(), 201);
    let contractor: Value = by_office.json().await.unwrap();
    let approved = approve(
        app,
        &o.b,
        contractor["accreditation"]["id"].as_str().unwrap(),
    )
    .await;
    assert_eq!(approved["badge"]["number"].as_str().unwrap()[4..7], *"CON");
    assert_eq!(approved["exhibitor_id"], id.as_str());

    // Another company's account neither sees nor adds to the list.
    assert_problem(
        app.get_as(&path, &other_owner.access_token).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.post_as(&path, &other_owner.access_token, &person("Sızma", "C2000"))
            .await,
        404,
        "not_found",
    )
    .await;
}
