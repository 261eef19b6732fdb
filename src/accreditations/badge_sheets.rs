//! Badge PDFs written as they are drawn, so that a batch of any size costs the memory of one
//! sheet: one A6 page per badge, or A4 sheets of four for batch printing and cutting.
//!
//! A PDF is a header, numbered objects, and at its end a table of where each object starts (the
//! xref) and a trailer naming the catalog. Everything a page refers to before it exists — the
//! page tree, the two fonts — gets its number up front; each photo (its stored JPEG copied as
//! it is, DCTDecode), each page's contents (Flate) and each page are written out as soon as
//! they are made, with their byte offsets recorded. The fonts are subset at the end, from the
//! glyphs collected on the way (`embedded_fonts.rs`), and written with the page tree, the catalog,
//! the xref and the trailer. What stays in memory until then grows by one offset per object and
//! one reference per page (a few bytes a badge), not by what was drawn.
//!
//! [`BadgeSheets::take_output`] hands over the bytes written so far: a caller that sends them
//! as it goes holds at most what was drawn since.

use flate2::Compression;
use pdf_writer::{Chunk, Content, Filter, Finish, Name, Rect, Ref};
use rayon::prelude::*;

use super::badge_layout::{BOLD_FONT, Canvas, Fonts, REGULAR_FONT, draw_badge};
use super::badge_photo::{self, PhotoCheck};
use super::cards::BadgeCard;
use super::embedded_fonts::{FontInDocument, deflate, dejavu};
use super::paper::{A4, A6, MM};
use super::qr_modules::QrModules;
use crate::error::{ApiError, ApiResult};

/// The resource names of the photos of a sheet, one per slot.
const PHOTOS: [Name; 4] = [Name(b"P0"), Name(b"P1"), Name(b"P2"), Name(b"P3")];

/// How badges are laid out on paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    /// One A6 page a badge.
    A6,
    /// A4 sheets of four badges, two by two.
    A4,
}

impl Paper {
    /// The page's width and height, in millimetres.
    fn size(self) -> (f32, f32) {
        match self {
            Paper::A6 => A6,
            Paper::A4 => A4,
        }
    }

    fn badges_per_sheet(self) -> usize {
        match self {
            Paper::A6 => 1,
            Paper::A4 => 4,
        }
    }

    /// Where the `slot`-th badge of a sheet has its top-left corner, in millimetres.
    fn origin(self, slot: usize) -> (f32, f32) {
        let (col, row) = ((slot % 2) as f32, (slot / 2) as f32);
        (col * A6.0, row * A6.1)
    }
}

/// The sheet being filled: its drawing so far and the photos it shows, by slot.
struct OpenSheet {
    content: Content,
    photos: Vec<(Name<'static>, Ref)>,
    badges: usize,
}

/// A badge PDF being written; see the module's documentation.
pub struct BadgeSheets {
    paper: Paper,
    output: Vec<u8>,
    /// Bytes written before `output`'s first: where the next object starts is their sum.
    taken: usize,
    /// Each object's offset, by number (object `n` at index `n - 1`); `None` until written.
    offsets: Vec<Option<usize>>,
    catalog: Ref,
    page_tree: Ref,
    fonts: Fonts,
    pages: Vec<Ref>,
    sheet: Option<OpenSheet>,
}

/// A new object number.
fn allocate(offsets: &mut Vec<Option<usize>>) -> Ref {
    offsets.push(None);
    Ref::new(offsets.len() as i32)
}

impl BadgeSheets {
    pub fn new(paper: Paper) -> ApiResult<Self> {
        let mut offsets = Vec::new();
        let (catalog, page_tree) = (allocate(&mut offsets), allocate(&mut offsets));
        let fonts = Fonts {
            regular: FontInDocument::new(dejavu(false)?, allocate(&mut offsets)),
            bold: FontInDocument::new(dejavu(true)?, allocate(&mut offsets)),
        };
        Ok(Self {
            paper,
            // The header; the second line's bytes above 127 tell tools the file is binary.
            output: b"%PDF-1.7\n%\x80\x80\x80\x80\n".to_vec(),
            taken: 0,
            offsets,
            catalog,
            page_tree,
            fonts,
            pages: Vec::new(),
            sheet: None,
        })
    }

    /// The bytes written since the last call.
    pub fn take_output(&mut self) -> Vec<u8> {
        self.taken += self.output.len();
        std::mem::take(&mut self.output)
    }

