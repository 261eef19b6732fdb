use std::time::{Duration, Instant};

use bamex::users::Role;
use serde_json::{Value, json};

use crate::fixtures::audit_actions;
use crate::helpers::{PASSWORD, TestApp, assert_problem, spawn_app, spawn_app_with};

const FRONT: &str = "http://localhost:3000";

/// What registration answers, for a new address and a known one alike.
fn accepted() -> Value {
    json!({
        "status": "check_your_email",
        "detail": "An email is on its way to this address; follow it to go on with the registration."
    })
}

/// The roles and full name stored for an address.
async fn stored_account(app: &TestApp, email: &str) -> (Vec<String>, String) {
    use bamex::db::schema::users;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    users::table
        .filter(users::email.eq(bamex::users::EmailAddress::parse(email).unwrap()))
        .select((users::roles, users::full_name))
        .first(&mut app.conn().await)
        .await
        .unwrap()
}

async fn register(app: &TestApp, email: &str, locale: Option<&str>) -> reqwest::Response {
    let mut body =
        json!({"email": email, "password": "Koulikoro-range-2026", "full_name": "Ayşe Yılmaz"});
    if let Some(locale) = locale {
        body["locale"] = json!(locale);
    }
    app.post_json("/api/v1/auth/register", &body).await
}

/// Registers, follows the emailed link, and signs in; returns the token pair.
async fn registered_and_verified(app: &TestApp, email: &str) -> Value {
    assert_eq!(register(app, email, None).await.status(), 202);
    let mail = app.smtp.wait_for_mail_to(email, 1).await;
    let token = mail.token(&format!("{FRONT}/verify-email"));
    let verified = app
        .post_json("/api/v1/auth/verify-email", &json!({"token": token}))
        .await;
    assert_eq!(verified.status(), 204);
    let login = app.login(email, "Koulikoro-range-2026").await;
    assert_eq!(login.status(), 200);
    login.json().await.unwrap()
}

#[tokio::test]
async fn register_confirm_by_email_then_sign_in() {
    let app = spawn_app().await;
    let response = register(&app, "Ayse.Yilmaz@PeakDefense.com.tr", None).await;
    assert_eq!(response.status(), 202);
    assert_eq!(response.json::<Value>().await.unwrap(), accepted());

    // Not before the address is confirmed.
    let early = app
        .login("ayse.yilmaz@peakdefense.com.tr", "Koulikoro-range-2026")
        .await;
    assert_problem(early, 401, "invalid_credentials").await;

    let mail = app
        .smtp
        .wait_for_mail_to("Ayse.Yilmaz@PeakDefense.com.tr", 1)
        .await;
    assert!(
        mail.subject().starts_with("Confirmez"),
        "French by default: {}",
        mail.subject()
    );
    let token = mail.token(&format!("{FRONT}/verify-email"));
    let verify = async |token: String| {
        app.post_json("/api/v1/auth/verify-email", &json!({"token": token}))
            .await
    };
    assert_eq!(verify(token.clone()).await.status(), 204);
    assert_problem(verify(token).await, 400, "invalid_link").await;
    assert_problem(verify("made-up".into()).await, 400, "invalid_link").await;

    let login = app
        .login("AYSE.YILMAZ@peakdefense.com.tr", "Koulikoro-range-2026")
        .await;
    assert_eq!(login.status(), 200);
    let pair: Value = login.json().await.unwrap();
    assert_eq!(pair["token_type"], "Bearer");
    assert_eq!(pair["expires_in"], 900);
    let me: Value = app
        .get_as("/api/v1/me", pair["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "Ayse.Yilmaz@PeakDefense.com.tr");
    assert_eq!(me["full_name"], "Ayşe Yılmaz");
    assert_eq!(me["roles"], json!(["visitor"]));
    assert_eq!(me["email_verified"], true);
}

#[tokio::test]
async fn emails_follow_the_chosen_language() {
    let app = spawn_app().await;
    register(&app, "john@example.org", Some("en")).await;
    register(&app, "mehmet@aselsan.com.tr", Some("tr")).await;
    let en = app.smtp.wait_for_mail_to("john@example.org", 1).await;
    assert!(
        en.subject().starts_with("Confirm your email"),
        "{}",
        en.subject()
    );
    assert!(en.text().contains("valid for 24 hours"));
    let tr = app.smtp.wait_for_mail_to("mehmet@aselsan.com.tr", 1).await;
    assert!(tr.subject().contains("doğrulayın"), "{}", tr.subject());
}

#[tokio::test]
async fn self_registration_ignores_requested_roles() {
    let app = spawn_app().await;
    let response = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "sneaky@example.org", "password": "Koulikoro-range-2026",
                    "full_name": "Sneaky", "roles": ["admin", "organizer"]}),
        )
        .await;
    assert_eq!(response.status(), 202);
    assert_eq!(
        stored_account(&app, "sneaky@example.org").await.0,
        ["visitor"]
    );
}

