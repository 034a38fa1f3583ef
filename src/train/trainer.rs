//! The training loop: batches from the prepared training split, the per-field standardised MSE,
//! a global-norm-clipped optimiser step under the warm-up + cosine schedule, a JSONL log, periodic
//! validation and checkpoints, and exact resumption (batches depend only on (seed, step), and
//! the checkpoint holds the weights and the optimiser state).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use burn::backend::Autodiff;
use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::backend::Backend;
use serde::Serialize;

use super::log::{field_map, LogLine, LossWindow, TrainLog};
use super::loss::{batch_loss, mean_loss, scalar, LOSS_TERMS};
use super::optim::{clip_global_norm, Lion};
use super::start;
use crate::checkpoint::train_config::{OptimizerKind, TrainConfig};
use crate::checkpoint::{self, CheckpointMeta};
use crate::data::batch::{batch_for_run, Batch, Normalizer, Prefetcher, RunFile, RunStore};
use crate::data::{PreparedDataset, Split};
use crate::model::device::Job;
use crate::model::{AbUpt, ModelError};
use crate::progress::Progress;
use crate::rng::Rng;

/// What `slipstream train` was asked to do.
#[derive(Debug, Clone)]
pub struct TrainJob {
    pub config: TrainConfig,
    pub data: PathBuf,
    pub out: PathBuf,
    pub resume: bool,
    /// Stop after this many steps of this invocation (the schedule still spans all steps), as
    /// if interrupted: the kill-and-resume test and time-boxed sessions use it.
    pub stop_after: Option<u64>,
    /// Where the training runs are kept; batches are the same either way.
    pub residence: Residence,
    /// Start a new run from this checkpoint's weights and statistics (same architecture) instead
    /// of a random initialisation: a longer schedule, or more data, without starting over.
    pub init_from: Option<PathBuf>,
    /// Where the steps, losses and validations are reported as they happen.
    pub progress: Progress,
}

/// Where training keeps its runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Residence {
    /// In memory when the training split's files total at most [`IN_MEMORY_FILE_BYTES`],
    /// otherwise on disk.
    #[default]
    Auto,
    Memory,
    /// Read from disk at every step, only the rows each batch draws: memory bounded by the
    /// batches in flight, whatever the dataset's size.
    Disk,
}

impl Residence {
    /// The names `--data-residence` takes.
    pub const NAMES: [&'static str; 3] = ["auto", "memory", "disk"];
}

/// A `--data-residence` that names none of [`Residence::NAMES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown data residence `{0}` (one of auto, memory, disk)")]
pub struct UnknownResidence(pub String);

impl std::str::FromStr for Residence {
    type Err = UnknownResidence;

