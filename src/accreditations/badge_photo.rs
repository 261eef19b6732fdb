//! The holder's photo on a badge: decoded in full before anything is drawn, so a stored photo
//! that cannot be read is reported to the organizer (409 `photo_unreadable`, naming the badges)
//! instead of printing as a grey placeholder or as garbage. A person without a photo keeps the
//! placeholder.
//!
//! The PDF embeds a stored JPEG's bytes as they are (a DCTDecode image, read from its header
//! only), so a damaged body would pass into it and print as noise: the check decodes every pixel
//! with `image`, and asks for the end-of-image marker, since the decoder fills a truncated body
//! in. Uploads are stored as 400 × 500 RGB JPEGs (`participants/photos.rs`), so the decoder may
//! allocate no more than such an image needs; a header declaring more is damage, not a photo.

use std::io::Cursor;

use image::codecs::jpeg::JpegDecoder;
use image::{ColorType, ImageDecoder, ImageFormat, ImageReader, Limits};
use rayon::prelude::*;

use crate::error::{ApiError, ApiResult};
use crate::participants::image_budget::{PHOTO_HEIGHT, PHOTO_WIDTH};

/// Room for the decoder's buffers beside one stored photo's RGB pixels.
const MAX_DECODE_BYTES: u64 = 8 * 1024 * 1024;
/// How many badge numbers the refusal names; the rest are counted.
const NAMED_AT_MOST: usize = 20;

/// Whether the stored JPEG decodes in full. CPU-bound: call it off the executor.
fn decode(jpeg: &[u8]) -> Result<(), String> {
    // The decoder fills a truncated body in rather than failing; every stored photo was
    // encoded whole by us and so ends with the end-of-image marker.
    if !jpeg.ends_with(&[0xFF, 0xD9]) {
        return Err("truncated: no end-of-image marker".into());
    }
    let mut reader = ImageReader::with_format(Cursor::new(jpeg), ImageFormat::Jpeg);
    let mut limits = Limits::default();
    limits.max_image_width = Some(PHOTO_WIDTH);
    limits.max_image_height = Some(PHOTO_HEIGHT);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    reader.decode().map(drop).map_err(|e| e.to_string())
}

/// 409 `photo_unreadable`, naming the badges whose stored photo does not decode (and counting
/// `more` of them unnamed).
fn unreadable(numbers: &[String], more: usize) -> ApiError {
    let named = numbers.join(", ");
    let detail = match (numbers.len(), more) {
        (1, 0) => format!(
            "The stored photo of badge {named} cannot be read; upload the holder's photo again."
        ),
        (_, 0) => format!(
            "The stored photos of badges {named} cannot be read; upload the holders' photos again."
        ),
        (_, more) => format!(
            "The stored photos of badges {named} and {more} more cannot be read; upload the holders' photos again."
        ),
    };
    ApiError::Conflict {
        code: "photo_unreadable",
        detail,
    }
}

/// The photos of a batch judged one at a time, keeping only the verdict: the numbers of the
/// badges whose photo does not decode (the first [`NAMED_AT_MOST`], and how many more).
#[derive(Default)]
pub struct PhotoCheck {
    broken: Vec<String>,
    more: usize,
}

impl PhotoCheck {
    /// Judges the stored photo of each badge of `photos`, by number (`None`: the person has
    /// none, which prints the placeholder), decoding them in parallel on the cores rayon has.
    /// CPU-bound: call it off the executor.
    pub fn judge_all(&mut self, photos: &[(&str, Option<&[u8]>)]) {
        let causes: Vec<Option<String>> = photos
            .par_iter()
            .map(|(_, photo)| photo.and_then(|jpeg| decode(jpeg).err()))
            .collect();
        for ((number, _), cause) in photos.iter().zip(causes) {
            let Some(cause) = cause else { continue };
            tracing::warn!(badge = %number, %cause, "stored badge photo does not decode");
            if self.broken.len() < NAMED_AT_MOST {
                self.broken.push((*number).to_owned());
            } else {
                self.more += 1;
            }
        }
    }

    /// Nothing, or the refusal naming each badge judged whose photo does not decode.
    pub fn verdict(self) -> ApiResult<()> {
        if self.broken.is_empty() {
            Ok(())
        } else {
            Err(unreadable(&self.broken, self.more))
        }
    }
}

