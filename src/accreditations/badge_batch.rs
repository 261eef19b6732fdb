//! A batch of badges printed as one PDF that is sent while it is written, so that neither the
//! server nor the batch's size decides how much memory it takes.
//!
//! Every photo must be known to decode before the first byte is sent: once the answer has
//! started, a refusal can no longer be a 409, only a cut download. Holding the batch's cards
//! until then is what made batches cost memory in proportion to their size, so the photos are
//! read twice instead: [`check`] reads the cards a page of ids at a time and keeps only the
//! verdict (which accreditations have a card, which badges' photos do not decode); [`stream`]
//! then reads them again, a page at a time, and draws them. The second read costs the
//! database what the first did (a few milliseconds a page here), and a photo replaced in
//! between is printed as it is then: uploads are re-encoded, so only a damaged store could
//! make it unreadable, which the writer still notices in the photo's header (the download is
//! then cut short, never completed with a blank).
//!
//! Each page of cards takes a pooled connection for its query alone, and the next page is only
//! read and drawn when actix asks for more body, that is when the client has taken the previous
//! chunk: a slow client slows the drawing down rather than making the server hold the PDF, and
//! never holds a connection while it reads (as the CSV exports, `csv_export.rs`).
//!
//! The prints are counted once the PDF is complete: when its last chunk (the fonts, the xref,
//! the trailer) has been written and before it is handed over, so a client that received a
//! whole PDF was always counted, and one cut off before the end (or a HEAD, whose body is not
//! run) was not.

use actix_web::web::Bytes;
use futures_util::{Stream, stream};
use tokio::sync::SemaphorePermit;
use uuid::Uuid;

use super::badge_photo::PhotoCheck;
use super::badge_sheets::{BadgeSheets, Paper};
use super::cards::{BadgeCard, cards, no_card, render};
use super::store;
use crate::db::DbPool;
use crate::error::{ApiError, ApiResult};

/// Cards read by one query: with their photos (about 40 KB each), what a batch holds at once.
const CARDS_PER_QUERY: usize = 50;

/// Those of `ids` that have a card (in order), once every one of their photos was decoded; or
/// why none has a card (`no_card`), or the refusal naming the badges whose photo does not
/// decode (`photo_unreadable`).
pub async fn check(pool: &DbPool, ids: &[Uuid]) -> ApiResult<Vec<Uuid>> {
    let mut printable = Vec::new();
    let mut photos = PhotoCheck::default();
    for page in ids.chunks(CARDS_PER_QUERY) {
        let cards = cards(&mut *pool.get().await?, page).await?;
        printable.extend(cards.iter().map(|(id, _)| *id));
        photos = render(move || {
            let judged: Vec<(&str, Option<&[u8]>)> = cards
                .iter()
                .map(|(_, card)| (card.number.as_str(), card.photo.as_deref()))
                .collect();
            photos.judge_all(&judged);
            Ok(photos)
        })
        .await?;
    }
    if printable.is_empty() {
        return Err(no_card(&mut *pool.get().await?, ids).await?);
    }
    photos.verdict()?;
    Ok(printable)
}

/// What a batch still has to print, and what it printed.
struct Batch {
    pool: DbPool,
    ids: Vec<Uuid>,
    next: usize,
    sheets: BadgeSheets,
    printed: Vec<Uuid>,
    /// The batch's slot among those printed at once, given back when the stream ends or is
    /// dropped (the client left).
    _slot: SemaphorePermit<'static>,
}

impl Batch {
    /// Draws the next page of cards and returns what it wrote, or writes the end of the PDF,
    /// counts the prints and returns the last chunk (and no batch).
    async fn step(mut self) -> ApiResult<(Bytes, Option<Self>)> {
        let page = &self.ids[self.next..(self.next + CARDS_PER_QUERY).min(self.ids.len())];
        if page.is_empty() {
            let Self {
                pool,
                sheets,
                printed,
                ..
            } = self;
            let last = render(move || sheets.finish()).await?;
            store::count_prints(&mut *pool.get().await?, &printed).await?;
            return Ok((Bytes::from(last), None));
        }
        self.next += page.len();
        let cards = cards(&mut *self.pool.get().await?, page).await?;
        self.printed.extend(cards.iter().map(|(id, _)| *id));
        let mut sheets = self.sheets;
        let (sheets, written) = render(move || {
            let drawn: Vec<&BadgeCard> = cards.iter().map(|(_, card)| card).collect();
            sheets.add_all(&drawn)?;
            let written = sheets.take_output();
            Ok((sheets, written))
        })
        .await?;
        self.sheets = sheets;
        Ok((Bytes::from(written), Some(self)))
    }
}

/// The PDF of the cards of `printable` (as [`check`] found them) on A4 sheets of four, as a
/// body that draws the next cards whenever it is asked for more. `slot` is held until it ends.
pub fn stream(
    pool: DbPool,
    printable: Vec<Uuid>,
    slot: SemaphorePermit<'static>,
) -> ApiResult<impl Stream<Item = ApiResult<Bytes>> + 'static> {
    let batch = Batch {
        pool,
        ids: printable,
        next: 0,
        sheets: BadgeSheets::new(Paper::A4)?,
        printed: Vec::new(),
        _slot: slot,
    };
    Ok(stream::try_unfold(Some(batch), |batch| async move {
        let Some(mut batch) = batch else {
            return Ok(None);
        };
        loop {
            match batch.step().await {
                // A page that drew nothing whole (its cards revoked since the check): an empty
                // chunk would end the body, so the next page follows.
                Ok((chunk, Some(next))) if chunk.is_empty() => batch = next,
                Ok((chunk, next)) => return Ok(Some((chunk, next))),
                Err(error) => {
                    tracing::error!(error = %error.log_message(), "a badge batch PDF stopped midway");
                    return Err::<_, ApiError>(error);
                }
            }
        }
    }))
}
