//! Is σ honest? How the spread of anchor draws ([`crate::model::uncertainty`]) relates to the
//! errors it is meant to bound, on runs with a known answer.
//!
//! Two uses share the per-run numbers ([`RunSpread`]): `slipstream calibrate` fits the factors that
//! scale spreads into σ on the validation split ([`Fitting`]); `slipstream eval` checks them on
//! the split it scores ([`Checking`]): the share of runs whose Cd and Cl lie within 1σ and 2σ, σ
//! relative to the coefficient, how well σ ranks the point errors of each field (Spearman), and
//! sparsification curves — the error of the most confident k % of the points, next to the best
//! possible ordering (by the error itself) — as numbers and a PNG.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::metrics::spearman;
use crate::export::canvas::{Canvas, PictureError, PlotFrame, Rgb, BLACK, WHITE};
use crate::model::uncertainty::{field_factor, scalar_factor, Calibration};

/// One run's spreads and errors: per coefficient `(prediction − truth, spread of the draws)`,
/// per field and point the spread, the |error| of the mean prediction and |truth| (vectors as
/// magnitudes).
#[derive(Debug, Clone, Default)]
pub struct RunSpread {
    pub cd: Option<(f64, f64)>,
    pub cl: Option<(f64, f64)>,
    pub fields: Vec<FieldSpread>,
}

#[derive(Debug, Clone)]
pub struct FieldSpread {
    pub name: &'static str,
    pub spread: Vec<f32>,
    pub error: Vec<f32>,
    pub truth: Vec<f32>,
}

/// Accumulates validation runs into a [`Calibration`].
#[derive(Debug, Default)]
pub struct Fitting {
    cd: Vec<(f64, f64)>,
    cl: Vec<(f64, f64)>,
    /// Per field: Σ error², Σ spread².
    fields: BTreeMap<&'static str, (f64, f64)>,
    runs: usize,
}

impl Fitting {
    pub fn add(&mut self, run: &RunSpread) {
        self.runs += 1;
        self.cd.extend(run.cd);
        self.cl.extend(run.cl);
        for f in &run.fields {
            let e = self.fields.entry(f.name).or_default();
            e.0 += f.error.iter().map(|x| (*x as f64).powi(2)).sum::<f64>();
            e.1 += f.spread.iter().map(|x| (*x as f64).powi(2)).sum::<f64>();
        }
    }

    /// The factors; `None` when no run had a spread (one draw) or a force table.
    pub fn finish(self, draws: usize, data: &str, split: &str) -> Option<Calibration> {
        let cd = scalar_factor(&self.cd)?;
        let cl = scalar_factor(&self.cl).unwrap_or(cd);
        let fields = self
            .fields
            .into_iter()
            .filter_map(|(name, (e2, s2))| field_factor(e2, s2).map(|f| (name.to_string(), f)))
            .collect();
        Some(Calibration {
            draws,
            cd,
            cl,
            fields,
            data: data.to_string(),
            split: split.to_string(),
            runs: self.runs,
        })
    }
}

/// How well σ bounds a coefficient's error over the runs.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CoefficientCalibration {
    pub runs: usize,
    /// Shares of runs with |error| ≤ σ and ≤ 2σ (≈ 0.68 and 0.95 for a normal error).
    pub within_1sigma: f64,
    pub within_2sigma: f64,
    /// Mean σ over |truth|.
    pub mean_sigma_relative: f64,
    /// Rank correlation of σ with |error| over the runs.
    pub spearman_sigma_error: f64,
}

/// One point of a sparsification curve: the error of the `kept` most confident share of the
/// points (RMS error over the RMS truth of all points, so `kept` = 1 is the field's relative L2),
/// ordered by σ and, for comparison, by the true error (`oracle`, the best any σ could do).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SparsificationPoint {
    pub kept: f64,
    pub error: f64,
    pub oracle: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FieldCalibration {
    pub points: usize,
    /// Rank correlation of σ with |error| over all points of all runs.
    pub spearman_sigma_error: f64,
    pub within_1sigma: f64,
    pub within_2sigma: f64,
    pub sparsification: Vec<SparsificationPoint>,
}

/// The calibration numbers of `eval` (`uncertainty` in its JSON).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UncertaintyReport {
    pub draws: usize,
    /// Whether σ used the checkpoint's fitted factors (else the raw spread, factor 1).
    pub calibrated: bool,
    pub coefficients: BTreeMap<String, CoefficientCalibration>,
    pub fields: BTreeMap<String, FieldCalibration>,
}

/// Accumulates scored runs into an [`UncertaintyReport`].
#[derive(Debug, Default)]
pub struct Checking {
    cd: Vec<(f64, f64, f64)>,
    cl: Vec<(f64, f64, f64)>,
    /// Per field: (σ, |error|, |truth|) of every point.
    fields: BTreeMap<&'static str, Vec<(f32, f32, f32)>>,
}

