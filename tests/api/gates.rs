use bamex::users::Role;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde_json::{Value, json};

use crate::fixtures::{EVENT, approve, event_from_today, visitor};
use crate::helpers::{TestApp, TestUser, assert_problem, spawn_app, spawn_app_with};

pub async fn scan(app: &TestApp, agent: &TestUser, qr: &str, zone: &str, direction: &str) -> Value {
    let response = app
        .post_as(
            &format!("{EVENT}/scans"),
            &agent.access_token,
            &json!({"qr": qr, "gate": "north-1", "zone": zone, "direction": direction}),
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// A trade visitor approved by `organizer`: their badge's QR.
async fn trade_visitor_qr(
    app: &TestApp,
    organizer: &TestUser,
    last_name: &str,
    document: &str,
) -> String {
    let (_, id) = visitor(app, "trade_visitor", last_name, document).await;
    approve(app, organizer, &id).await["badge"]["qr"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A service with an event open today, an organizer, a gate agent, and the QR of one trade
/// visitor the organizer approved.
struct Gate {
    app: TestApp,
    organizer: TestUser,
    agent: TestUser,
    qr: String,
}

async fn gate_with_badge(last_name: &str, document: &str) -> Gate {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let agent = app.user_with_roles(&[Role::GateAgent]).await;
    let qr = trade_visitor_qr(&app, &organizer, last_name, document).await;
    Gate {
        app,
        organizer,
        agent,
        qr,
    }
}

async fn stats(app: &TestApp, organizer: &TestUser) -> Value {
    app.get_as(&format!("{EVENT}/stats"), &organizer.access_token)
        .await
        .json()
        .await
        .unwrap()
}

fn reason(result: &Value) -> &str {
    result["reason"].as_str().unwrap_or("allowed")
}

/// Verifies a compact JWS with the published key, using ed25519-dalek directly rather than the
/// service's JWT library.
fn verify_with_jwks(jwks: &Value, token: &str) -> Value {
    let mut parts = token.split('.');
    let (header, payload, signature) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let header: Value = serde_json::from_slice(&B64.decode(header).unwrap()).unwrap();
    assert_eq!(header["alg"], "EdDSA");
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the token's kid is published");
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str()),
        (Some("OKP"), Some("Ed25519"))
    );
    let public: [u8; 32] = B64
        .decode(key["x"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let signature = Signature::from_slice(&B64.decode(signature).unwrap()).unwrap();
    VerifyingKey::from_bytes(&public)
        .unwrap()
        .verify(
            format!("{}.{}", token.split('.').next().unwrap(), payload).as_bytes(),
            &signature,
        )
        .expect("the signature verifies with the JWKS");
    serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn a_badge_qr_verifies_offline_with_the_published_keys() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (_, id) = visitor(&app, "trade_visitor", "Konaté", "G1000001").await;
    let badge = approve(&app, &organizer, &id).await["badge"].clone();
    let jwks: Value = app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    let claims = verify_with_jwks(&jwks, badge["qr"].as_str().unwrap());
    assert_eq!(claims["evt"], "bamex-2026");
    assert_eq!(claims["num"], badge["number"]);
    assert_eq!(claims["cat"], "trade_visitor");
    assert_eq!(claims["zones"], badge["zones"]);
    assert_eq!(claims["days"], badge["valid_days"]);
    assert!(claims["exp"].as_i64().unwrap() > chrono::Utc::now().timestamp());
}

/// README's offline check, run as written there with PyJWT, on the JWKS the server publishes.
const OFFLINE_CHECK: &str = r#"
import json, sys
import jwt
jwks = json.loads(sys.argv[1])
keys = {k["kid"]: jwt.PyJWK(k) for k in jwks["keys"]}
qr = sys.argv[2]
kid = jwt.get_unverified_header(qr)["kid"]
claims = jwt.decode(qr, keys[kid], algorithms=["EdDSA"], issuer="bamex-badges")
print(json.dumps(claims))
"#;

/// Runs README's offline check on a QR with PyJWT, an independent JWT library.
pub fn verify_with_pyjwt(jwks: &str, qr: &str) -> std::process::Output {
    std::process::Command::new("python3")
        .args(["-c", OFFLINE_CHECK, jwks, qr])
        .output()
        .expect("python3 runs (scripts/ensure-test-tools installs PyJWT)")
}

#[tokio::test]
async fn a_gate_offline_verifies_badges_with_pyjwt_as_the_readme_shows() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (_, id) = visitor(&app, "trade_visitor", "Ouattara", "G7000001").await;
    let badge = approve(&app, &organizer, &id).await["badge"].clone();
    let jwks = app
        .get("/.well-known/jwks.json")
        .await
        .text()
        .await
        .unwrap();
    let check = |qr: String| verify_with_pyjwt(&jwks, &qr);
    let verified = check(badge["qr"].as_str().unwrap().to_owned());
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let claims: Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(claims["num"], badge["number"]);
    assert_eq!(claims["evt"], "bamex-2026");

    let qr = badge["qr"].as_str().unwrap();
    let mut parts: Vec<String> = qr.split('.').map(str::to_owned).collect();
    let mut forged: Value = serde_json::from_slice(&B64.decode(&parts[1]).unwrap()).unwrap();
    forged["zones"] = json!(["vip_lounge"]);
    parts[1] = B64.encode(forged.to_string());
    let refused = check(parts.join("."));
    assert!(!refused.status.success(), "a forged badge fails the check");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("InvalidSignatureError"));
}

#[tokio::test]
async fn gates_allow_deny_and_remember_who_is_inside() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let agent = app.user_with_roles(&[Role::GateAgent]).await;
    let (_, trade) = visitor(&app, "trade_visitor", "Keïta", "G2000001").await;
    let qr = approve(&app, &organizer, &trade).await["badge"]["qr"]
        .as_str()
        .unwrap()
        .to_owned();

    let entry = scan(&app, &agent, &qr, "exhibition_halls", "in").await;
    assert_eq!(entry["verdict"], "allowed");
    assert_eq!(entry["holder"]["name"], "Ayşe Keïta");
    assert_eq!(entry["holder"]["category"], "trade_visitor");
    assert_eq!(
        reason(&scan(&app, &agent, &qr, "exhibition_halls", "in").await),
        "already_inside"
    );
    assert_eq!(
        reason(&scan(&app, &agent, &qr, "exhibition_halls", "out").await),
        "allowed"
    );
    assert_eq!(
        reason(&scan(&app, &agent, &qr, "exhibition_halls", "in").await),
        "allowed"
    );
    assert_eq!(
        reason(&scan(&app, &agent, &qr, "vip_lounge", "in").await),
        "zone_not_allowed"
    );
    assert_eq!(
        reason(&scan(&app, &agent, &qr, "demonstration_range", "in").await),
        "zone_not_allowed"
    );

    // A payload altered by one claim no longer matches its signature.
    let mut parts: Vec<String> = qr.split('.').map(str::to_owned).collect();
    let mut claims: Value = serde_json::from_slice(&B64.decode(&parts[1]).unwrap()).unwrap();
    claims["zones"] = json!(["exhibition_halls", "vip_lounge"]);
    parts[1] = B64.encode(claims.to_string());
    let forged = parts.join(".");
    let denied = scan(&app, &agent, &forged, "vip_lounge", "in").await;
    assert_eq!(
        (denied["verdict"].as_str(), reason(&denied)),
        (Some("denied"), "invalid_signature")
    );
    assert!(denied["holder"].is_null());
    assert_eq!(
        reason(&scan(&app, &agent, "not-a-jws", "exhibition_halls", "in").await),
        "invalid_signature"
    );

    // Public visitors are valid on public days only: today is a trade day.
    let (_, public) = visitor(&app, "public_visitor", "Touré", "G2000002").await;
    let public_qr = crate::fixtures::get(&app, &organizer, &public).await["badge"]["qr"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        reason(&scan(&app, &agent, &public_qr, "exhibition_halls", "in").await),
        "not_valid_today"
    );

    // Revoked after printing: the signature is still valid, the badge is refused.
    app.post_as(
        &format!("{EVENT}/accreditations/{trade}/revoke"),
        &organizer.access_token,
        &json!({"reason": "lost"}),
    )
    .await;
    assert_eq!(
        reason(&scan(&app, &agent, &qr, "exhibition_halls", "out").await),
        "revoked"
    );

    let stats = stats(&app, &organizer).await;
    assert_eq!(
        stats["entries_per_gate"],
        json!([{"key": "north-1", "count": 2}])
    );
    assert_eq!(stats["entries_per_day"][0]["count"], 2);
    assert_eq!(stats["inside_now"], 1);
}

#[tokio::test]
async fn a_retried_scan_counts_once_and_only_gate_agents_scan() {
    let Gate {
        app,
        organizer,
        agent,
        qr,
    } = gate_with_badge("Retry", "G3000001").await;
    let scan_id = uuid::Uuid::new_v4();
    let body = json!({"qr": qr, "gate": "south", "zone": "exhibition_halls", "direction": "in", "scan_id": scan_id});
    let first: Value = app
        .post_as(&format!("{EVENT}/scans"), &agent.access_token, &body)
        .await
        .json()
        .await
        .unwrap();
    let again: Value = app
        .post_as(&format!("{EVENT}/scans"), &agent.access_token, &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["verdict"], "allowed");
    assert_eq!(
        again["verdict"], "allowed",
        "the retry is not an `already_inside`"
    );
    assert_eq!(again["scan_id"], scan_id.to_string());
    let stats = stats(&app, &organizer).await;
    assert_eq!(stats["entries_per_gate"][0]["count"], 1);

    let forbidden = app
        .post_as(&format!("{EVENT}/scans"), &organizer.access_token, &body)
        .await;
    assert_problem(forbidden, 403, "forbidden").await;
}

#[tokio::test]
async fn gates_racing_on_one_badge_let_it_in_once_per_zone() {
    let Gate {
        app,
        organizer,
        agent,
        qr,
    } = gate_with_badge("Dembélé", "G4000001").await;
    let verdicts = futures_util::future::join_all(
        (0..8).map(|_| scan(&app, &agent, &qr, "exhibition_halls", "in")),
    )
    .await;
    let mut reasons: Vec<&str> = verdicts.iter().map(reason).collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [["allowed"].as_slice(), &["already_inside"; 7]].concat()
    );

    // Presence is per zone: inside the halls, the holder may still enter a conference room.
    assert_eq!(
        reason(&scan(&app, &agent, &qr, "conference_rooms", "in").await),
        "allowed"
    );
    let stats = stats(&app, &organizer).await;
    assert_eq!(stats["inside_now"], 1, "one person, in two zones");
}

