//! The holder's photo on a badge: decoded in full before anything is drawn, so a stored photo
//! that cannot be read is reported to the organizer (409 `photo_unreadable`, naming the badges)
//! instead of printing as a grey placeholder or as garbage. A person without a photo keeps the
//! placeholder.
//!
//! krilla only reads a JPEG's header and copies its bytes into the PDF as they are, so a damaged
//! body would pass it and print as noise: the check decodes every pixel with `image`, and asks
//! for the end-of-image marker, since the decoder fills a truncated body in. Uploads are
//! stored as 400 × 500 JPEGs (`participants/photos.rs`), so the decoder may allocate no more than
//! such an image needs; a header declaring more is damage, not a photo.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};
use krilla::Data;
use krilla::image::Image;

use crate::error::{ApiError, ApiResult};
use crate::participants::image_budget::{PHOTO_HEIGHT, PHOTO_WIDTH};

/// Room for the decoder's buffers beside one stored photo's RGB pixels.
const MAX_DECODE_BYTES: u64 = 8 * 1024 * 1024;
/// How many badge numbers the refusal names; the rest are counted.
const NAMED_AT_MOST: usize = 20;

/// The photo as krilla draws it, once its JPEG decoded in full.
fn decode(jpeg: &Data) -> Result<Image, String> {
    // The decoder fills a truncated body in rather than failing; every stored photo was
    // encoded whole by us and so ends with the end-of-image marker.
    if !jpeg.as_ref().ends_with(&[0xFF, 0xD9]) {
        return Err("truncated: no end-of-image marker".into());
    }
    let mut reader = ImageReader::with_format(Cursor::new(jpeg.as_ref()), ImageFormat::Jpeg);
    let mut limits = Limits::default();
    limits.max_image_width = Some(PHOTO_WIDTH);
    limits.max_image_height = Some(PHOTO_HEIGHT);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    reader.decode().map_err(|e| e.to_string())?;
    Image::from_jpeg(jpeg.clone(), true)
}

/// 409 `photo_unreadable`, naming the badges whose stored photo does not decode.
fn unreadable(numbers: &[&str]) -> ApiError {
    let named = numbers[..numbers.len().min(NAMED_AT_MOST)].join(", ");
    let more = numbers.len().saturating_sub(NAMED_AT_MOST);
    let detail = match (numbers.len(), more) {
        (1, _) => format!(
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

/// Every badge's photo, decoded (`None`: the person has none), from (badge number, stored
/// photo) pairs, or the refusal naming each badge whose photo does not decode. CPU-bound: call
/// it off the executor.
pub fn decode_all<'a>(
    photos: impl IntoIterator<Item = (&'a str, Option<&'a Data>)>,
) -> ApiResult<Vec<Option<Image>>> {
    let mut images = Vec::new();
    let mut broken = Vec::new();
    for (number, photo) in photos {
        match photo.map(decode) {
            None => images.push(None),
            Some(Ok(image)) => images.push(Some(image)),
            Some(Err(cause)) => {
                tracing::warn!(badge = %number, %cause, "stored badge photo does not decode");
                broken.push(number);
            }
        }
    }
    if broken.is_empty() {
        Ok(images)
    } else {
        Err(unreadable(&broken))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_cards(cards: &[(&str, Option<Vec<u8>>)]) -> ApiResult<Vec<Option<Image>>> {
        let stored: Vec<(&str, Option<Data>)> = cards
            .iter()
            .map(|(number, photo)| (*number, photo.clone().map(Data::from)))
            .collect();
        decode_all(
            stored
                .iter()
                .map(|(number, photo)| (*number, photo.as_ref())),
        )
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
    fn a_stored_photo_decodes_and_no_photo_is_no_image() {
        let images = decode_cards(&[("A", Some(stored_photo())), ("B", None)]).unwrap();
        assert!(images[0].is_some());
        assert!(images[1].is_none());
    }

    #[test]
    fn damaged_photos_are_named_whether_header_or_body() {
        let mut header = stored_photo();
        header[..4].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        let mut truncated = stored_photo();
        truncated.truncate(truncated.len() / 3);
        let cards = [
            ("B26-TRV-000001", Some(stored_photo())),
            ("B26-TRV-000002", Some(header)),
            ("B26-TRV-000003", Some(truncated)),
        ];
        match decode_cards(&cards) {
            Err(ApiError::Conflict { code, detail }) => {
                assert_eq!(code, "photo_unreadable");
                assert!(!detail.contains("000001"), "{detail}");
                assert!(detail.contains("000002"), "{detail}");
                assert!(detail.contains("000003"), "{detail}");
            }
            other => panic!("{:?}", other.map(|images| images.len())),
        }
    }

    #[test]
    fn a_header_declaring_more_than_a_stored_photo_is_damage() {
        let image = image::RgbImage::new(PHOTO_WIDTH * 2, PHOTO_HEIGHT);
        let mut jpeg = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
            .unwrap();
        assert!(decode_cards(&[("A", Some(jpeg))]).is_err());
    }
}
