//! `/api/v1/events/{event}/vetting/export.{csv,json}` and `…/vetting/results`: the batch
//! exchange with security services that work offline (vetting officers only).
//!
//! An export is a new batch of the people awaiting clearance that were not sent yet (or were
//! sent before their identity was corrected), recorded before the file is written;
//! `?include_sent=true` takes those sent already as well, `?batch=<id>` writes an earlier batch
//! again. A HEAD answers as a GET would, without choosing or recording a batch.

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures_util::stream;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::batches::{self, Batch, BatchPerson, MAX_BATCH_PEOPLE, Selection};
use super::results::{self, ImportReport};
use super::uploads::{self, Format, MAX_UPLOAD_BYTES, ResultsUpload};
use crate::audit::Actor;
use crate::auth::extract::{ClientIp, Require, VettingOfficer};
use crate::body::read_limited;
use crate::csv_export::{self, Sheet};
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::events::path::EventPath;
use crate::http_method::IsHead;
use crate::state::AppState;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(export_batch_csv)
        .service(export_batch_json)
        .service(upload_results);
}

/// The response header naming the batch a file holds.
const BATCH_HEADER: &str = "x-vetting-batch";

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// At most this many people in the new batch (1 to 5,000; 5,000 when absent), the longest
    /// waiting first.
    #[param(minimum = 1, maximum = 5000)]
    pub limit: Option<i64>,
    /// Also the people sent already in an earlier batch with the identity they have now.
    pub include_sent: Option<bool>,
    /// Write this earlier batch again (the same people, their details as they are now) instead
    /// of a new one; not with `limit` or `include_sent`.
    pub batch: Option<Uuid>,
}

