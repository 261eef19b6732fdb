use std::collections::BTreeSet;

use bamex::users::Role;
use serde_json::{Value, json};

use crate::fixtures::{
    EVENT, active_delegation, apply, approve, booth, company, get, open_event, person, png,
    put_photo, visitor,
};
use crate::fixtures::{approve_exhibitor, enrolled_device, event_from_today_named};
use crate::helpers::{TestApp, manifest_dir, spawn_app};

const COLUMNS: [&str; 11] = [
    "anonymous",
    "visitor",
    "media",
    "exhibitor",
    "delegation_lead",
    "gate_agent",
    "vetting_officer",
    "organizer",
    "admin",
    "gate_device",
    // Not a column: keeps the array length in step with the table header check below.
    "",
];

/// One cell of the table: `own` is allowed, but only on the caller's own records.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cell {
    Yes,
    Own,
    No,
}

struct Row {
    method: String,
    path: String,
    /// `yes` or `own`, per column.
    allowed: Vec<bool>,
    cells: Vec<Cell>,
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
    assert_eq!(names, COLUMNS[..10], "column order");
    text.lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| method"))
        .map(|line| {
            let cells: Vec<&str> = line
                .split('|')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            assert_eq!(cells.len(), 12, "{line}");
            let kinds: Vec<Cell> = cells[2..]
                .iter()
                .map(|c| match *c {
                    "yes" => Cell::Yes,
                    "own" => Cell::Own,
                    "no" => Cell::No,
                    other => panic!("cell `{other}` in {line}"),
                })
                .collect();
            Row {
                method: cells[0].to_lowercase(),
                path: cells[1].to_owned(),
                allowed: kinds.iter().map(|k| *k != Cell::No).collect(),
                cells: kinds,
            }
        })
        .collect()
}

