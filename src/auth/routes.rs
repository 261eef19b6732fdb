//! `/api/v1/auth/*`: register, verify the address, log in, refresh, log out, reset a password.
//!
//! Register, login and forgot-password answer alike whether or not the account exists (same
//! status, same body, and a password hash is computed either way), so they cannot be used to
//! find accounts. Registering a known address emails its owner instead of creating anything.
//! An account with a second factor signs in in two steps: the password answers a challenge,
//! `/auth/login/mfa` exchanges it and a code for the tokens.

use actix_web::{HttpResponse, post, web};
use chrono::{Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::emails::{AccountLocked, RegistrationAttempt, ResetPassword, VerifyEmail};
use super::extract::ClientIp;
use super::limits::Action;
use super::mfa_store;
use super::new_password::NewPassword;
use super::password::{self, Verdict};
use super::second_factor::{self, Accepted};
use super::store::{self, LinkPurpose};
use crate::audit::AuditEntry;
use crate::body::Body;
use crate::email;
use crate::error::{ApiError, ApiResult, Problem, Validator};
use crate::state::AppState;
use crate::users::store::{self as users, NewUser, UserChanges};
use crate::users::{EmailAddress, FullName, Locale, Role, User};

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(register)
        .service(verify_email)
        .service(resend_verification)
        .service(login)
        .service(login_mfa)
        .service(refresh)
        .service(logout)
        .service(forgot_password)
        .service(reset_password);
}

fn invalid_credentials() -> ApiError {
    ApiError::Unauthorized {
        code: "invalid_credentials",
        detail: "Email or password is wrong, or the account cannot sign in yet.".into(),
    }
}

fn invalid_link() -> ApiError {
    ApiError::BadRequest {
        code: "invalid_link",
        detail: "This link is invalid, has expired or was already used.".into(),
    }
}

fn invalid_refresh_token() -> ApiError {
    ApiError::Unauthorized {
        code: "invalid_refresh_token",
        detail: "The refresh token is invalid, expired or revoked; sign in again.".into(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[schema(example = "ayse.yilmaz@peakdefense.com.tr", format = Email, max_length = 254)]
    email: String,
    /// 12 to 128 characters, not the email, not a common password.
    #[schema(example = "Koulikoro-range-2026", min_length = 12, max_length = 128)]
    password: String,
    #[schema(example = "Ayşe Yılmaz", min_length = 1, max_length = 200)]
    full_name: String,
    /// Language of the emails: `fr` (default), `en` or `tr`.
    #[serde(default)]
    locale: Option<Locale>,
    /// Ignored: self-registration always gives the `visitor` role.
    #[serde(default, rename = "roles")]
    #[schema(value_type = Option<Vec<String>>)]
    _ignored_roles: Option<serde::de::IgnoredAny>,
}

/// What `POST /auth/register` answers, for a new address and a known one alike.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegistrationAccepted {
    #[schema(example = "check_your_email")]
    status: &'static str,
    #[schema(
        example = "An email is on its way to this address; follow it to go on with the registration."
    )]
    detail: &'static str,
}

/// Register an account (role `visitor`); a confirmation link is emailed. The answer is the same
/// whether or not the address already has an account: then nothing is created, and its owner
/// is emailed instead ("someone tried to register with your address: sign in or reset your
/// password").
#[utoipa::path(
    tag = "auth",
    security(),
    request_body = RegisterRequest,
    responses(
        (status = 202, description = "The same for a new and a known address: check the inbox", body = RegistrationAccepted),
        (status = 429, description = "Too many requests (`rate_limited`), see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/register")]
