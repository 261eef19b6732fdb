//! The OpenAPI document. Paths come from the handlers themselves (utoipa-actix-web collects
//! every `#[utoipa::path]` handler mounted by [`crate::router::mount`]); this module adds what is
//! common to all of them: info, the bearer scheme, and the error answers any route can give.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, OpenApi as OpenApiDoc, Ref, RefOr, Required, Response, ResponseBuilder,
};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::error::{ApiError, FieldError, PROBLEM_JSON, Problem};
use crate::idempotency;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "BAMEX accreditation API",
        description = "Registration and badge accreditation for BAMEX, the Bamako International \
            Defence and Security Exhibition. All errors are `application/problem+json` (RFC 9457) \
            with a stable `code`. `HEAD` is accepted on every `GET` route and answers as the \
            `GET` would (same status and headers, Content-Length included) without a body and \
            without its side effects (no badge print counted, no document read recorded).",
        license(name = "Proprietary")
    ),
    // Paths are absolute (`/api/v1/…`): the server is the one serving this document.
    servers((url = "/", description = "The server serving this document")),
    components(schemas(Problem, FieldError)),
    tags(
        (name = "system", description = "Health, readiness and this document"),
    )
)]
struct ApiDoc;

/// The whole document: the handlers' paths plus [`ApiDoc`]'s common parts.
pub fn document() -> OpenApiDoc {
    let (_, paths) = actix_web::App::new()
        .into_utoipa_app()
        .configure(crate::router::mount)
        .split_for_parts();
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.merge(paths);
    // Applied after the merge so that they see every path.
    BearerScheme.modify(&mut doc);
    CommonErrors.modify(&mut doc);
    IdempotencyKeyHeader.modify(&mut doc);
    doc
}

/// Scheme name used by handlers: `security(("bearer" = []))`.
pub const BEARER: &str = "bearer";
/// Scheme name of gate devices' tokens: `security(("device_token" = []))`.
pub const DEVICE_TOKEN: &str = "device_token";

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, doc: &mut OpenApiDoc) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "Access token from POST /api/v1/auth/login (or /auth/login/mfa). A session \
                         of a role that needs a second factor (admin, organizer, vetting_officer \
                         by default) that has not passed one reaches only /api/v1/me and \
                         /api/v1/me/mfa…: every other route answers 403 `mfa_enrollment_required`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            DEVICE_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("bxdev_…")
                    .description(Some(
                        "A gate device's token, from POST /api/v1/gate-devices/enroll: opaque, \
                         starting `bxdev_`. It opens only the gate routes of the device's event \
                         (401 `device_revoked` once revoked, 403 `device_not_for_event` on \
                         another event's); every other route answers 403 \
                         `device_token_not_accepted`. The gate agent signed in on the device, \
                         if any, sends their access token in the `X-Gate-Agent` header.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Answers any operation can give (500, 503), and those any operation with a JSON body can
/// give (400 malformed JSON, 413, 415, 422), as shared responses referenced from each.
struct CommonErrors;

const COMMON: &[(&str, &str, &str)] = &[
    (
        "500",
        "InternalError",
        "Internal error; nothing about it is disclosed (`internal_error`).",
    ),
    (
        "503",
        "Unavailable",
        "The database is unreachable, or the connection was lost mid-request; retry after \
         `Retry-After` seconds (`service_unavailable`).",
    ),
];

const BODY_ERRORS: &[(&str, &str, &str)] = &[
    (
        "400",
        "InvalidJson",
        "The body is not valid JSON (`invalid_json`).",
    ),
    (
        "413",
        "PayloadTooLarge",
        "The body is larger than the limit (`payload_too_large`).",
    ),
    (
        "415",
        "UnsupportedMediaType",
        "The body is not application/json (`unsupported_media_type`).",
    ),
    (
        "422",
        "ValidationFailed",
        "Invalid fields, listed in `errors` (`validation_failed`); among them any text holding \
         U+0000, which PostgreSQL cannot store, in the path, the query, the body or a cursor.",
    ),
];

impl Modify for CommonErrors {
    fn modify(&self, doc: &mut OpenApiDoc) {
        let components = doc.components.get_or_insert_with(Default::default);
        for (_, name, description) in COMMON.iter().chain(BODY_ERRORS) {
            components
                .responses
                .insert((*name).to_owned(), RefOr::T(problem_response(description)));
        }
        for item in doc.paths.paths.values_mut() {
            for operation in operations_mut(item) {
                let has_body = operation.request_body.is_some();
                // Query parameters are parsed and checked too: a bad one is a 422.
                let has_query = operation.parameters.iter().flatten().any(|p| {
                    matches!(p, RefOr::T(parameter) if parameter.parameter_in == ParameterIn::Query)
                });
                let validated = BODY_ERRORS
                    .iter()
                    .filter(|(status, ..)| *status == "422" && has_query && !has_body);
                let shared = COMMON
                    .iter()
                    .chain(BODY_ERRORS.iter().filter(|_| has_body))
                    .chain(validated);
                for (status, name, _) in shared {
                    operation
                        .responses
                        .responses
                        .entry((*status).to_owned())
                        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(*name)));
                }
            }
        }
    }
}

