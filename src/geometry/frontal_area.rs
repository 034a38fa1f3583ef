//! Frontal (projected) area of a surface seen along the flow: the reference area of drag and lift
//! coefficients, `C = F / (½ ρ U² A)`.
//!
//! The area is measured by rasterising: every triangle is projected onto the plane normal to the
//! flow and drawn into a grid of square pixels, and the area is the number of pixels whose centre
//! is covered, times the pixel area. This handles any triangle soup, closed or not, with
//! overlapping layers (the body's front and back, wheels behind the bumper) counted once.
//!
//! Projected corners are snapped to 1/256 of a pixel and the inside test is done on those integers
//! exactly, with a tie rule for pixel centres lying on an edge, so a pixel centre on an edge shared
//! by two triangles counts for exactly one of them: a finely meshed surface leaves no gaps along
//! its edges whatever the floating-point round-off.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use super::triangles::TriangleSoup;
use super::vec3::{cross, dot};

/// Largest grid [`frontal_area`] rasterises, in pixels: its bitset takes 512 MiB.
pub const MAX_GRID_PIXELS: u64 = 1 << 32;

/// Largest number of pixels along one side of the grid. With corners snapped to 1/256 of a pixel
/// this keeps every snapped coordinate below 2^30 and every edge-function product below 2^61, so
/// the inside test is exact in `i64`.
pub const MAX_GRID_SIDE: u64 = 1 << 22;

/// Snapping resolution: projected corners are rounded to 1/`SUBPIXELS` of a pixel.
const SUBPIXELS: i64 = 256;

/// The frontal area of a surface and how far to trust it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrontalArea {
    /// Projected area (m²): covered pixels × `pixel_m`².
    pub area_m2: f64,
    /// Estimated bound on the discretisation error of `area_m2` (m²): half a pixel's area for
    /// every pixel edge on the outline of the covered region. See [`frontal_area`] for why.
    pub error_m2: f64,
    /// Side of the pixels actually used (m): the requested size, or larger when the grid would
    /// otherwise exceed [`MAX_GRID_PIXELS`] or [`MAX_GRID_SIDE`].
    pub pixel_m: f64,
    /// Pixels whose centre lies inside the projection.
    pub pixels_covered: u64,
}

/// Arguments [`frontal_area`] cannot work with.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum FrontalAreaError {
    #[error("flow direction {0:?} is not a finite, non-zero vector")]
    FlowDirection([f64; 3]),
    #[error("pixel size {0} m is not a finite, positive length")]
    PixelSize(f64),
}

/// Frontal area of `soup` seen along `flow_dir` (any length, any sign: the projection is the same
/// for `d` and `−d`), rasterised with square pixels of side `pixel_m` (m).
///
/// The triangles are projected onto the plane normal to `flow_dir` (an orthonormal basis of it),
/// a grid of pixels is laid over the bounding box of the projection, and a pixel counts when its
/// centre is inside any projected triangle. Triangles with a non-finite corner are skipped; an
/// empty soup has area 0.
///
/// **Resolution guard.** When the requested pixels would make a grid larger than
/// [`MAX_GRID_PIXELS`] pixels or wider than [`MAX_GRID_SIDE`] pixels, the pixels are enlarged
/// until it fits, rather than failing: the result is still a frontal area, its `pixel_m` says which
/// pixel size was used and its `error_m2` grows accordingly. (A car at 0.1 mm pixels needs about
/// 2.5·10⁸ pixels, well inside the limit.)
///
/// **Error estimate.** Sampling a pixel at its centre is exact for pixels wholly inside or wholly
/// outside the projection; only pixels cut by its outline are wrong, each by its uncovered part
/// (centre inside) or its covered part (centre outside). Where the outline crosses a pixel as a
/// nearly straight line, the side holding the centre holds at least half of the pixel, so each cut
/// pixel is wrong by at most `pixel²/2`. The number of cut pixels is, to first order, the number of
/// grid lines the outline crosses, and so is the length of the rasterised outline counted in pixel
/// edges (the 4-neighbour pairs of a covered and an uncovered pixel): for a straight piece of
/// length `L` at angle `θ` both are `L (|cos θ| + |sin θ|) / pixel`. Hence
/// `error_m2 = outline pixel edges × pixel² / 2`, a bound that assumes no cancellation; along real
/// outlines the errors of neighbouring pixels have both signs and the true error is typically far
/// smaller. For a disc of radius `r` it is `≈ 4 r · pixel`, 0.64 % of `π r²` at `r = 200` pixels.
/// The corner snapping (≤ 1/512 pixel) moves the outline by far less than this. Not covered: a part
/// narrower than about a pixel (a wire, an antenna) can be missed or counted whole, off by up to its
/// length × pixel; choose pixels finer than the thinnest part that matters.
pub fn frontal_area(
    soup: &TriangleSoup,
    flow_dir: [f64; 3],
    pixel_m: f64,
) -> Result<FrontalArea, FrontalAreaError> {
    frontal_area_within(soup, flow_dir, pixel_m, MAX_GRID_PIXELS)
}