    fn next_ref(&mut self) -> Ref {
        allocate(&mut self.offsets)
    }

    /// Writes the object `id` that `chunk` holds, recording where it starts.
    fn emit(&mut self, id: Ref, chunk: &Chunk) {
        self.offsets[id.get() as usize - 1] = Some(self.taken + self.output.len());
        self.output.extend_from_slice(chunk.as_bytes());
    }

    /// Draws the badges of `cards` in the next slots, in order: their QR codes are encoded in
    /// parallel first, on the cores rayon has. CPU-bound: call it off the executor.
    pub fn add_all(&mut self, cards: &[&BadgeCard]) -> ApiResult<()> {
        let codes = cards
            .par_iter()
            .map(|card| QrModules::encode(&card.qr))
            .collect::<ApiResult<Vec<_>>>()?;
        for (card, code) in cards.iter().zip(&codes) {
            self.add(card, code)?;
        }
        Ok(())
    }

    /// Draws `card`'s badge in the next slot, writing its photo now and its sheet once full.
    /// The photo must have been judged to decode ([`PhotoCheck`]); one whose header has become
    /// unreadable since is refused here.
    fn add(&mut self, card: &BadgeCard, qr: &QrModules) -> ApiResult<()> {
        let photo = match &card.photo {
            Some(jpeg) => Some(self.write_photo(&card.number, jpeg)?),
            None => None,
        };
        let mut sheet = self.sheet.take().unwrap_or_else(|| OpenSheet {
            content: Content::new(),
            photos: Vec::new(),
            badges: 0,
        });
        let slot = sheet.badges;
        let name = photo.map(|photo| {
            sheet.photos.push((PHOTOS[slot], photo));
            PHOTOS[slot]
        });
        let mut canvas = Canvas {
            content: &mut sheet.content,
            fonts: &mut self.fonts,
            page_height: self.paper.size().1 * MM,
            origin: self.paper.origin(slot),
        };
        draw_badge(&mut canvas, card, qr, name);
        sheet.badges += 1;
        if sheet.badges == self.paper.badges_per_sheet() {
            self.write_sheet(sheet);
        } else {
            self.sheet = Some(sheet);
        }
        Ok(())
    }

    /// The stored JPEG as an image object, its bytes as they are.
    fn write_photo(&mut self, number: &str, jpeg: &[u8]) -> ApiResult<Ref> {
        let photo = badge_photo::embeddable(number, jpeg)?;
        let id = self.next_ref();
        let mut chunk = Chunk::with_capacity(photo.bytes.len() + 256);
        let mut image = chunk.image_xobject(id, photo.bytes);
        image
            .width(photo.width as i32)
            .height(photo.height as i32)
            .color_space_name(Name(if photo.grey {
                b"DeviceGray"
            } else {
                b"DeviceRGB"
            }))
            .bits_per_component(8)
            .interpolate(true)
            .filter(Filter::DctDecode);
        image.finish();
        self.emit(id, &chunk);
        Ok(id)
    }

    fn write_sheet(&mut self, sheet: OpenSheet) {
        let contents = self.next_ref();
        let page = self.next_ref();
        // Fast compression: the sheet's rectangles and text shrink nearly as much as at the
        // default level, in a fraction of the time; the photos are most of the file anyway.
        let data = deflate(&sheet.content.finish().into_vec(), Compression::fast());
        let mut chunk = Chunk::new();
        chunk.stream(contents, &data).filter(Filter::FlateDecode);
        self.emit(contents, &chunk);

        let (width, height) = self.paper.size();
        let mut chunk = Chunk::new();
        let mut writer = chunk.page(page);
        writer
            .parent(self.page_tree)
            .media_box(Rect::new(0.0, 0.0, width * MM, height * MM))
            .contents(contents);
        let mut resources = writer.resources();
        resources
            .fonts()
            .pair(REGULAR_FONT, self.fonts.regular.reference)
            .pair(BOLD_FONT, self.fonts.bold.reference);
        resources.x_objects().pairs(sheet.photos.iter().copied());
        resources.finish();
        writer.finish();
        self.emit(page, &chunk);
        self.pages.push(page);
    }

