//! Checkpoints: a folder holding the weights (`model.bin`), optionally the optimiser state
//! (`optimizer.bin`), and `checkpoint.json` with everything else a resumed run or a prediction
//! needs (step, architecture with its fitted coordinate frame, normalisation statistics, the
//! training configuration). A checkpoint is written into a temporary folder and swapped in by
//! renames, so an interrupted save never leaves a half-written checkpoint in its place.

use std::path::{Path, PathBuf};

use burn::module::{AutodiffModule, Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::Optimizer;
use burn::record::{BinFileRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};

pub mod train_config;

use crate::data::stats::DatasetStats;
use crate::model::{AbUpt, AbUptConfig};
pub use train_config::TrainConfig;

/// Errors of writing or reading checkpoints.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
}

fn file_error(path: &Path, message: impl ToString) -> CheckpointError {
    CheckpointError::File {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Everything in a checkpoint but the tensors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// Steps completed.
    pub step: u64,
    pub model: AbUptConfig,
    pub stats: DatasetStats,
    pub train: TrainConfig,
    /// The prepared dataset it was trained on.
    pub data: String,
    /// Mean training loss over the last logged interval, and the last validation loss.
    pub train_loss: Option<f64>,
    pub val_loss: Option<f64>,
    /// What prediction on a new body needs to know about the training bodies.
    #[serde(default)]
    pub domain: TrainingDomain,
    /// The checkpoint whose weights (and statistics) this run started from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_from: Option<String>,
    /// The checkpoints whose weights were averaged into this one ([`average`]), if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub averaged_from: Vec<String>,
    /// Factors that turn the spread of anchor draws into 1σ uncertainties, fitted on the
    /// validation split by `slipstream calibrate`; absent: predictions carry no σ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncertainty: Option<crate::model::uncertainty::Calibration>,
    /// The order `model.bin` stores the weights in: [`WEIGHTS_LAYOUT`] for what this version
    /// writes, 1 (or absent) for checkpoints from before the branch decoders
    /// ([`crate::model::legacy_layout`]).
    #[serde(default = "layout1")]
    pub weights_layout: u32,
}

/// The weights layout this version writes (see [`CheckpointMeta::weights_layout`]).
pub const WEIGHTS_LAYOUT: u32 = 2;

fn layout1() -> u32 {
    1
}

/// The training bodies' size range, and where their volume anchors lay relative to them.
///
/// Volume anchors in training are cells of the CFD meshes, crowded near the body and in the wake;
/// prediction places its anchors the same way by mapping this template onto the new body, so
/// the model sees the anchor layout it learned from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TrainingDomain {
    /// Smallest and largest body length along the flow axis, metres.
    pub body_length_m: [f64; 2],
    /// Volume cell positions `(x − c) / L` of the training runs (c the body's bounding-box
    /// centre, L its length along the flow axis).
    pub volume_template: Vec<[f32; 3]>,
    /// The units the model's outputs are in: the training runs' pressure kind, density and
    /// free-stream speed (all runs share them), and their axes.
    pub pressure_kind: Option<crate::physics::PressureKind>,
    pub density_kg_m3: f64,
    pub speed_m_s: f64,
    pub flow_axis: usize,
    pub up_axis: usize,
    /// The training bodies' shapes and the threshold of "like them", set on the validation
    /// bodies (`predict` refuses bodies beyond it); absent in checkpoints from before it existed
    /// (`slipstream calibrate` adds it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<crate::domain::ShapeDomain>,
}

const META: &str = "checkpoint.json";

fn recorder() -> BinFileRecorder<FullPrecisionSettings> {
    BinFileRecorder::<FullPrecisionSettings>::new()
}

