//! `POST /api/v1/invitations/{token}/accept`: a delegation's lead accepts the emailed
//! invitation. Without an account they get one (verified: the link proves the address); with
//! an account they must be signed in as it, and the `delegation_lead` role is added.

use actix_web::{HttpResponse, post, web};
use chrono::Utc;
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::store::{self, DelegationChanges, Invitation};
use super::{DelegationStatus, DelegationView};
use crate::audit::AuditEntry;
use crate::auth::extract::{ClientIp, MaybeUser};
use crate::auth::new_password::NewPassword;
use crate::auth::password;
use crate::body::Body;
use crate::error::{ApiError, ApiResult, Problem, Validator};
use crate::state::AppState;
use crate::users::store::{self as users, NewUser};
use crate::users::{FullName, Locale, Role, UserView};

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(accept);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitationRequest {
    /// Required when the lead has no account yet.
    #[schema(example = "Col. Emre Aydın", min_length = 1, max_length = 200)]
    full_name: Option<String>,
    /// Required when the lead has no account yet (12 to 128 characters).
    #[schema(min_length = 12, max_length = 128)]
    password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedInvitation {
    pub user: UserView,
    pub delegation: DelegationView,
}

fn check(invitation: Option<Invitation>) -> ApiResult<Invitation> {
    let gone = |code: &'static str, detail: &str| ApiError::Gone {
        code,
        detail: detail.into(),
    };
    let invitation = invitation.ok_or_else(|| ApiError::NotFound {
        code: "invitation_not_found",
        detail: "No invitation has this link.".into(),
    })?;
    if invitation.used_at.is_some() {
        return Err(gone(
            "invitation_used",
            "This invitation was accepted already.",
        ));
    }
    if invitation.voided_at.is_some() {
        return Err(gone(
            "invitation_voided",
            "A newer invitation replaced this link; use the latest email.",
        ));
    }
    if invitation.expires_at <= Utc::now() {
        return Err(gone(
            "invitation_expired",
            "This invitation has expired; ask the organizers for a new one.",
        ));
    }
    Ok(invitation)
}

/// Accept a delegation invitation.
#[utoipa::path(
    tag = "delegations",
    security((), ("bearer" = [])),
    params(("token" = String, Path, description = "The token of the emailed link")),
    request_body = AcceptInvitationRequest,
    responses(
        (status = 201, description = "Account created for the lead", body = AcceptedInvitation),
        (status = 200, description = "Role added to the lead's existing account", body = AcceptedInvitation),
        (status = 401, description = "The lead has an account: sign in as it first (`sign_in_required`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Signed in as another account (`wrong_account`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown link (`invitation_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Used, voided or expired link (`invitation_used`, `invitation_voided`, `invitation_expired`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/invitations/{token}/accept")]
pub async fn accept(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    ip: ClientIp,
    token: web::Path<String>,
    body: Body<AcceptInvitationRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.read()?;
    let mut conn = state.pool.get().await?;
    // Look before the transaction, so that a new password is hashed without holding locks;
    // the transaction checks again on locked rows.
    let invitation = check(store::find_invitation(&mut conn, &token, false).await?)?;
    let delegation = store::find_by_id(&mut conn, invitation.delegation_id).await?;
    // The purge deletes invitations with the address, so a live link always has one.
    let lead_email = delegation.lead_email.clone().ok_or_else(ApiError::purged)?;
    let existing = users::find_by_email(&mut conn, &lead_email).await?;
    let new_account = match &existing {
        Some(account) => match &viewer.0 {
            None => {
                return Err(ApiError::Unauthorized {
                    code: "sign_in_required",
                    detail: "This address has an account: sign in as it, then accept.".into(),
                });
            }
            Some(me) if me.id != account.id => {
                return Err(ApiError::Forbidden {
                    code: "wrong_account",
                    detail: "This invitation is for another account.".into(),
                });
            }
            Some(_) => None,
        },
        None => {
            let mut v = Validator::default();
            let name = v.check(
                "full_name",
                FullName::parse(body.full_name.as_deref().unwrap_or_default()),
            );
            let password = v.check(
                "password",
                NewPassword::parse(
                    body.password.as_deref().unwrap_or_default(),
                    Some(&lead_email),
                ),
            );
            let (name, password) = v.finish(|| Some((name?, password?)))?;
            Some((name, password::hash(password.into_secret()).await?))
        }
    };
    let created = new_account.is_some();
    let accepted = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let invitation = check(store::find_invitation(conn, &token, true).await?)?;
            let delegation = store::lock(conn, invitation.delegation_id).await?;
            let user = match (&new_account, &existing) {
                (Some((name, hash)), _) => {
                    let mut new_user = NewUser::new(
                        &lead_email,
                        name.as_str(),
                        Locale::default(),
                        &[Role::DelegationLead],
                    );
                    new_user.password_hash = Some(hash);
                    new_user.email_verified_at = Some(Utc::now());
                    users::insert(conn, &new_user).await?
                }
                (None, Some(account)) => {
                    users::grant_role(conn, account.id, Role::DelegationLead).await?
                }
                (None, None) => {
                    return Err(ApiError::Internal(anyhow::anyhow!(
                        "no account to accept with"
                    )));
                }
            };
            let status = match delegation.status() {
                DelegationStatus::Closed => DelegationStatus::Closed,
                _ => DelegationStatus::Active,
            };
            let delegation = store::update(
                conn,
                delegation.id,
                DelegationChanges {
                    lead_id: Some(Some(user.id)),
                    status: Some(status.as_str()),
                    ..Default::default()
                },
            )
            .await?;
            store::mark_invitation_used(conn, invitation.id).await?;
            AuditEntry::new(
                "delegation.invitation_accepted",
                "delegation",
                Some(delegation.id),
            )
            .by(user.id, ip.as_string().as_deref())
            .details(serde_json::json!({ "account_created": created }))
            .record(conn)
            .await?;
            Ok(AcceptedInvitation {
                user: user.into(),
                delegation: delegation.into(),
            })
        })
        .await?;
    Ok(if created {
        HttpResponse::Created().json(accepted)
    } else {
        HttpResponse::Ok().json(accepted)
    })
}