impl Checking {
    /// Adds a run, its spreads scaled by `calibration`'s factors (1 without one); `truth` are
    /// the run's Cd and Cl.
    pub fn add(
        &mut self,
        run: &RunSpread,
        truth: [Option<f64>; 2],
        calibration: Option<&Calibration>,
    ) {
        let factor = |name: &str| calibration.map_or(1.0, |c| c.field(name)) as f32;
        for (list, pair, t, k) in [
            (
                &mut self.cd,
                run.cd,
                truth[0],
                calibration.map_or(1.0, |c| c.cd),
            ),
            (
                &mut self.cl,
                run.cl,
                truth[1],
                calibration.map_or(1.0, |c| c.cl),
            ),
        ] {
            if let (Some((e, s)), Some(t)) = (pair, t) {
                list.push((e, k * s, t));
            }
        }
        for f in &run.fields {
            let k = factor(f.name);
            let v = self.fields.entry(f.name).or_default();
            v.extend(
                f.spread
                    .iter()
                    .zip(&f.error)
                    .zip(&f.truth)
                    .map(|((s, e), t)| (k * s, *e, *t)),
            );
        }
    }

    pub fn finish(self, draws: usize, calibrated: bool) -> UncertaintyReport {
        let mut coefficients = BTreeMap::new();
        for (name, v) in [("cd", &self.cd), ("cl", &self.cl)] {
            if v.is_empty() {
                continue;
            }
            let n = v.len() as f64;
            let share = |m: f64| v.iter().filter(|(e, s, _)| e.abs() <= m * s).count() as f64 / n;
            let (sigma, error): (Vec<f64>, Vec<f64>) =
                v.iter().map(|(e, s, _)| (*s, e.abs())).unzip();
            coefficients.insert(
                name.to_string(),
                CoefficientCalibration {
                    runs: v.len(),
                    within_1sigma: share(1.0),
                    within_2sigma: share(2.0),
                    mean_sigma_relative: v.iter().map(|(_, s, t)| s / t.abs()).sum::<f64>() / n,
                    spearman_sigma_error: spearman(&sigma, &error),
                },
            );
        }
        let fields = self
            .fields
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(name, v)| (name.to_string(), field_calibration(&v)))
            .collect();
        UncertaintyReport {
            draws,
            calibrated,
            coefficients,
            fields,
        }
    }
}

/// Kept shares of a sparsification curve.
const KEPT: [f64; 10] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

fn field_calibration(v: &[(f32, f32, f32)]) -> FieldCalibration {
    let n = v.len();
    let sigma: Vec<f64> = v.iter().map(|p| p.0 as f64).collect();
    let error: Vec<f64> = v.iter().map(|p| p.1 as f64).collect();
    let truth2: f64 = v
        .iter()
        .map(|p| (p.2 as f64).powi(2))
        .sum::<f64>()
        .max(1e-300);
    let share = |m: f32| v.iter().filter(|(s, e, _)| *e <= m * s).count() as f64 / n as f64;
    let curve = |key: &dyn Fn(&(f32, f32, f32)) -> f32| {
        let mut order: Vec<&(f32, f32, f32)> = v.iter().collect();
        order.sort_by(|a, b| key(a).total_cmp(&key(b)));
        let mut cumulative = Vec::with_capacity(n);
        let mut sum = 0.0;
        for p in order {
            sum += (p.1 as f64).powi(2);
            cumulative.push(sum);
        }
        KEPT.iter()
            .map(|k| {
                let m = ((k * n as f64).round() as usize).clamp(1, n);
                (cumulative[m - 1] / (truth2 * m as f64 / n as f64)).sqrt()
            })
            .collect::<Vec<f64>>()
    };
    let by_sigma = curve(&|p| p.0);
    let by_error = curve(&|p| p.1);
    FieldCalibration {
        points: n,
        spearman_sigma_error: spearman(&sigma, &error),
        within_1sigma: share(1.0),
        within_2sigma: share(2.0),
        sparsification: KEPT
            .iter()
            .zip(by_sigma.iter().zip(&by_error))
            .map(|(k, (e, o))| SparsificationPoint {
                kept: *k,
                error: *e,
                oracle: *o,
            })
            .collect(),
    }
}

const COLOURS: [Rgb; 5] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
];

