//! `slipstream eval`: a checkpoint's predictions on every point of a split's prepared runs,
//! scored against the truth next to baselines that give the numbers meaning, all built from the
//! checkpoint's own training runs.
//!
//! - The model's prediction of a run: [`super::run_prediction`].
//! - The baselines (`mean_field`, `nearest_geometry`, `parametric`): [`super::baselines`]; the
//!   parametric one is left out with a note where the runs carry no design parameters.
//! - The scores of each: [`super::scores`]; the report: [`super::report`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::backend::Backend;

use super::baselines::{training_runs, transfer, Baselines};
use super::fields::Fields;
use super::fields_out::write_fields;
use super::report::{EvalReport, RunReport};
use super::run_prediction::{coefficients_of, run_spread, Prediction, RunPredictor};
use super::scores::Scores;
use super::uncertainty::Checking;
use crate::checkpoint;
use crate::data::batch::Normalizer;
use crate::data::dataset::{load_runs, RunSet};
use crate::model::device::Job;
use crate::model::ModelError;
use crate::progress::Progress;

/// What `slipstream eval` was asked to do.
#[derive(Debug, Clone)]
pub struct EvalJob {
    pub checkpoint: PathBuf,
    /// The prepared dataset (default: the one the checkpoint was trained on).
    pub data: Option<PathBuf>,
    /// Which of its runs to score.
    pub runs: RunSet,
    /// The prepared dataset whose training split the baselines come from (default: the one the
    /// checkpoint records it was trained on, so that scoring someone else's runs compares the
    /// model with baselines from the same data it learnt from).
    pub baseline_data: Option<PathBuf>,
    /// Query points decoded at once.
    pub chunk: usize,
    pub seed: u64,
    /// Anchors per branch at inference (default: as trained). More anchors give the
    /// attention a denser picture of the flow and a steadier prediction.
    pub anchors: Option<usize>,
    /// Independent anchor draws whose standardised predictions are averaged; each draw
    /// sees a different subset of the geometry, so averaging removes sampling noise.
    pub draws: usize,
    /// Folder for each run's truth, prediction and error as VTK point clouds.
    pub fields_out: Option<PathBuf>,
    /// Where each scored run is reported.
    pub progress: Progress,
}

impl Job for EvalJob {
    type Output = EvalReport;

