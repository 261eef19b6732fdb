//! `HEAD` on every GET route answers as the GET would, without a body and without the GET's
//! side effects (no badge print counted, no document read audited).

use std::io::{Read, Write};

use bamex::users::Role;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};

use crate::fixtures::{EVENT, audit_actions, enrolled_device};
use crate::helpers::{TestApp, manifest_dir, spawn_app};
use crate::permissions::someone_elses_records;

/// The GET paths of docs/permissions.md.
fn get_routes() -> Vec<String> {
    std::fs::read_to_string(manifest_dir().join("docs/permissions.md"))
        .unwrap()
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            (cells.len() > 2 && cells[1] == "GET").then(|| cells[2].to_owned())
        })
        .collect()
}

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

async fn prints(app: &TestApp, accreditation: &str) -> i32 {
    use bamex::db::schema::badges::dsl;
    dsl::badges
        .filter(dsl::accreditation_id.eq(accreditation.parse::<uuid::Uuid>().unwrap()))
        .select(dsl::prints)
        .first(&mut app.conn().await)
        .await
        .unwrap()
}

/// What arrives on the wire for a HEAD: the head, then nothing, whatever Content-Length says.
fn raw_head(address: &str, path: &str, token: &str) -> (String, Vec<u8>) {
    let port = address.rsplit(':').next().unwrap();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port.parse().unwrap())).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "HEAD {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head")
        + 4;
    (
        String::from_utf8_lossy(&answer[..end]).to_lowercase(),
        answer[end..].to_vec(),
    )
}

