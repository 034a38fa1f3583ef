//! `slipstream calibrate`: store in a checkpoint what its predictions need to know their limits —
//! the shape domain of its training bodies (with the threshold set on the validation bodies) and
//! the factors that turn the spread of anchor draws into σ (fitted on the validation runs).
//!
//! Training stores the domain itself; this command adds both to a checkpoint that lacks them
//! (one trained before they existed, or an average of checkpoints) and refits them after the
//! weights or the dataset changed. Only `checkpoint.json` is rewritten (atomically); the weights
//! are untouched.

use std::path::PathBuf;

use burn::tensor::backend::Backend;
use serde::Serialize;

use super::run_prediction::{run_spread, RunPredictor};
use super::uncertainty::Fitting;
use crate::checkpoint;
use crate::data::batch::Normalizer;
use crate::data::{PreparedDataset, Split};
use crate::domain::{Member, ShapeDomain};
use crate::model::device::Job;
use crate::model::uncertainty::Calibration;
use crate::model::ModelError;
use crate::progress::Progress;

/// What `slipstream calibrate` was asked to do.
#[derive(Debug, Clone)]
pub struct CalibrateJob {
    pub checkpoint: PathBuf,
    /// The prepared dataset (default: the one the checkpoint was trained on): its training split
    /// makes the domain, its validation split sets the threshold and fits the factors.
    pub data: Option<PathBuf>,
    /// Anchor draws per validation prediction (at least 2: a spread needs two).
    pub draws: usize,
    pub chunk: usize,
    pub seed: u64,
    /// Where each validation run is reported.
    pub progress: Progress,
}

/// The domain's summary and the fitted factors.
#[derive(Debug, Clone, Serialize)]
pub struct CalibrateReport {
    pub checkpoint: String,
    pub data: String,
    pub training_runs: usize,
    pub validation_runs: usize,
    /// Median distance between a training body and its nearest other (feature units).
    pub domain_spacing: f64,
    /// Largest accepted `domain_score`.
    pub domain_threshold: f64,
    /// Each validation body's `domain_score`.
    pub validation_scores: Vec<(String, f64)>,
    pub uncertainty: Calibration,
}

impl Job for CalibrateJob {
    type Output = CalibrateReport;

    fn run<B: Backend>(
        self,
        device: &B::Device,
        _backend: &str,
    ) -> Result<CalibrateReport, ModelError> {
        if self.draws < 2 {
            return Err(ModelError::Config(format!(
                "--draws {} : a spread needs at least two draws",
                self.draws
            )));
        }
        let (model, mut meta) =
            checkpoint::load_model::<B>(&self.checkpoint, device).map_err(ModelError::job)?;
        let data_dir = self
            .data
            .clone()
            .unwrap_or_else(|| checkpoint::recorded_data(&self.checkpoint, &meta.data));
        let dataset = PreparedDataset::open(&data_dir).map_err(ModelError::job)?;
        if dataset.runs(Split::Val).is_empty() {
            return Err(ModelError::job(format!(
                "{}: the validation split has no runs; calibration sets its thresholds and \
                 factors on them",
                data_dir.display()
            )));
        }
        let training = dataset.load(Split::Train).map_err(ModelError::job)?;
        let validation = dataset.load(Split::Val).map_err(ModelError::job)?;
        self.progress.note(|| {
            format!(
                "describing {} training and {} validation bodies",
                training.len(),
                validation.len()
            )
        });
        let members = training
            .iter()
            .map(Member::of_run)
            .collect::<Result<Vec<_>, _>>()
            .map_err(ModelError::job)?;
        let domain = ShapeDomain::of_runs(members, &validation)
            .map_err(ModelError::job)?
            .ok_or_else(|| {
                ModelError::job(format!(
                    "{}: a shape domain needs at least two training runs",
                    data_dir.display()
                ))
            })?;

        let normalizer = Normalizer::new(&meta.stats);
        let spec = meta.train.data;
        let mut fitting = Fitting::default();
        let predictor = RunPredictor {
            model: &model,
            normalizer: &normalizer,
            spec,
            draws: self.draws,
            chunk: self.chunk,
            seed: self.seed,
        };
        self.progress.start("calibrating", validation.len() as u64);
        for (i, run) in validation.iter().enumerate() {
            let p = predictor.predict(i, run, device)?;
            let spread = run_spread(run, &p.draws, &p.fields, &p.coefficients)?;
            self.progress.advance(i as u64 + 1, || match spread.cd {
                Some((error, s)) => format!(
                    "{} ({}/{}): Cd error {error:+.4}, spread of the draws {s:.4}",
                    run.name,
                    i + 1,
                    validation.len()
                ),
                None => format!("{} ({}/{})", run.name, i + 1, validation.len()),
            });
            fitting.add(&spread);
        }
        self.progress.finish();
        let split = "val";
        let calibration = fitting
            .finish(self.draws, &data_dir.display().to_string(), split)
            .ok_or_else(|| {
                ModelError::job(format!(
                    "{}: no validation run has a force table (cd) to fit σ on",
                    data_dir.display()
                ))
            })?;
        let report = CalibrateReport {
            checkpoint: self.checkpoint.display().to_string(),
            data: data_dir.display().to_string(),
            training_runs: training.len(),
            validation_runs: validation.len(),
            domain_spacing: domain.spacing,
            domain_threshold: domain.threshold,
            validation_scores: domain.validation.clone(),
            uncertainty: calibration.clone(),
        };
        meta.domain.shape = Some(domain);
        meta.uncertainty = Some(calibration);
        checkpoint::write_meta(&self.checkpoint, &meta).map_err(ModelError::write_error)?;
        Ok(report)
    }
}