#[tokio::test]
async fn scans_arriving_together_are_each_judged_on_their_own() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let agent = app.user_with_roles(&[Role::GateAgent]).await;
    let mut qrs = Vec::new();
    for (i, name) in ["Coulibaly", "Diarra", "Traoré", "Konaté", "Sangaré"]
        .into_iter()
        .enumerate()
    {
        qrs.push(trade_visitor_qr(&app, &organizer, name, &format!("G60000{i:02}")).await);
    }
    let (_, revoked) = visitor(&app, "trade_visitor", "Maïga", "G6000099").await;
    let revoked_qr = approve(&app, &organizer, &revoked).await["badge"]["qr"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post_as(
        &format!("{EVENT}/accreditations/{revoked}/revoke"),
        &organizer.access_token,
        &json!({"reason": "stolen"}),
    )
    .await;

    // Five entries, each twice, a revoked badge, a forgery and a wrong zone, all at once: the
    // recorder takes them in batches, and each gets the answer it would get alone.
    let burst = |direction: &'static str| {
        let mut scans: Vec<(String, &str)> = qrs
            .iter()
            .flat_map(|qr| {
                [
                    (qr.clone(), "exhibition_halls"),
                    (qr.clone(), "exhibition_halls"),
                ]
            })
            .collect();
        scans.push((revoked_qr.clone(), "exhibition_halls"));
        scans.push(("forged.qr.code".to_owned(), "exhibition_halls"));
        scans.push((qrs[0].clone(), "vip_lounge"));
        let app = &app;
        let agent = &agent;
        futures_util::future::join_all(scans.into_iter().map(move |(qr, zone)| async move {
            (qr.clone(), scan(app, agent, &qr, zone, direction).await)
        }))
    };
    let entries = burst("in").await;
    for qr in &qrs {
        let mut verdicts: Vec<&str> = entries
            .iter()
            .filter(|(scanned, result)| scanned == qr && result["reason"] != "zone_not_allowed")
            .map(|(_, result)| reason(result))
            .collect();
        verdicts.sort();
        assert_eq!(
            verdicts,
            ["allowed", "already_inside"],
            "one entry per badge"
        );
    }
    let mut others: Vec<&str> = entries[10..].iter().map(|(_, r)| reason(r)).collect();
    others.sort();
    assert_eq!(others, ["invalid_signature", "revoked", "zone_not_allowed"]);
    let holders: Vec<&str> = entries[..10]
        .iter()
        .map(|(_, r)| r["holder"]["name"].as_str().unwrap())
        .collect();
    assert!(holders.contains(&"Ayşe Sangaré"), "{holders:?}");
    assert_eq!(stats(&app, &organizer).await["inside_now"], 5);

    // Exits always pass, and reset presence.
    let exits = burst("out").await;
    assert!(exits[..10].iter().all(|(_, r)| r["verdict"] == "allowed"));
    assert_eq!(stats(&app, &organizer).await["inside_now"], 0);
}

