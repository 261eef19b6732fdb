//! `Idempotency-Key` on creating requests: a client that sends a POST again
//! with the key of an earlier one — because the answer got lost, say — gets that first answer
//! back, marked `Idempotent-Replayed: true`, and nothing runs twice.
//!
//! A key belongs to its caller (the user id of the bearer token, or `anonymous`) and lives
//! `idempotency.ttl_hours`. The middleware reserves it, runs the handler, then stores the answer;
//! it holds no pooled connection while the handler runs, so a slow handler cannot starve the pool.
//! Answers a retry could fix (5xx, 401, 403, 404, 409, 410, 429) are not stored: their key is
//! released and the retry runs for real. Callers without a token may use keys on the two routes
//! open to them (register, accept an invitation) only.

use actix_web::body::{self, BodySize, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, Data};
use actix_web::{Error, HttpMessage, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;
use tokio_util::sync::CancellationToken;

use crate::auth::extract::MaybeUser;
use crate::body::read_limited;
use crate::config::Settings;
use crate::db::DbPool;
use crate::db::schema::idempotency_keys;
use crate::error::ApiError;

pub const KEY_HEADER: HeaderName = HeaderName::from_static("idempotency-key");
pub const REPLAYED_HEADER: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The principal of callers without a bearer token: they share one key space, so their keys
/// should be random (a UUID).
const ANONYMOUS: &str = "anonymous";
/// The covered routes that callers without a token may use.
const OPEN_TO_ANONYMOUS: [&str; 2] = [
    "/api/v1/auth/register",
    "/api/v1/invitations/{token}/accept",
];
const IN_PROGRESS: &str = "in_progress";
const COMPLETED: &str = "completed";
/// Request and response bodies are buffered up to this size. A larger request is refused (every
/// JSON body limit is far below); a larger answer is passed on without being stored.
const MAX_BUFFERED: usize = 1024 * 1024;
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Whether `POST {route}` takes an `Idempotency-Key`. The middleware and the OpenAPI document
/// both ask here, so that they cannot disagree.
pub fn covers(route: &str) -> bool {
    route.starts_with("/api/v1/")
        // Login, refresh and reset answers hold tokens, which must never sit in a table.
        && (!route.starts_with("/api/v1/auth/") || route == "/api/v1/auth/register")
        // A scan carries its own `scan_id` for the same purpose.
        && route != "/api/v1/events/{event}/scans"
        // A new webhook endpoint's answer holds its signing secret, shown once: never stored.
        && route != "/api/v1/events/{event}/webhooks"
        // Enrolling answers the TOTP secret, confirming the recovery codes: never stored.
        && !route.starts_with("/api/v1/me/mfa")
}

/// What the middleware needs, prepared once: the pool its keys live in and its settings.
pub struct Idempotency {
    pool: DbPool,
    fingerprint_key: Hmac<Sha256>,
    ttl: chrono::Duration,
    in_progress_timeout: chrono::Duration,
}

impl Idempotency {
    pub fn new(pool: DbPool, settings: &Settings) -> Self {
        // A key of its own, derived from the JWT secret: a register body holds a password, and a
        // bare SHA-256 of it would let whoever reads the table test guesses at full speed.
        let mut derive = <Hmac<Sha256> as Mac>::new_from_slice(
            settings.auth.jwt_secret.expose_secret().as_bytes(),
        )
        .expect("HMAC takes any key");
        derive.update(b"bamex idempotency fingerprint v1");
        let key = derive.finalize().into_bytes();
        Self {
            pool,
            fingerprint_key: Mac::new_from_slice(&key).expect("HMAC takes any key"),
            ttl: settings.idempotency.ttl(),
            in_progress_timeout: settings.idempotency.in_progress_timeout(),
        }
    }

    /// Covers the concrete path as well as the body: the stored `path` is the route pattern.
    fn fingerprint(&self, path: &str, body: &[u8]) -> Vec<u8> {
        let mut mac = self.fingerprint_key.clone();
        // Length-prefixed, so that no other path and body split gives the same input.
        mac.update(&(path.len() as u64).to_be_bytes());
        mac.update(path.as_bytes());
        mac.update(body);
        mac.finalize().into_bytes().to_vec()
    }
}

/// One request with a key, as it is reserved.
#[derive(Insertable)]
#[diesel(table_name = idempotency_keys)]
struct Attempt {
    principal: String,
    key: String,
    method: String,
    path: String,
    fingerprint: Vec<u8>,
}

/// What an earlier request with the same key left.
#[derive(Queryable, Selectable)]
#[diesel(table_name = idempotency_keys, check_for_backend(diesel::pg::Pg))]
struct Earlier {
    method: String,
    path: String,
    fingerprint: Vec<u8>,
    state: String,
    status: Option<i16>,
    content_type: Option<String>,
    body: Option<Vec<u8>>,
}

enum Reservation {
    /// The key is ours since this instant (which also tells our reservation from a later one).
    Ours(DateTime<Utc>),
    Taken(Earlier),
}

/// The middleware, on every request: only POSTs to a covered route with the header are handled.
pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    // The method and the header first: finding the route costs a walk of the router, and
    // most requests are not keyed POSTs.
    let keyed_post = req.method() == Method::POST && req.headers().contains_key(KEY_HEADER);
    let Some(route) = keyed_post
        .then(|| req.match_pattern())
        .flatten()
        .filter(|route| covers(route))
    else {
        return pass(req, next).await;
    };
    let principal = match req.extract::<MaybeUser>().await {
        Ok(MaybeUser(Some(user))) => user.id.to_string(),
        // Without a token, keys are kept only where signing in is not needed: elsewhere the
        // handler answers 401 anyway, and nobody should fill the table for free.
        Ok(MaybeUser(None)) if OPEN_TO_ANONYMOUS.contains(&route.as_str()) => ANONYMOUS.to_owned(),
        // No token, or an invalid or expired one: the handler answers as it always does.
        Ok(MaybeUser(None)) | Err(_) => return pass(req, next).await,
    };
    let keys = req
        .app_data::<Data<Idempotency>>()
        .expect("Idempotency is registered")
        .clone();
    let attempt = match prepare(&mut req, &keys, principal, route).await {
        Ok(attempt) => attempt,
        Err(e) => return Ok(req.error_response(e)),
    };
    match reserve(&keys, &attempt).await {
        Ok(Reservation::Ours(reserved_at)) => run(req, next, &keys, &attempt, reserved_at).await,
        Ok(Reservation::Taken(earlier)) => Ok(match answer_again(&attempt, earlier) {
            Ok(replay) => req.into_response(replay),
            Err(e) => req.error_response(e),
        }),
        Err(e) => Ok(req.error_response(e)),
    }
}

