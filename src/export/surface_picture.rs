//! A picture of a scalar on a body's surface: four orthographic views (side, top, front, rear)
//! with a z-buffer, light shading for shape, a diverging colour map and a labelled colour bar.

use super::canvas::{diverging, Canvas, BLACK, WHITE};
use crate::geometry::vec3::dot;

/// One view: which world axes map to the screen's right and up, and which way the viewer looks.
struct View {
    title: &'static str,
    right: [f64; 3],
    up: [f64; 3],
    /// Towards the viewer.
    toward: [f64; 3],
}

fn unit(axis: usize, sign: f64) -> [f64; 3] {
    let mut v = [0.0; 3];
    v[axis] = sign;
    v
}

/// The four views for a flow along `flow` with `up` up.
fn views(flow: usize, up: usize) -> [View; 4] {
    let side = 3 - flow - up;
    [
        View {
            title: "side",
            right: unit(flow, 1.0),
            up: unit(up, 1.0),
            toward: unit(side, -1.0),
        },
        View {
            title: "top",
            right: unit(flow, 1.0),
            up: unit(side, 1.0),
            toward: unit(up, 1.0),
        },
        View {
            title: "front",
            right: unit(side, -1.0),
            up: unit(up, 1.0),
            toward: unit(flow, -1.0),
        },
        View {
            title: "rear",
            right: unit(side, 1.0),
            up: unit(up, 1.0),
            toward: unit(flow, 1.0),
        },
    ]
}

/// Draws triangles `[t][corner][xyz]` coloured by `values` (one per triangle) mapped from
/// `[lo, hi]`, into a picture with a colour bar labelled `label`.
pub fn render(
    triangles: &[[[f32; 3]; 3]],
    values: &[f32],
    (lo, hi): (f64, f64),
    label: &str,
    flow: usize,
    up: usize,
) -> Canvas {
    let (panel_w, panel_h) = (560usize, 320usize);
    let bar_w = 120usize;
    let mut canvas = Canvas::new(2 * panel_w + bar_w, 2 * panel_h, WHITE);
    for (k, view) in views(flow, up).iter().enumerate() {
        let (ox, oy) = ((k % 2) * panel_w, (k / 2) * panel_h);
        draw_view(
            &mut canvas,
            triangles,
            values,
            (lo, hi),
            view,
            (ox, oy),
            (panel_w, panel_h),
        );
        canvas.text(ox as i64 + 10, oy as i64 + 8, view.title, BLACK, 2);
    }
    // Colour bar.
    let (bx, top, bottom) = ((2 * panel_w + 30) as i64, 60i64, (2 * panel_h - 60) as i64);
    for y in top..=bottom {
        let t = (bottom - y) as f64 / (bottom - top) as f64;
        canvas.fill_rect(bx, y, bx + 20, y, diverging(t));
    }
    canvas.text(bx, top - 30, label, BLACK, 2);
    for (t, v) in [(1.0, hi), (0.5, 0.5 * (lo + hi)), (0.0, lo)] {
        let y = bottom - (t * (bottom - top) as f64) as i64;
        canvas.text(bx + 26, y - 4, &format!("{v:.2}"), BLACK, 1);
    }
    canvas
}

