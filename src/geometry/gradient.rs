//! Gradients of fields sampled at scattered points (cell centres) by least squares over each
//! point's nearest neighbours; the curl of a velocity field gives the vorticity datasets that
//! do not ship one lack.

use rayon::prelude::*;

use nalgebra::{Matrix3, Vector3};

use super::neighbours::PointIndex;

/// Neighbours used per point (besides the point itself).
pub const NEIGHBOURS: usize = 12;

/// The gradients `g` with `ata · g = atb` (one column per velocity component), by LU; `None`
/// when `ata` is singular relative to its size (the neighbours on a line or in a plane).
fn solve_gradients(ata: &Matrix3<f64>, atb: &Matrix3<f64>) -> Option<Matrix3<f64>> {
    let scale = ata.amax().powi(3);
    let det = ata.determinant();
    if det.is_nan() || det.abs() <= 1e-12 * scale {
        return None;
    }
    ata.lu().solve(atb)
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
                let mut ata = Matrix3::<f64>::zeros();
                // Column `c`: the weighted differences of velocity component `c`.
                let mut atb = Matrix3::<f64>::zeros();
                for &j in ids {
                    let j = j as usize;
                    if j == i || j >= points.len() {
                        continue;
                    }
                    let d = Vector3::from_fn(|k, _| (points[j][k] - p[k]) as f64);
                    let du =
                        Vector3::from_fn(|c, _| (velocity[3 * j + c] - velocity[3 * i + c]) as f64);
                    let w = 1.0 / d.norm_squared().max(1e-300);
                    ata += w * d * d.transpose();
                    atb += w * d * du.transpose();
                }
                // g[(k, c)] = ∂u_c/∂x_k
                let w = match solve_gradients(&ata, &atb) {
                    Some(g) => [
                        g[(1, 2)] - g[(2, 1)],
                        g[(2, 0)] - g[(0, 2)],
                        g[(0, 1)] - g[(1, 0)],
                    ],
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