async fn register(
    state: web::Data<AppState>,
    ip: ClientIp,
    body: Body<RegisterRequest>,
) -> ApiResult<HttpResponse> {
    state.limits.check_ip(Action::Register, ip.0).await?;
    let body = body.read()?;
    let mut v = Validator::default();
    let email = v.check("email", EmailAddress::parse(&body.email));
    let full_name = v.check("full_name", FullName::parse(&body.full_name));
    let password = v.check(
        "password",
        NewPassword::parse(&body.password, email.as_ref()),
    );
    let (email, full_name, password) = v.finish(|| Some((email?, full_name?, password?)))?;
    let locale = body.locale.unwrap_or_default();
    // Hashed for a known address too, so that both take the same time.
    let hash = password::hash(password.into_secret()).await?;

    let mut conn = state.pool.get().await?;
    let created = conn
        .transaction::<_, ApiError, _>(async |conn| {
            if let Some(known) = users::find_by_email(conn, &email).await? {
                return Ok(Err(known));
            }
            let mut new_user = NewUser::new(&email, full_name.as_str(), locale, &[Role::Visitor]);
            new_user.password_hash = Some(&hash);
            let user = users::insert(conn, &new_user).await?;
            send_verification(conn, &state, &user).await?;
            AuditEntry::new("user.registered", "user", Some(user.id))
                .by(user.id, ip.as_string().as_deref())
                .record(conn)
                .await?;
            Ok(Ok(()))
        })
        .await;
    let known = match created {
        Ok(Ok(())) => None,
        Ok(Err(known)) => Some(known),
        // Registered by a concurrent request in between.
        Err(ApiError::Conflict {
            code: "email_taken",
            ..
        }) => users::find_by_email(&mut conn, &email).await?,
        Err(e) => return Err(e),
    };
    if let Some(owner) = known {
        warn_owner(&mut conn, &state, &owner, &ip).await?;
    }
    Ok(HttpResponse::Accepted().json(RegistrationAccepted {
        status: "check_your_email",
        detail: "An email is on its way to this address; follow it to go on with the registration.",
    }))
}

/// Tells the owner of a known address that someone tried to register with it (at most
/// `rate_limits.emails_per_account_per_hour` times an hour; never a disabled account).
async fn warn_owner(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    owner: &User,
    ip: &ClientIp,
) -> ApiResult<()> {
    if owner.disabled_at.is_some() {
        return Ok(());
    }
    match state
        .limits
        .check_account(Action::Register, &owner.email)
        .await
    {
        // Over the budget: the owner was told often enough.
        Err(ApiError::RateLimited { .. }) => return Ok(()),
        checked => checked?,
    }
    let app = &state.settings.application;
    let sign_in_link = app.frontend_link("login", None);
    let reset_link = app.frontend_link("forgot-password", None);
    conn.transaction::<_, ApiError, _>(async |conn| {
        email::enqueue(
            conn,
            &owner.email,
            owner.locale(),
            &RegistrationAttempt {
                full_name: &owner.full_name,
                sign_in_link: &sign_in_link,
                reset_link: &reset_link,
            },
        )
        .await?;
        AuditEntry::new("user.registration_attempted", "user", Some(owner.id))
            .details(serde_json::json!({ "client_ip": ip.as_string() }))
            .record(conn)
            .await?;
        Ok(())
    })
    .await
}

async fn send_verification(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    user: &User,
) -> ApiResult<()> {
    let auth = &state.settings.auth;
    let token = store::issue_link(
        conn,
        user.id,
        LinkPurpose::VerifyEmail,
        Duration::hours(auth.verify_email_ttl_hours.into()),
    )
    .await?;
    let link = state
        .settings
        .application
        .frontend_link("verify-email", Some(&token));
    email::enqueue(
        conn,
        &user.email,
        user.locale(),
        &VerifyEmail {
            full_name: &user.full_name,
            link: &link,
        },
    )
    .await?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The `token` query parameter of the emailed link.
    token: String,
}

/// Confirm an email address with the token of the emailed link (single use, 24 h).
#[utoipa::path(
    tag = "auth",
    security(),
    request_body = TokenRequest,
    responses(
        (status = 204, description = "Address confirmed"),
        (status = 400, description = "Invalid, expired or used link (`invalid_link`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/verify-email")]