#[tokio::test]
async fn head_answers_every_get_route_as_get_would_without_a_body_or_side_effects() {
    let app = spawn_app().await;
    let theirs = someone_elses_records(&app).await;
    let admin = app.user_with_roles(&[Role::Admin]).await;
    // Vetting is the officers' alone (admins excluded on purpose).
    let officer = app.user_with_roles(&[Role::VettingOfficer]).await;
    // The sync feed answers gate devices only; its photo route a badge the feed lists.
    let device = enrolled_device(&app, &admin, "bamex-2026", "Scanner", &["exhibition_halls"])
        .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let feed: serde_json::Value = app
        .get_as(&format!("{EVENT}/gate-sync"), &device)
        .await
        .json()
        .await
        .unwrap();
    let photo_url = feed["badges"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|badge| badge["photo_url"].as_str())
        .expect("the visitor's badge has a photo")
        .to_owned();
    let routes = get_routes();
    assert!(routes.len() > 20, "{routes:?}");

    let mut mismatches = Vec::new();
    let mut failed_gets = Vec::new();
    for route in &routes {
        let path = if route.ends_with("/gate-sync/photos/{badge_id}") {
            photo_url.clone()
        } else {
            theirs.path(route)
        };
        let caller = if route.contains("/gate-sync") {
            &device
        } else if route.contains("/vetting") {
            &officer.access_token
        } else {
            &admin.access_token
        };
        // HEAD first: a GET of a badge counts a print, which HEAD must not see either way.
        let head = app
            .client
            .head(app.url(&path))
            .bearer_auth(caller)
            .send()
            .await
            .unwrap();
        let get = app
            .client
            .get(app.url(&path))
            .bearer_auth(caller)
            .send()
            .await
            .unwrap();
        let head_status = head.status();
        let head_type = header(&head, CONTENT_TYPE);
        let head_length = header(&head, CONTENT_LENGTH);
        let get_type = header(&get, CONTENT_TYPE);
        let get_length = header(&get, CONTENT_LENGTH);
        let get_status = get.status();
        let get_body = get.bytes().await.unwrap();
        let head_body = head.bytes().await.unwrap();
        if head_status != get_status || head_type != get_type || !head_body.is_empty() {
            mismatches.push(format!(
                "HEAD {route}: {head_status} {head_type:?} ({} bytes) where GET is {get_status} {get_type:?}",
                head_body.len()
            ));
        }
        // Where GET says how long its body is, HEAD says the same (its whole body was read).
        if let Some(length) = &get_length {
            assert_eq!(length, &get_body.len().to_string(), "GET {route}");
            if head_length.as_ref() != Some(length) {
                mismatches.push(format!(
                    "HEAD {route}: Content-Length {head_length:?} where GET has {length}"
                ));
            }
        }
        if !get_status.is_success() && !get_status.is_redirection() {
            failed_gets.push(route.as_str());
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} HEAD answers differ from GET:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    // Every GET found what it asked for, but the registration of the admin, who has none, the
    // letters of the delegation, whose member is not approved, a letter's code, made up here, a
    // person of the vetting queue, which the shared records' event (vetting nobody) has none of,
    // and the deliveries of a webhook endpoint, which the shared records do not include (HEAD
    // still answered those 404s as GET did; `vetting::officers_see_masked_numbers…` checks HEAD
    // there).
    assert_eq!(
        failed_gets,
        [
            "/api/v1/events/{event}/visitors/me",
            "/api/v1/events/{event}/delegations/{id}/letters.pdf",
            "/api/v1/letters/{code}",
            "/api/v1/events/{event}/vetting/{id}",
            "/api/v1/events/{event}/webhooks/{id}/deliveries"
        ]
    );

    // No print counted by HEAD, one by GET; and no body on the wire.
    let badge = format!("{EVENT}/accreditations/{}/badge.pdf", theirs.accreditation);
    let before = prints(&app, &theirs.accreditation).await;
    let (address, token) = (app.address.clone(), admin.access_token.clone());
    let raw_path = badge.clone();
    // Blocking socket I/O off the runtime, which also runs the server's background tasks.
    let (head, rest) = tokio::task::spawn_blocking(move || raw_head(&address, &raw_path, &token))
        .await
        .unwrap();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-type: application/pdf"), "{head}");
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .expect("a Content-Length")
        .trim()
        .parse()
        .unwrap();
    assert!(length > 1000 && rest.is_empty(), "{length} {}", rest.len());
    let batch = app
        .client
        .head(app.url(&format!("{EVENT}/badges.pdf")))
        .bearer_auth(&admin.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(batch.status(), 200);
    assert_eq!(prints(&app, &theirs.accreditation).await, before);
    let printed = app.get_as(&badge, &admin.access_token).await;
    assert_eq!(printed.status(), 200);
    assert_eq!(prints(&app, &theirs.accreditation).await, before + 1);

    // No document read recorded by HEAD: an organizer's read of a staff member, of a
    // delegation member, and the invitation letter.
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let reads = [
        "/api/v1/events/{event}/exhibitors/{id}/staff/{staff_id}",
        "/api/v1/events/{event}/delegations/{id}/members/{member_id}",
        "/api/v1/events/{event}/accreditations/{id}/invitation-letter.pdf",
    ];
    for template in reads {
        let path = theirs.path(template);
        let audited = audit_actions(&app, "participant.document_read").await;
        let head = app
            .client
            .head(app.url(&path))
            .bearer_auth(&organizer.access_token)
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), 200, "{template}");
        assert_eq!(
            audit_actions(&app, "participant.document_read").await,
            audited,
            "HEAD {template} recorded a read"
        );
        let get = app.get_as(&path, &organizer.access_token).await;
        assert_eq!(get.status(), 200, "{template}");
        assert_eq!(
            audit_actions(&app, "participant.document_read").await,
            audited + 1,
            "GET {template} records the read"
        );
    }
}

#[tokio::test]
async fn allow_lists_head_wherever_get_is_allowed() {
    let app = spawn_app().await;
    let wrong = app
        .client
        .delete(app.url("/api/v1/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 405);
    assert_eq!(wrong.headers()["allow"], "GET, HEAD, POST");

    // A route without GET has no HEAD either.
    let login = app
        .client
        .head(app.url("/api/v1/auth/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 405);
    assert_eq!(login.headers()["allow"], "POST");
    assert!(login.bytes().await.unwrap().is_empty());
}