    /// Writes the last sheet, the fonts, the page tree, the catalog, the xref and the trailer,
    /// and hands over the bytes not taken yet.
    pub fn finish(mut self) -> ApiResult<Vec<u8>> {
        if let Some(sheet) = self.sheet.take() {
            self.write_sheet(sheet);
        }
        let mut fonts = self.fonts.regular.write(|| allocate(&mut self.offsets))?;
        fonts.extend(self.fonts.bold.write(|| allocate(&mut self.offsets))?);
        for (id, chunk) in &fonts {
            self.emit(*id, chunk);
        }
        let mut chunk = Chunk::new();
        chunk
            .pages(self.page_tree)
            .kids(self.pages.iter().copied())
            .count(self.pages.len() as i32);
        self.emit(self.page_tree, &chunk);
        let mut chunk = Chunk::new();
        chunk
            .indirect(self.catalog)
            .start::<pdf_writer::writers::Catalog>()
            .pages(self.page_tree);
        self.emit(self.catalog, &chunk);

        let xref = self.taken + self.output.len();
        let objects = self.offsets.len() + 1;
        let mut table = format!("xref\n0 {objects}\n0000000000 65535 f\r\n");
        for (number, offset) in self.offsets.iter().enumerate() {
            let offset = offset.ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!(
                    "PDF object {} was never written",
                    number + 1
                ))
            })?;
            table.push_str(&format!("{offset:010} 00000 n\r\n"));
        }
        table.push_str(&format!(
            "trailer\n<< /Size {objects} /Root {} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            self.catalog.get()
        ));
        self.output.extend_from_slice(table.as_bytes());
        Ok(self.output)
    }
}

/// One badge on an A6 page, its photo decoded first: one that does not is the error
/// (`photo_unreadable`), before anything is drawn. CPU-bound: call it off the executor.
pub fn badge_a6(card: &BadgeCard) -> ApiResult<Vec<u8>> {
    let mut check = PhotoCheck::default();
    check.judge_all(&[(&card.number, card.photo.as_deref())]);
    check.verdict()?;
    let mut sheets = BadgeSheets::new(Paper::A6)?;
    sheets.add_all(&[card])?;
    sheets.finish()
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::accreditations::Category;

    fn card(n: usize, photo: bool) -> BadgeCard {
        let photo = photo.then(|| {
            let image = image::RgbImage::from_pixel(400, 500, image::Rgb([230, 40, 170]));
            let mut jpeg = Vec::new();
            image
                .write_to(&mut Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
                .unwrap();
            jpeg
        });
        BadgeCard {
            event_name: "BAMEX 2026".into(),
            holder_name: format!("Ayşe ŞAHİN {n}"),
            organization: "Sahel Optique".into(),
            country: "Türkiye".into(),
            category: Category::TradeVisitor,
            protocol_level: Some("VIP".into()),
            number: format!("B26-TRV-{n:06}"),
            qr: "x".repeat(300),
            photo,
        }
    }

    #[test]
    fn every_object_starts_where_the_xref_says_though_the_output_was_taken_on_the_way() {
        let mut sheets = BadgeSheets::new(Paper::A4).unwrap();
        let mut pdf = Vec::new();
        for n in 0..5 {
            sheets.add_all(&[&card(n, n % 2 == 0)]).unwrap();
            pdf.extend(sheets.take_output());
        }
        pdf.extend(sheets.finish().unwrap());
        let text = String::from_utf8_lossy(&pdf);
        let xref: usize = text
            .rsplit_once("startxref\n")
            .and_then(|(_, rest)| rest.lines().next())
            .unwrap()
            .parse()
            .unwrap();
        let table = std::str::from_utf8(&pdf[xref..]).unwrap();
        let mut lines = table.lines().skip(1);
        let count: usize = lines.next().unwrap()[2..].parse().unwrap();
        let offsets: Vec<usize> = lines
            .skip(1)
            .take(count - 1)
            .map(|entry| entry[..10].parse().unwrap())
            .collect();
        assert_eq!(offsets.len(), count - 1);
        for (i, offset) in offsets.into_iter().enumerate() {
            let header = format!("{} 0 obj", i + 1);
            assert!(pdf[offset..].starts_with(header.as_bytes()), "{header}");
        }
        // Two A4 sheets: five badges, four a sheet; three photos.
        assert_eq!(
            text.matches("/Type /Page\n").count() + text.matches("/Type /Page ").count(),
            2
        );
        assert_eq!(text.matches("/DCTDecode").count(), 3);
    }
}
