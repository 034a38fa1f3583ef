//! The metrics the field reports: relative L2 (plain and area-weighted), mean squared error, and
//! for scalar predictions across runs the mean relative error, MAE, max error, R² and Spearman's ρ.

use serde::Serialize;

/// ‖pred − truth‖₂ / ‖truth‖₂ over all values (vectors as their components); with `weights`,
/// each row's squared error and squared truth are weighted (area-weighted surface L2). NaN when
/// the truth is all zero.
pub fn relative_l2(pred: &[f32], truth: &[f32], width: usize, weights: Option<&[f32]>) -> f64 {
    let mut num = 0.0f64;
    let mut den = 0.0f64;
    for (row, (p, t)) in pred
        .chunks_exact(width)
        .zip(truth.chunks_exact(width))
        .enumerate()
    {
        let w = weights.map_or(1.0, |w| w[row] as f64);
        for (a, b) in p.iter().zip(t) {
            let (a, b) = (*a as f64, *b as f64);
            num += w * (a - b) * (a - b);
            den += w * b * b;
        }
    }
    if den > 0.0 {
        (num / den).sqrt()
    } else {
        f64::NAN
    }
}

/// Mean of squared differences.
pub fn mse(pred: &[f32], truth: &[f32]) -> f64 {
    let n = pred.len().min(truth.len());
    if n == 0 {
        return f64::NAN;
    }
    pred.iter()
        .zip(truth)
        .map(|(a, b)| (*a as f64 - *b as f64).powi(2))
        .sum::<f64>()
        / n as f64
}

/// Accuracy of a scalar (Cd, Cl) predicted for each of several runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScalarMetrics {
    pub mean_rel_error: f64,
    pub mae: f64,
    pub max_abs_error: f64,
    pub r2: f64,
    pub spearman: f64,
}

/// Metrics of `pred` against `truth` (same order).
pub fn scalar_metrics(pred: &[f64], truth: &[f64]) -> ScalarMetrics {
    let n = pred.len().min(truth.len());
    let errors: Vec<f64> = (0..n).map(|i| pred[i] - truth[i]).collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    ScalarMetrics {
        mean_rel_error: mean(
            &(0..n)
                .map(|i| (errors[i] / truth[i]).abs())
                .collect::<Vec<_>>(),
        ),
        mae: mean(&errors.iter().map(|e| e.abs()).collect::<Vec<_>>()),
        max_abs_error: errors.iter().map(|e| e.abs()).fold(0.0, f64::max),
        r2: r_squared(&pred[..n], &truth[..n]),
        spearman: spearman(&pred[..n], &truth[..n]),
    }
}

/// Coefficient of determination 1 − SS_res/SS_tot (NaN when the truth does not vary).
pub fn r_squared(pred: &[f64], truth: &[f64]) -> f64 {
    let n = truth.len();
    if n == 0 {
        return f64::NAN;
    }
    let mean = truth.iter().sum::<f64>() / n as f64;
    let ss_tot: f64 = truth.iter().map(|t| (t - mean).powi(2)).sum();
    let ss_res: f64 = pred.iter().zip(truth).map(|(p, t)| (p - t).powi(2)).sum();
    if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else {
        f64::NAN
    }
}

/// Ranks from 1, ties sharing their average rank.
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
            j += 1;
        }
        let average = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            r[k] = average;
        }
        i = j + 1;
    }
    r
}

/// Spearman's rank correlation: Pearson's correlation of the ranks.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    if n < 2.0 {
        return f64::NAN;
    }
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    if va > 0.0 && vb > 0.0 {
        cov / (va * vb).sqrt()
    } else {
        f64::NAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_l2_matches_the_hand_computed_value() {
        // Truth (3, 4) has norm 5; error (0, 1) has norm 1.
        assert!((relative_l2(&[3.0, 5.0], &[3.0, 4.0], 1, None) - 0.2).abs() < 1e-12);
        // As one 2-vector: the same.
        assert!((relative_l2(&[3.0, 5.0], &[3.0, 4.0], 2, None) - 0.2).abs() < 1e-12);
        // Weights 1 and 4 on the rows: sqrt(4·1 / (9 + 4·16)) = 2/√73.
        let w = relative_l2(&[3.0, 5.0], &[3.0, 4.0], 1, Some(&[1.0, 4.0]));
        assert!((w - 2.0 / 73f64.sqrt()).abs() < 1e-12);
        assert!(relative_l2(&[1.0], &[0.0], 1, None).is_nan());
        assert!((mse(&[1.0, 2.0], &[0.0, 0.0]) - 2.5).abs() < 1e-12);
    }

    #[test]
    fn r2_and_spearman_on_a_known_example() {
        let truth = [1.0, 2.0, 3.0, 4.0];
        let pred = [1.1, 1.9, 3.2, 3.9];
        // SS_res = 0.01 + 0.01 + 0.04 + 0.01 = 0.07; SS_tot = 5.
        assert!((r_squared(&pred, &truth) - (1.0 - 0.07 / 5.0)).abs() < 1e-12);
        assert!((spearman(&pred, &truth) - 1.0).abs() < 1e-12);
        // Reversed order: ρ = −1. One swap of neighbours among 4: ρ = 1 − 6·2/(4·15) = 0.8.
        assert!((spearman(&[4.0, 3.0, 2.0, 1.0], &truth) + 1.0).abs() < 1e-12);
        assert!((spearman(&[2.0, 1.0, 3.0, 4.0], &truth) - 0.8).abs() < 1e-12);
        // Ties share ranks: x = (1, 1, 2) has ranks (1.5, 1.5, 3); against (1, 2, 3) ρ = √3/2.
        assert!((spearman(&[1.0, 1.0, 2.0], &[1.0, 2.0, 3.0]) - 3f64.sqrt() / 2.0).abs() < 1e-12);
        let m = scalar_metrics(&pred, &truth);
        assert!((m.mae - 0.125).abs() < 1e-12);
        assert!((m.max_abs_error - 0.2).abs() < 1e-12);
        let rel = (0.1 / 1.0 + 0.1 / 2.0 + 0.2 / 3.0 + 0.1 / 4.0) / 4.0;
        assert!((m.mean_rel_error - rel).abs() < 1e-12);
    }
}