/// Writes a checkpoint into `dir` (replacing what was there only once the new one is complete).
pub fn save<B: AutodiffBackend, O: Optimizer<AbUpt<B>, B>>(
    dir: &Path,
    model: &AbUpt<B>,
    optimizer: Option<&O>,
    meta: &CheckpointMeta,
) -> Result<(), CheckpointError> {
    let tmp = fresh_tmp(dir)?;
    recorder()
        .record(model.clone().valid().into_record(), tmp.join("model"))
        .map_err(|e| file_error(&tmp.join("model.bin"), e))?;
    if let Some(o) = optimizer {
        recorder()
            .record(o.to_record(), tmp.join("optimizer"))
            .map_err(|e| file_error(&tmp.join("optimizer.bin"), e))?;
    }
    finish_save(&tmp, dir, meta)
}

/// Writes a checkpoint of weights only (no optimiser state: it cannot be resumed) into `dir`,
/// replacing what was there only once the new one is complete.
pub fn save_weights<B: Backend>(
    dir: &Path,
    model: &AbUpt<B>,
    meta: &CheckpointMeta,
) -> Result<(), CheckpointError> {
    let tmp = fresh_tmp(dir)?;
    recorder()
        .record(model.clone().into_record(), tmp.join("model"))
        .map_err(|e| file_error(&tmp.join("model.bin"), e))?;
    finish_save(&tmp, dir, meta)
}

/// An empty folder next to `dir` to write a checkpoint into before it is swapped in.
fn fresh_tmp(dir: &Path) -> Result<PathBuf, CheckpointError> {
    let tmp = dir.with_extension("tmp");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| file_error(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| file_error(&tmp, e))?;
    Ok(tmp)
}

/// The metadata files of a checkpoint being written in `tmp`, then `tmp` swapped in as `dir`.
/// Writes the metadata of weights just written in `tmp` (so in [`WEIGHTS_LAYOUT`]) and swaps
/// the checkpoint in.
fn finish_save(tmp: &Path, dir: &Path, meta: &CheckpointMeta) -> Result<(), CheckpointError> {
    let meta = CheckpointMeta {
        weights_layout: WEIGHTS_LAYOUT,
        ..meta.clone()
    };
    let text = serde_json::to_string_pretty(&meta).map_err(|e| file_error(&tmp.join(META), e))?;
    std::fs::write(tmp.join(META), text).map_err(|e| file_error(&tmp.join(META), e))?;
    std::fs::write(tmp.join("model.toml"), meta.model.to_toml())
        .map_err(|e| file_error(&tmp.join("model.toml"), e))?;
    swap_in(tmp, dir)
}

/// The weights of every float parameter, in visiting order.
struct Weights(Vec<TensorData>);

impl<B: Backend> ModuleVisitor<B> for Weights {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.0.push(param.val().into_data());
    }
}

/// Adds the collected weights of other models, parameter by parameter, then divides by their
/// number: the mean of the models.
struct Mean<'a, B: Backend> {
    others: &'a [Vec<TensorData>],
    next: usize,
    device: B::Device,
}

impl<B: Backend> ModuleMapper<B> for Mean<'_, B> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let k = self.next;
        self.next += 1;
        let n = self.others.len() + 1;
        let (others, device) = (self.others, self.device.clone());
        param.map(|t| {
            let sum = others.iter().fold(t, |acc, weights| {
                acc + Tensor::<B, D>::from_data(weights[k].clone(), &device)
            });
            sum.div_scalar(n as f32)
        })
    }
}

