//! A QR code as printed on badges and letters: the dark modules as squares, with the quiet zone
//! of four modules on each side that scanners expect; each PDF writer fills them its own way.

use qrcode::{Color, QrCode};

use crate::error::{ApiError, ApiResult};

/// A QR code's modules, encoded once. Encoding is most of what drawing a QR code costs (the
/// encoder tries the eight masks and scores each), so a batch encodes its badges' codes in
/// parallel before drawing them in order.
pub struct QrModules {
    width: usize,
    dark: Vec<bool>,
}

/// A QR code placed on a page: its dark modules merged into horizontal runs (a third as many
/// rectangles to write and compress as one a module, and no seams between neighbours).
pub struct QrSquares {
    /// The side of one module, in millimetres.
    pub module: f32,
    /// The top-left corner and the width of each run of dark modules, in millimetres.
    pub runs: Vec<(f32, f32, f32)>,
}

impl QrModules {
    pub fn encode(token: &str) -> ApiResult<Self> {
        let code = QrCode::new(token.as_bytes())
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("QR encoding failed: {e}")))?;
        Ok(Self {
            width: code.width(),
            dark: code
                .to_colors()
                .into_iter()
                .map(|color| color == Color::Dark)
                .collect(),
        })
    }

    /// The code `size` millimetres wide with its top-left corner at (x, y).
    pub fn squares(&self, x: f32, y: f32, size: f32) -> QrSquares {
        let module = size / (self.width + 8) as f32;
        let mut runs = Vec::new();
        for (row, modules) in self.dark.chunks(self.width).enumerate() {
            let top = y + (row as f32 + 4.0) * module;
            let mut col = 0;
            while col < self.width {
                if !modules[col] {
                    col += 1;
                    continue;
                }
                let start = col;
                while col < self.width && modules[col] {
                    col += 1;
                }
                let left = x + (start as f32 + 4.0) * module;
                runs.push((left, top, (col - start) as f32 * module));
            }
        }
        QrSquares { module, runs }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runs_cover_exactly_the_dark_modules() {
        let code = QrModules::encode("BAMEX-2026-0001.a-long-enough-signed-token").unwrap();
        let squares = code.squares(10.0, 20.0, (code.width + 8) as f32);
        let mut covered = vec![false; code.dark.len()];
        for (left, top, width) in &squares.runs {
            let (col, row) = ((left - 10.0) as usize - 4, (top - 20.0) as usize - 4);
            for c in col..col + *width as usize {
                assert!(!covered[row * code.width + c], "runs overlap");
                covered[row * code.width + c] = true;
            }
        }
        assert_eq!(covered, code.dark);
        assert!(squares.runs.len() < code.dark.iter().filter(|d| **d).count());
    }
}
