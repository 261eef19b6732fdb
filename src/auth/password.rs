//! Password hashing with argon2id. Hashing costs tens of milliseconds of CPU on purpose, so it
//! never runs on an executor thread: it runs on a pool of its own, one thread per core, at a
//! lower scheduling priority — logins use every idle cycle, yet never delay cheap requests.

use std::sync::OnceLock;

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use secrecy::{ExposeSecret, SecretString};

use crate::error::{ApiError, ApiResult};

fn pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(std::thread::available_parallelism().map_or(2, usize::from))
            .thread_name(|i| format!("argon2-{i}"))
            .start_handler(|_| lower_thread_priority())
            .build()
            .expect("the hashing pool starts")
    })
}

/// Nice 10 for the calling thread only (Linux schedules threads individually).
fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain syscalls on the current thread, no memory is shared.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10);
    }
}

/// Hashes waiting or running at most, per core: about 0.7 s of work. Beyond that a login burst
/// is refused with 503 rather than queued until every client times out.
const QUEUED_PER_CORE: usize = 32;

/// Places for hashes waiting or running: [`QUEUED_PER_CORE`] per core.
fn queue_capacity() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from) * QUEUED_PER_CORE
}

fn queue() -> &'static tokio::sync::Semaphore {
    static QUEUE: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    QUEUE.get_or_init(|| tokio::sync::Semaphore::new(queue_capacity()))
}

/// Hashes waiting or running now, and the most there may be (for the metrics).
pub fn queue_depth() -> (usize, usize) {
    let capacity = queue_capacity();
    (
        capacity.saturating_sub(queue().available_permits()),
        capacity,
    )
}

/// Runs `job` on the hashing pool and waits for it without blocking the executor.
async fn on_hashing_pool<T: Send + 'static>(
    job: impl FnOnce() -> T + Send + 'static,
) -> ApiResult<T> {
    let _place = queue().try_acquire().map_err(|_| {
        ApiError::Unavailable(anyhow::anyhow!("the password hashing queue is full"))
    })?;
    let (done, result) = tokio::sync::oneshot::channel();
    pool().spawn(move || {
        let _ = done.send(job());
    });
    result
        .await
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("hashing job panicked")))
}

/// OWASP's argon2id recommendation: m = 19456 KiB, t = 2, p = 1 (argon2's defaults).
fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

pub async fn hash(password: SecretString) -> ApiResult<String> {
    on_hashing_pool(move || {
        hasher()
            .hash_password(password.expose_secret().as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("argon2 failed: {e}")))
    })
    .await?
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Mismatch,
    /// Matches; `rehash` when the stored hash was made with weaker parameters than today's.
    Match {
        rehash: bool,
    },
}

pub async fn verify(password: SecretString, stored: String) -> ApiResult<Verdict> {
    on_hashing_pool(move || {
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored hash unreadable: {e}")))?;
        if hasher()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_err()
        {
            return Ok(Verdict::Mismatch);
        }
        Ok(Verdict::Match {
            rehash: is_weaker_than_current(&parsed),
        })
    })
    .await?
}

fn is_weaker_than_current(hash: &PasswordHash) -> bool {
    let current = Params::default();
    match Params::try_from(hash) {
        Ok(params) => {
            hash.algorithm.as_str() != "argon2id"
                || params.m_cost() < current.m_cost()
                || params.t_cost() < current.t_cost()
                || params.p_cost() < current.p_cost()
        }
        Err(_) => true,
    }
}

/// Burns the time of one verification, so that an unknown account answers as slowly as a
/// known one (no account enumeration through timing).
pub async fn verify_dummy(password: SecretString) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let stored = match DUMMY.get() {
        Some(hash) => hash.clone(),
        None => match hash(SecretString::from("dummy password for timing")).await {
            Ok(hash) => DUMMY.get_or_init(|| hash).clone(),
            Err(_) => return,
        },
    };
    let _ = verify(password, stored).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trip_and_rehash_detection() {
        let stored = hash(SecretString::from("correct horse battery"))
            .await
            .unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(
            verify(SecretString::from("correct horse battery"), stored.clone())
                .await
                .unwrap(),
            Verdict::Match { rehash: false }
        );
        assert_eq!(
            verify(SecretString::from("wrong"), stored).await.unwrap(),
            Verdict::Mismatch
        );
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        )
        .hash_password(b"old password")
        .unwrap()
        .to_string();
        assert_eq!(
            verify(SecretString::from("old password"), weak)
                .await
                .unwrap(),
            Verdict::Match { rehash: true }
        );
    }
}
