//! Carrying point arrays between two files that hold the same points in another order.
//!
//! DrivAerNet++ writes a design's surface pressure and its wall shear to two VTK files whose points
//! are the same but permuted, and for a few designs the two meshes differ altogether
//! (docs/datasets.md). Before the faces of the pressure file can average the wall shear, every one
//! of its points needs the index of the same point in the other file, and a design whose meshes
//! differ must be reported rather than interpolated silently.

use std::collections::HashMap;

use crate::geometry::{bounding_box, PointIndex};

/// Relative to the reference points' bounding-box diagonal: how far two copies of one point may
/// lie apart (rounding when a writer converted coordinates) and still be the same point.
pub const MATCH_TOLERANCE: f64 = 1e-6;

/// Why two point sets are not the same mesh.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Mismatch {
    #[error("{reference} points against {other}: the two files do not hold the same mesh")]
    Counts { reference: usize, other: usize },
    #[error(
        "{unmatched} of {points} points have no counterpart within {tolerance_m:.3e} m (the \
         farthest is {farthest_m:.3e} m away): the two files hold different meshes"
    )]
    Unmatched {
        unmatched: usize,
        points: usize,
        tolerance_m: f64,
        farthest_m: f64,
    },
}

/// For every point of `reference`, the index of the same point in `other`: by exact coordinates
/// first (each copy used once, so repeated coordinates pair up one to one), then, for coordinates
/// that differ in their last bits, the nearest point within [`MATCH_TOLERANCE`]. An error says how
/// many points have no counterpart and how far the farthest one is.
pub fn match_points(reference: &[[f32; 3]], other: &[[f32; 3]]) -> Result<Vec<u32>, Mismatch> {
    if reference.len() != other.len() {
        return Err(Mismatch::Counts {
            reference: reference.len(),
            other: other.len(),
        });
    }
    let key = |p: &[f32; 3]| p.map(|c| (c + 0.0).to_bits()); // +0.0 folds −0 into 0
    let mut by_coordinates: HashMap<[u32; 3], Vec<u32>> = HashMap::with_capacity(other.len());
    for (i, p) in other.iter().enumerate().rev() {
        by_coordinates.entry(key(p)).or_default().push(i as u32);
    }
    let mut matched = vec![u32::MAX; reference.len()];
    let mut rest = Vec::new();
    for (i, p) in reference.iter().enumerate() {
        match by_coordinates.get_mut(&key(p)).and_then(Vec::pop) {
            Some(j) => matched[i] = j,
            None => rest.push(i),
        }
    }
    if rest.is_empty() {
        return Ok(matched);
    }
    let diagonal = bounding_box(reference).map_or(0.0, |b| b.diagonal());
    let tolerance = MATCH_TOLERANCE * diagonal;
    let index = PointIndex::new(other);
    let mut unmatched = 0usize;
    let mut worst = 0.0f64;
    for &i in &rest {
        match index.nearest(reference[i], 1).first() {
            Some(n) if (n.distance_m as f64) <= tolerance => matched[i] = n.index,
            found => {
                unmatched += 1;
                worst = worst.max(found.map_or(f64::INFINITY, |n| n.distance_m as f64));
            }
        }
    }
    if unmatched > 0 {
        return Err(Mismatch::Unmatched {
            unmatched,
            points: reference.len(),
            tolerance_m: tolerance,
            farthest_m: worst,
        });
    }
    Ok(matched)
}

/// `values` (`width` per point, in `other`'s order) carried onto the reference points.
pub fn carry(values: &[f32], width: usize, matched: &[u32]) -> Vec<f32> {
    matched
        .iter()
        .flat_map(|&j| {
            let start = j as usize * width;
            values[start..start + width].iter().copied()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Vec<[f32; 3]> {
        let mut points = Vec::new();
        for i in 0..12 {
            for j in 0..9 {
                points.push([0.37 * i as f32, -0.21 * j as f32, 0.05 * (i * j) as f32]);
            }
        }
        points
    }

    fn shuffled(points: &[[f32; 3]]) -> (Vec<[f32; 3]>, Vec<usize>) {
        // A fixed permutation: stride 7 through 108 points (coprime).
        let order: Vec<usize> = (0..points.len())
            .map(|i| (7 * i + 3) % points.len())
            .collect();
        (order.iter().map(|&i| points[i]).collect(), order)
    }

    #[test]
    fn a_permuted_copy_is_matched_exactly_and_its_arrays_follow() {
        let reference = grid();
        let (other, order) = shuffled(&reference);
        let matched = match_points(&reference, &other).unwrap();
        for (i, &j) in matched.iter().enumerate() {
            assert_eq!(order[j as usize], i);
        }
        // A 3-component array written in `other`'s order comes back in the reference order.
        let values: Vec<f32> = other
            .iter()
            .flat_map(|p| [p[0] + 1.0, p[1], p[2] * 2.0])
            .collect();
        let carried = carry(&values, 3, &matched);
        for (i, p) in reference.iter().enumerate() {
            assert_eq!(&carried[3 * i..3 * i + 3], &[p[0] + 1.0, p[1], p[2] * 2.0]);
        }
    }

    #[test]
    fn repeated_coordinates_pair_one_to_one_and_last_bit_noise_is_tolerated() {
        let mut reference = grid();
        reference.push(reference[5]);
        let (mut other, _) = shuffled(&reference);
        let matched = match_points(&reference, &other).unwrap();
        let mut seen = matched.clone();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(
            seen.len(),
            reference.len(),
            "each point of `other` used once"
        );
        // One point rounded differently by a writer (one ulp off) still matches.
        let moved = other.iter().position(|p| *p == reference[40]).unwrap();
        other[moved][0] = f32::from_bits(other[moved][0].to_bits() + 1);
        let matched = match_points(&reference, &other).unwrap();
        assert_eq!(matched[40] as usize, moved);
    }

    #[test]
    fn different_meshes_are_refused_with_the_count() {
        let reference = grid();
        let (mut other, _) = shuffled(&reference);
        for p in other.iter_mut().take(4) {
            p[2] += 0.001; // 1 mm: far beyond rounding on a ~5 m body
        }
        let err = match_points(&reference, &other).unwrap_err().to_string();
        assert!(err.contains("4 of 108 points"), "{err}");
        assert!(err.contains("different meshes"), "{err}");
        let err = match_points(&reference, &other[1..])
            .unwrap_err()
            .to_string();
        assert!(err.contains("108 points against 107"), "{err}");
    }
}
