//! Random points on a surface, and random subsets of indices.
//!
//! AB-UPT sees a car as points: tens of thousands of points spread over the surface by area (the
//! geometry branch), a subset of them as supernodes, and subsets of the CFD cells as anchors and
//! queries. [`sample_surface`] draws the points, [`choose_subset`] picks the subsets.
//!
//! Both are seeded and reproducible: the same seed gives the same result on every platform and with
//! any number of threads. Surface sampling runs in parallel in fixed-size chunks of samples, chunk
//! `k` drawing from its own stream [`Rng::stream`]`(seed, k)`, so the result depends on the seed
//! only, not on how rayon schedules the chunks.

use std::collections::HashSet;

use rayon::prelude::*;

use super::triangles::{triangle_area, triangle_cross, TriangleSoup};
use crate::rng::Rng;

/// Samples drawn from one random stream. Fixed (not derived from the thread count) so that the
/// samples do not depend on the machine; large enough that seeding a stream costs nothing next to
/// the samples, small enough that 65k samples still spread over a few threads.
const SAMPLES_PER_STREAM: usize = 8192;

/// Points drawn on a surface, one entry per point in each vector.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SurfaceSamples {
    /// Position of each point (m).
    pub position: Vec<[f32; 3]>,
    /// Unit normal of the triangle each point lies on, by the right-hand rule of its winding
    /// (outward for an outward-oriented closed surface, see [`TriangleSoup::orient_outward`]).
    pub normal: Vec<[f32; 3]>,
    /// Mesh cell each point lies on ([`TriangleSoup::source_cell`] of its triangle), so that cell
    /// data can be looked up for the point.
    pub cell: Vec<u32>,
}

impl SurfaceSamples {
    pub fn len(&self) -> usize {
        self.position.len()
    }

    pub fn is_empty(&self) -> bool {
        self.position.is_empty()
    }
}

/// `n` points uniformly distributed over the area of `soup`, reproducible from `seed`.
///
/// A triangle is chosen with probability proportional to its area (a uniform number in
/// `[0, total area)` located by binary search in the cumulative area table), then a point uniform
/// in that triangle by the square-root barycentric method: with `r₁, r₂` uniform in `[0, 1)`,
/// `p = (1 − √r₁) a + √r₁ (1 − r₂) b + √r₁ r₂ c`.
///
/// Triangles with zero or non-finite area are never chosen; when no triangle has a positive finite
/// area, or `n` is 0, the result is empty. A guide table makes the search start next to the answer
/// (expected `O(1)` per point, `O(log triangles)` at worst); the tables take 16 bytes per triangle.
pub fn sample_surface(soup: &TriangleSoup, n: usize, seed: u64) -> SurfaceSamples {
    let Some(table) = CumulativeArea::new(soup) else {
        return SurfaceSamples::default();
    };
    if n == 0 {
        return SurfaceSamples::default();
    }
    let mut out = SurfaceSamples {
        position: vec![[0.0; 3]; n],
        normal: vec![[0.0; 3]; n],
        cell: vec![0; n],
    };
    out.position
        .par_chunks_mut(SAMPLES_PER_STREAM)
        .zip(out.normal.par_chunks_mut(SAMPLES_PER_STREAM))
        .zip(out.cell.par_chunks_mut(SAMPLES_PER_STREAM))
        .enumerate()
        .for_each(|(k, ((position, normal), cell))| {
            let mut rng = Rng::stream(seed, k as u64);
            fill(soup, &table, &mut rng, position, normal, cell);
        });
    out
}

/// Samples handled together. The work is memory-bound: a pick and its triangle are random accesses
/// into tables of tens of MB. So a batch's random numbers are drawn first, and each lookup is then
/// done for the whole batch by a short loop of independent loads, whose cache misses overlap
/// instead of following one another. The numbers are drawn in the same order as one sample at a
/// time (pick, r₁, r₂ for each sample), so batching changes nothing in the result.
const BATCH: usize = 64;

