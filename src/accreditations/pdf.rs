//! The invitation letters a foreign participant shows for a visa, drawn with krilla; the
//! DejaVu fonts are compiled in and subset into each file, so Turkish, French and Polish names
//! print the same everywhere. (Badges are written by `badge_sheets.rs`, streamed.)
//!
//! The fonts are parsed (and hashed, which krilla does over their 1.4 MB) once per process, not
//! once per document: a letter costs its drawing and its font subset only.

use std::sync::LazyLock;

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};

use super::embedded_fonts::dejavu;
use super::paper::{A4, MM};
use super::qr_modules::QrModules;
use crate::error::{ApiError, ApiResult};
use crate::letters::LetterLanguage;

struct Fonts {
    regular: Font,
    bold: Font,
}

/// The embedded fonts, parsed on first use; `None` if they do not parse (a unit test makes sure
/// they do).
static FONTS: LazyLock<Option<Fonts>> = LazyLock::new(|| {
    Some(Fonts {
        regular: Font::new(dejavu(false).ok()?.data().into(), 0)?,
        bold: Font::new(dejavu(true).ok()?.data().into(), 0)?,
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
pub fn fit(value: &str, max: usize) -> String {
    if value.chars().count() <= max {
        value.to_owned()
    } else {
        value.chars().take(max - 1).chain(['…']).collect()
    }
}

/// The QR code as one path of dark modules, `size` millimetres wide, at (x, y).
fn qr(surface: &mut Surface, token: &str, x: f32, y: f32, size: f32) -> ApiResult<()> {
    let squares = QrModules::encode(token)?.squares(x, y, size);
    rect(surface, x, y, size, size, (255, 255, 255));
    let mut path = PathBuilder::new();
    let side = squares.module * MM;
    for (left, top, width) in squares.runs {
        if let Some(r) = Rect::from_xywh(left * MM, top * MM, width * MM, side) {
            path.push_rect(r);
        }
    }
    if let Some(path) = path.finish() {
        fill(surface, (0, 0, 0));
        surface.draw_path(&path);
    }
    Ok(())
}

fn finish(document: Document) -> ApiResult<Vec<u8>> {
    document
        .finish()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("PDF generation failed: {e:?}")))
}

fn page_settings((width, height): (f32, f32)) -> ApiResult<PageSettings> {
    PageSettings::from_wh(width * MM, height * MM)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("page size")))
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
