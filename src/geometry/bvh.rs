//! A bounding-volume hierarchy over a triangle soup: the spatial index behind closest-point and
//! winding-number queries (and anything else that must visit "the triangles near here" or "the
//! clusters of triangles far from here").
//!
//! Layout: one flat array of nodes in depth-first pre-order, so a node's left child is the next
//! node and only the right child needs an index; triangles are copied into leaf order, so a leaf's
//! triangles are contiguous in memory and every node covers a contiguous range of them (which is
//! what lets per-node data such as winding-number moments be computed from a slice). The split is
//! a binned surface-area heuristic (SAH) over all three axes, falling back to a median split where
//! the SAH finds nothing or the tree grows too deep. Large subtrees are built in parallel.
//!
//! Memory: 36 bytes per triangle (the copy) + 4 (its source index) + 32 per node, with about 0.64
//! nodes per triangle (leaves hold up to [`LEAF_SIZE`] triangles, about three on average).

use super::bounds::Aabb;
use super::triangles::Triangle;

/// Most triangles in one leaf. Small leaves keep closest-point queries tight; the winding-number
/// query approximates far leaves as a whole anyway.
pub const LEAF_SIZE: usize = 4;

/// Depth beyond which splits become median splits, which halve the range: the total depth then
/// stays below `MEDIAN_DEPTH + 32` for any `u32`-indexed soup, whatever the SAH does with
/// adversarial input.
const MEDIAN_DEPTH: usize = 64;

/// Upper bound of the tree depth; traversals size their fixed stacks with it.
pub const MAX_DEPTH: usize = MEDIAN_DEPTH + 34;

/// Subtrees with at least this many triangles are built on two rayon tasks.
const PARALLEL_MIN: usize = 1 << 13;

/// SAH bins per axis.
const BINS: usize = 16;

/// One node: its box and either a triangle range (leaf) or the index of its right child.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BvhNode {
    /// Box corners (m). Triangle coordinates are `f32`, so their exact min/max are too.
    pub min: [f32; 3],
    pub max: [f32; 3],
    /// Leaf: index of the first triangle (in [`Bvh::triangles`]); interior: offset of the right
    /// child from this node (the left child is the next node). Relative offsets let subtrees built
    /// in parallel be concatenated without fixing indices.
    first_or_offset: u32,
    /// Number of triangles of a leaf; 0 for an interior node.
    count: u32,
}

impl BvhNode {
    pub fn is_leaf(&self) -> bool {
        self.count > 0
    }

    /// Indices of the two children of interior node `index` (`None` for a leaf).
    #[inline]
    pub fn children(&self, index: usize) -> Option<(usize, usize)> {
        (!self.is_leaf()).then(|| (index + 1, index + self.first_or_offset as usize))
    }

    /// The leaf's triangles as a range of [`Bvh::triangles`] (empty for an interior node).
    #[inline]
    pub fn triangle_range(&self) -> std::ops::Range<usize> {
        if self.is_leaf() {
            let first = self.first_or_offset as usize;
            first..first + self.count as usize
        } else {
            0..0
        }
    }

    /// Squared distance (m²) from `p` to the box; 0 inside.
    #[inline]
    pub fn distance_squared(&self, p: [f64; 3]) -> f64 {
        let mut d2 = 0.0;
        for (k, &c) in p.iter().enumerate() {
            // Branch-free clamp: at most one of the two terms is positive.
            let e = (self.min[k] as f64 - c).max(0.0) + (c - self.max[k] as f64).max(0.0);
            d2 += e * e;
        }
        d2
    }

    /// The box in `f64`.
    pub fn aabb(&self) -> Aabb {
        Aabb {
            min: self.min.map(f64::from),
            max: self.max.map(f64::from),
        }
    }
}

/// The hierarchy and its triangles in leaf order.
#[derive(Debug, Clone, Default)]
pub struct Bvh {
    nodes: Vec<BvhNode>,
    triangles: Vec<Triangle>,
    /// For each triangle of `triangles`, its index in the input slice.
    source: Vec<u32>,
}

impl Bvh {
    /// Builds the hierarchy in O(n log n). Triangles with a NaN or infinite coordinate are left out
    /// (they have no place in space); degenerate (zero-area) triangles are kept, since a segment or a
    /// point is still geometry a closest-point query can find.
    pub fn build(triangles: &[Triangle]) -> Self {
        let mut ids: Vec<u32> = (0..triangles.len())
            .filter(|&i| triangles[i].iter().flatten().all(|c| c.is_finite()))
            .map(|i| i as u32)
            .collect();
        if ids.is_empty() {
            return Bvh::default();
        }
        let boxes: Vec<Box3> = triangles.iter().map(Box3::of_triangle).collect();
        let ctx = BuildContext { boxes: &boxes };
        let mut nodes = Vec::with_capacity(2 * ids.len() / LEAF_SIZE + 1);
        ctx.build(&mut ids, 0, 0, &mut nodes);
        let triangles = ids.iter().map(|&i| triangles[i as usize]).collect();
        Bvh {
            nodes,
            triangles,
            source: ids,
        }
    }