/// Draws the samples of one stream into the output slices (all of the same length).
fn fill(
    soup: &TriangleSoup,
    table: &CumulativeArea,
    rng: &mut Rng,
    position: &mut [[f32; 3]],
    normal: &mut [[f32; 3]],
    cell: &mut [u32],
) {
    let (mut u, mut r, mut t) = ([0.0; BATCH], [[0.0; 2]; BATCH], [0usize; BATCH]);
    let batches = position
        .chunks_mut(BATCH)
        .zip(normal.chunks_mut(BATCH))
        .zip(cell.chunks_mut(BATCH));
    for ((position, normal), cell) in batches {
        let m = position.len();
        for k in 0..m {
            u[k] = rng.uniform();
            r[k] = [rng.uniform(), rng.uniform()];
        }
        table.pick_batch(&u[..m], &mut t[..m]);
        touch(t[..m].iter().map(|&i| {
            // Both ends of the 36-byte triangle (it may straddle two cache lines), and its cell.
            let tri = &soup.triangles[i];
            let c = soup.source_cell.get(i).copied().unwrap_or(0);
            tri[0][0] as f64 + tri[2][2] as f64 + c as f64
        }));
        for k in 0..m {
            let triangle = &soup.triangles[t[k]];
            position[k] = point_in_triangle(triangle, r[k][0], r[k][1]);
            normal[k] = unit_normal(triangle);
            // `source_cell` shorter than `triangles` is inconsistent data: fall back to the
            // triangle's own index rather than panic.
            cell[k] = soup.source_cell.get(t[k]).copied().unwrap_or(t[k] as u32);
        }
    }
}

/// Loads every value of `values` with no branch depending on them, so that their cache misses are
/// all in flight together and the loop that then uses them finds them in cache (a portable
/// prefetch).
fn touch(values: impl Iterator<Item = f64>) {
    std::hint::black_box(values.fold(0.0, |a, v| a + v));
}

/// Running sums of the triangle areas, for choosing a triangle with probability ∝ its area.
///
/// A plain binary search over a million-entry table misses the cache at most of its 20 steps; a
/// guide table (Chen and Asau's method) first narrows the search to the few triangles whose slices
/// overlap one of `n` equal bins of the total area, so a pick costs about two memory accesses. The
/// pick is checked against the table itself, so it is always exactly the full binary search's.
struct CumulativeArea {
    /// `cumulative[i]` = area of triangles `0..=i` (m²); non-finite areas count as 0.
    cumulative: Vec<f64>,
    /// `guide[g]` = the first triangle whose slice reaches past `g / bins` of the total area, for
    /// `g` in `0..=bins`.
    guide: Vec<usize>,
    /// The last triangle with a positive area: the choice when round-off puts the uniform number
    /// at the very end of the table.
    last_positive: usize,
}

impl CumulativeArea {
    /// `None` when no triangle has a positive finite area (nothing to sample from).
    fn new(soup: &TriangleSoup) -> Option<Self> {
        let areas: Vec<f64> = soup
            .triangles
            .par_iter()
            .map(|t| {
                let a = triangle_area(t);
                if a.is_finite() {
                    a
                } else {
                    0.0
                }
            })
            .collect();
        let last_positive = areas.iter().rposition(|&a| a > 0.0)?;
        let mut sum = 0.0;
        let cumulative = areas
            .iter()
            .map(|&a| {
                sum += a;
                sum
            })
            .collect::<Vec<_>>();
        if !(sum.is_finite() && sum > 0.0) {
            return None;
        }
        let bins = cumulative.len();
        let mut guide = Vec::with_capacity(bins + 1);
        let mut i = 0;
        for g in 0..=bins {
            let threshold = sum * (g as f64 / bins as f64);
            while i < cumulative.len() && cumulative[i] <= threshold {
                i += 1;
            }
            guide.push(i);
        }
        Some(CumulativeArea {
            cumulative,
            guide,
            last_positive,
        })
    }

