//! Neighbour search over point clouds: k nearest neighbours, points within a radius, and the
//! inverse-distance-weighted interpolation built on them.
//!
//! Two consumers shape the API. AB-UPT's supernode pooling gathers, for each supernode, the
//! geometry points within radius r (inclusive, the supernode itself included) capped at 32
//! neighbours, as a CSR list ([`Ragged`]) that the model turns into a gather and a segment mean.
//! Exporting predictions to a CFD mesh interpolates from the predicted points to the mesh's cells
//! with k = 5 nearest neighbours weighted by 1/d, as PhysicsNeMo-CFD does ([`idw_interpolate`]).
//!
//! The search is kiddo's immutable k-d tree with squared Euclidean distances in `f32`, the
//! precision of the points. Results are deterministic: kiddo breaks ties in distance arbitrarily,
//! so this module sorts by (squared distance, index) and, when a tie straddles the cut at k,
//! fetches every tied point so that the smallest indices win. The radius is inclusive in the same
//! arithmetic: a point qualifies when its squared distance, computed in `f32` as
//! `dx·dx + dy·dy + dz·dz`, is at most `radius_m · radius_m` rounded to `f32`.
//!
//! The batch forms run on rayon's pool and visit their queries along a Morton curve, so that
//! consecutive queries touch the same parts of the tree (see `in_space_order`); results still
//! come back in the order of the queries.
//!
//! Bad data degrades instead of panicking: points with a NaN or infinite coordinate are never
//! returned as neighbours (kiddo uses infinity as a padding value inside the tree), queries with a
//! non-finite coordinate have no neighbours, and interpolation without usable neighbours gives NaN.
//! Distances are in the units of the points (metres for car meshes; model units when the points
//! have been normalised).

use std::num::NonZeroUsize;

use kiddo::{ImmutableKdTree, QueryResultItem, SquaredEuclidean};
use rayon::prelude::*;

type Tree = ImmutableKdTree<f32, 3>;
type Metric = SquaredEuclidean<f32>;
/// A point found by kiddo: its index (`item`) and squared distance (`distance`).
type Hit = QueryResultItem<(), u32, f32>;

/// One neighbour of a query point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbour {
    /// Position of the neighbour in the slice the index was built from.
    pub index: u32,
    /// Euclidean distance from the query (units of the points, metres for car meshes).
    pub distance_m: f32,
}

/// The k nearest neighbours of many queries, flat and row-major: row `q` is
/// `index[q * k..(q + 1) * k]` (and the same range of `distance_m`), sorted by distance with ties
/// broken by index.
///
/// `k` is the row width actually returned: the requested k, or the number of searchable points
/// when there are fewer, so that every entry is a genuine neighbour and no row is padded with
/// repeats (a repeated neighbour would silently double its weight in an average). The one
/// exception is a query with a NaN or infinite coordinate: its row holds index 0 with distance NaN
/// in every slot, so that gathers stay in bounds and anything computed from the distances is NaN.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Neighbours {
    /// Neighbours per query (row width).
    pub k: usize,
    /// Neighbour indices, `queries × k`.
    pub index: Vec<u32>,
    /// Neighbour distances (units of the points), `queries × k`.
    pub distance_m: Vec<f32>,
}

impl Neighbours {
    /// Number of query rows (0 when `k` is 0, as there is nothing to store).
    pub fn rows(&self) -> usize {
        self.index.len().checked_div(self.k).unwrap_or(0)
    }

    /// Indices and distances of row `q`; empty slices when `q` is out of range.
    pub fn row(&self, q: usize) -> (&[u32], &[f32]) {
        let start = q.saturating_mul(self.k);
        let end = start.saturating_add(self.k);
        match (self.index.get(start..end), self.distance_m.get(start..end)) {
            (Some(index), Some(distance_m)) => (index, distance_m),
            _ => (&[], &[]),
        }
    }
}

/// Variable-length rows in compressed sparse row (CSR) form: row `q` is
/// `indices[offsets[q]..offsets[q + 1]]`. `offsets` has one entry more than there are rows and
/// starts at 0, the layout a segment reduction over `indices` expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ragged {
    /// Row starts into `indices`, `rows + 1` entries, non-decreasing, first 0, last `indices.len()`.
    pub offsets: Vec<usize>,
    /// Concatenated rows.
    pub indices: Vec<u32>,
}

impl Default for Ragged {
    fn default() -> Self {
        Ragged {
            offsets: vec![0],
            indices: Vec::new(),
        }
    }
}

