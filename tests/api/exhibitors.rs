use bamex::users::Role;
use serde_json::{Value, json};

use crate::fixtures::approve_exhibitor as approve;
use crate::fixtures::{EVENT, apply, audit_actions, booth, company, open_event, person};
use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn admins_manage_events_and_drafts_stay_hidden() {
    let app = spawn_app().await;
    let admin = open_event(&app).await;
    let bad = app
        .post_as(
            "/api/v1/events",
            &admin.access_token,
            &json!({"slug": "Bad Slug", "name": "", "venue": "V", "starts_on": "2026-11-27", "ends_on": "2026-11-24",
                    "public_days": ["2027-01-01"]}),
        )
        .await;
    let problem = assert_problem(bad, 422, "validation_failed").await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["slug", "name", "ends_on", "public_days"]);
    let again = app
        .post_as("/api/v1/events", &admin.access_token,
            &json!({"slug": "bamex-2026", "name": "x", "venue": "y", "starts_on": "2026-11-24", "ends_on": "2026-11-27"}))
        .await;
    assert_problem(again, 409, "slug_taken").await;
    let draft = app
        .post_as("/api/v1/events", &admin.access_token,
            &json!({"slug": "bamex-2028", "name": "BAMEX'28", "venue": "Bamako", "starts_on": "2028-11-14", "ends_on": "2028-11-17"}))
        .await;
    let draft: Value = draft.json().await.unwrap();
    assert_eq!(draft["status"], "draft");
    // A new event has every category vetted by the security services but the general public.
    assert_eq!(
        draft["vetting_categories"],
        json!([
            "contractor",
            "delegation_member",
            "exhibitor_staff",
            "media",
            "organizer_staff",
            "trade_visitor",
            "vip"
        ])
    );

    let public: Value = app.get("/api/v1/events").await.json().await.unwrap();
    assert_eq!(public["total"], 1);
    assert_problem(app.get("/api/v1/events/bamex-2028").await, 404, "not_found").await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let all: Value = app
        .get_as("/api/v1/events", &organizer.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["total"], 2);

    let opened = app
        .patch_as(
            "/api/v1/events/bamex-2028",
            &admin.access_token,
            &json!({"status": "open", "registration_closes_at": null}),
        )
        .await;
    assert_eq!(opened.json::<Value>().await.unwrap()["status"], "open");
    assert_eq!(app.get("/api/v1/events/bamex-2028").await.status(), 200);
    let forbidden = app
        .patch_as(
            "/api/v1/events/bamex-2028",
            &organizer.access_token,
            &json!({"status": "closed"}),
        )
        .await;
    assert_problem(forbidden, 403, "forbidden").await;
    assert_eq!(audit_actions(&app, "event.updated").await, 1);
}