/// [`frontal_area`] with the grid limited to `max_pixels` (at least 1) instead of
/// [`MAX_GRID_PIXELS`], so that the resolution guard can be tested without allocating 512 MiB.
fn frontal_area_within(
    soup: &TriangleSoup,
    flow_dir: [f64; 3],
    pixel_m: f64,
    max_pixels: u64,
) -> Result<FrontalArea, FrontalAreaError> {
    if !(pixel_m.is_finite() && pixel_m > 0.0) {
        return Err(FrontalAreaError::PixelSize(pixel_m));
    }
    let len = (flow_dir[0].powi(2) + flow_dir[1].powi(2) + flow_dir[2].powi(2)).sqrt();
    if !(len.is_finite() && len > 0.0) {
        return Err(FrontalAreaError::FlowDirection(flow_dir));
    }
    let d = flow_dir.map(|x| x / len);
    let plane = Projection::normal_to(d);

    let empty = FrontalArea {
        area_m2: 0.0,
        error_m2: 0.0,
        pixel_m,
        pixels_covered: 0,
    };
    let Some(bounds) = plane.bounds(soup) else {
        return Ok(empty);
    };
    let grid = Grid::fit(bounds, pixel_m, max_pixels.max(1));
    let covered = grid.rasterise(soup, &plane);
    let (pixels_covered, outline_edges) = grid.count(&covered);
    let pixel_area = grid.pixel_m * grid.pixel_m;
    Ok(FrontalArea {
        area_m2: pixels_covered as f64 * pixel_area,
        error_m2: outline_edges as f64 * pixel_area / 2.0,
        pixel_m: grid.pixel_m,
        pixels_covered,
    })
}

/// Projection onto the plane normal to a unit direction, by an orthonormal basis `(e1, e2)` of it.
struct Projection {
    e1: [f64; 3],
    e2: [f64; 3],
}

impl Projection {
    /// `e1` is `d ×` (the coordinate axis least aligned with `d`), normalised, and `e2 = d × e1`:
    /// well conditioned for every `d`, and axis-aligned when `d` is an axis (so an axis-aligned box
    /// projects onto pixel-aligned rectangles).
    fn normal_to(d: [f64; 3]) -> Self {
        let abs = d.map(f64::abs);
        let axis = if abs[0] <= abs[1] && abs[0] <= abs[2] {
            [1.0, 0.0, 0.0]
        } else if abs[1] <= abs[2] {
            [0.0, 1.0, 0.0]
        } else {
            [0.0, 0.0, 1.0]
        };
        let e1 = cross(d, axis);
        let l = dot(e1, e1).sqrt();
        let e1 = e1.map(|x| x / l);
        Projection {
            e1,
            e2: cross(d, e1),
        }
    }

    /// Plane coordinates of a point (m).
    fn project(&self, p: [f32; 3]) -> [f64; 2] {
        let p = p.map(f64::from);
        [dot(p, self.e1), dot(p, self.e2)]
    }

