//! `/api/v1/me/mfa`: enrolling, confirming and removing one's second factor (TOTP), and
//! `/api/v1/users/{id}/mfa/reset`, an admin's reset of someone else's (a lost phone).

use actix_web::{HttpResponse, delete, post, web};
use diesel_async::AsyncConnection;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::emails::MfaReset;
use super::extract::{Admin, ClientIp, CurrentUser, Require};
use super::mfa_store as store;
use super::password::{self, Verdict};
use super::second_factor;
use super::store as auth_store;
use super::totp;
use crate::audit::AuditEntry;
use crate::body::Body;
use crate::email;
use crate::error::{ApiError, ApiResult, Problem, Validator};
use crate::state::AppState;
use crate::users::store as users;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(enroll)
        .service(confirm)
        .service(remove)
        .service(reset);
}

fn already_enabled() -> ApiError {
    ApiError::Conflict {
        code: "mfa_already_enabled",
        detail: "This account already has a second factor; remove it first to enroll another."
            .into(),
    }
}

/// What enrolling answers: the secret three ways. Shown only now; the server keeps it sealed.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaEnrollment {
    /// Base32, for typing into an app by hand.
    #[schema(example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")]
    secret: String,
    /// What the QR code holds (SHA-1, 6 digits, 30 s).
    #[schema(
        example = "otpauth://totp/BAMEX:mariam.diarra%40bamex.ml?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=BAMEX"
    )]
    otpauth_uri: String,
    /// The URI as a QR code: a PNG, base64.
    #[schema(content_encoding = "base64", content_media_type = "image/png")]
    qr_png: String,
}

