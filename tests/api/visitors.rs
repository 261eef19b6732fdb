use std::io::Cursor;

use bamex::users::Role;
use serde_json::{Value, json};

use crate::fixtures::{EVENT, open_event, person, png};
use crate::helpers::{TestApp, TestUser, assert_problem, spawn_app};

fn visitor(category: &str) -> Value {
    let mut body = person("Keïta", "V1234567");
    body["category"] = json!(category);
    body
}

async fn register(app: &TestApp, user: &TestUser, body: &Value) -> reqwest::Response {
    app.post_as(&format!("{EVENT}/visitors"), &user.access_token, body)
        .await
}

#[tokio::test]
async fn visitors_register_once_and_public_ones_may_be_approved_at_once() {
    let app = spawn_app().await;
    let admin = open_event(&app).await;
    let trade = app.user_with_roles(&[Role::Visitor]).await;
    let response = register(&app, &trade, &visitor("trade_visitor")).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (
            body["accreditation"]["status"].as_str(),
            body["accreditation"]["category"].as_str()
        ),
        (Some("pending"), Some("trade_visitor"))
    );
    let mail = app.smtp.wait_for_mail_to(&trade.email, 1).await;
    assert!(
        mail.subject().contains("received"),
        "English account: {}",
        mail.subject()
    );
    assert_problem(
        register(&app, &trade, &visitor("public_visitor")).await,
        409,
        "already_registered",
    )
    .await;

    let public = app.user_with_roles(&[Role::Visitor]).await;
    let approved: Value = register(&app, &public, &visitor("public_visitor"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        approved["accreditation"]["status"], "approved",
        "auto_approve_public is on"
    );
    let badge_mail = app.smtp.wait_for_mail_to(&public.email, 1).await;
    assert_eq!(
        badge_mail.attachments().len(),
        1,
        "the badge travels with the confirmation"
    );
    assert!(
        mail.attachments().is_empty(),
        "nothing to attach while pending"
    );
    let mine: Value = app
        .get_as("/api/v1/me/accreditations", &public.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["next_cursor"], Value::Null);
    let mine = &mine["items"];
    assert_eq!(
        (
            mine[0]["event"]["slug"].as_str(),
            mine[0]["status"].as_str()
        ),
        (Some("bamex-2026"), Some("approved"))
    );

    app.patch_as(
        EVENT,
        &admin.access_token,
        &json!({"auto_approve_public": false}),
    )
    .await;
    let later = app.user_with_roles(&[Role::Visitor]).await;
    let pending: Value = register(&app, &later, &visitor("public_visitor"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pending["accreditation"]["status"], "pending");

    let bad = register(&app, &later, &json!({"category": "vip"})).await;
    assert_problem(bad, 422, "validation_failed").await;
}

#[tokio::test]
async fn journalists_give_their_outlet_and_press_card_and_wait_for_review() {
    let app = spawn_app().await;
    open_event(&app).await;
    let journalist = app.user_with_roles(&[Role::Visitor]).await;
    let missing = register(&app, &journalist, &visitor("media")).await;
    let problem = assert_problem(missing, 422, "validation_failed").await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["media_outlet", "press_card_number"]);

    let mut body = visitor("media");
    body["media_outlet"] = json!("L'Essor");
    body["press_card_number"] = json!("ML-PRESS-0421");
    let registered: Value = register(&app, &journalist, &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        registered["accreditation"]["status"], "pending",
        "media always need an organizer"
    );
    let mut unknown = visitor("trade_visitor");
    unknown["is_vip"] = json!(true);
    let other = app.user_with_roles(&[Role::Visitor]).await;
    assert_problem(
        register(&app, &other, &unknown).await,
        422,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn photos_are_checked_resized_and_served_to_the_right_people() {
    let app = spawn_app().await;
    open_event(&app).await;
    let me = app.user_with_roles(&[Role::Visitor]).await;
    let registered: Value = register(&app, &me, &visitor("trade_visitor"))
        .await
        .json()
        .await
        .unwrap();
    let path = format!(
        "{EVENT}/participants/{}/photo",
        registered["id"].as_str().unwrap()
    );
    let upload = |token: String, content_type: &'static str, body: Vec<u8>| {
        app.client
            .put(app.url(&path))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    let stored = upload(me.access_token.clone(), "image/png", png(900, 1200))
        .await
        .unwrap();
    assert_eq!(stored.status(), 204);
    let photo = app.get_as(&path, &me.access_token).await;
    assert_eq!(photo.headers()["content-type"], "image/jpeg");
    let jpeg = photo.bytes().await.unwrap();
    let decoded = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (400, 500));

    let fake = upload(
        me.access_token.clone(),
        "image/jpeg",
        b"this is a text file, renamed photo.jpg".to_vec(),
    )
    .await
    .unwrap();
    assert_problem(fake, 422, "validation_failed").await;
    let liar = upload(me.access_token.clone(), "image/jpeg", png(300, 300))
        .await
        .unwrap();
    assert_problem(liar, 422, "validation_failed").await;
    let tiny = upload(me.access_token.clone(), "image/png", png(40, 40))
        .await
        .unwrap();
    assert_problem(tiny, 422, "validation_failed").await;
    let huge = upload(
        me.access_token.clone(),
        "image/png",
        vec![0u8; 5 * 1024 * 1024 + 1],
    )
    .await
    .unwrap();
    assert_problem(huge, 413, "payload_too_large").await;
    let gif = upload(me.access_token.clone(), "image/gif", b"GIF89a".to_vec())
        .await
        .unwrap();
    assert_problem(gif, 415, "unsupported_media_type").await;

    let stranger = app.user_with_roles(&[Role::Visitor]).await;
    assert_problem(
        upload(stranger.access_token.clone(), "image/png", png(300, 300))
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.get_as(&path, &stranger.access_token).await,
        404,
        "not_found",
    )
    .await;
    let guard = app.user_with_roles(&[Role::GateAgent]).await;
    assert_eq!(app.get_as(&path, &guard.access_token).await.status(), 200);
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    assert_eq!(
        app.get_as(&path, &organizer.access_token).await.status(),
        200
    );

    // Once the badge is approved, the face a guard compares with is the organizers' to change.
    let accreditation = registered["accreditation"]["id"].as_str().unwrap();
    crate::fixtures::approve(&app, &organizer, accreditation).await;
    assert_problem(
        upload(me.access_token.clone(), "image/png", png(300, 300))
            .await
            .unwrap(),
        409,
        "not_editable",
    )
    .await;
    let replaced = upload(organizer.access_token.clone(), "image/png", png(300, 300))
        .await
        .unwrap();
    assert_eq!(replaced.status(), 204);
    assert_eq!(
        crate::fixtures::audit_actions(&app, "participant.photo_uploaded").await,
        2
    );
}

/// A baseline JPEG of 200 × 200 pixels whose frame header (SOF0) is rewritten to declare
/// `width` × `height`: a few kilobytes claiming gigabytes.
fn jpeg_declaring(width: u16, height: u16) -> Vec<u8> {
    let image = image::RgbImage::from_pixel(200, 200, image::Rgb([120, 80, 40]));
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut bytes)
        .encode_image(&image)
        .unwrap();
    let sof = bytes
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("a baseline frame header");
    bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    assert_eq!(
        image::ImageReader::with_format(Cursor::new(&bytes), image::ImageFormat::Jpeg)
            .into_dimensions()
            .unwrap(),
        (u32::from(width), u32::from(height))
    );
    bytes
}