/// The `Idempotency-Key` header on every operation that takes it (the routes
/// [`idempotency::covers`]), the answers it can give, and the header that marks a replay.
struct IdempotencyKeyHeader;

/// Each problem the middleware answers: its status, a component name made of its code
/// (`idempotency_key_reused` → `IdempotencyKeyReused`) and its description.
fn idempotency_errors() -> Vec<(String, String, String)> {
    idempotency::problems()
        .iter()
        .map(|problem| {
            let name = problem
                .code()
                .split('_')
                .map(|word| word[..1].to_uppercase() + &word[1..])
                .collect();
            let description = format!("{} (`{}`)", problem, problem.code());
            let status = actix_web::ResponseError::status_code(problem);
            (status.as_str().to_owned(), name, description)
        })
        .collect()
}

impl Modify for IdempotencyKeyHeader {
    fn modify(&self, doc: &mut OpenApiDoc) {
        let components = doc.components.get_or_insert_with(Default::default);
        let errors = idempotency_errors();
        let shared = components.responses.clone();
        // Only the answers some operation refers to become shared components (an unused
        // component is noise to linters and generators).
        let mut referenced = Vec::new();
        let covered = doc
            .paths
            .paths
            .iter_mut()
            .filter(|(path, _)| idempotency::covers(path))
            .filter_map(|(_, item)| item.post.as_mut());
        for operation in covered {
            operation
                .parameters
                .get_or_insert_with(Vec::new)
                .push(RefOr::T(key_parameter()));
            for (status, name, description) in &errors {
                let responses = &mut operation.responses.responses;
                let Some(existing) = responses.get_mut(status.as_str()) else {
                    responses.insert(
                        status.clone(),
                        RefOr::Ref(Ref::from_response_name(name.as_str())),
                    );
                    referenced.push((name, description));
                    continue;
                };
                // The status is documented already: its description gains this cause too.
                let mut response = match existing {
                    RefOr::T(response) => response.clone(),
                    RefOr::Ref(reference) => {
                        let name = reference
                            .ref_location
                            .rsplit('/')
                            .next()
                            .unwrap_or_default();
                        match shared.get(name) {
                            Some(RefOr::T(response)) => response.clone(),
                            _ => continue,
                        }
                    }
                };
                response.description = format!(
                    "{}. Or: {description}",
                    response.description.trim_end_matches('.')
                );
                *existing = RefOr::T(response);
            }
            let successes = operation
                .responses
                .responses
                .iter_mut()
                .filter(|(status, _)| status.starts_with('2'));
            for (_, response) in successes {
                if let RefOr::T(response) = response {
                    response.headers.insert(
                        idempotency::REPLAYED_HEADER.as_str().to_owned(),
                        RefOr::T(
                            HeaderBuilder::new()
                                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                                .description(Some(
                                    "`true` when this is the stored answer to an earlier \
                                     request with the same Idempotency-Key.",
                                ))
                                .build(),
                        ),
                    );
                }
            }
        }
        let components = doc.components.get_or_insert_with(Default::default);
        for (name, description) in referenced {
            components
                .responses
                .insert(name.clone(), RefOr::T(problem_response(description)));
        }
    }
}

fn problem_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

fn key_parameter() -> Parameter {
    ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "A key of your choice (a UUID is best) that makes a retry safe: sent again with the \
             same request within 24 hours (by default), it gets the first answer back (marked \
             `Idempotent-Replayed: true`) and nothing runs twice. Keys are per account; without a \
             token, only registering and accepting an invitation take one.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(255))
                .pattern(Some("^[ -~]+$")),
        ))
        .example(Some(serde_json::json!(
            "5f0c2b7e-8a51-4d0f-9a57-3c1e2f4b6d88"
        )))
        .build()
}

fn operations_mut(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// Which methods each documented path answers, so that a known path asked with another method
/// gets 405 with `Allow` rather than 404. It is consulted on every request (see
/// [`literal_routes_first`]), so templates are matched segment by segment, not by regex.
pub struct RouteTable(Vec<Template>);

/// A documented path template, split into its segments (`None` for a parameter: every
/// parameter of ours is a whole segment).
struct Template {
    pattern: String,
    segments: Vec<Option<String>>,
    methods: Vec<Method>,
}

impl Template {
    fn parse(pattern: &str, methods: Vec<Method>) -> Self {
        let segments = pattern
            .split('/')
            .map(|segment| (!segment.starts_with('{')).then(|| segment.to_owned()))
            .collect();
        Self {
            pattern: pattern.to_owned(),
            segments,
            methods,
        }
    }

    /// As the router matches: a parameter takes one non-empty segment.
    fn matches(&self, path: &str) -> bool {
        let mut given = path.split('/');
        self.segments
            .iter()
            .all(|segment| match (segment, given.next()) {
                (Some(literal), Some(part)) => literal == part,
                (None, Some(part)) => !part.is_empty(),
                (_, None) => false,
            })
            && given.next().is_none()
    }

    /// Lower is more specific: the first parameter comes later.
    fn specificity(&self) -> impl Iterator<Item = bool> + '_ {
        self.segments.iter().map(Option::is_none)
    }
}

