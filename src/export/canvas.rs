//! An RGB raster with the few drawing operations charts need, saved as PNG through a temporary
//! file and a rename.

use std::path::Path;

use super::font;

pub type Rgb = [u8; 3];

pub const WHITE: Rgb = [255, 255, 255];
pub const BLACK: Rgb = [0, 0, 0];

/// Errors of writing a picture.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct PictureError {
    pub path: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Canvas {
    pub width: usize,
    pub height: usize,
    pixels: Vec<u8>,
}

impl Canvas {
    pub fn new(width: usize, height: usize, background: Rgb) -> Self {
        Canvas {
            width,
            height,
            pixels: background.repeat(width * height),
        }
    }

    pub fn get(&self, x: usize, y: usize) -> Option<Rgb> {
        (x < self.width && y < self.height).then(|| {
            let i = 3 * (y * self.width + x);
            [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
        })
    }

    pub fn set(&mut self, x: i64, y: i64, color: Rgb) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let i = 3 * (y as usize * self.width + x as usize);
            self.pixels[i..i + 3].copy_from_slice(&color);
        }
    }

    pub fn fill_rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, color: Rgb) {
        for y in y0.min(y1)..=y0.max(y1) {
            for x in x0.min(x1)..=x0.max(x1) {
                self.set(x, y, color);
            }
        }
    }

    /// A line (Bresenham), `thickness` pixels wide.
    pub fn line(&mut self, from: (f64, f64), to: (f64, f64), color: Rgb, thickness: i64) {
        if !(from.0.is_finite() && from.1.is_finite() && to.0.is_finite() && to.1.is_finite()) {
            return;
        }
        let (mut x0, mut y0) = (from.0.round() as i64, from.1.round() as i64);
        let (x1, y1) = (to.0.round() as i64, to.1.round() as i64);
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let mut err = dx + dy;
        let r = (thickness - 1) / 2;
        for _ in 0..=(dx - dy) {
            self.fill_rect(x0 - r, y0 - r, x0 + r, y0 + r, color);
            if x0 == x1 && y0 == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x0 += sx;
            }
            if e2 <= dx {
                err += dx;
                y0 += sy;
            }
        }
    }

    /// Text with its top-left corner at (x, y), each font pixel drawn `scale`×`scale`.
    /// Characters outside the font are drawn as spaces.
    pub fn text(&mut self, x: i64, y: i64, text: &str, color: Rgb, scale: i64) {
        for (i, c) in text.chars().enumerate() {
            let Some(rows) = font::glyph(c) else { continue };
            let left = x + i as i64 * (font::WIDTH as i64 + 1) * scale;
            for (row, bits) in rows.iter().enumerate() {
                for col in 0..font::WIDTH {
                    if bits & (0x10 >> col) != 0 {
                        let (px, py) = (left + col as i64 * scale, y + row as i64 * scale);
                        self.fill_rect(px, py, px + scale - 1, py + scale - 1, color);
                    }
                }
            }
        }
    }

    /// Width in pixels of `text` drawn at `scale`.
    pub fn text_width(text: &str, scale: i64) -> i64 {
        text.chars().count() as i64 * (font::WIDTH as i64 + 1) * scale
    }

    /// Writes the picture as an 8-bit RGB PNG (temporary file, then rename).
    pub fn save_png(&self, path: &Path) -> Result<(), PictureError> {
        let fail = |m: String| PictureError {
            path: path.display().to_string(),
            message: m,
        };
        let mut bytes = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut bytes, self.width as u32, self.height as u32);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().map_err(|e| fail(e.to_string()))?;
            writer
                .write_image_data(&self.pixels)
                .map_err(|e| fail(e.to_string()))?;
        }
        crate::mesh::write_bytes_atomically(path, &bytes).map_err(|e| fail(e.to_string()))
    }
}

/// The plotting area of a chart (pixels): grid lines with their labels and the two axes, as
/// the loss curve and the sparsification curves draw them.
#[derive(Debug, Clone, Copy)]
pub struct PlotFrame {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

/// Grid lines of charts.
pub const GRID: Rgb = [225, 225, 225];

impl PlotFrame {
    /// A horizontal grid line at `y`, labelled left of the frame.
    pub fn y_grid(&self, c: &mut Canvas, y: f64, label: &str) {
        c.line((self.left, y), (self.left + self.width, y), GRID, 1);
        let x = self.left as i64 - Canvas::text_width(label, 2) - 8;
        c.text(x, y as i64 - 7, label, BLACK, 2);
    }

    /// A vertical grid line at `x`, labelled below the frame.
    pub fn x_grid(&self, c: &mut Canvas, x: f64, label: &str) {
        c.line((x, self.top), (x, self.top + self.height), GRID, 1);
        let y = (self.top + self.height) as i64 + 8;
        c.text(
            x as i64 - Canvas::text_width(label, 2) / 2,
            y,
            label,
            BLACK,
            2,
        );
    }

    /// The left and bottom axes.
    pub fn axes(&self, c: &mut Canvas) {
        let bottom = self.top + self.height;
        c.line((self.left, self.top), (self.left, bottom), BLACK, 1);
        c.line(
            (self.left, bottom),
            (self.left + self.width, bottom),
            BLACK,
            1,
        );
    }
}

/// A perceptually ordered blue–white–red map for signed fields (Cp), `t` in [0, 1].
pub fn diverging(t: f64) -> Rgb {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.5
    };
    let blue = [59.0, 76.0, 192.0];
    let white = [221.0, 221.0, 221.0];
    let red = [180.0, 4.0, 38.0];
    let (a, b, s) = if t < 0.5 {
        (blue, white, t * 2.0)
    } else {
        (white, red, (t - 0.5) * 2.0)
    };
    std::array::from_fn(|k| (a[k] + (b[k] - a[k]) * s).round() as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawing_lands_on_the_pixels_asked_for_and_png_round_trips() {
        let mut c = Canvas::new(40, 20, WHITE);
        c.line((0.0, 0.0), (39.0, 19.0), BLACK, 1);
        assert_eq!(c.get(0, 0), Some(BLACK));
        assert_eq!(c.get(39, 19), Some(BLACK));
        assert_eq!(c.get(39, 0), Some(WHITE));
        c.text(1, 10, "1", [255, 0, 0], 1);
        // The glyph '1' has its stem in column 2 of every middle row.
        assert_eq!(c.get(3, 12), Some([255, 0, 0]));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.png");
        c.save_png(&path).unwrap();
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (40, 20));
        assert_eq!(&buf[..3], &BLACK);
        assert_eq!(diverging(0.0), [59, 76, 192]);
        assert_eq!(diverging(1.0), [180, 4, 38]);
    }
}
