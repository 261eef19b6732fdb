//! What a badge looks like, drawn once for every way it is printed (an A6 page, a quarter of an
//! A4 sheet): the category band, the event, the photo or its placeholder, name, organization,
//! country, a delegation member's protocol level, the QR code and the number. Positions are in
//! millimetres from the badge's top-left corner; [`Canvas`] turns them into PDF's points from
//! the page's bottom-left.

use pdf_writer::{Content, Name, Str};

use super::Category;
use super::cards::BadgeCard;
use super::embedded_fonts::FontInDocument;
use super::paper::{A6, MM};
use super::pdf::fit;
use super::qr_modules::QrModules;

type Colour = (u8, u8, u8);

const WHITE: Colour = (255, 255, 255);
const BLACK: Colour = (0, 0, 0);
const GREEN: Colour = (31, 77, 43);
const DARK_GREY: Colour = (40, 40, 40);

/// The regular and the bold font of a document.
pub struct Fonts {
    pub regular: FontInDocument,
    pub bold: FontInDocument,
}

/// The resource names pages give the fonts.
pub const REGULAR_FONT: Name = Name(b"F0");
pub const BOLD_FONT: Name = Name(b"F1");

/// A page being drawn, with the origin at the top-left corner of the badge being drawn.
pub struct Canvas<'a> {
    pub content: &'a mut Content,
    pub fonts: &'a mut Fonts,
    /// The page's height, in points.
    pub page_height: f32,
    /// Where the badge's top-left corner is on the page, in millimetres.
    pub origin: (f32, f32),
}

impl Canvas<'_> {
    /// A point in millimetres from the badge's top-left corner, in points from the page's
    /// bottom-left.
    fn point(&self, x: f32, y: f32) -> (f32, f32) {
        (
            (self.origin.0 + x) * MM,
            self.page_height - (self.origin.1 + y) * MM,
        )
    }

    fn fill(&mut self, (r, g, b): Colour) {
        let channel = |c: u8| f32::from(c) / 255.0;
        self.content
            .set_fill_rgb(channel(r), channel(g), channel(b));
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, colour: Colour) {
        self.fill(colour);
        let (left, bottom) = self.point(x, y + h);
        self.content
            .rect(left, bottom, w * MM, h * MM)
            .fill_nonzero();
    }

    /// `value` with its baseline starting at (x, y).
    fn text(&mut self, bold: bool, size: f32, x: f32, y: f32, value: &str, colour: Colour) {
        self.fill(colour);
        let (left, baseline) = self.point(x, y);
        let (font, name) = if bold {
            (&mut self.fonts.bold, BOLD_FONT)
        } else {
            (&mut self.fonts.regular, REGULAR_FONT)
        };
        let glyphs = font.shape(value);
        self.content.begin_text();
        self.content.set_font(name, size);
        self.content
            .set_text_matrix([1.0, 0.0, 0.0, 1.0, left, baseline]);
        let mut shown = self.content.show_positioned();
        let mut items = shown.items();
        // Glyphs go in runs of two-byte CIDs; a glyph shaped off its declared width (kerning, a
        // mark's offset) gets an adjustment, in thousandths of the size, against the pen.
        let mut run = Vec::new();
        for glyph in glyphs {
            if glyph.offset != 0.0 {
                items.show(Str(&run));
                run.clear();
                items.adjust(-glyph.offset);
            }
            run.extend(glyph.cid.to_be_bytes());
            let adjustment = glyph.width + glyph.offset - glyph.advance;
            if adjustment != 0.0 {
                items.show(Str(&run));
                run.clear();
                items.adjust(adjustment);
            }
        }
        if !run.is_empty() {
            items.show(Str(&run));
        }
        drop(items);
        drop(shown);
        self.content.end_text();
    }

    /// The image XObject `name` filling the box at (x, y), `w` × `h` millimetres.
    fn image(&mut self, name: Name, x: f32, y: f32, w: f32, h: f32) {
        let (left, bottom) = self.point(x, y + h);
        self.content
            .save_state()
            .transform([w * MM, 0.0, 0.0, h * MM, left, bottom])
            .x_object(name)
            .restore_state();
    }

    /// The QR code `code`, `size` millimetres wide, at (x, y).
    fn qr(&mut self, code: &QrModules, x: f32, y: f32, size: f32) {
        let squares = code.squares(x, y, size);
        self.rect(x, y, size, size, WHITE);
        self.fill(BLACK);
        let side = squares.module * MM;
        for (left, top, width) in squares.runs {
            let (px, py) = self.point(left, top + squares.module);
            self.content.rect(px, py, width * MM, side);
        }
        self.content.fill_nonzero();
    }
}

impl Category {
    /// The colour of the band across the top of the badge, and what it says.
    fn band(self) -> (Colour, &'static str) {
        match self {
            Category::ExhibitorStaff => ((31, 77, 43), "EXPOSANT · EXHIBITOR"),
            Category::DelegationMember => ((150, 20, 30), "DÉLÉGATION OFFICIELLE"),
            Category::TradeVisitor => ((20, 70, 140), "VISITEUR PROFESSIONNEL"),
            Category::PublicVisitor => ((90, 90, 90), "VISITEUR · VISITOR"),
            Category::Media => ((210, 120, 0), "PRESSE · MEDIA"),
            Category::Vip => ((120, 20, 120), "VIP"),
            Category::OrganizerStaff => ((0, 0, 0), "ORGANISATION"),
            Category::Contractor => ((100, 60, 20), "PRESTATAIRE"),
        }
    }
}

/// Draws `card`'s badge with its QR code `qr` (encoded from `card.qr`); `photo` names the image
/// XObject of its photo (`None`: the person has none, and gets the grey placeholder; an
/// unreadable one never gets here, see `badge_photo.rs`).
pub fn draw_badge(canvas: &mut Canvas, card: &BadgeCard, qr: &QrModules, photo: Option<Name>) {
    let (width, height) = A6;
    canvas.rect(0.0, 0.0, width, height, WHITE);
    let (colour, label) = card.category.band();
    canvas.rect(0.0, 0.0, width, 16.0, colour);
    canvas.text(true, 13.0, 6.0, 10.5, label, WHITE);
    canvas.text(true, 10.0, 6.0, 24.0, &fit(&card.event_name, 48), GREEN);

    let (frame_x, frame_y, frame_w, frame_h) = (6.0, 30.0, 30.0, 37.5);
    match photo {
        Some(name) => canvas.image(name, frame_x, frame_y, frame_w, frame_h),
        None => {
            canvas.rect(frame_x, frame_y, frame_w, frame_h, (225, 225, 225));
            let (x, y) = (frame_x + 9.0, frame_y + 20.0);
            canvas.text(false, 8.0, x, y, "PHOTO", (120, 120, 120));
        }
    }
    let name_x = 40.0;
    canvas.text(true, 12.0, name_x, 36.0, &fit(&card.holder_name, 26), BLACK);
    let organization = fit(&card.organization, 32);
    canvas.text(false, 9.0, name_x, 44.0, &organization, DARK_GREY);
    canvas.text(false, 9.0, name_x, 51.0, &fit(&card.country, 32), DARK_GREY);
    if let Some(level) = &card.protocol_level {
        let level = format!("Protocole : {level}");
        canvas.text(true, 9.0, name_x, 58.0, &level, GREEN);
    }

    canvas.qr(qr, 27.5, 74.0, 50.0);
    canvas.text(true, 12.0, 6.0, height - 8.0, &card.number, BLACK);
    canvas.rect(0.0, height - 3.0, width, 3.0, colour);
}