async fn verify_email(
    state: web::Data<AppState>,
    ip: ClientIp,
    body: Body<TokenRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.read()?;
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let user_id = store::consume_link(conn, LinkPurpose::VerifyEmail, &body.token)
            .await?
            .ok_or_else(invalid_link)?;
        let user = users::find(conn, user_id).await?;
        if user.email_verified_at.is_none() {
            users::update(
                conn,
                user_id,
                UserChanges {
                    email_verified_at: Some(Some(Utc::now())),
                    ..Default::default()
                },
            )
            .await?;
        }
        AuditEntry::new("user.email_verified", "user", Some(user_id))
            .by(user_id, ip.as_string().as_deref())
            .record(conn)
            .await?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailRequest {
    #[schema(example = "ayse.yilmaz@peakdefense.com.tr", format = Email, max_length = 254)]
    email: String,
}

impl EmailRequest {
    fn parse(&self) -> ApiResult<EmailAddress> {
        EmailAddress::parse(&self.email).map_err(|e| ApiError::validation("email", e.to_string()))
    }
}

/// Runs `work` after the response is sent, so that whether an account exists does not change
/// how long the request takes. Failures are logged.
fn in_background(
    what: &'static str,
    work: impl std::future::Future<Output = ApiResult<()>> + Send + 'static,
) {
    tokio::spawn(async move {
        if let Err(e) = work.await {
            tracing::error!(
                error = e.log_message(),
                task = what,
                "background account task failed"
            );
        }
    });
}

/// Send the confirmation link again. Always 202, whether or not the account exists.
#[utoipa::path(
    tag = "auth",
    security(),
    request_body = EmailRequest,
    responses(
        (status = 202, description = "If an unconfirmed account has this address, a new link is on its way"),
        (status = 429, description = "Too many requests (`rate_limited`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/resend-verification")]
async fn resend_verification(
    state: web::Data<AppState>,
    ip: ClientIp,
    body: Body<EmailRequest>,
) -> ApiResult<HttpResponse> {
    state
        .limits
        .check_ip(Action::ResendVerification, ip.0)
        .await?;
    let body = body.read()?;
    let email = body.parse()?;
    state
        .limits
        .check_account(Action::ResendVerification, &email)
        .await?;
    in_background("resend-verification", async move {
        let mut conn = state.pool.get().await?;
        conn.transaction::<_, ApiError, _>(async |conn| {
            match users::find_by_email(conn, &email).await? {
                Some(user) if user.email_verified_at.is_none() && user.disabled_at.is_none() => {
                    send_verification(conn, &state, &user).await
                }
                _ => Ok(()),
            }
        })
        .await
    });
    Ok(HttpResponse::Accepted().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "ayse.yilmaz@peakdefense.com.tr")]
    email: String,
    #[schema(example = "Koulikoro-range-2026")]
    password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    /// JWT for `Authorization: Bearer …`.
    access_token: String,
    #[schema(example = "Bearer")]
    token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    expires_in: u64,
    /// Single use: exchange it at /auth/refresh for a new pair.
    refresh_token: String,
}

/// The first step of a two-step sign-in: the password was right, now a code.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaChallenge {
    /// Always true: send `challenge` and a code to `/auth/login/mfa`.
    mfa_required: bool,
    /// Opaque, single use.
    challenge: String,
    /// Seconds the challenge stays valid.
    #[schema(example = 300)]
    expires_in: u64,
}

/// What `/auth/login` answers: the tokens, or, for an account with a second factor, a challenge.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginAnswer {
    Tokens(TokenPair),
    SecondFactor(MfaChallenge),
}

/// Issues an access token and a refresh token of session `family` (a new one on login).
async fn issue_pair(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    user: &User,
    family: Uuid,
) -> ApiResult<TokenPair> {
    let ttl = Duration::days(state.settings.auth.refresh_token_ttl_days as i64);
    let refresh_token = store::issue_refresh(conn, user.id, family, ttl).await?;
    let access_token = state.tokens.issue(user.id, user.roles(), family)?;
    Ok(TokenPair {
        access_token,
        token_type: "Bearer",
        expires_in: state.tokens.ttl().as_secs(),
        refresh_token,
    })
}

/// Sign in with email and password (verified, active accounts only). An account with a second
/// factor gets a challenge instead of tokens: send it with a code to `/auth/login/mfa`.
#[utoipa::path(
    tag = "auth",
    security(),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in (`TokenPair`), or the password was right and a code is needed (`MfaChallenge`)", body = LoginAnswer),
        (status = 401, description = "Wrong email or password, unconfirmed, locked or disabled account — indistinguishably (`invalid_credentials`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts (`rate_limited`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/login")]
