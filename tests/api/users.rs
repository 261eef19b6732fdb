use bamex::users::Role;
use serde_json::{Value, json};

use crate::fixtures::audit_actions;
use crate::helpers::{PASSWORD, assert_problem, run_bamex, spawn_app};

#[tokio::test]
async fn an_admin_creates_an_organizer_who_sets_a_first_password() {
    let app = spawn_app().await;
    let admin = app.user_with_roles(&[Role::Admin]).await;
    let created = app
        .post_as(
            "/api/v1/users",
            &admin.access_token,
            &json!({"email": "mariam.diarra@bamex.ml", "full_name": "Mariam Diarra", "roles": ["organizer"]}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let user: Value = created.json().await.unwrap();
    assert_eq!(user["roles"], json!(["organizer"]));

    let mail = app.smtp.wait_for_mail_to("mariam.diarra@bamex.ml", 1).await;
    assert!(mail.text().contains("organizer") && mail.text().contains("72"));
    let token = mail.token("http://localhost:3000/reset-password");
    let set = app
        .post_json(
            "/api/v1/auth/password/reset",
            &json!({"token": token, "new_password": "Kayes-falls-Felou-1"}),
        )
        .await;
    assert_eq!(set.status(), 204);
    let login = app
        .login("mariam.diarra@bamex.ml", "Kayes-falls-Felou-1")
        .await;
    assert_eq!(login.status(), 200);
    assert_eq!(audit_actions(&app, "user.created").await, 1);

    let duplicate = app
        .post_as(
            "/api/v1/users",
            &admin.access_token,
            &json!({"email": "MARIAM.DIARRA@bamex.ml", "full_name": "M", "roles": ["gate_agent"]}),
        )
        .await;
    assert_problem(duplicate, 409, "email_taken").await;
    let bad = app
        .post_as(
            "/api/v1/users",
            &admin.access_token,
            &json!({"email": "x@bamex.ml", "full_name": "X", "roles": ["emperor"]}),
        )
        .await;
    assert_problem(bad, 422, "validation_failed").await;
}

#[tokio::test]
async fn admins_search_and_page_through_accounts() {
    let app = spawn_app().await;
    let admin = app.user_with_roles(&[Role::Admin]).await;
    for (i, name) in [
        "Awa Traoré",
        "Moussa Traore",
        "Zeynep Çelik",
        "Jean Dupont",
        "Kadidia Touré",
    ]
    .into_iter()
    .enumerate()
    {
        app.post_as(
            "/api/v1/users",
            &admin.access_token,
            &json!({"email": format!("person{i}@example.org"), "full_name": name, "roles": ["gate_agent"]}),
        )
        .await;
    }
    let search = |query: &'static str| {
        let app = &app;
        let token = admin.access_token.clone();
        async move {
            app.get_as(&format!("/api/v1/users?{query}"), &token)
                .await
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let traore = search("q=TRAORE").await;
    assert_eq!(traore["total"], 2, "accent- and case-insensitive: {traore}");
    assert_eq!(search("q=celik").await["total"], 1);
    assert_eq!(
        search("q=%25").await["total"],
        0,
        "LIKE wildcards are literal"
    );
    assert_eq!(search("role=gate_agent").await["total"], 5);

    let mut seen = Vec::new();
    let mut query = "role=gate_agent&limit=2".to_owned();
    loop {
        let page: Value = app
            .get_as(&format!("/api/v1/users?{query}"), &admin.access_token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(page["total"], 5);
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["email"].clone()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("role=gate_agent&limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    seen.dedup();
    assert_eq!(seen.len(), 5);

    for bad in [
        "limit=0",
        "limit=101",
        "limit=abc",
        "cursor=xyz",
        "role=emperor",
    ] {
        let response = app
            .get_as(&format!("/api/v1/users?{bad}"), &admin.access_token)
            .await;
        assert_problem(response, 422, "validation_failed").await;
    }
}

#[tokio::test]
async fn roles_change_and_disabling_ends_sessions_at_once() {
    let app = spawn_app().await;
    let admin = app.user_with_roles(&[Role::Admin]).await;
    let agent = app.user_with_roles(&[Role::Visitor]).await;
    let path = format!("/api/v1/users/{}", agent.id);

    let promoted = app
        .patch_as(
            &path,
            &admin.access_token,
            &json!({"roles": ["gate_agent", "visitor"]}),
        )
        .await;
    assert_eq!(promoted.status(), 200);
    assert_eq!(
        promoted.json::<Value>().await.unwrap()["roles"],
        json!(["gate_agent", "visitor"])
    );
    assert_eq!(audit_actions(&app, "user.roles_changed").await, 1);

    let disabled = app
        .patch_as(&path, &admin.access_token, &json!({"disabled": true}))
        .await;
    assert_eq!(
        disabled.json::<Value>().await.unwrap()["status"],
        "disabled"
    );
    let refresh = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": agent.refresh_token}),
        )
        .await;
    assert_problem(refresh, 401, "invalid_refresh_token").await;
    assert_problem(
        app.login(&agent.email, PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_eq!(audit_actions(&app, "user.disabled").await, 1);

    let enabled = app
        .patch_as(&path, &admin.access_token, &json!({"disabled": false}))
        .await;
    assert_eq!(enabled.json::<Value>().await.unwrap()["status"], "active");
    assert_eq!(app.login(&agent.email, PASSWORD).await.status(), 200);
    assert_eq!(audit_actions(&app, "user.enabled").await, 1);

    // An admin cannot lock themselves out.
    let own = format!("/api/v1/users/{}", admin.id);
    let demote = app
        .patch_as(&own, &admin.access_token, &json!({"roles": ["organizer"]}))
        .await;
    assert_problem(demote, 409, "cannot_change_own_access").await;
    let disable = app
        .patch_as(&own, &admin.access_token, &json!({"disabled": true}))
        .await;
    assert_problem(disable, 409, "cannot_change_own_access").await;

    let missing = app
        .get_as(
            &format!("/api/v1/users/{}", uuid::Uuid::new_v4()),
            &admin.access_token,
        )
        .await;
    assert_problem(missing, 404, "not_found").await;
    let malformed = app
        .get_as("/api/v1/users/not-a-uuid", &admin.access_token)
        .await;
    assert_problem(malformed, 404, "not_found").await;
}

#[tokio::test]
async fn create_admin_then_sign_in_over_http() {
    let app = spawn_app().await;
    let output = run_bamex(
        &[
            "create-admin",
            "--email",
            "root@bamex.ml",
            "--name",
            "Awa Traoré",
        ],
        &[("DATABASE_URL", &app.db.url())],
        Some("Sahel-Koulikoro-2026!\n"),
    );
    assert!(output.status.success());
    let login = app.login("root@bamex.ml", "Sahel-Koulikoro-2026!").await;
    assert_eq!(login.status(), 200);
    let token = login.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // An admin, who enrolls a second factor before anything else.
    let me: Value = app.get_as("/api/v1/me", &token).await.json().await.unwrap();
    assert_eq!(me["roles"], json!(["admin"]));
    assert_problem(
        app.get_as("/api/v1/users", &token).await,
        403,
        "mfa_enrollment_required",
    )
    .await;
}
