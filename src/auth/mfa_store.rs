//! Queries of the second factor: the sealed TOTP secret, recovery codes, codes already used,
//! sign-in challenges and the sessions that passed the factor.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::tokens::{hash_opaque, opaque_token};
use crate::db::schema::{
    mfa_challenges, mfa_factors, mfa_recovery_codes, mfa_used_codes, mfa_verified_sessions,
};
use crate::participants::documents::SealedSecret;

/// What the TOTP secret of `user_id` is sealed to: it opens as nothing else.
pub fn secret_context(user_id: Uuid) -> Vec<u8> {
    [b"mfa-totp:".as_slice(), user_id.as_bytes()].concat()
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = mfa_factors, check_for_backend(diesel::pg::Pg))]
pub struct Factor {
    pub user_id: Uuid,
    secret_ciphertext: Vec<u8>,
    secret_nonce: Vec<u8>,
    secret_key_id: String,
    /// None while enrolling.
    pub confirmed_at: Option<DateTime<Utc>>,
}

impl Factor {
    pub fn sealed(&self) -> SealedSecret {
        SealedSecret {
            ciphertext: self.secret_ciphertext.clone(),
            nonce: self.secret_nonce.clone(),
            key_id: self.secret_key_id.clone(),
        }
    }
}

pub async fn find(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<Option<Factor>> {
    mfa_factors::table
        .find(user_id)
        .select(Factor::as_select())
        .first(conn)
        .await
        .optional()
}

/// Starts (or starts over) an enrollment: an unconfirmed factor with this secret. A confirmed
/// factor is never replaced: then nothing is written and 0 is returned.
pub async fn start_enrollment(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    sealed: &SealedSecret,
) -> QueryResult<usize> {
    diesel::delete(
        mfa_factors::table
            .find(user_id)
            .filter(mfa_factors::confirmed_at.is_null()),
    )
    .execute(conn)
    .await?;
    diesel::insert_into(mfa_factors::table)
        .values((
            mfa_factors::user_id.eq(user_id),
            mfa_factors::secret_ciphertext.eq(&sealed.ciphertext),
            mfa_factors::secret_nonce.eq(&sealed.nonce),
            mfa_factors::secret_key_id.eq(&sealed.key_id),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
}

/// Switches the factor on with these recovery code hashes; false when it was not enrolling.
pub async fn confirm(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    recovery_hashes: &[String],
) -> QueryResult<bool> {
    let confirmed = diesel::update(mfa_factors::table.find(user_id))
        .filter(mfa_factors::confirmed_at.is_null())
        .set(mfa_factors::confirmed_at.eq(Some(Utc::now())))
        .execute(conn)
        .await?;
    if confirmed == 0 {
        return Ok(false);
    }
    if recovery_hashes.is_empty() {
        return Ok(true);
    }
    let rows: Vec<_> = recovery_hashes
        .iter()
        .map(|hash| {
            (
                mfa_recovery_codes::id.eq(Uuid::now_v7()),
                mfa_recovery_codes::user_id.eq(user_id),
                mfa_recovery_codes::code_hash.eq(hash),
            )
        })
        .collect();
    diesel::insert_into(mfa_recovery_codes::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(true)
}

/// Removes the factor (its recovery codes go with it) and the sessions' proof of it; false
/// when there was none.
pub async fn remove(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<bool> {
    diesel::delete(mfa_verified_sessions::table.filter(mfa_verified_sessions::user_id.eq(user_id)))
        .execute(conn)
        .await?;
    let removed = diesel::delete(mfa_factors::table.find(user_id))
        .execute(conn)
        .await?;
    Ok(removed > 0)
}

/// The unused recovery codes of the account: (id, argon2 hash).
pub async fn unused_recovery_codes(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> QueryResult<Vec<(Uuid, String)>> {
    mfa_recovery_codes::table
        .filter(mfa_recovery_codes::user_id.eq(user_id))
        .filter(mfa_recovery_codes::used_at.is_null())
        .select((mfa_recovery_codes::id, mfa_recovery_codes::code_hash))
        .load(conn)
        .await
}

/// Uses up a recovery code; false when another request used it first.
pub async fn use_recovery_code(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::update(mfa_recovery_codes::table.find(id))
        .filter(mfa_recovery_codes::used_at.is_null())
        .set(mfa_recovery_codes::used_at.eq(Some(Utc::now())))
        .execute(conn)
        .await
        .map(|n| n == 1)
}

/// Records that the code of `step` was used; false when it already was (a replay, here or on
/// another instance). Steps long past are forgotten: codes older than the drift window never
/// match again anyway.
pub async fn record_used_step(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    step: i64,
) -> QueryResult<bool> {
    diesel::delete(
        mfa_used_codes::table
            .filter(mfa_used_codes::user_id.eq(user_id))
            .filter(mfa_used_codes::used_at.lt(Utc::now() - Duration::minutes(10))),
    )
    .execute(conn)
    .await?;
    diesel::insert_into(mfa_used_codes::table)
        .values((
            mfa_used_codes::user_id.eq(user_id),
            mfa_used_codes::time_step.eq(step),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(|n| n == 1)
}

/// A sign-in waiting for its second factor; returns the challenge's clear value.
pub async fn issue_challenge(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    ttl: Duration,
) -> QueryResult<String> {
    diesel::delete(mfa_challenges::table.filter(mfa_challenges::expires_at.lt(Utc::now())))
        .execute(conn)
        .await?;
    let (token, hash) = opaque_token();
    diesel::insert_into(mfa_challenges::table)
        .values((
            mfa_challenges::id.eq(Uuid::now_v7()),
            mfa_challenges::token_hash.eq(hash),
            mfa_challenges::user_id.eq(user_id),
            mfa_challenges::expires_at.eq(Utc::now() + ttl),
        ))
        .execute(conn)
        .await?;
    Ok(token)
}

/// The account of a live, unused challenge.
pub async fn challenge_user(
    conn: &mut AsyncPgConnection,
    token: &str,
) -> QueryResult<Option<Uuid>> {
    mfa_challenges::table
        .filter(mfa_challenges::token_hash.eq(hash_opaque(token)))
        .filter(mfa_challenges::used_at.is_null())
        .filter(mfa_challenges::expires_at.gt(Utc::now()))
        .select(mfa_challenges::user_id)
        .first(conn)
        .await
        .optional()
}

/// Uses up a challenge in one statement; false when it was used meanwhile.
pub async fn consume_challenge(conn: &mut AsyncPgConnection, token: &str) -> QueryResult<bool> {
    diesel::update(
        mfa_challenges::table
            .filter(mfa_challenges::token_hash.eq(hash_opaque(token)))
            .filter(mfa_challenges::used_at.is_null())
            .filter(mfa_challenges::expires_at.gt(Utc::now())),
    )
    .set(mfa_challenges::used_at.eq(Some(Utc::now())))
    .execute(conn)
    .await
    .map(|n| n == 1)
}

/// Marks session `family` as having passed the second factor.
pub async fn mark_session_verified(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    family: Uuid,
) -> QueryResult<()> {
    diesel::insert_into(mfa_verified_sessions::table)
        .values((
            mfa_verified_sessions::family_id.eq(family),
            mfa_verified_sessions::user_id.eq(user_id),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(drop)
}