impl Ragged {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Row `q`; empty when `q` is out of range.
    pub fn row(&self, q: usize) -> &[u32] {
        match (self.offsets.get(q), self.offsets.get(q.saturating_add(1))) {
            (Some(&start), Some(&end)) => self.indices.get(start..end).unwrap_or(&[]),
            _ => &[],
        }
    }
}

/// A k-d tree over a point cloud, answering nearest-neighbour and radius queries by the points'
/// positions in the slice it was built from.
pub struct PointIndex {
    /// `None` when no point is searchable (empty input, or only non-finite points).
    tree: Option<Tree>,
    /// Number of points the index was built from, searchable or not.
    n_points: usize,
    /// Number of points in the tree (finite, and within the `u32` index range).
    n_searchable: usize,
}

impl std::fmt::Debug for PointIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PointIndex")
            .field("n_points", &self.n_points)
            .field("n_searchable", &self.n_searchable)
            .finish()
    }
}

fn is_finite(p: &[f32; 3]) -> bool {
    p.iter().all(|c| c.is_finite())
}

/// Sorts hits by squared distance, ties by index.
fn sort_by_distance_then_index(found: &mut [Hit]) {
    found.sort_unstable_by(|a, b| a.distance.total_cmp(&b.distance).then(a.item.cmp(&b.item)));
}

impl PointIndex {
    /// Builds the index over `points` (construction runs on rayon's pool for large inputs).
    ///
    /// Points with a NaN or infinite coordinate are left out of the tree but keep their positions,
    /// so indices always refer to `points`. Indices are `u32` (half the memory of `usize` in
    /// the model's gather tensors); points beyond the first `u32::MAX` are not searchable.
    pub fn new(points: &[[f32; 3]]) -> Self {
        let n_points = points.len();
        let usable = &points[..n_points.min(u32::MAX as usize)];
        let all_finite = usable.par_iter().all(is_finite);
        let (tree, n_searchable) = if all_finite {
            (Tree::new_from_slice(usable).ok(), usable.len())
        } else {
            let entries: Vec<(u32, [f32; 3])> = usable
                .par_iter()
                .enumerate()
                .filter(|(_, p)| is_finite(p))
                .map(|(i, p)| (i as u32, *p))
                .collect();
            (Tree::new_from_entries(&entries).ok(), entries.len())
        };
        // A construction error (kiddo's only ones are index overflow and mutable-bucket splits,
        // neither possible here) leaves an index that finds nothing rather than a panic.
        let n_searchable = if tree.is_some() { n_searchable } else { 0 };
        PointIndex {
            tree: tree.filter(|_| n_searchable > 0),
            n_points,
            n_searchable,
        }
    }

    /// Number of points the index was built from (including any non-finite, unsearchable ones).
    pub fn len(&self) -> usize {
        self.n_points
    }

    /// Whether the index was built from no points.
    pub fn is_empty(&self) -> bool {
        self.n_points == 0
    }

    /// Number of points a query can return: [`len`](Self::len) less the non-finite points.
    pub fn searchable_len(&self) -> usize {
        self.n_searchable
    }

    /// Up to `k` nearest searchable points with squared distance at most `max_d2` (`None`: no
    /// bound), sorted by distance, ties by index.
    fn nearest_sorted(&self, q: &[f32; 3], k: usize, max_d2: Option<f32>) -> Vec<Hit> {
        let Some(tree) = &self.tree else {
            return Vec::new();
        };
        if k == 0 || !is_finite(q) || max_d2.is_some_and(|d2| d2.is_nan() || d2 < 0.0) {
            return Vec::new();
        }
        // One more than asked for, to see whether a tie in distance straddles the cut.
        let probe = k.saturating_add(1).min(self.n_searchable);
        let Some(probe) = NonZeroUsize::new(probe) else {
            return Vec::new();
        };
        let query = tree.query(q).nearest_n::<Metric>(probe).unsorted();
        let mut found = match max_d2 {
            None => query.execute(),
            Some(d2) => query.within::<Metric>(d2).execute(),
        };
        sort_by_distance_then_index(&mut found);
        if found.len() > k {
            let cut_d2 = found[k - 1].distance;
            if found[k].distance == cut_d2 {
                // kiddo kept an arbitrary subset of the points tied at the cut: fetch them all.
                found = self.all_within_sorted(tree, q, cut_d2);
            }
            found.truncate(k);
        }
        found
    }

