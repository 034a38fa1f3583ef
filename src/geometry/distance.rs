//! Exact closest points: on one triangle, and on a whole triangle soup through its [`Bvh`].
//!
//! Distances feed the signed-distance inputs of the model and the near-wall sampling, so they are
//! exact (to `f64` rounding of `f32` corners), including for points whose closest feature is an
//! edge or a corner and for degenerate triangles (segments and points).

use rayon::prelude::*;

use super::bvh::{Bvh, MAX_DEPTH};
use super::triangles::{triangle_cross, Triangle};
use super::vec3::{add, cross, dot, scale, sub};

/// Closest point to `p` on the segment from `a` to `a + ab` (the point `a` when `ab` is zero).
#[inline]
fn closest_on_segment(a: [f64; 3], ab: [f64; 3], p: [f64; 3]) -> [f64; 3] {
    let len2 = dot(ab, ab);
    if len2.is_nan() || len2 <= 0.0 {
        return a;
    }
    let t = (dot(sub(p, a), ab) / len2).clamp(0.0, 1.0);
    add(a, scale(ab, t))
}

#[inline]
fn distance_squared(a: [f64; 3], b: [f64; 3]) -> f64 {
    let d = sub(a, b);
    dot(d, d)
}

/// The point of triangle `t` (its closed, filled face) closest to `p`.
///
/// The orthogonal projection of `p` onto the triangle's plane is the answer when its barycentric
/// coordinates are all non-negative (face region). Otherwise the closest point lies on an edge
/// whose outer side holds the projection (a vertex being the end of such an edge), so it is the
/// nearest of the clamped segment projections onto those edges: this covers the three edge and
/// three vertex regions without special cases. A degenerate triangle (collinear or coincident
/// corners; sin of its angle below 1e-10) has no usable plane and is handled as its three edges.
pub fn closest_point_on_triangle(t: &Triangle, p: [f64; 3]) -> [f64; 3] {
    let a = t[0].map(f64::from);
    let b = t[1].map(f64::from);
    let c = t[2].map(f64::from);
    // Work relative to corner a, which keeps the arithmetic small for far-from-origin meshes.
    let ab = sub(b, a);
    let ac = sub(c, a);
    let ap = sub(p, a);
    let n = cross(ab, ac);
    let nn = dot(n, n);
    let edges = [([0.0; 3], ab), (ab, sub(ac, ab)), ([0.0; 3], ac)];
    let mut flagged = [true; 3];
    if nn > 1e-20 * dot(ab, ab) * dot(ac, ac) {
        // Weights of b and c of the projection q = a + s·ab + t·ac:
        // n·(ap × ac) = n·((q−a) × ac) = s·|n|², since (p − q) ∥ n; likewise for t.
        let s = dot(n, cross(ap, ac)) / nn;
        let w = dot(n, cross(ab, ap)) / nn;
        if s >= 0.0 && w >= 0.0 && s + w <= 1.0 {
            return add(a, add(scale(ab, s), scale(ac, w)));
        }
        // The projection lies outside edge ab when w < 0, outside bc when s + w > 1, outside ca
        // when s < 0.
        flagged = [w < 0.0, s + w > 1.0, s < 0.0];
    }
    let mut best = a;
    let mut best_d2 = f64::INFINITY;
    for ((start, dir), on) in edges.into_iter().zip(flagged) {
        if on {
            let q = closest_on_segment(start, dir, ap);
            let d2 = distance_squared(q, ap);
            if d2 < best_d2 {
                best_d2 = d2;
                best = q;
            }
        }
    }
    add(a, best)
}

/// A box aligned with the mean normal of a node's triangles: the slab `lo[i] ≤ axes[i]·x ≤ hi[i]`
/// for three (nearly) orthonormal axes, the first being the normal.
///
/// Why: the distance to an axis-aligned box is a poor lower bound for a tilted, nearly flat patch
/// of a fine mesh, whose box is thick along the normal; a point hovering over such a surface then
/// cannot rule out any triangle within the box thickness of its true distance, which on a
/// million-triangle car means thousands of triangle tests per query. A box aligned with the patch
/// is as thin as the patch is flat.
#[derive(Debug, Clone, Copy, Default)]
struct OrientedBox {
    /// Normal, then two in-plane directions (`f32`, used as is on both sides of every comparison).
    axes: [[f32; 3]; 3],
    /// Extent along each axis (m), rounded outward.
    lo: [f32; 3],
    hi: [f32; 3],
}