#[tokio::test]
async fn invalid_registrations_name_every_bad_field() {
    let app = spawn_app().await;
    let response = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "not-an-email", "password": "short", "full_name": "  "}),
        )
        .await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "full_name", "password"]);

    for (password, why) in [
        ("ali.kone@example.org", "email"),
        ("123456789012", "common"),
        ("passwordpassword", "common"),
        (&"é".repeat(129)[..], "at most 128"),
    ] {
        let response = app
            .post_json(
                "/api/v1/auth/register",
                &json!({"email": "ali.kone@example.org", "password": password, "full_name": "Ali Koné"}),
            )
            .await;
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "password");
        assert!(
            problem["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(why),
            "{problem}"
        );
    }
}

#[tokio::test]
async fn registering_a_known_address_answers_as_a_new_one_and_warns_its_owner() {
    let app = spawn_app().await;
    let first = register(&app, "awa@example.org", Some("tr")).await;
    assert_eq!(first.status(), 202);
    let first_body = first.text().await.unwrap();
    app.smtp.wait_for_mail_to("awa@example.org", 1).await;

    // Again, in another case and language: the same answer, nothing created, and the owner
    // (in the language of their account) is told instead.
    let again = register(&app, "AWA@Example.ORG", Some("en")).await;
    assert_eq!(again.status(), 202);
    assert_eq!(again.text().await.unwrap(), first_body);
    let notice = app.smtp.wait_for_mail_to("awa@example.org", 2).await;
    assert!(
        notice.subject().contains("kayıt olunmaya çalışıldı"),
        "{}",
        notice.subject()
    );
    assert!(notice.text().contains(&format!("{FRONT}/login")));
    assert!(notice.text().contains(&format!("{FRONT}/forgot-password")));
    assert!(!notice.text().contains("token="), "no link that acts");
    use bamex::db::schema::users;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let accounts: i64 = users::table
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(accounts, 1);

    // A known, verified account of another language: the notice is in its language.
    app.create_user("known@example.org", &[Role::Organizer])
        .await;
    let known = register(&app, "known@example.org", None).await;
    assert_eq!(known.status(), 202);
    assert_eq!(known.text().await.unwrap(), first_body);
    let notice = app.smtp.wait_for_mail_to("known@example.org", 1).await;
    assert!(
        notice.subject().starts_with("Someone tried to register"),
        "{}",
        notice.subject()
    );
    assert_eq!(
        stored_account(&app, "known@example.org").await.0,
        ["organizer"],
        "the account is unchanged"
    );

    // About the same time either way: both hash the password.
    let mut new = Vec::new();
    let mut taken = Vec::new();
    for i in 0..5 {
        let started = Instant::now();
        assert_eq!(
            register(&app, &format!("new{i}@example.org"), None)
                .await
                .status(),
            202
        );
        new.push(started.elapsed());
        let started = Instant::now();
        assert_eq!(register(&app, "awa@example.org", None).await.status(), 202);
        taken.push(started.elapsed());
    }
    new.sort();
    taken.sort();
    let (new, taken) = (new[2].as_secs_f64(), taken[2].as_secs_f64());
    assert!(
        taken > new / 3.0 && taken < new * 3.0,
        "median new {new:.3} s, known {taken:.3} s"
    );
}