    /// Every searchable point with squared distance at most `max_d2`, sorted by distance then
    /// index.
    fn all_within_sorted(&self, tree: &Tree, q: &[f32; 3], max_d2: f32) -> Vec<Hit> {
        let mut found = tree.query(q).within::<Metric>(max_d2).unsorted().execute();
        sort_by_distance_then_index(&mut found);
        found
    }

    /// The `k` nearest points to `q`, sorted by distance with ties broken by index; fewer when
    /// fewer points are searchable, none when `q` has a non-finite coordinate.
    pub fn nearest(&self, q: [f32; 3], k: usize) -> Vec<Neighbour> {
        self.nearest_sorted(&q, k, None)
            .into_iter()
            .map(|hit| Neighbour {
                index: hit.item,
                distance_m: hit.distance.sqrt(),
            })
            .collect()
    }

    /// [`nearest`](Self::nearest) for every query, in parallel, as one flat table whose row width
    /// is `k.min(self.searchable_len())` (see [`Neighbours`] for rows of non-finite queries).
    pub fn nearest_batch(&self, queries: &[[f32; 3]], k: usize) -> Neighbours {
        let width = k.min(self.n_searchable);
        if width == 0 {
            return Neighbours::default();
        }
        let mut index = vec![0u32; queries.len() * width];
        let mut distance_m = vec![f32::NAN; queries.len() * width];
        in_space_order(
            queries,
            |q| self.nearest_sorted(q, width, None),
            |row, found| {
                // A finite query always finds `width` points; otherwise the row keeps (0, NaN).
                let start = row * width;
                for (slot, hit) in found.into_iter().enumerate() {
                    index[start + slot] = hit.item;
                    distance_m[start + slot] = hit.distance.sqrt();
                }
            },
        );
        Neighbours {
            k: width,
            index,
            distance_m,
        }
    }

    /// Indices of the points within `radius_m` of `q`, boundary included (`q` itself when it is
    /// one of the points), sorted by index. When more than `cap` points qualify, the `cap` nearest
    /// are kept (ties in distance broken by smaller index). A negative or NaN radius, or a
    /// non-finite `q`, finds nothing.
    pub fn within_radius(&self, q: [f32; 3], radius_m: f32, cap: usize) -> Vec<u32> {
        let Some(tree) = &self.tree else {
            return Vec::new();
        };
        if cap == 0 || !is_finite(&q) || radius_m.is_nan() || radius_m < 0.0 {
            return Vec::new();
        }
        let max_d2 = radius_m * radius_m;
        let mut indices: Vec<u32> = if cap >= self.n_searchable {
            // The cap cannot bind: skip the k-nearest bookkeeping.
            tree.query(&q)
                .within::<Metric>(max_d2)
                .unsorted()
                .execute()
                .iter()
                .map(|r| r.item)
                .collect()
        } else {
            self.nearest_sorted(&q, cap, Some(max_d2))
                .into_iter()
                .map(|hit| hit.item)
                .collect()
        };
        indices.sort_unstable();
        indices
    }

    /// [`within_radius`](Self::within_radius) for every query, in parallel, as CSR rows.
    pub fn within_radius_batch(&self, queries: &[[f32; 3]], radius_m: f32, cap: usize) -> Ragged {
        let mut rows: Vec<Vec<u32>> = vec![Vec::new(); queries.len()];
        in_space_order(
            queries,
            |&q| self.within_radius(q, radius_m, cap),
            |row, found| rows[row] = found,
        );
        let mut offsets = Vec::with_capacity(rows.len() + 1);
        offsets.push(0);
        let mut total = 0usize;
        for row in &rows {
            total += row.len();
            offsets.push(total);
        }
        let mut indices = Vec::with_capacity(total);
        for row in rows {
            indices.extend_from_slice(&row);
        }
        Ragged { offsets, indices }
    }
}

/// Queries handed to the thread pool at a time by [`in_space_order`]: enough to keep the threads
/// busy, small enough that the buffered results stay a few megabytes.
const QUERY_CHUNK: usize = 16_384;

