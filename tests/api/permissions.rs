use std::collections::BTreeSet;

use bamex::users::Role;
use serde_json::{Value, json};

use crate::helpers::{manifest_dir, spawn_app};

const COLUMNS: [&str; 9] = [
    "anonymous",
    "visitor",
    "media",
    "exhibitor",
    "delegation_lead",
    "gate_agent",
    "organizer",
    "admin",
    // Not a column: keeps the array length in step with the table header check below.
    "",
];

struct Row {
    method: String,
    path: String,
    allowed: Vec<bool>,
}

fn table() -> Vec<Row> {
    let text = std::fs::read_to_string(manifest_dir().join("docs/permissions.md")).unwrap();
    let header = text
        .lines()
        .find(|l| l.starts_with("| method"))
        .expect("the table header");
    let names: Vec<&str> = header
        .split('|')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .skip(2)
        .collect();
    assert_eq!(names, COLUMNS[..8], "column order");
    text.lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| method"))
        .map(|line| {
            let cells: Vec<&str> = line
                .split('|')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            assert_eq!(cells.len(), 10, "{line}");
            Row {
                method: cells[0].to_lowercase(),
                path: cells[1].to_owned(),
                allowed: cells[2..]
                    .iter()
                    .map(|c| match *c {
                        "yes" | "own" => true,
                        "no" => false,
                        other => panic!("cell `{other}` in {line}"),
                    })
                    .collect(),
            }
        })
        .collect()
}

fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|s| match s {
            "{event}" => "bamex-2026".to_owned(),
            s if s.starts_with('{') => uuid::Uuid::new_v4().to_string(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn the_role_table_matches_the_server() {
    let app = spawn_app().await;
    let rows = table();

    // The table lists exactly the documented (so mounted) operations.
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect();
    let listed: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    assert_eq!(
        listed, documented,
        "docs/permissions.md and the OpenAPI document differ"
    );

    let mut tokens = vec![None];
    for role in [
        Role::Visitor,
        Role::Media,
        Role::Exhibitor,
        Role::DelegationLead,
        Role::GateAgent,
        Role::Organizer,
        Role::Admin,
    ] {
        tokens.push(Some(app.user_with_roles(&[role]).await.access_token));
    }
    for row in &rows {
        for (column, token) in tokens.iter().enumerate() {
            let mut request = app.client.request(
                row.method.to_uppercase().parse().unwrap(),
                app.url(&concrete(&row.path)),
            );
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if row.method != "get" {
                request = request.json(&json!({}));
            }
            let status = request.send().await.unwrap().status().as_u16();
            let who = COLUMNS[column];
            if row.allowed[column] {
                assert!(
                    status != 401 && status != 403,
                    "{} {} as {who}: expected access, got {status}",
                    row.method,
                    row.path
                );
            } else {
                let expected = if token.is_some() { 403 } else { 401 };
                assert_eq!(status, expected, "{} {} as {who}", row.method, row.path);
            }
        }
    }
}
