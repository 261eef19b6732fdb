//! `/api/v1/me` (the caller's own account) and `/api/v1/users` (admins manage accounts).

use actix_web::{HttpResponse, get, patch, post, web};
use chrono::{Duration, Utc};
use diesel_async::AsyncConnection;
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::store::{self, NewUser, UserChanges, UserFilter};
use super::{EmailAddress, FullName, Locale, Role, UserView};
use crate::audit::AuditEntry;
use crate::auth::emails::SetFirstPassword;
use crate::auth::extract::{Admin, ClientIp, CurrentUser, Require};
use crate::auth::new_password::NewPassword;
use crate::auth::password::{self, Verdict};
use crate::auth::store::{self as auth_store, LinkPurpose};
use crate::body::Body;
use crate::email;
use crate::error::{ApiError, ApiResult, Problem, Validator};
use crate::pagination::{Page, PageQuery};
use crate::state::AppState;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(get_me)
        .service(patch_me)
        .service(change_password)
        .service(list_users)
        .service(create_user)
        .service(get_user)
        .service(patch_user);
}

/// The caller's own account.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Your account", body = UserView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me")]
async fn get_me(state: web::Data<AppState>, me: CurrentUser) -> ApiResult<web::Json<UserView>> {
    let mut conn = state.pool.get().await?;
    Ok(web::Json(store::find(&mut conn, me.id).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    #[schema(example = "Ayşe Yılmaz", min_length = 1, max_length = 200)]
    full_name: Option<String>,
    locale: Option<Locale>,
}

/// Change the caller's name or language.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    request_body = UpdateMeRequest,
    responses(
        (status = 200, description = "Your account, updated", body = UserView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/me")]
async fn patch_me(
    state: web::Data<AppState>,
    me: CurrentUser,
    body: Body<UpdateMeRequest>,
) -> ApiResult<web::Json<UserView>> {
    let body = body.read()?;
    let full_name = body
        .full_name
        .as_deref()
        .map(FullName::parse)
        .transpose()
        .map_err(|e| ApiError::validation("full_name", e))?;
    let mut conn = state.pool.get().await?;
    let user = store::update(
        &mut conn,
        me.id,
        UserChanges {
            full_name: full_name.map(|n| n.as_str().to_owned()),
            locale: body.locale.map(|l| l.as_str().to_owned()),
            ..Default::default()
        },
    )
    .await?;
    Ok(web::Json(user.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    current_password: String,
    #[schema(example = "Koulikoro-range-2026", min_length = 12, max_length = 128)]
    new_password: String,
}

/// Change the caller's password (the current one is required). Other sessions are signed out.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Password changed"),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/password")]
async fn change_password(
    state: web::Data<AppState>,
    me: CurrentUser,
    ip: ClientIp,
    body: Body<ChangePasswordRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.read()?;
    let user = store::find(&mut *state.pool.get().await?, me.id).await?;
    let current = SecretString::from(body.current_password.as_str());
    let matches = match user.password_hash.clone() {
        Some(hash) => password::verify(current, hash).await? != Verdict::Mismatch,
        None => false,
    };
    let mut v = Validator::default();
    v.check(
        "current_password",
        if matches {
            Ok(())
        } else {
            Err("is not your current password")
        },
    );
    let new_password = v.check(
        "new_password",
        NewPassword::parse(&body.new_password, Some(&user.email)),
    );
    let new_password = v.finish(|| new_password)?;
    let hash = password::hash(new_password.into_secret()).await?;
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        store::update(
            conn,
            me.id,
            UserChanges {
                password_hash: Some(Some(hash)),
                ..Default::default()
            },
        )
        .await?;
        let ended = auth_store::revoke_sessions(conn, me.id, Some(me.session)).await?;
        AuditEntry::new("user.password_changed", "user", Some(me.id))
            .by(me.id, ip.as_string().as_deref())
            .details(serde_json::json!({ "other_sessions_ended": ended }))
            .record(conn)
            .await?;
        Ok(())
    })
    .await?;
    state.sessions_changed();
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsersQuery {
    /// Search in email and name, case- and accent-insensitive.
    q: Option<String>,
    role: Option<Role>,
}

/// List accounts (admins), oldest first.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(UsersQuery, PageQuery),
    responses(
        (status = 200, description = "A page of accounts", body = Page<UserView>),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (`forbidden`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users")]
async fn list_users(
    state: web::Data<AppState>,
    _admin: Require<Admin>,
    filter: web::Query<UsersQuery>,
    page: web::Query<PageQuery>,
) -> ApiResult<web::Json<Page<UserView>>> {
    let page = page.parse::<Uuid>()?;
    let filter = UserFilter {
        q: filter.q.clone(),
        role: filter.role,
    };
    let mut conn = state.pool.get().await?;
    let (rows, total) = store::list(&mut conn, &filter, &page).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        total,
        &page,
        |u| u.id,
        UserView::from,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    #[schema(example = "mariam.diarra@bamex.ml", format = Email, max_length = 254)]
    email: String,
    #[schema(example = "Mariam Diarra", min_length = 1, max_length = 200)]
    full_name: String,
    #[schema(example = json!(["organizer"]))]
    roles: Vec<Role>,
    #[serde(default)]
    locale: Option<Locale>,
}

/// Create an account (admins), typically an organizer or gate agent. Its owner receives a link
/// to set a first password.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Account created; a link to set its password is emailed", body = UserView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An account with this email exists (`email_taken`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/users")]
async fn create_user(
    state: web::Data<AppState>,
    admin: Require<Admin>,
    ip: ClientIp,
    body: Body<CreateUserRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.read()?;
    let mut v = Validator::default();
    let email = v.check("email", EmailAddress::parse(&body.email));
    let full_name = v.check("full_name", FullName::parse(&body.full_name));
    v.check(
        "roles",
        if body.roles.is_empty() {
            Err("must name at least one role")
        } else {
            Ok(())
        },
    );
    let (email, full_name) = v.finish(|| Some((email?, full_name?)))?;
    let locale = body.locale.unwrap_or_default();
    let hours = state.settings.auth.first_password_ttl_hours;

    let mut conn = state.pool.get().await?;
    let user = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let user = store::insert(
                conn,
                &NewUser::new(&email, full_name.as_str(), locale, &body.roles),
            )
            .await?;
            let token = auth_store::issue_link(
                conn,
                user.id,
                LinkPurpose::ResetPassword,
                Duration::hours(hours.into()),
            )
            .await?;
            let link = state
                .settings
                .application
                .frontend_link("reset-password", Some(&token));
            let roles = Role::to_db(&body.roles).join(", ");
            email::enqueue(
                conn,
                &user.email,
                user.locale(),
                &SetFirstPassword {
                    full_name: &user.full_name,
                    link: &link,
                    hours,
                    roles,
                },
            )
            .await?;
            AuditEntry::new("user.created", "user", Some(user.id))
                .by(admin.id, ip.as_string().as_deref())
                .details(serde_json::json!({ "roles": user.roles }))
                .record(conn)
                .await?;
            Ok(user)
        })
        .await?;
    Ok(HttpResponse::Created().json(UserView::from(user)))
}

/// One account (admins).
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Account id")),
    responses(
        (status = 200, description = "The account", body = UserView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users/{id}")]
async fn get_user(
    state: web::Data<AppState>,
    _admin: Require<Admin>,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<UserView>> {
    let mut conn = state.pool.get().await?;
    Ok(web::Json(store::find(&mut conn, *id).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    #[schema(min_length = 1, max_length = 200)]
    full_name: Option<String>,
    locale: Option<Locale>,
    /// Replaces the account's roles.
    roles: Option<Vec<Role>>,
    /// `true` disables the account (no sign-in; its sessions end at once), `false` enables it.
    disabled: Option<bool>,
}

/// Change an account's name, language, roles, or disable / enable it (admins). Admins cannot
/// remove their own admin role or disable themselves.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Account id")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "The account, updated", body = UserView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An admin locking themselves out (`cannot_change_own_access`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/users/{id}")]
async fn patch_user(
    state: web::Data<AppState>,
    admin: Require<Admin>,
    ip: ClientIp,
    id: web::Path<Uuid>,
    body: Body<UpdateUserRequest>,
) -> ApiResult<web::Json<UserView>> {
    let body = body.read()?;
    let id = id.into_inner();
    let mut v = Validator::default();
    let full_name = v.check(
        "full_name",
        body.full_name.as_deref().map(FullName::parse).transpose(),
    );
    v.check(
        "roles",
        match &body.roles {
            Some(roles) if roles.is_empty() => Err("must name at least one role"),
            _ => Ok(()),
        },
    );
    let full_name = v.finish(|| full_name)?;
    let self_lockout = id == admin.id
        && (body.disabled == Some(true)
            || body
                .roles
                .as_ref()
                .is_some_and(|r| !r.contains(&Role::Admin)));
    if self_lockout {
        return Err(ApiError::Conflict {
            code: "cannot_change_own_access",
            detail: "Admins cannot disable themselves or drop their own admin role.".into(),
        });
    }

    let mut conn = state.pool.get().await?;
    let user = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let before = store::find(conn, id).await?;
            let disabled_at = body.disabled.map(|disable| match disable {
                true => Some(before.disabled_at.unwrap_or_else(Utc::now)),
                false => None,
            });
            let after = store::update(
                conn,
                id,
                UserChanges {
                    full_name: full_name.map(|n| n.as_str().to_owned()),
                    locale: body.locale.map(|l| l.as_str().to_owned()),
                    roles: body.roles.as_deref().map(Role::to_db),
                    disabled_at,
                    ..Default::default()
                },
            )
            .await?;
            let ip = ip.as_string();
            if after.roles != before.roles {
                AuditEntry::new("user.roles_changed", "user", Some(id))
                    .by(admin.id, ip.as_deref())
                    .details(serde_json::json!({ "before": before.roles, "after": after.roles }))
                    .record(conn)
                    .await?;
            }
            match (before.disabled_at.is_some(), after.disabled_at.is_some()) {
                (false, true) => {
                    auth_store::revoke_sessions(conn, id, None).await?;
                    AuditEntry::new("user.disabled", "user", Some(id))
                        .by(admin.id, ip.as_deref())
                        .record(conn)
                        .await?;
                }
                (true, false) => {
                    AuditEntry::new("user.enabled", "user", Some(id))
                        .by(admin.id, ip.as_deref())
                        .record(conn)
                        .await?;
                }
                _ => {}
            }
            Ok(after)
        })
        .await?;
    state.sessions_changed();
    Ok(web::Json(user.into()))
}