impl RouteTable {
    pub fn from_document(doc: &OpenApiDoc) -> Self {
        let routes = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    (item.get.is_some(), Method::GET),
                    // Every GET route answers HEAD too (see `http_method.rs`).
                    (item.get.is_some(), Method::HEAD),
                    (item.put.is_some(), Method::PUT),
                    (item.post.is_some(), Method::POST),
                    (item.delete.is_some(), Method::DELETE),
                    (item.patch.is_some(), Method::PATCH),
                ]
                .into_iter()
                .filter_map(|(present, method)| present.then_some(method))
                .collect();
                Template::parse(path, methods)
            })
            .collect();
        Self(routes)
    }

    /// The documented template `path` matches and its methods, as the router would choose it:
    /// where several match (`…/decisions` and `…/{id}`), a literal segment wins over a
    /// parameter. `None` when it matches none.
    pub fn best_match(&self, path: &str) -> Option<(&str, &[Method])> {
        self.0
            .iter()
            .filter(|template| template.matches(path))
            .min_by(|a, b| a.specificity().cmp(b.specificity()))
            .map(|template| (template.pattern.as_str(), template.methods.as_slice()))
    }

    /// The methods of the documented path `path` matches (see [`Self::best_match`]), in a fixed
    /// order; `None` when it matches none.
    pub fn allowed_methods(&self, path: &str) -> Option<Vec<Method>> {
        let mut allowed = self.best_match(path)?.1.to_vec();
        let order = [
            Method::GET,
            Method::HEAD,
            Method::PUT,
            Method::POST,
            Method::DELETE,
            Method::PATCH,
        ];
        allowed.sort_by_key(|m| order.iter().position(|o| o == m));
        (!allowed.is_empty()).then_some(allowed)
    }

    /// The methods of the template `path` best matches, when `method` is not among them but
    /// a less specific template that also matches has it (the router would pick that one).
    pub fn shadowed(&self, method: &Method, path: &str) -> Option<Vec<Method>> {
        let (best, methods) = self.best_match(path)?;
        let elsewhere = self.0.iter().any(|template| {
            template.pattern != best && template.matches(path) && template.methods.contains(method)
        });
        (!methods.contains(method) && elsewhere)
            .then(|| self.allowed_methods(path))
            .flatten()
    }
}

/// actix tries routes in the order they were mounted, so a parameter route can take a path
/// whose literal sibling is meant: `GET …/accreditations/decisions` would reach
/// `…/accreditations/{id}` (and answer 401 or 404). This middleware answers such a request as the
/// literal route would be answered, 405 with its `Allow`, before the router sees it.
pub async fn literal_routes_first(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let shadowed = req
        .app_data::<web::Data<RouteTable>>()
        .and_then(|table| table.shadowed(req.method(), req.path()));
    if let Some(allowed) = shadowed {
        let response = ApiError::MethodNotAllowed { allowed }.error_response();
        return Ok(req.into_response(response).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_literal_segment_wins_over_a_parameter() {
        let table = RouteTable::from_document(&document());
        let decisions = "/api/v1/events/bamex-2026/accreditations/decisions";
        assert_eq!(table.allowed_methods(decisions), Some(vec![Method::POST]));
        let one = "/api/v1/events/bamex-2026/accreditations/0b7e9a3c-52a4-4d8e-9f7c-0d7c2f1e9b11";
        assert_eq!(
            table.allowed_methods(one),
            Some(vec![Method::GET, Method::HEAD])
        );
        assert_eq!(
            table.best_match(decisions).map(|(t, _)| t),
            Some("/api/v1/events/{event}/accreditations/decisions")
        );
        assert_eq!(table.allowed_methods("/api/v1/nowhere"), None);
        assert_eq!(
            table.shadowed(&Method::GET, decisions),
            Some(vec![Method::POST])
        );
        assert_eq!(
            table.shadowed(&Method::HEAD, decisions),
            Some(vec![Method::POST])
        );
        assert_eq!(table.shadowed(&Method::POST, decisions), None);
        assert_eq!(table.shadowed(&Method::GET, one), None);
        assert_eq!(table.shadowed(&Method::PUT, one), None);
    }
}