async fn login(
    state: web::Data<AppState>,
    ip: ClientIp,
    body: Body<LoginRequest>,
) -> ApiResult<web::Json<LoginAnswer>> {
    state.limits.check_ip(Action::Login, ip.0).await?;
    let body = body.read()?;
    let email = EmailAddress::parse(&body.email).map_err(|_| invalid_credentials())?;
    state.limits.check_account(Action::Login, &email).await?;
    let presented = SecretString::from(body.password.as_str());

    // No pooled connection is held while hashing: a login burst must not starve other routes.
    let user = users::find_by_email(&mut *state.pool.get().await?, &email).await?;
    let Some(user) = user else {
        password::verify_dummy(presented).await;
        return Err(invalid_credentials());
    };
    let verdict = match user.password_hash.clone() {
        Some(hash) => password::verify(presented.clone(), hash).await?,
        None => {
            password::verify_dummy(presented.clone()).await;
            Verdict::Mismatch
        }
    };
    let rehash = match verdict {
        Verdict::Mismatch => {
            if user.disabled_at.is_none() && !user.is_locked() {
                record_failure(&mut *state.pool.get().await?, &state, &user, &ip).await?;
            }
            return Err(invalid_credentials());
        }
        Verdict::Match { rehash } => rehash,
    };
    if user.disabled_at.is_some() || user.is_locked() || user.email_verified_at.is_none() {
        return Err(invalid_credentials());
    }
    let new_hash = if rehash {
        Some(password::hash(presented).await?)
    } else {
        None
    };
    let mut conn = state.pool.get().await?;
    let has_factor = mfa_store::find(&mut conn, user.id)
        .await?
        .is_some_and(|factor| factor.confirmed_at.is_some());
    let answer = conn
        .transaction::<_, ApiError, _>(async |conn| {
            // With a factor the failures are cleared only once the code is right too: a
            // stolen password must not reset the count of wrong codes.
            if !has_factor {
                store::clear_login_failures(conn, user.id).await?;
            }
            if let Some(hash) = new_hash {
                users::update(
                    conn,
                    user.id,
                    UserChanges {
                        password_hash: Some(Some(hash)),
                        ..Default::default()
                    },
                )
                .await?;
            }
            if has_factor {
                let ttl = state.settings.auth.mfa_challenge_ttl_seconds;
                let challenge =
                    mfa_store::issue_challenge(conn, user.id, Duration::seconds(ttl.into()))
                        .await?;
                return Ok(LoginAnswer::SecondFactor(MfaChallenge {
                    mfa_required: true,
                    challenge,
                    expires_in: ttl.into(),
                }));
            }
            Ok(LoginAnswer::Tokens(
                issue_pair(conn, &state, &user, Uuid::now_v7()).await?,
            ))
        })
        .await?;
    Ok(web::Json(answer))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginMfaRequest {
    /// `challenge` of the `/auth/login` answer.
    challenge: String,
    /// Six digits from the authenticator app, or one of the recovery codes.
    #[schema(example = "492039")]
    code: String,
}

/// The second step of a sign-in: the challenge and a code (TOTP or recovery) for the tokens.
/// Each code is accepted once; wrong codes count towards the lockout like wrong passwords.
#[utoipa::path(
    tag = "auth",
    security(),
    request_body = LoginMfaRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenPair),
        (status = 401, description = "Wrong or used code, unknown or expired challenge, locked or disabled account — indistinguishably (`invalid_mfa_code`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts (`rate_limited`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/login/mfa")]
async fn login_mfa(
    state: web::Data<AppState>,
    ip: ClientIp,
    body: Body<LoginMfaRequest>,
) -> ApiResult<web::Json<TokenPair>> {
    state.limits.check_ip(Action::Login, ip.0).await?;
    let body = body.read()?;
    let user = {
        let mut conn = state.pool.get().await?;
        match mfa_store::challenge_user(&mut conn, &body.challenge).await? {
            Some(id) => users::find(&mut conn, id).await?,
            None => return Err(second_factor::wrong_code()),
        }
    };
    // The same per-account budget as the password step.
    state
        .limits
        .check_account(Action::Login, &user.email)
        .await?;
    if user.disabled_at.is_some() || user.is_locked() {
        return Err(second_factor::wrong_code());
    }
    let accepted =
        second_factor::accept(&state.pool, &state.documents, user.id, &body.code).await?;
    let mut conn = state.pool.get().await?;
    let Some(accepted) = accepted else {
        record_failure(&mut conn, &state, &user, &ip).await?;
        return Err(second_factor::wrong_code());
    };
    let pair = conn
        .transaction::<_, ApiError, _>(async |conn| {
            if !mfa_store::consume_challenge(conn, &body.challenge).await? {
                return Ok(None);
            }
            store::clear_login_failures(conn, user.id).await?;
            if accepted == Accepted::RecoveryCode {
                let left = mfa_store::unused_recovery_codes(conn, user.id).await?.len();
                AuditEntry::new("user.mfa_recovery_code_used", "user", Some(user.id))
                    .by(user.id, ip.as_string().as_deref())
                    .details(serde_json::json!({ "recovery_codes_left": left }))
                    .record(conn)
                    .await?;
            }
            let family = Uuid::now_v7();
            mfa_store::mark_session_verified(conn, user.id, family).await?;
            Ok(Some(issue_pair(conn, &state, &user, family).await?))
        })
        .await?;
    pair.map(web::Json).ok_or_else(second_factor::wrong_code)
}

