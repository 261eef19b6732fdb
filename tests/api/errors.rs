use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn unknown_routes_are_404_problems() {
    let app = spawn_app().await;
    for path in ["/nope", "/api/v1/nope", "/api/v1/events/x/../../etc/passwd"] {
        assert_problem(app.get(path).await, 404, "route_not_found").await;
    }
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow() {
    let app = spawn_app().await;
    let response = app.client.delete(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.headers()["allow"], "GET, HEAD");
    assert_problem(response, 405, "method_not_allowed").await;

    let response = app
        .post_json("/api/v1/openapi.json", &serde_json::json!({}))
        .await;
    assert_eq!(response.headers()["allow"], "GET, HEAD");
    assert_problem(response, 405, "method_not_allowed").await;
}

/// What a problem says about `field`.
fn message_for<'a>(problem: &'a serde_json::Value, field: &str) -> &'a str {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["field"] == field)
        .and_then(|e| e["message"].as_str())
        .unwrap_or_else(|| panic!("no error for {field}: {problem}"))
}

#[tokio::test]
async fn a_nul_anywhere_in_a_request_is_refused_before_it_reaches_the_database() {
    use bamex::users::Role;
    use base64::Engine;
    use serde_json::json;

    use crate::fixtures::{EVENT, open_event};

    let app = spawn_app().await;
    open_event(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;

    // Query parameters, on the public directory and on the review queue.
    let problem = assert_problem(
        app.get(&format!("{EVENT}/exhibitors?q=a%00b")).await,
        422,
        "validation_failed",
    )
    .await;
    assert!(message_for(&problem, "q").contains("NUL"), "{problem}");
    let problem = assert_problem(
        app.get_as(
            &format!("{EVENT}/accreditations?q=Ke%00ita"),
            &organizer.access_token,
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert!(message_for(&problem, "q").contains("NUL"), "{problem}");

    // A cursor whose JSON holds an escaped NUL.
    let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(br#"["a\u0000b","01a23471-ea53-74b7-b0a3-f6ae34c31672"]"#);
    let problem = assert_problem(
        app.get(&format!("{EVENT}/exhibitors?cursor={cursor}"))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert!(message_for(&problem, "cursor").contains("NUL"), "{problem}");

    // A path segment.
    let problem = assert_problem(
        app.get("/api/v1/events/bamex%002026").await,
        422,
        "validation_failed",
    )
    .await;
    assert!(message_for(&problem, "path").contains("NUL"), "{problem}");

    // JSON bodies, named by their path, in keys as well as values.
    let problem = assert_problem(
        app.post_json(
            "/api/v1/auth/register",
            &json!({"email": "awa@example.org", "password": "Koulikoro-range-2026", "full_name": "Awa\u{0}Traoré"}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert!(
        message_for(&problem, "full_name").contains("NUL"),
        "{problem}"
    );
    let mut body = crate::fixtures::company("Anadolu", "TR");
    body["sectors"] = json!(["land_systems", "communi\u{0}cations"]);
    let problem = assert_problem(
        app.post_as(
            &format!("{EVENT}/exhibitors"),
            &organizer.access_token,
            &body,
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert!(
        message_for(&problem, "sectors[1]").contains("NUL"),
        "{problem}"
    );
    let problem = assert_problem(
        app.post_json(
            "/api/v1/auth/login",
            &json!({"email\u{0}": "x", "password": "y"}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert!(message_for(&problem, "body").contains("NUL"), "{problem}");

    // An escaped backslash before `u0000` is text, not a NUL.
    let literal = app.get(&format!("{EVENT}/exhibitors?q=%5Cu0000")).await;
    assert_eq!(literal.status(), 200);
    let mut conn = app.conn().await;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let accounts: i64 = bamex::db::schema::users::table
        .filter(
            bamex::db::schema::users::email
                .eq(bamex::users::EmailAddress::parse("awa@example.org").unwrap()),
        )
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(accounts, 0);
}

#[tokio::test]
async fn names_refuse_bidirectional_controls() {
    use bamex::users::Role;
    use serde_json::json;

    use crate::fixtures::{EVENT, company, open_event, person};

    let app = spawn_app().await;
    open_event(&app).await;
    let problem = assert_problem(
        app.post_json(
            "/api/v1/auth/register",
            &json!({"email": "awa@example.org", "password": "Koulikoro-range-2026",
                    "full_name": "Awa \u{202E}éroarT"}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert!(
        message_for(&problem, "full_name").contains("bidirectional"),
        "{problem}"
    );

    let visitor = app.user_with_roles(&[Role::Visitor]).await;
    let mut body = person("Keïta\u{2066}", "V1234567");
    body["first_name"] = json!("Ay\u{202A}şe");
    body["organization"] = json!("Anadolu \u{2069}");
    body["category"] = json!("trade_visitor");
    let problem = assert_problem(
        app.post_as(&format!("{EVENT}/visitors"), &visitor.access_token, &body)
            .await,
        422,
        "validation_failed",
    )
    .await;
    for field in ["first_name", "last_name", "organization"] {
        assert!(
            message_for(&problem, field).contains("bidirectional"),
            "{problem}"
        );
    }

    let mut body = company("Peak\u{202D} Defense", "TR");
    body["display_name"] = json!("Peak \u{2067}Defense");
    let problem = assert_problem(
        app.post_as(&format!("{EVENT}/exhibitors"), &visitor.access_token, &body)
            .await,
        422,
        "validation_failed",
    )
    .await;
    for field in ["legal_name", "display_name"] {
        assert!(
            message_for(&problem, field).contains("bidirectional"),
            "{problem}"
        );
    }
    // Right-to-left names themselves are welcome.
    let mut body = person("عبد الله", "V7654321");
    body["category"] = json!("trade_visitor");
    let accepted = app
        .post_as(&format!("{EVENT}/visitors"), &visitor.access_token, &body)
        .await;
    assert_eq!(accepted.status(), 201);
}

#[tokio::test]
async fn a_database_connection_killed_mid_request_answers_503_with_retry_after() {
    use diesel::sql_types::{BigInt, Integer};
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
    use serde_json::json;

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    #[derive(diesel::QueryableByName)]
    struct Killed {
        #[diesel(sql_type = Integer)]
        killed: i32,
    }

    let app = spawn_app().await;
    let me = app.user_with_roles(&[bamex::users::Role::Visitor]).await;
    // The test's own connection holds the account's row lock, so that the service's update
    // waits on it, mid-request.
    let mut locker = AsyncPgConnection::establish(&app.db.url()).await.unwrap();
    locker
        .batch_execute(&format!(
            "BEGIN; SELECT id FROM users WHERE id = '{}' FOR UPDATE",
            me.id
        ))
        .await
        .unwrap();
    let patch = app
        .request_as(reqwest::Method::PATCH, "/api/v1/me", &me.access_token)
        .json(&json!({"full_name": "Awa Traoré"}))
        .send();
    let kill = async {
        let mut observer = AsyncPgConnection::establish(&app.db.url()).await.unwrap();
        for _ in 0..200 {
            let waiting = diesel::sql_query(
                "SELECT count(*) AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .get_result::<Count>(&mut observer)
            .await
            .unwrap()
            .n;
            if waiting > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        // Every session of the service's database but the two of the test.
        diesel::sql_query(
            "SELECT count(pg_terminate_backend(pid))::int AS killed FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
             AND wait_event_type = 'Lock'",
        )
        .get_result::<Killed>(&mut observer)
        .await
        .unwrap()
        .killed
    };
    let (response, killed) = tokio::join!(patch, kill);
    assert!(killed >= 1, "the waiting request was found and killed");
    let response = response.unwrap();
    assert_eq!(response.headers()["retry-after"], "5");
    let problem = assert_problem(response, 503, "service_unavailable").await;
    assert!(!problem.to_string().contains("connection"), "{problem}");
    locker.batch_execute("ROLLBACK").await.unwrap();

    // The pool replaces the dead connection: the retry goes through.
    let retried = app
        .request_as(reqwest::Method::PATCH, "/api/v1/me", &me.access_token)
        .json(&json!({"full_name": "Awa Traoré"}))
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), 200);
}
