use serde_json::Value;

use crate::helpers::spawn_app;

/// Routes of the front-end contract (BRIEF.md) implemented so far; each must be documented.
const CONTRACT: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/api/v1/openapi.json"),
    ("get", "/docs"),
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/verify-email"),
    ("post", "/api/v1/auth/resend-verification"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/auth/password/forgot"),
    ("post", "/api/v1/auth/password/reset"),
    ("get", "/api/v1/me"),
    ("patch", "/api/v1/me"),
    ("post", "/api/v1/me/password"),
    ("get", "/api/v1/users"),
    ("post", "/api/v1/users"),
    ("get", "/api/v1/users/{id}"),
    ("patch", "/api/v1/users/{id}"),
    ("get", "/api/v1/events"),
    ("post", "/api/v1/events"),
    ("get", "/api/v1/events/{event}"),
    ("patch", "/api/v1/events/{event}"),
    ("get", "/api/v1/events/{event}/exhibitors"),
    ("post", "/api/v1/events/{event}/exhibitors"),
    ("get", "/api/v1/events/{event}/exhibitors/{id}"),
    ("patch", "/api/v1/events/{event}/exhibitors/{id}"),
    ("post", "/api/v1/events/{event}/exhibitors/{id}/review"),
    ("put", "/api/v1/events/{event}/exhibitors/{id}/booth"),
    ("get", "/api/v1/events/{event}/exhibitors/{id}/staff"),
    ("post", "/api/v1/events/{event}/exhibitors/{id}/staff"),
    ("get", "/api/v1/events/{event}/pavilions"),
    ("post", "/api/v1/events/{event}/pavilions"),
    ("get", "/api/v1/me/accreditations"),
    ("get", "/api/v1/events/{event}/delegations"),
    ("post", "/api/v1/events/{event}/delegations"),
    ("get", "/api/v1/events/{event}/delegations/{id}"),
    ("patch", "/api/v1/events/{event}/delegations/{id}"),
    ("get", "/api/v1/events/{event}/delegations/{id}/members"),
    ("post", "/api/v1/events/{event}/delegations/{id}/members"),
    ("post", "/api/v1/invitations/{token}/accept"),
    ("post", "/api/v1/events/{event}/visitors"),
    ("get", "/api/v1/events/{event}/accreditations"),
    ("get", "/api/v1/events/{event}/accreditations/{id}"),
    (
        "post",
        "/api/v1/events/{event}/accreditations/{id}/decision",
    ),
    ("post", "/api/v1/events/{event}/accreditations/decisions"),
    ("post", "/api/v1/events/{event}/accreditations/{id}/revoke"),
    ("get", "/api/v1/events/{event}/accreditations.csv"),
    ("post", "/api/v1/events/{event}/scans"),
    ("get", "/api/v1/events/{event}/stats"),
    ("get", "/.well-known/jwks.json"),
    (
        "get",
        "/api/v1/events/{event}/accreditations/{id}/badge.pdf",
    ),
    ("get", "/api/v1/events/{event}/badges.pdf"),
];

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// A path template with its parameters filled in with plausible values.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|segment| match segment {
            "{event}" => "bamex-2026".to_owned(),
            s if s.starts_with('{') => uuid::Uuid::new_v4().to_string(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn matches_template(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| t.starts_with('{') || t == p)
}

async fn document(app: &crate::helpers::TestApp) -> Value {
    let response = app.get("/api/v1/openapi.json").await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_document_is_openapi_3_1_with_bearer_auth_and_problem_errors() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["Problem"]["properties"]["code"].is_object());
    assert!(doc["components"]["schemas"]["Problem"]["example"].is_object());
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.contains_key("500"),
                "{method} {path} documents no 500"
            );
            if operation.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} documents no {status}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn the_contract_routes_are_documented() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    for (method, path) in CONTRACT {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is missing from the OpenAPI document"
        );
    }
}

/// The document and the server agree: every documented operation is mounted (no 404 from the
/// router), and every other method on a documented path is refused with 405 and `Allow`.
#[tokio::test]
async fn documented_routes_and_mounted_routes_are_the_same() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let paths = doc["paths"].as_object().unwrap();
    for template in paths.keys() {
        let path = concrete(template);
        // A concrete path may match several templates (`…/decisions` and `…/{id}`).
        let documented: Vec<&str> = METHODS
            .into_iter()
            .filter(|m| {
                paths
                    .iter()
                    .any(|(other, item)| matches_template(other, &path) && item.get(*m).is_some())
            })
            .collect();
        for method in METHODS {
            let request = app
                .client
                .request(method.to_uppercase().parse().unwrap(), app.url(&path));
            let request = if method == "get" || method == "delete" {
                request
            } else {
                request.json(&serde_json::json!({}))
            };
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let allow = response
                .headers()
                .get("allow")
                .map(|v| v.to_str().unwrap().to_owned());
            let body = response.text().await.unwrap();
            if documented.contains(&method) {
                assert!(
                    !body.contains("\"route_not_found\"") && status != 405,
                    "{method} {template} is documented but not mounted ({status} {body})"
                );
            } else {
                assert_eq!(
                    status, 405,
                    "{method} {template} is mounted but not documented"
                );
                let mut expected: Vec<String> =
                    documented.iter().map(|m| m.to_uppercase()).collect();
                // HEAD is allowed wherever GET is (it is routed as the GET), right after it.
                if documented.first() == Some(&"get") {
                    expected.insert(1, "HEAD".to_owned());
                }
                assert_eq!(allow.unwrap(), expected.join(", "));
            }
        }
    }
}

/// The `Idempotency-Key` header is documented exactly where the service honours it.
#[tokio::test]
async fn the_idempotency_key_is_documented_where_it_is_accepted() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let takes_key = |path: &str| {
        doc["paths"][path]["post"]["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header")
    };
    for path in [
        "/api/v1/events/{event}/visitors",
        "/api/v1/events",
        "/api/v1/events/{event}/delegations",
        "/api/v1/auth/register",
    ] {
        assert!(takes_key(path), "POST {path} documents no Idempotency-Key");
    }
    for path in [
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/password/reset",
        "/api/v1/events/{event}/scans",
    ] {
        assert!(
            doc["paths"][path]["post"].is_object() && !takes_key(path),
            "POST {path} documents an Idempotency-Key it ignores"
        );
    }
    let responses = &doc["paths"]["/api/v1/events/{event}/visitors"]["post"]["responses"];
    // Its own 409 (already registered) now also names the idempotency conflict.
    assert!(
        responses["409"]["description"].as_str().is_some_and(
            |d| d.contains("already_registered") && d.contains("idempotency_in_progress")
        ),
        "{}",
        responses["409"]
    );
    assert!(
        responses["422"]["description"].as_str().is_some_and(
            |d| d.contains("validation_failed") && d.contains("idempotency_key_reused")
        ),
        "{}",
        responses["422"]
    );
    assert!(responses["201"]["headers"]["idempotent-replayed"].is_object());
    // Where the operation had no 409, the shared answer is referenced.
    assert_eq!(
        doc["paths"]["/api/v1/events/{event}/delegations"]["post"]["responses"]["409"]["$ref"],
        "#/components/responses/IdempotencyInProgress"
    );
}
