//! The DejaVu fonts, compiled in once for every PDF (krilla's letters take their bytes too), and
//! how the streamed badge PDFs use them: text is shaped
//! (rustybuzz, kerning included) when it is drawn, each glyph gets its number in the font's
//! subset the first time it is used (the subset's glyph ids are assigned in order of first use,
//! so content streams written earlier stay valid), and the subset itself is made once, at the
//! end, from the glyphs collected while the pages streamed. What a document keeps for that is
//! bounded by the font (at most its ~6,000 glyphs), not by the number of badges.
//!
//! A font is embedded as PDF wants a TrueType font that shows any script: a Type 0 font with
//! Identity-H encoding over a CIDFontType2 whose CIDs are the subset's glyph ids, its widths,
//! and a ToUnicode map so that the text can be searched and copied (the tests read badges with
//! pdftotext).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::sync::LazyLock;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Chunk, Filter, Finish, Name, Rect, Ref, Str};
use rustybuzz::ttf_parser::GlyphId;
use rustybuzz::{Face, UnicodeBuffer};
use subsetter::GlyphRemapper;

use crate::error::{ApiError, ApiResult};

/// PDF glyph space: widths are given in thousandths of the font size.
const PDF_UNITS_PER_EM: f32 = 1000.0;

const IDENTITY: SystemInfo = SystemInfo {
    registry: Str(b"Adobe"),
    ordering: Str(b"Identity"),
    supplement: 0,
};

/// A stream's data Flate-compressed, as the fonts and the pages' contents are stored.
pub fn deflate(data: &[u8], level: Compression) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::with_capacity(data.len() / 2), level);
    // Writing into a `Vec` cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

/// A compiled-in font, parsed once per process.
pub struct FontFile {
    data: &'static [u8],
    face: Face<'static>,
    postscript_name: &'static str,
}

static REGULAR: LazyLock<Option<FontFile>> = LazyLock::new(|| {
    FontFile::parse(
        include_bytes!("../../assets/fonts/DejaVuSans.ttf"),
        "DejaVuSans",
    )
});
static BOLD: LazyLock<Option<FontFile>> = LazyLock::new(|| {
    FontFile::parse(
        include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf"),
        "DejaVuSans-Bold",
    )
});

fn loaded(font: &'static Option<FontFile>) -> ApiResult<&'static FontFile> {
    font.as_ref()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("embedded font unreadable")))
}

/// DejaVu Sans (`false`) or DejaVu Sans Bold (`true`).
pub fn dejavu(bold: bool) -> ApiResult<&'static FontFile> {
    loaded(if bold { &BOLD } else { &REGULAR })
}

impl FontFile {
    fn parse(data: &'static [u8], postscript_name: &'static str) -> Option<Self> {
        Some(Self {
            data,
            face: Face::from_slice(data, 0)?,
            postscript_name,
        })
    }

    /// The font file as compiled in.
    pub fn data(&self) -> &'static [u8] {
        self.data
    }

    fn to_pdf_units(&self, font_units: f32) -> f32 {
        // rustybuzz's face answers its units per em as an `i32` (2,048 for DejaVu).
        font_units * PDF_UNITS_PER_EM / self.face.units_per_em() as f32
    }

    fn advance(&self, glyph: u16) -> f32 {
        let advance = self.face.glyph_hor_advance(GlyphId(glyph)).unwrap_or(0);
        self.to_pdf_units(f32::from(advance))
    }
}

/// One glyph of shaped text, as a content stream shows it.
pub struct PlacedGlyph {
    /// The glyph's id in the document's subset of the font, which is also its CID.
    pub cid: u16,
    /// How far the pen moves after it, and how far the glyph sits right of the pen, in
    /// thousandths of the font size.
    pub advance: f32,
    pub offset: f32,
    /// The glyph's width as the font dictionary declares it, from which a content stream
    /// derives the adjustment to `advance`.
    pub width: f32,
}

/// One font as used by one document: the glyphs drawn so far, in the order of their subset ids.
pub struct FontInDocument {
    file: &'static FontFile,
    remapper: GlyphRemapper,
    /// Per subset id: its width and the text it stands for (the first seen).
    widths: Vec<f32>,
    texts: Vec<Option<String>>,
    /// The Type 0 font, as pages refer to it; the objects it needs are allocated at the end.
    pub reference: Ref,
}

impl FontInDocument {
    pub fn new(file: &'static FontFile, reference: Ref) -> Self {
        // Glyph 0 (.notdef) keeps id 0 in every subset.
        let mut remapper = GlyphRemapper::new();
        remapper.remap(0);
        Self {
            file,
            remapper,
            widths: vec![file.advance(0)],
            texts: vec![None],
            reference,
        }
    }