    /// The nodes in pre-order; node 0 is the root (empty when there are no triangles).
    pub fn nodes(&self) -> &[BvhNode] {
        &self.nodes
    }

    /// The indexed triangles in leaf order.
    pub fn triangles(&self) -> &[Triangle] {
        &self.triangles
    }

    /// Index in the input slice of triangle `i` of [`Bvh::triangles`].
    pub fn source_index(&self, i: usize) -> usize {
        self.source[i] as usize
    }

    /// Number of indexed triangles (the finite ones of the input).
    pub fn len(&self) -> usize {
        self.triangles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.triangles.is_empty()
    }

    /// Box of all indexed triangles; `None` when there are none.
    pub fn bounds(&self) -> Option<Aabb> {
        self.nodes.first().map(BvhNode::aabb)
    }

    /// The triangle range (in [`Bvh::triangles`]) under every node: subtrees are contiguous, so
    /// per-node summaries can be computed from a slice. One reverse sweep (children follow their
    /// parent in pre-order).
    pub fn subtree_ranges(&self) -> Vec<std::ops::Range<usize>> {
        let mut ranges = vec![0..0; self.nodes.len()];
        for i in (0..self.nodes.len()).rev() {
            ranges[i] = match self.nodes[i].children(i) {
                Some((l, r)) => ranges[l].start..ranges[r].end,
                None => self.nodes[i].triangle_range(),
            };
        }
        ranges
    }

    /// Heap bytes held (for memory reports).
    pub fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<BvhNode>()
            + self.triangles.capacity() * std::mem::size_of::<Triangle>()
            + self.source.capacity() * std::mem::size_of::<u32>()
    }

    /// Depth of the deepest leaf (the root has depth 0); at most [`MAX_DEPTH`].
    pub fn depth(&self) -> usize {
        fn walk(nodes: &[BvhNode], i: usize) -> usize {
            match nodes[i].children(i) {
                Some((l, r)) => 1 + walk(nodes, l).max(walk(nodes, r)),
                None => 0,
            }
        }
        if self.nodes.is_empty() {
            0
        } else {
            walk(&self.nodes, 0)
        }
    }
}

/// An `f32` box used while building.
#[derive(Debug, Clone, Copy)]
struct Box3 {
    min: [f32; 3],
    max: [f32; 3],
}

impl Box3 {
    const EMPTY: Box3 = Box3 {
        min: [f32::INFINITY; 3],
        max: [f32::NEG_INFINITY; 3],
    };

    fn of_triangle(t: &Triangle) -> Box3 {
        let mut b = Box3::EMPTY;
        for v in t {
            b.include(*v);
        }
        b
    }

    fn include(&mut self, p: [f32; 3]) {
        for (k, &c) in p.iter().enumerate() {
            self.min[k] = self.min[k].min(c);
            self.max[k] = self.max[k].max(c);
        }
    }

    fn union(&mut self, o: &Box3) {
        for k in 0..3 {
            self.min[k] = self.min[k].min(o.min[k]);
            self.max[k] = self.max[k].max(o.max[k]);
        }
    }

    /// Centre along axis `k`, in `f64` so that no two distinct centres round together.
    fn centre(&self, k: usize) -> f64 {
        0.5 * (self.min[k] as f64 + self.max[k] as f64)
    }

    /// Half the surface area (the SAH only compares ratios); 0 for an empty box.
    fn half_area(&self) -> f64 {
        let e: [f64; 3] =
            std::array::from_fn(|k| (self.max[k] as f64 - self.min[k] as f64).max(0.0));
        e[0] * e[1] + e[1] * e[2] + e[2] * e[0]
    }
}

struct BuildContext<'a> {
    /// Box of every input triangle, indexed by input index.
    boxes: &'a [Box3],
}