/// Start enrolling a second factor (or start over while not yet confirmed): scan the QR code
/// with an authenticator app, then confirm with a code. Open to sessions that still need a
/// factor.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The new secret; nothing is switched on until confirmed", body = MfaEnrollment),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A factor is already on (`mfa_already_enabled`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/mfa")]
async fn enroll(
    state: web::Data<AppState>,
    me: CurrentUser,
) -> ApiResult<web::Json<MfaEnrollment>> {
    let email = {
        let mut conn = state.pool.get().await?;
        users::find(&mut conn, me.id).await?.email
    };
    let secret = totp::new_secret();
    // Drawing the QR code is CPU work: off the async executor, and with no connection held.
    let shown = {
        let secret = secret.clone();
        web::block(move || totp::enrollment(&secret, email.as_str()))
            .await
            .map_err(|e| {
                ApiError::Internal(anyhow::Error::new(e).context("drawing the QR code"))
            })??
    };
    let sealed = state
        .documents
        .seal_secret(&store::secret_context(me.id), &secret)?;
    let mut conn = state.pool.get().await?;
    if store::start_enrollment(&mut conn, me.id, &sealed).await? == 0 {
        return Err(already_enabled());
    }
    Ok(web::Json(MfaEnrollment {
        secret: shown.secret,
        otpauth_uri: shown.otpauth_uri,
        qr_png: shown.qr_png_base64,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaCodeRequest {
    /// Six digits from the authenticator app.
    #[schema(example = "492039")]
    code: String,
}

/// The recovery codes, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaRecoveryCodes {
    /// Ten single-use codes, each standing in for a TOTP code once (a lost phone). Stored
    /// hashed: they cannot be shown again.
    #[schema(example = json!(["k7m2p-q9rst", "…"]))]
    recovery_codes: Vec<String>,
}

/// Switch the factor on with a first code. This session counts as having passed it; the
/// account's other sessions are signed out.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    request_body = MfaCodeRequest,
    responses(
        (status = 200, description = "Factor on; the recovery codes, shown once", body = MfaRecoveryCodes),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No enrollment under way (`mfa_not_enrolling`), or a factor is already on (`mfa_already_enabled`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong code (`validation_failed` on `code`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/mfa/confirm")]
async fn confirm(
    state: web::Data<AppState>,
    me: CurrentUser,
    ip: ClientIp,
    body: Body<MfaCodeRequest>,
) -> ApiResult<web::Json<MfaRecoveryCodes>> {
    let body = body.read()?;
    let factor = store::find(&mut *state.pool.get().await?, me.id)
        .await?
        .ok_or_else(|| ApiError::Conflict {
            code: "mfa_not_enrolling",
            detail: "Start with POST /api/v1/me/mfa.".into(),
        })?;
    if factor.confirmed_at.is_some() {
        return Err(already_enabled());
    }
    let secret = second_factor::open_secret(&state.documents, &factor)?;
    let step = totp::as_totp_code(&body.code)
        .and_then(|code| totp::matching_step(&secret, &code, second_factor::unix_now()))
        .ok_or_else(|| ApiError::validation("code", "is not the app's current code"))?;
    let (codes, hashes) = second_factor::new_recovery_codes().await?;
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        if !store::confirm(conn, me.id, &hashes).await? {
            return Err(already_enabled());
        }
        store::record_used_step(conn, me.id, step).await?;
        store::mark_session_verified(conn, me.id, me.session).await?;
        // A session opened with the password alone (perhaps a phished one) must not ride on
        // the owner's enrollment.
        let ended = auth_store::revoke_sessions(conn, me.id, Some(me.session)).await?;
        AuditEntry::new("user.mfa_enabled", "user", Some(me.id))
            .by(me.id, ip.as_string().as_deref())
            .details(serde_json::json!({ "other_sessions_ended": ended }))
            .record(conn)
            .await?;
        Ok(())
    })
    .await?;
    state.sessions_changed();
    Ok(web::Json(MfaRecoveryCodes {
        recovery_codes: codes,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveMfaRequest {
    password: String,
    /// A current code, or a recovery code.
    #[schema(example = "492039")]
    code: String,
}

/// Remove one's second factor (the password and a code are required). For roles that need a
/// factor, the account's sessions are then limited to `/me` and `/me/mfa` until it enrolls again.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    request_body = RemoveMfaRequest,
    responses(
        (status = 204, description = "Factor removed"),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No factor is on (`mfa_not_enabled`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong password or code (`validation_failed` on `password` or `code`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/me/mfa")]
async fn remove(
    state: web::Data<AppState>,
    me: CurrentUser,
    ip: ClientIp,
    body: Body<RemoveMfaRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.read()?;
    let user = users::find(&mut *state.pool.get().await?, me.id).await?;
    let presented = SecretString::from(body.password.as_str());
    let password_ok = match user.password_hash.clone() {
        Some(hash) => password::verify(presented, hash).await? != Verdict::Mismatch,
        None => false,
    };
    // The code is spent only behind a right password.
    let code_ok = password_ok
        && second_factor::accept(&state.pool, &state.documents, me.id, &body.code)
            .await?
            .is_some();
    let mut v = Validator::default();
    v.check(
        "password",
        if password_ok {
            Ok(())
        } else {
            Err("is not your password")
        },
    );
    v.check(
        "code",
        if code_ok || !password_ok {
            Ok(())
        } else {
            Err("is wrong or was already used")
        },
    );
    v.finish(|| Some(()))?;
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        if !store::remove(conn, me.id).await? {
            return Err(not_enabled());
        }
        AuditEntry::new("user.mfa_removed", "user", Some(me.id))
            .by(me.id, ip.as_string().as_deref())
            .record(conn)
            .await?;
        Ok(())
    })
    .await?;
    state.sessions_changed();
    Ok(HttpResponse::NoContent().finish())
}

fn not_enabled() -> ApiError {
    ApiError::Conflict {
        code: "mfa_not_enabled",
        detail: "This account has no second factor.".into(),
    }
}

/// Reset another account's second factor (admins), when its owner lost the phone and the
/// recovery codes. Its sessions end, its owner is emailed, and it enrolls again at next sign-in.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Account id")),
    responses(
        (status = 204, description = "Factor removed, sessions ended, owner emailed"),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The account has no factor (`mfa_not_enabled`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/users/{id}/mfa/reset")]
async fn reset(
    state: web::Data<AppState>,
    admin: Require<Admin>,
    ip: ClientIp,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let owner = users::find(conn, id).await?;
        if !store::remove(conn, id).await? {
            return Err(not_enabled());
        }
        let ended = auth_store::revoke_sessions(conn, id, None).await?;
        let sign_in_link = state.settings.application.frontend_link("login", None);
        email::enqueue(
            conn,
            &owner.email,
            owner.locale(),
            &MfaReset {
                full_name: &owner.full_name,
                sign_in_link: &sign_in_link,
            },
        )
        .await?;
        AuditEntry::new("user.mfa_reset", "user", Some(id))
            .by(admin.id, ip.as_string().as_deref())
            .details(serde_json::json!({ "sessions_ended": ended }))
            .record(conn)
            .await?;
        Ok(())
    })
    .await?;
    state.sessions_changed();
    Ok(HttpResponse::NoContent().finish())
}