    /// The projected corners of `t`, or `None` when a corner is not finite.
    fn triangle(&self, t: &[[f32; 3]; 3]) -> Option<[[f64; 2]; 3]> {
        let q = t.map(|p| self.project(p));
        q.iter()
            .all(|c| c[0].is_finite() && c[1].is_finite())
            .then_some(q)
    }

    /// `[u_min, u_max, v_min, v_max]` of the projection of the finite triangles, `None` if there are
    /// none.
    fn bounds(&self, soup: &TriangleSoup) -> Option<[f64; 4]> {
        let none = [
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        let b = soup
            .triangles
            .par_iter()
            .filter_map(|t| self.triangle(t))
            .fold(
                || none,
                |mut b, q| {
                    for c in q {
                        b = [
                            b[0].min(c[0]),
                            b[1].max(c[0]),
                            b[2].min(c[1]),
                            b[3].max(c[1]),
                        ];
                    }
                    b
                },
            )
            .reduce(
                || none,
                |a, b| {
                    [
                        a[0].min(b[0]),
                        a[1].max(b[1]),
                        a[2].min(b[2]),
                        a[3].max(b[3]),
                    ]
                },
            );
        (b[0] <= b[1]).then_some(b)
    }
}

/// The pixel grid over the projected bounding box: pixel `(i, j)` spans
/// `[u0 + i·pixel, u0 + (i+1)·pixel] × [v0 + j·pixel, v0 + (j+1)·pixel]`, its centre in the middle.
/// The covered pixels are a bitset, one row of 64-bit words per `j` (rows padded with zero bits).
struct Grid {
    u0: f64,
    v0: f64,
    pixel_m: f64,
    nx: usize,
    ny: usize,
    words_per_row: usize,
}

impl Grid {
    /// The smallest grid of `pixel_m` pixels covering `bounds`, with the pixels enlarged when needed
    /// to stay within `max_pixels` and [`MAX_GRID_SIDE`].
    fn fit(bounds: [f64; 4], pixel_m: f64, max_pixels: u64) -> Self {
        let (width, height) = (bounds[1] - bounds[0], bounds[3] - bounds[2]);
        let cells = |extent: f64, p: f64| ((extent / p).ceil() as u64).max(1);
        let mut p = pixel_m;
        loop {
            let (nx, ny) = (cells(width, p), cells(height, p));
            let too_many = (nx as f64 * ny as f64) / max_pixels as f64;
            let too_wide = nx.max(ny) as f64 / MAX_GRID_SIDE as f64;
            let factor = too_many.sqrt().max(too_wide);
            if nx.saturating_mul(ny) <= max_pixels && nx.max(ny) <= MAX_GRID_SIDE {
                return Grid {
                    u0: bounds[0],
                    v0: bounds[2],
                    pixel_m: p,
                    nx: nx as usize,
                    ny: ny as usize,
                    words_per_row: (nx as usize).div_ceil(64),
                };
            }
            // Rounding up to whole pixels can leave the grid just over the limit: overshoot a bit.
            p *= factor.max(1.0) * 1.001;
        }
    }

    /// A projected point in snapped sub-pixel units from the grid's corner (`0 ..= n·SUBPIXELS`).
    fn snap(&self, q: [f64; 2]) -> [i64; 2] {
        let s = SUBPIXELS as f64 / self.pixel_m;
        [
            ((q[0] - self.u0) * s).round() as i64,
            ((q[1] - self.v0) * s).round() as i64,
        ]
    }

    /// The bitset of pixels whose centre lies inside a projected triangle; triangles are drawn in
    /// parallel, setting bits with atomic ORs (the result is a union, so order does not matter).
    fn rasterise(&self, soup: &TriangleSoup, plane: &Projection) -> Vec<AtomicU64> {
        let bits: Vec<AtomicU64> = (0..self.ny * self.words_per_row)
            .into_par_iter()
            .map(|_| AtomicU64::new(0))
            .collect();
        soup.triangles
            .par_iter()
            .with_min_len(1024)
            .filter_map(|t| plane.triangle(t))
            .for_each(|q| self.draw(q.map(|c| self.snap(c)), &bits));
        bits
    }