/// `template` with `{event}` the event `slug` and every other `{…}` a random id.
fn concrete(template: &str, slug: &str) -> String {
    template
        .split('/')
        .map(|s| match s {
            "{event}" => slug.to_owned(),
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
        Role::VettingOfficer,
        Role::Organizer,
        Role::Admin,
    ] {
        tokens.push(Some(app.user_with_roles(&[role]).await.access_token));
    }
    // A gate device of an event of its own, called on that event's routes: the other columns'
    // event (`bamex-2026`) does not exist.
    let device_event = "gates-2026";
    event_from_today_named(&app, device_event).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let device = enrolled_device(
        &app,
        &organizer,
        device_event,
        "Scanner",
        &["exhibition_halls"],
    )
    .await;
    tokens.push(Some(device["token"].as_str().unwrap().to_owned()));
    for row in &rows {
        for (column, token) in tokens.iter().enumerate() {
            let slug = if COLUMNS[column] == "gate_device" {
                device_event
            } else {
                "bamex-2026"
            };
            let mut request = app.client.request(
                row.method.to_uppercase().parse().unwrap(),
                app.url(&concrete(&row.path, slug)),
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

/// The roles of the columns after `anonymous`, in the table's order.
const ROLES: [Role; 8] = [
    Role::Visitor,
    Role::Media,
    Role::Exhibitor,
    Role::DelegationLead,
    Role::GateAgent,
    Role::VettingOfficer,
    Role::Organizer,
    Role::Admin,
];

/// The columns where `own` is about ownership; organizers and admins see everyone's records.
const OWNING_COLUMNS: [&str; 6] = [
    "visitor",
    "media",
    "exhibitor",
    "delegation_lead",
    "gate_agent",
    "vetting_officer",
];

/// Path segments followed by the id of a record that belongs to someone.
const RECORD_KINDS: [&str; 6] = [
    "exhibitors",
    "staff",
    "delegations",
    "members",
    "participants",
    "accreditations",
];

/// `own` routes not checked for ownership: they name no one else's record, so there is nobody
/// else's record to refuse. The caller's own account, a list filtered to the caller's own, or
/// creating the caller's own record (applying as an exhibitor, registering as a visitor).
const NOBODY_ELSES_RECORD: [(&str, &str); 10] = [
    ("get", "/api/v1/me"),
    ("patch", "/api/v1/me"),
    ("post", "/api/v1/me/password"),
    ("post", "/api/v1/me/mfa"),
    ("delete", "/api/v1/me/mfa"),
    ("post", "/api/v1/me/mfa/confirm"),
    ("get", "/api/v1/me/accreditations"),
    ("post", "/api/v1/events/{event}/exhibitors"),
    ("get", "/api/v1/events/{event}/delegations"),
    ("post", "/api/v1/events/{event}/visitors"),
];

/// The bodies a caller without rights sends: neither may change the answer.
const BAD_BODIES: [(&str, &str); 2] = [
    ("a malformed body", r#"{"broken": "#),
    (
        "a body invalid for the route",
        r#"{"email": "not-an-email", "name": "", "first_name": "", "reason": 42, "decision": "explode", "ids": "x", "area_m2": -1, "qr": "", "zone": "nowhere"}"#,
    ),
];

/// The path names a record of one of [`RECORD_KINDS`] by its id.
fn names_a_record(template: &str) -> bool {
    let segments: Vec<&str> = template.split('/').collect();
    segments
        .windows(2)
        .any(|pair| RECORD_KINDS.contains(&pair[0]) && pair[1].starts_with('{'))
}

/// The caller's own visitor registration: a user who has none is answered 404.
fn names_my_registration(template: &str) -> bool {
    template.ends_with("/visitors/me")
}

/// Records that belong to other people: an exhibitor's company and staff member, a delegation
/// and its member, a visitor's registration.
pub struct SomeoneElses {
    pub user: uuid::Uuid,
    pub exhibitor: String,
    /// Participant ids.
    pub staff: String,
    pub member: String,
    pub visitor: String,
    /// The visitor's accreditation id.
    pub accreditation: String,
    pub delegation: String,
}

impl SomeoneElses {
    /// `template` with `{event}` the open event and every other `{…}` the id of one of these
    /// records, of the kind the segment before it names (a random token where none applies).
    pub fn path(&self, template: &str) -> String {
        let segments: Vec<&str> = template.split('/').collect();
        let mut path = Vec::new();
        for (i, segment) in segments.iter().enumerate() {
            if !segment.starts_with('{') {
                path.push(segment.to_string());
                continue;
            }
            let id = match (segments[i - 1], *segment) {
                (_, "{event}") => "bamex-2026".to_owned(),
                ("users", _) => self.user.to_string(),
                ("exhibitors", _) => self.exhibitor.clone(),
                ("staff", _) => self.staff.clone(),
                ("delegations", _) => self.delegation.clone(),
                ("members", _) => self.member.clone(),
                ("participants", _) => self.visitor.clone(),
                ("accreditations", _) => self.accreditation.clone(),
                ("documents", _) => "passport".to_owned(),
                _ => uuid::Uuid::new_v4().simple().to_string(),
            };
            path.push(id);
        }
        path.join("/")
    }
}

/// The `id` and `accreditation.id` of a created participant.
async fn participant_and_accreditation(response: reqwest::Response) -> (String, String) {
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let id = |v: &Value| v.as_str().unwrap().to_owned();
    (id(&body["id"]), id(&body["accreditation"]["id"]))
}

/// An open event with an approved exhibitor (booth, one staff member), an active delegation
/// (one member) and an approved visitor with a photo and a passport scan, none of them the callers' under test.
pub async fn someone_elses_records(app: &TestApp) -> SomeoneElses {
    open_event(app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;

    let (owner, exhibitor) = apply(app, &company("Sahel Armor", "TR")).await;
    approve_exhibitor(app, &organizer, &exhibitor).await;
    let booth = booth(app, &organizer, &exhibitor, "A-1", 18.0).await;
    assert_eq!(booth.status(), 200);
    let (staff, _) = participant_and_accreditation(
        app.post_as(
            &format!("{EVENT}/exhibitors/{exhibitor}/staff"),
            &owner.access_token,
            &person("Staffoğlu", "ZQ8842917"),
        )
        .await,
    )
    .await;

    let (delegation, lead) = active_delegation(app, &organizer, "liaison@msb.gov.tr", 5).await;
    let (member, _) = participant_and_accreditation(
        app.post_as(
            &format!("{EVENT}/delegations/{delegation}/members"),
            &lead,
            &person("Memberova", "M7000001"),
        )
        .await,
    )
    .await;

    let (visitor_user, accreditation) =
        visitor(app, "trade_visitor", "Visitorescu", "G9000001").await;
    let visitor = get(app, &organizer, &accreditation).await["participant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let photo = put_photo(app, &visitor_user.access_token, &visitor, (300, 300)).await;
    assert_eq!(photo.status(), 204);
    let passport = app
        .client
        .put(app.url(&format!(
            "{EVENT}/participants/{visitor}/documents/passport"
        )))
        .bearer_auth(&visitor_user.access_token)
        .header("content-type", "image/png")
        .body(png(300, 200))
        .send()
        .await
        .unwrap();
    assert_eq!(passport.status(), 200);
    approve(app, &organizer, &accreditation).await;

    SomeoneElses {
        user: owner.id,
        exhibitor,
        staff,
        member,
        visitor,
        accreditation,
        delegation,
    }
}

/// The status and problem code (`-` if none) of `method path` sent with a JSON `body`.
async fn answer(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut request = app
        .client
        .request(method.to_uppercase().parse().unwrap(), app.url(path))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let code = response
        .json::<Value>()
        .await
        .ok()
        .and_then(|b| b["code"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "-".to_owned());
    (status, code)
}

#[tokio::test]
async fn the_answer_to_a_caller_without_rights_never_depends_on_the_body() {
    let app = spawn_app().await;
    let rows = table();
    let theirs = someone_elses_records(&app).await;
    // One fresh account per role, owning nothing; anonymous has no token.
    let mut tokens = vec![None];
    for role in ROLES {
        tokens.push(Some(app.user_with_roles(&[role]).await.access_token));
    }
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let device = enrolled_device(
        &app,
        &organizer,
        "bamex-2026",
        "Scanner",
        &["exhibition_halls"],
    )
    .await;
    tokens.push(Some(device["token"].as_str().unwrap().to_owned()));
    for (method, path) in NOBODY_ELSES_RECORD {
        assert!(
            rows.iter().any(|r| r.method == method && r.path == path),
            "{method} {path} is skipped but not in the table"
        );
    }
    let owning = |column: usize| OWNING_COLUMNS.contains(&COLUMNS[column]);
    let skipped = |row: &Row| {
        NOBODY_ELSES_RECORD
            .iter()
            .any(|(method, path)| row.method == *method && row.path == *path)
    };

    let mut mismatches = Vec::new();
    let (mut refusals, mut ownership_checks) = (0, 0);
    let mut record_kinds_checked: BTreeSet<&str> = BTreeSet::new();
    for row in &rows {
        let path = theirs.path(&row.path);
        let checks_ownership = names_a_record(&row.path) || names_my_registration(&row.path);
        for (column, cell) in row.cells.iter().enumerate() {
            let token = tokens[column].as_deref();
            let expected = match cell {
                Cell::No if token.is_some() => 403,
                Cell::No => 401,
                Cell::Own if owning(column) && checks_ownership => 404,
                Cell::Own if owning(column) && !skipped(row) => {
                    mismatches.push(format!(
                        "{} {} is `own` but names no record and is not in NOBODY_ELSES_RECORD",
                        row.method, row.path
                    ));
                    continue;
                }
                Cell::Own | Cell::Yes => continue,
            };
            if expected == 404 {
                ownership_checks += BAD_BODIES.len();
                record_kinds_checked.extend(
                    RECORD_KINDS
                        .iter()
                        .filter(|kind| row.path.contains(&format!("/{kind}/{{")))
                        .copied(),
                );
            } else {
                refusals += BAD_BODIES.len();
            }
            for (body_name, body) in BAD_BODIES {
                let (status, code) = answer(&app, &row.method, &path, token, body).await;
                if status != expected {
                    mismatches.push(format!(
                        "{} {} as {} with {body_name}: expected {expected}, got {status} {code}",
                        row.method.to_uppercase(),
                        row.path,
                        COLUMNS[column]
                    ));
                }
            }
        }
    }

    // Every `no` cell was called with each body, and so was every `own` cell on a route naming
    // someone else's record, for each kind of record.
    let no_cells = rows
        .iter()
        .flat_map(|r| &r.cells)
        .filter(|c| **c == Cell::No)
        .count();
    let own_cells_checked: usize = rows
        .iter()
        .filter(|r| names_a_record(&r.path) || names_my_registration(&r.path))
        .map(|r| {
            (0..r.cells.len())
                .filter(|&c| owning(c) && r.cells[c] == Cell::Own)
                .count()
        })
        .sum();
    assert!(no_cells > 0 && own_cells_checked > 0);
    assert_eq!(refusals, BAD_BODIES.len() * no_cells);
    assert_eq!(ownership_checks, BAD_BODIES.len() * own_cells_checked);
    let unchecked_kinds: Vec<&str> = RECORD_KINDS
        .iter()
        .filter(|kind| !record_kinds_checked.contains(*kind))
        .copied()
        .collect();
    assert!(
        unchecked_kinds.is_empty(),
        "no `own` route checked on {unchecked_kinds:?}"
    );
    assert!(
        mismatches.is_empty(),
        "{} answers depend on the body or miss the refusal:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