#[tokio::test]
async fn malformed_bodies_get_clear_problems_and_change_nothing() {
    let app = spawn_app().await;
    let url = app.url("/api/v1/auth/register");
    let send = |body: &'static str, content_type: &'static str| {
        app.client
            .post(&url)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    assert_problem(
        send("{\"email\": ", "application/json").await.unwrap(),
        400,
        "invalid_json",
    )
    .await;
    assert_problem(
        send("email=a@b.org", "application/x-www-form-urlencoded")
            .await
            .unwrap(),
        415,
        "unsupported_media_type",
    )
    .await;
    let wrong_type = send(
        r#"{"email": 5, "password": "x", "full_name": "y"}"#,
        "application/json",
    )
    .await
    .unwrap();
    let problem = assert_problem(wrong_type, 422, "validation_failed").await;
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("invalid type")
    );
    let unknown = send(
        r#"{"email": "a@b.org", "password": "x", "full_name": "y", "is_admin": true}"#,
        "application/json",
    )
    .await
    .unwrap();
    let problem = assert_problem(unknown, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "is_admin");

    let huge = json!({"email": "a@b.org", "password": "Koulikoro-range-2026", "full_name": "x".repeat(70_000)});
    let response = app.post_json("/api/v1/auth/register", &huge).await;
    assert_problem(response, 413, "payload_too_large").await;

    // SQL-looking input is either refused as invalid or stored literally.
    let sql = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "x'; DROP TABLE users; --@example.org", "password": "Koulikoro-range-2026", "full_name": "y"}),
        )
        .await;
    assert_problem(sql, 422, "validation_failed").await;
    let bobby = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "bobby@example.org", "password": "Koulikoro-range-2026", "full_name": "Robert'); DROP TABLE users;--"}),
        )
        .await;
    assert_eq!(bobby.status(), 202);
    assert_eq!(
        stored_account(&app, "bobby@example.org").await.1,
        "Robert'); DROP TABLE users;--"
    );

    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let count: i64 = bamex::db::schema::users::table
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(count, 1, "only the literal Bobby was stored");
}