    /// Sets the pixels whose centre is inside the snapped triangle `t`, row by row: in each row the
    /// covered centres form one span, found exactly from the three edge functions.
    ///
    /// For a counter-clockwise triangle an edge `p → q` has the edge function
    /// `E(x, y) = A (x − pₓ) + B (y − p_y)` with `A = p_y − q_y`, `B = qₓ − pₓ`, positive on the
    /// inner side. A centre is inside when `E > 0` for all three edges, or `E = 0` on an edge that
    /// the tie rule gives to this triangle: `A > 0`, or `A = 0` and `B > 0`. The two triangles
    /// sharing an edge see it with opposite `(A, B)`, so exactly one of them takes the centres on it.
    fn draw(&self, t: [[i64; 2]; 3], bits: &[AtomicU64]) {
        let [a, mut b, mut c] = t;
        let twice_area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
        if twice_area == 0 {
            return;
        }
        if twice_area < 0 {
            std::mem::swap(&mut b, &mut c);
        }
        let half = SUBPIXELS / 2;
        // Pixel `k`'s centre is at `k·SUBPIXELS + half`; the pixels whose centres lie in [lo, hi].
        let first = |lo: i64| ceil_div(lo - half, SUBPIXELS).max(0);
        let last = |hi: i64, n: usize| floor_div(hi - half, SUBPIXELS).min(n as i64 - 1);
        let xs = [a[0], b[0], c[0]];
        let ys = [a[1], b[1], c[1]];
        let (i_lo, i_hi) = (first(min3(xs)), last(max3(xs), self.nx));
        let (j_lo, j_hi) = (first(min3(ys)), last(max3(ys), self.ny));
        if i_lo > i_hi {
            return;
        }
        let edges = [(a, b), (b, c), (c, a)].map(|(p, q)| {
            let (ea, eb) = (p[1] - q[1], q[0] - p[0]);
            let takes_ties = ea > 0 || (ea == 0 && eb > 0);
            (p, ea, eb, if takes_ties { 0 } else { 1 })
        });
        'rows: for j in j_lo..=j_hi {
            let y = j * SUBPIXELS + half;
            let (mut lo, mut hi) = (i_lo, i_hi);
            for &(p, ea, eb, min_e) in &edges {
                // E at centre i: ea·(i·S + half − pₓ) + eb·(y − p_y) ≥ min_e  ⇔  D·i ≥ N.
                let d = ea * SUBPIXELS;
                let n = min_e - eb * (y - p[1]) - ea * (half - p[0]);
                match d.signum() {
                    1 => lo = lo.max(ceil_div(n, d)),
                    -1 => hi = hi.min(floor_div(n, d)),
                    _ if n > 0 => continue 'rows,
                    _ => {}
                }
            }
            if lo <= hi {
                let row = &bits[j as usize * self.words_per_row..][..self.words_per_row];
                set_span(row, lo as usize, hi as usize);
            }
        }
    }

    /// `(covered pixels, outline pixel edges)`: the popcount of the bitset, and the number of
    /// 4-neighbour pairs of a covered and an uncovered pixel, pixels outside the grid counting as
    /// uncovered. Rows are counted in parallel; integer sums, so the result is deterministic.
    fn count(&self, bits: &[AtomicU64]) -> (u64, u64) {
        let w = self.words_per_row;
        let word = |j: usize, k: usize| -> u64 {
            if j < self.ny {
                bits[j * w + k].load(Ordering::Relaxed)
            } else {
                0
            }
        };
        (0..=self.ny)
            .into_par_iter()
            .map(|j| {
                let (mut covered, mut edges) = (0u64, 0u64);
                // Row j against row j − 1 (row −1 and row ny are empty).
                let mut carry = 0u64;
                for k in 0..w {
                    let cur = word(j, k);
                    let below = if j == 0 { 0 } else { word(j - 1, k) };
                    edges += (cur ^ below).count_ones() as u64;
                    covered += cur.count_ones() as u64;
                    // Transitions along the row: bit i against bit i − 1 (bit −1 is empty).
                    edges += (cur ^ ((cur << 1) | carry)).count_ones() as u64;
                    carry = cur >> 63;
                }
                // The last pixel against the empty one past the row's end (padding bits are zero,
                // so this only matters when the row fills its last word).
                edges += carry;
                (covered, edges)
            })
            .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    }
}