/// The sparsification curves as a PNG: one colour per field, thick by σ, thin by the true error
/// (the oracle). A useful σ bends its curve down towards the oracle; a useless one stays flat.
pub fn write_sparsification_png(
    report: &UncertaintyReport,
    out: &Path,
) -> Result<(), PictureError> {
    let (w, h) = (900usize, 520usize);
    let (left, right, top, bottom) = (80.0, 260.0, 40.0, 50.0);
    let mut c = Canvas::new(w, h, WHITE);
    let plot_w = w as f64 - left - right;
    let plot_h = h as f64 - top - bottom;
    // Each curve relative to its own value at 100 % kept, so fields of different accuracy share
    // one axis from 0 to 1 (and a little above).
    let top_value = 1.2;
    let x_of = |k: f64| left + k * plot_w;
    let y_of = |v: f64| top + (top_value - v.clamp(0.0, top_value)) / top_value * plot_h;
    let frame = PlotFrame {
        left,
        top,
        width: plot_w,
        height: plot_h,
    };
    for k in 0..=6 {
        let v = 0.2 * k as f64;
        frame.y_grid(&mut c, y_of(v), &format!("{v:.1}"));
    }
    for k in 0..=5 {
        let kept = 0.2 * k as f64;
        frame.x_grid(&mut c, x_of(kept), &format!("{}%", (100.0 * kept).round()));
    }
    frame.axes(&mut c);
    for (i, (name, f)) in report.fields.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let full = f.sparsification.last().map_or(1.0, |p| p.error).max(1e-300);
        for (thickness, pick) in [(3, 0usize), (1, 1usize)] {
            let value = |p: &SparsificationPoint| if pick == 0 { p.error } else { p.oracle } / full;
            for pair in f.sparsification.windows(2) {
                c.line(
                    (x_of(pair[0].kept), y_of(value(&pair[0]))),
                    (x_of(pair[1].kept), y_of(value(&pair[1]))),
                    colour,
                    thickness,
                );
            }
        }
        let y = top as i64 + 24 * i as i64;
        c.fill_rect(
            (left + plot_w) as i64 + 16,
            y + 4,
            (left + plot_w) as i64 + 36,
            y + 8,
            colour,
        );
        c.text((left + plot_w) as i64 + 44, y, name, BLACK, 2);
    }
    c.text(
        left as i64,
        10,
        "error of the most confident points / error of all",
        BLACK,
        2,
    );
    c.text(
        (left + plot_w) as i64 + 16,
        top as i64 + 24 * report.fields.len() as i64 + 16,
        "thick: by sigma",
        BLACK,
        2,
    );
    c.text(
        (left + plot_w) as i64 + 16,
        top as i64 + 24 * report.fields.len() as i64 + 40,
        "thin: by error",
        BLACK,
        2,
    );
    c.text(
        (left + plot_w) as i64 - Canvas::text_width("points kept", 2),
        h as i64 - 18,
        "points kept",
        BLACK,
        2,
    );
    c.save_png(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(spread_tracks_error: bool) -> RunSpread {
        let error: Vec<f32> = (1..=100).map(|i| i as f32 * 0.01).collect();
        let spread = if spread_tracks_error {
            error.iter().map(|e| e * 0.5).collect()
        } else {
            error.iter().rev().map(|e| e * 0.5).collect()
        };
        RunSpread {
            cd: Some((0.01, 0.005)),
            cl: Some((-0.02, 0.005)),
            fields: vec![FieldSpread {
                name: "surface_pressure",
                spread,
                error,
                truth: vec![1.0; 100],
            }],
        }
    }

    #[test]
    fn factors_fitted_on_runs_make_their_errors_within_about_one_sigma() {
        let mut fit = Fitting::default();
        fit.add(&run(true));
        let c = fit.finish(4, "data", "val").unwrap();
        assert!((c.cd - 2.0).abs() < 1e-9);
        assert!((c.cl - 4.0).abs() < 1e-9);
        assert!((c.field("surface_pressure") - 2.0).abs() < 1e-6);
        assert_eq!(c.field("volume_velocity"), 1.0);

        let mut check = Checking::default();
        check.add(&run(true), [Some(0.3), Some(0.1)], Some(&c));
        let r = check.finish(4, true);
        assert_eq!(r.coefficients["cd"].within_1sigma, 1.0);
        assert!((r.coefficients["cd"].mean_sigma_relative - 0.01 / 0.3).abs() < 1e-9);
        let f = &r.fields["surface_pressure"];
        assert!(f.spearman_sigma_error > 0.99);
        assert_eq!(f.within_1sigma, 1.0);
        // A σ that ranks the errors perfectly follows the oracle; the curve ends at the rel. L2.
        for p in &f.sparsification {
            assert!((p.error - p.oracle).abs() < 1e-12);
        }
        let all = f.sparsification.last().unwrap();
        let rel = (error_rms() / 1.0) as f64;
        assert!((all.error - rel).abs() < 1e-6, "{} vs {rel}", all.error);
    }

    fn error_rms() -> f32 {
        let e: f32 = (1..=100).map(|i| (i as f32 * 0.01).powi(2)).sum();
        (e / 100.0).sqrt()
    }

    #[test]
    fn a_spread_that_ranks_errors_backwards_is_found_out() {
        let mut check = Checking::default();
        check.add(&run(false), [Some(0.3), Some(0.1)], None);
        let r = check.finish(4, false);
        let f = &r.fields["surface_pressure"];
        assert!(f.spearman_sigma_error < -0.99);
        // Its most confident tenth holds the largest errors: worse than all points together.
        assert!(f.sparsification[0].error > f.sparsification[9].error);
        assert!(f.sparsification[0].oracle < f.sparsification[9].oracle);
        let dir =
            std::env::temp_dir().join(format!("slipstream-sparsification-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let png = dir.join("calibration.png");
        write_sparsification_png(&r, &png).unwrap();
        assert!(std::fs::metadata(&png).unwrap().len() > 1000);
        std::fs::remove_dir_all(&dir).ok();
    }
}
