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
    ("get", "/api/v1/events/{event}/exhibitors/{id}/contractors"),
    ("post", "/api/v1/events/{event}/exhibitors/{id}/contractors"),
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
    ("post", "/api/v1/events/{event}/accreditations"),
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
    ("get", "/api/v1/events/{event}/gate-sync"),
    ("get", "/api/v1/events/{event}/gate-sync/photos/{badge_id}"),
    ("get", "/api/v1/events/{event}/vetting/export.csv"),
    ("get", "/api/v1/events/{event}/vetting/export.json"),
    ("post", "/api/v1/events/{event}/vetting/results"),
    ("get", "/.well-known/jwks.json"),
    (
        "get",
        "/api/v1/events/{event}/accreditations/{id}/badge.pdf",
    ),
    ("get", "/api/v1/events/{event}/badges.pdf"),
    ("get", "/api/v1/events/{event}/vetting"),
    ("post", "/api/v1/events/{event}/vetting/{id}/decision"),
    ("post", "/api/v1/events/{event}/vetting/decisions"),
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
        // A concrete path may match several templates (`…/decisions` and `…/{id}`): as in the
        // router, a literal segment wins over a parameter.
        let best = paths
            .keys()
            .filter(|other| matches_template(other, &path))
            .min_by_key(|other| {
                other
                    .split('/')
                    .map(|s| s.starts_with('{'))
                    .collect::<Vec<_>>()
            })
            .unwrap();
        assert_eq!(best, template, "{path} reaches another template");
        let documented: Vec<&str> = METHODS
            .into_iter()
            .filter(|m| paths[best].get(*m).is_some())
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

/// Every `$ref` in `value` with where it is.
fn references<'a>(value: &'a Value, at: String, found: &mut Vec<(String, &'a str)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("$ref", Value::String(target)) => found.push((at.clone(), target)),
                    _ => references(child, format!("{at}/{key}"), found),
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                references(child, format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

/// The points an OpenAPI linter checks that a client generator stops on, checked here too so
/// that a regression fails `cargo test` without node: the served document equals `bamex
/// openapi`'s, every reference resolves, every response has a description, every operation
/// declares its security (a known scheme, or none), operation ids and schema names are unique.
#[tokio::test]
async fn the_document_is_complete_for_client_generators() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let printed = crate::helpers::run_bamex(&["openapi"], &[], None);
    assert!(printed.status.success(), "{printed:?}");
    let printed: Value = serde_json::from_slice(&printed.stdout).unwrap();
    assert_eq!(printed, doc, "bamex openapi prints the served document");

    let mut found = Vec::new();
    references(&doc, String::new(), &mut found);
    assert!(found.len() > 100);
    for (at, target) in found {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{target}"));
        assert!(
            doc.pointer(pointer).is_some(),
            "{at} refers to {target}, which is not defined"
        );
    }

    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    let mut operation_ids = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap();
            assert!(operation_ids.insert(id), "operationId {id} twice");
            for (status, response) in operation["responses"].as_object().unwrap() {
                let response = match response["$ref"].as_str() {
                    Some(target) => doc.pointer(&target[1..]).unwrap(),
                    None => response,
                };
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{method} {path} {status} has no description"
                );
            }
            let security = operation["security"]
                .as_array()
                .unwrap_or_else(|| panic!("{method} {path} declares no security"));
            for requirement in security {
                for scheme in requirement.as_object().unwrap().keys() {
                    assert!(schemes.contains_key(scheme), "{method} {path}: {scheme}");
                }
            }
        }
    }
    let public = &doc["paths"]["/api/v1/auth/login"]["post"]["security"];
    assert_eq!(public, &serde_json::json!([]));
    let bearer = &doc["paths"]["/api/v1/me"]["get"]["security"];
    assert_eq!(bearer, &serde_json::json!([{ "bearer": [] }]));
    // A scan takes an agent's access token or a gate device's token, and documents the header
    // naming the agent signed in on the device.
    let scan = &doc["paths"]["/api/v1/events/{event}/scans"]["post"];
    assert_eq!(
        scan["security"],
        serde_json::json!([{ "bearer": [] }, { "device_token": [] }])
    );
    assert!(
        scan["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "X-Gate-Agent" && p["in"] == "header")
    );

    // Two types named Decision once shared one schema name.
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["Decision"]["enum"].is_array());
    assert!(schemas["ExhibitorDecision"]["properties"]["decided_at"].is_object());
    assert_eq!(
        schemas["ExhibitorView"]["properties"]["decision"]["oneOf"][0]["$ref"],
        "#/components/schemas/ExhibitorDecision"
    );
}

