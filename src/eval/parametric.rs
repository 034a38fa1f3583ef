//! The parametric baseline: ridge regression from a family's design parameters to a coefficient.
//!
//! On a parametric family the parameters alone predict drag well (on DrivAerML a linear regression
//! on its 16 design parameters reaches drag R² ≈ 0.96), so a surrogate's Cd must be compared with
//! such a regression, not only with the mean field. The regression is fitted on the training runs:
//! parameters standardised over them (a constant one drops out), the coefficient centred, and the
//! ridge penalty chosen by exact leave-one-out error over a grid, so nothing is tuned on the runs
//! it is scored on.

use nalgebra::{DMatrix, DVector};

use crate::data::PreparedRun;

/// Ridge penalties tried, relative to the number of training runs (the diagonal of XᵀX of
/// standardised parameters is n).
const RELATIVE_PENALTIES: [f64; 12] = [
    1e-8, 1e-6, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0,
];

/// A fitted ridge regression of one scalar on named parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Ridge {
    pub names: Vec<String>,
    mean: Vec<f64>,
    /// 1/std of each parameter over the training runs (0 for a constant one).
    inv_std: Vec<f64>,
    intercept: f64,
    weights: Vec<f64>,
    /// The penalty chosen (absolute, on standardised parameters) and its leave-one-out RMSE.
    pub penalty: f64,
    pub loo_rmse: f64,
}

impl Ridge {
    /// Fits `y` on the rows of `x` (one row of parameter values per run, in `names` order).
    pub fn fit(names: &[String], x: &[Vec<f64>], y: &[f64]) -> Result<Ridge, NoBaseline> {
        let (n, p) = (x.len(), names.len());
        if n < 3 || y.len() != n {
            return Err(NoBaseline::TooFewRuns(n));
        }
        if x.iter().any(|row| row.len() != p) {
            return Err(NoBaseline::Ragged);
        }
        let mean: Vec<f64> = (0..p)
            .map(|j| x.iter().map(|r| r[j]).sum::<f64>() / n as f64)
            .collect();
        let inv_std: Vec<f64> = (0..p)
            .map(|j| {
                let var = x.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n as f64;
                if var > 1e-24 * (1.0 + mean[j] * mean[j]) {
                    1.0 / var.sqrt()
                } else {
                    0.0
                }
            })
            .collect();
        let z = DMatrix::from_fn(n, p, |i, j| (x[i][j] - mean[j]) * inv_std[j]);
        let y_mean = y.iter().sum::<f64>() / n as f64;
        let yc = DVector::from_fn(n, |i, _| y[i] - y_mean);
        let gram = z.transpose() * &z;
        let zty = z.transpose() * &yc;
        let mut best: Option<(f64, f64, DVector<f64>)> = None;
        for rel in RELATIVE_PENALTIES {
            let penalty = rel * n as f64;
            let a = &gram + DMatrix::identity(p, p) * penalty;
            let Some(chol) = a.cholesky() else { continue };
            let w = chol.solve(&zty);
            // Exact leave-one-out residuals of a linear smoother: r_i / (1 − h_ii), with the
            // intercept's 1/n in the leverage.
            let inv = chol.inverse();
            let mut sq = 0.0;
            for i in 0..n {
                let zi = z.row(i).transpose();
                let h: f64 = (zi.transpose() * &inv * &zi)[(0, 0)] + 1.0 / n as f64;
                let r = yc[i] - (zi.transpose() * &w)[(0, 0)];
                sq += (r / (1.0 - h).max(1e-12)).powi(2);
            }
            let rmse = (sq / n as f64).sqrt();
            if best.as_ref().is_none_or(|b| rmse < b.1) {
                best = Some((penalty, rmse, w));
            }
        }
        let (penalty, loo_rmse, w) = best.ok_or(NoBaseline::Singular)?;
        Ok(Ridge {
            names: names.to_vec(),
            mean,
            inv_std,
            intercept: y_mean,
            weights: w.iter().copied().collect(),
            penalty,
            loo_rmse,
        })
    }

    /// The regression's value at `values` (in `names` order).
    pub fn predict(&self, values: &[f64]) -> f64 {
        self.intercept
            + values
                .iter()
                .zip(&self.mean)
                .zip(&self.inv_std)
                .zip(&self.weights)
                .map(|(((v, m), s), w)| (v - m) * s * w)
                .sum::<f64>()
    }
}

/// The values of `run`'s design parameters when it has exactly `names`, in that order; `None`
/// when it has others (or none).
fn values_named(names: &[String], run: &PreparedRun) -> Option<Vec<f64>> {
    let same = run.meta.parameters.len() == names.len()
        && run
            .meta
            .parameters
            .iter()
            .zip(names)
            .all(|((a, _), b)| a == b);
    same.then(|| run.meta.parameters.iter().map(|(_, v)| *v).collect())
}

/// Why the parametric baseline cannot be fitted (the report says so instead of scoring it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoBaseline {
    #[error("the training runs carry no design parameters")]
    NoParameters,
    #[error("training run {run} has other design parameters than {first}")]
    OtherParameters { run: String, first: String },
    #[error("training runs have different numbers of parameters")]
    Ragged,
    #[error(
        "{0} training runs with parameters and a coefficient; the regression needs at least 3"
    )]
    TooFewRuns(usize),
    #[error("too few training runs have both design parameters and coefficients")]
    NoCoefficients,
    #[error("the parameters' normal equations cannot be solved")]
    Singular,
}