#[allow(clippy::too_many_arguments)]
fn draw_view(
    canvas: &mut Canvas,
    triangles: &[[[f32; 3]; 3]],
    values: &[f32],
    (lo, hi): (f64, f64),
    view: &View,
    (ox, oy): (usize, usize),
    (w, h): (usize, usize),
) {
    let project = |p: [f32; 3]| {
        let p = [p[0] as f64, p[1] as f64, p[2] as f64];
        (dot(p, view.right), dot(p, view.up), dot(p, view.toward))
    };
    let mut min = (f64::INFINITY, f64::INFINITY);
    let mut max = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    for t in triangles {
        for c in t {
            let (x, y, _) = project(*c);
            min = (min.0.min(x), min.1.min(y));
            max = (max.0.max(x), max.1.max(y));
        }
    }
    if !(min.0.is_finite() && max.0 > min.0 && max.1 > min.1) {
        return;
    }
    let margin = 30.0;
    let scale = ((w as f64 - 2.0 * margin) / (max.0 - min.0))
        .min((h as f64 - 2.0 * margin) / (max.1 - min.1));
    let cx = ox as f64 + w as f64 / 2.0 - scale * (min.0 + max.0) / 2.0;
    let cy = oy as f64 + h as f64 / 2.0 + scale * (min.1 + max.1) / 2.0;
    let mut depth = vec![f64::NEG_INFINITY; w * h];
    let span = (hi - lo).max(1e-12);
    for (t, value) in triangles.iter().zip(values) {
        let p: Vec<(f64, f64, f64)> = t
            .iter()
            .map(|c| {
                let (x, y, z) = project(*c);
                (cx + scale * x, cy - scale * y, z)
            })
            .collect();
        // Face normal for shading (towards the viewer: brighter).
        let e1 = [p[1].0 - p[0].0, p[1].1 - p[0].1, p[1].2 - p[0].2];
        let e2 = [p[2].0 - p[0].0, p[2].1 - p[0].1, p[2].2 - p[0].2];
        let area2 = e1[0] * e2[1] - e1[1] * e2[0];
        if area2.abs() < 1e-12 {
            continue;
        }
        let n = [
            e1[1] * e2[2] - e1[2] * e2[1],
            e1[2] * e2[0] - e1[0] * e2[2],
            e1[0] * e2[1] - e1[1] * e2[0],
        ];
        let norm = dot(n, n).sqrt().max(1e-30);
        let facing = (n[2] / norm).abs();
        let base = diverging((*value as f64 - lo) / span);
        let shade = 0.55 + 0.45 * facing;
        let color = base.map(|c| (c as f64 * shade).round().clamp(0.0, 255.0) as u8);
        let x0 = p
            .iter()
            .map(|q| q.0)
            .fold(f64::INFINITY, f64::min)
            .floor()
            .max(ox as f64) as i64;
        let x1 = p
            .iter()
            .map(|q| q.0)
            .fold(f64::NEG_INFINITY, f64::max)
            .ceil()
            .min((ox + w - 1) as f64) as i64;
        let y0 = p
            .iter()
            .map(|q| q.1)
            .fold(f64::INFINITY, f64::min)
            .floor()
            .max(oy as f64) as i64;
        let y1 = p
            .iter()
            .map(|q| q.1)
            .fold(f64::NEG_INFINITY, f64::max)
            .ceil()
            .min((oy + h - 1) as f64) as i64;
        for y in y0..=y1 {
            for x in x0..=x1 {
                let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
                let w0 = (p[1].0 - px) * (p[2].1 - py) - (p[2].0 - px) * (p[1].1 - py);
                let w1 = (p[2].0 - px) * (p[0].1 - py) - (p[0].0 - px) * (p[2].1 - py);
                let w2 = (p[0].0 - px) * (p[1].1 - py) - (p[1].0 - px) * (p[0].1 - py);
                let inside =
                    (w0 >= 0.0 && w1 >= 0.0 && w2 >= 0.0) || (w0 <= 0.0 && w1 <= 0.0 && w2 <= 0.0);
                if !inside {
                    continue;
                }
                let sum = w0 + w1 + w2;
                let z = (w0 * p[0].2 + w1 * p[1].2 + w2 * p[2].2) / sum;
                let slot = (y as usize - oy) * w + (x as usize - ox);
                if z > depth[slot] {
                    depth[slot] = z;
                    canvas.set(x, y, color);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_two_coloured_box_shows_both_colours_in_the_side_view() {
        // Two triangles facing −y (the side view looks from −y): left one low value, right high.
        let tris = [
            [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]],
            [[1.0, 0.0, 0.0], [2.0, 0.0, 1.0], [2.0, 0.0, 0.0]],
        ];
        let c = render(&tris, &[-1.0, 1.0], (-1.0, 1.0), "Cp", 0, 2);
        let count = |target: [u8; 3]| {
            (0..560)
                .flat_map(|x| (0..320).map(move |y| (x, y)))
                .filter(|&(x, y)| {
                    let p = c.get(x, y).unwrap();
                    // Shaded colours: same hue; compare the dominant channel.
                    (p[2] as i32 > p[0] as i32 + 40) == (target[2] > target[0])
                        && p != WHITE
                        && p != BLACK
                })
                .count()
        };
        assert!(count([0, 0, 255]) > 100, "blue pixels");
        assert!(count([255, 0, 0]) > 100, "red pixels");
    }
}