impl OrientedBox {
    /// Box of the corners of `tris`, aligned with their summed area vector `normal` (or the
    /// coordinate axes when that vanishes).
    fn fit(tris: &[Triangle]) -> OrientedBox {
        let mut normal = [0.0; 3];
        for t in tris {
            normal = add(normal, triangle_cross(t));
        }
        let len = dot(normal, normal).sqrt();
        let frame: [[f64; 3]; 3] = if len > 0.0 && len.is_finite() {
            let n = scale(normal, 1.0 / len);
            // The coordinate axis most perpendicular to n, made perpendicular to it.
            let k = (0..3)
                .min_by(|&a, &b| n[a].abs().total_cmp(&n[b].abs()))
                .unwrap_or(0);
            let mut e = [0.0; 3];
            e[k] = 1.0;
            let u = sub(e, scale(n, n[k]));
            let u = scale(u, 1.0 / dot(u, u).sqrt());
            [n, u, cross(n, u)]
        } else {
            [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
        };
        let axes = frame.map(|a| a.map(|c| c as f32));
        let wide = axes.map(|a| a.map(f64::from));
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for v in tris.iter().flatten() {
            let v = v.map(f64::from);
            for k in 0..3 {
                let x = dot(wide[k], v);
                lo[k] = lo[k].min(x);
                hi[k] = hi[k].max(x);
            }
        }
        OrientedBox {
            axes,
            lo: lo.map(round_down),
            hi: hi.map(round_up),
        }
    }

    /// A lower bound of the squared distance (m²) from `p` to the triangles the box was fitted to.
    ///
    /// For any x in the box, |E(p − x)| ≥ the clamped excess along each axis, and |E| ≤ 1 + 3e-7
    /// for an orthonormal frame rounded to `f32`; the factor 1 − 1e-6 makes it a true bound.
    #[inline]
    fn distance_squared(&self, p: [f64; 3]) -> f64 {
        let mut d2 = 0.0;
        for k in 0..3 {
            let x = dot(self.axes[k].map(f64::from), p);
            // Branch-free clamp: at most one of the two terms is positive.
            let e = (self.lo[k] as f64 - x).max(0.0) + (x - self.hi[k] as f64).max(0.0);
            d2 += e * e;
        }
        d2 * (1.0 - 2e-6)
    }
}

/// The largest `f32` not above `x`.
fn round_down(x: f64) -> f32 {
    let y = x as f32;
    if y as f64 > x {
        y.next_down()
    } else {
        y
    }
}

/// The smallest `f32` not below `x`.
fn round_up(x: f64) -> f32 {
    let y = x as f32;
    if (y as f64) < x {
        y.next_up()
    } else {
        y
    }
}

/// Per-node oriented boxes of a [`Bvh`], which tighten the pruning of closest-point searches.
#[derive(Debug, Clone, Default)]
pub struct DistanceBounds {
    /// One per BVH node, same index.
    boxes: Vec<OrientedBox>,
}

impl DistanceBounds {
    /// Fits a box to every node of `bvh`, in parallel, O(n log n).
    pub fn build(bvh: &Bvh) -> Self {
        let tris = bvh.triangles();
        let boxes = bvh
            .subtree_ranges()
            .into_par_iter()
            .with_min_len(256)
            .map(|r| OrientedBox::fit(&tris[r]))
            .collect();
        DistanceBounds { boxes }
    }

    /// Lower bound of the squared distance (m²) from `p` to the triangles under node `i`; the
    /// oriented box is only consulted when the axis-aligned one does not already reach `cutoff`.
    #[inline]
    fn lower_bound(&self, bvh: &Bvh, i: usize, p: [f64; 3], cutoff: f64) -> f64 {
        let aligned = bvh.nodes()[i].distance_squared(p);
        match self.boxes.get(i) {
            Some(b) if aligned < cutoff => aligned.max(b.distance_squared(p)),
            _ => aligned,
        }
    }

    /// Bytes held (for memory reports).
    pub fn heap_bytes(&self) -> usize {
        self.boxes.capacity() * std::mem::size_of::<OrientedBox>()
    }
}

/// A lower bound of the squared distance (m²) from `p` to triangle `t`: the squared distance to
/// its plane (0 for a degenerate triangle), lowered by 1e-12 relative so that rounding cannot
/// lift it above the true distance. Cheaper than the closest point, it rules out most of the
/// triangles a leaf search meets.
#[inline]
fn plane_distance_squared(t: &Triangle, p: [f64; 3]) -> f64 {
    let a = t[0].map(f64::from);
    let n = triangle_cross(t);
    let nn = dot(n, n);
    if nn.is_nan() || nn <= 0.0 {
        return 0.0;
    }
    let h = dot(n, sub(p, a));
    h * h / nn * (1.0 - 1e-12)
}

/// The closest point of a soup to a query point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nearest {
    /// The point on the surface (m).
    pub point: [f64; 3],
    /// Squared distance from the query point (m²).
    pub distance_squared_m2: f64,
    /// Index of the triangle in [`Bvh::triangles`] (leaf order).
    pub triangle: usize,
}

