use std::time::Duration;

use crate::helpers::{SmtpSink, TestDb, assert_problem, spawn_app, spawn_app_on};

#[tokio::test]
async fn healthz_answers_ok_with_a_request_id() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"status": "ok"})
    );
}

#[tokio::test]
async fn the_clients_request_id_is_echoed_and_a_bad_one_replaced() {
    let app = spawn_app().await;
    let echoed = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "front-end-42.abc")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "front-end-42.abc");

    let replaced = app
        .client
        .get(app.url("/nowhere"))
        .header("x-request-id", "<script>alert(1)</script>")
        .send()
        .await
        .unwrap();
    let id = replaced.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
}

#[tokio::test]
async fn readyz_follows_the_database_down_and_back_up() {
    let app = spawn_app().await;
    assert_eq!(app.get("/readyz").await.status(), 200);

    // The database disappears under the running service…
    app.db.drop_now().await;
    let problem = assert_problem(app.get("/readyz").await, 503, "service_unavailable").await;
    assert!(
        !problem.to_string().to_lowercase().contains("database \""),
        "{problem}"
    );

    // …and comes back: the service recovers on its own.
    app.db.create().await;
    let mut status = 0;
    for _ in 0..50 {
        status = app.get("/readyz").await.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_service_creates_its_database_when_missing() {
    let db = TestDb::unborn();
    let app = spawn_app_on(db, SmtpSink::up(), |_| {}).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary() {
    let app = spawn_app().await;
    let redirect = app.get("/docs").await;
    assert_eq!(redirect.status(), 308);
    assert_eq!(redirect.headers()["location"], "/docs/");
    let page = app.get("/docs/").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("swagger-ui"));
    let initializer = app
        .get("/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        initializer.contains("/api/v1/openapi.json"),
        "{initializer}"
    );
}

#[tokio::test]
async fn cors_allows_configured_front_end_origins_only() {
    let app = spawn_app().await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/healthz"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let allowed = preflight("http://localhost:3000").await.unwrap();
    assert_eq!(allowed.status(), 200);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );

    let refused = preflight("https://evil.example").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    // A problem document like every other refusal, not actix-cors's bare text.
    let problem = assert_problem(refused, 400, "cors_refused").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("Origin"),
        "{problem}"
    );
}