#[tokio::test]
async fn retries_racing_their_first_scan_count_once() {
    let Gate {
        app,
        organizer,
        agent,
        qr,
    } = gate_with_badge("Cissé", "G7000001").await;
    let scan_id = uuid::Uuid::new_v4();
    let body = json!({"qr": qr, "gate": "east", "zone": "exhibition_halls", "direction": "in", "scan_id": scan_id});
    let answers = futures_util::future::join_all((0..6).map(|_| async {
        let response = app
            .post_as(&format!("{EVENT}/scans"), &agent.access_token, &body)
            .await;
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.unwrap()
    }))
    .await;
    for answer in &answers {
        assert_eq!(answer["scan_id"], scan_id.to_string());
        assert_eq!(reason(answer), "allowed", "a retry is not `already_inside`");
        assert_eq!(answer["holder"]["name"], "Ayşe Cissé");
    }
    let stats = stats(&app, &organizer).await;
    assert_eq!(
        stats["entries_per_gate"],
        json!([{"key": "east", "count": 1}])
    );
    assert_eq!(stats["inside_now"], 1);
}

#[tokio::test]
async fn scans_go_on_when_the_database_drops_its_connections() {
    let Gate { app, agent, qr, .. } = gate_with_badge("Bagayoko", "G8000001").await;
    assert_eq!(
        reason(&scan(&app, &agent, &qr, "exhibition_halls", "in").await),
        "allowed"
    );

    // As after a restart of PostgreSQL: every connection of the service is gone, the scan
    // recorder's own included. The next scan is answered on a new one, not with an error.
    use diesel_async::RunQueryDsl;
    let mut conn = app.conn().await;
    diesel::sql_query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        reason(&scan(&app, &agent, &qr, "exhibition_halls", "in").await),
        "already_inside",
        "presence survived, and the scan was judged"
    );
    assert_eq!(
        reason(&scan(&app, &agent, &qr, "exhibition_halls", "out").await),
        "allowed"
    );
}