/// The closest point to `p` among all triangles of `bvh`: depth-first, nearer child first, pruning
/// every node whose lower bound (the larger of its axis-aligned and its oriented box distance) is
/// not below the best distance so far. `bounds` must have been built from `bvh` (an empty one
/// falls back to the axis-aligned boxes). `None` for an empty hierarchy or a non-finite `p`.
/// Ties go to the first triangle found.
pub fn nearest_point(bvh: &Bvh, bounds: &DistanceBounds, p: [f64; 3]) -> Option<Nearest> {
    let nodes = bvh.nodes();
    if nodes.is_empty() || !p.iter().all(|c| c.is_finite()) {
        return None;
    }
    let tris = bvh.triangles();
    let mut best: Option<Nearest> = None;
    let mut best_d2 = f64::INFINITY;
    // (node, lower bound of its squared distance); each level leaves at most one sibling waiting.
    let mut stack = [(0u32, 0.0f64); MAX_DEPTH + 2];
    stack[0] = (0, bounds.lower_bound(bvh, 0, p, best_d2));
    let mut top = 1;
    while top > 0 {
        top -= 1;
        let (i, bound) = stack[top];
        if bound >= best_d2 {
            continue;
        }
        let i = i as usize;
        match nodes[i].children(i) {
            Some((l, r)) => {
                let dl = bounds.lower_bound(bvh, l, p, best_d2);
                let dr = bounds.lower_bound(bvh, r, p, best_d2);
                let (near, far) = if dl <= dr {
                    ((l, dl), (r, dr))
                } else {
                    ((r, dr), (l, dl))
                };
                if far.1 < best_d2 {
                    stack[top] = (far.0 as u32, far.1);
                    top += 1;
                }
                if near.1 < best_d2 {
                    stack[top] = (near.0 as u32, near.1);
                    top += 1;
                }
            }
            None => {
                for k in nodes[i].triangle_range() {
                    if plane_distance_squared(&tris[k], p) >= best_d2 {
                        continue;
                    }
                    let q = closest_point_on_triangle(&tris[k], p);
                    let d2 = distance_squared(q, p);
                    if d2 < best_d2 {
                        best_d2 = d2;
                        best = Some(Nearest {
                            point: q,
                            distance_squared_m2: d2,
                            triangle: k,
                        });
                    }
                }
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Triangle = [[0.0, 0.0, 0.0], [4.0, 0.0, 0.0], [0.0, 3.0, 0.0]];

    fn close(a: [f64; 3], b: [f64; 3]) -> bool {
        distance_squared(a, b) < 1e-24
    }

    /// Expected closest points constructed from the region geometry, not from the algorithm:
    /// a point `q` of the triangle plus a direction in `q`'s normal cone.
    #[test]
    fn every_voronoi_region_of_a_triangle() {
        // Edge bc from (4,0) to (0,3): outward in-plane normal (3, 4)/5.
        let bc_out = [0.6, 0.8, 0.0];
        let cases: Vec<([f64; 3], [f64; 3])> = vec![
            // Face (above, below, in the plane).
            ([1.0, 1.0, 2.5], [1.0, 1.0, 0.0]),
            ([1.0, 1.0, -7.0], [1.0, 1.0, 0.0]),
            ([0.5, 0.5, 0.0], [0.5, 0.5, 0.0]),
            // Edge ab (y = 0), edge ca (x = 0), edge bc.
            ([2.0, -1.5, 0.7], [2.0, 0.0, 0.0]),
            ([-2.0, 1.0, -0.3], [0.0, 1.0, 0.0]),
            (
                add([2.0, 1.5, 0.0], add(scale(bc_out, 2.0), [0.0, 0.0, 1.0])),
                [2.0, 1.5, 0.0],
            ),
            // Vertex a: the cone x ≤ 0, y ≤ 0.
            ([-1.0, -2.0, 0.5], [0.0, 0.0, 0.0]),
            // Vertex b: between the outward normals (0,-1) of ab and (0.6,0.8) of bc.
            (add([4.0, 0.0, 0.0], [0.5, -0.5, -1.0]), [4.0, 0.0, 0.0]),
            (add([4.0, 0.0, 0.0], [3.0, 0.1, 0.0]), [4.0, 0.0, 0.0]),
            // Vertex c: between (-1,0) of ca and (0.6,0.8) of bc.
            (add([0.0, 3.0, 0.0], [-0.2, 1.0, 2.0]), [0.0, 3.0, 0.0]),
            // The corners and an edge midpoint themselves.
            ([4.0, 0.0, 0.0], [4.0, 0.0, 0.0]),
            ([2.0, 1.5, 0.0], [2.0, 1.5, 0.0]),
        ];
        for (p, expected) in cases {
            let q = closest_point_on_triangle(&T, p);
            assert!(
                close(q, expected),
                "p {p:?}: got {q:?}, expected {expected:?}"
            );
        }
        // Orientation does not matter.
        let flipped: Triangle = [T[0], T[2], T[1]];
        let q = closest_point_on_triangle(&flipped, [2.0, -1.5, 0.7]);
        assert!(close(q, [2.0, 0.0, 0.0]));
    }

    #[test]
    fn matches_dense_sampling_on_a_tilted_triangle() {
        let t: Triangle = [[0.3, -0.2, 1.0], [1.7, 0.4, 0.2], [0.1, 1.3, -0.5]];
        let c = t.map(|v| v.map(f64::from));
        let mut rng = crate::rng::Rng::seed_from(7);
        for _ in 0..50 {
            let p = [
                rng.range(-2.0, 3.0),
                rng.range(-2.0, 3.0),
                rng.range(-2.0, 3.0),
            ];
            let q = closest_point_on_triangle(&t, p);
            let d = distance_squared(q, p).sqrt();
            // q lies on the triangle: barycentric weights in [0, 1] that reproduce it.
            let m = 300;
            let mut best = f64::INFINITY;
            for i in 0..=m {
                for j in 0..=m - i {
                    let (u, v) = (i as f64 / m as f64, j as f64 / m as f64);
                    let x = add(
                        c[0],
                        add(scale(sub(c[1], c[0]), u), scale(sub(c[2], c[0]), v)),
                    );
                    best = best.min(distance_squared(x, p).sqrt());
                }
            }
            // Sampling can only be farther, by at most the grid spacing.
            assert!(d <= best + 1e-12 && best - d < 0.01, "{d} vs {best}");
        }
    }

    #[test]
    fn degenerate_triangles_are_segments_and_points() {
        let seg: Triangle = [[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [1.0, 0.0, 0.0]];
        assert!(close(
            closest_point_on_triangle(&seg, [1.5, 2.0, 0.0]),
            [1.5, 0.0, 0.0]
        ));
        assert!(close(
            closest_point_on_triangle(&seg, [3.0, 1.0, 0.0]),
            [2.0, 0.0, 0.0]
        ));
        let point: Triangle = [[1.0, 2.0, 3.0]; 3];
        assert!(close(
            closest_point_on_triangle(&point, [0.0; 3]),
            [1.0, 2.0, 3.0]
        ));
    }

    #[test]
    fn nearest_over_a_hierarchy_matches_brute_force() {
        let mut rng = crate::rng::Rng::seed_from(11);
        let tris: Vec<Triangle> = (0..500)
            .map(|_| {
                let o = [
                    rng.range(-5.0, 5.0),
                    rng.range(-5.0, 5.0),
                    rng.range(-5.0, 5.0),
                ];
                std::array::from_fn(|_| {
                    std::array::from_fn(|k| (o[k] + rng.range(-0.5, 0.5)) as f32)
                })
            })
            .collect();
        let bvh = Bvh::build(&tris);
        let bounds = DistanceBounds::build(&bvh);
        let aligned_only = DistanceBounds::default();
        for _ in 0..200 {
            let p = [
                rng.range(-8.0, 8.0),
                rng.range(-8.0, 8.0),
                rng.range(-8.0, 8.0),
            ];
            let brute = tris
                .iter()
                .map(|t| distance_squared(closest_point_on_triangle(t, p), p))
                .fold(f64::INFINITY, f64::min);
            let got = nearest_point(&bvh, &bounds, p).unwrap();
            assert_eq!(got.distance_squared_m2, brute);
            let plain = nearest_point(&bvh, &aligned_only, p).unwrap();
            assert_eq!(plain.distance_squared_m2, brute);
            let t = &bvh.triangles()[got.triangle];
            assert_eq!(closest_point_on_triangle(t, p), got.point);
        }
        assert_eq!(nearest_point(&bvh, &bounds, [f64::NAN, 0.0, 0.0]), None);
        let empty = Bvh::build(&[]);
        assert_eq!(
            nearest_point(&empty, &DistanceBounds::build(&empty), [0.0; 3]),
            None
        );
    }
}