    /// `text` shaped in this font, its glyphs given subset ids (and remembered for the subset).
    pub fn shape(&mut self, text: &str) -> Vec<PlacedGlyph> {
        let mut buffer = UnicodeBuffer::new();
        buffer.push_str(text);
        let shaped = rustybuzz::shape(&self.file.face, &[], buffer);
        let infos = shaped.glyph_infos();
        let positions = shaped.glyph_positions();
        let mut glyphs = Vec::with_capacity(infos.len());
        for (i, (info, position)) in infos.iter().zip(positions).enumerate() {
            // The characters a glyph shows run from its cluster to the next glyph's.
            let start = info.cluster as usize;
            let end = infos[i + 1..]
                .iter()
                .map(|next| next.cluster as usize)
                .find(|&next| next > start)
                .unwrap_or(text.len());
            let glyph = u16::try_from(info.glyph_id).unwrap_or(0);
            let cid = self.remapper.remap(glyph);
            if usize::from(cid) == self.widths.len() {
                self.widths.push(self.file.advance(glyph));
                self.texts.push(None);
            }
            let slot = &mut self.texts[usize::from(cid)];
            if slot.is_none() {
                *slot = text.get(start..end).map(str::to_owned);
            }
            glyphs.push(PlacedGlyph {
                cid,
                advance: self.file.to_pdf_units(position.x_advance as f32),
                offset: self.file.to_pdf_units(position.x_offset as f32),
                width: self.widths[usize::from(cid)],
            });
        }
        glyphs
    }

    /// The font's objects, its subset of the glyphs used included; `next_ref` allocates the
    /// references they need besides [`Self::reference`].
    pub fn write(&self, mut next_ref: impl FnMut() -> Ref) -> ApiResult<Vec<(Ref, Chunk)>> {
        let file = self.file;
        let subset = subsetter::subset(file.data, 0, &self.remapper)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("font subsetting failed: {e}")))?;
        let (cid_ref, descriptor_ref, cmap_ref, data_ref) =
            (next_ref(), next_ref(), next_ref(), next_ref());
        let name = format!("{}+{}", self.subset_tag(), file.postscript_name);
        let name = Name(name.as_bytes());
        let mut objects = Vec::with_capacity(5);

        let mut chunk = Chunk::new();
        chunk
            .type0_font(self.reference)
            .base_font(name)
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid_ref)
            .to_unicode(cmap_ref);
        objects.push((self.reference, chunk));

        let mut chunk = Chunk::new();
        let mut cid = chunk.cid_font(cid_ref);
        cid.subtype(CidFontType::Type2)
            .base_font(name)
            .system_info(IDENTITY)
            .font_descriptor(descriptor_ref)
            .default_width(0.0)
            .cid_to_gid_map_predefined(Name(b"Identity"));
        cid.widths().consecutive(0, self.widths.iter().copied());
        cid.finish();
        objects.push((cid_ref, chunk));

        let face = &file.face;
        let bbox = face.global_bounding_box();
        let units = |v: i16| file.to_pdf_units(f32::from(v));
        let ascent = units(face.ascender());
        let mut flags = FontFlags::SYMBOLIC;
        flags.set(FontFlags::ITALIC, face.italic_angle() != 0.0);
        let mut chunk = Chunk::new();
        chunk
            .font_descriptor(descriptor_ref)
            .name(name)
            .flags(flags)
            .bbox(Rect::new(
                units(bbox.x_min),
                units(bbox.y_min),
                units(bbox.x_max),
                units(bbox.y_max),
            ))
            .italic_angle(face.italic_angle())
            .ascent(ascent)
            .descent(units(face.descender()))
            .cap_height(face.capital_height().map_or(ascent, units))
            // Not in the font; what PDF producers commonly estimate for a regular weight.
            .stem_v(80.0)
            .font_file2(data_ref);
        objects.push((descriptor_ref, chunk));

        let mut cmap = UnicodeCmap::new(Name(b"Custom"), IDENTITY);
        for (cid, text) in self.texts.iter().enumerate().skip(1) {
            if let (Ok(cid), Some(text)) = (u16::try_from(cid), text) {
                cmap.pair_with_multiple(cid, text.chars());
            }
        }
        let cmap = deflate(cmap.finish().as_slice(), Compression::default());
        let mut chunk = Chunk::new();
        chunk.cmap(cmap_ref, &cmap).filter(Filter::FlateDecode);
        objects.push((cmap_ref, chunk));

        let data = deflate(&subset, Compression::default());
        let mut chunk = Chunk::new();
        chunk.stream(data_ref, &data).filter(Filter::FlateDecode);
        objects.push((data_ref, chunk));
        Ok(objects)
    }

    /// The six capital letters that name a subset (PDF 32000-1, 9.6.4), from its glyphs.
    fn subset_tag(&self) -> String {
        let mut hasher = DefaultHasher::new();
        self.remapper
            .remapped_gids()
            .for_each(|g| g.hash(&mut hasher));
        let mut hash = Hasher::finish(&hasher);
        (0..6)
            .map(|_| {
                let letter = char::from(b'A' + (hash % 26) as u8);
                hash /= 26;
                letter
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_fonts_parse_once_and_are_shared() {
        for bold in [false, true] {
            let first = dejavu(bold).unwrap() as *const FontFile;
            assert_eq!(first, dejavu(bold).unwrap() as *const FontFile);
        }
    }

    #[test]
    fn glyphs_get_subset_ids_in_order_of_first_use_and_keep_their_text() {
        let mut font = FontInDocument::new(dejavu(false).unwrap(), Ref::new(1));
        let first: Vec<u16> = font.shape("Ağa").iter().map(|g| g.cid).collect();
        assert_eq!(first, [1, 2, 3]);
        let again: Vec<u16> = font.shape("aA Ş").iter().map(|g| g.cid).collect();
        assert_eq!(again, [3, 1, 4, 5]);
        assert_eq!(font.texts[2].as_deref(), Some("ğ"));
        assert_eq!(font.texts[5].as_deref(), Some("Ş"));
    }
}
