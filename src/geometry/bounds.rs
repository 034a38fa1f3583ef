//! Axis-aligned bounding boxes: `info`'s `bounds`, the coordinate normalisation of the model (which
//! maps a dataset's domain to a fixed range) and the sampling domains all start from one.

use rayon::prelude::*;

/// An axis-aligned box in the mesh's units (metres for car meshes), in `f64` so that derived sizes
/// (extent, centre) do not round twice.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Aabb {
    pub min: [f64; 3],
    pub max: [f64; 3],
}

impl Aabb {
    /// The degenerate box holding the single point `p`.
    pub fn from_point(p: [f64; 3]) -> Self {
        Aabb { min: p, max: p }
    }

    /// Grows the box to hold `p`.
    pub fn include(&mut self, p: [f64; 3]) {
        for (k, &c) in p.iter().enumerate() {
            self.min[k] = self.min[k].min(c);
            self.max[k] = self.max[k].max(c);
        }
    }

    /// The smallest box holding both boxes.
    pub fn union(&self, other: &Aabb) -> Aabb {
        let mut u = *self;
        u.include(other.min);
        u.include(other.max);
        u
    }

    /// Edge lengths along x, y, z (m).
    pub fn extent(&self) -> [f64; 3] {
        [
            self.max[0] - self.min[0],
            self.max[1] - self.min[1],
            self.max[2] - self.min[2],
        ]
    }

    /// Centre of the box.
    pub fn centre(&self) -> [f64; 3] {
        [
            0.5 * (self.min[0] + self.max[0]),
            0.5 * (self.min[1] + self.max[1]),
            0.5 * (self.min[2] + self.max[2]),
        ]
    }

    /// Length of the box's diagonal (m): a scale for tolerances.
    pub fn diagonal(&self) -> f64 {
        let e = self.extent();
        (e[0] * e[0] + e[1] * e[1] + e[2] * e[2]).sqrt()
    }

    /// Whether `p` lies in the closed box.
    pub fn contains(&self, p: [f64; 3]) -> bool {
        (0..3).all(|k| self.min[k] <= p[k] && p[k] <= self.max[k])
    }

    /// `[xmin, ymin, zmin, xmax, ymax, zmax]`, the layout `slipstream info --json` prints as `bounds`.
    pub fn to_min_max_array(&self) -> [f64; 6] {
        [
            self.min[0],
            self.min[1],
            self.min[2],
            self.max[0],
            self.max[1],
            self.max[2],
        ]
    }
}

/// Bounding box of `points`, skipping points with a NaN or infinite coordinate (which a validated
/// mesh does not have); `None` when no finite point remains.
///
/// Parallel over large point sets; min/max are exact, so the result does not depend on the split.
pub fn bounding_box(points: &[[f32; 3]]) -> Option<Aabb> {
    points
        .par_iter()
        .with_min_len(1 << 16)
        .filter(|p| p.iter().all(|c| c.is_finite()))
        .map(|p| Aabb::from_point([p[0] as f64, p[1] as f64, p[2] as f64]))
        .reduce_with(|a, b| a.union(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_of_points() {
        let pts = [[1.0f32, -2.0, 3.0], [-1.0, 4.0, 0.5], [0.0, 0.0, 0.0]];
        let b = bounding_box(&pts).unwrap();
        assert_eq!(b.min, [-1.0, -2.0, 0.0]);
        assert_eq!(b.max, [1.0, 4.0, 3.0]);
        assert_eq!(b.extent(), [2.0, 6.0, 3.0]);
        assert_eq!(b.centre(), [0.0, 1.0, 1.5]);
        assert_eq!(b.to_min_max_array(), [-1.0, -2.0, 0.0, 1.0, 4.0, 3.0]);
        assert!((b.diagonal() - 7.0).abs() < 1e-12);
        assert!(b.contains([0.0, 0.0, 0.0]) && b.contains([1.0, 4.0, 3.0]));
        assert!(!b.contains([1.1, 0.0, 0.0]));
    }

    #[test]
    fn empty_and_non_finite() {
        assert_eq!(bounding_box(&[]), None);
        assert_eq!(bounding_box(&[[f32::NAN, 0.0, 0.0]]), None);
        let b = bounding_box(&[[f32::INFINITY, 0.0, 0.0], [1.0, 2.0, 3.0]]).unwrap();
        assert_eq!(b, Aabb::from_point([1.0, 2.0, 3.0]));
    }

    #[test]
    fn large_set_matches_sequential() {
        // Exercises the parallel split.
        let pts: Vec<[f32; 3]> = (0..200_000)
            .map(|i| {
                let t = i as f32 * 0.001;
                [t.sin() * 3.0, t.cos() * 2.0, (i % 97) as f32 - 40.0]
            })
            .collect();
        let mut seq = Aabb::from_point([pts[0][0] as f64, pts[0][1] as f64, pts[0][2] as f64]);
        for p in &pts {
            seq.include([p[0] as f64, p[1] as f64, p[2] as f64]);
        }
        assert_eq!(bounding_box(&pts), Some(seq));
    }
}
