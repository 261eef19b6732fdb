//! Who is calling: `CurrentUser` decodes the bearer token; `Require<R>` additionally demands one
//! of the roles of the set `R`. Handlers state their requirement in their signature.

use std::future::{Ready, ready};

use futures_util::future::LocalBoxFuture;
use std::marker::PhantomData;
use std::net::IpAddr;
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use uuid::Uuid;

use super::device_tokens;
use super::tokens::Claims;
use crate::audit::Actor;
use crate::error::ApiError;
use crate::state::AppState;
use crate::users::Role;

#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: Uuid,
    pub roles: Vec<Role>,
    /// The session (refresh-token family) the access token belongs to.
    pub session: Uuid,
}

impl CurrentUser {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The caller as the audit trail records them.
    pub fn actor(&self, ip: ClientIp) -> Actor {
        Actor {
            id: self.id,
            ip: ip.as_string(),
        }
    }

    /// Organizers and admins: the accreditation office sees everything.
    pub fn is_organizer(&self) -> bool {
        self.has(Role::Organizer) || self.has(Role::Admin)
    }
}

fn state(req: &HttpRequest) -> &AppState {
    req.app_data::<web::Data<AppState>>()
        .expect("AppState is registered")
}

/// The routes a staff session without a second factor reaches: the account and the factor's
/// enrollment, nothing else.
fn open_without_second_factor(path: &str) -> bool {
    path == "/api/v1/me" || path == "/api/v1/me/mfa" || path.starts_with("/api/v1/me/mfa/")
}

/// Decodes the bearer token, then checks its session is still live (see `sessions.rs`) and,
/// for the roles that need one, that it passed the second factor. Decided from the session's
/// and account's state on every request, so tokens issued before the requirement applied (or
/// before the account got its role) are limited as well.
fn authenticate(req: &HttpRequest) -> LocalBoxFuture<'static, Result<CurrentUser, ApiError>> {
    let claims = bearer_token(req).and_then(|token| {
        if device_tokens::is_device_token(token) {
            // A valid credential, only not for this route: the device's own routes take it.
            return Err(ApiError::Forbidden {
                code: "device_token_not_accepted",
                detail: "A gate device's token opens only its event's gate routes.".into(),
            });
        }
        state(req).tokens.verify(token).map_err(|_| invalid_token())
    });
    session_of(req, claims)
}

/// The session an access token's claims name, checked as [`authenticate`] describes.
fn session_of(
    req: &HttpRequest,
    claims: Result<Claims, ApiError>,
) -> LocalBoxFuture<'static, Result<CurrentUser, ApiError>> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .expect("AppState is registered")
        .clone();
    let open_route = open_without_second_factor(req.path());
    Box::pin(async move {
        let claims = claims?;
        let session = state
            .sessions
            .find(&state.pool, claims.sid)
            .await?
            .filter(|session| session.user_id == claims.sub)
            .ok_or_else(|| ApiError::Unauthorized {
                code: "session_ended",
                detail: "This session was signed out, or the account disabled; sign in again."
                    .into(),
            })?;
        let required = &state.settings.auth.mfa_required_roles;
        if !open_route
            && !session.second_factor
            && session.roles.iter().any(|role| required.contains(role))
        {
            return Err(ApiError::Forbidden {
                code: "mfa_enrollment_required",
                detail: "Your role needs a second factor: enroll one at /api/v1/me/mfa, or sign in again with it.".into(),
            });
        }
        Ok(CurrentUser {
            id: claims.sub,
            roles: session.roles,
            session: claims.sid,
        })
    })
}

fn invalid_token() -> ApiError {
    ApiError::Unauthorized {
        code: "invalid_token",
        detail: "The access token is invalid or has expired.".into(),
    }
}

/// The bearer token of the `Authorization` header, whichever kind it is.
pub fn bearer_token(req: &HttpRequest) -> Result<&str, ApiError> {
    let header =
        req.headers()
            .get(header::AUTHORIZATION)
            .ok_or_else(|| ApiError::Unauthorized {
                code: "unauthenticated",
                detail: "This route needs a bearer access token.".into(),
            })?;
    let value = header.to_str().map_err(|_| invalid_token())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(invalid_token)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(invalid_token());
    }
    Ok(token.trim())
}

/// The header in which a gate device sends the access token of the gate agent signed in on it.
pub const GATE_AGENT_HEADER: &str = "x-gate-agent";

