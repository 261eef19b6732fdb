//! Printable documents: the A6 badge, A4 sheets of four badges, and the invitation letters a
//! foreign participant shows for a visa. Drawn with krilla; the DejaVu fonts are compiled in and
//! subset into each file, so Turkish, French and Polish names print the same everywhere.
//!
//! The fonts are parsed (and hashed, which krilla does over their 1.4 MB) once per process, not
//! once per document: a badge attached to an email costs its drawing and its font subset only.
//! krilla finishes a document in memory (`Document::finish` returns the whole file; fonts are
//! subset once every glyph is known), so a batch costs memory in proportion to its badges; the
//! batch route bounds it with its cap (BENCHMARKS.md, "Batch badge PDFs").

use std::sync::LazyLock;

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use krilla::{Data, Document};
use qrcode::{Color, QrCode};

use super::Category;
use super::badge_photo;
use crate::error::{ApiError, ApiResult};
use crate::letters::LetterLanguage;

static REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// PDF points per millimetre.
const MM: f32 = 72.0 / 25.4;
const A6: (f32, f32) = (105.0, 148.0);
const A4: (f32, f32) = (210.0, 297.0);

/// What a badge shows.
pub struct BadgeCard {
    pub event_name: String,
    pub holder_name: String,
    pub organization: String,
    pub country: String,
    pub category: Category,
    /// A delegation member's protocol level as printed (`VVIP`, `VIP`, `STANDARD`).
    pub protocol_level: Option<String>,
    pub number: String,
    pub qr: String,
    /// The badge photo as stored, a JPEG (see `participants/photos.rs`); checked to decode
    /// before anything is drawn (`badge_photo.rs`).
    pub photo: Option<Data>,
}

struct Fonts {
    regular: Font,
    bold: Font,
}

/// The embedded fonts, parsed on first use; `None` if they do not parse (a unit test makes sure
/// they do).
static FONTS: LazyLock<Option<Fonts>> = LazyLock::new(|| {
    Some(Fonts {
        regular: Font::new(REGULAR.into(), 0)?,
        bold: Font::new(BOLD.into(), 0)?,
    })
});

fn fonts() -> ApiResult<&'static Fonts> {
    FONTS
        .as_ref()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("embedded font unreadable")))
}

fn fill(surface: &mut Surface, (r, g, b): (u8, u8, u8)) {
    surface.set_fill(Some(Fill {
        paint: rgb::Color::new(r, g, b).into(),
        opacity: NormalizedF32::ONE,
        rule: FillRule::NonZero,
    }));
}

fn rect(surface: &mut Surface, x: f32, y: f32, w: f32, h: f32, color: (u8, u8, u8)) {
    let mut path = PathBuilder::new();
    if let Some(r) = Rect::from_xywh(x * MM, y * MM, w * MM, h * MM) {
        path.push_rect(r);
    }
    if let Some(path) = path.finish() {
        fill(surface, color);
        surface.draw_path(&path);
    }
}

fn text(
    surface: &mut Surface,
    font: &Font,
    size: f32,
    x: f32,
    y: f32,
    value: &str,
    color: (u8, u8, u8),
) {
    fill(surface, color);
    surface.draw_text(
        Point::from_xy(x * MM, y * MM),
        font.clone(),
        size,
        value,
        false,
        TextDirection::Auto,
    );
}

/// Cuts a text to `max` characters, with an ellipsis, so it stays inside the card.
fn fit(value: &str, max: usize) -> String {
    if value.chars().count() <= max {
        value.to_owned()
    } else {
        value.chars().take(max - 1).chain(['…']).collect()
    }
}

impl Category {
    /// The colour of the band across the top of the badge.
    fn band(self) -> ((u8, u8, u8), &'static str) {
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

/// The QR code as one path of dark modules, `size` millimetres wide, at (x, y).
fn qr(surface: &mut Surface, token: &str, x: f32, y: f32, size: f32) -> ApiResult<()> {
    let code = QrCode::new(token.as_bytes())
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("QR encoding failed: {e}")))?;
    let width = code.width();
    // A quiet zone of four modules on each side, as scanners expect.
    let module = size / (width + 8) as f32;
    rect(surface, x, y, size, size, (255, 255, 255));
    let mut path = PathBuilder::new();
    for (i, color) in code.to_colors().into_iter().enumerate() {
        if color == Color::Dark {
            let (col, row) = ((i % width) as f32, (i / width) as f32);
            if let Some(r) = Rect::from_xywh(
                (x + (col + 4.0) * module) * MM,
                (y + (row + 4.0) * module) * MM,
                module * MM,
                module * MM,
            ) {
                path.push_rect(r);
            }
        }
    }
    if let Some(path) = path.finish() {
        fill(surface, (0, 0, 0));
        surface.draw_path(&path);
    }
    Ok(())
}