/// Averages the weights of the checkpoints in `dirs` (at least two, same architecture and the
/// same normalisation statistics, typically late checkpoints of one run) into a weights-only
/// checkpoint at `out`: weight averaging smooths out where the last steps of a run happened to
/// leave the weights. The metadata is the last checkpoint's, with `averaged_from` listing all.
pub fn average<B: Backend>(
    dirs: &[PathBuf],
    out: &Path,
    device: &B::Device,
) -> Result<CheckpointMeta, CheckpointError> {
    let (first, rest) = dirs
        .split_first()
        .filter(|(_, rest)| !rest.is_empty())
        .ok_or_else(|| file_error(out, "averaging needs at least two checkpoints"))?;
    let (model, first_meta) = load_model::<B>(first, device)?;
    let mut meta = first_meta.clone();
    let mut others = Vec::with_capacity(rest.len());
    for dir in rest {
        let (other, other_meta) = load_model::<B>(dir, device)?;
        if other_meta.model != first_meta.model {
            return Err(file_error(
                dir,
                format!(
                    "its architecture differs from {}'s: cannot average",
                    first.display()
                ),
            ));
        }
        if other_meta.stats != first_meta.stats {
            return Err(file_error(
                dir,
                format!(
                    "its normalisation statistics differ from {}'s (another dataset?): cannot \
                     average",
                    first.display()
                ),
            ));
        }
        let mut weights = Weights(Vec::new());
        other.visit(&mut weights);
        others.push(weights.0);
        meta = other_meta;
    }
    let averaged = model.map(&mut Mean::<B> {
        others: &others,
        next: 0,
        device: device.clone(),
    });
    meta.step = meta.step.max(first_meta.step);
    meta.averaged_from = dirs.iter().map(|d| d.display().to_string()).collect();
    // New weights, new spread of draws: the old factors do not apply.
    meta.uncertainty = None;
    save_weights(out, &averaged, &meta)?;
    Ok(meta)
}

/// Replaces `dir` by `tmp`: the old folder is moved aside first, so at every moment either the
/// old or the new checkpoint is complete under one of the two names.
fn swap_in(tmp: &Path, dir: &Path) -> Result<(), CheckpointError> {
    let old = dir.with_extension("old");
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| file_error(&old, e))?;
    }
    if dir.exists() {
        std::fs::rename(dir, &old).map_err(|e| file_error(dir, e))?;
    }
    std::fs::rename(tmp, dir).map_err(|e| file_error(dir, e))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| file_error(&old, e))?;
    }
    Ok(())
}

/// The folder holding the checkpoint: `dir` itself, or a run folder's `checkpoint/`; a
/// checkpoint left as `.old` by a save that was interrupted between its renames is used too.
/// The prepared dataset a checkpoint in `dir` records (`recorded`, its `meta.data`). A relative
/// path is read from
/// the working folder when it exists there, else from the nearest folder above the checkpoint
/// that holds it: a checkpoint shipped in a repository (`checkpoints/ahmed-small`, trained on
/// `datasets/ahmed`) finds its data from any working folder.
pub fn recorded_data(dir: &Path, recorded: &str) -> PathBuf {
    let recorded = PathBuf::from(recorded);
    if recorded.is_absolute() || recorded.exists() {
        return recorded;
    }
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    absolute
        .ancestors()
        .map(|a| a.join(&recorded))
        .find(|candidate| candidate.is_dir())
        .unwrap_or(recorded)
}

pub fn locate(dir: &Path) -> Result<PathBuf, CheckpointError> {
    for candidate in [
        dir.to_path_buf(),
        dir.join("checkpoint"),
        dir.join("checkpoint.old"),
    ] {
        if candidate.join(META).is_file() {
            return Ok(candidate);
        }
    }
    Err(file_error(
        dir,
        "no checkpoint here (expected checkpoint.json and model.bin, or a training run folder \
         with checkpoint/)",
    ))
}

/// The checkpoint `predict` uses when none is named, relative to the repository (and to a
/// release folder laid out like it).
pub const SHIPPED: &str = "checkpoints/ahmed-small";

/// Where the shipped checkpoint is when `slipstream` runs from another folder: beside the
/// binary (`<bin>/checkpoints/…`, a release folder), above cargo's `target/<profile>/`, or in the
/// source tree the binary was built from. `None` when none of them holds it.
pub fn find_shipped() -> Option<PathBuf> {
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf));
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(dir) = &exe_dir {
        candidates.push(dir.join(SHIPPED));
        candidates.extend(dir.ancestors().nth(2).map(|d| d.join(SHIPPED)));
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(SHIPPED));
    candidates.into_iter().find(|c| c.join(META).is_file())
}

