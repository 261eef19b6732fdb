//! An access token is only as good as its session. Each request checks (through a cache of a
//! few seconds) that the token's session still has a live refresh token and that its account is
//! not disabled, and takes the account's roles from the database: signing out, a password reset,
//! disabling an account or changing its roles take effect within seconds, not at token expiry.
//! It also tells whether the session passed the account's second factor (at sign-in, or by
//! enrolling in it): the extractor limits staff sessions that did not.

use std::time::Duration;

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::db::DbPool;
use crate::db::schema::{mfa_factors, mfa_verified_sessions, refresh_tokens, users};
use crate::error::ApiResult;
use crate::users::Role;

#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: Uuid,
    pub roles: Vec<Role>,
    /// The account has a confirmed factor and this session passed it.
    pub second_factor: bool,
}

/// The account, its roles, the session's proof of the second factor and the account's factor.
type SessionRow = (Uuid, Vec<Role>, Option<Uuid>, Option<Uuid>);

pub struct Sessions {
    cache: moka::future::Cache<Uuid, Option<Session>>,
}

impl Default for Sessions {
    fn default() -> Self {
        Self {
            cache: moka::future::Cache::builder()
                .max_capacity(200_000)
                .time_to_live(Duration::from_secs(10))
                .build(),
        }
    }
}

impl Sessions {
    /// The live session `id`, or `None` when it ended or its account is disabled.
    pub async fn find(&self, pool: &DbPool, id: Uuid) -> ApiResult<Option<Session>> {
        if let Some(known) = self.cache.get(&id).await {
            return Ok(known);
        }
        let mut conn = pool.get().await?;
        let row: Option<SessionRow> = refresh_tokens::table
            .inner_join(users::table)
            .left_join(
                mfa_verified_sessions::table
                    .on(mfa_verified_sessions::family_id.eq(refresh_tokens::family_id)),
            )
            .left_join(
                mfa_factors::table.on(mfa_factors::user_id
                    .eq(users::id)
                    .and(mfa_factors::confirmed_at.is_not_null())),
            )
            .filter(refresh_tokens::family_id.eq(id))
            .filter(refresh_tokens::revoked_at.is_null())
            .filter(refresh_tokens::expires_at.gt(Utc::now()))
            .filter(users::disabled_at.is_null())
            .select((
                users::id,
                users::roles,
                mfa_verified_sessions::family_id.nullable(),
                mfa_factors::user_id.nullable(),
            ))
            .first(&mut conn)
            .await
            .optional()?;
        let session = row.map(|(user_id, roles, verified, factor)| Session {
            user_id,
            roles,
            second_factor: verified.is_some() && factor.is_some(),
        });
        self.cache.insert(id, session.clone()).await;
        Ok(session)
    }

    /// Drops what this instance remembers; after a change that ends sessions or alters roles,
    /// `AppState::sessions_changed` does it on every instance.
    pub fn forget_here(&self) {
        self.cache.invalidate_all();
    }
}