#[tokio::test]
async fn applications_outside_the_registration_window_are_refused() {
    let app = spawn_app().await;
    let admin = open_event(&app).await;
    let window = app
        .patch_as(
            EVENT,
            &admin.access_token,
            &json!({"registration_closes_at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(window.status(), 200);
    let user = app.user_with_roles(&[Role::Visitor]).await;
    let late = app
        .post_as(
            &format!("{EVENT}/exhibitors"),
            &user.access_token,
            &company("Late Ltd", "FR"),
        )
        .await;
    assert_problem(late, 409, "registration_closed").await;

    app.patch_as(
        EVENT,
        &admin.access_token,
        &json!({"registration_closes_at": null, "status": "closed"}),
    )
    .await;
    let closed = app
        .post_as(
            &format!("{EVENT}/exhibitors"),
            &user.access_token,
            &company("Late Ltd", "FR"),
        )
        .await;
    assert_problem(closed, 409, "registration_closed").await;
}

#[tokio::test]
async fn applications_are_validated_and_unique_per_company() {
    let app = spawn_app().await;
    open_event(&app).await;
    let user = app.user_with_roles(&[Role::Visitor]).await;
    let bad = app
        .post_as(
            &format!("{EVENT}/exhibitors"),
            &user.access_token,
            &json!({"legal_name": "x".repeat(201), "display_name": "X", "country": "XX", "city": "Bamako",
                    "website": "ftp://example.com", "sectors": [], "contact_email": "nope"}),
        )
        .await;
    let problem = assert_problem(bad, 422, "validation_failed").await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "legal_name",
            "country",
            "website",
            "sectors",
            "contact_email"
        ]
    );
    let unknown_sector = app
        .post_as(&format!("{EVENT}/exhibitors"), &user.access_token,
            &json!({"legal_name": "A", "display_name": "A", "country": "ML", "city": "B", "sectors": ["lasers"]}))
        .await;
    assert_problem(unknown_sector, 422, "validation_failed").await;

    let (_, _) = apply(&app, &company("Savunma Teknolojileri A.Ş.", "TR")).await;
    let twin = app
        .post_as(
            &format!("{EVENT}/exhibitors"),
            &user.access_token,
            &company("  SAVUNMA  teknolojileri a.s. ", "tr"),
        )
        .await;
    assert_problem(twin, 409, "exhibitor_exists").await;
    // Same name in another country is another company.
    let other = app
        .post_as(
            &format!("{EVENT}/exhibitors"),
            &user.access_token,
            &company("Savunma Teknolojileri A.Ş.", "AZ"),
        )
        .await;
    assert_eq!(other.status(), 201);
}

#[tokio::test]
async fn review_approves_with_email_and_role_and_decides_once() {
    let app = spawn_app().await;
    open_event(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (owner, id) = apply(&app, &company("Anadolu Zırh", "TR")).await;
    let review = |body: Value| {
        let app = &app;
        let token = organizer.access_token.clone();
        let id = id.clone();
        async move {
            app.post_as(&format!("{EVENT}/exhibitors/{id}/review"), &token, &body)
                .await
        }
    };
    let no_reason = review(json!({"decision": "reject"})).await;
    assert_problem(no_reason, 422, "validation_failed").await;
    let approved = review(json!({"decision": "approve"})).await;
    assert_eq!(
        approved.json::<Value>().await.unwrap()["status"],
        "approved"
    );
    let twice = review(json!({"decision": "reject", "reason": "changed mind"})).await;
    assert_problem(twice, 409, "already_decided").await;

    let mail = app.smtp.wait_for_mail_to(&owner.email, 1).await;
    assert!(
        mail.subject().contains("approved"),
        "English account: {}",
        mail.subject()
    );
    let refreshed: Value = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": owner.refresh_token}),
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
    assert_eq!(me["roles"], json!(["exhibitor", "visitor"]));

    assert_eq!(
        review(json!({"decision": "reopen"}))
            .await
            .json::<Value>()
            .await
            .unwrap()["status"],
        "pending"
    );
    let rejected =
        review(json!({"decision": "reject", "reason": "Incomplete export licence"})).await;
    assert_eq!(
        rejected.json::<Value>().await.unwrap()["decision"]["reason"],
        "Incomplete export licence"
    );
    let mail = app.smtp.wait_for_mail_to(&owner.email, 2).await;
    assert!(mail.text().contains("Incomplete export licence"));
    assert_eq!(audit_actions(&app, "exhibitor.rejected").await, 1);

    let visitor = app.user_with_roles(&[Role::Visitor]).await;
    let forbidden = app
        .post_as(
            &format!("{EVENT}/exhibitors/{id}/review"),
            &visitor.access_token,
            &json!({"decision": "approve"}),
        )
        .await;
    assert_problem(forbidden, 403, "forbidden").await;
}

#[tokio::test]
async fn owners_edit_within_the_rules() {
    let app = spawn_app().await;
    open_event(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (owner, id) = apply(&app, &company("Eski Ad", "TR")).await;
    let path = format!("{EVENT}/exhibitors/{id}");
    let pending = app
        .patch_as(
            &path,
            &owner.access_token,
            &json!({"legal_name": "Yeni Ad", "country": "AZ"}),
        )
        .await;
    assert_eq!(
        pending.json::<Value>().await.unwrap()["legal_name"],
        "Yeni Ad"
    );
    approve(&app, &organizer, &id).await;
    let frozen = app
        .patch_as(
            &path,
            &owner.access_token,
            &json!({"legal_name": "Başka", "city": "İzmir"}),
        )
        .await;
    let problem = assert_problem(frozen, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "legal_name");
    let allowed = app
        .patch_as(
            &path,
            &owner.access_token,
            &json!({"city": "İzmir", "website": null}),
        )
        .await;
    let body: Value = allowed.json().await.unwrap();
    assert_eq!(
        (body["city"].as_str(), body["website"].is_null()),
        (Some("İzmir"), true)
    );
    let office = app
        .patch_as(
            &path,
            &organizer.access_token,
            &json!({"legal_name": "Düzeltilmiş Ad"}),
        )
        .await;
    assert_eq!(office.status(), 200);
}

#[tokio::test]
async fn booths_set_the_quota_and_stands_are_unique() {
    let app = spawn_app().await;
    open_event(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (_, pending) = apply(&app, &company("Beklemede", "TR")).await;
    assert_problem(
        booth(&app, &organizer, &pending, "A-1", 9.0).await,
        409,
        "not_approved",
    )
    .await;

    let mut ids = Vec::new();
    for name in ["Birinci", "İkinci", "Üçüncü"] {
        let (_, id) = apply(&app, &company(name, "TR")).await;
        approve(&app, &organizer, &id).await;
        ids.push(id);
    }
    for (id, stand, area, quota) in [
        (&ids[0], "A-1", 9.0, 2),
        (&ids[1], "A-2", 18.0, 3),
        (&ids[2], "A-3", 90.0, 11),
    ] {
        let response = booth(&app, &organizer, id, stand, area).await;
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["staff_quota"], quota, "{area} m²");
        assert_eq!(body["booth"]["stand"], stand);
    }
    assert_problem(
        booth(&app, &organizer, &ids[1], "a-1", 12.0).await,
        409,
        "stand_taken",
    )
    .await;
    let overridden = app
        .client
        .put(app.url(&format!("{EVENT}/exhibitors/{}/booth", ids[0])))
        .bearer_auth(&organizer.access_token)
        .json(&json!({"hall": "Hall A", "stand": "A-1", "area_m2": 9, "staff_quota_override": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(overridden.json::<Value>().await.unwrap()["staff_quota"], 5);
    let negative = booth(&app, &organizer, &ids[0], "A-1", -3.0).await;
    assert_problem(negative, 422, "validation_failed").await;
}

#[tokio::test]
async fn ten_concurrent_registrations_against_a_quota_of_three_give_three() {
    let app = spawn_app().await;
    open_event(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (owner, id) = apply(&app, &company("Kota Savunma", "TR")).await;
    approve(&app, &organizer, &id).await;
    let response = app
        .client
        .put(app.url(&format!("{EVENT}/exhibitors/{id}/booth")))
        .bearer_auth(&organizer.access_token)
        .json(&json!({"hall": "B", "stand": "B-7", "area_m2": 12, "staff_quota_override": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let path = format!("{EVENT}/exhibitors/{id}/staff");
    let requests = (0..10).map(|i| {
        app.client
            .post(app.url(&path))
            .bearer_auth(&owner.access_token)
            .json(&person(&format!("Kişi{i}"), &format!("U1000{i}")))
            .send()
    });
    let responses = futures_util::future::join_all(requests).await;
    let mut created = 0;
    for response in responses {
        let response = response.unwrap();
        if response.status() == 201 {
            created += 1;
        } else {
            assert_problem(response, 409, "staff_quota_reached").await;
        }
    }
    assert_eq!(created, 3);
    let staff: Value = app
        .get_as(&path, &owner.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(staff["items"].as_array().unwrap().len(), 3);
    assert_eq!(staff["total"], 3);
    let exhibitor: Value = app
        .get(&format!("{EVENT}/exhibitors/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            exhibitor["staff_count"].as_i64(),
            exhibitor["staff_quota"].as_i64()
        ),
        (Some(3), Some(3))
    );

    // The quota cannot drop below the staff registered.
    let shrink = booth(&app, &organizer, &id, "B-7", 4.0).await;
    assert_problem(shrink, 409, "quota_below_staff").await;

    // A rejected staff member gives the place back, for someone else.
    let rejected = staff["items"][0]["accreditation"]["id"].as_str().unwrap();
    let decision = crate::fixtures::decide(
        &app,
        &organizer,
        rejected,
        json!({"decision": "reject", "reason": "Not an employee", "version": 1}),
    )
    .await;
    assert_eq!(decision.status(), 200);
    let replacement = app
        .post_as(&path, &owner.access_token, &person("Yedek", "U10099"))
        .await;
    assert_eq!(replacement.status(), 201);
    let full = app
        .post_as(&path, &owner.access_token, &person("Fazla", "U10098"))
        .await;
    assert_problem(full, 409, "staff_quota_reached").await;
}

#[tokio::test]
async fn staff_are_corrected_and_withdrawn_while_pending() {
    let app = spawn_app().await;
    open_event(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (owner, id) = apply(&app, &company("Personel A.Ş.", "TR")).await;
    approve(&app, &organizer, &id).await;
    booth(&app, &organizer, &id, "C-1", 9.0).await;
    let path = format!("{EVENT}/exhibitors/{id}/staff");
    let created: Value = app
        .post_as(&path, &owner.access_token, &person("Demir", "P1234567"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(created["accreditation"]["status"], "pending");
    assert_eq!(created["accreditation"]["category"], "exhibitor_staff");
    assert!(created.get("id_document_number").is_none());
    let staff_path = format!("{path}/{}", created["id"].as_str().unwrap());

    let bad = app
        .client
        .put(app.url(&staff_path))
        .bearer_auth(&owner.access_token)
        .json(&json!({"first_name": "", "last_name": "D", "organization": "O", "nationality": "ZZ",
                      "date_of_birth": "2090-01-01", "id_document_type": "passport", "id_document_number": "1"}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(bad, 422, "validation_failed").await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "first_name",
            "nationality",
            "date_of_birth",
            "id_document_number"
        ]
    );
    let corrected = app
        .client
        .put(app.url(&staff_path))
        .bearer_auth(&owner.access_token)
        .json(&person("Demirci", "P7654321"))
        .send()
        .await
        .unwrap();
    let body: Value = corrected.json().await.unwrap();
    assert_eq!(
        (
            body["last_name"].as_str(),
            body["accreditation"]["version"].as_i64()
        ),
        (Some("Demirci"), Some(2))
    );

    let withdrawn = app
        .client
        .delete(app.url(&staff_path))
        .bearer_auth(&owner.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(withdrawn.status(), 204);
    assert_problem(
        app.get_as(&staff_path, &owner.access_token).await,
        404,
        "not_found",
    )
    .await;
    let exhibitor: Value = app
        .get(&format!("{EVENT}/exhibitors/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(exhibitor["staff_count"], 0);
}

#[tokio::test]
async fn another_exhibitor_can_neither_see_nor_change_anything() {
    let app = spawn_app().await;
    open_event(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (owner, id) = apply(&app, &company("Hedef", "TR")).await;
    let (intruder, _) = apply(&app, &company("Rakip", "FR")).await;
    let pending_path = format!("{EVENT}/exhibitors/{id}");
    assert_problem(
        app.get_as(&pending_path, &intruder.access_token).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(app.get(&pending_path).await, 404, "not_found").await;
    approve(&app, &organizer, &id).await;
    booth(&app, &organizer, &id, "D-1", 9.0).await;
    let staff: Value = app
        .post_as(
            &format!("{pending_path}/staff"),
            &owner.access_token,
            &person("Gizli", "S9999999"),
        )
        .await
        .json()
        .await
        .unwrap();
    let staff_path = format!("{pending_path}/staff/{}", staff["id"].as_str().unwrap());

    let token = &intruder.access_token;
    let attempts = [
        app.patch_as(&pending_path, token, &json!({"city": "Paris"}))
            .await,
        app.get_as(&format!("{pending_path}/staff"), token).await,
        app.post_as(
            &format!("{pending_path}/staff"),
            token,
            &person("Sahte", "F1111111"),
        )
        .await,
        app.get_as(&staff_path, token).await,
        app.client
            .put(app.url(&staff_path))
            .bearer_auth(token)
            .json(&person("Sahte", "F1111111"))
            .send()
            .await
            .unwrap(),
        app.client
            .delete(app.url(&staff_path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    ];
    for response in attempts {
        assert_problem(response, 404, "not_found").await;
    }
    // Nothing changed.
    let exhibitor: Value = app
        .get_as(&pending_path, &owner.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            exhibitor["city"].as_str(),
            exhibitor["staff_count"].as_i64()
        ),
        (Some("Ankara"), Some(1))
    );
    let still: Value = app
        .get_as(&staff_path, &owner.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still["last_name"], "Gizli");
    // The public view of an approved exhibitor hides its contact.
    let public: Value = app.get(&pending_path).await.json().await.unwrap();
    assert!(public.get("contact").is_none() && public.get("decision").is_none());
}

#[tokio::test]
async fn document_numbers_are_encrypted_and_only_organizers_read_them_audited() {
    let app = spawn_app().await;
    open_event(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (owner, id) = apply(&app, &company("Belge", "TR")).await;
    approve(&app, &organizer, &id).await;
    booth(&app, &organizer, &id, "E-1", 9.0).await;
    let number = "ZQ8842917TR";
    let created: Value = app
        .post_as(
            &format!("{EVENT}/exhibitors/{id}/staff"),
            &owner.access_token,
            &person("Kaya", number),
        )
        .await
        .json()
        .await
        .unwrap();
    let staff_path = format!(
        "{EVENT}/exhibitors/{id}/staff/{}",
        created["id"].as_str().unwrap()
    );
    let own: Value = app
        .get_as(&staff_path, &owner.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(own.get("id_document_number").is_none());
    assert_eq!(audit_actions(&app, "participant.document_read").await, 0);
    let office: Value = app
        .get_as(&staff_path, &organizer.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(office["id_document_number"], number);
    assert_eq!(audit_actions(&app, "participant.document_read").await, 1);
    let list: Value = app
        .get_as(
            &format!("{EVENT}/exhibitors/{id}/staff"),
            &organizer.access_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(list["items"][0].get("id_document_number").is_none());

    let dump = std::process::Command::new("pg_dump")
        .arg("--data-only")
        .arg(app.db.url())
        .output()
        .expect("pg_dump runs");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(dump.contains("Kaya"), "the dump holds the data");
    assert!(
        !dump.contains(number) && !dump.contains("ZQ8842917"),
        "the number is in clear text in the dump"
    );
}

#[tokio::test]
async fn the_directory_filters_searches_and_pages() {
    let app = spawn_app().await;
    let admin = open_event(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let coordinator = app.user_with_roles(&[Role::Exhibitor]).await;
    let pavilion: Value = app
        .post_as(&format!("{EVENT}/pavilions"), &admin.access_token,
            &json!({"name": "The Peak Defense", "country": "TR", "coordinator_email": coordinator.email}))
        .await
        .json()
        .await
        .unwrap();
    let pavilion_id = pavilion["id"].as_str().unwrap().to_owned();
    let mut pending_in_pavilion = String::new();
    for (i, (name, country, sector, approved)) in [
        ("Défense Sahel", "ML", "land_systems", true),
        ("Aselsan Benzeri", "TR", "communications", true),
        ("Göktürk Uzay", "TR", "space_satellites", true),
        ("Naval du Golfe", "SN", "naval_systems", true),
        ("Cyber Bamako", "ML", "cyber_security", true),
        ("Beklemede Savunma", "TR", "land_systems", false),
    ]
    .into_iter()
    .enumerate()
    {
        let mut body = company(name, country);
        body["sectors"] = json!([sector]);
        body["description"] = json!(format!("Entreprise {i}"));
        if country == "TR" {
            body["pavilion_id"] = json!(pavilion_id);
        }
        let (_, id) = apply(&app, &body).await;
        if approved {
            approve(&app, &organizer, &id).await;
        } else {
            pending_in_pavilion = id;
        }
    }
    let list = async |path: &str| -> Value {
        let response = app.get(&format!("{EVENT}/exhibitors{path}")).await;
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.unwrap()
    };
    let names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["display_name"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = list("").await;
    assert_eq!(all["total"], 5, "anonymous: approved only");
    assert_eq!(
        names(&all),
        [
            "Aselsan Benzeri",
            "Cyber Bamako",
            "Défense Sahel",
            "Göktürk Uzay",
            "Naval du Golfe"
        ]
    );
    assert_eq!(names(&list("?q=DEFENSE").await), ["Défense Sahel"]);
    assert_eq!(names(&list("?q=gokturk").await), ["Göktürk Uzay"]);
    assert_eq!(list("?q=%25").await["total"], 0);
    assert_eq!(list("?country=tr").await["total"], 2);
    assert_eq!(
        names(&list("?sector=naval_systems").await),
        ["Naval du Golfe"]
    );
    assert_eq!(list(&format!("?pavilion={pavilion_id}")).await["total"], 2);

    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = list(&format!("?limit=2{cursor}")).await;
        assert_eq!(page["total"], 5);
        seen.extend(names(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen, names(&all));

    assert_problem(
        app.get(&format!("{EVENT}/exhibitors?status=pending")).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.get(&format!("{EVENT}/exhibitors?country=XX")).await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.get(&format!("{EVENT}/exhibitors?sector=lasers")).await,
        422,
        "validation_failed",
    )
    .await;
    let office: Value = app
        .get_as(
            &format!("{EVENT}/exhibitors?status=pending"),
            &organizer.access_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&office), ["Beklemede Savunma"]);
    // The pavilion's coordinator sees its pending exhibitor too.
    let coordinated: Value = app
        .get_as(
            &format!("{EVENT}/exhibitors?pavilion={pavilion_id}"),
            &coordinator.access_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(coordinated["total"], 3);
    let one = app
        .get_as(
            &format!("{EVENT}/exhibitors/{pending_in_pavilion}"),
            &coordinator.access_token,
        )
        .await;
    assert_eq!(one.status(), 200);
}

#[tokio::test]
async fn the_directory_query_uses_its_indexes() {
    use diesel::prelude::*;
    use diesel_async::{RunQueryDsl, SimpleAsyncConnection};

    #[derive(QueryableByName)]
    struct Plan {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let app = spawn_app().await;
    let mut conn = app.conn().await;
    // With a handful of rows PostgreSQL rightly prefers a sequential scan; forbid it to see
    // which index the planner would use on a full-size table.
    conn.batch_execute("SET enable_seqscan = off")
        .await
        .unwrap();
    let explain = async |conn: &mut bamex::db::DbConn, sql: &str| -> String {
        diesel::sql_query(format!("EXPLAIN {sql}"))
            .load::<Plan>(conn)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.line)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let event = "'00000000-0000-0000-0000-000000000000'";
    let plan = explain(&mut conn, &format!(
        "SELECT id FROM exhibitors WHERE event_id = {event} AND status = 'approved' ORDER BY sort_key, id LIMIT 21")).await;
    assert!(plan.contains("exhibitors_directory_idx"), "{plan}");
    let plan = explain(
        &mut conn,
        "SELECT id FROM exhibitors WHERE search_text LIKE '%defense%'",
    )
    .await;
    assert!(plan.contains("exhibitors_search_idx"), "{plan}");
    let plan = explain(&mut conn, &format!(
        "SELECT id FROM exhibitors WHERE event_id = {event} AND country = 'TR' AND status = 'approved' ORDER BY sort_key, id LIMIT 21")).await;
    assert!(plan.contains("exhibitors_country_idx"), "{plan}");
    let plan = explain(
        &mut conn,
        "SELECT id FROM exhibitors WHERE sectors @> ARRAY['naval_systems']",
    )
    .await;
    assert!(plan.contains("exhibitors_sectors_idx"), "{plan}");
}

#[tokio::test]
async fn the_anonymous_directory_cache_keys_on_the_parsed_query_and_is_bounded_in_bytes() {
    use diesel_async::RunQueryDsl;
    let bound: u64 = 256 * 1024;
    let app = crate::helpers::spawn_app_with(|s| s.application.directory_cache_bytes = bound).await;
    open_event(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let description: String = "Systèmes de défense terrestre, de surveillance et de transmission. "
        .repeat(70)
        .chars()
        .take(3990)
        .collect();
    for i in 0..30 {
        let mut body = company(&format!("Anadolu Savunma {i:02}"), "TR");
        body["description"] = json!(description);
        let (_, id) = apply(&app, &body).await;
        approve(&app, &organizer, &id).await;
    }
    let directory = format!("{EVENT}/exhibitors");
    let first = app
        .get(&format!("{directory}?limit=100&utm_source=1"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&first).unwrap()["total"], 30);

    // Renamed behind the service's back: only a page served from the cache has the old names.
    diesel::sql_query("UPDATE exhibitors SET display_name = 'Renamed'")
        .execute(&mut app.conn().await)
        .await
        .unwrap();
    for query in [
        "limit=100&utm_source=2",
        "utm_source=3&limit=100",
        "limit=100&fbclid=x&utm_source=4",
    ] {
        let page = app
            .get(&format!("{directory}?{query}"))
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(page, first, "?{query} is the same query as the first");
    }

    // A client varying a parameter the route does not know keeps one entry…
    for i in 0..200 {
        app.get(&format!("{directory}?limit=100&nonce={i}")).await;
    }
    let cache = &app.directory_cache;
    cache.run_pending_tasks().await;
    assert_eq!(cache.entry_count(), 1);
    assert!(
        cache.weighted_size() >= first.len() as u64,
        "entries are weighed in bytes: {} for a page of {}",
        cache.weighted_size(),
        first.len()
    );

    // …and distinct valid queries fill it up to its bound in bytes, never beyond.
    let mut served = 0;
    for limit in 1..=30 {
        let page = app
            .get(&format!("{directory}?limit={limit}"))
            .await
            .bytes()
            .await
            .unwrap();
        served += page.len() as u64;
        cache.run_pending_tasks().await;
        assert!(
            cache.weighted_size() <= bound,
            "{} bytes held, bound {bound}",
            cache.weighted_size()
        );
    }
    assert!(
        served > 4 * bound,
        "the pages ({served} bytes) do not all fit"
    );
}