/// Ridge regressions of Cd and Cl on the design parameters of the training runs.
pub struct ParametricBaseline {
    names: Vec<String>,
    cd: Option<Ridge>,
    cl: Option<Ridge>,
    runs: usize,
}

impl ParametricBaseline {
    /// Fitted on the training runs that have the parameters (all must name the same ones) and
    /// the coefficient; why not, where it cannot be.
    pub fn fit(training: &[PreparedRun]) -> Result<Self, NoBaseline> {
        let names: Vec<String> = match training.first() {
            Some(r) if !r.meta.parameters.is_empty() => {
                r.meta.parameters.iter().map(|(n, _)| n.clone()).collect()
            }
            _ => return Err(NoBaseline::NoParameters),
        };
        let values = |r: &PreparedRun| values_named(&names, r);
        if let Some(odd) = training.iter().find(|r| values(r).is_none()) {
            return Err(NoBaseline::OtherParameters {
                run: odd.name.clone(),
                first: training[0].name.clone(),
            });
        }
        let fit = |coefficient: fn(&PreparedRun) -> Option<f64>| {
            let (x, y): (Vec<Vec<f64>>, Vec<f64>) = training
                .iter()
                .filter_map(|r| Some((values(r)?, coefficient(r)?)))
                .unzip();
            Ridge::fit(&names, &x, &y).ok()
        };
        let (cd, cl) = (fit(|r| r.meta.cd), fit(|r| r.meta.cl));
        if cd.is_none() && cl.is_none() {
            return Err(NoBaseline::NoCoefficients);
        }
        Ok(ParametricBaseline {
            names,
            cd,
            cl,
            runs: training.len(),
        })
    }

    /// Cd and Cl for `run` (NaN for a coefficient without a regression); `None` when the run
    /// lacks the parameters.
    pub fn predict(&self, run: &PreparedRun) -> Option<(f64, f64)> {
        let x = values_named(&self.names, run)?;
        let at = |r: &Option<Ridge>| r.as_ref().map_or(f64::NAN, |r| r.predict(&x));
        Some((at(&self.cd), at(&self.cl)))
    }

    /// What was fitted, for the report.
    pub fn describe(&self) -> String {
        let penalty = |r: &Option<Ridge>| {
            r.as_ref().map_or("none".to_string(), |r| {
                format!(
                    "penalty {:.3e}, leave-one-out RMSE {:.4}",
                    r.penalty, r.loo_rmse
                )
            })
        };
        format!(
            "ridge regression on {} design parameters ({}) of {} training runs; Cd: {}; Cl: {}",
            self.names.len(),
            self.names.join(", "),
            self.runs,
            penalty(&self.cd),
            penalty(&self.cl)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn names(k: usize) -> Vec<String> {
        (0..k).map(|j| format!("p{j}")).collect()
    }

    #[test]
    fn an_exactly_linear_family_is_recovered_on_new_bodies() {
        // Cd = 0.3 + 0.02 a − 0.5 b + 0.001 c, a constant fourth parameter, 20 training bodies.
        let cd = |r: &[f64]| 0.3 + 0.02 * r[0] - 0.5 * r[1] + 0.001 * r[2];
        let mut rng = Rng::seed_from(7);
        let mut body = || {
            vec![
                10.0 + 5.0 * rng.uniform(),
                0.1 * rng.uniform(),
                100.0 * rng.uniform(),
                2.5,
            ]
        };
        let x: Vec<Vec<f64>> = (0..20).map(|_| body()).collect();
        let y: Vec<f64> = x.iter().map(|r| cd(r)).collect();
        let ridge = Ridge::fit(&names(4), &x, &y).unwrap();
        assert!(ridge.loo_rmse < 1e-6, "{ridge:?}");
        for _ in 0..10 {
            let b = body();
            assert!((ridge.predict(&b) - cd(&b)).abs() < 1e-6);
        }
    }

    #[test]
    fn noise_is_shrunk_and_too_few_runs_are_refused() {
        // Pure noise: the leave-one-out choice shrinks (a penalty well above least squares'), so
        // predictions stay near the training mean instead of chasing the noise.
        let mut rng = Rng::seed_from(3);
        let x: Vec<Vec<f64>> = (0..30)
            .map(|_| (0..6).map(|_| rng.uniform()).collect())
            .collect();
        let y: Vec<f64> = (0..30).map(|_| 0.3 + 0.01 * rng.uniform()).collect();
        let ridge = Ridge::fit(&names(6), &x, &y).unwrap();
        let mean = y.iter().sum::<f64>() / 30.0;
        assert!(ridge.penalty > 1e-3 * 30.0, "{ridge:?}");
        assert!((ridge.predict(&[0.5; 6]) - mean).abs() < 0.002);
        assert!(Ridge::fit(&names(1), &[vec![1.0], vec![2.0]], &[1.0, 2.0]).is_err());
    }
}
