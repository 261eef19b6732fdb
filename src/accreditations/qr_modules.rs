//! A QR code as printed on badges and letters: the dark modules as squares, with the quiet zone
//! of four modules on each side that scanners expect; each PDF writer fills them its own way.

use qrcode::{Color, QrCode};

use crate::error::{ApiError, ApiResult};

/// A QR code `size` millimetres wide with its top-left corner at (x, y).
pub struct QrSquares {
    /// The side of one module, in millimetres.
    pub module: f32,
    /// The top-left corners of the dark modules, in millimetres.
    pub dark: Vec<(f32, f32)>,
}

pub fn qr_squares(token: &str, x: f32, y: f32, size: f32) -> ApiResult<QrSquares> {
    let code = QrCode::new(token.as_bytes())
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("QR encoding failed: {e}")))?;
    let width = code.width();
    let module = size / (width + 8) as f32;
    let dark = code
        .to_colors()
        .into_iter()
        .enumerate()
        .filter(|(_, color)| *color == Color::Dark)
        .map(|(i, _)| {
            let (col, row) = ((i % width) as f32, (i / width) as f32);
            (x + (col + 4.0) * module, y + (row + 4.0) * module)
        })
        .collect();
    Ok(QrSquares { module, dark })
}
