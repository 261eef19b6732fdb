//! Scans of a participant's documents, for the host state's security services: the passport's
//! data page, a national identity card, a journalist's press card, a delegation's note verbale.
//! A PDF, JPEG or PNG of at most [`MAX_SCAN_BYTES`], judged by its content (`content.rs`),
//! encrypted at rest like document numbers and readable only by organizers and vetting officers,
//! each read audited. The people who may edit the person upload them; they see which kinds are
//! on file (kind, size, SHA-256), never the file again. Deleted by the retention purge.

pub mod content;
pub mod routes;
pub mod store;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::text_enum;
use crate::error::{ApiError, ApiResult};

/// 10 MB: a scanned page at 300 dpi, with room.
pub const MAX_SCAN_BYTES: usize = 10 * 1024 * 1024;

text_enum! {
    /// What a scan shows.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum DocumentKind {
        /// The passport's data page.
        Passport = "passport",
        NationalId = "national_id",
        /// A journalist's press card.
        PressCard = "press_card",
        /// The delegation's note verbale from its ministry or embassy.
        NoteVerbale = "note_verbale",
    }
}

impl DocumentKind {
    /// The kind a path names; any other segment names no resource (404).
    pub fn from_path(raw: &str) -> ApiResult<Self> {
        Self::from_text(raw).ok_or_else(ApiError::not_found)
    }
}

/// A scan on file, without its content.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScanSummary {
    pub kind: DocumentKind,
    /// As judged from the content: `application/pdf`, `image/jpeg` or `image/png`.
    #[schema(example = "application/pdf")]
    pub content_type: String,
    /// Bytes.
    #[schema(example = 183_422)]
    pub size: i32,
    /// SHA-256 of the file, in hex.
    #[schema(example = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    pub sha256: String,
    pub uploaded_at: DateTime<Utc>,
}
