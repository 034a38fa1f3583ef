//! Ordering points along a Morton (Z-order) curve, so that batched spatial queries visit nearby
//! points one after another and the tree nodes they share stay in cache (measured: several times
//! faster k-NN and about 2x faster winding numbers on large inputs than in arbitrary order).

use rayon::prelude::*;

fn is_finite(p: &[f32; 3]) -> bool {
    p.iter().all(|c| c.is_finite())
}

/// Positions of `queries` sorted along a Morton curve over their bounding box; queries with a
/// non-finite coordinate go last.
///
/// Each query's key and position are packed into one `u64` (position in the low bits, up to 21
/// bits per axis of key above it), so the sort moves 8 bytes per query: 1M queries get 14 bits
/// per axis, 150M get 12, far finer than the tree's leaves.
pub(crate) fn morton_order(queries: &[[f32; 3]]) -> Vec<usize> {
    let position_bits = usize::BITS - queries.len().saturating_sub(1).leading_zeros();
    let bits_per_axis = (64u32.saturating_sub(position_bits) / 3).min(21);
    let cells = ((1u64 << bits_per_axis) - 1) as f64;
    let (lo, hi) = queries
        .par_iter()
        .filter(|q| is_finite(q))
        .fold(
            || ([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]),
            |(mut lo, mut hi), q| {
                for a in 0..3 {
                    lo[a] = lo[a].min(q[a]);
                    hi[a] = hi[a].max(q[a]);
                }
                (lo, hi)
            },
        )
        .reduce(
            || ([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]),
            |(lo1, hi1), (lo2, hi2)| {
                (
                    std::array::from_fn(|a| lo1[a].min(lo2[a])),
                    std::array::from_fn(|a| hi1[a].max(hi2[a])),
                )
            },
        );
    // One scale for all axes keeps cells cubic; f64 so that the extent cannot overflow.
    let extent = (0..3)
        .map(|a| f64::from(hi[a]) - f64::from(lo[a]))
        .fold(0.0, f64::max);
    let scale = if extent > 0.0 { cells / extent } else { 0.0 };
    let mut keyed: Vec<u64> = queries
        .par_iter()
        .enumerate()
        .map(|(i, q)| {
            let key = if is_finite(q) {
                let cell = |a: usize| ((f64::from(q[a]) - f64::from(lo[a])) * scale) as u64;
                spread_bits(cell(0)) | spread_bits(cell(1)) << 1 | spread_bits(cell(2)) << 2
            } else {
                u64::MAX
            };
            key.checked_shl(position_bits).unwrap_or(0) | i as u64
        })
        .collect();
    keyed.par_sort_unstable();
    let position_mask = u64::MAX.checked_shr(64 - position_bits).unwrap_or(0);
    keyed
        .into_iter()
        .map(|entry| (entry & position_mask) as usize)
        .collect()
}

/// The low 21 bits of `x` moved to every third bit (bit b to bit 3b), for interleaving.
pub(crate) fn spread_bits(x: u64) -> u64 {
    let mut x = x & 0x1f_ffff;
    x = (x | x << 32) & 0x1f_0000_0000_ffff;
    x = (x | x << 16) & 0x1f_0000_ff00_00ff;
    x = (x | x << 8) & 0x100f_00f0_0f00_f00f;
    x = (x | x << 4) & 0x10c3_0c30_c30c_30c3;
    x = (x | x << 2) & 0x1249_2492_4924_9249;
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn morton_order_is_a_permutation_along_the_z_curve() {
        assert_eq!(spread_bits(0b111), 0b1001001);
        assert_eq!(spread_bits(0x1f_ffff), 0x1249_2492_4924_9249);
        // The 2×2×2 corners of a cube come out in Z order: x is the fastest bit.
        let corners = [
            [1.0, 1.0, 1.0],
            [0.0, 0.0, 0.0],
            [f32::NAN, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0],
        ];
        assert_eq!(morton_order(&corners), vec![1, 4, 3, 5, 0, 2]);
        assert!(morton_order(&[]).is_empty());
        assert_eq!(morton_order(&[[2.0; 3], [2.0; 3]]).len(), 2);
    }

    #[test]
    fn morton_order_is_a_permutation_with_non_finite_points_last() {
        for x in [0u64, 1, 0b101, 0x1f_ffff, 0x12_3456] {
            let slow = (0..21).fold(0u64, |acc, b| acc | ((x >> b) & 1) << (3 * b));
            assert_eq!(spread_bits(x), slow);
        }
        let mut pts: Vec<[f32; 3]> = (0..500)
            .map(|i| [(i % 7) as f32, (i % 11) as f32, (i % 13) as f32 * 0.5])
            .collect();
        pts[3] = [f32::NAN, 0.0, 0.0];
        pts[200] = [0.0, f32::INFINITY, 0.0];
        let order = morton_order(&pts);
        let mut seen = order.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..500).collect::<Vec<_>>());
        let mut tail = order[498..].to_vec();
        tail.sort_unstable();
        assert_eq!(tail, vec![3, 200]);
        // The minimum corner of the box has key 0.
        let first = pts[order[0]];
        assert_eq!(first, [0.0, 0.0, 0.0]);
        assert!(morton_order(&[]).is_empty());
        assert_eq!(morton_order(&[[f32::NAN; 3]]), vec![0]);
    }
}
