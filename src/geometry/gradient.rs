//! Gradients of fields sampled at scattered points (cell centres) by least squares over each
//! point's nearest neighbours; the curl of a velocity field gives the vorticity datasets that
//! do not ship one lack.

use rayon::prelude::*;

use super::neighbours::PointIndex;

/// Neighbours used per point (besides the point itself).
pub const NEIGHBOURS: usize = 12;

/// Solves the 3×3 system `a·x = b` (Cramer); `None` when it is singular.
fn solve3(a: [[f64; 3]; 3], b: [f64; 3]) -> Option<[f64; 3]> {
    let det = |m: [[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(a);
    let scale = a
        .iter()
        .flatten()
        .map(|v| v.abs())
        .fold(0.0, f64::max)
        .powi(3);
    if d.is_nan() || d.abs() <= 1e-12 * scale {
        return None;
    }
    Some(std::array::from_fn(|k| {
        let mut m = a;
        for r in 0..3 {
            m[r][k] = b[r];
        }
        det(m) / d
    }))
}

/// The vorticity ∇×u at each of `points` from the velocity `velocity` (`[N·3]`), by a
/// least-squares fit of a linear field through each point's nearest neighbours (zero where the
/// neighbourhood is degenerate, e.g. all neighbours on a line).
pub fn curl_least_squares(points: &[[f32; 3]], velocity: &[f32]) -> Vec<f32> {
    curl_at(points, velocity, points.len(), |q| q)
}

/// [`curl_least_squares`] evaluated only at the points `at` (indices into `points`; the other
/// points serve as neighbours), in the order of `at`: `[at.len()·3]`. What prepare needs when it
/// keeps a subset of a volume's cells and the rest is only their stencil.
pub fn curl_least_squares_at(points: &[[f32; 3]], velocity: &[f32], at: &[usize]) -> Vec<f32> {
    curl_at(points, velocity, at.len(), |q| at[q])
}

/// The curl at `count` points, the `q`-th being `points[point(q)]`.
fn curl_at(
    points: &[[f32; 3]],
    velocity: &[f32],
    count: usize,
    point: impl Fn(usize) -> usize + Sync,
) -> Vec<f32> {
    let index = PointIndex::new(points);
    let mut out = Vec::with_capacity(3 * count);
    // Neighbours are searched a block at a time, so their lists never outgrow one block.
    for first in (0..count).step_by(CURL_BLOCK) {
        let block: Vec<usize> = (first..count.min(first + CURL_BLOCK)).map(&point).collect();
        let queries: Vec<[f32; 3]> = block.iter().map(|&i| points[i]).collect();
        let neighbours = index.nearest_batch(&queries, NEIGHBOURS + 1);
        let curl: Vec<f32> = (0..block.len())
            .into_par_iter()
            .flat_map_iter(|q| {
                let i = block[q];
                let (ids, _) = neighbours.row(q);
                let p = points[i];
                let mut ata = [[0.0f64; 3]; 3];
                let mut atb = [[0.0f64; 3]; 3]; // per velocity component
                for &j in ids {
                    let j = j as usize;
                    if j == i || j >= points.len() {
                        continue;
                    }
                    let d: [f64; 3] = std::array::from_fn(|k| (points[j][k] - p[k]) as f64);
                    let w = 1.0 / (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).max(1e-300);
                    for r in 0..3 {
                        for c in 0..3 {
                            ata[r][c] += w * d[r] * d[c];
                        }
                        for comp in 0..3 {
                            let du = (velocity[3 * j + comp] - velocity[3 * i + comp]) as f64;
                            atb[comp][r] += w * d[r] * du;
                        }
                    }
                }
                // grad[comp] = ∇u_comp
                let grad: Option<Vec<[f64; 3]>> = (0..3).map(|c| solve3(ata, atb[c])).collect();
                let w = match grad {
                    Some(g) => [g[2][1] - g[1][2], g[0][2] - g[2][0], g[1][0] - g[0][1]],
                    None => [0.0; 3],
                };
                w.map(|v| v as f32).into_iter()
            })
            .collect();
        out.extend_from_slice(&curl);
    }
    out
}

/// Points whose neighbour lists are held at once by [`curl_least_squares`].
const CURL_BLOCK: usize = 1 << 16;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn the_curl_of_a_linear_field_is_exact() {
        // u = (−2y + z, 3x, 5y): ∇×u = (5 − 0, 1 − 0, 3 + 2) = (5, 1, 5).
        let mut rng = Rng::seed_from(4);
        let points: Vec<[f32; 3]> = (0..2000)
            .map(|_| {
                [
                    rng.uniform() as f32,
                    rng.uniform() as f32,
                    rng.uniform() as f32,
                ]
            })
            .collect();
        let velocity: Vec<f32> = points
            .iter()
            .flat_map(|p| [-2.0 * p[1] + p[2], 3.0 * p[0], 5.0 * p[1]])
            .collect();
        let w = curl_least_squares(&points, &velocity);
        for row in w.chunks_exact(3) {
            assert!(
                (row[0] - 5.0).abs() < 1e-3
                    && (row[1] - 1.0).abs() < 1e-3
                    && (row[2] - 5.0).abs() < 1e-3,
                "{row:?}"
            );
        }
    }

    #[test]
    fn the_curl_at_a_subset_equals_the_full_curl_there() {
        let mut rng = Rng::seed_from(9);
        let points: Vec<[f32; 3]> = (0..3000)
            .map(|_| std::array::from_fn(|_| rng.uniform() as f32))
            .collect();
        let velocity: Vec<f32> = points
            .iter()
            .flat_map(|p| [(3.0 * p[1]).sin(), p[0] * p[2], (p[0] - p[1]).cos()])
            .collect();
        let all = curl_least_squares(&points, &velocity);
        let at = [2999usize, 0, 17, 1500, 17];
        let some = curl_least_squares_at(&points, &velocity, &at);
        assert_eq!(some.len(), 3 * at.len());
        for (q, &i) in at.iter().enumerate() {
            assert_eq!(&some[3 * q..3 * q + 3], &all[3 * i..3 * i + 3]);
        }
    }
}