impl BuildContext<'_> {
    /// Appends the subtree over `ids` (which sit at `first` in the final triangle order) to `out`
    /// in pre-order, reordering `ids` into leaf order.
    fn build(&self, ids: &mut [u32], first: usize, depth: usize, out: &mut Vec<BvhNode>) {
        let mut bounds = Box3::EMPTY;
        for &i in ids.iter() {
            bounds.union(&self.boxes[i as usize]);
        }
        if ids.len() <= LEAF_SIZE {
            out.push(BvhNode {
                min: bounds.min,
                max: bounds.max,
                first_or_offset: first as u32,
                count: ids.len() as u32,
            });
            return;
        }
        let mid = self.split(ids, depth);
        let me = out.len();
        out.push(BvhNode {
            min: bounds.min,
            max: bounds.max,
            first_or_offset: 0,
            count: 0,
        });
        let parallel = ids.len() >= PARALLEL_MIN;
        let (left, right) = ids.split_at_mut(mid);
        if parallel {
            let (l, r) = rayon::join(
                || {
                    let mut v = Vec::new();
                    self.build(left, first, depth + 1, &mut v);
                    v
                },
                || {
                    let mut v = Vec::new();
                    self.build(right, first + mid, depth + 1, &mut v);
                    v
                },
            );
            out[me].first_or_offset = (1 + l.len()) as u32;
            out.extend(l);
            out.extend(r);
        } else {
            self.build(left, first, depth + 1, out);
            out[me].first_or_offset = (out.len() - me) as u32;
            self.build(right, first + mid, depth + 1, out);
        }
    }

    /// Partitions `ids` (more than [`LEAF_SIZE`] of them) and returns the split position, in
    /// `1..ids.len()`.
    fn split(&self, ids: &mut [u32], depth: usize) -> usize {
        let mut cb = Box3::EMPTY;
        for &i in ids.iter() {
            let b = &self.boxes[i as usize];
            cb.include(std::array::from_fn(|k| 0.5 * b.min[k] + 0.5 * b.max[k]));
        }
        let extent: [f64; 3] = std::array::from_fn(|k| cb.max[k] as f64 - cb.min[k] as f64);
        if depth < MEDIAN_DEPTH {
            if let Some((axis, plane)) = self.best_sah_plane(ids, &cb, extent) {
                let mid = partition(ids, |i| self.boxes[i as usize].centre(axis) < plane);
                if mid > 0 && mid < ids.len() {
                    return mid;
                }
            }
        }
        // Median split along the longest centroid extent (all-equal centroids: any halving works).
        let axis = (0..3)
            .max_by(|&a, &b| extent[a].total_cmp(&extent[b]))
            .unwrap_or(0);
        let mid = ids.len() / 2;
        ids.select_nth_unstable_by(mid, |&a, &b| {
            self.boxes[a as usize]
                .centre(axis)
                .total_cmp(&self.boxes[b as usize].centre(axis))
        });
        mid
    }

    /// The cheapest (axis, plane) of the binned SAH, or `None` when no plane separates the
    /// centroids.
    fn best_sah_plane(&self, ids: &[u32], cb: &Box3, extent: [f64; 3]) -> Option<(usize, f64)> {
        let mut best: Option<(f64, usize, f64)> = None;
        for (axis, &e) in extent.iter().enumerate() {
            if e.is_nan() || e <= 0.0 {
                continue;
            }
            let lo = cb.min[axis] as f64;
            let scale = BINS as f64 / e;
            let bin_of = |c: f64| (((c - lo) * scale) as usize).min(BINS - 1);
            let mut counts = [0usize; BINS];
            let mut boxes = [Box3::EMPTY; BINS];
            for &i in ids {
                let b = &self.boxes[i as usize];
                let k = bin_of(b.centre(axis));
                counts[k] += 1;
                boxes[k].union(b);
            }
            // Cost of the left side of each plane, swept from the left.
            let mut left_cost = [0.0f64; BINS];
            let (mut acc, mut n) = (Box3::EMPTY, 0usize);
            for k in 0..BINS - 1 {
                acc.union(&boxes[k]);
                n += counts[k];
                left_cost[k] = acc.half_area() * n as f64;
            }
            let (mut acc, mut n) = (Box3::EMPTY, 0usize);
            for k in (1..BINS).rev() {
                acc.union(&boxes[k]);
                n += counts[k];
                let left_n: usize = ids.len() - n;
                if n == 0 || left_n == 0 {
                    continue;
                }
                let cost = left_cost[k - 1] + acc.half_area() * n as f64;
                if best.is_none_or(|(c, _, _)| cost < c) {
                    best = Some((cost, axis, lo + k as f64 / scale));
                }
            }
        }
        best.map(|(_, axis, plane)| (axis, plane))
    }
}

