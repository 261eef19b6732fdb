//! The CSV exports (accreditations, exhibitors, delegations with their members, scans), written
//! once: UTF-8 with a byte-order mark so that Excel reads the accents, every cell neutralised
//! against formula injection, and the rows streamed page by page.
//!
//! Why pages, not one body: an event has up to 2,000 exhibitors and 130,000 scans, and an
//! export built as one `Vec` of rows and then one `String` holds both at once for each caller.
//! Here a [`Sheet`] reads its rows a page at a time (keyset on its order, like the lists), each
//! page is written to CSV and handed to actix as one chunk of a chunked response, and the next
//! page is only read when actix asks for more — that is, when the client has taken the previous
//! one — so an export holds one page whatever its length. Each page takes a pooled connection
//! for its query alone and gives it back before its chunk is sent: a slow download never holds
//! a connection (nor a transaction) while it waits on the client. The price is that an export is
//! not one snapshot: a row added during a download appears if it sorts after the rows already
//! sent. No row is sent twice and none present from start to end is missed, since pages follow
//! each other by key.
//!
//! The first page is read before the answer starts, so that a filter the query refuses or a
//! database that is down still gets its problem document (422, 503). A failure on a later page
//! can only cut the response short: the chunked body then ends without its last chunk, which
//! every HTTP client reports as an incomplete download, rather than a file that looks whole.

use std::borrow::Cow;
use std::future::Future;

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::Bytes;
use diesel_async::AsyncPgConnection;
use futures_util::{StreamExt, stream};

use crate::auth::extract::CurrentUser;
use crate::db::DbPool;
use crate::error::{ApiError, ApiResult};
use crate::events::Event;
use crate::events::path::EventPath;

/// Rows read and written at a time.
const PAGE_ROWS: i64 = 500;

/// What Excel needs to read a CSV file as UTF-8.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A CSV cell that a spreadsheet will not run as a formula: text starting with `=`, `+`, `-`,
/// `@`, a tab or a carriage return gets a leading `'`.
pub fn cell(value: &str) -> Cow<'_, str> {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{value}")),
        _ => Cow::Borrowed(value),
    }
}

/// One export: its columns, how its rows are read page by page, and how a row becomes cells.
pub trait Sheet: 'static {
    type Row;
    /// A row's position in the sheet's order, from which the next page starts.
    type Key: 'static;

    /// The header row.
    const COLUMNS: &'static [&'static str];

    /// Up to `limit` rows after `after` (from the first one when `None`), in the sheet's order.
    fn page(
        &self,
        conn: &mut AsyncPgConnection,
        after: Option<&Self::Key>,
        limit: i64,
    ) -> impl Future<Output = ApiResult<Vec<Self::Row>>>;

    fn key(&self, row: &Self::Row) -> Self::Key;

    /// The row's values in the order of [`Self::COLUMNS`], as they are; [`cell`] is applied
    /// to every one when it is written.
    fn cells(&self, row: Self::Row) -> Vec<String>;
}

/// Writes CSV records and hands over what was written so far as one chunk.
struct Chunks(csv::Writer<Vec<u8>>);

impl Chunks {
    fn new() -> Self {
        Self(csv::Writer::from_writer(BOM.to_vec()))
    }

    fn write<'a>(&mut self, values: impl IntoIterator<Item = &'a str>) -> ApiResult<()> {
        for value in values {
            self.0.write_field(cell(value).as_bytes()).map_err(failed)?;
        }
        // An empty record ends the one written field by field.
        self.0.write_record(None::<&[u8]>).map_err(failed)
    }

    fn take(&mut self) -> ApiResult<Bytes> {
        let written = std::mem::replace(&mut self.0, csv::Writer::from_writer(Vec::new()));
        let bytes = written
            .into_inner()
            .map_err(|e| failed(csv::Error::from(e.into_error())))?;
        Ok(Bytes::from(bytes))
    }
}

fn failed(e: csv::Error) -> ApiError {
    ApiError::Internal(anyhow::Error::new(e).context("writing CSV"))
}

/// Reads the page after `after` on a connection of its own and writes it; returns the chunk and
/// where the next page starts (`None` after the last one).
async fn next_page<S: Sheet>(
    pool: &DbPool,
    sheet: &S,
    after: Option<&S::Key>,
    out: &mut Chunks,
) -> ApiResult<(Bytes, Option<S::Key>)> {
    let rows = {
        let mut conn = pool.get().await?;
        sheet.page(&mut conn, after, PAGE_ROWS).await?
    };
    let next = match rows.last() {
        Some(last) if rows.len() as i64 >= PAGE_ROWS => Some(sheet.key(last)),
        _ => None,
    };
    for row in rows {
        let cells = sheet.cells(row);
        out.write(cells.iter().map(String::as_str))?;
    }
    Ok((out.take()?, next))
}

/// The export `name` of the event in the path, for `organizer`: the event is loaded as they may
/// see it (404 when there is none), `sheet` says what to read of it, and the answer is a
/// `text/csv` attachment named `{slug}-{name}.csv`.
pub async fn of_event<S: Sheet>(
    pool: &DbPool,
    path: &EventPath,
    organizer: &CurrentUser,
    name: &str,
    sheet: impl FnOnce(&Event) -> S,
) -> ApiResult<HttpResponse> {
    let event = {
        let mut conn = pool.get().await?;
        path.load_event(&mut conn, Some(organizer)).await?
    };
    respond(pool, &event.slug, name, sheet(&event)).await
}

/// The sheet as a `text/csv` attachment named `{slug}-{name}.csv`, streamed page by page (for
/// an export of no one event, `slug` names the platform).
pub async fn respond<S: Sheet>(
    pool: &DbPool,
    slug: &str,
    name: &str,
    sheet: S,
) -> ApiResult<HttpResponse> {
    let mut out = Chunks::new();
    out.write(S::COLUMNS.iter().copied())?;
    let (first, next) = next_page(pool, &sheet, None, &mut out).await?;
    let rest = stream::try_unfold(
        (pool.clone(), sheet, out, next),
        |(pool, sheet, mut out, after)| async move {
            let Some(after) = after else {
                return Ok(None);
            };
            match next_page(&pool, &sheet, Some(&after), &mut out).await {
                // A last page found empty: nothing to send (an empty chunk would end the body).
                Ok((chunk, _)) if chunk.is_empty() => Ok(None),
                Ok((chunk, next)) => Ok(Some((chunk, (pool, sheet, out, next)))),
                Err(error) => {
                    tracing::error!(error = %error.log_message(), "a CSV export stopped midway");
                    Err(error)
                }
            }
        },
    );
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{slug}-{name}.csv\""),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .streaming(stream::once(async { Ok::<_, ApiError>(first) }).chain(rest)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_other_text_is_kept() {
        for formula in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(cell(formula), format!("'{formula}"));
        }
        for text in ["Ékué", "a=b", "", "2026-11-24T08:00:00+00:00"] {
            assert_eq!(cell(text), text);
        }
    }

    #[test]
    fn chunks_start_with_the_bom_and_hand_over_each_part_once() {
        let mut out = Chunks::new();
        out.write(["id", "name"]).unwrap();
        out.write(["1", "=cmd"]).unwrap();
        assert_eq!(&out.take().unwrap()[..], b"\xEF\xBB\xBFid,name\n1,'=cmd\n");
        out.write(["2", "a,b"]).unwrap();
        assert_eq!(&out.take().unwrap()[..], b"2,\"a,b\"\n");
        assert!(out.take().unwrap().is_empty());
    }
}