/// A registered visitor and the path of their photo.
async fn visitor_with_photo_path(app: &TestApp) -> (TestUser, String) {
    open_event(app).await;
    let me = app.user_with_roles(&[Role::Visitor]).await;
    let registered: Value = register(app, &me, &visitor("trade_visitor"))
        .await
        .json()
        .await
        .unwrap();
    let path = format!(
        "{EVENT}/participants/{}/photo",
        registered["id"].as_str().unwrap()
    );
    (me, path)
}

#[tokio::test]
async fn decompression_bombs_are_refused_from_their_header() {
    let app = spawn_app().await;
    let (me, path) = visitor_with_photo_path(&app).await;
    let upload = |content_type: &'static str, body: Vec<u8>| {
        app.client
            .put(app.url(&path))
            .bearer_auth(&me.access_token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    // 7,072 × 7,072 grey pixels: 50 MB once decoded, a few kilobytes compressed.
    let mut bomb = Vec::new();
    image::GrayImage::new(7072, 7072)
        .write_to(&mut Cursor::new(&mut bomb), image::ImageFormat::Png)
        .unwrap();
    assert!(bomb.len() < 400_000, "{} bytes", bomb.len());
    let problem = assert_problem(
        upload("image/png", bomb).await.unwrap(),
        422,
        "image_too_large",
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("7072 × 7072"),
        "{problem}"
    );
    for (width, height) in [(9_000, 9_000), (65_000, 65_000)] {
        let problem = assert_problem(
            upload("image/jpeg", jpeg_declaring(width, height))
                .await
                .unwrap(),
            422,
            "image_too_large",
        )
        .await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("24 megapixels"),
            "{problem}"
        );
    }
    // Nothing was stored; an ordinary photo still is.
    assert_problem(app.get_as(&path, &me.access_token).await, 404, "not_found").await;
    assert_eq!(
        upload("image/png", png(900, 1200)).await.unwrap().status(),
        204
    );

    // A wrong content type is told which ones the route takes.
    let problem = assert_problem(
        upload("application/json", b"{}".to_vec()).await.unwrap(),
        415,
        "unsupported_media_type",
    )
    .await;
    assert_eq!(
        problem["detail"],
        "Send the body as image/jpeg or image/png."
    );
}

