//! Pictures for people: a small RGB canvas with lines, rectangles and a built-in bitmap font,
//! written as PNG. Enough for loss curves and field maps without any external program.

pub mod canvas;
mod font;
pub mod surface_picture;

pub use canvas::{Canvas, Rgb};