async fn pass(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

async fn prepare(
    req: &mut ServiceRequest,
    keys: &Idempotency,
    principal: String,
    route: String,
) -> Result<Attempt, ApiError> {
    let key = parse_key(req)?;
    let body = read_body(req).await?;
    Ok(Attempt {
        principal,
        key,
        method: req.method().to_string(),
        fingerprint: keys.fingerprint(req.path(), &body),
        path: route,
    })
}

/// One header of 1 to 255 printable ASCII characters.
fn parse_key(req: &ServiceRequest) -> Result<String, ApiError> {
    let mut values = req.headers().get_all(KEY_HEADER);
    let key = match (values.next(), values.next()) {
        (Some(value), None) => value.to_str().ok(),
        _ => None,
    };
    key.filter(|key| {
        (1..=255).contains(&key.len()) && key.bytes().all(|b| (b' '..=b'~').contains(&b))
    })
    .map(str::to_owned)
    .ok_or_else(invalid_key)
}

fn invalid_key() -> ApiError {
    ApiError::BadRequest {
        code: "invalid_idempotency_key",
        detail: "Idempotency-Key must be one header of 1 to 255 printable ASCII characters.".into(),
    }
}

fn reused() -> ApiError {
    ApiError::Unprocessable {
        code: "idempotency_key_reused",
        detail: "This Idempotency-Key was used for another request (other route, path or body); \
                 use a new key for a new request."
            .into(),
    }
}

/// The problems the middleware answers itself, for the OpenAPI document.
pub fn problems() -> [ApiError; 3] {
    [invalid_key(), in_progress(), reused()]
}

/// Reads the body to fingerprint it, then puts it back for the handler.
async fn read_body(req: &mut ServiceRequest) -> Result<Bytes, ApiError> {
    let body = read_limited(&mut req.take_payload(), MAX_BUFFERED).await?;
    req.set_payload(Payload::from(body.clone()));
    Ok(body)
}

fn this_key(attempt: &Attempt) -> (&str, &str) {
    (&attempt.principal, &attempt.key)
}

/// Takes the key with one `INSERT … ON CONFLICT DO NOTHING` (atomic: of two concurrent requests
/// one wins), or reads what the request that holds it left.
async fn reserve(keys: &Idempotency, attempt: &Attempt) -> Result<Reservation, ApiError> {
    use idempotency_keys::dsl as k;
    let mut conn = keys.pool.get().await?;
    // The earlier request may release the key between our insert and our read: try again then.
    for _ in 0..3 {
        let now = Utc::now();
        // An expired key is free again, and so is one whose request died with its server.
        diesel::delete(
            k::idempotency_keys.find(this_key(attempt)).filter(
                k::created_at.lt(now - keys.ttl).or(k::state
                    .eq(IN_PROGRESS)
                    .and(k::created_at.lt(now - keys.in_progress_timeout))),
            ),
        )
        .execute(&mut conn)
        .await?;
        let reserved = diesel::insert_into(k::idempotency_keys)
            .values((attempt, k::state.eq(IN_PROGRESS), k::created_at.eq(now)))
            .on_conflict_do_nothing()
            .returning(k::created_at)
            .get_result(&mut conn)
            .await
            .optional()?;
        if let Some(reserved_at) = reserved {
            return Ok(Reservation::Ours(reserved_at));
        }
        let earlier = k::idempotency_keys
            .find(this_key(attempt))
            .select(Earlier::as_select())
            .first(&mut conn)
            .await
            .optional()?;
        if let Some(earlier) = earlier {
            return Ok(Reservation::Taken(earlier));
        }
    }
    Err(in_progress())
}

fn in_progress() -> ApiError {
    ApiError::Conflict {
        code: "idempotency_in_progress",
        detail: "A request with this Idempotency-Key is still running; retry in a moment.".into(),
    }
}

/// The stored answer, when the earlier request was this same one and has finished.
fn answer_again(attempt: &Attempt, earlier: Earlier) -> Result<HttpResponse, ApiError> {
    if (&earlier.method, &earlier.path, &earlier.fingerprint)
        != (&attempt.method, &attempt.path, &attempt.fingerprint)
    {
        return Err(reused());
    }
    let (COMPLETED, Some(status), Some(body)) =
        (earlier.state.as_str(), earlier.status, earlier.body)
    else {
        return Err(in_progress());
    };
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or_else(|| anyhow::anyhow!("stored idempotent answer has status {status}"))?;
    let mut replay = HttpResponse::build(status);
    if let Some(content_type) = earlier.content_type {
        replay.insert_header((header::CONTENT_TYPE, content_type));
    }
    replay.insert_header((REPLAYED_HEADER, "true"));
    Ok(replay.body(body))
}

/// Answers a retry would get differently are not kept: server errors, conflicts (409, a
/// concurrent change may be gone by then) and rate limiting (429).
fn worth_keeping(status: StatusCode) -> bool {
    status.is_success()
        || (status.is_client_error()
            // Answers that change without the request changing: a token refreshed, a role
            // granted, an event published, a conflict gone, a limit reset.
            && ![
                StatusCode::UNAUTHORIZED,
                StatusCode::FORBIDDEN,
                StatusCode::NOT_FOUND,
                StatusCode::CONFLICT,
                StatusCode::GONE,
                StatusCode::TOO_MANY_REQUESTS,
            ]
            .contains(&status))
}

/// Runs the handler with the key reserved, then stores its answer or releases the key.
async fn run(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    keys: &Idempotency,
    attempt: &Attempt,
    reserved_at: DateTime<Utc>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let res = match next.call(req).await {
        Ok(res) => res,
        Err(e) => {
            settle(keys, attempt, reserved_at, None).await;
            return Err(e);
        }
    };
    let small = match res.response().body().size() {
        BodySize::None => true,
        BodySize::Sized(size) => size <= MAX_BUFFERED as u64,
        // Not buffered: it may be large, and nothing we store is ever a stream.
        BodySize::Stream => false,
    };
    if !(small && worth_keeping(res.status())) {
        settle(keys, attempt, reserved_at, None).await;
        return Ok(res.map_into_boxed_body());
    }
    let (request, response) = res.into_parts();
    let (head, body) = response.into_parts();
    let body = match body::to_bytes(body).await {
        Ok(body) => body,
        Err(e) => {
            settle(keys, attempt, reserved_at, None).await;
            let cause = anyhow::anyhow!("could not read the answer: {}", e.into());
            return Err(ApiError::Internal(cause).into());
        }
    };
    let answer = Answer {
        status: head.status().as_u16() as i16,
        content_type: head
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: body.to_vec(),
    };
    settle(keys, attempt, reserved_at, Some(answer)).await;
    Ok(ServiceResponse::new(
        request,
        head.set_body(BoxBody::new(body)),
    ))
}

struct Answer {
    status: i16,
    content_type: Option<String>,
    body: Vec<u8>,
}

/// Stores the answer, or (`None`) releases the key so that a retry runs afresh. Only our own
/// reservation is touched: after `in_progress_timeout` a retry may have taken the key over.
/// Failures are logged, not returned: the handler has answered, and that answer is the client's.
async fn settle(
    keys: &Idempotency,
    attempt: &Attempt,
    reserved_at: DateTime<Utc>,
    answer: Option<Answer>,
) {
    use idempotency_keys::dsl as k;
    let result = async {
        let mut conn = keys.pool.get().await?;
        let ours = k::idempotency_keys
            .find(this_key(attempt))
            .filter(k::created_at.eq(reserved_at))
            .filter(k::state.eq(IN_PROGRESS));
        match answer {
            Some(answer) => {
                diesel::update(ours)
                    .set((
                        k::state.eq(COMPLETED),
                        k::status.eq(answer.status),
                        k::content_type.eq(answer.content_type),
                        k::body.eq(answer.body),
                    ))
                    .execute(&mut conn)
                    .await?
            }
            None => diesel::delete(ours).execute(&mut conn).await?,
        };
        Ok::<_, ApiError>(())
    }
    .await;
    if let Err(e) = result {
        // The key stays in progress: retries answer 409 until `in_progress_timeout`.
        tracing::error!(
            error = e.log_message(),
            "could not store or release an idempotency key"
        );
    }
}

/// Deletes the keys older than `ttl`; returns how many.
pub async fn sweep_expired(
    conn: &mut AsyncPgConnection,
    ttl: chrono::Duration,
) -> QueryResult<usize> {
    use idempotency_keys::dsl as k;
    diesel::delete(k::idempotency_keys.filter(k::created_at.lt(Utc::now() - ttl)))
        .execute(conn)
        .await
}

/// Sweeps expired keys every ten minutes until `shutdown`. Errors are logged and the loop goes
/// on: a background loop must never die silently.
pub async fn run_sweeper(pool: DbPool, ttl: chrono::Duration, shutdown: CancellationToken) {
    crate::periodic::every(SWEEP_EVERY, shutdown, || async {
        let swept = async {
            let mut conn = pool.get().await?;
            Ok::<_, ApiError>(sweep_expired(&mut conn, ttl).await?)
        };
        match swept.await {
            Ok(0) => {}
            Ok(count) => tracing::debug!(count, "expired idempotency keys swept"),
            Err(e) => tracing::error!(
                error = e.log_message(),
                "could not sweep expired idempotency keys"
            ),
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn creating_routes_are_covered_but_not_those_answering_secrets_nor_scans() {
        for route in [
            "/api/v1/auth/register",
            "/api/v1/events",
            "/api/v1/events/{event}/visitors",
            "/api/v1/invitations/{token}/accept",
        ] {
            assert!(covers(route), "{route}");
        }
        for route in [
            "/api/v1/auth/login",
            "/api/v1/auth/refresh",
            "/api/v1/auth/password/reset",
            "/api/v1/events/{event}/scans",
            "/api/v1/events/{event}/webhooks",
            "/api/v1/auth/login/mfa",
            "/api/v1/me/mfa",
            "/api/v1/me/mfa/confirm",
            "/healthz",
        ] {
            assert!(!covers(route), "{route}");
        }
    }
}
