//! How sure a prediction is: the spread of independent anchor draws, scaled to the errors it
//! made on validation runs.
//!
//! AB-UPT sees a body through a random draw of anchors, geometry points and supernodes; where the
//! flow is easy, every draw says the same, where the model is guessing (separation, wakes, shapes
//! at the edge of its training), draws disagree. The spread across draws is therefore a free
//! uncertainty signal, measured for every point and for the integrated coefficients, without
//! training anything else (an ensemble of models would cost N trainings on this machine's two
//! cores). Its size is not the error's size — the error also holds what every draw gets wrong
//! alike — so each quantity's spread is multiplied by a factor fitted on the validation split
//! ([`Calibration`], stored in the checkpoint by `slipstream calibrate`): σ = factor × spread.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The fields a calibration holds factors for, as `eval` names them.
pub const FIELDS: [&str; 5] = [
    "surface_pressure",
    "surface_wall_shear",
    "volume_pressure",
    "volume_velocity",
    "volume_vorticity",
];

/// Per-value mean and spread over draws (Welford's running update, in f64).
#[derive(Debug, Clone, Default)]
pub struct DrawSpread {
    draws: usize,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

impl DrawSpread {
    /// Adds one draw's values (every draw the same length).
    pub fn add(&mut self, values: &[f32]) {
        if self.draws == 0 {
            self.mean = vec![0.0; values.len()];
            self.m2 = vec![0.0; values.len()];
        }
        self.draws += 1;
        let n = self.draws as f64;
        for ((m, s), x) in self.mean.iter_mut().zip(&mut self.m2).zip(values) {
            let x = *x as f64;
            let d = x - *m;
            *m += d / n;
            *s += d * (x - *m);
        }
    }

    pub fn draws(&self) -> usize {
        self.draws
    }

    /// The sample standard deviation of each value over the draws (zeros below two draws).
    pub fn std(&self) -> Vec<f32> {
        if self.draws < 2 {
            return vec![0.0; self.m2.len()];
        }
        let d = (self.draws - 1) as f64;
        self.m2.iter().map(|s| (s / d).sqrt() as f32).collect()
    }

    /// The standard deviation of `width`-component vectors: √(Σ σ_k²) per row.
    pub fn vector_std(&self, width: usize) -> Vec<f32> {
        self.std()
            .chunks_exact(width)
            .map(|c| c.iter().map(|s| s * s).sum::<f32>().sqrt())
            .collect()
    }
}

/// The sample standard deviation of a few scalars (0 below two).
pub fn std_of(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 2 {
        return 0.0;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
}

/// Factors that turn the spread of draws into a 1σ uncertainty, fitted on a validation split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Draws per prediction when the factors were fitted (predict defaults to it).
    pub draws: usize,
    /// σ(Cd) = `cd` × the spread of the draws' Cd; likewise Cl.
    pub cd: f64,
    pub cl: f64,
    /// Per field ([`FIELDS`]): σ at a point = factor × the spread of the draws there.
    pub fields: BTreeMap<String, f64>,
    /// Where it was fitted: the prepared dataset, the split, its runs.
    pub data: String,
    pub split: String,
    pub runs: usize,
}

impl Calibration {
    /// A field's factor (1 when the calibration had none for it).
    pub fn field(&self, name: &str) -> f64 {
        self.fields.get(name).copied().unwrap_or(1.0)
    }
}

/// The factor for a scalar (Cd, Cl) from `(error, spread)` pairs of the validation runs: the
/// larger of the ratio of their root-mean-squares (σ as large as the errors on the whole) and the
/// 68.3 % quantile of error/spread (about two thirds of the runs within 1σ, as a normal error
/// would be). Pairs with no spread are left out; none left: `None`.
pub fn scalar_factor(pairs: &[(f64, f64)]) -> Option<f64> {
    let kept: Vec<(f64, f64)> = pairs
        .iter()
        .copied()
        .filter(|(e, s)| e.is_finite() && s.is_finite() && *s > 0.0)
        .collect();
    if kept.is_empty() {
        return None;
    }
    let rms = |v: &mut dyn Iterator<Item = f64>| {
        let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x * x, n + 1));
        (s / n as f64).sqrt()
    };
    let ratio = rms(&mut kept.iter().map(|p| p.0)) / rms(&mut kept.iter().map(|p| p.1));
    let mut r: Vec<f64> = kept.iter().map(|(e, s)| e.abs() / s).collect();
    r.sort_by(f64::total_cmp);
    let q = r[((r.len() as f64 * 0.683).ceil() as usize).clamp(1, r.len()) - 1];
    Some(ratio.max(q))
}

/// The factor for a field from its pooled squared errors and squared spreads: the ratio of
/// their root-mean-squares. `None` when there was no spread.
pub fn field_factor(sum_error2: f64, sum_spread2: f64) -> Option<f64> {
    (sum_spread2 > 0.0 && sum_error2.is_finite()).then(|| (sum_error2 / sum_spread2).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spread_of_draws_is_their_sample_standard_deviation() {
        let mut s = DrawSpread::default();
        for draw in [[1.0f32, 10.0, 0.0], [3.0, 10.0, 0.0], [5.0, 10.0, 3.0]] {
            s.add(&draw);
        }
        let std = s.std();
        assert!((std[0] - 2.0).abs() < 1e-6);
        assert_eq!(std[1], 0.0);
        assert!((std[2] - 3f32.sqrt()).abs() < 1e-6);
        assert!((std_of(&[1.0, 3.0, 5.0]) - 2.0).abs() < 1e-12);
        assert_eq!(std_of(&[1.0]), 0.0);
        let v = s.vector_std(3);
        assert!((v[0] - (4.0f32 + 3.0).sqrt()).abs() < 1e-6);
    }

    #[test]
    fn factors_make_the_spread_as_large_as_the_errors() {
        // Errors twice the spread everywhere: factor 2.
        let pairs: Vec<(f64, f64)> = (1..=9).map(|i| (2.0 * i as f64, i as f64)).collect();
        assert!((scalar_factor(&pairs).unwrap() - 2.0).abs() < 1e-12);
        // One run far worse than its spread raises the factor above the median ratio.
        let mut skewed = vec![(1.0, 1.0); 6];
        skewed.extend([(10.0, 1.0), (10.0, 1.0), (10.0, 1.0)]);
        assert!(scalar_factor(&skewed).unwrap() > 5.0);
        assert_eq!(scalar_factor(&[(1.0, 0.0)]), None);
        assert_eq!(field_factor(4.0, 1.0), Some(2.0));
        assert_eq!(field_factor(4.0, 0.0), None);
    }
}