/// Draws one A6 badge with its top-left corner at (x, y) millimetres.
fn draw_badge(
    surface: &mut Surface,
    fonts: &Fonts,
    card: &BadgeCard,
    photo: Option<&Image>,
    x: f32,
    y: f32,
) -> ApiResult<()> {
    let (width, height) = A6;
    rect(surface, x, y, width, height, (255, 255, 255));
    let (color, label) = card.category.band();
    rect(surface, x, y, width, 16.0, color);
    text(
        surface,
        &fonts.bold,
        13.0,
        x + 6.0,
        y + 10.5,
        label,
        (255, 255, 255),
    );
    text(
        surface,
        &fonts.bold,
        10.0,
        x + 6.0,
        y + 24.0,
        &fit(&card.event_name, 48),
        (31, 77, 43),
    );

    let frame = (x + 6.0, y + 30.0, 30.0, 37.5);
    match photo {
        Some(image) => {
            surface.push_transform(&Transform::from_translate(frame.0 * MM, frame.1 * MM));
            if let Some(size) = Size::from_wh(frame.2 * MM, frame.3 * MM) {
                surface.draw_image(image.clone(), size);
            }
            surface.pop();
        }
        // No photo on file (an unreadable one never gets here, see `badge_photo.rs`).
        None => {
            rect(surface, frame.0, frame.1, frame.2, frame.3, (225, 225, 225));
            text(
                surface,
                &fonts.regular,
                8.0,
                frame.0 + 9.0,
                frame.1 + 20.0,
                "PHOTO",
                (120, 120, 120),
            );
        }
    }
    let name_x = x + 40.0;
    text(
        surface,
        &fonts.bold,
        12.0,
        name_x,
        y + 36.0,
        &fit(&card.holder_name, 26),
        (0, 0, 0),
    );
    text(
        surface,
        &fonts.regular,
        9.0,
        name_x,
        y + 44.0,
        &fit(&card.organization, 32),
        (40, 40, 40),
    );
    text(
        surface,
        &fonts.regular,
        9.0,
        name_x,
        y + 51.0,
        &fit(&card.country, 32),
        (40, 40, 40),
    );
    if let Some(level) = &card.protocol_level {
        text(
            surface,
            &fonts.bold,
            9.0,
            name_x,
            y + 58.0,
            &format!("Protocole : {level}"),
            (31, 77, 43),
        );
    }

    qr(surface, &card.qr, x + 27.5, y + 74.0, 50.0)?;
    text(
        surface,
        &fonts.bold,
        12.0,
        x + 6.0,
        y + height - 8.0,
        &card.number,
        (0, 0, 0),
    );
    rect(surface, x, y + height - 3.0, width, 3.0, color);
    Ok(())
}

fn finish(document: Document) -> ApiResult<Vec<u8>> {
    document
        .finish()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("PDF generation failed: {e:?}")))
}

/// The cards' photos, every one decoded before anything is drawn (`badge_photo.rs`).
fn photos_of(cards: &[BadgeCard]) -> ApiResult<Vec<Option<Image>>> {
    badge_photo::decode_all(
        cards
            .iter()
            .map(|card| (card.number.as_str(), card.photo.as_ref())),
    )
}

fn page_settings((width, height): (f32, f32)) -> ApiResult<PageSettings> {
    PageSettings::from_wh(width * MM, height * MM)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("page size")))
}

/// One A6 page per badge. Every photo is decoded first: one that does not is the error
/// (`photo_unreadable`), before anything is drawn.
pub fn badges_a6(cards: &[BadgeCard]) -> ApiResult<Vec<u8>> {
    let photos = photos_of(cards)?;
    let fonts = fonts()?;
    let settings = page_settings(A6)?;
    let mut document = Document::new();
    for (card, photo) in cards.iter().zip(&photos) {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        draw_badge(&mut surface, fonts, card, photo.as_ref(), 0.0, 0.0)?;
        surface.finish();
        page.finish();
    }
    finish(document)
}

/// A4 sheets of four badges, two by two, for batch printing and cutting; photos are checked
/// first, as for [`badges_a6`].
pub fn badges_a4(cards: &[BadgeCard]) -> ApiResult<Vec<u8>> {
    let photos = photos_of(cards)?;
    let fonts = fonts()?;
    let settings = page_settings(A4)?;
    let mut document = Document::new();
    for (sheet, sheet_photos) in cards.chunks(4).zip(photos.chunks(4)) {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        for (i, (card, photo)) in sheet.iter().zip(sheet_photos).enumerate() {
            let (col, row) = ((i % 2) as f32, (i / 2) as f32);
            draw_badge(
                &mut surface,
                fonts,
                card,
                photo.as_ref(),
                col * A6.0,
                row * A6.1,
            )?;
        }
        surface.finish();
        page.finish();
    }
    finish(document)
}

/// What the invitation letter states.
pub struct Invitation {
    pub language: LetterLanguage,
    /// Whom it is addressed to; `None`: the consular services in general.
    pub consulate: Option<String>,
    pub event_name: String,
    pub venue: String,
    pub starts_on: String,
    pub ends_on: String,
    pub holder_name: String,
    pub nationality: String,
    pub date_of_birth: String,
    pub document: String,
    pub organization: String,
    pub category: String,
    pub badge_number: String,
    pub issued_on: String,
    /// The verification code, grouped, and the public link the QR carries.
    pub code: String,
    pub verification_url: String,
}