#[tokio::test]
async fn sign_in_failures_all_look_the_same() {
    let app = spawn_app().await;
    app.create_user("known@example.org", &[Role::Visitor]).await;
    register(&app, "unverified@example.org", None).await;

    // Each case's fastest of three attempts: a cold start or a loaded machine slows single
    // attempts, never all three.
    let mut timings = Vec::new();
    for (email, password) in [
        ("known@example.org", "Wrong-password-123"),
        ("nobody@example.org", PASSWORD),
        ("unverified@example.org", "Koulikoro-range-2026"),
    ] {
        let mut fastest = std::time::Duration::MAX;
        for _ in 0..3 {
            let started = Instant::now();
            let response = app.login(email, password).await;
            fastest = fastest.min(started.elapsed());
            let problem = assert_problem(response, 401, "invalid_credentials").await;
            assert_eq!(
                problem["detail"],
                "Email or password is wrong, or the account cannot sign in yet."
            );
        }
        timings.push(fastest);
    }
    // An unknown address costs a password hash too (no fast path that tells it apart: that
    // would answer in about a millisecond, a hash takes tens).
    let slowest = *timings.iter().max().unwrap();
    assert!(timings[1] * 4 >= slowest, "{timings:?}");

    for email in ["known@example.org", "nobody@example.org"] {
        let response = app
            .post_json("/api/v1/auth/password/forgot", &json!({"email": email}))
            .await;
        assert_eq!(response.status(), 202);
        assert_eq!(response.text().await.unwrap(), "");
    }
    let reset = app.smtp.wait_for_mail_to("known@example.org", 1).await;
    assert!(reset.subject().contains("password") || reset.subject().contains("Reset"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.smtp.to("nobody@example.org").is_empty());
}

#[tokio::test]
async fn a_password_reset_link_works_once_and_ends_every_session() {
    let app = spawn_app().await;
    let user = app.user_with_roles(&[Role::Visitor]).await;
    app.post_json(
        "/api/v1/auth/password/forgot",
        &json!({"email": user.email}),
    )
    .await;
    let mail = app.smtp.wait_for_mail_to(&user.email, 1).await;
    assert!(mail.text().contains("60 minutes"));
    let token = mail.token(&format!("{FRONT}/reset-password"));

    // A new password that breaks the policy does not spend the link.
    let weak = app
        .post_json(
            "/api/v1/auth/password/reset",
            &json!({"token": token, "new_password": "123456789012"}),
        )
        .await;
    assert_problem(weak, 422, "validation_failed").await;
    let reset = app
        .post_json(
            "/api/v1/auth/password/reset",
            &json!({"token": token, "new_password": "Sikasso-mangoes-77"}),
        )
        .await;
    assert_eq!(reset.status(), 204);
    let again = app
        .post_json(
            "/api/v1/auth/password/reset",
            &json!({"token": token, "new_password": "Sikasso-mangoes-78"}),
        )
        .await;
    assert_problem(again, 400, "invalid_link").await;

    let old_session = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": user.refresh_token}),
        )
        .await;
    assert_problem(old_session, 401, "invalid_refresh_token").await;
    assert_problem(
        app.login(&user.email, PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_eq!(
        app.login(&user.email, "Sikasso-mangoes-77").await.status(),
        200
    );
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_replay_revokes_the_session() {
    let app = spawn_app().await;
    let user = app.user_with_roles(&[Role::Visitor]).await;
    let refresh = async |token: String| {
        app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": token}))
            .await
    };

    let first: Value = refresh(user.refresh_token.clone())
        .await
        .json()
        .await
        .unwrap();
    let second_token = first["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_token, user.refresh_token);
    assert_eq!(
        app.get_as("/api/v1/me", first["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );

    // The first token is replayed: refused, and the whole session with it.
    assert_problem(
        refresh(user.refresh_token.clone()).await,
        401,
        "invalid_refresh_token",
    )
    .await;
    assert_problem(refresh(second_token).await, 401, "invalid_refresh_token").await;

    // Logout ends a session; an unknown token is fine too.
    let other = app
        .login(&user.email, PASSWORD)
        .await
        .json::<Value>()
        .await
        .unwrap();
    let token = other["refresh_token"].as_str().unwrap().to_owned();
    let logout = app
        .post_json("/api/v1/auth/logout", &json!({"refresh_token": token}))
        .await;
    assert_eq!(logout.status(), 204);
    assert_problem(refresh(token).await, 401, "invalid_refresh_token").await;
    let unknown = app
        .post_json("/api/v1/auth/logout", &json!({"refresh_token": "nope"}))
        .await;
    assert_eq!(unknown.status(), 204);
}

fn forge(claims: &Value, secret: &[u8], algorithm: jsonwebtoken::Algorithm) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(algorithm),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

#[tokio::test]
async fn forged_expired_and_tampered_tokens_are_refused() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use secrecy::ExposeSecret;

    let app = spawn_app().await;
    let user = app.user_with_roles(&[Role::Visitor]).await;
    let secret = app
        .settings
        .auth
        .jwt_secret
        .expose_secret()
        .as_bytes()
        .to_vec();
    let now = jsonwebtoken::get_current_timestamp();
    // The user's real session: a token is checked against it too.
    let payload = user.access_token.split('.').nth(1).unwrap();
    let session: Value = serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap();
    let claims = json!({"sub": user.id, "roles": ["visitor"], "exp": now + 600, "iat": now,
        "jti": uuid::Uuid::new_v4(), "iss": "bamex-accreditation", "aud": "bamex-api", "sid": session["sid"]});

    // The right key and claims work (the harness is sound)…
    let genuine = forge(&claims, &secret, jsonwebtoken::Algorithm::HS256);
    assert_eq!(app.get_as("/api/v1/me", &genuine).await.status(), 200);

    let mut expired = claims.clone();
    expired["exp"] = json!(now - 120);
    expired["iat"] = json!(now - 1200);
    let mut wrong_audience = claims.clone();
    wrong_audience["aud"] = json!("another-service");
    let mut wrong_issuer = claims.clone();
    wrong_issuer["iss"] = json!("evil");
    let header_none = B64.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = B64.encode(claims.to_string());
    let (head, rest) = user.access_token.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let tampered = format!("{head}.{payload}.{signature}");

    for token in [
        forge(
            &claims,
            b"another-key-another-key-another-key!",
            jsonwebtoken::Algorithm::HS256,
        ),
        forge(&expired, &secret, jsonwebtoken::Algorithm::HS256),
        forge(&wrong_audience, &secret, jsonwebtoken::Algorithm::HS256),
        forge(&wrong_issuer, &secret, jsonwebtoken::Algorithm::HS256),
        forge(&claims, &secret, jsonwebtoken::Algorithm::HS512),
        format!("{header_none}.{payload}."),
        tampered,
        "garbage".into(),
        String::new(),
    ] {
        let response = app.get_as("/api/v1/me", &token).await;
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_problem(response, 401, "invalid_token").await;
    }
    assert_problem(app.get("/api/v1/me").await, 401, "unauthenticated").await;
    let basic = app
        .client
        .get(app.url("/api/v1/me"))
        .basic_auth("admin", Some("admin"))
        .send()
        .await
        .unwrap();
    assert_problem(basic, 401, "invalid_token").await;
}

#[tokio::test]
async fn me_can_be_updated_and_the_password_changed() {
    let app = spawn_app().await;
    let user = app.user_with_roles(&[Role::Visitor]).await;
    let updated = app
        .patch_as(
            "/api/v1/me",
            &user.access_token,
            &json!({"full_name": "  Fatoumata Keïta ", "locale": "en"}),
        )
        .await;
    assert_eq!(updated.status(), 200);
    let me: Value = updated.json().await.unwrap();
    assert_eq!(
        (me["full_name"].as_str(), me["locale"].as_str()),
        (Some("Fatoumata Keïta"), Some("en"))
    );
    let bad = app
        .patch_as("/api/v1/me", &user.access_token, &json!({"locale": "de"}))
        .await;
    assert_problem(bad, 422, "validation_failed").await;

    let other_session = app
        .login(&user.email, PASSWORD)
        .await
        .json::<Value>()
        .await
        .unwrap();
    let wrong = app
        .post_as(
            "/api/v1/me/password",
            &user.access_token,
            &json!({"current_password": "not-it-at-all", "new_password": "Segou-pottery-2026"}),
        )
        .await;
    let problem = assert_problem(wrong, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "current_password");
    let changed = app
        .post_as(
            "/api/v1/me/password",
            &user.access_token,
            &json!({"current_password": PASSWORD, "new_password": "Segou-pottery-2026"}),
        )
        .await;
    assert_eq!(changed.status(), 204);
    // This session lives on; the other one ended.
    let mine = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": user.refresh_token}),
        )
        .await;
    assert_eq!(mine.status(), 200);
    let theirs = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": other_session["refresh_token"]}),
        )
        .await;
    assert_problem(theirs, 401, "invalid_refresh_token").await;
    assert_eq!(
        app.login(&user.email, "Segou-pottery-2026").await.status(),
        200
    );
}

#[tokio::test]
async fn repeated_failures_lock_the_account_and_tell_its_owner() {
    let app = spawn_app_with(|s| s.auth.lockout_threshold = 3).await;
    let email = "target@example.org";
    app.create_user(email, &[Role::Visitor]).await;
    for _ in 0..3 {
        assert_problem(
            app.login(email, "Wrong-password-123").await,
            401,
            "invalid_credentials",
        )
        .await;
    }
    // Locked: even the right password is refused, indistinguishably.
    assert_problem(app.login(email, PASSWORD).await, 401, "invalid_credentials").await;
    let mail = app.smtp.wait_for_mail_to(email, 1).await;
    assert!(mail.subject().contains("locked"), "{}", mail.subject());
    assert!(mail.text().contains("15 minutes"));

    let admin = app.user_with_roles(&[Role::Admin]).await;
    let users: Value = app
        .get_as(&format!("/api/v1/users?q={email}"), &admin.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(users["items"][0]["status"], "locked");
    assert_eq!(audit_actions(&app, "user.locked").await, 1);
}

#[tokio::test]
async fn rate_limits_hold_across_instances_behind_a_load_balancer() {
    let app = spawn_app_with(|s| {
        s.rate_limits.per_ip_burst = 4;
        s.rate_limits.per_ip_per_minute = 1;
        s.rate_limits.login_per_account_burst = 2;
    })
    .await;
    let instances = [
        app.address.clone(),
        app.another_instance().await,
        app.another_instance().await,
    ];
    let login = async |instance: &str, email: &str| {
        app.client
            .post(format!("{instance}/api/v1/auth/login"))
            .json(&json!({"email": email, "password": "Wrong-password-123"}))
            .send()
            .await
            .unwrap()
    };
    // Per account: two attempts in all, whichever instances they reach.
    assert_eq!(login(&instances[0], "c@example.org").await.status(), 401);
    assert_eq!(login(&instances[1], "c@example.org").await.status(), 401);
    assert_problem(
        login(&instances[2], "C@example.org").await,
        429,
        "rate_limited",
    )
    .await;
    // Per IP: four attempts in all (the three above and this one), then none on any instance.
    assert_eq!(login(&instances[2], "d@example.org").await.status(), 401);
    for instance in &instances {
        let limited = login(instance, "e@example.org").await;
        assert_problem(limited, 429, "rate_limited").await;
    }
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let app = spawn_app_with(|s| {
        s.rate_limits.per_ip_burst = 3;
        s.rate_limits.per_ip_per_minute = 1;
    })
    .await;
    for _ in 0..3 {
        assert_eq!(
            app.login("a@example.org", "Wrong-password-123")
                .await
                .status(),
            401
        );
    }
    let limited = app.login("a@example.org", "Wrong-password-123").await;
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=61).contains(&retry_after));
    assert_problem(limited, 429, "rate_limited").await;
    // Each action has its own budget.
    let forgot = app
        .post_json(
            "/api/v1/auth/password/forgot",
            &json!({"email": "a@example.org"}),
        )
        .await;
    assert_eq!(forgot.status(), 202);

    // Per account: strict, whatever the address.
    let app = spawn_app_with(|s| s.rate_limits.login_per_account_burst = 2).await;
    for _ in 0..2 {
        assert_eq!(
            app.login("b@example.org", "Wrong-password-123")
                .await
                .status(),
            401
        );
    }
    assert_problem(
        app.login("B@example.org", "Wrong-password-123").await,
        429,
        "rate_limited",
    )
    .await;
    assert_eq!(
        app.login("c@example.org", "Wrong-password-123")
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn the_flows_leave_an_audit_trail() {
    let app = spawn_app().await;
    registered_and_verified(&app, "trail@example.org").await;
    assert_eq!(audit_actions(&app, "user.registered").await, 1);
    assert_eq!(audit_actions(&app, "user.email_verified").await, 1);
}

#[tokio::test]
async fn a_weak_stored_hash_is_upgraded_at_sign_in() {
    use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};
    use bamex::db::schema::users;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;

    let app = spawn_app().await;
    let id = app
        .create_user("legacy@example.org", &[Role::Visitor])
        .await;
    let weak = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(4096, 1, 1, None).unwrap(),
    )
    .hash_password(PASSWORD.as_bytes())
    .unwrap()
    .to_string();
    diesel::update(users::table.find(id))
        .set(users::password_hash.eq(&weak))
        .execute(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(
        app.login("legacy@example.org", PASSWORD).await.status(),
        200
    );
    let stored: Option<String> = users::table
        .find(id)
        .select(users::password_hash)
        .first(&mut app.conn().await)
        .await
        .unwrap();
    assert!(
        stored
            .unwrap()
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
    );
    assert_eq!(
        app.login("legacy@example.org", PASSWORD).await.status(),
        200
    );
}

#[tokio::test]
async fn access_ends_with_the_session_and_roles_come_from_the_account() {
    let app = spawn_app().await;
    let user = app.user_with_roles(&[Role::Visitor]).await;
    assert_eq!(
        app.get_as("/api/v1/me", &user.access_token).await.status(),
        200
    );
    let logout = app
        .post_json(
            "/api/v1/auth/logout",
            &json!({"refresh_token": user.refresh_token}),
        )
        .await;
    assert_eq!(logout.status(), 204);
    assert_problem(
        app.get_as("/api/v1/me", &user.access_token).await,
        401,
        "session_ended",
    )
    .await;

    // A role granted by an admin applies to the live token at once; so does disabling.
    let admin = app.user_with_roles(&[Role::Admin]).await;
    let agent = app.user_with_roles(&[Role::Visitor]).await;
    assert_problem(
        app.get_as("/api/v1/users", &agent.access_token).await,
        403,
        "forbidden",
    )
    .await;
    let path = format!("/api/v1/users/{}", agent.id);
    app.patch_as(&path, &admin.access_token, &json!({"roles": ["admin"]}))
        .await;
    // Admin at once: a role that needs a second factor, which this session has not passed.
    assert_problem(
        app.get_as("/api/v1/users", &agent.access_token).await,
        403,
        "mfa_enrollment_required",
    )
    .await;
    app.patch_as(&path, &admin.access_token, &json!({"disabled": true}))
        .await;
    assert_problem(
        app.get_as("/api/v1/me", &agent.access_token).await,
        401,
        "session_ended",
    )
    .await;
}
