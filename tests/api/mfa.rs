//! The second factor over HTTP, with codes computed by the test from the secret.

use bamex::users::Role;
use serde_json::{Value, json};

use crate::fixtures::{EVENT, audit_actions, open_event};
use crate::helpers::{PASSWORD, TestApp, assert_problem, totp_code};

const QUEUE: &str = "/api/v1/events/bamex-2026/accreditations";

/// Signs in with the password alone: the tokens of an account without a factor.
async fn password_session(app: &TestApp, email: &str) -> Value {
    let response = app.login(email, PASSWORD).await;
    assert_eq!(response.status(), 200);
    let pair: Value = response.json().await.unwrap();
    assert!(pair["access_token"].is_string(), "{pair}");
    pair
}

/// Enrolls over HTTP in the session of `token`; returns the secret and the recovery codes.
async fn enroll(app: &TestApp, token: &str, email: &str) -> (Vec<u8>, Vec<String>) {
    let response = app.post_as("/api/v1/me/mfa", token, &json!({})).await;
    assert_eq!(response.status(), 200);
    let enrollment: Value = response.json().await.unwrap();
    let uri = enrollment["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/BAMEX:"), "{uri}");
    assert!(
        uri.contains(&email.replace('@', "%40")) || uri.contains(email),
        "{uri}"
    );
    let png = base64_decode(enrollment["qr_png"].as_str().unwrap());
    assert!(png.starts_with(b"\x89PNG"));
    let secret = totp_rs::Secret::try_from_base32(enrollment["secret"].as_str().unwrap())
        .unwrap()
        .as_ref()
        .to_vec();
    assert!(uri.contains(enrollment["secret"].as_str().unwrap()));

    let wrong = app
        .post_as("/api/v1/me/mfa/confirm", token, &json!({"code": "000000"}))
        .await;
    let problem = assert_problem(wrong, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "code");
    let confirmed = app
        .post_as(
            "/api/v1/me/mfa/confirm",
            token,
            &json!({"code": totp_code(&secret, 0)}),
        )
        .await;
    assert_eq!(confirmed.status(), 200);
    let codes: Vec<String> =
        serde_json::from_value(confirmed.json::<Value>().await.unwrap()["recovery_codes"].clone())
            .unwrap();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

async fn challenge(app: &TestApp, email: &str) -> String {
    let response = app.login(email, PASSWORD).await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["mfa_required"], true, "{answer}");
    assert!(answer["access_token"].is_null(), "{answer}");
    assert_eq!(answer["expires_in"], 300);
    answer["challenge"].as_str().unwrap().to_owned()
}

async fn second_step(app: &TestApp, challenge: &str, code: &str) -> reqwest::Response {
    app.post_json(
        "/api/v1/auth/login/mfa",
        &json!({"challenge": challenge, "code": code}),
    )
    .await
}

#[tokio::test]
async fn enroll_sign_in_with_a_code_and_a_replayed_code_is_refused() {
    let app = spawn_with_event().await;
    let email = "mariam.diarra@bamex.ml";
    let id = app.create_user(email, &[Role::Organizer]).await;
    let session = password_session(&app, email).await;
    let token = session["access_token"].as_str().unwrap();
    assert_problem(
        app.get_as(QUEUE, token).await,
        403,
        "mfa_enrollment_required",
    )
    .await;
    assert_eq!(app.get_as("/api/v1/me", token).await.status(), 200);

    let (secret, _) = enroll(&app, token, email).await;
    // The enrolling session passed the factor: the queue opens.
    assert_eq!(app.get_as(QUEUE, token).await.status(), 200);
    assert_eq!(audit_actions(&app, "user.mfa_enabled").await, 1);

    let first = challenge(&app, email).await;
    let code = totp_code(&secret, 1);
    let signed_in = second_step(&app, &first, &code).await;
    assert_eq!(signed_in.status(), 200);
    let pair: Value = signed_in.json().await.unwrap();
    let fresh = pair["access_token"].as_str().unwrap();
    assert_eq!(app.get_as(QUEUE, fresh).await.status(), 200);
    // The challenge is single use, and so is the code, whatever the challenge.
    assert_problem(
        second_step(&app, &first, &code).await,
        401,
        "invalid_mfa_code",
    )
    .await;
    let second = challenge(&app, email).await;
    assert_problem(
        second_step(&app, &second, &code).await,
        401,
        "invalid_mfa_code",
    )
    .await;
    let used: i64 = {
        use bamex::db::schema::mfa_used_codes::dsl;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        dsl::mfa_used_codes
            .filter(dsl::user_id.eq(id))
            .count()
            .get_result(&mut app.conn().await)
            .await
            .unwrap()
    };
    assert_eq!(used, 2);
}

async fn spawn_with_event() -> TestApp {
    let app = crate::helpers::spawn_app().await;
    open_event(&app).await;
    app
}