impl Invitation {
    /// The letter's lines below its title, in its language.
    fn lines(&self) -> Vec<String> {
        let french = self.language == LetterLanguage::Fr;
        let addressee = match (&self.consulate, french) {
            (Some(consulate), true) => format!("À l'attention de : {consulate}"),
            (Some(consulate), false) => format!("To: {consulate}"),
            (None, true) => "À l'attention des services consulaires".to_owned(),
            (None, false) => "To the consular services".to_owned(),
        };
        let t = |fr: &str, en: &str| if french { fr.to_owned() } else { en.to_owned() };
        vec![
            addressee,
            String::new(),
            t("Madame, Monsieur,", "Dear Sir or Madam,"),
            String::new(),
            t(
                "Le comité d'organisation certifie que la personne ci-dessous est accréditée pour",
                "The organizing committee certifies that the person below is accredited to attend",
            ),
            if french {
                format!(
                    "{} ({}), du {} au {}.",
                    self.event_name, self.venue, self.starts_on, self.ends_on
                )
            } else {
                format!(
                    "{} ({}), from {} to {}.",
                    self.event_name, self.venue, self.starts_on, self.ends_on
                )
            },
            String::new(),
            format!("{} : {}", t("Nom", "Name"), self.holder_name),
            format!("{} : {}", t("Nationalité", "Nationality"), self.nationality),
            format!(
                "{} : {}",
                t("Date de naissance", "Date of birth"),
                self.date_of_birth
            ),
            format!("Document : {}", self.document),
            format!(
                "{} : {}",
                t("Organisation", "Organization"),
                self.organization
            ),
            format!("{} : {}", t("Catégorie", "Category"), self.category),
            format!("Badge : {}", self.badge_number),
            String::new(),
            t(
                "Nous vous remercions de faciliter la délivrance de son visa.",
                "We thank you for facilitating the issuance of the visa.",
            ),
            String::new(),
            t(
                "Le Comité d'organisation du BAMEX",
                "The BAMEX Organizing Committee",
            ),
        ]
    }
}

/// Invitation letters, one A4 page each, for visa applications: the letter, then its
/// verification code and a QR of its public verification link.
pub fn invitation_letters(letters: &[Invitation]) -> ApiResult<Vec<u8>> {
    let fonts = fonts()?;
    let settings = page_settings(A4)?;
    let mut document = Document::new();
    for letter in letters {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        draw_letter(&mut surface, fonts, letter)?;
        surface.finish();
        page.finish();
    }
    finish(document)
}

fn draw_letter(surface: &mut Surface, fonts: &Fonts, letter: &Invitation) -> ApiResult<()> {
    let green = (31, 77, 43);
    rect(surface, 0.0, 0.0, A4.0, 22.0, green);
    text(
        surface,
        &fonts.bold,
        18.0,
        20.0,
        14.0,
        "BAMEX",
        (255, 255, 255),
    );
    text(
        surface,
        &fonts.regular,
        9.0,
        60.0,
        14.0,
        &fit(&letter.event_name, 80),
        (255, 255, 255),
    );
    text(
        surface,
        &fonts.regular,
        10.0,
        140.0,
        34.0,
        &format!("Bamako, {}", letter.issued_on),
        (0, 0, 0),
    );
    text(
        surface,
        &fonts.bold,
        14.0,
        20.0,
        50.0,
        "LETTRE D'INVITATION — LETTER OF INVITATION",
        green,
    );
    for (i, line) in letter.lines().iter().enumerate() {
        text(
            surface,
            &fonts.regular,
            10.5,
            20.0,
            66.0 + i as f32 * 7.0,
            &fit(line, 95),
            (0, 0, 0),
        );
    }
    let (code_label, link_label) = match letter.language {
        LetterLanguage::Fr => ("Code de vérification", "Vérifier cette lettre :"),
        LetterLanguage::En => ("Verification code", "Verify this letter:"),
    };
    text(
        surface,
        &fonts.regular,
        9.0,
        20.0,
        238.0,
        code_label,
        (0, 0, 0),
    );
    text(
        surface,
        &fonts.bold,
        12.0,
        20.0,
        245.0,
        &letter.code,
        (0, 0, 0),
    );
    text(
        surface,
        &fonts.regular,
        9.0,
        20.0,
        254.0,
        link_label,
        (0, 0, 0),
    );
    text(
        surface,
        &fonts.regular,
        8.0,
        20.0,
        260.0,
        &fit(&letter.verification_url, 110),
        (40, 40, 40),
    );
    qr(surface, &letter.verification_url, 150.0, 225.0, 40.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_fonts_parse_once_and_are_shared() {
        let first = fonts().unwrap() as *const Fonts;
        let again = fonts().unwrap() as *const Fonts;
        assert_eq!(first, again);
    }
}
