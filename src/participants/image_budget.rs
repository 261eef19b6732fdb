//! The pixel budget every uploaded image is held to — badge photos and document scans alike —
//! judged from the dimensions its header declares, before a single pixel is decoded: a few
//! compressed bytes can declare an enormous image.

use crate::error::{ApiError, ApiResult};

/// 24 megapixels (6,000 × 4,000, a full-frame camera's photo; a phone's is 12). Well above what
/// a badge or a legible scan needs, yet 8-bit RGBA of that size is 96 MB.
pub const MAX_PIXELS: u64 = 24_000_000;
/// The longest side accepted, whatever the area.
pub const MAX_SIDE: u32 = 12_000;
/// The size every badge photo is stored at, whatever was uploaded: 4:5, like passport photos.
pub const PHOTO_WIDTH: u32 = 400;
pub const PHOTO_HEIGHT: u32 = 500;

/// 422 `image_too_large`, naming the declared size.
pub fn too_large(width: u32, height: u32) -> ApiError {
    ApiError::Unprocessable {
        code: "image_too_large",
        detail: format!(
            "The image is {width} × {height} pixels; at most {} megapixels are accepted.",
            MAX_PIXELS / 1_000_000
        ),
    }
}

/// Refuses declared dimensions beyond the budget.
pub fn check(width: u32, height: u32) -> ApiResult<()> {
    if u64::from(width) * u64::from(height) > MAX_PIXELS || width > MAX_SIDE || height > MAX_SIDE {
        return Err(too_large(width, height));
    }
    Ok(())
}