/// A stored photo as the PDF embeds it: its bytes, as they are, and what its header says.
pub struct StoredJpeg<'a> {
    pub bytes: &'a [u8],
    pub width: u32,
    pub height: u32,
    /// One channel (grey) rather than RGB.
    pub grey: bool,
}

/// The photo of badge `number`, from its header alone: call it once [`PhotoCheck`] judged the
/// photo; it still refuses a header it cannot read or a colour model other than grey or RGB
/// (which our uploads never store).
pub fn embeddable<'a>(number: &str, jpeg: &'a [u8]) -> ApiResult<StoredJpeg<'a>> {
    let header = JpegDecoder::new(Cursor::new(jpeg))
        .map_err(|e| e.to_string())
        .and_then(|decoder| {
            let grey = match decoder.color_type() {
                ColorType::L8 => true,
                ColorType::Rgb8 => false,
                other => return Err(format!("colour type {other:?}")),
            };
            let (width, height) = decoder.dimensions();
            Ok(StoredJpeg {
                bytes: jpeg,
                width,
                height,
                grey,
            })
        });
    header.map_err(|cause| {
        tracing::warn!(badge = %number, %cause, "stored badge photo cannot be embedded");
        unreadable(&[number.to_owned()], 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(cards: &[(&str, Option<Vec<u8>>)]) -> ApiResult<()> {
        let mut check = PhotoCheck::default();
        let photos: Vec<(&str, Option<&[u8]>)> = cards
            .iter()
            .map(|(number, photo)| (*number, photo.as_deref()))
            .collect();
        check.judge_all(&photos);
        check.verdict()
    }

    fn stored_photo() -> Vec<u8> {
        let image = image::RgbImage::from_fn(PHOTO_WIDTH, PHOTO_HEIGHT, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut jpeg = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
            .unwrap();
        jpeg
    }

    #[test]
    fn a_stored_photo_decodes_and_embeds_and_no_photo_passes() {
        let photo = stored_photo();
        check(&[("A", Some(photo.clone())), ("B", None)]).unwrap();
        let embedded = embeddable("A", &photo).unwrap();
        assert_eq!(
            (embedded.width, embedded.height),
            (PHOTO_WIDTH, PHOTO_HEIGHT)
        );
        assert!(!embedded.grey);
        assert_eq!(embedded.bytes.len(), photo.len());
    }

    #[test]
    fn damaged_photos_are_named_whether_header_or_body() {
        let mut header = stored_photo();
        header[..4].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        let mut truncated = stored_photo();
        truncated.truncate(truncated.len() / 3);
        assert!(embeddable("B26-TRV-000002", &header).is_err());
        let cards = [
            ("B26-TRV-000001", Some(stored_photo())),
            ("B26-TRV-000002", Some(header)),
            ("B26-TRV-000003", Some(truncated)),
        ];
        match check(&cards) {
            Err(ApiError::Conflict { code, detail }) => {
                assert_eq!(code, "photo_unreadable");
                assert!(!detail.contains("000001"), "{detail}");
                assert!(detail.contains("000002"), "{detail}");
                assert!(detail.contains("000003"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn beyond_twenty_broken_photos_the_rest_are_counted() {
        let cards: Vec<(String, Option<Vec<u8>>)> = (0..23)
            .map(|n| {
                (
                    format!("B26-TRV-{n:06}"),
                    Some(vec![0xFF, 0xD8, 0xFF, 0xD9]),
                )
            })
            .collect();
        let cards: Vec<(&str, Option<Vec<u8>>)> =
            cards.iter().map(|(n, p)| (n.as_str(), p.clone())).collect();
        match check(&cards) {
            Err(ApiError::Conflict { detail, .. }) => {
                assert!(detail.contains("000019 and 3 more"), "{detail}");
                assert!(!detail.contains("000020"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_header_declaring_more_than_a_stored_photo_is_damage() {
        let image = image::RgbImage::new(PHOTO_WIDTH * 2, PHOTO_HEIGHT);
        let mut jpeg = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
            .unwrap();
        assert!(check(&[("A", Some(jpeg))]).is_err());
    }
}
