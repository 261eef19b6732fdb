//! What an uploaded scan is, judged by its bytes and not by the name or content type the client
//! gave it: a renamed text file or an HTML page sent as `application/pdf` is refused. Images are
//! judged from their header alone, against the photos' pixel budget, and never decoded: a scan is
//! stored as it came, for people to look at.

use std::io::Cursor;

use image::{ImageFormat, ImageReader};

use crate::error::{ApiError, ApiResult};
use crate::participants::image_budget;

/// The formats a scan may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanFormat {
    Pdf,
    Jpeg,
    Png,
}

/// How far from the end a PDF's trailer (`startxref` … `%%EOF`) may lie: writers leave at most
/// a line or two after it.
const TRAILER_WINDOW: usize = 1024;

impl ScanFormat {
    /// The format the request's `Content-Type` names (parameters ignored); 415 otherwise.
    pub fn declared(content_type: Option<&str>) -> ApiResult<Self> {
        let essence = content_type
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase());
        match essence.as_deref() {
            Some("application/pdf") => Ok(Self::Pdf),
            Some("image/jpeg") => Ok(Self::Jpeg),
            Some("image/png") => Ok(Self::Png),
            _ => Err(ApiError::UnsupportedMediaType {
                expected: "application/pdf, image/jpeg or image/png",
            }),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
        }
    }
}

fn not_recognized(format: ScanFormat) -> ApiError {
    ApiError::Unprocessable {
        code: "document_not_recognized",
        detail: format!(
            "The file is not the {} its content type says.",
            match format {
                ScanFormat::Pdf => "PDF document",
                ScanFormat::Jpeg => "JPEG image",
                ScanFormat::Png => "PNG image",
            }
        ),
    }
}

/// A PDF starts with its version header and ends with its trailer.
fn is_pdf(bytes: &[u8]) -> bool {
    let header = bytes.len() >= 8
        && bytes.starts_with(b"%PDF-")
        && bytes[5].is_ascii_digit()
        && bytes[6] == b'.'
        && bytes[7].is_ascii_digit();
    let tail = &bytes[bytes.len().saturating_sub(TRAILER_WINDOW)..];
    let contains = |needle: &[u8]| tail.windows(needle.len()).any(|w| w == needle);
    header && contains(b"startxref") && contains(b"%%EOF")
}

/// Refuses a file that is not what `declared` says, and an image whose header declares more
/// pixels than the budget (422 `image_too_large`). Reads headers only: call it off the executor
/// all the same, it scans up to 10 MB.
pub fn check(bytes: &[u8], declared: ScanFormat) -> ApiResult<()> {
    let image_format = match declared {
        ScanFormat::Pdf if is_pdf(bytes) => return Ok(()),
        ScanFormat::Pdf => return Err(not_recognized(declared)),
        ScanFormat::Jpeg => ImageFormat::Jpeg,
        ScanFormat::Png => ImageFormat::Png,
    };
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| not_recognized(declared))?;
    if reader.format() != Some(image_format) {
        return Err(not_recognized(declared));
    }
    let (width, height) = reader
        .into_dimensions()
        .map_err(|_| not_recognized(declared))?;
    image_budget::check(width, height)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PDF: &[u8] =
        b"%PDF-1.4\n1 0 obj <<>> endobj\nxref\n0 1\ntrailer <<>>\nstartxref\n9\n%%EOF\n";

    #[test]
    fn pdfs_are_judged_by_header_and_trailer() {
        assert!(check(PDF, ScanFormat::Pdf).is_ok());
        assert!(check(b"%PDF-1.4 but cut short", ScanFormat::Pdf).is_err());
        assert!(check(b"<!DOCTYPE html><html></html>", ScanFormat::Pdf).is_err());
        assert!(check(PDF, ScanFormat::Png).is_err());
        assert!(check(b"", ScanFormat::Jpeg).is_err());
    }

    #[test]
    fn content_types_are_read_without_their_parameters() {
        assert_eq!(
            ScanFormat::declared(Some("Application/PDF; name=scan.pdf")).unwrap(),
            ScanFormat::Pdf
        );
        assert!(ScanFormat::declared(Some("text/plain")).is_err());
        assert!(ScanFormat::declared(None).is_err());
    }
}