/// Counts a failed login; at the threshold the account is locked and its owner told by email.
async fn record_failure(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    user: &User,
    ip: &ClientIp,
) -> ApiResult<()> {
    let auth = &state.settings.auth;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let ip = ip.as_string();
        let failures = store::record_login_failure(
            conn,
            user.id,
            ip.as_deref(),
            Duration::minutes(auth.lockout_window_minutes.into()),
        )
        .await?;
        if failures < i64::from(auth.lockout_threshold) {
            return Ok(());
        }
        let until = Utc::now() + Duration::minutes(auth.lockout_minutes.into());
        users::update(
            conn,
            user.id,
            UserChanges {
                locked_until: Some(Some(until)),
                ..Default::default()
            },
        )
        .await?;
        store::clear_login_failures(conn, user.id).await?;
        let reset_link = state
            .settings
            .application
            .frontend_link("forgot-password", None);
        email::enqueue(
            conn,
            &user.email,
            user.locale(),
            &AccountLocked {
                full_name: &user.full_name,
                minutes: auth.lockout_minutes,
                reset_link: &reset_link,
            },
        )
        .await?;
        AuditEntry::new("user.locked", "user", Some(user.id))
            .details(
                serde_json::json!({ "failed_logins": failures, "until": until, "client_ip": ip }),
            )
            .record(conn)
            .await?;
        Ok(())
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    refresh_token: String,
}

enum Rotation {
    Rotated(TokenPair),
    Refused,
}

/// Exchange a refresh token for a new pair. The old token is revoked; presenting a revoked token
/// again revokes its whole session (it was stolen and replayed).
#[utoipa::path(
    tag = "auth",
    security(),
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair", body = TokenPair),
        (status = 401, description = "Invalid, expired or revoked token, or account disabled (`invalid_refresh_token`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/refresh")]
async fn refresh(
    state: web::Data<AppState>,
    ip: ClientIp,
    body: Body<RefreshRequest>,
) -> ApiResult<web::Json<TokenPair>> {
    let body = body.read()?;
    let mut conn = state.pool.get().await?;
    // The transaction commits even when refusing: a replay's family revocation must stick.
    let rotation = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let Some(token) = store::lock_refresh(conn, &body.refresh_token).await? else {
                return Ok(Rotation::Refused);
            };
            if token.revoked_at.is_some() {
                let revoked = store::revoke_family(conn, token.family_id).await?;
                tracing::warn!(user_id = %token.user_id, "revoked refresh token replayed; session revoked");
                AuditEntry::new("session.replay_detected", "user", Some(token.user_id))
                    .details(serde_json::json!({ "session": token.family_id, "revoked_tokens": revoked,
                        "client_ip": ip.as_string() }))
                    .record(conn)
                    .await?;
                return Ok(Rotation::Refused);
            }
            let user = users::find(conn, token.user_id).await?;
            if token.expires_at <= Utc::now() || user.disabled_at.is_some() {
                store::revoke_family(conn, token.family_id).await?;
                return Ok(Rotation::Refused);
            }
            store::revoke_refresh(conn, token.id).await?;
            Ok(Rotation::Rotated(
                issue_pair(conn, &state, &user, token.family_id).await?,
            ))
        })
        .await?;
    match rotation {
        Rotation::Rotated(pair) => Ok(web::Json(pair)),
        Rotation::Refused => {
            state.sessions_changed();
            Err(invalid_refresh_token())
        }
    }
}

