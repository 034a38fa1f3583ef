//! The report of `slipstream eval`: its JSON shape (DESIGN.md "Stable interfaces") and its
//! Markdown tables.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::metrics::ScalarMetrics;
use super::uncertainty::{write_sparsification_png, UncertaintyReport};

/// Scores of one field.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FieldMetrics {
    pub rel_l2: f64,
    /// Of the standardised channels (the training loss's units).
    pub mse: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rel_l2_area_weighted: Option<f64>,
}

/// Scores of one method over the split.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MethodReport {
    pub fields: BTreeMap<String, FieldMetrics>,
    pub coefficients: BTreeMap<String, ScalarMetrics>,
}

/// One run's numbers.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run: String,
    /// The run's own Cd and Cl (its force table), where it has one.
    pub cd_true: Option<f64>,
    pub cd_pred: f64,
    /// Cd integrated from the run's own surface fields (how well the prepared surface
    /// reproduces the solver's force).
    pub cd_from_true_fields: f64,
    /// Drag split into pressure (−p n) and friction (τ) parts, from the run's own fields and
    /// from the prediction: where a Cd error comes from.
    pub cd_pressure_true: f64,
    pub cd_pressure_pred: f64,
    pub cd_friction_true: f64,
    pub cd_friction_pred: f64,
    pub cl_true: Option<f64>,
    pub cl_pred: f64,
    /// 1σ of the predicted Cd and Cl from the spread of the anchor draws (with `--draws` ≥ 2),
    /// scaled by the checkpoint's calibration when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cd_std: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cl_std: Option<f64>,
    pub rel_l2: BTreeMap<String, f64>,
    pub nearest_training_run: String,
    pub seconds: f64,
}

/// The whole evaluation (DESIGN.md "Stable interfaces": `runs`, `fields`, `coefficients`,
/// `baselines`; the rest is extra).
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub runs: usize,
    pub split: String,
    pub checkpoint: String,
    pub data: String,
    /// The prepared dataset whose training runs the baselines were built from.
    pub baseline_data: String,
    /// Why a baseline is left out or scores fewer runs (by baseline name).
    pub baseline_notes: BTreeMap<String, String>,
    pub fields: BTreeMap<String, FieldMetrics>,
    pub coefficients: BTreeMap<String, ScalarMetrics>,
    pub baselines: BTreeMap<String, MethodReport>,
    pub per_run: Vec<RunReport>,
    /// How well σ bounds the errors (with `--draws` ≥ 2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uncertainty: Option<UncertaintyReport>,
}

fn percent(x: f64) -> String {
    if x.is_finite() {
        format!("{:.2} %", 100.0 * x)
    } else {
        "n/a".into()
    }
}

fn number(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.4}")
    } else {
        "n/a".into()
    }
}

