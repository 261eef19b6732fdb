//! The files of results the security services send back: CSV or JSON, read into rows and each
//! row checked on its own, so that one bad row is reported with its number and the others still
//! apply.
//!
//! The formats (README, "Exchanging batches with the security services"): CSV with a header
//! row naming the columns `accreditation_id`, `state` (both required), `reference`, `note`,
//! `message`, `version` (optional; any order; a byte-order mark is allowed), or JSON
//! `{"results": [{accreditation_id, state, reference, note, message, version}]}`. Rows are
//! numbered from 1 in the order of the file (in CSV the header is not counted: row 1 is on
//! line 2).

use actix_web::mime;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accreditations::VettingState;
use crate::body::parse_json;
use crate::error::{ApiError, ApiResult, FieldError};

/// The largest upload taken (a full batch of 5,000 results with their notes fits).
pub const MAX_UPLOAD_BYTES: usize = 4 * 1024 * 1024;
/// The most rows one upload holds.
pub const MAX_ROWS: usize = 5_000;

/// One result as the services wrote it, before any check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmittedResult {
    /// The `accreditation_id` of the exported row.
    #[schema(example = "0193a4f2-7c1e-7d2a-9b8e-3f4a5b6c7d8e")]
    pub accreditation_id: String,
    /// `cleared`, `refused` or `info_requested`.
    #[schema(example = "cleared")]
    pub state: String,
    /// The services' reference for the case.
    #[schema(max_length = 200)]
    pub reference: Option<String>,
    /// Internal: never shown to the applicant.
    #[schema(max_length = 2000)]
    pub note: Option<String>,
    /// For the applicant; required with `info_requested`.
    #[schema(max_length = 2000)]
    pub message: Option<String>,
    /// The `version` of the exported row; when given, a result on details that changed since
    /// is refused (`stale_version`).
    pub version: Option<i32>,
}

/// A JSON upload of results.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultsUpload {
    #[schema(min_items = 1, max_items = 5000)]
    pub results: Vec<SubmittedResult>,
}

/// A row that passed its own checks.
#[derive(Debug, Clone)]
pub struct CheckedResult {
    pub accreditation_id: Uuid,
    pub state: VettingState,
    pub reference: Option<String>,
    pub note: Option<String>,
    pub message: Option<String>,
    pub version: Option<i32>,
}

impl CheckedResult {
    /// What the row says, as the key under which it is applied once.
    pub fn digest(&self) -> Vec<u8> {
        let mut hash = Sha256::new();
        hash.update(self.accreditation_id.as_bytes());
        for part in [
            Some(self.state.as_str()),
            self.reference.as_deref(),
            self.note.as_deref(),
            self.message.as_deref(),
        ] {
            // Absent and empty differ, and no part can run into the next.
            match part {
                None => hash.update([0u8]),
                Some(text) => {
                    hash.update([1u8]);
                    hash.update((text.len() as u64).to_be_bytes());
                    hash.update(text.as_bytes());
                }
            }
        }
        match self.version {
            None => hash.update([0u8]),
            Some(version) => {
                hash.update([1u8]);
                hash.update(version.to_be_bytes());
            }
        }
        hash.finalize().to_vec()
    }
}

/// Why a row was not applied, as the per-row `error`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowError {
    /// `unknown_accreditation`, `invalid_state`, `missing_message`, `invalid_value`,
    /// `stale_version`, or the code the decision was refused with (`invalid_transition` …).
    pub code: String,
    pub detail: String,
}

impl RowError {
    pub fn new(code: &str, detail: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            detail: detail.into(),
        }
    }
}

/// A row of the upload: its number, the id as written, and whether it passed its checks.
#[derive(Debug)]
pub struct Row {
    pub row: usize,
    pub accreditation_id: String,
    pub checked: Result<CheckedResult, RowError>,
}

/// Checks one row on its own (no database).
pub fn check(submitted: &SubmittedResult) -> Result<CheckedResult, RowError> {
    let accreditation_id = Uuid::parse_str(submitted.accreditation_id.trim()).map_err(|_| {
        RowError::new(
            "unknown_accreditation",
            "`accreditation_id` is not the id of an accreditation.",
        )
    })?;
    let state = match VettingState::from_text(submitted.state.trim()) {
        Some(
            state @ (VettingState::Cleared | VettingState::Refused | VettingState::InfoRequested),
        ) => state,
        _ => {
            return Err(RowError::new(
                "invalid_state",
                "`state` must be cleared, refused or info_requested.",
            ));
        }
    };
    // Blank is absent; the decision checks the texts themselves (`invalid_value`).
    let given = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let reference = given(&submitted.reference);
    let note = given(&submitted.note);
    let message = given(&submitted.message);
    if state == VettingState::InfoRequested && message.is_none() {
        return Err(RowError::new(
            "missing_message",
            "`message` (for the applicant) is required with info_requested.",
        ));
    }
    Ok(CheckedResult {
        accreditation_id,
        state,
        reference,
        note,
        message,
        version: submitted.version,
    })
}

/// The upload's format, from its content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

impl Format {
    pub fn of(mime: Option<&mime::Mime>) -> ApiResult<Self> {
        match mime {
            Some(m) if m.type_() == mime::TEXT && m.subtype() == mime::CSV => Ok(Self::Csv),
            Some(m) if m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON) => {
                Ok(Self::Json)
            }
            _ => Err(ApiError::UnsupportedMediaType {
                expected: "text/csv or application/json",
            }),
        }
    }
}