/// A visitor's registration is one closed object that a generated client can fill in, and the
/// limits the server enforces are declared.
#[tokio::test]
async fn the_document_declares_the_limits_the_server_enforces() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    let visitor = &schemas["VisitorRequest"];
    assert_eq!(visitor["type"], "object");
    assert_eq!(visitor["additionalProperties"], false);
    assert!(visitor.get("allOf").is_none());
    for field in [
        "category",
        "first_name",
        "nationality",
        "id_document_number",
    ] {
        assert!(visitor["properties"][field].is_object(), "{field}");
        assert!(
            visitor["required"]
                .as_array()
                .unwrap()
                .contains(&field.into()),
            "{field}"
        );
    }

    let limit = doc["paths"]["/api/v1/events"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap();
    assert_eq!(limit["schema"]["minimum"], 1);
    assert_eq!(limit["schema"]["maximum"], 100);
    let sort = doc["paths"]["/api/v1/events/{event}/accreditations"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "sort")
        .unwrap();
    assert_eq!(
        sort["schema"]["enum"],
        serde_json::json!(["created", "name"])
    );

    let register = &schemas["RegisterRequest"]["properties"];
    assert_eq!(register["email"]["format"], "email");
    assert_eq!(register["password"]["minLength"], 12);
    assert_eq!(register["password"]["maxLength"], 128);
    assert_eq!(register["full_name"]["minLength"], 1);
    assert_eq!(register["full_name"]["maxLength"], 200);
    let participant = &schemas["ParticipantInput"]["properties"];
    assert_eq!(participant["nationality"]["pattern"], "^[A-Za-z]{2}$");
    assert_eq!(participant["first_name"]["maxLength"], 100);
}

/// `OPTIONS` and a wrong method on `…/accreditations/decisions` name only what that route
/// answers, though `…/accreditations/{id}` matches the path too.
#[tokio::test]
async fn a_literal_route_is_not_mixed_with_its_parameter_sibling() {
    let app = spawn_app().await;
    let path = "/api/v1/events/bamex-2026/accreditations/decisions";
    for method in ["OPTIONS", "GET", "PUT"] {
        let response = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["allow"], "POST", "{method}");
        crate::helpers::assert_problem(response, 405, "method_not_allowed").await;
    }
}

/// serde builds a struct from an array of its fields in order; no body is meant that way.
#[tokio::test]
async fn a_body_that_is_not_a_json_object_is_refused() {
    let app = spawn_app().await;
    let user = app.user_with_roles(&[bamex::users::Role::Visitor]).await;
    for body in [
        serde_json::json!([null, null]),
        serde_json::json!([]),
        serde_json::json!("Ayşe"),
        serde_json::json!(null),
        serde_json::json!(12),
    ] {
        let response = app.patch_as("/api/v1/me", &user.access_token, &body).await;
        let problem = crate::helpers::assert_problem(response, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "body", "{body}");
    }
    let response = app
        .request_as(reqwest::Method::PATCH, "/api/v1/me", &user.access_token)
        .header("content-type", "application/json")
        .body("[null, ")
        .send()
        .await
        .unwrap();
    crate::helpers::assert_problem(response, 400, "invalid_json").await;
    let ok = app
        .patch_as(
            "/api/v1/me",
            &user.access_token,
            &serde_json::json!({ "full_name": "Ayşe Yılmaz" }),
        )
        .await;
    assert_eq!(ok.status(), 200);
}

/// Enums stored as text say their stored name in the API too: the document, clients and rows
/// in the database all use one spelling (`text_enum!` holds it, serde must agree).
#[test]
fn stored_enum_names_are_the_names_the_api_speaks() {
    macro_rules! same_names {
        ($($enum:ty),+ $(,)?) => {$(
            for value in <$enum>::ALL {
                assert_eq!(
                    serde_json::to_value(value).unwrap(),
                    serde_json::json!(value.as_str()),
                    "{}",
                    stringify!($enum)
                );
            }
        )+};
    }
    use bamex::accreditations::badges::BadgeEnd;
    use bamex::accreditations::{AccreditationStatus, Category, VettingState};
    use bamex::audit::actions::AuditAction;
    use bamex::delegations::{DelegationKind, DelegationStatus, ProtocolLevel};
    use bamex::events::EventStatus;
    use bamex::events::badge_rules::DaySet;
    use bamex::events::zones::Zone;
    use bamex::exhibitors::{ExhibitorStatus, Sector};
    use bamex::gates::{DenialReason, Direction, Verdict};
    use bamex::letters::LetterLanguage;
    use bamex::participants::DocumentType;
    use bamex::participants::scans::DocumentKind;
    use bamex::reissues::ReissueRequestState;
    use bamex::users::{Locale, Role};
    use bamex::webhooks::WebhookKind;
    use bamex::webhooks::store::DeliveryStatus;
    same_names!(
        AuditAction,
        AccreditationStatus,
        Category,
        VettingState,
        BadgeEnd,
        ReissueRequestState,
        DelegationKind,
        DelegationStatus,
        ProtocolLevel,
        EventStatus,
        DaySet,
        Zone,
        ExhibitorStatus,
        Sector,
        DenialReason,
        Direction,
        Verdict,
        LetterLanguage,
        DocumentType,
        DocumentKind,
        Locale,
        Role,
        WebhookKind,
        DeliveryStatus,
    );
}