/// A table row: label, the metric, whether it prints as a percentage.
type MetricRow = (&'static str, fn(&ScalarMetrics) -> f64, bool);

impl EvalReport {
    /// The report as Markdown tables: fields (relative L2), then coefficients.
    pub fn markdown(&self) -> String {
        let mean = &self.baselines["mean_field"];
        let near = &self.baselines["nearest_geometry"];
        let which = match self.split.as_str() {
            "all" => "all runs".to_string(),
            "runs" => "the named runs".to_string(),
            split => format!("the {split} split"),
        };
        let mut s = format!(
            "Evaluation of `{}` on {which} of `{}` ({} runs; baselines from the training split \
             of `{}`)\n\n\
             | field | model rel. L2 | mean field | nearest geometry | model MSE (standardised) |\n\
             |---|---|---|---|---|\n",
            self.checkpoint, self.data, self.runs, self.baseline_data
        );
        for (name, m) in &self.fields {
            s += &format!(
                "| {name} | {} | {} | {} | {:.4} |\n",
                percent(m.rel_l2),
                percent(mean.fields[name].rel_l2),
                percent(near.fields[name].rel_l2),
                m.mse
            );
            if let Some(a) = m.rel_l2_area_weighted {
                s += &format!(
                    "| {name} (area-weighted) | {} | {} | {} | |\n",
                    percent(a),
                    percent(mean.fields[name].rel_l2_area_weighted.unwrap_or(f64::NAN)),
                    percent(near.fields[name].rel_l2_area_weighted.unwrap_or(f64::NAN)),
                );
            }
        }
        if self.coefficients.is_empty() {
            s += "\nNo run scored has a force table: Cd and Cl are not scored.\n";
            return s + &self.run_table();
        }
        let parametric = self.baselines.get("parametric");
        s += "\n| coefficient | metric | model | mean field | nearest geometry | parameters (ridge) |\n\
              |---|---|---|---|---|---|\n";
        for c in ["cd", "cl"] {
            let Some(model) = self.coefficients.get(c) else {
                continue;
            };
            let rows: [MetricRow; 5] = [
                ("mean rel. error", |m| m.mean_rel_error, true),
                ("MAE", |m| m.mae, false),
                ("max abs. error", |m| m.max_abs_error, false),
                ("R²", |m| m.r2, false),
                ("Spearman ρ", |m| m.spearman, false),
            ];
            for (label, f, pct) in rows {
                let show = |m: Option<&ScalarMetrics>| match m {
                    Some(m) if pct => percent(f(m)),
                    Some(m) => number(f(m)),
                    None => "n/a".to_string(),
                };
                s += &format!(
                    "| {} | {label} | {} | {} | {} | {} |\n",
                    if c == "cd" { "Cd" } else { "Cl" },
                    show(Some(model)),
                    show(mean.coefficients.get(c)),
                    show(near.coefficients.get(c)),
                    show(parametric.and_then(|p| p.coefficients.get(c)))
                );
            }
        }
        for (name, note) in &self.baseline_notes {
            s += &format!("\nBaseline `{name}`: {note}.\n");
        }
        s + &self.uncertainty_table() + &self.run_table()
    }

    /// σ against the errors, when the draws gave one.
    fn uncertainty_table(&self) -> String {
        let Some(u) = &self.uncertainty else {
            return String::new();
        };
        let mut s = format!(
            "\nUncertainty: σ from the spread of {} anchor draws{}.\n\n\
             | quantity | within 1σ | within 2σ | Spearman(σ, abs. error) | mean σ / abs. value | error of the 10 % / 50 % most confident (all: 100 %) |\n\
             |---|---|---|---|---|---|\n",
            u.draws,
            if u.calibrated {
                ", scaled by the checkpoint's calibration"
            } else {
                " (the checkpoint is not calibrated: raw spread; run `slipstream calibrate`)"
            }
        );
        for (name, c) in &u.coefficients {
            s += &format!(
                "| {} ({} runs) | {} | {} | {} | {} | |\n",
                if name == "cd" { "Cd" } else { "Cl" },
                c.runs,
                percent(c.within_1sigma),
                percent(c.within_2sigma),
                number(c.spearman_sigma_error),
                percent(c.mean_sigma_relative)
            );
        }
        for (name, f) in &u.fields {
            let at = |k: usize| {
                let full = f.sparsification.last().map_or(f64::NAN, |p| p.error);
                f.sparsification.get(k).map_or(f64::NAN, |p| p.error / full)
            };
            s += &format!(
                "| {name} | {} | {} | {} | | {} / {} |\n",
                percent(f.within_1sigma),
                percent(f.within_2sigma),
                number(f.spearman_sigma_error),
                percent(at(0)),
                percent(at(4))
            );
        }
        s
    }

    /// One row per run: drag (truth, prediction), surface-pressure error, nearest training run.
    fn run_table(&self) -> String {
        let mut s =
            "\n| run | Cd (CFD) | Cd (model) | surface p rel. L2 | nearest training run |\n\
                     |---|---|---|---|---|\n"
                .to_string();
        for r in &self.per_run {
            s += &format!(
                "| {} | {} | {} | {} | {} |\n",
                r.run,
                r.cd_true.map_or("n/a".to_string(), number),
                number(r.cd_pred),
                percent(
                    r.rel_l2
                        .get("surface_pressure")
                        .copied()
                        .unwrap_or(f64::NAN)
                ),
                r.nearest_training_run
            );
        }
        s
    }

    /// Writes `report.json` and `report.md` into `dir`.
    /// A failure is a [`ModelError::Write`](crate::model::ModelError::Write) naming the path.
    pub fn write(&self, dir: &Path) -> Result<(), crate::model::ModelError> {
        use crate::model::ModelError;
        std::fs::create_dir_all(dir).map_err(|e| ModelError::write(dir, e))?;
        let json_path = dir.join("report.json");
        let json =
            serde_json::to_string_pretty(self).map_err(|e| ModelError::write(&json_path, e))?;
        crate::mesh::write_bytes_atomically(&json_path, json.as_bytes())
            .map_err(ModelError::write_error)?;
        crate::mesh::write_bytes_atomically(&dir.join("report.md"), self.markdown().as_bytes())
            .map_err(ModelError::write_error)?;
        if let Some(u) = &self.uncertainty {
            let png = dir.join("calibration.png");
            write_sparsification_png(u, &png).map_err(|e| ModelError::write(&png, e))?;
        }
        Ok(())
    }
}