#[tokio::test]
async fn a_scan_id_answers_only_for_the_scan_it_named() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    // Admins may do everything, scanning included.
    let admin = app.user_with_roles(&[Role::Admin]).await;
    let qr = trade_visitor_qr(&app, &organizer, "Sidibé", "G5000001").await;
    let scan_id = uuid::Uuid::new_v4();
    let body = |direction: &str| json!({"qr": qr, "gate": "west", "zone": "exhibition_halls", "direction": direction, "scan_id": scan_id});
    let first = app
        .post_as(&format!("{EVENT}/scans"), &admin.access_token, &body("in"))
        .await;
    assert_eq!(first.status(), 200);
    let reused = app
        .post_as(&format!("{EVENT}/scans"), &admin.access_token, &body("out"))
        .await;
    assert_problem(reused, 409, "scan_id_reused").await;
    let retried: Value = app
        .post_as(&format!("{EVENT}/scans"), &admin.access_token, &body("in"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(retried["verdict"], "allowed");

    // A denial without a badge binds its scan_id too: another QR under it is refused.
    let garbage = json!({"qr": "garbage", "gate": "west", "zone": "exhibition_halls", "direction": "out", "scan_id": uuid::Uuid::new_v4()});
    let denied: Value = app
        .post_as(&format!("{EVENT}/scans"), &admin.access_token, &garbage)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(reason(&denied), "invalid_signature");
    let mut other_qr = garbage.clone();
    other_qr["qr"] = json!(qr);
    let refused = app
        .post_as(&format!("{EVENT}/scans"), &admin.access_token, &other_qr)
        .await;
    assert_problem(refused, 409, "scan_id_reused").await;
}

#[tokio::test]
async fn a_zone_open_on_some_days_only_turns_badges_away_on_the_others() {
    let app = spawn_app().await;
    let admin = event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let agent = app.user_with_roles(&[Role::GateAgent]).await;
    let today = chrono::Utc::now().date_naive();
    let tomorrow = (today + chrono::Duration::days(1)).to_string();
    let outside = (today + chrono::Duration::days(9)).to_string();

    let refused = app
        .patch_as(
            EVENT,
            &admin.access_token,
            &json!({"zone_days": {"demonstration_range": [outside]}}),
        )
        .await;
    assert_problem(refused, 422, "validation_failed").await;
    let unknown = app
        .patch_as(
            EVENT,
            &admin.access_token,
            &json!({"zone_days": {"koulikoro_beach": [tomorrow]}}),
        )
        .await;
    assert_problem(unknown, 422, "validation_failed").await;

    // Live demonstrations tomorrow only, and trade visitors invited to them.
    let event: Value = app
        .patch_as(
            EVENT,
            &admin.access_token,
            &json!({"zone_days": {"demonstration_range": [tomorrow, tomorrow]},
                    "range_categories": ["trade_visitor", "vip", "vip"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        event["zone_days"],
        json!({"demonstration_range": [tomorrow]})
    );
    assert_eq!(event["range_categories"], json!(["trade_visitor", "vip"]));

    let (_, id) = visitor(&app, "trade_visitor", "Maïga", "G6000001").await;
    let badge = approve(&app, &organizer, &id).await["badge"].clone();
    assert!(
        badge["zones"]
            .as_array()
            .unwrap()
            .contains(&json!("demonstration_range"))
    );
    let qr = badge["qr"].as_str().unwrap();
    // The schedule travels in the signed QR, for gates checking offline.
    let claims: Value =
        serde_json::from_slice(&B64.decode(qr.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(
        claims["zone_days"],
        json!({"demonstration_range": [tomorrow]})
    );
    assert_eq!(
        reason(&scan(&app, &agent, qr, "demonstration_range", "in").await),
        "not_valid_today"
    );
    assert_eq!(
        reason(&scan(&app, &agent, qr, "exhibition_halls", "in").await),
        "allowed"
    );
}

/// Runs a command on a file and returns its standard output.
fn run(program: &str, args: &[&str]) -> String {
    let output = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs (poppler-utils, zbar-tools): {e}"));
    assert!(
        output.status.success(),
        "{program}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn pages(pdf: &std::path::Path) -> u32 {
    let info = run("pdfinfo", &[pdf.to_str().unwrap()]);
    info.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .map(|n| n.trim().parse().unwrap())
        .unwrap()
}

#[tokio::test]
async fn badge_pdfs_print_a_scannable_qr_and_count_reprints() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (applicant, id) = visitor(&app, "trade_visitor", "Şahin", "H1000001").await;
    let pending = app
        .get_as(
            &format!("{EVENT}/accreditations/{id}/badge.pdf"),
            &applicant.access_token,
        )
        .await;
    assert_problem(pending, 409, "no_badge").await;
    let qr = approve(&app, &organizer, &id).await["badge"]["qr"]
        .as_str()
        .unwrap()
        .to_owned();

    let dir = std::env::temp_dir().join(uuid::Uuid::new_v4().to_string());
    std::fs::create_dir_all(&dir).unwrap();
    let response = app
        .get_as(
            &format!("{EVENT}/accreditations/{id}/badge.pdf"),
            &applicant.access_token,
        )
        .await;
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let pdf = dir.join("badge.pdf");
    std::fs::write(&pdf, response.bytes().await.unwrap()).unwrap();
    assert_eq!(pages(&pdf), 1);
    let text = run("pdftotext", &[pdf.to_str().unwrap(), "-"]);
    assert!(
        text.contains("Ayşe ŞAHIN") || text.contains("Ayşe ŞAHİN"),
        "Turkish letters print: {text}"
    );
    run(
        "pdftoppm",
        &[
            "-r",
            "300",
            "-png",
            "-singlefile",
            pdf.to_str().unwrap(),
            dir.join("badge").to_str().unwrap(),
        ],
    );
    let decoded = run(
        "zbarimg",
        &["--raw", "-q", dir.join("badge.png").to_str().unwrap()],
    );
    assert_eq!(
        decoded.trim(),
        qr,
        "the printed QR decodes to the badge's token"
    );

    let stranger = app.user_with_roles(&[Role::Visitor]).await;
    let refused = app
        .get_as(
            &format!("{EVENT}/accreditations/{id}/badge.pdf"),
            &stranger.access_token,
        )
        .await;
    assert_problem(refused, 404, "not_found").await;
    app.get_as(
        &format!("{EVENT}/accreditations/{id}/badge.pdf"),
        &organizer.access_token,
    )
    .await;
    let view = crate::fixtures::get(&app, &organizer, &id).await;
    assert_eq!(view["badge"]["prints"], 2);

    let letter = app
        .get_as(
            &format!("{EVENT}/accreditations/{id}/invitation-letter.pdf"),
            &applicant.access_token,
        )
        .await;
    let letter_path = dir.join("letter.pdf");
    std::fs::write(&letter_path, letter.bytes().await.unwrap()).unwrap();
    assert_eq!(pages(&letter_path), 1);
    let letter_text = run("pdftotext", &[letter_path.to_str().unwrap(), "-"]);
    assert!(
        letter_text.contains("H1000001") && letter_text.contains("LETTER OF INVITATION"),
        "{letter_text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn organizers_print_batches_on_a4_sheets_of_four() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    for n in 0..5 {
        let (_, id) = visitor(
            &app,
            "trade_visitor",
            &format!("Lot{n}"),
            &format!("L200000{n}"),
        )
        .await;
        approve(&app, &organizer, &id).await;
    }
    visitor(&app, "trade_visitor", "Pending", "L2000009").await;
    let response = app
        .get_as(
            &format!("{EVENT}/badges.pdf?category=trade_visitor"),
            &organizer.access_token,
        )
        .await;
    assert_eq!(response.status(), 200);
    let path = std::env::temp_dir().join(format!("{}.pdf", uuid::Uuid::new_v4()));
    std::fs::write(&path, response.bytes().await.unwrap()).unwrap();
    assert_eq!(pages(&path), 2, "five badges on sheets of four");
    let _ = std::fs::remove_file(&path);
    let none = app
        .get_as(
            &format!("{EVENT}/badges.pdf?category=vip"),
            &organizer.access_token,
        )
        .await;
    assert_problem(none, 409, "no_badge").await;
}

/// The (status, count) pairs of `stats` for `category`, sorted.
fn by_status(stats: &Value, category: &str) -> Vec<(String, i64)> {
    let mut pairs: Vec<(String, i64)> = stats["accreditations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["category"] == category)
        .map(|s| {
            (
                s["status"].as_str().unwrap().to_owned(),
                s["count"].as_i64().unwrap(),
            )
        })
        .collect();
    pairs.sort();
    pairs
}

#[tokio::test]
async fn an_events_figures_are_kept_while_fresh_and_counted_exactly_again() {
    let app = spawn_app_with(|s| s.gates.stats_fresh_ms = 60_000).await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (_, first) = visitor(&app, "trade_visitor", "Keïta", "G2000001").await;
    let before = stats(&app, &organizer).await;
    assert_eq!(
        by_status(&before, "trade_visitor"),
        [("pending".to_owned(), 1)]
    );

    visitor(&app, "trade_visitor", "Traoré", "G2000002").await;
    approve(&app, &organizer, &first).await;
    // Still fresh on this instance: the same figures, not counted again.
    assert_eq!(stats(&app, &organizer).await, before);

    // An instance without them counts the changes: one status moved, one accreditation added.
    let (counting, _) = app
        .another_instance_with(|s| s.gates.stats_fresh_ms = 0)
        .await;
    let counted: Value = app
        .client
        .get(format!("{counting}{EVENT}/stats"))
        .bearer_auth(&organizer.access_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        by_status(&counted, "trade_visitor"),
        [("approved".to_owned(), 1), ("pending".to_owned(), 1)]
    );
}