/// The peak resident memory of a process so far (`VmHWM`), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status")
}

/// The memory ceiling README states ("Memory"), for the service as a process of its own.
const MEMORY_CEILING_MIB: u64 = 512;

#[tokio::test]
async fn concurrent_large_uploads_keep_the_server_under_its_memory_ceiling() {
    use std::process::Stdio;

    // The in-process service sets the scene; the uploads go to the binary, on the same database.
    let app = spawn_app().await;
    let (me, path) = visitor_with_photo_path(&app).await;
    // Just under the pixel budget (23.5 megapixels): 71 MB decoded.
    let large = png(5600, 4200);
    assert!(large.len() <= 5 * 1024 * 1024, "{} bytes", large.len());

    let (mut serve, port) = crate::helpers::bamex_serve(&app.db.url());
    let mut child = serve
        .env(
            "BAMEX__EMAIL__OUTBOX_DIR",
            std::env::temp_dir().join(format!("{}-rss", app.db.name)),
        )
        .env_remove("SMTP_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "the server came up");
    let before = peak_rss_kib(child.id());

    let uploads = (0..8).map(|_| {
        client
            .put(format!("{base}{path}"))
            .bearer_auth(&me.access_token)
            .header("content-type", "image/png")
            .body(large.clone())
            .send()
    });
    let statuses: Vec<u16> = futures_util::future::join_all(uploads)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    let peak = peak_rss_kib(child.id());
    // SAFETY: a plain syscall sending a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();

    assert!(statuses.iter().all(|s| *s == 204), "{statuses:?}");
    eprintln!(
        "peak RSS {} MiB after 8 uploads at once (at start {} MiB)",
        peak / 1024,
        before / 1024
    );
    assert!(
        peak < MEMORY_CEILING_MIB * 1024,
        "peak RSS {} MiB (at start {} MiB), ceiling {MEMORY_CEILING_MIB} MiB",
        peak / 1024,
        before / 1024
    );
}
