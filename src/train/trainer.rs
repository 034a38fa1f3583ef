//! The training loop: batches from the prepared training split, the per-field standardised MSE,
//! a global-norm-clipped optimiser step under the warm-up + cosine schedule, a JSONL log, periodic
//! validation and checkpoints, and exact resumption (batches depend only on (seed, step), and
//! the checkpoint holds the weights and the optimiser state).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use burn::backend::Autodiff;
use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::backend::Backend;
use burn::tensor::{ElementConversion, Tensor};
use serde::Serialize;

use super::optim::{clip_global_norm, Lion};
use crate::checkpoint::train_config::{LossWeights, OptimizerKind, TrainConfig};
use crate::checkpoint::{self, CheckpointMeta, TrainingDomain};
use crate::data::batch::{batch_for_run, Batch, Normalizer, Prefetcher, RunFile, RunStore};
use crate::data::{PreparedDataset, PreparedRun, Split};
use crate::domain::{Member, ShapeDomain};
use crate::model::device::Job;
use crate::model::{
    positions_tensor, tensor_from, AbUpt, AbUptConfig, CoordinateFrame, ModelError,
};
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

/// Calls `f` on every training run: from memory, or read from disk one at a time.
fn for_each_run(
    store: &RunStore,
    mut f: impl FnMut(usize, &PreparedRun) -> Result<(), ModelError>,
) -> Result<(), ModelError> {
    match store {
        RunStore::Memory(runs) => runs.iter().enumerate().try_for_each(|(i, r)| f(i, r)),
        RunStore::Disk(files) => files.iter().enumerate().try_for_each(|(i, file)| {
            let run = PreparedRun::read(&file.path).map_err(ModelError::job)?;
            f(i, &run)
        }),
    }
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

/// Lower and upper corners of a bounding box, metres.
type Bounds = ([f32; 3], [f32; 3]);

/// Grows `bounds` to hold a run's volume, geometry and surface points.
fn extend_bounds(bounds: &mut Bounds, run: &PreparedRun) {
    let (lo, hi) = bounds;
    for values in [
        &run.volume_position,
        &run.geometry_position,
        &run.surface_position,
    ] {
        for p in values.chunks_exact(3) {
            for k in 0..3 {
                if p[k].is_finite() {
                    lo[k] = lo[k].min(p[k]);
                    hi[k] = hi[k].max(p[k]);
                }
            }
        }
    }
}

/// Points of the volume-anchor template kept in a checkpoint.
const TEMPLATE_POINTS: usize = 8192;

/// Bounding-box centre and flow-axis length of a run's body (its surface cells).
pub fn body_frame(run: &PreparedRun) -> ([f32; 3], f32) {
    let mut lo = [f32::INFINITY; 3];
    let mut hi = [f32::NEG_INFINITY; 3];
    for p in run.surface_position.chunks_exact(3) {
        for k in 0..3 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    let flow = run.meta.axes.flow;
    (
        std::array::from_fn(|k| 0.5 * (lo[k] + hi[k])),
        (hi[flow] - lo[flow]).max(f32::EPSILON),
    )
}

/// The body sizes, the volume-anchor template and the units of the training runs, which must
/// share pressure kind, density, speed and axes: the model's outputs are in those units. Also
/// the union of their points' bounds (metres), from the same pass over the runs (on disk, each
/// run is read once).
fn training_domain(
    store: &RunStore,
    validation: &[PreparedRun],
    seed: u64,
) -> Result<(TrainingDomain, Bounds), ModelError> {
    let count = store.len();
    if count == 0 {
        return Err(ModelError::job("the training split has no runs"));
    }
    let per_run = TEMPLATE_POINTS.div_ceil(count);
    let mut template = Vec::with_capacity(per_run * count);
    let mut lengths = [f64::INFINITY, 0.0f64];
    // The first run's units, which every other run must share.
    let mut first: Option<(String, crate::data::RunMeta)> = None;
    let mut bounds: Bounds = ([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]);
    let mut shapes = Vec::with_capacity(count);
    for_each_run(store, |i, run| {
        extend_bounds(&mut bounds, run);
        shapes.push(Member::of_run(run).map_err(ModelError::job)?);
        let (b_name, b) = first.get_or_insert_with(|| (run.name.clone(), run.meta.clone()));
        let a = &run.meta;
        let same = a.pressure_kind == b.pressure_kind
            && a.axes == b.axes
            && (a.reference.speed_m_s - b.reference.speed_m_s).abs()
                <= 1e-6 * b.reference.speed_m_s
            && (a.reference.density_kg_m3 - b.reference.density_kg_m3).abs()
                <= 1e-6 * b.reference.density_kg_m3;
        if !same {
            return Err(ModelError::job(format!(
                "runs {b_name} and {} differ in pressure kind, speed, density or axes; one model \
                 learns one set of units (prepare them alike)",
                run.name
            )));
        }
        let (centre, length) = body_frame(run);
        lengths = [lengths[0].min(length as f64), lengths[1].max(length as f64)];
        let rows = crate::geometry::sampling::choose_subset(
            run.volume_len(),
            per_run,
            seed.wrapping_add(i as u64),
        );
        for r in rows {
            let p = &run.volume_position[3 * r..3 * r + 3];
            template.push(std::array::from_fn(|k| (p[k] - centre[k]) / length));
        }
        Ok(())
    })?;
    let (_, first) = first.ok_or_else(|| ModelError::job("the training split has no runs"))?;
    let domain = TrainingDomain {
        body_length_m: lengths,
        volume_template: template,
        pressure_kind: Some(first.pressure_kind),
        density_kg_m3: first.reference.density_kg_m3,
        speed_m_s: first.reference.speed_m_s,
        flow_axis: first.axes.flow,
        up_axis: first.axes.up,
        shape: ShapeDomain::of_runs(shapes, validation).map_err(ModelError::job)?,
    };
    Ok((domain, bounds))
}

/// Per-field mean squared errors of standardised outputs against a batch's targets, the
/// squared drag and lift errors of its anchors in units of 0.01, and their weighted sum.
pub struct Losses<B: Backend> {
    pub total: Tensor<B, 1>,
    pub fields: [Tensor<B, 1>; LOSS_TERMS],
}

/// Loss terms, in the order of [`Losses::fields`].
pub const LOSS_FIELDS: [&str; LOSS_TERMS] = [
    "surface_pressure",
    "surface_wall_shear",
    "volume_pressure",
    "volume_velocity",
    "volume_vorticity",
    "drag",
    "lift",
];
pub const LOSS_TERMS: usize = 7;

/// The loss of `model` on `batch`.
pub fn batch_loss<B: Backend>(
    model: &AbUpt<B>,
    batch: &Batch,
    weights: &LossWeights,
    device: &B::Device,
) -> Result<Losses<B>, ModelError> {
    let frame = model.config().coordinates;
    let geometry = frame.to_model_points(&batch.geometry_m);
    let surface = positions_tensor::<B>(&frame.to_model_points(&batch.surface_m), device);
    let volume = positions_tensor::<B>(&frame.to_model_points(&batch.volume_m), device);
    let encoded = model.encode(&geometry, &batch.supernodes, surface, volume.clone())?;
    let (s, v) = model.anchor_outputs(&encoded, volume);
    let (ns, nv) = (batch.surface_m.len(), batch.volume_m.len());
    let st = tensor_from::<B, 2>(batch.surface_targets.clone(), [ns, 4], device);
    let vt = tensor_from::<B, 2>(batch.volume_targets.clone(), [nv, 7], device);
    let mse = |pred: &Tensor<B, 2>, target: &Tensor<B, 2>, from: usize, width: usize| {
        (pred.clone().narrow(1, from, width) - target.clone().narrow(1, from, width))
            .powi_scalar(2)
            .mean()
    };
    // (ΔC / 0.01)² of the anchors' integrated force.
    let coefficient = |a: &[f32]| {
        let a = tensor_from::<B, 2>(a.to_vec(), [ns, 4], device);
        ((s.clone() - st.clone()) * a)
            .sum()
            .div_scalar(0.01)
            .powi_scalar(2)
    };
    // A field the run lacks contributes zero (and logs as zero): masked, not trained to zeros.
    let masked = |term: Tensor<B, 1>, k: usize| match batch.present[k] {
        true => term,
        false => term.mul_scalar(0.0),
    };
    let fields = [
        masked(mse(&s, &st, 0, 1), 0),
        masked(mse(&s, &st, 1, 3), 1),
        masked(mse(&v, &vt, 0, 1), 2),
        masked(mse(&v, &vt, 1, 3), 3),
        masked(mse(&v, &vt, 4, 3), 4),
        coefficient(&batch.drag_weights),
        coefficient(&batch.lift_weights),
    ];
    let w = [
        weights.surface_pressure,
        weights.surface_wall_shear,
        weights.volume_pressure,
        weights.volume_velocity,
        weights.volume_vorticity,
        weights.drag,
        weights.lift,
    ];
    let total = fields
        .iter()
        .zip(w)
        .map(|(f, w)| f.clone().mul_scalar(w))
        .reduce(|a, b| a + b)
        .ok_or_else(|| ModelError::Job("no loss terms".into()))?;
    Ok(Losses { total, fields })
}

fn scalar<B: Backend>(t: Tensor<B, 1>) -> f64 {
    t.into_scalar().elem::<f64>()
}

/// One line of the training log.
#[derive(Debug, Clone, Serialize)]
struct LogLine {
    kind: &'static str,
    step: u64,
    loss: f64,
    fields: serde_json::Map<String, serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lr: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grad_norm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seconds_per_step: Option<f64>,
}

fn field_map(values: &[f64; LOSS_TERMS]) -> serde_json::Map<String, serde_json::Value> {
    LOSS_FIELDS
        .iter()
        .zip(values)
        .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
        .collect()
}

/// The log file, cut back to the checkpoint's step on resume (lines written after the last
/// checkpoint belong to steps that will be redone).
fn open_log(path: &Path, keep_through_step: Option<u64>) -> Result<std::fs::File, ModelError> {
    let fail = |e: std::io::Error| ModelError::write(path, e);
    if let Some(step) = keep_through_step {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let kept: String = text
            .lines()
            .filter(|line| {
                serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v["step"].as_u64())
                    .is_some_and(|s| s <= step)
            })
            .map(|l| format!("{l}\n"))
            .collect();
        crate::mesh::write_bytes_atomically(path, kept.as_bytes())
            .map_err(ModelError::write_error)?;
    } else {
        std::fs::write(path, b"").map_err(fail)?;
    }
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(fail)
}

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
        mut optim: O,
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

        let (mut model, first_step, domain, stats, init_from) = if self.resume {
            if self.init_from.is_some() {
                return Err(ModelError::job(
                    "--init-from starts a new run; a resumed run continues from its own checkpoint",
                ));
            }
            let meta = checkpoint::read_meta(&self.out).map_err(ModelError::job)?;
            if meta.train != self.config {
                return Err(ModelError::job(format!(
                    "{}: the configuration differs from the checkpoint's; resume with the same \
                     configuration (its copy is in {})",
                    self.out.display(),
                    self.out.join("train.toml").display()
                )));
            }
            let (model, meta) = checkpoint::load_model::<Autodiff<I>>(&self.out, device)
                .map_err(ModelError::job)?;
            optim = checkpoint::load_optimizer::<Autodiff<I>, O>(&self.out, optim, device)
                .map_err(ModelError::job)?;
            // The checkpoint's statistics define its outputs, whatever the folder holds now.
            (model, meta.step, meta.domain, meta.stats, meta.init_from)
        } else {
            if checkpoint_dir.exists() {
                return Err(ModelError::job(format!(
                    "{} already holds a training run; pass --resume to continue it, or choose \
                     another --out",
                    self.out.display()
                )));
            }
            let mut config: AbUptConfig = self.config.model.resolve().map_err(ModelError::job)?;
            let (domain, (lo, hi)) = training_domain(&train_runs, &val_runs, schedule.seed)?;
            match &self.init_from {
                Some(source) => {
                    let (model, meta) = checkpoint::load_model::<Autodiff<I>>(source, device)
                        .map_err(ModelError::job)?;
                    // The coordinate frame comes with the weights; the rest must match.
                    config.coordinates = meta.model.coordinates;
                    if config != meta.model {
                        return Err(ModelError::job(format!(
                            "{}: its architecture differs from [model] in the configuration; \
                             --init-from needs the same preset and overrides",
                            source.display()
                        )));
                    }
                    // Its statistics too: the weights' outputs are standardised by them.
                    let origin = Some(source.display().to_string());
                    (model, 0, domain, meta.stats, origin)
                }
                None => {
                    config.coordinates = CoordinateFrame::fit(lo, hi, 0.02);
                    (
                        AbUpt::<Autodiff<I>>::init(&config, schedule.seed, device)?,
                        0,
                        domain,
                        dataset.stats.clone(),
                        None,
                    )
                }
            }
        };
        let normalizer = Normalizer::new(&stats);
        std::fs::create_dir_all(&self.out).map_err(|e| ModelError::write(&self.out, e))?;
        crate::mesh::write_bytes_atomically(
            &self.out.join("train.toml"),
            self.config.to_toml().as_bytes(),
        )
        .map_err(ModelError::write_error)?;
        let log_path = self.out.join("log.jsonl");
        let mut log = open_log(&log_path, self.resume.then_some(first_step))?;
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
            stats,
            train: self.config.clone(),
            data: self.data.display().to_string(),
            train_loss: None,
            val_loss: None,
            domain,
            init_from,
            averaged_from: Vec::new(),
            uncertainty: None,
            weights_layout: crate::checkpoint::WEIGHTS_LAYOUT,
        };
        let mut window = (0.0f64, [0.0f64; LOSS_TERMS], 0u64);
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
            window.0 += loss_value;
            for (sum, f) in window.1.iter_mut().zip(fields) {
                *sum += f;
            }
            window.2 += 1;

            let done = step + 1;
            let is_last = done == last_step;
            if done % schedule.log_every.max(1) == 0 || is_last {
                let n = window.2.max(1) as f64;
                let per_step = interval_started.elapsed().as_secs_f64() / n;
                let mean = window.0 / n;
                let line = LogLine {
                    kind: "train",
                    step: done,
                    loss: mean,
                    fields: field_map(&window.1.map(|v| v / n)),
                    lr: Some(lr),
                    grad_norm: Some(grad_norm),
                    seconds_per_step: Some(per_step),
                };
                writeln!(log, "{}", serde_json::to_string(&line).unwrap_or_default())
                    .map_err(|e| ModelError::write(&log_path, e))?;
                meta.train_loss = Some(mean);
                self.progress.advance(done, || {
                    let overall = loop_started.elapsed().as_secs_f64() / (done - first_step) as f64;
                    format!(
                        "step {done}/{}  loss {mean:.4}  lr {lr:.2e}  |g| {grad_norm:.3}  {per_step:.2} s/step  ETA {}",
                        schedule.steps,
                        format_duration(overall * (schedule.steps - done) as f64)
                    )
                });
                window = (0.0, [0.0; LOSS_TERMS], 0);
                interval_started = Instant::now();
            }
            let validate = !val_batches.is_empty()
                && (done % schedule.val_every.max(1) == 0 || done == schedule.steps);
            if validate {
                let valid = model.valid();
                let mut total = 0.0;
                let mut sums = [0.0f64; LOSS_TERMS];
                for batch in &val_batches {
                    let l = batch_loss(&valid, batch, &self.config.loss, device)?;
                    total += scalar(l.total);
                    for (k, f) in l.fields.into_iter().enumerate() {
                        sums[k] += scalar(f);
                    }
                }
                let n = val_batches.len() as f64;
                let line = LogLine {
                    kind: "val",
                    step: done,
                    loss: total / n,
                    fields: field_map(&sums.map(|v| v / n)),
                    lr: None,
                    grad_norm: None,
                    seconds_per_step: None,
                };
                writeln!(log, "{}", serde_json::to_string(&line).unwrap_or_default())
                    .map_err(|e| ModelError::write(&log_path, e))?;
                meta.val_loss = Some(total / n);
                self.progress
                    .note(|| format!("validation at step {done}: loss {:.4}", total / n));
            }
            if done % schedule.checkpoint_every.max(1) == 0 || is_last {
                meta.step = done;
                log.flush().ok();
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
        log.flush().ok();
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