    fn from_str(s: &str) -> Result<Residence, UnknownResidence> {
        match s {
            "auto" => Ok(Residence::Auto),
            "memory" => Ok(Residence::Memory),
            "disk" => Ok(Residence::Disk),
            other => Err(UnknownResidence(other.to_string())),
        }
    }
}

/// The largest training split (its compressed files) `Residence::Auto` loads into memory; it
/// unpacks to roughly twice this.
pub const IN_MEMORY_FILE_BYTES: u64 = 2 << 30;

/// The training split's runs kept as `residence` asks.
fn open_store(dataset: &PreparedDataset, residence: Residence) -> Result<RunStore, ModelError> {
    let names = dataset.runs(Split::Train);
    if names.is_empty() {
        return Err(ModelError::job("the training split has no runs"));
    }
    let bytes: u64 = names
        .iter()
        .map(|r| std::fs::metadata(dataset.run_path(r)).map_or(0, |m| m.len()))
        .sum();
    let in_memory = match residence {
        Residence::Auto => bytes <= IN_MEMORY_FILE_BYTES,
        Residence::Memory => true,
        Residence::Disk => false,
    };
    if in_memory {
        return Ok(RunStore::Memory(
            dataset.load(Split::Train).map_err(ModelError::job)?,
        ));
    }
    let files = names
        .iter()
        .map(|r| {
            let path = dataset.run_path(r);
            if path.is_file() {
                RunFile::open(r, &path).map_err(ModelError::job)
            } else {
                Err(ModelError::job(format!("{}: missing", path.display())))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RunStore::Disk(files))
}

/// How a training invocation ended.
#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    pub steps_done: u64,
    pub steps: u64,
    pub params: u64,
    pub train_loss: Option<f64>,
    pub val_loss: Option<f64>,
    pub seconds: f64,
    pub seconds_per_step: f64,
    pub checkpoint: String,
    pub log: String,
    pub loss_curve: Option<String>,
}

/// Seed offset of the fixed validation batches.
const VALIDATION_STREAM: u64 = 0x5641_4c49_4441_5445;

fn format_duration(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

impl Job for TrainJob {
    type Output = TrainReport;

    fn run<B: Backend>(
        self,
        device: &B::Device,
        _backend: &str,
    ) -> Result<TrainReport, ModelError> {
        let optimizer = self.config.optimizer;
        match optimizer.kind {
            OptimizerKind::Adamw => {
                let optim = AdamWConfig::new()
                    .with_beta_1(optimizer.beta1 as f32)
                    .with_beta_2(optimizer.beta2 as f32)
                    .with_weight_decay(optimizer.weight_decay as f32)
                    .init::<Autodiff<B>, AbUpt<Autodiff<B>>>();
                self.train::<B, _>(optim, device)
            }
            OptimizerKind::Lion => {
                let optim: OptimizerAdaptor<Lion, AbUpt<Autodiff<B>>, Autodiff<B>> =
                    OptimizerAdaptor::from(Lion {
                        beta1: optimizer.beta1 as f32,
                        beta2: optimizer.beta2 as f32,
                        weight_decay: optimizer.weight_decay as f32,
                    });
                self.train::<B, _>(optim, device)
            }
        }
    }
}

impl TrainJob {
    fn train<I: Backend, O: Optimizer<AbUpt<Autodiff<I>>, Autodiff<I>>>(
        self,
        optim: O,
        device: &I::Device,
    ) -> Result<TrainReport, ModelError> {
        let started = Instant::now();
        let checkpoint_dir = self.out.join("checkpoint");
        let dataset = PreparedDataset::open(&self.data).map_err(ModelError::job)?;
        let train_runs = Arc::new(open_store(&dataset, self.residence)?);
        let val_runs = if dataset.runs(Split::Val).is_empty() {
            Vec::new()
        } else {
            dataset.load(Split::Val).map_err(ModelError::job)?
        };
        let schedule = self.config.schedule;
        let (start, mut optim) = if self.resume {
            if self.init_from.is_some() {
                return Err(ModelError::job(
                    "--init-from starts a new run; a resumed run continues from its own checkpoint",
                ));
            }
            start::resume::<I, O>(&self.out, &self.config, optim, device)?
        } else {
            if checkpoint_dir.exists() {
                return Err(ModelError::job(format!(
                    "{} already holds a training run; pass --resume to continue it, or choose \
                     another --out",
                    self.out.display()
                )));
            }
            let start = start::fresh::<I>(
                &self.config,
                self.init_from.as_deref(),
                &dataset,
                &train_runs,
                &val_runs,
                device,
            )?;
            (start, optim)
        };
        let mut model = start.model;
        let first_step = start.step;
        let normalizer = Normalizer::new(&start.stats);
        std::fs::create_dir_all(&self.out).map_err(|e| ModelError::write(&self.out, e))?;
        crate::mesh::write_bytes_atomically(
            &self.out.join("train.toml"),
            self.config.to_toml().as_bytes(),
        )
        .map_err(ModelError::write_error)?;
        let mut log = TrainLog::open(
            &self.out.join("log.jsonl"),
            self.resume.then_some(first_step),
        )?;
        let params = burn::module::Module::num_params(&model) as u64;

        let last_step = match self.stop_after {
            Some(n) => (first_step + n).min(schedule.steps),
            None => schedule.steps,
        };
        let prefetch = Prefetcher::start(
            train_runs.clone(),
            normalizer.clone(),
            self.config.data,
            schedule.seed,
            first_step..last_step,
        );
        let val_batches: Vec<Batch> = val_runs
            .iter()
            .enumerate()
            .map(|(i, run)| {
                let mut rng = Rng::stream(schedule.seed ^ VALIDATION_STREAM, i as u64);
                batch_for_run(run, &normalizer, &self.config.data, &mut rng, 0)
            })
            .collect();
        self.progress.note(|| {
            format!(
                "training {params} parameters on {} runs ({} validation), steps {}..{} of {}",
                train_runs.len(),
                val_runs.len(),
                first_step,
                last_step,
                schedule.steps
            )
        });
        self.progress.start("training", schedule.steps);
        self.progress.advance(first_step, String::new);

        let mut meta = CheckpointMeta {
            step: first_step,
            model: model.config().clone(),
            stats: start.stats,
            train: self.config.clone(),
            data: self.data.display().to_string(),
            train_loss: None,
            val_loss: None,
            domain: start.domain,
            init_from: start.init_from,
            averaged_from: Vec::new(),
            uncertainty: None,
            weights_layout: crate::checkpoint::WEIGHTS_LAYOUT,
        };
        let mut window = LossWindow::default();
        let loop_started = Instant::now();
        let mut interval_started = Instant::now();
        for step in first_step..last_step {
            let batch = prefetch
                .next_batch()
                .ok_or_else(|| ModelError::job("the batch loader stopped early"))?
                .map_err(ModelError::job)?;
            debug_assert_eq!(batch.step, step);
            let lr = self.config.optimizer.lr_at(step, schedule.steps);
            let losses = batch_loss(&model, &batch, &self.config.loss, device)?;
            let fields: [f64; LOSS_TERMS] = losses.fields.clone().map(|t| scalar(t.inner()));
            let loss_value = scalar(losses.total.clone().inner());
            if !loss_value.is_finite() {
                return Err(ModelError::job(format!(
                    "the loss became {loss_value} at step {step} (run {}); lower [optimizer] lr or \
                     clip_grad_norm",
                    batch.run
                )));
            }
            let mut grads = GradientsParams::from_grads(losses.total.backward(), &model);
            let grad_norm = clip_global_norm::<Autodiff<I>, _>(
                &model,
                &mut grads,
                self.config.optimizer.clip_grad_norm,
            );
            model = optim.step(lr, model, grads);
            window.add(loss_value, fields);

            let done = step + 1;
            let is_last = done == last_step;
            if done % schedule.log_every.max(1) == 0 || is_last {
                let per_step = interval_started.elapsed().as_secs_f64() / window.steps() as f64;
                let (mean, field_means) = window.means();
                log.write(&LogLine {
                    kind: "train",
                    step: done,
                    loss: mean,
                    fields: field_map(&field_means),
                    lr: Some(lr),
                    grad_norm: Some(grad_norm),
                    seconds_per_step: Some(per_step),
                })?;
                meta.train_loss = Some(mean);
                self.progress.advance(done, || {
                    let overall = loop_started.elapsed().as_secs_f64() / (done - first_step) as f64;
                    format!(
                        "step {done}/{}  loss {mean:.4}  lr {lr:.2e}  |g| {grad_norm:.3}  {per_step:.2} s/step  ETA {}",
                        schedule.steps,
                        format_duration(overall * (schedule.steps - done) as f64)
                    )
                });
                window = LossWindow::default();
                interval_started = Instant::now();
            }
            let validate = !val_batches.is_empty()
                && (done % schedule.val_every.max(1) == 0 || done == schedule.steps);
            if validate {
                let (loss, field_means) =
                    mean_loss(&model.valid(), &val_batches, &self.config.loss, device)?;
                log.write(&LogLine {
                    kind: "val",
                    step: done,
                    loss,
                    fields: field_map(&field_means),
                    lr: None,
                    grad_norm: None,
                    seconds_per_step: None,
                })?;
                meta.val_loss = Some(loss);
                self.progress
                    .note(|| format!("validation at step {done}: loss {loss:.4}"));
            }
            if done % schedule.checkpoint_every.max(1) == 0 || is_last {
                meta.step = done;
                log.flush();
                checkpoint::save::<Autodiff<I>, O>(&checkpoint_dir, &model, Some(&optim), &meta)
                    .map_err(ModelError::write_error)?;
            }
            if schedule.snapshot_every > 0 && done % schedule.snapshot_every == 0 {
                // Weights kept along the way, for choosing or averaging late checkpoints.
                meta.step = done;
                let dir = self.out.join("snapshots").join(format!("step_{done}"));
                checkpoint::save_weights(&dir, &model.valid(), &meta)
                    .map_err(ModelError::write_error)?;
            }
        }
        self.progress.finish();
        log.flush();
        let log_path = log.path.clone();
        drop(log);
        let loss_curve = if last_step == schedule.steps {
            let png = self.out.join("loss.png");
            super::curve::write_loss_curve(&log_path, &png).map_err(ModelError::write_error)?;
            Some(png.display().to_string())
        } else {
            None
        };
        let steps_run = last_step - first_step;
        let seconds = started.elapsed().as_secs_f64();
        Ok(TrainReport {
            steps_done: last_step,
            steps: schedule.steps,
            params,
            train_loss: meta.train_loss,
            val_loss: meta.val_loss,
            seconds,
            seconds_per_step: loop_started.elapsed().as_secs_f64() / steps_run.max(1) as f64,
            checkpoint: checkpoint_dir.display().to_string(),
            log: log_path.display().to_string(),
            loss_curve,
        })
    }
}
