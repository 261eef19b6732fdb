//! The units and paper sizes of the printed documents, in millimetres as they are drawn.

/// PDF points per millimetre.
pub const MM: f32 = 72.0 / 25.4;
/// A badge, on a page of its own or a quarter of an A4 sheet.
pub const A6: (f32, f32) = (105.0, 148.0);
/// Sheets of four badges, and the letters.
pub const A4: (f32, f32) = (210.0, 297.0);
