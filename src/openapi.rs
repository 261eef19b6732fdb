//! The OpenAPI document. Paths come from the handlers themselves (utoipa-actix-web collects
//! every `#[utoipa::path]` handler mounted by [`crate::app::mount`]); this module adds what is
//! common to all of them: info, the bearer scheme, and the error answers any route can give.

use actix_web::dev::ResourceDef;
use actix_web::http::Method;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as OpenApiDoc, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::error::{FieldError, PROBLEM_JSON, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "BAMEX accreditation API",
        description = "Registration and badge accreditation for BAMEX, the Bamako International \
            Defence and Security Exhibition. All errors are `application/problem+json` (RFC 9457) \
            with a stable `code`.",
        license(name = "Proprietary")
    ),
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
        .configure(crate::app::mount)
        .split_for_parts();
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.merge(paths);
    // Applied after the merge so that they see every path.
    BearerScheme.modify(&mut doc);
    CommonErrors.modify(&mut doc);
    doc
}

/// Scheme name used by handlers: `security(("bearer" = []))`.
pub const BEARER: &str = "bearer";

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
                    .description(Some("Access token from POST /api/v1/auth/login"))
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
        "The database is unreachable; retry later (`service_unavailable`).",
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
        "Invalid fields, listed in `errors` (`validation_failed`).",
    ),
];

impl Modify for CommonErrors {
    fn modify(&self, doc: &mut OpenApiDoc) {
        let components = doc.components.get_or_insert_with(Default::default);
        for (_, name, description) in COMMON.iter().chain(BODY_ERRORS) {
            components.responses.insert(
                (*name).to_owned(),
                RefOr::T(
                    ResponseBuilder::new()
                        .description(*description)
                        .content(
                            PROBLEM_JSON,
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("Problem")))
                                .build(),
                        )
                        .build(),
                ),
            );
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
/// gets 405 with `Allow` rather than 404.
pub struct RouteTable(Vec<(ResourceDef, Vec<Method>)>);

impl RouteTable {
    pub fn from_document(doc: &OpenApiDoc) -> Self {
        let routes = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    (item.get.is_some(), Method::GET),
                    (item.put.is_some(), Method::PUT),
                    (item.post.is_some(), Method::POST),
                    (item.delete.is_some(), Method::DELETE),
                    (item.patch.is_some(), Method::PATCH),
                ]
                .into_iter()
                .filter_map(|(present, method)| present.then_some(method))
                .collect();
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        Self(routes)
    }

    /// The methods of every documented path `path` matches (`…/decisions` also matches
    /// `…/{id}`), in a fixed order; `None` when it matches none.
    pub fn allowed_methods(&self, path: &str) -> Option<Vec<Method>> {
        let mut allowed: Vec<Method> = Vec::new();
        for (_, methods) in self.0.iter().filter(|(def, _)| def.is_match(path)) {
            for method in methods {
                if !allowed.contains(method) {
                    allowed.push(method.clone());
                }
            }
        }
        let order = [
            Method::GET,
            Method::PUT,
            Method::POST,
            Method::DELETE,
            Method::PATCH,
        ];
        allowed.sort_by_key(|m| order.iter().position(|o| o == m));
        (!allowed.is_empty()).then_some(allowed)
    }
}