/// Evaluates `compute` for every query in parallel, visiting the queries in Morton (Z-curve)
/// order, and hands each result to `store` with the query's position in `queries`.
///
/// Why: consecutive queries then descend into the same few leaves of the tree, which stay in
/// cache. On 10M random points, 1M random queries ran several times faster in this order than in
/// the given one, and mesh cells or sampled points arrive in no useful order. Results are
/// buffered one chunk at a time, and `store` for one chunk runs while the pool computes the next,
/// so rows go straight to their place without a permutation buffer the size of the output.
fn in_space_order<R: Send>(
    queries: &[[f32; 3]],
    compute: impl Fn(&[f32; 3]) -> R + Sync,
    mut store: impl FnMut(usize, R) + Send,
) {
    let order = super::morton::morton_order(queries);
    let mut store_chunk = |chunk: &[usize], results: Vec<R>| {
        for (&q, result) in chunk.iter().zip(results) {
            store(q, result);
        }
    };
    let mut pending: Option<(&[usize], Vec<R>)> = None;
    for chunk in order.chunks(QUERY_CHUNK) {
        let ((), results) = rayon::join(
            || {
                if let Some((done, results)) = pending.take() {
                    store_chunk(done, results);
                }
            },
            || {
                chunk
                    .par_iter()
                    .map(|&q| compute(&queries[q]))
                    .collect::<Vec<R>>()
            },
        );
        pending = Some((chunk, results));
    }
    if let Some((done, results)) = pending {
        store_chunk(done, results);
    }
}

/// Interpolates per-point `values` (`index.len() × components`, row-major) to `targets` by
/// inverse-distance weighting over the `k` nearest points (weights 1/d), in parallel; returns
/// `targets.len() × components` values.
///
/// A target that coincides with source points (distance 0) takes their value exactly (their mean
/// when several sources coincide), so a field sampled at the sources is reproduced there; a
/// constant field is reproduced everywhere (weights are normalised in `f64`). Sums run in `f64`.
/// Targets with a non-finite coordinate, `k == 0`, an index with no searchable points, or `values`
/// whose length is not `index.len() × components` give NaN (no `components == 0` output at all).
pub fn idw_interpolate(
    index: &PointIndex,
    values: &[f32],
    components: usize,
    targets: &[[f32; 3]],
    k: usize,
) -> Vec<f32> {
    if components == 0 {
        return Vec::new();
    }
    let mut out = vec![f32::NAN; targets.len() * components];
    if index.len().checked_mul(components) != Some(values.len()) {
        return out;
    }
    in_space_order(
        targets,
        |target| idw_at(index, values, components, target, k),
        |row, interpolated| {
            if let Some(interpolated) = interpolated {
                out[row * components..][..components].copy_from_slice(&interpolated);
            }
        },
    );
    out
}