/// Sets bits `i0 ..= i1` of a row, one atomic OR per word (skipped when already set, which spares
/// the cache line when layers overlap).
fn set_span(row: &[AtomicU64], i0: usize, i1: usize) {
    let (w0, w1) = (i0 / 64, i1 / 64);
    for (k, word) in row.iter().enumerate().take(w1 + 1).skip(w0) {
        let from = if k == w0 { i0 % 64 } else { 0 };
        let to = if k == w1 { i1 % 64 } else { 63 };
        let mask = (u64::MAX >> (63 - (to - from))) << from;
        if word.load(Ordering::Relaxed) & mask != mask {
            word.fetch_or(mask, Ordering::Relaxed);
        }
    }
}

/// `⌊n / d⌋` for `d ≠ 0`.
fn floor_div(n: i64, d: i64) -> i64 {
    let (q, r) = (n / d, n % d);
    if r != 0 && ((r < 0) != (d < 0)) {
        q - 1
    } else {
        q
    }
}

/// `⌈n / d⌉` for `d ≠ 0`.
fn ceil_div(n: i64, d: i64) -> i64 {
    -floor_div(-n, d)
}

fn min3(x: [i64; 3]) -> i64 {
    x[0].min(x[1]).min(x[2])
}

fn max3(x: [i64; 3]) -> i64 {
    x[0].max(x[1]).max(x[2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::test_shapes::{box_soup, car_sized_ellipsoid, icosphere};
    use std::f64::consts::PI;

    fn area(soup: &TriangleSoup, d: [f64; 3], pixel_m: f64) -> FrontalArea {
        frontal_area(soup, d, pixel_m).unwrap()
    }

    #[test]
    fn sphere_projects_to_a_disc() {
        // r / pixel = 200. The level-5 icosphere's outline is a polygon inscribed in the circle,
        // short of πr² by ~1e-4 relative, far inside the discretisation error.
        let r = 0.5;
        let sphere = icosphere(5, r, [0.3, -1.2, 0.7]);
        let exact = PI * r * r;
        for d in [
            [1.0, 0.0, 0.0],
            [0.0, 0.0, -2.0],
            [1.0, 2.0, 3.0],
            [-0.3, 0.1, 0.05],
        ] {
            let f = area(&sphere, d, r / 200.0);
            let err = (f.area_m2 - exact).abs();
            assert!(err <= f.error_m2, "{d:?}: {f:?} err {err}");
            assert!(f.error_m2 < 0.01 * exact, "{d:?}: {f:?}");
            assert_eq!(f.pixel_m, r / 200.0);
            assert_eq!(f.area_m2, f.pixels_covered as f64 * f.pixel_m * f.pixel_m);
        }
    }

    #[test]
    fn error_estimate_holds_at_coarse_resolution() {
        // r / pixel = 10 in 30 directions: the true error stays within the estimate.
        let r = 1.0;
        let sphere = icosphere(5, r, [0.0; 3]);
        let mut rng = crate::rng::Rng::seed_from(2);
        for _ in 0..30 {
            let d = [rng.normal(), rng.normal(), rng.normal()];
            let f = area(&sphere, d, r / 10.0);
            let err = (f.area_m2 - PI * r * r).abs();
            assert!(err <= f.error_m2, "{d:?}: {f:?} err {err}");
        }
    }

    #[test]
    fn box_projects_to_its_faces() {
        // Sides 1 × 2 × 3 m. Along an axis: one face. Along a unit direction d: the sum of the face
        // areas weighted by |d·n|, a hexagon (the independent, analytic value).
        let b = box_soup([-0.5, 1.0, 2.0], [0.5, 3.0, 5.0]);
        let cases = [
            ([1.0, 0.0, 0.0], 6.0),
            ([0.0, -1.0, 0.0], 3.0),
            ([0.0, 0.0, 1.0], 2.0),
            ([1.0, 1.0, 1.0], 11.0 / 3f64.sqrt()),
            ([0.2, -0.5, 0.9], {
                let l = (0.2f64 * 0.2 + 0.25 + 0.81).sqrt();
                (6.0 * 0.2 + 3.0 * 0.5 + 2.0 * 0.9) / l
            }),
        ];
        for (d, exact) in cases {
            let f = area(&b, d, 0.005);
            let err = (f.area_m2 - exact).abs();
            assert!(err <= f.error_m2, "{d:?}: {f:?} exact {exact}");
            assert!(f.error_m2 < 0.01 * exact, "{d:?}: {f:?}");
        }
        // Axis-aligned faces fall on whole pixels: exact up to round-off.
        let f = area(&b, [1.0, 0.0, 0.0], 0.005);
        assert_eq!(f.pixels_covered, 400 * 600);
    }

    #[test]
    fn overlapping_parts_count_once() {
        // A "T" of two boxes overlapping in 0.2 × 0.3 (seen along x): 1.0·0.3 + 0.2·1.0 − 0.2·0.3.
        let mut t = box_soup([0.0, -0.5, 0.7], [1.0, 0.5, 1.0]);
        let stem = box_soup([0.3, -0.1, 0.0], [0.6, 0.1, 1.0]);
        t.triangles.extend(stem.triangles);
        t.source_cell.extend(stem.source_cell);
        let f = area(&t, [1.0, 0.0, 0.0], 0.001);
        let exact = 0.3 + 0.2 - 0.06;
        assert!((f.area_m2 - exact).abs() <= f.error_m2, "{f:?}");
        assert!((f.area_m2 - exact).abs() < 1e-9, "{f:?}");
    }

    #[test]
    fn shared_edges_through_pixel_centres_leave_no_gaps() {
        // A 1 m square triangulated on a lattice of half pixels (pixel = 1/64 m), so that vertices
        // and many edges pass exactly through pixel centres, with the diagonals alternating. Every
        // one of the 64 × 64 pixels must be covered exactly once: a gap at a shared edge would
        // show as a missing pixel.
        let p = 1.0 / 64.0;
        let m = 128; // lattice cells per side
        let pt = |i: usize, j: usize| {
            [
                (i as f64 * p / 2.0) as f32,
                (j as f64 * p / 2.0) as f32,
                0.0,
            ]
        };
        let mut soup = TriangleSoup::default();
        for i in 0..m {
            for j in 0..m {
                let (a, b, c, d) = (pt(i, j), pt(i + 1, j), pt(i + 1, j + 1), pt(i, j + 1));
                if (i + j) % 2 == 0 {
                    soup.triangles.extend([[a, b, c], [a, c, d]]);
                } else {
                    soup.triangles.extend([[a, b, d], [b, c, d]]);
                }
            }
        }
        soup.source_cell = (0..soup.triangles.len() as u32).collect();
        for d in [[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]] {
            let f = area(&soup, d, p);
            assert_eq!(f.pixels_covered, 64 * 64, "{d:?}");
            // The outline is the square's: 4 × 64 pixel edges.
            assert_eq!(f.error_m2, 4.0 * 64.0 * p * p / 2.0);
        }
        // A regular dodecagon of radius 6.5 pixels triangulated twice: as a fan around its centre,
        // which lies on a pixel centre (the grid starts at its bounding box, 6.5 pixels away), with
        // the windings alternating and the horizontal and vertical spokes running through pixel
        // centres; and as a fan from one of its corners. Both cover the same polygon with the
        // same outline edges, so a watertight rasteriser covers exactly the same pixels.
        let r = 6.5 * p;
        let (cx, cy) = (0.5, 0.5);
        let corner = |k: usize| {
            let a = k as f64 * PI / 6.0;
            [(cx + r * a.cos()) as f32, (cy + r * a.sin()) as f32, 0.0]
        };
        let mut around_centre = TriangleSoup::default();
        let mut from_corner = TriangleSoup::default();
        let c = [cx as f32, cy as f32, 0.0];
        for k in 0..12 {
            let (q, s) = (corner(k), corner(k + 1));
            around_centre
                .triangles
                .push(if k % 2 == 0 { [c, q, s] } else { [c, s, q] });
            if (1..11).contains(&k) {
                from_corner.triangles.push([corner(0), q, s]);
            }
        }
        let a = area(&around_centre, [0.0, 0.0, 1.0], p);
        let b = area(&from_corner, [0.0, 0.0, 1.0], p);
        assert_eq!(a.pixels_covered, b.pixels_covered);
        // Its area is (12/2)·sin(30°)·r² = 3 r².
        assert!((a.area_m2 - 3.0 * r * r).abs() <= a.error_m2, "{a:?}");
    }

    #[test]
    fn ahmed_like_box_has_the_reference_area() {
        // Length 1.044, width 0.389, height 0.288 m, 0.05 m above the ground: the AhmedML reference
        // area is width × height.
        let body = box_soup([0.0, -0.1945, 0.05], [1.044, 0.1945, 0.338]);
        let f = area(&body, [1.0, 0.0, 0.0], 0.001);
        assert!((f.area_m2 - 0.112032).abs() <= f.error_m2, "{f:?}");
        assert!((f.area_m2 - 0.112032).abs() < 1e-9, "{f:?}");
    }

    #[test]
    fn bundled_ahmed_body_has_the_reference_area() {
        // geometry/ahmed_25deg.stl rounds the nose edges (R = 0.1 m) by insetting the section for
        // 0 ≤ x ≤ R, but from x = R to the slant the section is the full width × height rectangle,
        // and the projection along x is the union of the sections: the exact frontal area of this
        // construction is the full 0.389 × 0.288 = 0.112032 m², not less. (The nose cap alone would
        // be (0.389 − 0.2)(0.288 − 0.2).) Truth from the file itself: the rectangle of its y and z
        // extent (f32 corners).
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("geometry/ahmed_25deg.stl");
        let mesh = crate::mesh::read_mesh(&path).unwrap();
        let soup = TriangleSoup::from_mesh(&mesh);
        let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
        for p in soup.triangles.iter().flatten() {
            for k in 0..3 {
                lo[k] = lo[k].min(p[k] as f64);
                hi[k] = hi[k].max(p[k] as f64);
            }
        }
        let exact = (hi[1] - lo[1]) * (hi[2] - lo[2]);
        assert!((exact - 0.112032).abs() < 1e-7, "{exact}");
        for (d, pixel) in [([1.0, 0.0, 0.0], 0.001), ([-1.0, 0.0, 0.0], 0.0005)] {
            let f = area(&soup, d, pixel);
            assert!((f.area_m2 - exact).abs() <= f.error_m2, "{f:?}");
            assert!(f.error_m2 < 0.01 * exact, "{f:?}");
        }
        // Seen from above, the slant and the rounded nose make it less than length × width.
        let top = area(&soup, [0.0, 0.0, 1.0], 0.001);
        assert!(top.area_m2 + top.error_m2 < 1.044 * 0.389, "{top:?}");
    }

    #[test]
    fn resolution_guard_enlarges_pixels() {
        let b = box_soup([0.0; 3], [1.0, 2.0, 3.0]);
        let f = frontal_area_within(&b, [1.0, 0.0, 0.0], 0.001, 10_000).unwrap();
        assert!(f.pixel_m > 0.001, "{f:?}");
        let (nx, ny) = ((2.0 / f.pixel_m).ceil(), (3.0 / f.pixel_m).ceil());
        assert!(nx * ny <= 10_000.0, "{f:?}");
        assert!((f.area_m2 - 6.0).abs() <= f.error_m2, "{f:?}");
        // A 1 km long sliver at 1 mm would be 10^6 pixels wide: within MAX_GRID_SIDE, kept.
        let sliver = TriangleSoup {
            triangles: vec![[[0.0, 0.0, 0.0], [0.0, 1000.0, 0.0], [0.0, 0.0, 0.002]]],
            source_cell: vec![0],
        };
        let f = frontal_area_within(&sliver, [1.0, 0.0, 0.0], 0.001, 1 << 24).unwrap();
        assert_eq!(f.pixel_m, 0.001);
        assert!((f.area_m2 - 1.0).abs() <= f.error_m2, "{f:?}");
        // 10 km long at 1 mm would be 10^7 pixels wide, over MAX_GRID_SIDE: pixels of about
        // 10 km / 2^22 = 2.4 mm are used instead.
        let sliver = TriangleSoup {
            triangles: vec![[[0.0, 0.0, 0.0], [0.0, 10_000.0, 0.0], [0.0, 0.0, 0.002]]],
            source_cell: vec![0],
        };
        let f = frontal_area_within(&sliver, [1.0, 0.0, 0.0], 0.001, 1 << 24).unwrap();
        let side = 10_000.0 / MAX_GRID_SIDE as f64;
        assert!(f.pixel_m >= side && f.pixel_m < 1.01 * side, "{f:?}");
    }

    #[test]
    fn bad_input_is_an_error_or_zero() {
        let b = box_soup([0.0; 3], [1.0; 3]);
        assert_eq!(
            frontal_area(&b, [0.0; 3], 0.01),
            Err(FrontalAreaError::FlowDirection([0.0; 3]))
        );
        assert!(frontal_area(&b, [f64::NAN, 1.0, 0.0], 0.01).is_err());
        assert_eq!(
            frontal_area(&b, [1.0, 0.0, 0.0], 0.0),
            Err(FrontalAreaError::PixelSize(0.0))
        );
        assert!(frontal_area(&b, [1.0, 0.0, 0.0], f64::INFINITY).is_err());
        let f = area(&TriangleSoup::default(), [1.0, 0.0, 0.0], 0.01);
        assert_eq!((f.area_m2, f.error_m2, f.pixels_covered), (0.0, 0.0, 0));
        // Non-finite triangles are skipped; edge-on triangles cover nothing.
        let mut with_nan = b.clone();
        with_nan
            .triangles
            .push([[f32::NAN, 0.0, 0.0], [5.0, 5.0, 5.0], [9.0, 0.0, 9.0]]);
        let f = area(&with_nan, [1.0, 0.0, 0.0], 0.01);
        assert_eq!(f.pixels_covered, 100 * 100);
        let plate = TriangleSoup {
            triangles: vec![[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]],
            source_cell: vec![0],
        };
        assert_eq!(area(&plate, [1.0, 0.0, 0.0], 0.01).pixels_covered, 0);
    }

    #[test]
    fn integer_division_rounds_the_right_way() {
        for (n, d) in [(7, 2), (-7, 2), (7, -2), (-7, -2), (6, 3), (-6, 3), (0, -5)] {
            let exact = n as f64 / d as f64;
            assert_eq!(floor_div(n, d), exact.floor() as i64, "{n}/{d}");
            assert_eq!(ceil_div(n, d), exact.ceil() as i64, "{n}/{d}");
        }
    }

    /// Speed check, not a timed test (run it on purpose):
    /// `cargo test --release --lib geometry::frontal_area -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn car_sized_million_triangles_at_one_millimetre() {
        let soup = car_sized_ellipsoid();
        // Best of three: the machine may be shared.
        for (d, exact) in [
            ([1.0, 0.0, 0.0], PI * 0.9 * 0.7),
            ([0.0, 1.0, 0.0], PI * 2.25 * 0.7),
        ] {
            let mut best = f64::INFINITY;
            let mut f = None;
            for _ in 0..3 {
                let start = std::time::Instant::now();
                f = Some(area(&soup, d, 0.001));
                best = best.min(start.elapsed().as_secs_f64());
            }
            println!(
                "frontal_area along {d:?}: {} triangles, 1 mm pixels: {:?} (ellipse {exact:.6} m²) \
                 in {best:.3} s (best of 3) on {} threads",
                soup.len(),
                f.unwrap(),
                rayon::current_num_threads()
            );
        }
    }
}