/// End the session of this refresh token. Always 204.
#[utoipa::path(
    tag = "auth",
    security(),
    request_body = RefreshRequest,
    responses((status = 204, description = "Signed out"))
)]
#[post("/auth/logout")]
async fn logout(state: web::Data<AppState>, body: Body<RefreshRequest>) -> ApiResult<HttpResponse> {
    let body = body.read()?;
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        if let Some(token) = store::lock_refresh(conn, &body.refresh_token).await? {
            store::revoke_family(conn, token.family_id).await?;
        }
        Ok(())
    })
    .await?;
    state.sessions_changed();
    Ok(HttpResponse::NoContent().finish())
}

/// Ask for a password-reset link. Always 202, whether or not the account exists.
#[utoipa::path(
    tag = "auth",
    security(),
    request_body = EmailRequest,
    responses(
        (status = 202, description = "If an account has this address, a link is on its way"),
        (status = 429, description = "Too many requests (`rate_limited`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/password/forgot")]
async fn forgot_password(
    state: web::Data<AppState>,
    ip: ClientIp,
    body: Body<EmailRequest>,
) -> ApiResult<HttpResponse> {
    state.limits.check_ip(Action::ForgotPassword, ip.0).await?;
    let body = body.read()?;
    let email = body.parse()?;
    state
        .limits
        .check_account(Action::ForgotPassword, &email)
        .await?;
    in_background("forgot-password", async move {
        let mut conn = state.pool.get().await?;
        conn.transaction::<_, ApiError, _>(async |conn| send_reset_link(conn, &state, &email).await)
            .await
    });
    Ok(HttpResponse::Accepted().finish())
}

async fn send_reset_link(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    email: &EmailAddress,
) -> ApiResult<()> {
    let Some(user) = users::find_by_email(conn, email).await? else {
        return Ok(());
    };
    if user.disabled_at.is_some() {
        return Ok(());
    }
    let minutes = state.settings.auth.reset_password_ttl_minutes;
    let token = store::issue_link(
        conn,
        user.id,
        LinkPurpose::ResetPassword,
        Duration::minutes(minutes.into()),
    )
    .await?;
    let link = state
        .settings
        .application
        .frontend_link("reset-password", Some(&token));
    email::enqueue(
        conn,
        &user.email,
        user.locale(),
        &ResetPassword {
            full_name: &user.full_name,
            link: &link,
            minutes,
        },
    )
    .await?;
    AuditEntry::new("user.password_reset_requested", "user", Some(user.id))
        .record(conn)
        .await?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    /// The `token` query parameter of the emailed link.
    token: String,
    #[schema(example = "Koulikoro-range-2026", min_length = 12, max_length = 128)]
    new_password: String,
}

/// Set a new password with an emailed link (also the first password of an account an admin
/// created). Signs out every session and confirms the address.
#[utoipa::path(
    tag = "auth",
    security(),
    request_body = ResetPasswordRequest,
    responses(
        (status = 204, description = "Password changed"),
        (status = 400, description = "Invalid, expired or used link (`invalid_link`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/password/reset")]
async fn reset_password(
    state: web::Data<AppState>,
    ip: ClientIp,
    body: Body<ResetPasswordRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.read()?;
    let mut conn = state.pool.get().await?;
    // Check the password against the policy before spending the link on it.
    let user_id = store::peek_link(&mut conn, LinkPurpose::ResetPassword, &body.token)
        .await?
        .ok_or_else(invalid_link)?;
    let user = users::find(&mut conn, user_id).await?;
    let password = NewPassword::parse(&body.new_password, Some(&user.email))
        .map_err(|e| ApiError::validation("new_password", e))?;
    drop(conn);
    let hash = password::hash(password.into_secret()).await?;
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        store::consume_link(conn, LinkPurpose::ResetPassword, &body.token)
            .await?
            .filter(|id| *id == user_id)
            .ok_or_else(invalid_link)?;
        users::update(
            conn,
            user_id,
            UserChanges {
                password_hash: Some(Some(hash)),
                email_verified_at: Some(Some(user.email_verified_at.unwrap_or_else(Utc::now))),
                locked_until: Some(None),
                ..Default::default()
            },
        )
        .await?;
        store::clear_login_failures(conn, user_id).await?;
        let ended = store::revoke_sessions(conn, user_id, None).await?;
        AuditEntry::new("user.password_reset", "user", Some(user_id))
            .by(user_id, ip.as_string().as_deref())
            .details(serde_json::json!({ "sessions_ended": ended }))
            .record(conn)
            .await?;
        Ok(())
    })
    .await?;
    state.sessions_changed();
    Ok(HttpResponse::NoContent().finish())
}
