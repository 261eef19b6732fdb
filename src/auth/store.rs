//! Queries for authentication: one-time email links, refresh-token sessions, failed logins.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::tokens::{hash_opaque, opaque_token};
use crate::db::schema::{email_tokens, login_failures, refresh_tokens};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    VerifyEmail,
    ResetPassword,
}

impl LinkPurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
        }
    }
}

/// Issues a one-time link token, voiding the user's earlier unused ones of the same purpose.
pub async fn issue_link(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    purpose: LinkPurpose,
    ttl: Duration,
) -> QueryResult<String> {
    diesel::delete(
        email_tokens::table
            .filter(email_tokens::user_id.eq(user_id))
            .filter(email_tokens::purpose.eq(purpose.as_str()))
            .filter(email_tokens::used_at.is_null()),
    )
    .execute(conn)
    .await?;
    let (token, hash) = opaque_token();
    diesel::insert_into(email_tokens::table)
        .values((
            email_tokens::id.eq(Uuid::now_v7()),
            email_tokens::user_id.eq(user_id),
            email_tokens::purpose.eq(purpose.as_str()),
            email_tokens::token_hash.eq(hash),
            email_tokens::expires_at.eq(Utc::now() + ttl),
        ))
        .execute(conn)
        .await?;
    Ok(token)
}

/// Uses up a link token in one statement (so two clicks cannot both succeed); returns its user.
pub async fn consume_link(
    conn: &mut AsyncPgConnection,
    purpose: LinkPurpose,
    token: &str,
) -> QueryResult<Option<Uuid>> {
    diesel::update(
        email_tokens::table
            .filter(email_tokens::token_hash.eq(hash_opaque(token)))
            .filter(email_tokens::purpose.eq(purpose.as_str()))
            .filter(email_tokens::used_at.is_null())
            .filter(email_tokens::expires_at.gt(Utc::now())),
    )
    .set(email_tokens::used_at.eq(Some(Utc::now())))
    .returning(email_tokens::user_id)
    .get_result(conn)
    .await
    .optional()
}

/// The user a link token would act for, without using it up.
pub async fn peek_link(
    conn: &mut AsyncPgConnection,
    purpose: LinkPurpose,
    token: &str,
) -> QueryResult<Option<Uuid>> {
    email_tokens::table
        .filter(email_tokens::token_hash.eq(hash_opaque(token)))
        .filter(email_tokens::purpose.eq(purpose.as_str()))
        .filter(email_tokens::used_at.is_null())
        .filter(email_tokens::expires_at.gt(Utc::now()))
        .select(email_tokens::user_id)
        .first(conn)
        .await
        .optional()
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens, check_for_backend(diesel::pg::Pg))]
pub struct RefreshToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub family_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Stores a new refresh token of `family` and returns its clear value.
pub async fn issue_refresh(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    family: Uuid,
    ttl: Duration,
) -> QueryResult<String> {
    let (token, hash) = opaque_token();
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(Uuid::now_v7()),
            refresh_tokens::user_id.eq(user_id),
            refresh_tokens::family_id.eq(family),
            refresh_tokens::token_hash.eq(hash),
            refresh_tokens::expires_at.eq(Utc::now() + ttl),
        ))
        .execute(conn)
        .await?;
    Ok(token)
}

/// Finds a refresh token by its clear value and locks it, so that concurrent uses serialize.
pub async fn lock_refresh(
    conn: &mut AsyncPgConnection,
    token: &str,
) -> QueryResult<Option<RefreshToken>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash_opaque(token)))
        .select(RefreshToken::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn revoke_refresh(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    diesel::update(refresh_tokens::table.find(id))
        .filter(refresh_tokens::revoked_at.is_null())
        .set(refresh_tokens::revoked_at.eq(Some(Utc::now())))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn revoke_family(conn: &mut AsyncPgConnection, family: Uuid) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(Some(Utc::now())))
    .execute(conn)
    .await
}

/// Ends every session of the user, but the one named in `keep` (the caller's own).
pub async fn revoke_sessions(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    keep: Option<Uuid>,
) -> QueryResult<usize> {
    let keep = keep.unwrap_or_else(Uuid::nil);
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::family_id.ne(keep))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(Some(Utc::now())))
    .execute(conn)
    .await
}

/// Records a failed login and returns how many the user had within `window`.
pub async fn record_login_failure(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    client_ip: Option<&str>,
    window: Duration,
) -> QueryResult<i64> {
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::id.eq(Uuid::now_v7()),
            login_failures::user_id.eq(user_id),
            login_failures::client_ip.eq(client_ip),
        ))
        .execute(conn)
        .await?;
    login_failures::table
        .filter(login_failures::user_id.eq(user_id))
        .filter(login_failures::created_at.gt(Utc::now() - window))
        .count()
        .get_result(conn)
        .await
}

pub async fn clear_login_failures(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::user_id.eq(user_id)))
        .execute(conn)
        .await
        .map(drop)
}