#[tokio::test]
async fn a_wrong_code_is_refused_and_repeated_failures_lock_the_account() {
    let app = crate::helpers::spawn_app_with(|s| s.auth.lockout_threshold = 3).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let pending = challenge(&app, &organizer.email).await;
    for wrong in ["000000", "123456", "not-a-code"] {
        let code = if wrong == organizer.code(1) {
            "999999"
        } else {
            wrong
        };
        assert_problem(
            second_step(&app, &pending, code).await,
            401,
            "invalid_mfa_code",
        )
        .await;
    }
    // Locked now: even the right code is refused, and the owner is told.
    assert_problem(
        second_step(&app, &pending, &organizer.code(1)).await,
        401,
        "invalid_mfa_code",
    )
    .await;
    let mail = app.smtp.wait_for_mail_to(&organizer.email, 1).await;
    assert!(mail.subject().contains("locked"), "{}", mail.subject());
    assert_eq!(audit_actions(&app, "user.locked").await, 1);
    assert_problem(
        app.login(&organizer.email, PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
}

#[tokio::test]
async fn a_recovery_code_works_once_and_removes_the_factor() {
    let app = spawn_with_event().await;
    let email = "oumar.sidibe@bamex.ml";
    app.create_user(email, &[Role::VettingOfficer]).await;
    let session = password_session(&app, email).await;
    let (_, codes) = enroll(&app, session["access_token"].as_str().unwrap(), email).await;

    let pending = challenge(&app, email).await;
    let typed = codes[0].to_uppercase();
    let signed_in = second_step(&app, &pending, &typed).await;
    assert_eq!(signed_in.status(), 200);
    let token = signed_in.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(audit_actions(&app, "user.mfa_recovery_code_used").await, 1);
    let again = challenge(&app, email).await;
    assert_problem(
        second_step(&app, &again, &codes[0]).await,
        401,
        "invalid_mfa_code",
    )
    .await;

    // Removing needs the password and a code; then the session is limited again.
    let bad = app
        .request_as(reqwest::Method::DELETE, "/api/v1/me/mfa", &token)
        .json(&json!({"password": "not-the-password", "code": codes[1]}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(bad, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "password");
    let removed = app
        .request_as(reqwest::Method::DELETE, "/api/v1/me/mfa", &token)
        .json(&json!({"password": PASSWORD, "code": codes[1]}))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    assert_problem(
        app.get_as(&format!("{EVENT}/accreditations"), &token).await,
        403,
        "mfa_enrollment_required",
    )
    .await;
    assert_eq!(audit_actions(&app, "user.mfa_removed").await, 1);
}

#[tokio::test]
async fn an_organizer_without_a_factor_cannot_reach_the_review_queue() {
    let app = crate::helpers::spawn_app().await;
    let admin = open_event(&app).await;
    // A session opened before the account needed a factor: limited from the moment it does.
    let visitor = app.user_with_roles(&[Role::Visitor]).await;
    assert_problem(
        app.get_as(QUEUE, &visitor.access_token).await,
        403,
        "forbidden",
    )
    .await;
    let promoted = app
        .patch_as(
            &format!("/api/v1/users/{}", visitor.id),
            &admin.access_token,
            &json!({"roles": ["organizer"]}),
        )
        .await;
    assert_eq!(promoted.status(), 200);
    assert_problem(
        app.get_as(QUEUE, &visitor.access_token).await,
        403,
        "mfa_enrollment_required",
    )
    .await;
    assert_problem(
        app.get_as("/api/v1/audit", &visitor.access_token).await,
        403,
        "mfa_enrollment_required",
    )
    .await;
    assert_eq!(
        app.get_as("/api/v1/me", &visitor.access_token)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn an_admin_resets_a_factor() {
    let app = spawn_with_event().await;
    let admin = app.user_with_roles(&[Role::Admin]).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let path = format!("/api/v1/users/{}/mfa/reset", organizer.id);
    assert_problem(
        app.post_as(&path, &organizer.access_token, &json!({}))
            .await,
        403,
        "forbidden",
    )
    .await;

    assert_eq!(
        app.post_as(&path, &admin.access_token, &json!({}))
            .await
            .status(),
        204
    );
    assert_eq!(audit_actions(&app, "user.mfa_reset").await, 1);
    let mail = app.smtp.wait_for_mail_to(&organizer.email, 1).await;
    assert!(
        mail.subject().contains("second factor"),
        "{}",
        mail.subject()
    );
    // Its sessions ended; signing in again gives a session that must enroll first.
    let refresh = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": organizer.refresh_token}),
        )
        .await;
    assert_problem(refresh, 401, "invalid_refresh_token").await;
    let session = password_session(&app, &organizer.email).await;
    assert_problem(
        app.get_as(QUEUE, session["access_token"].as_str().unwrap())
            .await,
        403,
        "mfa_enrollment_required",
    )
    .await;
    assert_problem(
        app.post_as(&path, &admin.access_token, &json!({})).await,
        409,
        "mfa_not_enabled",
    )
    .await;
}
