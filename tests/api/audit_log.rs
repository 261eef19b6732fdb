//! The audit trail's API (filters, pages, CSV, who may read it) and its append-only table.

use bamex::users::Role;
use diesel_async::SimpleAsyncConnection;
use serde_json::{Value, json};

use crate::fixtures::{apply, company, open_event};
use crate::helpers::{TestApp, assert_problem, spawn_app};

async fn list(app: &TestApp, token: &str, query: &str) -> Value {
    let response = app.get_as(&format!("/api/v1/audit{query}"), token).await;
    assert_eq!(response.status(), 200, "{query}");
    response.json().await.unwrap()
}

fn actions(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_audit_list_is_filtered_paged_and_invisible_to_other_roles() {
    let app = spawn_app().await;
    let admin = open_event(&app).await;
    let event_id = {
        use bamex::db::schema::events::dsl;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        dsl::events
            .select(dsl::id)
            .first::<uuid::Uuid>(&mut app.conn().await)
            .await
            .unwrap()
            .to_string()
    };
    for name in ["a", "b"] {
        let created = app
            .post_as(
                "/api/v1/users",
                &admin.access_token,
                &json!({"email": format!("{name}@bamex.ml"), "full_name": "Agent", "roles": ["gate_agent"]}),
            )
            .await;
        assert_eq!(created.status(), 201);
    }
    let (owner, exhibitor_id) = apply(&app, &company("Aselsan", "TR")).await;

    // Admins: everything, newest first, filtered.
    let all = list(&app, &admin.access_token, "").await;
    assert_eq!(all["total"], all["items"].as_array().unwrap().len());
    assert_eq!(actions(&all)[0], "exhibitor.applied");
    let applied = &all["items"][0];
    assert_eq!(applied["event_id"], event_id);
    assert_eq!(applied["event"], "bamex-2026");
    assert_eq!(applied["target_id"], exhibitor_id.as_str());
    assert_eq!(applied["actor_id"], owner.id.to_string());
    let created = list(&app, &admin.access_token, "?action=user.created").await;
    assert_eq!(created["total"], 2);
    assert!(created["items"][0]["event_id"].is_null());
    let by_admin = list(
        &app,
        &admin.access_token,
        &format!("?actor_id={}&target_type=event", admin.id),
    )
    .await;
    assert_eq!(actions(&by_admin), ["event.created"]);
    assert_eq!(by_admin["items"][0]["event_id"], event_id);
    let of_exhibitor = list(
        &app,
        &admin.access_token,
        &format!("?target_type=exhibitor&target_id={exhibitor_id}&event=bamex-2026"),
    )
    .await;
    assert_eq!(actions(&of_exhibitor), ["exhibitor.applied"]);
    let elsewhere = list(&app, &admin.access_token, "?event=bamex-2024").await;
    assert_eq!(elsewhere["total"], 0);
    let before = list(&app, &admin.access_token, "?to=2020-01-01T00:00:00Z").await;
    assert_eq!(before["total"], 0);
    let since = list(&app, &admin.access_token, "?from=2020-01-01T00:00:00Z").await;
    assert_eq!(since["total"], all["total"]);
    assert_problem(
        app.get_as(
            "/api/v1/audit?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
            &admin.access_token,
        )
        .await,
        422,
        "validation_failed",
    )
    .await;

    // Paged: each record once, in order, until no cursor is left.
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_owned();
    loop {
        let page = list(&app, &admin.access_token, &query).await;
        assert!(page["items"].as_array().unwrap().len() <= 2);
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let every: Vec<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, every);

    // Organizers: only the records about events.
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let theirs = list(&app, &organizer.access_token, "").await;
    assert!(
        theirs["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["event_id"] == event_id),
        "{theirs}"
    );
    assert_eq!(actions(&theirs), ["exhibitor.applied", "event.created"]);
    let hidden = list(&app, &organizer.access_token, "?action=user.created").await;
    assert_eq!(hidden["total"], 0);

    // Nobody else.
    for role in [
        Role::GateAgent,
        Role::Visitor,
        Role::Exhibitor,
        Role::VettingOfficer,
    ] {
        let user = app.user_with_roles(&[role]).await;
        for path in ["/api/v1/audit", "/api/v1/audit.csv"] {
            assert_problem(app.get_as(path, &user.access_token).await, 403, "forbidden").await;
        }
    }
    assert_problem(app.get("/api/v1/audit").await, 401, "unauthenticated").await;

    // The CSV: the same records and filters.
    let csv = app
        .get_as("/api/v1/audit.csv?action=user.created", &admin.access_token)
        .await;
    assert_eq!(csv.status(), 200);
    assert_eq!(
        csv.headers()["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(
        lines[0],
        "id,created_at,actor_id,action,target_type,target_id,event,client_ip,details"
    );
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[1].contains(",user.created,user,"), "{text}");
}

#[tokio::test]
async fn an_update_or_delete_of_an_audit_row_is_refused_by_the_database() {
    let app = spawn_app().await;
    open_event(&app).await;
    let mut conn = app.conn().await;
    for statement in [
        "UPDATE audit_records SET action = 'event.deleted'",
        "UPDATE audit_records SET details = '{\"forged\": true}'",
        "UPDATE audit_records SET actor_id = gen_random_uuid()",
        "DELETE FROM audit_records",
    ] {
        let refused = conn.batch_execute(statement).await.unwrap_err();
        assert!(
            refused.to_string().contains("append-only"),
            "{statement}: {refused}"
        );
    }
    // What the retention purge does is still allowed.
    conn.batch_execute(
        "UPDATE audit_records SET client_ip = NULL, actor_id = NULL, \
         details = CASE WHEN details ? 'reason' THEN jsonb_set(details, '{reason}', '\"[purged]\"') \
                   ELSE details END",
    )
    .await
    .unwrap();
}