/// Reads the upload into rows (CPU work: run it on the blocking pool). A file that cannot be
/// read as its format at all is refused as a whole (400 `invalid_csv`/`invalid_json`, 422 for a
/// header or a shape that is wrong); a row that is wrong only fails that row.
pub fn read(format: Format, bytes: &[u8]) -> ApiResult<Vec<Row>> {
    let submitted = match format {
        Format::Json => read_json(bytes)?,
        Format::Csv => read_csv(bytes)?,
    };
    Ok(submitted
        .into_iter()
        .enumerate()
        .map(|(i, submitted)| match submitted {
            Ok(s) => Row {
                row: i + 1,
                checked: check(&s),
                accreditation_id: s.accreditation_id,
            },
            Err((accreditation_id, error)) => Row {
                row: i + 1,
                accreditation_id,
                checked: Err(error),
            },
        })
        .collect())
}

type Submitted = Result<SubmittedResult, (String, RowError)>;

fn too_many() -> ApiError {
    ApiError::Validation(vec![FieldError::new(
        "results",
        format!("must hold 1 to {MAX_ROWS} results"),
    )])
}

fn read_json(bytes: &[u8]) -> ApiResult<Vec<Submitted>> {
    let upload: ResultsUpload = parse_json(bytes)?;
    if upload.results.is_empty() || upload.results.len() > MAX_ROWS {
        return Err(too_many());
    }
    Ok(upload.results.into_iter().map(Ok).collect())
}

const CSV_COLUMNS: [&str; 6] = [
    "accreditation_id",
    "state",
    "reference",
    "note",
    "message",
    "version",
];

fn invalid_csv(e: &csv::Error) -> ApiError {
    let line = e
        .position()
        .map(|p| format!(" (line {})", p.line()))
        .unwrap_or_default();
    let what = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "is not UTF-8 text".to_owned(),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("has a row of {len} fields where the header has {expected_len}"),
        _ => "could not be read".to_owned(),
    };
    ApiError::BadRequest {
        code: "invalid_csv",
        detail: format!("The CSV file {what}{line}."),
    }
}

fn read_csv(bytes: &[u8]) -> ApiResult<Vec<Submitted>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes);
    let header = reader.headers().map_err(|e| invalid_csv(&e))?.clone();
    let mut position = [None; 6];
    let mut errors = Vec::new();
    for (i, name) in header.iter().enumerate() {
        match CSV_COLUMNS.iter().position(|c| *c == name.trim()) {
            Some(c) if position[c].is_none() => position[c] = Some(i),
            Some(_) => errors.push(FieldError::new("header", format!("names `{name}` twice"))),
            None => errors.push(FieldError::new(
                "header",
                format!("`{name}` is not a column of a results file"),
            )),
        }
    }
    for required in [0, 1] {
        if position[required].is_none() {
            errors.push(FieldError::new(
                "header",
                format!("needs a `{}` column", CSV_COLUMNS[required]),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| invalid_csv(&e))?;
        if rows.len() == MAX_ROWS {
            return Err(too_many());
        }
        let cell = |c: usize| position[c].and_then(|i| record.get(i)).map(str::to_owned);
        let accreditation_id = cell(0).unwrap_or_default();
        let version = match cell(5).as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse::<i32>()
                .map(Some)
                .map_err(|_| RowError::new("invalid_value", "`version` must be a whole number.")),
        };
        rows.push(match version {
            Ok(version) => Ok(SubmittedResult {
                accreditation_id,
                state: cell(1).unwrap_or_default(),
                reference: cell(2),
                note: cell(3),
                message: cell(4),
                version,
            }),
            Err(error) => Err((accreditation_id, error)),
        });
    }
    if rows.is_empty() {
        return Err(too_many());
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0193a4f2-7c1e-7d2a-9b8e-3f4a5b6c7d8e";

    #[test]
    fn csv_rows_are_read_by_their_header_and_checked_one_by_one() {
        let file = format!(
            "\u{feff}state,accreditation_id,reference,message\n\
             cleared,{ID},DGSE-1,\n\
             maybe,{ID},,\n\
             info_requested,{ID},,\n\
             info_requested,not-an-id,,\n"
        );
        let rows = read(Format::Csv, file.as_bytes()).unwrap();
        let codes: Vec<_> = rows
            .iter()
            .map(|r| r.checked.as_ref().map(|_| "ok").unwrap_or_else(|e| &e.code))
            .collect();
        assert_eq!(
            codes,
            [
                "ok",
                "invalid_state",
                "missing_message",
                "unknown_accreditation"
            ]
        );
        assert_eq!(rows[3].row, 4);
        assert_eq!(
            rows[0].checked.as_ref().unwrap().reference.as_deref(),
            Some("DGSE-1")
        );
    }

    #[test]
    fn a_csv_file_without_its_columns_or_with_ragged_rows_is_refused_whole() {
        let no_state = format!("accreditation_id,colour\n{ID},red\n");
        assert_eq!(
            read(Format::Csv, no_state.as_bytes()).unwrap_err().code(),
            "validation_failed"
        );
        let ragged = format!("accreditation_id,state\n{ID},cleared,extra\n");
        assert_eq!(
            read(Format::Csv, ragged.as_bytes()).unwrap_err().code(),
            "invalid_csv"
        );
        assert_eq!(
            read(Format::Csv, b"accreditation_id,state\n")
                .unwrap_err()
                .code(),
            "validation_failed"
        );
    }

    #[test]
    fn the_digest_tells_rows_apart_by_everything_they_say() {
        let row = |note: Option<&str>| CheckedResult {
            accreditation_id: Uuid::parse_str(ID).unwrap(),
            state: VettingState::Cleared,
            reference: Some("R".into()),
            note: note.map(str::to_owned),
            message: None,
            version: None,
        };
        assert_eq!(row(None).digest(), row(None).digest());
        assert_ne!(row(None).digest(), row(Some("")).digest());
        assert_ne!(row(Some("a")).digest(), row(Some("b")).digest());
    }
}