/// The batch the query asks for, chosen (or found) and its export audited.
async fn batch_for(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    officer: &Actor,
    format: &str,
    query: &ExportQuery,
) -> ApiResult<Batch> {
    let selection = Selection {
        limit: query.limit.unwrap_or(MAX_BATCH_PEOPLE),
        include_sent: query.include_sent.unwrap_or(false),
    };
    let mut errors = Vec::new();
    if !(1..=MAX_BATCH_PEOPLE).contains(&selection.limit) {
        errors.push(FieldError::new("limit", "must be 1 to 5000"));
    }
    if query.batch.is_some() && (query.limit.is_some() || query.include_sent.is_some()) {
        errors.push(FieldError::new(
            "batch",
            "exports an earlier batch as it was chosen: not with limit or include_sent",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    conn.transaction::<_, ApiError, _>(async |conn| match query.batch {
        Some(id) => batches::reexport(conn, event_id, officer, format, id).await,
        None => batches::create(conn, event_id, officer, format, selection).await,
    })
    .await
}

fn with_batch_header(mut response: HttpResponse, batch: &Batch) -> HttpResponse {
    response.headers_mut().insert(
        HeaderName::from_static(BATCH_HEADER),
        HeaderValue::from_str(&batch.id.to_string()).expect("a UUID is a header value"),
    );
    response
}

/// A new batch of the people awaiting clearance as CSV (vetting officers): UTF-8 with a
/// byte-order mark, cells neutralised against formula injection, the batch id in the
/// `X-Vetting-Batch` header and in every row. Every export is recorded in the audit trail with
/// the accreditations it holds (it shows their document numbers in full).
#[utoipa::path(
    tag = "vetting",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026"), ExportQuery),
    responses(
        (status = 200, description = "The batch (columns: batch_id, accreditation_id, version, last_name, first_name, date_of_birth, place_of_birth, nationality, id_document_type, id_document_number, id_document_expires_on, organization, function, category, exhibitor, delegation)", content_type = "text/csv",
            headers(("X-Vetting-Batch" = Uuid, description = "The batch's id"))),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a vetting officer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event, or no such batch (`unknown_batch`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid `limit`, or `batch` with `limit`/`include_sent` (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/vetting/export.csv")]
async fn export_batch_csv(
    state: web::Data<AppState>,
    officer: Require<VettingOfficer>,
    ip: ClientIp,
    head: IsHead,
    event: EventPath,
    query: web::Query<ExportQuery>,
) -> ApiResult<HttpResponse> {
    let (event, batch) = {
        let mut conn = state.pool.get().await?;
        let event = event.load_event(&mut conn, Some(&officer)).await?;
        if !head.shown() {
            return Ok(unsent("text/csv; charset=utf-8"));
        }
        let actor = officer.actor(ip);
        let batch = batch_for(&mut conn, event.id, &actor, "csv", &query).await?;
        (event, batch)
    };
    let sheet = BatchSheet {
        state: state.clone(),
        batch_id: batch.id,
    };
    let name = format!("vetting-{}", batch.id);
    let response = csv_export::respond(&state.pool, &event.slug, &name, sheet).await?;
    Ok(with_batch_header(response, &batch))
}

/// A batch's people as CSV rows, in the order of their accreditation ids.
struct BatchSheet {
    state: web::Data<AppState>,
    batch_id: Uuid,
}

impl Sheet for BatchSheet {
    type Row = BatchPerson;
    type Key = Uuid;

    const COLUMNS: &'static [&'static str] = &[
        "batch_id",
        "accreditation_id",
        "version",
        "last_name",
        "first_name",
        "date_of_birth",
        "place_of_birth",
        "nationality",
        "id_document_type",
        "id_document_number",
        "id_document_expires_on",
        "organization",
        "function",
        "category",
        "exhibitor",
        "delegation",
    ];

    async fn page(
        &self,
        conn: &mut AsyncPgConnection,
        after: Option<&Uuid>,
        limit: i64,
    ) -> ApiResult<Vec<BatchPerson>> {
        batches::people(
            conn,
            &self.state.documents,
            self.batch_id,
            after.copied(),
            limit,
        )
        .await
    }

    fn key(&self, person: &BatchPerson) -> Uuid {
        person.accreditation_id
    }

    fn cells(&self, person: BatchPerson) -> Vec<String> {
        let text = |value: Option<String>| value.unwrap_or_default();
        let date =
            |value: Option<chrono::NaiveDate>| value.map(|d| d.to_string()).unwrap_or_default();
        vec![
            self.batch_id.to_string(),
            person.accreditation_id.to_string(),
            person.version.to_string(),
            person.last_name,
            person.first_name,
            date(person.date_of_birth),
            text(person.place_of_birth),
            person.nationality,
            text(person.id_document_type.map(|t| t.as_str().to_owned())),
            text(person.id_document_number),
            date(person.id_document_expires_on),
            person.organization,
            text(person.function),
            person.category.as_str().to_owned(),
            text(person.exhibitor),
            text(person.delegation),
        ]
    }
}

/// A batch as JSON.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchFile {
    pub batch_id: Uuid,
    /// The event's slug.
    pub event: String,
    pub created_at: DateTime<Utc>,
    pub people: Vec<BatchPerson>,
}

/// A new batch of the people awaiting clearance as JSON (vetting officers); as the CSV export,
/// with the same query and the same audit record.
#[utoipa::path(
    tag = "vetting",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026"), ExportQuery),
    responses(
        (status = 200, description = "The batch", body = BatchFile,
            headers(("X-Vetting-Batch" = Uuid, description = "The batch's id"))),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a vetting officer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event, or no such batch (`unknown_batch`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid `limit`, or `batch` with `limit`/`include_sent` (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/vetting/export.json")]
async fn export_batch_json(
    state: web::Data<AppState>,
    officer: Require<VettingOfficer>,
    ip: ClientIp,
    head: IsHead,
    event: EventPath,
    query: web::Query<ExportQuery>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&officer)).await?;
    if !head.shown() {
        return Ok(unsent("application/json"));
    }
    let actor = officer.actor(ip);
    let batch = batch_for(&mut conn, event.id, &actor, "json", &query).await?;
    // A batch holds at most 5,000 people, which bounds the file built here.
    let mut people = Vec::with_capacity(batch.people as usize);
    loop {
        let after = people.last().map(|p: &BatchPerson| p.accreditation_id);
        let page = batches::people(&mut conn, &state.documents, batch.id, after, 500).await?;
        let last = page.len() < 500;
        people.extend(page);
        if last {
            break;
        }
    }
    let file = BatchFile {
        batch_id: batch.id,
        event: event.slug,
        created_at: batch.created_at,
        people,
    };
    let body = serde_json::to_vec(&file)
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("writing a batch")))?;
    // Sent as a stream, as the CSV is, so that a HEAD (which writes no batch) has the GET's
    // headers: neither announces a length.
    let response = HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .streaming(stream::once(async { Ok::<_, ApiError>(Bytes::from(body)) }));
    Ok(with_batch_header(response, &batch))
}

/// The answer to a HEAD: the GET's status and headers, with no batch chosen, so no length.
fn unsent(content_type: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type.to_owned())
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .streaming(stream::empty::<Result<Bytes, ApiError>>())
}

/// Upload the services' results (vetting officers): CSV (`text/csv`, a header row naming
/// `accreditation_id`, `state` and any of `reference`, `note`, `message`, `version`) or JSON
/// (`application/json`), up to 4 MiB and 5,000 rows. Each row is decided on its own: `applied`,
/// `unchanged` (the same row was applied before, by this upload or another: never twice), or
/// `failed` with a per-row `error.code` — `unknown_accreditation`, `invalid_state`,
/// `missing_message` (info_requested without a message), `invalid_value`, `stale_version`, or
/// the code a decision is refused with. Valid rows apply even when others fail.
#[utoipa::path(
    tag = "vetting",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026")),
    request_body(
        description = "The results, as CSV (columns as the JSON fields) or JSON",
        content(
            (ResultsUpload = "application/json"),
            (String = "text/csv", example = "accreditation_id,state,reference,note,message,version\n0193a4f2-7c1e-7d2a-9b8e-3f4a5b6c7d8e,cleared,DGSE-2026-0001,,,3\n"),
        ),
    ),
    responses(
        (status = 200, description = "One result per row, in the file's order", body = ImportReport),
        (status = 400, description = "Not readable as CSV (`invalid_csv`) or JSON (`invalid_json`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a vetting officer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than 4 MiB (`payload_too_large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither text/csv nor application/json (`unsupported_media_type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A CSV header without `accreditation_id` or `state` or with an unknown column, no rows or more than 5,000, or JSON of the wrong shape (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/vetting/results")]
async fn upload_results(
    state: web::Data<AppState>,
    officer: Require<VettingOfficer>,
    ip: ClientIp,
    event: EventPath,
    request: HttpRequest,
    mut payload: web::Payload,
) -> ApiResult<web::Json<ImportReport>> {
    let event = {
        let mut conn = state.pool.get().await?;
        event.load_event(&mut conn, Some(&officer)).await?
    };
    let format = Format::of(request.mime_type().ok().flatten().as_ref())?;
    let body = read_limited(&mut payload, MAX_UPLOAD_BYTES).await?;
    let rows = web::block(move || uploads::read(format, &body))
        .await
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("reading results")))??;
    let actor = officer.actor(ip);
    let mut conn = state.pool.get().await?;
    let report = results::apply(&mut conn, &state.badge_keys, &event, &actor, rows).await?;
    Ok(web::Json(report))
}
