//! A body's shape in a few numbers, for telling whether a trained model has seen its like.
//!
//! Size alone does not separate a car from a sphere of the same length, and a point cloud is too
//! much to compare, so a body is summarised by 23 numbers from its surface, each meant to change
//! when the shape changes and not when the sampling does:
//!
//! - `ln_length_m`: the length along the flow, the one dimensional feature (a 4 m car is not a 1 m
//!   Ahmed body, however alike their proportions);
//! - `ln_width_over_length`, `ln_height_over_length`: the proportions of the bounding box;
//! - `ln_frontal_fill`: frontal area over width × height (a box fills 1, a cylinder seen end-on
//!   π/4, a sphere π/4, a car about 0.8), the frontal area as `½ Σ area·|n·flow|`;
//! - `ln_wetted_area_over_length2`: how much surface there is for the length;
//! - `facing_*`: the share of the surface facing each of ±flow, ±side, ±up (by the normal's
//!   largest component): boxes are all faces, spheres spread evenly, cars are mostly sides and top;
//! - `d2_*`: the distribution of the distance between two random surface points, over the length,
//!   in 12 bins of 0.1 (the last open-ended): Osada et al.'s D2 shape distribution, which tells
//!   elongated from compact from hollow without any alignment.
//!
//! The input is any set of surface points with outward normals and the area each stands for: the
//! cells of a CFD surface (centres, normals, areas) or uniform samples of an STL (equal shares of
//! its area), so training runs and a user's file are described alike.

use super::sampling::sample_surface;
use super::triangles::{triangle_area, TriangleSoup};
use crate::rng::Rng;

/// The names of the descriptor's features, in order.
pub const FEATURE_NAMES: [&str; 23] = [
    "ln_length_m",
    "ln_width_over_length",
    "ln_height_over_length",
    "ln_frontal_fill",
    "ln_wetted_area_over_length2",
    "facing_downstream",
    "facing_upstream",
    "facing_side_plus",
    "facing_side_minus",
    "facing_up",
    "facing_down",
    "d2_0.0",
    "d2_0.1",
    "d2_0.2",
    "d2_0.3",
    "d2_0.4",
    "d2_0.5",
    "d2_0.6",
    "d2_0.7",
    "d2_0.8",
    "d2_0.9",
    "d2_1.0",
    "d2_1.1+",
];

/// Index of the first orientation share and of the first D2 bin in [`FEATURE_NAMES`].
pub const FACING: usize = 5;
pub const D2: usize = 11;
const D2_BINS: usize = FEATURE_NAMES.len() - D2;
const D2_BIN_WIDTH: f64 = 0.1;
/// Point pairs drawn for the D2 histogram: its bins then vary by about 0.002 between draws,
/// well below the differences between shapes.
const D2_PAIRS: usize = 20_000;

/// Surface points with outward unit normals and the area (m²) each stands for.
#[derive(Debug, Clone, Copy)]
pub struct OrientedPoints<'a> {
    pub position: &'a [[f32; 3]],
    pub normal: &'a [[f32; 3]],
    pub area_m2: &'a [f64],
}

/// Why a descriptor cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DescriptorError {
    #[error("the surface has no points with a positive area")]
    Empty,
    #[error("the body is flat along the {0} axis (zero extent): not a closed body")]
    Flat(&'static str),
}

/// The descriptor of `points` ([`FEATURE_NAMES`] order), for a flow along axis `flow` and
/// `up` upwards; the D2 pairs are drawn from `seed`.
pub fn shape_descriptor(
    points: OrientedPoints,
    flow: usize,
    up: usize,
    seed: u64,
) -> Result<Vec<f64>, DescriptorError> {
    let side = 3 - flow - up;
    let n = points
        .position
        .len()
        .min(points.normal.len())
        .min(points.area_m2.len());
    let usable: Vec<usize> = (0..n)
        .filter(|&i| points.area_m2[i].is_finite() && points.area_m2[i] > 0.0)
        .filter(|&i| points.position[i].iter().all(|x| x.is_finite()))
        .collect();
    if usable.is_empty() {
        return Err(DescriptorError::Empty);
    }
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    let mut area = 0.0;
    let mut facing = [0.0f64; 6];
    let mut frontal = 0.0;
    for &i in &usable {
        let a = points.area_m2[i];
        area += a;
        for k in 0..3 {
            lo[k] = lo[k].min(points.position[i][k] as f64);
            hi[k] = hi[k].max(points.position[i][k] as f64);
        }
        let nrm = points.normal[i].map(|x| x as f64);
        if nrm.iter().all(|x| x.is_finite()) {
            frontal += 0.5 * a * nrm[flow].abs();
            let (axis, value) = [(0usize, flow), (1, side), (2, up)]
                .into_iter()
                .map(|(slot, k)| (slot, nrm[k]))
                .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
                .unwrap_or((0, 0.0));
            facing[2 * axis + usize::from(value < 0.0)] += a;
        }
    }
    let extent = |k: usize| hi[k] - lo[k];
    let names = ["x", "y", "z"];
    for k in [flow, side, up] {
        if extent(k).is_nan() || extent(k) <= 0.0 {
            return Err(DescriptorError::Flat(names[k]));
        }
    }
    let (length, width, height) = (extent(flow), extent(side), extent(up));
    // facing[0] collects normals along +flow: the downstream-facing (rear) surface.
    let mut out = vec![
        length.ln(),
        (width / length).ln(),
        (height / length).ln(),
        (frontal / (width * height)).max(1e-12).ln(),
        (area / (length * length)).ln(),
    ];
    out.extend(facing.iter().map(|f| f / area));
    out.extend(d2_histogram(&points, &usable, length, seed));
    Ok(out)
}