    /// The triangle whose slice of the cumulative table holds `u · total` for `u` in `[0, 1)`:
    /// the first `i` with `cumulative[i] > u · total`, so zero-area triangles (empty slices) are
    /// never picked.
    #[cfg(test)]
    fn pick(&self, u: f64) -> usize {
        let (lo, hi) = self.guided_range(u);
        self.pick_within(u, lo, hi)
    }

    /// [`Self::pick`] for every `u`, into `out`: the guide entries of all, then the table entries
    /// of all, each fetched by a loop of independent loads (see [`BATCH`]).
    fn pick_batch(&self, u: &[f64], out: &mut [usize]) {
        let mut range = [(0, 0); BATCH];
        for (r, &u) in range.iter_mut().zip(u) {
            *r = self.guided_range(u);
        }
        let last = self.cumulative.len() - 1;
        touch(
            range[..u.len()]
                .iter()
                .map(|r| self.cumulative[r.0.min(last)]),
        );
        for ((o, &u), r) in out.iter_mut().zip(u).zip(&range) {
            *o = self.pick_within(u, r.0, r.1);
        }
    }

    /// The guide's range of candidate triangles for `u`, `lo ..= hi` (empty if `lo > hi`).
    fn guided_range(&self, u: f64) -> (usize, usize) {
        let bins = self.guide.len() - 1;
        let g = ((u * bins as f64) as usize).min(bins - 1);
        (
            self.guide[g],
            self.guide[g + 1].min(self.cumulative.len() - 1),
        )
    }

    /// The pick for `u`, searched in `lo ..= hi` first.
    fn pick_within(&self, u: f64, lo: usize, hi: usize) -> usize {
        let table = &self.cumulative;
        let target = u * table[table.len() - 1];
        let mut i = if lo <= hi {
            lo + table[lo..=hi].partition_point(|&c| c <= target)
        } else {
            lo
        };
        // Round-off at a bin's edge can put the answer just outside the guided range: then
        // search the whole table (rare, and the same answer as ever).
        let found = i < table.len() && table[i] > target && (i == 0 || table[i - 1] <= target);
        if !found {
            i = table.partition_point(|&c| c <= target);
        }
        i.min(self.last_positive)
    }
}

/// The point of `t` at square-root barycentric coordinates `(r1, r2)`, uniform over the triangle when
/// `r1, r2` are uniform in `[0, 1)`: `√r₁` places the point on a segment parallel to `bc` with the
/// density ∝ distance from `a` that a uniform area density needs, and `r₂` places it along that
/// segment.
fn point_in_triangle(t: &[[f32; 3]; 3], r1: f64, r2: f64) -> [f32; 3] {
    let s = r1.sqrt();
    let (wa, wb, wc) = (1.0 - s, s * (1.0 - r2), s * r2);
    let mut p = [0.0f32; 3];
    for (k, x) in p.iter_mut().enumerate() {
        *x = (wa * t[0][k] as f64 + wb * t[1][k] as f64 + wc * t[2][k] as f64) as f32;
    }
    p
}

/// Unit normal of `t` by the right-hand rule; only called for triangles of positive area.
fn unit_normal(t: &[[f32; 3]; 3]) -> [f32; 3] {
    let c = triangle_cross(t);
    let len = (c[0] * c[0] + c[1] * c[1] + c[2] * c[2]).sqrt();
    if len > 0.0 {
        [
            (c[0] / len) as f32,
            (c[1] / len) as f32,
            (c[2] / len) as f32,
        ]
    } else {
        [0.0; 3]
    }
}

/// Below `n / FLOYD_MAX_FRACTION` chosen indices Floyd's algorithm (time `O(k log k)`) is used,
/// above it selection sampling (time `O(n)`): both cost about the same there.
const FLOYD_MAX_FRACTION: usize = 16;

