//! Checking a presented second factor: a TOTP code (accepted once per time step, recorded in
//! PostgreSQL so that several instances agree) or one of the account's recovery codes
//! (argon2id hashes, each usable once).

use secrecy::SecretString;
use uuid::Uuid;

use super::mfa_store as store;
use super::password::{self, Verdict};
use super::totp;
use crate::db::DbPool;
use crate::error::{ApiError, ApiResult};
use crate::participants::documents::DocumentVault;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    Totp,
    RecoveryCode,
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Opens the secret of an account's factor (confirmed or still enrolling).
pub fn open_secret(vault: &DocumentVault, factor: &store::Factor) -> ApiResult<Vec<u8>> {
    Ok(vault.open_secret(&store::secret_context(factor.user_id), &factor.sealed())?)
}

/// Whether `typed` is a valid, unused code of the account's confirmed factor; an accepted code
/// is used up. No pooled connection is held while recovery codes are hashed.
pub async fn accept(
    pool: &DbPool,
    vault: &DocumentVault,
    user_id: Uuid,
    typed: &str,
) -> ApiResult<Option<Accepted>> {
    let mut conn = pool.get().await?;
    let Some(factor) = store::find(&mut conn, user_id)
        .await?
        .filter(|f| f.confirmed_at.is_some())
    else {
        return Ok(None);
    };
    if let Some(code) = totp::as_totp_code(typed) {
        let secret = open_secret(vault, &factor)?;
        let Some(step) = totp::matching_step(&secret, &code, unix_now()) else {
            return Ok(None);
        };
        let fresh = store::record_used_step(&mut conn, user_id, step).await?;
        return Ok(fresh.then_some(Accepted::Totp));
    }
    let candidates = store::unused_recovery_codes(&mut conn, user_id).await?;
    drop(conn);
    let typed = totp::normalize_recovery_code(typed);
    for (id, hash) in candidates {
        if password::verify(SecretString::from(typed.as_str()), hash).await? != Verdict::Mismatch {
            let mut conn = pool.get().await?;
            let unused = store::use_recovery_code(&mut conn, id).await?;
            return Ok(unused.then_some(Accepted::RecoveryCode));
        }
    }
    Ok(None)
}

/// Hashes fresh recovery codes for storage; returns (clear codes to show once, hashes).
pub async fn new_recovery_codes() -> ApiResult<(Vec<String>, Vec<String>)> {
    let codes: Vec<String> = (0..totp::RECOVERY_CODES)
        .map(|_| totp::new_recovery_code())
        .collect();
    let mut hashes = Vec::with_capacity(codes.len());
    for code in &codes {
        let normalized = totp::normalize_recovery_code(code);
        hashes.push(password::hash(SecretString::from(normalized)).await?);
    }
    Ok((codes, hashes))
}

pub fn wrong_code() -> ApiError {
    ApiError::Unauthorized {
        code: "invalid_mfa_code",
        detail: "The code is wrong or was already used, the sign-in expired, or the account cannot sign in now.".into(),
    }
}