/// Replaces the metadata (`checkpoint.json`) of the checkpoint in `dir`, weights untouched;
/// written to a temporary file first, so an interrupted write leaves the old one.
pub fn write_meta(dir: &Path, meta: &CheckpointMeta) -> Result<(), CheckpointError> {
    let path = locate(dir)?.join(META);
    let text = serde_json::to_string_pretty(meta).map_err(|e| file_error(&path, e))?;
    crate::mesh::write_bytes_atomically(&path, text.as_bytes()).map_err(|e| file_error(&path, e))
}

pub fn read_meta(dir: &Path) -> Result<CheckpointMeta, CheckpointError> {
    let path = locate(dir)?.join(META);
    let text = std::fs::read_to_string(&path).map_err(|e| file_error(&path, e))?;
    serde_json::from_str(&text).map_err(|e| file_error(&path, e))
}

/// The model of a checkpoint, on `device`.
pub fn load_model<B: Backend>(
    dir: &Path,
    device: &B::Device,
) -> Result<(AbUpt<B>, CheckpointMeta), CheckpointError> {
    let dir = locate(dir)?;
    let meta = read_meta(&dir)?;
    let model = AbUpt::<B>::init(&meta.model, 0, device).map_err(|e| file_error(&dir, e))?;
    let bin = dir.join("model.bin");
    let model = match meta.weights_layout {
        1 => {
            let record = recorder()
                .load(dir.join("model"), device)
                .map_err(|e| file_error(&bin, e))?;
            model.load_layout1_record(record)
        }
        WEIGHTS_LAYOUT => {
            let record = recorder()
                .load(dir.join("model"), device)
                .map_err(|e| file_error(&bin, e))?;
            model.load_record(record)
        }
        other => {
            return Err(file_error(
                &dir.join(META),
                format!(
                    "weights layout {other} is newer than this slipstream reads (up to \
                     {WEIGHTS_LAYOUT}): update slipstream"
                ),
            ))
        }
    };
    Ok((model, meta))
}

/// The optimiser state of a checkpoint, loaded into `optimizer`.
pub fn load_optimizer<B: AutodiffBackend, O: Optimizer<AbUpt<B>, B>>(
    dir: &Path,
    optimizer: O,
    device: &B::Device,
) -> Result<O, CheckpointError> {
    let dir = locate(dir)?;
    let path = dir.join("optimizer");
    if !path.with_extension("bin").is_file() {
        return Err(file_error(
            &path.with_extension("bin"),
            "no optimiser state: this checkpoint cannot be resumed (shipped checkpoints keep only weights)",
        ));
    }
    let record = recorder()
        .load(path.clone(), device)
        .map_err(|e| file_error(&path.with_extension("bin"), e))?;
    Ok(optimizer.load_record(record))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_data_is_found_above_the_checkpoint_from_any_working_folder() {
        let repo = tempfile::tempdir().unwrap();
        let checkpoint = repo.path().join("checkpoints/shipped");
        std::fs::create_dir_all(&checkpoint).unwrap();
        std::fs::create_dir_all(repo.path().join("datasets/family")).unwrap();
        // Not in the working folder (the test's): found beside the checkpoint's repository.
        let found = recorded_data(&checkpoint, "datasets/family");
        assert_eq!(found, repo.path().join("datasets/family"));
        // Absolute paths, and paths found nowhere, are kept as recorded.
        let absolute = repo.path().join("elsewhere");
        assert_eq!(
            recorded_data(&checkpoint, absolute.to_str().unwrap()),
            absolute
        );
        assert_eq!(
            recorded_data(&checkpoint, "datasets/gone"),
            PathBuf::from("datasets/gone")
        );
    }
}