/// One target of [`idw_interpolate`]; `None` when it has no neighbours. `values` must hold
/// `index.len() × components` entries.
fn idw_at(
    index: &PointIndex,
    values: &[f32],
    components: usize,
    target: &[f32; 3],
    k: usize,
) -> Option<Vec<f32>> {
    let found = index.nearest_sorted(target, k, None);
    if found.is_empty() {
        return None;
    }
    let value_row = |i: u32| &values[i as usize * components..][..components];
    let mut acc = vec![0f64; components];
    let coincident = found.iter().take_while(|hit| hit.distance == 0.0).count();
    let weight_sum = if coincident > 0 {
        // Exact hit: equal weights over the coincident sources only. Sums of a few f32 values in
        // f64 are exact, so a single source's value comes back bit for bit.
        for hit in &found[..coincident] {
            for (a, &v) in acc.iter_mut().zip(value_row(hit.item)) {
                *a += f64::from(v);
            }
        }
        coincident as f64
    } else {
        let mut weight_sum = 0.0;
        for hit in &found {
            let w = 1.0 / f64::from(hit.distance).sqrt();
            weight_sum += w;
            for (a, &v) in acc.iter_mut().zip(value_row(hit.item)) {
                *a += w * f64::from(v);
            }
        }
        weight_sum
    };
    Some(acc.iter().map(|a| (a / weight_sum) as f32).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Squared distance in the arithmetic kiddo uses (f32, axes summed in order).
    fn d2(a: &[f32; 3], b: &[f32; 3]) -> f32 {
        let dx = a[0] - b[0];
        let dy = a[1] - b[1];
        let dz = a[2] - b[2];
        dx * dx + dy * dy + dz * dz
    }

    /// O(n) per query: every finite point with its squared distance, sorted by (distance, index).
    fn brute_sorted(points: &[[f32; 3]], q: &[f32; 3]) -> Vec<(f32, u32)> {
        let mut all: Vec<(f32, u32)> = points
            .iter()
            .enumerate()
            .filter(|(_, p)| is_finite(p))
            .map(|(i, p)| (d2(p, q), i as u32))
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        all
    }

    fn brute_nearest(points: &[[f32; 3]], q: &[f32; 3], k: usize) -> Vec<Neighbour> {
        brute_sorted(points, q)
            .into_iter()
            .take(k)
            .map(|(d2, index)| Neighbour {
                index,
                distance_m: d2.sqrt(),
            })
            .collect()
    }

    /// Radius search from a query's [`brute_sorted`] list.
    fn brute_within(sorted: &[(f32, u32)], radius_m: f32, cap: usize) -> Vec<u32> {
        let r2 = radius_m * radius_m;
        let mut kept: Vec<u32> = sorted
            .iter()
            .copied()
            .take_while(|(d2, _)| *d2 <= r2)
            .take(cap)
            .map(|(_, i)| i)
            .collect();
        kept.sort_unstable();
        kept
    }

    fn random_points(rng: &mut Rng, n: usize, lo: f64, hi: f64) -> Vec<[f32; 3]> {
        (0..n)
            .map(|_| {
                [
                    rng.range(lo, hi) as f32,
                    rng.range(lo, hi) as f32,
                    rng.range(lo, hi) as f32,
                ]
            })
            .collect()
    }

    /// Integer lattice points (exact squared distances, many ties), shuffled so that ties are not
    /// in index order by construction.
    fn shuffled_lattice(rng: &mut Rng, side: i32) -> Vec<[f32; 3]> {
        let mut points = Vec::new();
        for x in 0..side {
            for y in 0..side {
                for z in 0..side {
                    points.push([x as f32, y as f32, z as f32]);
                }
            }
        }
        for i in (1..points.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            points.swap(i, j);
        }
        points
    }

    /// Queries at the points themselves, at half-lattice positions and at random positions.
    fn mixed_queries(rng: &mut Rng, points: &[[f32; 3]], lo: f64, hi: f64) -> Vec<[f32; 3]> {
        let mut queries: Vec<[f32; 3]> = (0..40)
            .map(|_| points[rng.below(points.len() as u64) as usize])
            .collect();
        queries.extend((0..40).map(|_| {
            [
                (rng.below(16) as f32) * 0.5,
                (rng.below(16) as f32) * 0.5,
                (rng.below(16) as f32) * 0.5,
            ]
        }));
        queries.extend(random_points(rng, 60, lo, hi));
        queries
    }

    #[test]
    fn nearest_matches_brute_force_on_random_and_tied_points() {
        let mut rng = Rng::seed_from(11);
        let clouds = [
            random_points(&mut rng, 3000, -1.0, 9.0),
            shuffled_lattice(&mut rng, 8),
        ];
        for points in &clouds {
            let index = PointIndex::new(points);
            let queries = mixed_queries(&mut rng, points, -2.0, 10.0);
            for k in [1, 5, 7, 32, 33] {
                let batch = index.nearest_batch(&queries, k);
                assert_eq!((batch.k, batch.rows()), (k, queries.len()));
                for (qi, q) in queries.iter().enumerate() {
                    let expected = brute_nearest(points, q, k);
                    assert_eq!(index.nearest(*q, k), expected, "query {q:?}, k {k}");
                    let (rows_index, rows_distance) = batch.row(qi);
                    let idx: Vec<u32> = expected.iter().map(|n| n.index).collect();
                    let dist: Vec<f32> = expected.iter().map(|n| n.distance_m).collect();
                    assert_eq!((rows_index, rows_distance), (&idx[..], &dist[..]));
                }
            }
        }
    }

    #[test]
    fn within_radius_matches_brute_force_including_boundary_and_cap() {
        let mut rng = Rng::seed_from(12);
        let clouds = [
            random_points(&mut rng, 3000, -1.0, 9.0),
            shuffled_lattice(&mut rng, 8),
        ];
        for points in &clouds {
            let index = PointIndex::new(points);
            let queries = mixed_queries(&mut rng, points, -2.0, 10.0);
            let brute: Vec<Vec<(f32, u32)>> =
                queries.iter().map(|q| brute_sorted(points, q)).collect();
            // On the lattice, radii 1, 1.5 and 2 put many points exactly on the sphere.
            for radius_m in [0.0, 0.7, 1.0, 1.5, 2.0] {
                for cap in [1, 4, 32, usize::MAX] {
                    let batch = index.within_radius_batch(&queries, radius_m, cap);
                    assert_eq!(batch.rows(), queries.len());
                    for (qi, q) in queries.iter().enumerate() {
                        let expected = brute_within(&brute[qi], radius_m, cap);
                        let found = index.within_radius(*q, radius_m, cap);
                        assert_eq!(found, expected, "query {q:?}, r {radius_m}, cap {cap}");
                        assert_eq!(batch.row(qi), &expected[..]);
                    }
                }
            }
        }
    }

    #[test]
    fn radius_boundary_is_inclusive_and_cap_keeps_the_nearest() {
        // 3-4-5 triangle scaled by 1/8: every coordinate and squared distance is exact in f32.
        let r = 0.625f32;
        let points = [
            [0.0, 0.0, 0.0],                         // 0: the query itself
            [0.375, 0.5, 0.0],                       // 1: exactly at r
            [0.0, 0.0, -0.625],                      // 2: exactly at r
            [f32::from_bits(0x3F20_0001), 0.0, 0.0], // 3: just beyond r
            [0.25, 0.0, 0.0],                        // 4: inside
            [0.0, 0.625, 0.0],                       // 5: exactly at r
        ];
        let index = PointIndex::new(&points);
        assert_eq!(index.within_radius([0.0; 3], r, 32), vec![0, 1, 2, 4, 5]);
        // Cap 3: the query itself, the inner point, then the smallest index at distance r.
        assert_eq!(index.within_radius([0.0; 3], r, 3), vec![0, 1, 4]);
        assert_eq!(index.within_radius([0.0; 3], r, 4), vec![0, 1, 2, 4]);
        assert_eq!(index.within_radius([0.0; 3], 0.0, 32), vec![0]);
        assert!(index.within_radius([0.0; 3], -1.0, 32).is_empty());
        assert!(index.within_radius([0.0; 3], f32::NAN, 32).is_empty());
        assert!(index.within_radius([0.0; 3], r, 0).is_empty());
    }

    #[test]
    fn batches_larger_than_a_chunk_keep_every_row_in_place() {
        let mut rng = Rng::seed_from(16);
        let points = random_points(&mut rng, 500, 0.0, 1.0);
        let index = PointIndex::new(&points);
        let mut queries = random_points(&mut rng, 2 * QUERY_CHUNK + 123, -0.5, 1.5);
        queries[7] = [f32::NAN, 0.0, 0.0];
        let batch = index.nearest_batch(&queries, 3);
        let ragged = index.within_radius_batch(&queries, 0.1, 4);
        assert_eq!(
            (batch.rows(), ragged.rows()),
            (queries.len(), queries.len())
        );
        for (qi, q) in queries.iter().enumerate() {
            let single = index.nearest(*q, 3);
            if qi != 7 {
                let idx: Vec<u32> = single.iter().map(|n| n.index).collect();
                let dist: Vec<f32> = single.iter().map(|n| n.distance_m).collect();
                assert_eq!(batch.row(qi), (&idx[..], &dist[..]), "row {qi}");
            }
            assert_eq!(ragged.row(qi), index.within_radius(*q, 0.1, 4), "row {qi}");
        }
        assert_eq!(batch.row(7).0, &[0, 0, 0]);
    }

    #[test]
    fn empty_index_finds_nothing() {
        let index = PointIndex::new(&[]);
        assert!(index.is_empty());
        assert_eq!((index.len(), index.searchable_len()), (0, 0));
        assert!(index.nearest([0.0; 3], 5).is_empty());
        assert!(index.within_radius([0.0; 3], 1.0, 32).is_empty());
        let batch = index.nearest_batch(&[[0.0; 3], [1.0; 3]], 5);
        assert_eq!((batch.k, batch.rows()), (0, 0));
        let ragged = index.within_radius_batch(&[[0.0; 3], [1.0; 3]], 1.0, 32);
        assert_eq!(ragged.offsets, vec![0, 0, 0]);
        assert!(ragged.indices.is_empty());
        let out = idw_interpolate(&index, &[], 2, &[[0.0; 3]], 5);
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn k_larger_than_n_returns_every_point() {
        let points = [[0.0, 0.0, 0.0], [3.0, 0.0, 0.0], [1.0, 0.0, 0.0]];
        let index = PointIndex::new(&points);
        let found = index.nearest([0.0; 3], 10);
        assert_eq!(found, brute_nearest(&points, &[0.0; 3], 10));
        assert_eq!(found.len(), 3);
        let batch = index.nearest_batch(&[[0.0; 3], [3.0, 0.0, 0.0]], 10);
        assert_eq!(batch.k, 3);
        assert_eq!(batch.index, vec![0, 2, 1, 1, 2, 0]);
        assert_eq!(batch.distance_m, vec![0.0, 1.0, 3.0, 0.0, 2.0, 3.0]);
        assert!(index.nearest([0.0; 3], 0).is_empty());
    }

    #[test]
    fn duplicate_points_are_all_found_and_cut_by_index() {
        let mut rng = Rng::seed_from(13);
        let mut points = random_points(&mut rng, 200, 0.0, 1.0);
        let spot = [0.5f32, 0.5, 0.5];
        // 70 copies (more than a leaf of 32) scattered through the index range.
        for _ in 0..70 {
            let i = rng.below(points.len() as u64 + 1) as usize;
            points.insert(i, spot);
        }
        let copies: Vec<u32> = (0..points.len() as u32)
            .filter(|&i| points[i as usize] == spot)
            .collect();
        let index = PointIndex::new(&points);
        let found = index.nearest(spot, 3);
        assert_eq!(
            found.iter().map(|n| n.index).collect::<Vec<_>>(),
            copies[..3]
        );
        assert!(found.iter().all(|n| n.distance_m == 0.0));
        assert_eq!(found, brute_nearest(&points, &spot, 3));
        assert_eq!(index.within_radius(spot, 0.0, usize::MAX), copies);
        assert_eq!(index.within_radius(spot, 0.0, 40), copies[..40]);
        assert_eq!(index.within_radius(spot, 0.2, 32), copies[..32]);
        assert_eq!(
            index.within_radius(spot, 0.3, 100),
            brute_within(&brute_sorted(&points, &spot), 0.3, 100)
        );
    }

    #[test]
    fn non_finite_points_and_queries_are_skipped() {
        let points = [
            [0.0, 0.0, 0.0],
            [f32::NAN, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [0.0, f32::INFINITY, 0.0],
            [2.0, 0.0, 0.0],
        ];
        let index = PointIndex::new(&points);
        assert_eq!((index.len(), index.searchable_len()), (5, 3));
        let found = index.nearest([0.9, 0.0, 0.0], 5);
        assert_eq!(found.iter().map(|n| n.index).collect::<Vec<_>>(), [2, 0, 4]);
        assert_eq!(index.within_radius([0.0; 3], 10.0, 32), vec![0, 2, 4]);
        assert!(index.nearest([f32::NAN, 0.0, 0.0], 2).is_empty());
        assert!(index
            .within_radius([0.0, f32::NEG_INFINITY, 0.0], 1.0, 32)
            .is_empty());
        let batch = index.nearest_batch(&[[0.0; 3], [f32::NAN; 3]], 2);
        assert_eq!(batch.k, 2);
        assert_eq!(batch.row(0).0, &[0, 2]);
        assert_eq!(batch.row(1).0, &[0, 0]);
        assert!(batch.row(1).1.iter().all(|d| d.is_nan()));
        let values = [1.0, 99.0, 2.0, 99.0, 3.0];
        let out = idw_interpolate(&index, &values, 1, &[[2.0, 0.0, 0.0], [f32::NAN; 3]], 2);
        assert_eq!(out[0], 3.0);
        assert!(out[1].is_nan());
        let only_bad = PointIndex::new(&[[f32::NAN; 3]]);
        assert_eq!((only_bad.len(), only_bad.searchable_len()), (1, 0));
        assert!(only_bad.nearest([0.0; 3], 1).is_empty());
    }

    fn linear_field(p: &[f32; 3]) -> [f32; 2] {
        let (x, y, z) = (f64::from(p[0]), f64::from(p[1]), f64::from(p[2]));
        [
            (1.5 + 2.0 * x - 0.5 * y + 0.25 * z) as f32,
            (-3.0 * x + z) as f32,
        ]
    }

    #[test]
    fn idw_reproduces_a_linear_field_at_sources_and_approximates_it_between() {
        let mut rng = Rng::seed_from(14);
        let points = random_points(&mut rng, 4000, 0.0, 1.0);
        let values: Vec<f32> = points.iter().flat_map(linear_field).collect();
        let index = PointIndex::new(&points);

        let at_sources = idw_interpolate(&index, &values, 2, &points, 5);
        assert_eq!(at_sources, values);

        // Between the sources IDW is a convex combination of the k neighbours' values, so its
        // error is at most |gradient| × (distance to the farthest neighbour used).
        let targets = random_points(&mut rng, 500, 0.1, 0.9);
        let out = idw_interpolate(&index, &values, 2, &targets, 5);
        let gradient_norm = [
            (2.0f64 * 2.0 + 0.5 * 0.5 + 0.25 * 0.25).sqrt(),
            (3.0f64 * 3.0 + 1.0).sqrt(),
        ];
        let mut relative_sum = 0.0;
        for (t, row) in targets.iter().zip(out.chunks(2)) {
            let reach_m = f64::from(index.nearest(*t, 5)[4].distance_m);
            let exact = linear_field(t);
            for c in 0..2 {
                let err = (f64::from(row[c]) - f64::from(exact[c])).abs();
                assert!(err <= gradient_norm[c] * reach_m + 1e-5, "{t:?} {c} {err}");
                relative_sum += err / (gradient_norm[c] * reach_m);
            }
        }
        // Neighbours mostly surround an interior target, so errors partly cancel: on average the
        // error is a small fraction of that one-sided bound.
        let mean_relative = relative_sum / (2 * targets.len()) as f64;
        assert!(mean_relative < 0.25, "{mean_relative}");
    }

    #[test]
    fn idw_weights_are_inverse_distance() {
        // Sources 1 m and 3 m away: weights 1 and 1/3, so (0·1 + 4·1/3) / (4/3) = 1
        // (1/d² weights would give 0.4).
        let index = PointIndex::new(&[[0.0; 3], [4.0, 0.0, 0.0], [100.0, 0.0, 0.0]]);
        let out = idw_interpolate(&index, &[0.0, 4.0, 50.0], 1, &[[1.0, 0.0, 0.0]], 2);
        assert!((out[0] - 1.0).abs() < 1e-6, "{out:?}");
        // With all three: (0 + 4/3 + 50/99) / (1 + 1/3 + 1/99).
        let out = idw_interpolate(&index, &[0.0, 4.0, 50.0], 1, &[[1.0, 0.0, 0.0]], 3);
        let expected = (4.0 / 3.0 + 50.0 / 99.0) / (1.0 + 1.0 / 3.0 + 1.0 / 99.0);
        assert!((f64::from(out[0]) - expected).abs() < 1e-6, "{out:?}");
    }

    #[test]
    fn idw_reproduces_a_constant_field_everywhere() {
        let mut rng = Rng::seed_from(15);
        let points = random_points(&mut rng, 1000, -1.0, 1.0);
        let constant = [101_325.0f32, -0.1, 7.0];
        let values: Vec<f32> = points.iter().flat_map(|_| constant).collect();
        let index = PointIndex::new(&points);
        let mut targets = random_points(&mut rng, 300, -3.0, 3.0);
        targets.extend_from_slice(&points[..50]);
        for k in [1, 5, 32, 5000] {
            let out = idw_interpolate(&index, &values, 3, &targets, k);
            assert_eq!(out.len(), targets.len() * 3);
            for row in out.chunks(3) {
                assert_eq!(row, constant, "k {k}");
            }
        }
    }

    #[test]
    fn idw_with_mismatched_or_empty_inputs_does_not_panic() {
        let index = PointIndex::new(&[[0.0; 3], [1.0, 0.0, 0.0]]);
        let out = idw_interpolate(&index, &[1.0, 2.0, 3.0], 2, &[[0.5, 0.0, 0.0]], 2);
        assert!(out.len() == 2 && out.iter().all(|v| v.is_nan()));
        assert!(idw_interpolate(&index, &[], 0, &[[0.5, 0.0, 0.0]], 2).is_empty());
        let no_k = idw_interpolate(&index, &[1.0, 2.0], 1, &[[0.5, 0.0, 0.0]], 0);
        assert!(no_k.len() == 1 && no_k[0].is_nan());
        // Halfway between two sources: equal weights.
        let mid = idw_interpolate(&index, &[1.0, 2.0], 1, &[[0.5, 0.0, 0.0]], 2);
        assert_eq!(mid, vec![1.5]);
        // Coincident duplicate sources average exactly.
        let dup = PointIndex::new(&[[0.0; 3], [0.0; 3], [1.0, 0.0, 0.0]]);
        let out = idw_interpolate(&dup, &[1.0, 2.0, 9.0], 1, &[[0.0; 3]], 3);
        assert_eq!(out, vec![1.5]);
    }
}