/// The gate agent named by the [`GATE_AGENT_HEADER`] of a device's request, checked as a gate
/// agent's bearer token is (session live, second factor where the role needs one, role held);
/// `None` when the header is absent. Its token is the bare access token (`Bearer ` allowed).
pub fn gate_agent_on_device(
    req: &HttpRequest,
) -> Option<LocalBoxFuture<'static, Result<Require<GateAgent>, ApiError>>> {
    let value = req.headers().get(GATE_AGENT_HEADER)?;
    let invalid = || ApiError::Unauthorized {
        code: "invalid_gate_agent_token",
        detail: "The X-Gate-Agent header holds no valid access token of a gate agent.".into(),
    };
    let claims = value.to_str().map_err(|_| invalid()).and_then(|value| {
        let token = value
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map_or(value, |(_, token)| token)
            .trim();
        state(req).tokens.verify(token).map_err(|_| invalid())
    });
    let user = session_of(req, claims);
    Some(Box::pin(async move {
        let user = user.await?;
        Require::<GateAgent>::check(user).map_err(|_| ApiError::Forbidden {
            code: "gate_agent_required",
            detail: "The X-Gate-Agent header names someone who is not a gate agent.".into(),
        })
    }))
}

impl FromRequest for CurrentUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        authenticate(req)
    }
}

/// The caller if a bearer token was sent: for public routes that show more to some roles. A token
/// that is sent but invalid is still refused (401), never silently ignored.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<CurrentUser>);

impl MaybeUser {
    pub fn is_organizer(&self) -> bool {
        self.0.as_ref().is_some_and(CurrentUser::is_organizer)
    }
}

impl FromRequest for MaybeUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if !req.headers().contains_key(header::AUTHORIZATION) {
            return Box::pin(ready(Ok(MaybeUser(None))));
        }
        let user = authenticate(req);
        Box::pin(async move { Ok(MaybeUser(Some(user.await?))) })
    }
}

/// A set of roles any one of which grants access.
pub trait RoleSet {
    const ROLES: &'static [Role];
}

/// Platform operators.
pub struct Admin;
impl RoleSet for Admin {
    const ROLES: &'static [Role] = &[Role::Admin];
}

/// The accreditation office, and admins.
pub struct Organizer;
impl RoleSet for Organizer {
    const ROLES: &'static [Role] = &[Role::Admin, Role::Organizer];
}

/// Security staff at the entrances, and admins (who may do everything).
pub struct GateAgent;
impl RoleSet for GateAgent {
    const ROLES: &'static [Role] = &[Role::Admin, Role::GateAgent];
}

/// The security services' liaison. Admins are left out on purpose: clearing people is the host
/// state's decision, not the platform operators'.
pub struct VettingOfficer;
impl RoleSet for VettingOfficer {
    const ROLES: &'static [Role] = &[Role::VettingOfficer];
}

/// An authenticated caller holding one of the roles of `R`; others get 403.
pub struct Require<R: RoleSet> {
    pub user: CurrentUser,
    roles: PhantomData<R>,
}

impl<R: RoleSet> Deref for Require<R> {
    type Target = CurrentUser;
    fn deref(&self) -> &CurrentUser {
        &self.user
    }
}

impl<R: RoleSet> Require<R> {
    /// `user`, if they hold one of the roles of `R`.
    fn check(user: CurrentUser) -> Result<Self, ApiError> {
        if user.roles.iter().any(|role| R::ROLES.contains(role)) {
            Ok(Require {
                user,
                roles: PhantomData,
            })
        } else {
            Err(ApiError::Forbidden {
                code: "forbidden",
                detail: "Your role does not allow this.".into(),
            })
        }
    }
}

impl<R: RoleSet> FromRequest for Require<R> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let user = authenticate(req);
        Box::pin(async move { Self::check(user.await?) })
    }
}

/// The caller's IP: the peer address, or the proxy's forwarded one when configured to trust it.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    pub fn as_string(&self) -> Option<String> {
        self.0.map(|ip| ip.to_string())
    }
}

impl FromRequest for ClientIp {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ip = if state(req).settings.rate_limits.trust_forwarded_for {
            // The rightmost address is the one our own proxy appended; those left of it are
            // whatever the client chose to send.
            req.headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|list| list.rsplit(',').next())
                .and_then(|last| last.trim().parse::<IpAddr>().ok())
                .or_else(|| req.peer_addr().map(|addr| addr.ip()))
        } else {
            req.peer_addr().map(|addr| addr.ip())
        };
        ready(Ok(ClientIp(ip)))
    }
}