/// Moves the ids for which `goes_left` holds to the front; returns how many there are.
fn partition(ids: &mut [u32], goes_left: impl Fn(u32) -> bool) -> usize {
    let mut mid = 0;
    for j in 0..ids.len() {
        if goes_left(ids[j]) {
            ids.swap(mid, j);
            mid += 1;
        }
    }
    mid
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid_soup(n: usize) -> Vec<Triangle> {
        let mut tris = Vec::new();
        for i in 0..n {
            for j in 0..n {
                let (x, y) = (i as f32, j as f32);
                tris.push([[x, y, 0.0], [x + 1.0, y, 0.0], [x, y + 1.0, 0.0]]);
                tris.push([
                    [x + 1.0, y, 0.0],
                    [x + 1.0, y + 1.0, 0.0],
                    [x, y + 1.0, 0.0],
                ]);
            }
        }
        tris
    }

    /// Every triangle sits in exactly one leaf, inside the boxes of all its ancestors.
    fn check_structure(bvh: &Bvh, n_input: usize) {
        let nodes = bvh.nodes();
        let mut seen = vec![false; n_input];
        let mut stack = vec![(0usize, None::<usize>)];
        while let Some((i, parent)) = stack.pop() {
            let node = &nodes[i];
            if let Some(p) = parent {
                for k in 0..3 {
                    assert!(nodes[p].min[k] <= node.min[k] && node.max[k] <= nodes[p].max[k]);
                }
            }
            match node.children(i) {
                Some((l, r)) => {
                    assert!(l < nodes.len() && r < nodes.len() && l < r);
                    stack.push((l, Some(i)));
                    stack.push((r, Some(i)));
                }
                None => {
                    assert!(node.count as usize <= LEAF_SIZE && node.count > 0);
                    for t in node.triangle_range() {
                        let s = bvh.source_index(t);
                        assert!(!seen[s], "triangle {s} in two leaves");
                        seen[s] = true;
                        for v in &bvh.triangles()[t] {
                            for (k, &c) in v.iter().enumerate() {
                                assert!(node.min[k] <= c && c <= node.max[k]);
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(seen.iter().filter(|&&s| s).count(), bvh.len());
        let ranges = bvh.subtree_ranges();
        assert_eq!(ranges[0], 0..bvh.len());
        for (i, node) in nodes.iter().enumerate() {
            if let Some((l, r)) = node.children(i) {
                assert_eq!(ranges[l].end, ranges[r].start);
                assert_eq!(
                    (ranges[l].start, ranges[r].end),
                    (ranges[i].start, ranges[i].end)
                );
            } else {
                assert_eq!(ranges[i], node.triangle_range());
            }
        }
    }

    #[test]
    fn every_triangle_in_one_leaf_inside_its_boxes() {
        // Large enough to exercise the parallel build.
        let tris = grid_soup(100);
        let bvh = Bvh::build(&tris);
        assert_eq!(bvh.len(), tris.len());
        check_structure(&bvh, tris.len());
        for (t, tri) in bvh.triangles().iter().enumerate() {
            assert_eq!(*tri, tris[bvh.source_index(t)]);
        }
        assert!(bvh.depth() < 40, "depth {}", bvh.depth());
        let b = bvh.bounds().unwrap();
        assert_eq!(b.min, [0.0, 0.0, 0.0]);
        assert_eq!(b.max, [100.0, 100.0, 0.0]);
    }

    #[test]
    fn identical_degenerate_and_non_finite_triangles() {
        let mut tris = vec![[[1.0f32, 1.0, 1.0]; 3]; 1000];
        tris.push([[f32::NAN, 0.0, 0.0], [0.0; 3], [1.0, 0.0, 0.0]]);
        tris.push([[f32::INFINITY, 0.0, 0.0], [0.0; 3], [1.0, 0.0, 0.0]]);
        let bvh = Bvh::build(&tris);
        assert_eq!(bvh.len(), 1000);
        check_structure(&bvh, tris.len());
        assert!(bvh.depth() <= MAX_DEPTH);
    }

    #[test]
    fn adversarial_spacing_stays_shallow() {
        // Centroids at 2^-k: each SAH split peels off a few triangles; the depth cap must hold.
        let tris: Vec<Triangle> = (0..3000)
            .map(|k| {
                let x = 0.5f32.powi(k % 140) * (1.0 + k as f32 * 1e-4);
                [[x, 0.0, 0.0], [x, 1.0, 0.0], [x, 0.0, 1.0]]
            })
            .collect();
        let bvh = Bvh::build(&tris);
        check_structure(&bvh, tris.len());
        assert!(bvh.depth() <= MAX_DEPTH, "depth {}", bvh.depth());
    }

    #[test]
    fn empty_input() {
        let bvh = Bvh::build(&[]);
        assert!(bvh.is_empty());
        assert!(bvh.nodes().is_empty());
        assert_eq!(bvh.bounds(), None);
        assert_eq!(bvh.depth(), 0);
    }
}
