//! Identity documents as reviewers need them: place of birth and document expiry on the
//! participant, and document scans (checked by content, encrypted at rest, read only by
//! organizers and vetting officers, purged with the event's personal data).

use std::io::Cursor;

use bamex::users::Role;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::fixtures::{
    EVENT, active_delegation, apply, approve_exhibitor, audit_actions, booth, company, get,
    open_event, person, png, visitor,
};
use crate::helpers::{TestApp, TestUser, assert_problem, spawn_app};

/// A PDF of the smallest legal shape, holding `marker` in a comment.
fn pdf(marker: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n% {marker}\n1 0 obj << /Type /Catalog >> endobj\nxref\n0 1\n\
         0000000000 65535 f \ntrailer << /Size 1 /Root 1 0 R >>\nstartxref\n9\n%%EOF\n"
    )
    .into_bytes()
}

fn jpeg() -> Vec<u8> {
    let image = image::RgbImage::from_pixel(320, 200, image::Rgb([30, 90, 160]));
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut bytes)
        .encode_image(&image)
        .unwrap();
    bytes
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    let body = [kind.as_slice(), data].concat();
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
    out
}

/// A valid PNG header declaring 100,000 × 100,000 grey pixels (10 GB decoded) with a few bytes
/// of data: refused from its header, or it would never be answered.
fn png_bomb() -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let bomb = [
        b"\x89PNG\r\n\x1a\n".to_vec(),
        chunk(b"IHDR", &ihdr),
        chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]),
        chunk(b"IEND", &[]),
    ]
    .concat();
    assert_eq!(
        image::ImageReader::new(Cursor::new(&bomb))
            .with_guessed_format()
            .unwrap()
            .into_dimensions()
            .unwrap(),
        (100_000, 100_000)
    );
    bomb
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn put_scan(
    app: &TestApp,
    token: &str,
    participant: &str,
    kind: &str,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    app.client
        .put(app.url(&format!(
            "{EVENT}/participants/{participant}/documents/{kind}"
        )))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn get_scan(app: &TestApp, token: &str, participant: &str, kind: &str) -> reqwest::Response {
    app.get_as(
        &format!("{EVENT}/participants/{participant}/documents/{kind}"),
        token,
    )
    .await
}

async fn list_scans(app: &TestApp, token: &str, participant: &str) -> reqwest::Response {
    app.get_as(
        &format!("{EVENT}/participants/{participant}/documents"),
        token,
    )
    .await
}

/// The open event now vets `categories`.
async fn vet(app: &TestApp, admin: &TestUser, categories: &[&str]) {
    let response = app
        .patch_as(
            EVENT,
            &admin.access_token,
            &json!({ "vetting_categories": categories }),
        )
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// The fixture's person without the two details this module is about.
fn without_identity_details(mut person: Value) -> Value {
    let fields = person.as_object_mut().unwrap();
    fields.remove("place_of_birth");
    fields.remove("id_document_expires_on");
    person
}

async fn register_visitor(app: &TestApp, category: &str, extra: Value) -> reqwest::Response {
    let user = app.user_with_roles(&[Role::Visitor]).await;
    let mut body = without_identity_details(person(
        "Doğan",
        &format!("V{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
    ));
    body["email"] = json!(user.email);
    body["category"] = json!(category);
    for (field, value) in extra.as_object().unwrap() {
        body[field] = value.clone();
    }
    app.post_as(&format!("{EVENT}/visitors"), &user.access_token, &body)
        .await
}

/// `(field, code)` of each field error of a 422.
async fn field_codes(response: reqwest::Response) -> Vec<(String, String)> {
    let problem = assert_problem(response, 422, "validation_failed").await;
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn identity_details_are_required_only_where_the_event_vets_the_category() {
    let app = spawn_app().await;
    let admin = open_event(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;

    // Not vetted: both optional, shown as null.
    let plain = register_visitor(&app, "trade_visitor", json!({})).await;
    assert_eq!(plain.status(), 201);
    let plain: Value = plain.json().await.unwrap();
    assert_eq!(plain["place_of_birth"], Value::Null);
    assert_eq!(plain["id_document_expires_on"], Value::Null);

    vet(&app, &admin, &["trade_visitor", "delegation_member"]).await;
    let missing = register_visitor(&app, "trade_visitor", json!({"place_of_birth": " "})).await;
    assert_eq!(
        field_codes(missing).await,
        [
            ("place_of_birth".to_owned(), "required".to_owned()),
            ("id_document_expires_on".to_owned(), "required".to_owned()),
        ]
    );
    // A category the event does not vet still needs neither.
    let public = register_visitor(&app, "public_visitor", json!({})).await;
    assert_eq!(public.status(), 201);

    let complete = register_visitor(
        &app,
        "trade_visitor",
        json!({"place_of_birth": "İzmir", "id_document_expires_on": "2031-05-01"}),
    )
    .await;
    assert_eq!(complete.status(), 201);
    let complete: Value = complete.json().await.unwrap();
    assert_eq!(complete["place_of_birth"], "İzmir");
    assert_eq!(complete["id_document_expires_on"], "2031-05-01");
    // The organizers' accreditation view shows them too.
    let view = get(
        &app,
        &organizer,
        complete["accreditation"]["id"].as_str().unwrap(),
    )
    .await;
    assert_eq!(view["participant"]["place_of_birth"], "İzmir");
    assert_eq!(view["participant"]["id_document_expires_on"], "2031-05-01");

    // Delegation members, registered by their lead, and their corrections.
    let (delegation, lead) = active_delegation(&app, &organizer, "lead@mod.gov.sn", 3).await;
    let members = format!("{EVENT}/delegations/{delegation}/members");
    let mut member = without_identity_details(person("Diallo", "SN1234567"));
    let refused = app.post_as(&members, &lead, &member).await;
    assert_eq!(field_codes(refused).await.len(), 2);
    member["place_of_birth"] = json!("Thiès");
    member["id_document_expires_on"] = json!("2029-01-31");
    let created = app.post_as(&members, &lead, &member).await;
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let corrected = app
        .request_as(reqwest::Method::PUT, &format!("{members}/{id}"), &lead)
        .json(&without_identity_details(person("Diallo", "SN1234567")))
        .send()
        .await
        .unwrap();
    assert_eq!(field_codes(corrected).await.len(), 2);
    let read: Value = app
        .get_as(&format!("{members}/{id}"), &lead)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["place_of_birth"], "Thiès");
    assert_eq!(read["id_document_expires_on"], "2029-01-31");
}

#[tokio::test]
async fn a_document_expiring_before_the_last_day_is_refused_whatever_the_category() {
    let app = spawn_app().await;
    open_event(&app).await;
    // The fixture's event ends on 2026-11-27: valid through that day is enough.
    let early = register_visitor(
        &app,
        "public_visitor",
        json!({"id_document_expires_on": "2026-11-26"}),
    )
    .await;
    let problem = assert_problem(early, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "id_document_expires_on");
    assert_eq!(problem["errors"][0]["code"], "expires_too_soon");
    let last_day = register_visitor(
        &app,
        "public_visitor",
        json!({"id_document_expires_on": "2026-11-27"}),
    )
    .await;
    assert_eq!(last_day.status(), 201);
}

/// An approved exhibitor's owner and one pending staff member's participant id.
async fn staff_member(app: &TestApp, organizer: &TestUser, name: &str) -> (TestUser, String) {
    let (owner, exhibitor) = apply(app, &company(name, "TR")).await;
    approve_exhibitor(app, organizer, &exhibitor).await;
    let booked = booth(
        app,
        organizer,
        &exhibitor,
        &format!("B-{}", name.len()),
        18.0,
    )
    .await;
    assert_eq!(booked.status(), 200);
    let created = app
        .post_as(
            &format!("{EVENT}/exhibitors/{exhibitor}/staff"),
            &owner.access_token,
            &person(
                "Kaya",
                &format!("K{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
            ),
        )
        .await;
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (owner, id)
}

#[tokio::test]
async fn scans_are_judged_by_their_content_and_read_only_by_organizers_and_officers() {
    let app = spawn_app().await;
    open_event(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let officer = app.user_with_roles(&[Role::VettingOfficer]).await;
    let (owner, staff) = staff_member(&app, &organizer, "Sahel Armor").await;
    let (other_owner, _) = staff_member(&app, &organizer, "Other Company").await;
    let token = owner.access_token.as_str();

    let passport = pdf("passport data page");
    let uploaded = put_scan(
        &app,
        token,
        &staff,
        "passport",
        "application/pdf",
        passport.clone(),
    )
    .await;
    assert_eq!(uploaded.status(), 200);
    let uploaded: Value = uploaded.json().await.unwrap();
    assert_eq!(uploaded["kind"], "passport");
    assert_eq!(uploaded["content_type"], "application/pdf");
    assert_eq!(uploaded["size"], passport.len());
    assert_eq!(uploaded["sha256"], hex(&Sha256::digest(&passport)));
    let card = jpeg();
    let uploaded = put_scan(
        &app,
        token,
        &staff,
        "national_id",
        "image/jpeg",
        card.clone(),
    )
    .await;
    assert_eq!(uploaded.status(), 200);
    let press = png(600, 400);
    let uploaded = put_scan(
        &app,
        token,
        &staff,
        "press_card",
        "image/png",
        press.clone(),
    )
    .await;
    assert_eq!(uploaded.status(), 200);
    assert_eq!(
        audit_actions(&app, "participant.document_uploaded").await,
        3
    );

    // Not what they claim to be.
    for (content_type, body) in [
        (
            "application/pdf",
            b"Passport: U1234567, renamed notes.txt".to_vec(),
        ),
        (
            "application/pdf",
            b"<!DOCTYPE html><html><body>%PDF-1.4</body></html>".to_vec(),
        ),
        ("application/pdf", jpeg()),
        ("image/jpeg", png(200, 200)),
        ("image/png", pdf("not an image")),
        ("image/png", Vec::new()),
    ] {
        let refused = put_scan(&app, token, &staff, "passport", content_type, body).await;
        assert_problem(refused, 422, "document_not_recognized").await;
    }
    let text = put_scan(
        &app,
        token,
        &staff,
        "passport",
        "text/plain",
        b"hello".to_vec(),
    )
    .await;
    assert_problem(text, 415, "unsupported_media_type").await;
    let bomb = put_scan(&app, token, &staff, "passport", "image/png", png_bomb()).await;
    let problem = assert_problem(bomb, 422, "image_too_large").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("100000 × 100000"),
        "{problem}"
    );
    let huge = put_scan(
        &app,
        token,
        &staff,
        "passport",
        "application/pdf",
        vec![b'%'; 10 * 1024 * 1024 + 1],
    )
    .await;
    assert_problem(huge, 413, "payload_too_large").await;
    let unknown = put_scan(&app, token, &staff, "selfie", "image/png", png(200, 200)).await;
    assert_problem(unknown, 404, "not_found").await;
    // Someone else's staff member does not exist for another company's owner.
    let theirs = put_scan(
        &app,
        &other_owner.access_token,
        &staff,
        "passport",
        "application/pdf",
        pdf("forged"),
    )
    .await;
    assert_problem(theirs, 404, "not_found").await;
    assert_problem(
        list_scans(&app, &other_owner.access_token, &staff).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(
        audit_actions(&app, "participant.document_uploaded").await,
        3
    );

    // The uploader sees what is on file, not the files.
    let listed: Value = list_scans(&app, token, &staff).await.json().await.unwrap();
    let kinds: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["national_id", "passport", "press_card"]);
    assert_eq!(
        list_scans(&app, &officer.access_token, &staff)
            .await
            .status(),
        200
    );
    assert_problem(
        get_scan(&app, token, &staff, "passport").await,
        403,
        "forbidden",
    )
    .await;

    // Officers and organizers read them as uploaded, each read audited with its kind.
    let reads = audit_actions(&app, "participant.document_read").await;
    for (reader, kind, content_type, body) in [
        (&officer, "passport", "application/pdf", &passport),
        (&officer, "national_id", "image/jpeg", &card),
        (&organizer, "press_card", "image/png", &press),
    ] {
        let read = get_scan(&app, &reader.access_token, &staff, kind).await;
        assert_eq!(read.status(), 200);
        assert_eq!(read.headers()["content-type"], content_type);
        assert_eq!(read.headers()["cache-control"], "private, no-store");
        assert_eq!(&read.bytes().await.unwrap()[..], &body[..]);
    }
    assert_eq!(
        audit_actions(&app, "participant.document_read").await,
        reads + 3
    );
    let details: Vec<Value> = {
        use bamex::db::schema::audit_records::dsl;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        dsl::audit_records
            .filter(dsl::action.eq("participant.document_read"))
            .select(dsl::details)
            .load(&mut app.conn().await)
            .await
            .unwrap()
    };
    assert!(
        details.iter().any(|d| d["kind"] == "national_id"),
        "{details:?}"
    );
    assert_problem(
        get_scan(&app, &officer.access_token, &staff, "note_verbale").await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn scans_are_encrypted_at_rest_and_purged_with_the_event() {
    let app = spawn_app().await;
    open_event(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (user, accreditation) = visitor(&app, "media", "Journalista", "P7654321").await;
    let id = get(&app, &organizer, &accreditation).await["participant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let marker = "CLEARTEXT-SCAN-MARKER-5d1c";
    let scan = pdf(marker);
    let stored = put_scan(
        &app,
        &user.access_token,
        &id,
        "press_card",
        "application/pdf",
        scan.clone(),
    )
    .await;
    assert_eq!(stored.status(), 200);

    let dump = std::process::Command::new("pg_dump")
        .args(["--data-only", "--table=participant_documents"])
        .arg(app.db.url())
        .output()
        .expect("pg_dump runs");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dump = String::from_utf8(dump.stdout).unwrap();
    // The row is in the dump (its fingerprint is), its content in clear is not, in any spelling.
    assert!(dump.contains(&hex(&Sha256::digest(&scan))), "{dump}");
    assert!(!dump.contains(marker));
    assert!(!dump.contains(&hex(marker.as_bytes())));
    assert!(!dump.contains(&hex(b"%PDF-1.4")));

    let event_id = {
        use bamex::db::schema::events;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        events::table
            .filter(events::slug.eq("bamex-2026"))
            .select(events::id)
            .first::<uuid::Uuid>(&mut app.conn().await)
            .await
            .unwrap()
    };
    let mut conn = app.conn().await;
    bamex::retention::purge_event(&mut conn, event_id)
        .await
        .unwrap()
        .expect("purged now");
    drop(conn);
    let left: i64 = {
        use bamex::db::schema::participant_documents;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        participant_documents::table
            .count()
            .get_result(&mut app.conn().await)
            .await
            .unwrap()
    };
    assert_eq!(left, 0);
    assert_problem(
        get_scan(&app, &organizer.access_token, &id, "press_card").await,
        410,
        "personal_data_purged",
    )
    .await;
    assert_problem(
        list_scans(&app, &organizer.access_token, &id).await,
        410,
        "personal_data_purged",
    )
    .await;
    let again = put_scan(
        &app,
        &organizer.access_token,
        &id,
        "press_card",
        "application/pdf",
        scan,
    )
    .await;
    assert_problem(again, 410, "personal_data_purged").await;
}
