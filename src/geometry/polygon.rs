//! The vector area of a polygon, planar or warped: the one kernel that surface areas, normals,
//! enclosed volumes and cell volumes share.
//!
//! The polygon is triangulated as a fan around its vertex mean `m`, and the fan's triangle vector
//! areas `½ (pᵢ − m) × (pᵢ₊₁ − m)` are summed. This is Newell's method (the sum does not depend on the
//! fan's apex for a closed loop), evaluated about `m` so that large coordinates do not cancel. For a
//! planar polygon its length is the exact area, convex or not; for a warped one it is the area of the
//! polygon's projection onto its mean plane, which is also what OpenFOAM uses as a face's area
//! vector `Sf`, so area × normal of a face equals the dataset's own `Sf`.

use super::vec3::{add, cross, scale, sub};

/// Vector area `N` (m²) of the closed polygon `points` (last point connects to the first), as the fan
/// around `m`, which callers pass as the polygon's vertex mean (they need it anyway). Its direction
/// follows the right-hand rule of the point order, its length is the area. Zero for fewer than three
/// points.
pub(crate) fn vector_area_about(points: &[[f64; 3]], m: [f64; 3]) -> [f64; 3] {
    if points.len() < 3 {
        return [0.0; 3];
    }
    let mut sum = [0.0; 3];
    let mut prev = sub(points[points.len() - 1], m);
    for &p in points {
        let cur = sub(p, m);
        sum = add(sum, cross(prev, cur));
        prev = cur;
    }
    scale(sum, 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::vec3::{mean, norm};

    fn vector_area(points: &[[f64; 3]]) -> [f64; 3] {
        vector_area_about(points, mean(points))
    }

    #[test]
    fn unit_square_has_unit_area_along_z() {
        let sq = [
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [1.0, 1.0, 0.0],
            [0.0, 1.0, 0.0],
        ];
        assert_eq!(vector_area(&sq), [0.0, 0.0, 1.0]);
        let rev: Vec<_> = sq.iter().rev().copied().collect();
        assert_eq!(vector_area(&rev), [0.0, 0.0, -1.0]);
    }

    #[test]
    fn non_convex_planar_polygon_is_exact() {
        // An L shape of area 3 (a 2x2 square without its top-right unit square), far from the origin.
        let o = 1.0e4;
        let l = [
            [o, o, 5.0],
            [o + 2.0, o, 5.0],
            [o + 2.0, o + 1.0, 5.0],
            [o + 1.0, o + 1.0, 5.0],
            [o + 1.0, o + 2.0, 5.0],
            [o, o + 2.0, 5.0],
        ];
        let n = vector_area(&l);
        assert!((n[2] - 3.0).abs() < 1e-9, "{n:?}");
        assert!((norm(n) - 3.0).abs() < 1e-9);
    }

    #[test]
    fn degenerate_inputs_are_zero() {
        assert_eq!(vector_area(&[]), [0.0; 3]);
        assert_eq!(vector_area(&[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), [0.0; 3]);
        let colinear = [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [2.0, 2.0, 2.0]];
        assert_eq!(vector_area(&colinear), [0.0; 3]);
    }
}