    fn run<B: Backend>(self, device: &B::Device, _backend: &str) -> Result<EvalReport, ModelError> {
        let (model, meta) =
            checkpoint::load_model::<B>(&self.checkpoint, device).map_err(ModelError::job)?;
        let recorded = checkpoint::recorded_data(&self.checkpoint, &meta.data);
        let data_dir = self.data.clone().unwrap_or_else(|| recorded.clone());
        let names = self.runs.resolve(&data_dir).map_err(ModelError::job)?;
        let runs = load_runs(&data_dir, &names).map_err(ModelError::job)?;
        let baseline_dir = self.baseline_data.clone().unwrap_or(recorded);
        let training = training_runs(&baseline_dir, self.baseline_data.is_some())?;
        // The checkpoint's statistics, not the folder's: they define the model's outputs.
        let normalizer = Normalizer::new(&meta.stats);
        let mut spec = meta.train.data;
        if let Some(n) = self.anchors {
            spec.surface_anchors = n;
            spec.volume_anchors = n;
        }
        let baselines = Baselines::new(&training, &normalizer);
        let mut parametric_scores = Scores::default();
        let mut without_parameters = 0usize;

        let (mut model_scores, mut mean_scores, mut nearest_scores) =
            (Scores::default(), Scores::default(), Scores::default());
        let (mut cd_true, mut cl_true) = (Vec::new(), Vec::new());
        let mut per_run = Vec::new();
        let mut checking = Checking::default();
        let predictor = RunPredictor {
            model: &model,
            normalizer: &normalizer,
            spec,
            draws: self.draws,
            chunk: self.chunk,
            seed: self.seed,
        };
        self.progress.start("evaluating", runs.len() as u64);
        for (i, run) in runs.iter().enumerate() {
            let started = Instant::now();
            let (truth_cd, truth_cl) = (run.meta.cd, run.meta.cl);
            cd_true.push(truth_cd);
            cl_true.push(truth_cl);
            let truth = Fields::truth(run);
            let from_truth = coefficients_of(run, &run.surface_pressure, &run.surface_wall_shear)?;

            let Prediction {
                fields: pred,
                draws,
                coefficients: predicted,
            } = predictor.predict(i, run, device)?;
            let (cd, cl) = (predicted.cd, predicted.cl);
            let mut sigma = (None, None);
            if !draws.is_empty() {
                let spread = run_spread(run, &draws, &pred, &predicted)?;
                let factor = |k: f64, s: Option<(f64, f64)>| s.map(|(_, s)| k * s);
                let c = meta.uncertainty.as_ref();
                sigma = (
                    factor(c.map_or(1.0, |c| c.cd), spread.cd),
                    factor(c.map_or(1.0, |c| c.cl), spread.cl),
                );
                checking.add(&spread, [truth_cd, truth_cl], c);
            }
            if let Some(dir) = &self.fields_out {
                write_fields(dir, run, &pred, &truth)?;
            }
            let rel = model_scores.add(run, &normalizer, &pred, &truth, cd, cl);

            let (mean_fields, mean_cd, mean_cl) = baselines.mean_field(run);
            mean_scores.add(run, &normalizer, &mean_fields, &truth, mean_cd, mean_cl);
            let neighbour = baselines.nearest(run)?;
            nearest_scores.add(
                run,
                &normalizer,
                &transfer(neighbour, run),
                &truth,
                neighbour.meta.cd.unwrap_or(f64::NAN),
                neighbour.meta.cl.unwrap_or(f64::NAN),
            );
            if let Ok(baseline) = &baselines.parametric {
                let (cd, cl) = baseline.predict(run).unwrap_or_else(|| {
                    without_parameters += 1;
                    (f64::NAN, f64::NAN)
                });
                parametric_scores.add_coefficients(cd, cl);
            }
            let seconds = started.elapsed().as_secs_f64();
            self.progress.advance(i as u64 + 1, || {
                format!(
                    "{} ({}/{}): Cd {cd:.4} vs {}, surface p rel L2 {:.2}%, {seconds:.1} s",
                    run.name,
                    i + 1,
                    runs.len(),
                    truth_cd.map_or("n/a (no force table)".to_string(), |t| format!("{t:.4}")),
                    100.0 * rel.get("surface_pressure").copied().unwrap_or(f64::NAN)
                )
            });
            per_run.push(RunReport {
                run: run.name.clone(),
                cd_true: truth_cd,
                cd_pred: cd,
                cd_from_true_fields: from_truth.cd,
                cd_pressure_true: from_truth.cd_pressure,
                cd_pressure_pred: predicted.cd_pressure,
                cd_friction_true: from_truth.cd_friction,
                cd_friction_pred: predicted.cd_friction,
                cl_true: truth_cl,
                cl_pred: cl,
                cd_std: sigma.0,
                cl_std: sigma.1,
                rel_l2: rel,
                nearest_training_run: neighbour.name.clone(),
                seconds,
            });
        }
        let model_report = model_scores.finish(&cd_true, &cl_true);
        let mut baseline_reports = BTreeMap::new();
        baseline_reports.insert(
            "mean_field".to_string(),
            mean_scores.finish(&cd_true, &cl_true),
        );
        baseline_reports.insert(
            "nearest_geometry".to_string(),
            nearest_scores.finish(&cd_true, &cl_true),
        );
        let mut baseline_notes = BTreeMap::new();
        match &baselines.parametric {
            Ok(baseline) => {
                baseline_reports.insert(
                    "parametric".to_string(),
                    parametric_scores.finish(&cd_true, &cl_true),
                );
                let mut note = baseline.describe();
                if without_parameters > 0 {
                    note += &format!(
                        "; {without_parameters} of the {} runs scored lack these parameters and \
                         are left out of its scores",
                        runs.len()
                    );
                }
                baseline_notes.insert("parametric".to_string(), note);
            }
            Err(why) => {
                baseline_notes.insert("parametric".to_string(), format!("left out: {why}"));
            }
        }
        self.progress.finish();
        Ok(EvalReport {
            runs: runs.len(),
            split: self.runs.name().to_string(),
            checkpoint: self.checkpoint.display().to_string(),
            data: data_dir.display().to_string(),
            baseline_data: baseline_dir.display().to_string(),
            baseline_notes,
            fields: model_report.fields,
            coefficients: model_report.coefficients,
            baselines: baseline_reports,
            per_run,
            uncertainty: (self.draws > 1)
                .then(|| checking.finish(self.draws, meta.uncertainty.is_some())),
        })
    }
}