/// `k` distinct indices of `0..n`, every `k`-subset equally likely, in increasing order; all of
/// `0..n` when `k ≥ n`. Reproducible from `seed`. Memory is `O(k)` whatever `n` is.
///
/// For `k ≪ n` (supernodes among surface points, anchors among 150M volume cells) Floyd's
/// algorithm draws `k` numbers and sorts them; when `k` is a sizeable fraction of `n`, selection
/// sampling (Knuth's algorithm S) walks `0..n` once and emits the indices already in order, which
/// is faster and needs no hash set (a partial Fisher–Yates shuffle would need `O(n)` memory).
pub fn choose_subset(n: usize, k: usize, seed: u64) -> Vec<usize> {
    if k >= n {
        return (0..n).collect();
    }
    let mut rng = Rng::seed_from(seed);
    if k <= n / FLOYD_MAX_FRACTION {
        floyd(n, k, &mut rng)
    } else {
        selection_sampling(n, k, &mut rng)
    }
}

/// Floyd's algorithm: for `j` in `n − k .. n`, draw `t` uniform in `0..=j` and take `t`, or `j` when
/// `t` was taken already. By induction each step keeps every subset of `0..=j` of the current size
/// equally likely. Needs `k < n`; returns the indices sorted.
fn floyd(n: usize, k: usize, rng: &mut Rng) -> Vec<usize> {
    let mut chosen = HashSet::with_capacity(k);
    for j in n - k..n {
        let t = rng.below(j as u64 + 1) as usize;
        if !chosen.insert(t) {
            chosen.insert(j);
        }
    }
    let mut out: Vec<usize> = chosen.into_iter().collect();
    out.sort_unstable();
    out
}

