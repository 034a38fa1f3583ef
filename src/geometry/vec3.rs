//! Small `f64` 3-vector arithmetic for the geometric kernels of this module (and the pictures of
//! `export`).
//!
//! Kept by hand rather than as nalgebra's `Vector3` because the kernels (winding numbers, areas,
//! volumes, frontal-area rasterisation over every triangle of a car) read mesh storage, plain
//! `[f32; 3]` arrays, in their inner loops: plain arrays in and out, no conversion at each call.
//! Linear algebra beyond this (solves, decompositions) uses nalgebra, as `gradient` does.
//!
//! Mesh coordinates are stored as `f32` (see [`crate::mesh::Mesh`]); every derived quantity is
//! accumulated in `f64`, so points are widened once, on lookup, through [`point`].

/// Point `id` of `points` widened to `f64`, or `None` when the id is out of range (bad data must
/// not panic).
#[inline]
pub(crate) fn point(points: &[[f32; 3]], id: u32) -> Option<[f64; 3]> {
    let p = points.get(id as usize)?;
    Some([p[0] as f64, p[1] as f64, p[2] as f64])
}

/// Widens every point of `ids` into `out` (cleared first); `false` if any id is out of range.
pub(crate) fn gather(points: &[[f32; 3]], ids: &[u32], out: &mut Vec<[f64; 3]>) -> bool {
    out.clear();
    for &id in ids {
        match point(points, id) {
            Some(p) => out.push(p),
            None => return false,
        }
    }
    true
}

#[inline]
pub(crate) fn add(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

#[inline]
pub(crate) fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

#[inline]
pub(crate) fn scale(a: [f64; 3], s: f64) -> [f64; 3] {
    [a[0] * s, a[1] * s, a[2] * s]
}

#[inline]
pub(crate) fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

#[inline]
pub(crate) fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

#[inline]
pub(crate) fn norm(a: [f64; 3]) -> f64 {
    dot(a, a).sqrt()
}

/// Arithmetic mean of `points` (the origin for an empty slice).
pub(crate) fn mean(points: &[[f64; 3]]) -> [f64; 3] {
    if points.is_empty() {
        return [0.0; 3];
    }
    let sum = points.iter().fold([0.0; 3], |acc, &p| add(acc, p));
    scale(sum, 1.0 / points.len() as f64)
}

/// Signed volume of the tetrahedron `(o, a, b, c)`: positive when `a, b, c` turn counter-clockwise
/// seen from outside, i.e. when the triangle's right-hand normal points away from `o`.
#[inline]
pub(crate) fn tetra_signed_volume(o: [f64; 3], a: [f64; 3], b: [f64; 3], c: [f64; 3]) -> f64 {
    dot(sub(a, o), cross(sub(b, o), sub(c, o))) / 6.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_out_of_range_is_none() {
        let pts = [[1.0f32, 2.0, 3.0]];
        assert_eq!(point(&pts, 0), Some([1.0, 2.0, 3.0]));
        assert_eq!(point(&pts, 1), None);
        let mut buf = Vec::new();
        assert!(!gather(&pts, &[0, 7], &mut buf));
        assert!(gather(&pts, &[0, 0], &mut buf));
        assert_eq!(buf.len(), 2);
    }

    #[test]
    fn unit_tetra_volume_and_orientation() {
        let o = [0.0; 3];
        let (x, y, z) = ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]);
        assert!((tetra_signed_volume(o, x, y, z) - 1.0 / 6.0).abs() < 1e-15);
        assert!((tetra_signed_volume(o, y, x, z) + 1.0 / 6.0).abs() < 1e-15);
        assert_eq!(cross(x, y), z);
        assert_eq!(mean(&[]), [0.0; 3]);
    }
}
