//! One error type for the whole API, mapped to `application/problem+json` (RFC 9457) here and
//! nowhere else. 5xx answers say nothing about their cause; the cause chain goes to the log.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid input: which field (a JSON path such as `sectors[2]`, or a query parameter) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    #[schema(example = "email")]
    pub field: String,
    #[schema(example = "is not a valid email address")]
    pub message: String,
    /// A stable code where a program may act on the reason (`required`, `expires_too_soon`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "required")]
    pub code: Option<&'static str>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            code: None,
        }
    }

    pub fn with_code(
        field: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            code: Some(code),
            ..Self::new(field, message)
        }
    }
}

/// An RFC 9457 problem document; `code` is stable and meant for programs, `detail` for people.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:bamex:problem:validation_failed",
    "title": "Unprocessable Entity",
    "status": 422,
    "detail": "The request has invalid fields.",
    "code": "validation_failed",
    "errors": [{"field": "email", "message": "is not a valid email address"}]
}))]
pub struct Problem {
    #[serde(rename = "type")]
    #[schema(example = "urn:bamex:problem:not_found")]
    pub problem_type: String,
    #[schema(example = "Not Found")]
    pub title: String,
    #[schema(example = 404)]
    pub status: u16,
    #[schema(example = "No such resource.")]
    pub detail: String,
    #[schema(example = "not_found")]
    pub code: String,
    /// Present on validation failures: one entry per invalid field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String },
    #[error("{detail}")]
    Unauthorized { code: &'static str, detail: String },
    #[error("{detail}")]
    Forbidden { code: &'static str, detail: String },
    #[error("{detail}")]
    NotFound { code: &'static str, detail: String },
    #[error("method not allowed")]
    MethodNotAllowed { allowed: Vec<Method> },
    #[error("{detail}")]
    Gone { code: &'static str, detail: String },
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// `expected` names the content types the route takes.
    #[error("unsupported content type")]
    UnsupportedMediaType { expected: &'static str },
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// A well-formed request the service cannot process, not tied to one field.
    #[error("{detail}")]
    Unprocessable { code: &'static str, detail: String },
    #[error("too many requests")]
    RateLimited { retry_after_seconds: u64 },
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn not_found() -> Self {
        Self::NotFound {
            code: "not_found",
            detail: "No such resource.".into(),
        }
    }

    /// The answer about a person whose data is gone: 410, not 404, so that clients can tell
    /// "purged as announced" from "never existed".
    pub fn purged() -> Self {
        Self::Gone {
            code: "personal_data_purged",
            detail: "This person's personal data was purged after the event, as the retention policy requires."
                .into(),
        }
    }

    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// The whole cause chain, for the log only.
    pub fn log_message(&self) -> String {
        match self {
            Self::Internal(cause) | Self::Unavailable(cause) => format!("{cause:#}"),
            other => other.to_string(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Unauthorized { code, .. }
            | Self::Forbidden { code, .. }
            | Self::NotFound { code, .. }
            | Self::Gone { code, .. }
            | Self::Conflict { code, .. }
            | Self::Unprocessable { code, .. } => code,
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnsupportedMediaType { .. } => "unsupported_media_type",
            Self::Validation(_) => "validation_failed",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable(_) => "service_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    fn detail(&self) -> String {
        match self {
            Self::MethodNotAllowed { allowed } => format!(
                "This resource answers {}.",
                allowed
                    .iter()
                    .map(Method::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Self::UnsupportedMediaType { expected } => format!("Send the body as {expected}."),
            Self::Validation(_) => "The request has invalid fields.".into(),
            Self::RateLimited {
                retry_after_seconds,
            } => format!("Too many requests; retry in {retry_after_seconds} s."),
            Self::Unavailable(_) => {
                "The service cannot answer right now; retry in a moment.".into()
            }
            Self::Internal(_) => "Something went wrong on our side; it has been logged.".into(),
            other => other.to_string(),
        }
    }

    fn problem(&self) -> Problem {
        let status = self.status_code();
        Problem {
            problem_type: format!("urn:bamex:problem:{}", self.code()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.detail(),
            code: self.code().to_owned(),
            errors: match self {
                Self::Validation(errors) => errors.clone(),
                _ => Vec::new(),
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Gone { .. } => StatusCode::GONE,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) | Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(_) => tracing::error!(error = self.log_message(), "internal error"),
            Self::Unavailable(_) => {
                tracing::warn!(error = self.log_message(), "service unavailable")
            }
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.content_type(PROBLEM_JSON);
        match self {
            Self::Unauthorized { .. } => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            Self::MethodNotAllowed { allowed } => {
                let allow = allowed.iter().map(Method::as_str).collect::<Vec<_>>();
                response.insert_header((header::ALLOW, allow.join(", ")));
            }
            Self::RateLimited {
                retry_after_seconds,
            } => {
                response.insert_header((header::RETRY_AFTER, retry_after_seconds.to_string()));
            }
            Self::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            _ => {}
        }
        response.json(self.problem())
    }
}

/// What a violated constraint means to a client, by constraint name. Constraints not listed
/// here still map to a generic 409 (unique) or 422 (check, foreign key).
const CONSTRAINTS: &[(&str, StatusCode, &str, &str)] = &[
    (
        "users_email_key",
        StatusCode::CONFLICT,
        "email_taken",
        "An account with this email already exists.",
    ),
    (
        "events_slug_key",
        StatusCode::CONFLICT,
        "slug_taken",
        "An event with this slug already exists.",
    ),
    (
        "exhibitors_company_key",
        StatusCode::CONFLICT,
        "exhibitor_exists",
        "This company (same legal name and country) has already applied for this event.",
    ),
    (
        "exhibitors_stand_key",
        StatusCode::CONFLICT,
        "stand_taken",
        "This stand is already assigned to another exhibitor of the event.",
    ),
    (
        "exhibitors_staff_within_quota",
        StatusCode::CONFLICT,
        "quota_below_staff",
        "The quota would fall below the staff already registered; withdraw staff first.",
    ),
    (
        "exhibitors_contractors_within_quota",
        StatusCode::CONFLICT,
        "quota_below_contractors",
        "The contractor quota would fall below the contractors already registered; withdraw contractors first.",
    ),
    (
        "accreditations_creator_not_approver",
        StatusCode::CONFLICT,
        "creator_cannot_approve",
        "The organizer who entered this accreditation cannot approve it; another organizer must.",
    ),
    (
        "accreditation_approvals_not_by_creator",
        StatusCode::CONFLICT,
        "creator_cannot_approve",
        "The organizer who entered this accreditation cannot approve it; another organizer must.",
    ),
    (
        "participants_visitor_key",
        StatusCode::CONFLICT,
        "already_registered",
        "You are registered for this event already.",
    ),
    (
        "delegations_members_within_limit",
        StatusCode::CONFLICT,
        "limit_below_members",
        "The member limit would fall below the members already registered.",
    ),
    (
        "gate_devices_event_name_key",
        StatusCode::CONFLICT,
        "device_name_taken",
        "The event has a gate device of this name already.",
    ),
    (
        "pavilions_event_name_key",
        StatusCode::CONFLICT,
        "pavilion_exists",
        "A pavilion with this name already exists for the event.",
    ),
];

fn constraint_error(kind: &DatabaseErrorKind, constraint: Option<&str>) -> Option<ApiError> {
    if let Some((_, status, code, detail)) = CONSTRAINTS
        .iter()
        .find(|(name, ..)| Some(*name) == constraint)
    {
        let detail = (*detail).to_owned();
        return Some(match *status {
            StatusCode::CONFLICT => ApiError::Conflict { code, detail },
            _ => ApiError::Validation(vec![FieldError::new(*code, detail)]),
        });
    }
    match kind {
        DatabaseErrorKind::UniqueViolation => Some(ApiError::Conflict {
            code: "conflict",
            detail: "This conflicts with an existing record.".into(),
        }),
        // Constraint names are internals: the client learns what went wrong, not where.
        DatabaseErrorKind::CheckViolation => Some(ApiError::validation(
            "body",
            "a value is outside what the service accepts",
        )),
        DatabaseErrorKind::ForeignKeyViolation => Some(ApiError::validation(
            "body",
            "refers to a record that does not exist",
        )),
        DatabaseErrorKind::SerializationFailure => Some(ApiError::Conflict {
            code: "conflict",
            detail: "A concurrent change got there first; retry.".into(),
        }),
        _ => None,
    }
}

/// Whether a query failed because its connection is gone: closed by PostgreSQL (a restart, or
/// `pg_terminate_backend`: SQLSTATE class 57P, whose messages are matched as diesel gives no
/// SQLSTATE) or lost on the way (diesel-async reports "connection closed" as a command it could
/// not send). A retry on another connection may well succeed: 503, not 500.
fn connection_lost(kind: &DatabaseErrorKind, message: &str) -> bool {
    matches!(
        kind,
        DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand
    ) || message.starts_with("terminating connection")
        || message.starts_with("the database system is")
}

/// A query error once its cause is known: the connection went away (503), or anything else.
fn query_failed(err: DieselError) -> ApiError {
    let lost = match &err {
        DieselError::DatabaseError(kind, info) => connection_lost(kind, info.message()),
        // Rolling back on a dead connection fails too; the transaction manager then says so.
        DieselError::BrokenTransactionManager => true,
        _ => false,
    };
    let err = anyhow::Error::new(err).context("database query failed");
    if lost {
        ApiError::Unavailable(err.context("the database connection was lost"))
    } else {
        ApiError::Internal(err)
    }
}

impl From<DieselError> for ApiError {
    fn from(err: DieselError) -> Self {
        match err {
            DieselError::NotFound => Self::not_found(),
            DieselError::RollbackErrorOnCommit { commit_error, .. } => Self::from(*commit_error),
            DieselError::DatabaseError(kind, info) => {
                match constraint_error(&kind, info.constraint_name()) {
                    Some(error) => error,
                    None => query_failed(DieselError::DatabaseError(kind, info)),
                }
            }
            other => query_failed(other),
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for ApiError {
    fn from(err: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        Self::Unavailable(anyhow::Error::new(err).context("no database connection"))
    }
}

impl From<JsonPayloadError> for ApiError {
    fn from(err: JsonPayloadError) -> Self {
        use serde_json::error::Category;
        match err {
            JsonPayloadError::OverflowKnownLength { limit, .. }
            | JsonPayloadError::Overflow { limit } => Self::PayloadTooLarge { limit },
            JsonPayloadError::ContentType => Self::UnsupportedMediaType {
                expected: "application/json",
            },
            JsonPayloadError::Deserialize(e) => match e.classify() {
                Category::Data => Self::Validation(vec![serde_field_error(&e)]),
                Category::Syntax | Category::Eof | Category::Io => Self::BadRequest {
                    code: "invalid_json",
                    detail: format!("The body is not valid JSON: {e}."),
                },
            },
            other => Self::BadRequest {
                code: "invalid_body",
                detail: format!("The body could not be read: {other}."),
            },
        }
    }
}

/// serde names the offending field in its message (`unknown field `x``, `missing field `x``);
/// type errors carry only a position, so they are reported against the body as a whole.
fn serde_field_error(err: &serde_json::Error) -> FieldError {
    let message = without_values(&err.to_string());
    let field = ["unknown field `", "missing field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| {
            let rest = message.strip_prefix(prefix)?;
            rest.split('`').next().map(str::to_owned)
        })
        .unwrap_or_else(|| "body".to_owned());
    FieldError::new(field, message)
}

/// serde quotes the rejected value in type errors (``invalid type: integer `12345678`, expected
/// a string``); that value may be a document number sent in the wrong shape, and errors are
/// logged, so only its kind is kept.
fn without_values(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((unexpected, expected)) = rest.split_once(", expected ")
        {
            let kind = unexpected
                .split(['`', '"'])
                .next()
                .unwrap_or_default()
                .trim();
            return format!("{prefix}{kind}, expected {expected}");
        }
    }
    message.to_owned()
}

pub fn query_error_handler(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let message = match &err {
        QueryPayloadError::Deserialize(e) => without_values(&e.to_string()),
        other => other.to_string(),
    };
    ApiError::Validation(vec![FieldError::new("query", message)]).into()
}

/// A path segment that does not parse (say, a malformed UUID) cannot name an existing resource.
pub fn path_error_handler(_err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::not_found().into()
}

/// Safety net for error responses built outside `ApiError` (actix internals, middleware):
/// whatever they said is replaced by a problem document with a generic code for the status.
pub fn ensure_problem_json<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .response()
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes() == PROBLEM_JSON.as_bytes());
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let mut problem: HttpResponse<BoxBody> = for_status(status).error_response();
    *problem.status_mut() = status;
    for (name, value) in res.response().headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem.headers_mut().insert(name.clone(), value.clone());
        }
    }
    let (req, _) = res.into_parts();
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, problem).map_into_right_body::<B>(),
    ))
}

/// The generic problem of an error status answered without one.
fn for_status(status: StatusCode) -> ApiError {
    match status {
        StatusCode::NOT_FOUND => ApiError::not_found(),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge { limit: 0 },
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType {
            expected: "application/json",
        },
        StatusCode::UNAUTHORIZED => ApiError::Unauthorized {
            code: "unauthenticated",
            detail: "Authentication is required.".into(),
        },
        StatusCode::FORBIDDEN => ApiError::Forbidden {
            code: "forbidden",
            detail: "This is not allowed.".into(),
        },
        s if s.is_server_error() => {
            ApiError::Internal(anyhow::anyhow!("{s} answered without a problem body"))
        }
        _ => ApiError::BadRequest {
            code: "bad_request",
            detail: "The request could not be understood.".into(),
        },
    }
}

/// The safety net for what the middleware outside [`ensure_problem_json`] answers: actix-cors
/// refuses a preflight from an origin it does not allow with a bare 400 of its own. Such an
/// answer (or an error a middleware returns instead of answering) becomes its problem document.
/// It must not touch the request on the way in (routing needs it unshared).
pub async fn problem_for_errors<B: MessageBody + 'static>(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<B>,
) -> actix_web::Result<ServiceResponse<actix_web::body::EitherBody<B>>> {
    let res = next.call(req).await.map_err(|err| {
        let answer = err.error_response();
        let is_problem = answer
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|value| value.as_bytes() == PROBLEM_JSON.as_bytes());
        if is_problem {
            err
        } else {
            for_status(answer.status()).into()
        }
    })?;
    let refusal = res
        .response()
        .error()
        .and_then(|e| e.as_error::<actix_cors::CorsError>())
        .map(ToString::to_string);
    if let Some(refusal) = refusal {
        let problem = ApiError::BadRequest {
            code: "cors_refused",
            detail: format!("{refusal}."),
        }
        .error_response();
        let (req, _) = res.into_parts();
        return Ok(ServiceResponse::new(req, problem).map_into_right_body());
    }
    if !(res.status().is_client_error() || res.status().is_server_error()) {
        return Ok(res.map_into_left_body());
    }
    match ensure_problem_json(res)? {
        ErrorHandlerResponse::Response(res) => Ok(res),
        ErrorHandlerResponse::Future(answer) => answer.await,
    }
}

/// Convenience for handlers.
pub type ApiResult<T> = Result<T, ApiError>;

/// Collects the field errors of a request while its fields are parsed, so that the client
/// learns about every invalid field at once:
///
/// ```text
/// let mut v = Validator::default();
/// let email = v.check("email", EmailAddress::parse(&body.email));
/// let name = v.check("full_name", FullName::parse(&body.full_name));
/// let parsed = v.finish(|| Some(Registration { email: email?, name: name? }))?;
/// ```
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        result
            .map_err(|e| self.errors.push(FieldError::new(field, e.to_string())))
            .ok()
    }

    /// Like [`Self::check`], for a rule that names its own fields (and codes).
    pub fn check_fields<T>(&mut self, result: Result<T, Vec<FieldError>>) -> Option<T> {
        result.map_err(|errors| self.errors.extend(errors)).ok()
    }

    /// `build` runs only when every check passed, so each `?` inside it succeeds.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> ApiResult<T> {
        if !self.errors.is_empty() {
            return Err(ApiError::Validation(self.errors));
        }
        build().ok_or_else(|| ApiError::Internal(anyhow::anyhow!("validator built nothing")))
    }
}

#[cfg(test)]
mod tests {
    use super::without_values;

    #[test]
    fn type_errors_keep_the_kind_of_value_but_not_the_value() {
        assert_eq!(
            without_values(
                "invalid type: integer `12345678`, expected a string at line 1 column 9"
            ),
            "invalid type: integer, expected a string at line 1 column 9"
        );
        assert_eq!(
            without_values(r#"invalid type: string "U1234", expected i32"#),
            "invalid type: string, expected i32"
        );
        assert_eq!(
            without_values("missing field `email`"),
            "missing field `email`"
        );
    }
}