/// Points drawn on `soup` for its descriptor: enough that the descriptor varies by less than its
/// distance units between draws.
const SOUP_SAMPLES: usize = 32_768;

/// The descriptor of a triangulated body (outward-oriented), from uniform samples of its surface.
pub fn soup_descriptor(
    soup: &TriangleSoup,
    flow: usize,
    up: usize,
    seed: u64,
) -> Result<Vec<f64>, DescriptorError> {
    let samples = sample_surface(soup, SOUP_SAMPLES, seed);
    let area: f64 = soup.triangles.iter().map(triangle_area).sum();
    let share = vec![area / samples.len().max(1) as f64; samples.len()];
    shape_descriptor(
        OrientedPoints {
            position: &samples.position,
            normal: &samples.normal,
            area_m2: &share,
        },
        flow,
        up,
        seed,
    )
}

/// Shares of random point pairs (drawn by area) whose distance over `length` falls in each bin.
fn d2_histogram(points: &OrientedPoints, usable: &[usize], length: f64, seed: u64) -> Vec<f64> {
    let mut cumulative = Vec::with_capacity(usable.len());
    let mut total = 0.0;
    for &i in usable {
        total += points.area_m2[i];
        cumulative.push(total);
    }
    let mut rng = Rng::seed_from(seed);
    let mut draw = || {
        let u = rng.uniform() * total;
        let k = cumulative
            .partition_point(|c| *c <= u)
            .min(usable.len() - 1);
        points.position[usable[k]].map(|x| x as f64)
    };
    let mut bins = vec![0.0; D2_BINS];
    for _ in 0..D2_PAIRS {
        let (a, b) = (draw(), draw());
        let d = ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt();
        let bin = ((d / length / D2_BIN_WIDTH) as usize).min(D2_BINS - 1);
        bins[bin] += 1.0;
    }
    bins.iter_mut().for_each(|b| *b /= D2_PAIRS as f64);
    bins
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::test_shapes::{box_soup, icosphere};

    fn describe(soup: &TriangleSoup, seed: u64) -> Vec<f64> {
        soup_descriptor(soup, 0, 2, seed).unwrap()
    }

    #[test]
    fn a_box_is_described_by_its_proportions_and_faces() {
        // 2 × 1 × 0.5 m: the frontal area fills width × height, faces only.
        let d = describe(&box_soup([0.0; 3], [2.0, 1.0, 0.5]), 1);
        assert!((d[0] - 2f64.ln()).abs() < 1e-3, "{d:?}");
        assert!((d[1] - 0.5f64.ln()).abs() < 1e-3);
        assert!((d[2] - 0.25f64.ln()).abs() < 1e-3);
        assert!(d[3].abs() < 0.02, "fill {}", d[3].exp());
        // Surface 2·(2 + 1 + 0.5) = 7 m², over 4 m².
        assert!((d[4] - (7.0f64 / 4.0).ln()).abs() < 1e-3);
        // The end faces are 0.5 m² each of 7: 1/14.
        assert!((d[FACING] - 1.0 / 14.0).abs() < 0.01, "{d:?}");
        let d2: f64 = d[D2..].iter().sum();
        assert!((d2 - 1.0).abs() < 1e-9);
    }

    #[test]
    fn the_descriptor_depends_on_the_shape_not_the_draw() {
        let a = describe(&box_soup([0.0; 3], [2.0, 1.0, 0.5]), 1);
        let b = describe(&box_soup([0.0; 3], [2.0, 1.0, 0.5]), 2);
        let sphere = describe(&icosphere(4, 0.5, [0.0; 3]), 1);
        let differ = |x: &[f64], y: &[f64]| {
            x.iter()
                .zip(y)
                .map(|(p, q)| (p - q).abs())
                .fold(0.0, f64::max)
        };
        assert!(differ(&a, &b) < 0.02, "{a:?} {b:?}");
        assert!(differ(&a, &sphere) > 0.3);
        // A sphere's frontal area is π/4 of its bounding square, its faces evenly spread.
        assert!((sphere[3].exp() - std::f64::consts::FRAC_PI_4).abs() < 0.02);
        for share in &sphere[FACING..D2] {
            assert!((share - 1.0 / 6.0).abs() < 0.03, "{sphere:?}");
        }
    }

    #[test]
    fn degenerate_input_is_an_error() {
        let none = OrientedPoints {
            position: &[],
            normal: &[],
            area_m2: &[],
        };
        assert_eq!(shape_descriptor(none, 0, 2, 0), Err(DescriptorError::Empty));
        let flat = OrientedPoints {
            position: &[[0.0, 0.0, 0.0], [1.0, 1.0, 0.0]],
            normal: &[[0.0, 0.0, 1.0]; 2],
            area_m2: &[1.0, 1.0],
        };
        assert_eq!(
            shape_descriptor(flat, 0, 2, 0),
            Err(DescriptorError::Flat("z"))
        );
    }
}