/// Selection sampling: visit `0..n` in order and take index `i` with probability
/// `(still needed) / (still left)`, exactly (an integer draw), which makes every `k`-subset equally
/// likely and yields the indices in increasing order. Needs `k < n`.
fn selection_sampling(n: usize, k: usize, rng: &mut Rng) -> Vec<usize> {
    let mut out = Vec::with_capacity(k);
    for i in 0..n {
        let needed = k - out.len();
        if needed == 0 {
            break;
        }
        if (rng.below((n - i) as u64) as usize) < needed {
            out.push(i);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::test_shapes::{box_soup, car_sized_ellipsoid, icosphere};

    /// Upper 99.9 % quantile of the chi-square distribution with `df` degrees of freedom by the
    /// Wilson–Hilferty approximation (z₀.₉₉₉ = 3.0902), within 0.1 % of the exact value for
    /// df ≥ 100 (and 1 % too high at df = 5: 20.75 against the table's 20.52).
    fn chi2_999(df: usize) -> f64 {
        let k = df as f64;
        let h = 2.0 / (9.0 * k);
        k * (1.0 - h + 3.0902 * h.sqrt()).powi(3)
    }

    /// Pearson's statistic of `counts` against `expected`.
    fn pearson(counts: &[usize], expected: &[f64]) -> f64 {
        counts
            .iter()
            .zip(expected)
            .map(|(&c, &e)| (c as f64 - e).powi(2) / e)
            .sum()
    }

    fn sub3(a: [f32; 3], b: [f32; 3]) -> [f64; 3] {
        [
            a[0] as f64 - b[0] as f64,
            a[1] as f64 - b[1] as f64,
            a[2] as f64 - b[2] as f64,
        ]
    }

    fn dot3(a: [f64; 3], b: [f64; 3]) -> f64 {
        a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
    }

    /// Barycentric coordinates of `p` in `t` and its distance from the triangle's plane.
    fn barycentric(t: &[[f32; 3]; 3], p: [f32; 3]) -> ([f64; 3], f64) {
        let (e1, e2, d) = (sub3(t[1], t[0]), sub3(t[2], t[0]), sub3(p, t[0]));
        let (d11, d12, d22) = (dot3(e1, e1), dot3(e1, e2), dot3(e2, e2));
        let (d1, d2) = (dot3(d, e1), dot3(d, e2));
        let det = d11 * d22 - d12 * d12;
        let v = (d22 * d1 - d12 * d2) / det;
        let w = (d11 * d2 - d12 * d1) / det;
        let n = triangle_cross(t);
        let dist = dot3(d, n).abs() / dot3(n, n).sqrt();
        ([1.0 - v - w, v, w], dist)
    }

    #[test]
    fn samples_per_triangle_are_proportional_to_area_on_a_sphere() {
        // 80 triangles of unequal area (the subdivided icosahedron's faces differ by up to ~20 %).
        let soup = icosphere(1, 1.0, [0.0; 3]);
        let n = 400_000;
        let s = sample_surface(&soup, n, 11);
        assert_eq!(s.len(), n);
        let areas: Vec<f64> = soup.triangles.iter().map(triangle_area).collect();
        let total: f64 = areas.iter().sum();
        let expected: Vec<f64> = areas.iter().map(|a| n as f64 * a / total).collect();
        let mut counts = vec![0usize; soup.len()];
        for &c in &s.cell {
            counts[c as usize] += 1;
        }
        let chi2 = pearson(&counts, &expected);
        // 79 degrees of freedom, 99.9 % quantile ≈ 116.
        assert!(chi2 < chi2_999(79), "chi2 {chi2}");
    }

    #[test]
    fn samples_per_face_are_proportional_to_area_on_a_box() {
        // Faces of areas 6, 6, 3, 3, 2, 2 (m²).
        let soup = box_soup([-0.5, 1.0, 2.0], [0.5, 3.0, 5.0]);
        let n = 300_000;
        let s = sample_surface(&soup, n, 5);
        let face_area = [6.0, 6.0, 3.0, 3.0, 2.0, 2.0];
        let expected: Vec<f64> = face_area.iter().map(|a| n as f64 * a / 22.0).collect();
        let mut counts = [0usize; 6];
        for &c in &s.cell {
            counts[c as usize] += 1;
        }
        // 5 degrees of freedom: the 99.9 % quantile is 20.52 (table value).
        let chi2 = pearson(&counts, &expected);
        assert!(chi2 < 20.52, "chi2 {chi2} {counts:?}");

        // Within the +x face (y in [1, 3], z in [2, 5], made of two triangles) the points are
        // uniform: counts on a 4 × 4 grid of equal cells, 15 degrees of freedom, 99.9 % quantile
        // 37.70 (table value). Every point on that face has x = 0.5 and its normal +x.
        let mut grid = [0usize; 16];
        let mut on_face = 0;
        for ((p, nrm), &c) in s.position.iter().zip(&s.normal).zip(&s.cell) {
            if c != 1 {
                continue;
            }
            on_face += 1;
            assert_eq!(p[0], 0.5);
            assert_eq!(*nrm, [1.0, 0.0, 0.0]);
            let iy = (((p[1] - 1.0) / 2.0 * 4.0) as usize).min(3);
            let iz = (((p[2] - 2.0) / 3.0 * 4.0) as usize).min(3);
            grid[iy * 4 + iz] += 1;
        }
        let chi2 = pearson(&grid, &[on_face as f64 / 16.0; 16]);
        assert!(chi2 < 37.70, "chi2 {chi2} {grid:?}");
    }

    #[test]
    fn points_are_uniform_within_one_triangle() {
        // A scalene triangle cut at its edge midpoints into four triangles of equal area; the
        // sampled points must fall into each with probability 1/4. 3 degrees of freedom: the
        // 99.9 % quantile is 16.27 (table value).
        let (a, b, c) = ([0.0f32, 0.0, 0.0], [3.0f32, 0.5, 0.0], [0.7f32, 2.0, 1.0]);
        let soup = TriangleSoup {
            triangles: vec![[a, b, c]],
            source_cell: vec![7],
        };
        let n = 200_000;
        let s = sample_surface(&soup, n, 3);
        let mut counts = [0usize; 4];
        for (p, &cell) in s.position.iter().zip(&s.cell) {
            assert_eq!(cell, 7);
            let ([wa, wb, wc], dist) = barycentric(&soup.triangles[0], *p);
            assert!(dist < 1e-6 && wa > -1e-6 && wb > -1e-6 && wc > -1e-6);
            // The corner sub-triangles are where one barycentric coordinate exceeds 1/2.
            let region = if wa > 0.5 {
                0
            } else if wb > 0.5 {
                1
            } else if wc > 0.5 {
                2
            } else {
                3
            };
            counts[region] += 1;
        }
        let chi2 = pearson(&counts, &[n as f64 / 4.0; 4]);
        assert!(chi2 < 16.27, "chi2 {chi2} {counts:?}");
    }

    #[test]
    fn samples_lie_on_their_triangle_with_outward_normals() {
        let soup = icosphere(3, 2.0, [1.0, -2.0, 0.5]);
        assert!(soup.signed_volume_m3() > 0.0);
        let s = sample_surface(&soup, 50_000, 1);
        for ((p, nrm), &c) in s.position.iter().zip(&s.normal).zip(&s.cell) {
            let t = &soup.triangles[c as usize];
            let (w, dist) = barycentric(t, *p);
            assert!(dist < 1e-5, "{dist}");
            assert!(w.iter().all(|&x| x > -1e-5), "{w:?}");
            let len = dot3(sub3(*nrm, [0.0; 3]), sub3(*nrm, [0.0; 3])).sqrt();
            assert!((len - 1.0).abs() < 1e-6);
            let radial = sub3(*p, [1.0, -2.0, 0.5]);
            // Outward: the normal points away from the centre, within the facets' tilt.
            assert!(dot3(sub3(*nrm, [0.0; 3]), radial) / 2.0 > 0.95);
        }
    }

    #[test]
    fn signed_volume_and_orientation() {
        // Independent truth: the box's volume is the product of its sides.
        let mut b = box_soup([-0.5, 1.0, 2.0], [0.5, 3.0, 5.0]);
        assert!((b.signed_volume_m3() - 6.0).abs() < 1e-9);
        assert!(b.orient_outward());
        for t in &mut b.triangles {
            t.swap(0, 1);
        }
        assert!((b.signed_volume_m3() + 6.0).abs() < 1e-9);
        assert!(!b.orient_outward());
        assert!((b.signed_volume_m3() - 6.0).abs() < 1e-9);
        assert!(b.orient_outward());
        // An inscribed polyhedron of a sphere: a little below 4π/3 r³.
        let sphere = icosphere(4, 1.0, [0.0; 3]);
        let v = sphere.signed_volume_m3();
        let exact = 4.0 / 3.0 * std::f64::consts::PI;
        assert!(v < exact && v > 0.99 * exact, "{v}");
        // Normals of samples of the flipped sphere point inward until it is re-oriented.
        let mut flipped = sphere.clone();
        for t in &mut flipped.triangles {
            t.swap(1, 2);
        }
        let inward = sample_surface(&flipped, 1000, 4);
        assert!(inward
            .position
            .iter()
            .zip(&inward.normal)
            .all(|(p, n)| dot3(sub3(*p, [0.0; 3]), sub3(*n, [0.0; 3])) < 0.0));
        assert!(!flipped.orient_outward());
        assert_eq!(flipped, sphere);
    }

    #[test]
    fn same_seed_same_samples_and_independent_of_threads() {
        let soup = icosphere(2, 1.0, [0.0; 3]);
        // Several streams, the last one partial.
        let n = 3 * SAMPLES_PER_STREAM + 123;
        let a = sample_surface(&soup, n, 42);
        let b = sample_surface(&soup, n, 42);
        let c = sample_surface(&soup, n, 43);
        assert_eq!(a, b);
        assert_ne!(a.position, c.position);
        let one_thread = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| sample_surface(&soup, n, 42));
        assert_eq!(a, one_thread);
        let three_threads = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap()
            .install(|| sample_surface(&soup, n, 42));
        assert_eq!(a, three_threads);
        // A prefix of a longer draw is the shorter draw (chunks do not depend on n).
        let longer = sample_surface(&soup, n + 5000, 42);
        assert_eq!(&longer.position[..n], &a.position[..]);
    }

    #[test]
    fn guided_pick_is_the_plain_binary_search() {
        // Areas spanning orders of magnitude, with zero-area triangles in between and at the ends.
        let mut rng = Rng::seed_from(8);
        let mut soup = TriangleSoup::default();
        for k in 0..500 {
            let s = if k % 7 == 0 {
                0.0
            } else {
                10f32.powf(rng.range(-3.0, 1.0) as f32)
            };
            soup.triangles
                .push([[0.0; 3], [s, 0.0, 0.0], [0.0, 1.0, 0.0]]);
        }
        soup.source_cell = (0..500).collect();
        let table = CumulativeArea::new(&soup).unwrap();
        let total = table.cumulative[499];
        let plain = |u: f64| {
            let i = table.cumulative.partition_point(|&c| c <= u * total);
            i.min(table.last_positive)
        };
        let mut us: Vec<f64> = (0..100_000).map(|_| rng.uniform()).collect();
        // Bin edges, and the uniforms that land exactly on a triangle's slice edge.
        us.extend((0..500).map(|g| g as f64 / 500.0));
        us.extend(table.cumulative.iter().map(|c| c / total));
        us.extend([0.0, 1.0 - f64::EPSILON / 2.0]);
        for u in us.into_iter().filter(|u| *u < 1.0) {
            let i = table.pick(u);
            assert_eq!(i, plain(u), "u = {u}");
            assert!(table.cumulative[i] > if i == 0 { 0.0 } else { table.cumulative[i - 1] });
        }
    }

    #[test]
    fn degenerate_input_gives_empty_samples() {
        let flat = TriangleSoup {
            triangles: vec![[[0.0; 3], [1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]],
            source_cell: vec![0],
        };
        assert!(sample_surface(&flat, 100, 0).is_empty());
        assert!(sample_surface(&TriangleSoup::default(), 100, 0).is_empty());
        let good = icosphere(0, 1.0, [0.0; 3]);
        assert!(sample_surface(&good, 0, 0).is_empty());
        // Non-finite and zero-area triangles are never chosen; a short `source_cell` falls back to
        // the triangle index.
        let mixed = TriangleSoup {
            triangles: vec![
                [[f32::NAN, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
                [[0.0; 3]; 3],
                [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
                [[0.0; 3]; 3],
            ],
            source_cell: vec![5],
        };
        let s = sample_surface(&mixed, 1000, 9);
        assert_eq!(s.len(), 1000);
        assert!(s.cell.iter().all(|&c| c == 2));
        assert!(s.normal.iter().all(|n| *n == [0.0, 0.0, 1.0]));
    }

    #[test]
    fn subsets_are_distinct_sorted_and_in_range() {
        for &(n, k) in &[
            (10, 3),
            (1000, 10),
            (1000, 900),
            (100_000, 5),
            (7, 7),
            (7, 20),
            (0, 3),
        ] {
            for seed in 0..5 {
                let s = choose_subset(n, k, seed);
                assert_eq!(s.len(), k.min(n));
                assert!(s.windows(2).all(|w| w[0] < w[1]), "{n} {k} {s:?}");
                assert!(s.iter().all(|&i| i < n));
            }
        }
        assert_eq!(choose_subset(5, 9, 1), vec![0, 1, 2, 3, 4]);
        assert_eq!(choose_subset(1000, 10, 3), choose_subset(1000, 10, 3));
        assert_ne!(choose_subset(1000, 10, 3), choose_subset(1000, 10, 4));
        // Floyd's algorithm when k is small next to n: O(k) memory for 10 of 10^18.
        let huge = choose_subset(1 << 60, 10, 0);
        assert_eq!(huge.len(), 10);
    }

    /// Counts how often each index is chosen over `seeds` seeds, and tests them for uniformity.
    /// The counts are not multinomial: a draw holds exactly `k` distinct indices, so each index is a
    /// Bernoulli(p = k/n) per draw with covariance −p(1−p)/(n−1) between indices. Scaled by
    /// `(n−1) / (n (1−p))`, Pearson's statistic is then asymptotically chi-square with n − 1
    /// degrees of freedom.
    fn index_uniformity(n: usize, k: usize, seeds: u64, draw: impl Fn(u64) -> Vec<usize>) -> f64 {
        let mut counts = vec![0usize; n];
        for seed in 0..seeds {
            for i in draw(seed) {
                counts[i] += 1;
            }
        }
        let p = k as f64 / n as f64;
        let expected = vec![seeds as f64 * p; n];
        pearson(&counts, &expected) * (n as f64 - 1.0) / (n as f64 * (1.0 - p))
    }

    #[test]
    fn subsets_choose_every_index_equally_often() {
        // Selection sampling (k > n/16), Floyd (k ≤ n/16), and both algorithms directly on the
        // same sizes; 19 degrees of freedom: 99.9 % quantile 43.82 (table value).
        let chi2 = index_uniformity(20, 5, 20_000, |s| choose_subset(20, 5, s));
        assert!(chi2 < 43.82, "selection via choose_subset: {chi2}");
        let chi2 = index_uniformity(400, 10, 20_000, |s| choose_subset(400, 10, s));
        assert!(chi2 < chi2_999(399), "floyd via choose_subset: {chi2}");
        let chi2 = index_uniformity(20, 5, 20_000, |s| floyd(20, 5, &mut Rng::seed_from(s)));
        assert!(chi2 < 43.82, "floyd: {chi2}");
        let chi2 = index_uniformity(20, 5, 20_000, |s| {
            selection_sampling(20, 5, &mut Rng::seed_from(s))
        });
        assert!(chi2 < 43.82, "selection: {chi2}");
    }

    #[test]
    fn every_subset_is_equally_likely() {
        // All 20 subsets of size 3 of 0..6 (index uniformity alone would not catch correlated
        // picks): 19 degrees of freedom, 99.9 % quantile 43.82 (table value).
        let draws = 40_000;
        type Draw = fn(u64) -> Vec<usize>;
        let algorithms: [(&str, Draw); 2] = [
            ("floyd", |s| floyd(6, 3, &mut Rng::seed_from(s))),
            ("selection", |s| {
                selection_sampling(6, 3, &mut Rng::seed_from(s))
            }),
        ];
        for (name, draw) in algorithms {
            let mut counts = [0usize; 64];
            for seed in 0..draws {
                let mask: usize = draw(seed).iter().map(|&i| 1 << i).sum();
                counts[mask] += 1;
            }
            let seen: Vec<usize> = (0..64)
                .filter(|m: &usize| m.count_ones() == 3)
                .map(|m| counts[m])
                .collect();
            assert_eq!(seen.iter().sum::<usize>(), draws as usize);
            let chi2 = pearson(&seen, &[draws as f64 / 20.0; 20]);
            assert!(chi2 < 43.82, "{name}: {chi2} {seen:?}");
        }
    }

    /// Speed check, not a timed test (run it on purpose):
    /// `cargo test --release --lib geometry::sampling -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn ten_million_samples_from_a_million_triangles() {
        let soup = car_sized_ellipsoid();
        // Best of three: the machine may be shared.
        let mut best = f64::INFINITY;
        for seed in 0..3 {
            let start = std::time::Instant::now();
            let s = sample_surface(&soup, 10_000_000, seed);
            best = best.min(start.elapsed().as_secs_f64());
            assert_eq!(s.len(), 10_000_000);
        }
        println!(
            "sample_surface: 10M samples from {} triangles in {best:.3} s (best of 3) on {} threads",
            soup.len(),
            rayon::current_num_threads()
        );
        let start = std::time::Instant::now();
        let subset = choose_subset(150_000_000, 16_384, 1);
        println!(
            "choose_subset: {} of 150M in {:.4} s",
            subset.len(),
            start.elapsed().as_secs_f64()
        );
    }
}
