//! Where a training run starts: its own checkpoint (`--resume`), another checkpoint's weights
//! (`--init-from`), or a seeded random initialisation.

use burn::backend::Autodiff;
use burn::optim::Optimizer;
use burn::tensor::backend::Backend;

use super::training_domain::training_domain;
use std::path::Path;

use crate::checkpoint::train_config::TrainConfig;
use crate::checkpoint::{self, TrainingDomain};
use crate::data::batch::RunStore;
use crate::data::stats::DatasetStats;
use crate::data::{PreparedDataset, PreparedRun};
use crate::model::{AbUpt, AbUptConfig, CoordinateFrame, ModelError};

/// A run's model at its first step, with the statistics and domain that define its outputs.
pub(super) struct Start<B: burn::tensor::backend::AutodiffBackend> {
    pub model: AbUpt<B>,
    pub step: u64,
    pub domain: TrainingDomain,
    pub stats: DatasetStats,
    /// The checkpoint whose weights it began from, if any.
    pub init_from: Option<String>,
}

/// Continues the run in `out` from its checkpoint, optimiser state included; `config` must be
/// the one it was started with.
pub(super) fn resume<I: Backend, O: Optimizer<AbUpt<Autodiff<I>>, Autodiff<I>>>(
    out: &Path,
    config: &TrainConfig,
    optim: O,
    device: &I::Device,
) -> Result<(Start<Autodiff<I>>, O), ModelError> {
    let meta = checkpoint::read_meta(out).map_err(ModelError::job)?;
    if meta.train != *config {
        return Err(ModelError::job(format!(
            "{}: the configuration differs from the checkpoint's; resume with the same \
             configuration (its copy is in {})",
            out.display(),
            out.join("train.toml").display()
        )));
    }
    let (model, meta) =
        checkpoint::load_model::<Autodiff<I>>(out, device).map_err(ModelError::job)?;
    let optim = checkpoint::load_optimizer::<Autodiff<I>, O>(out, optim, device)
        .map_err(ModelError::job)?;
    // The checkpoint's statistics define its outputs, whatever the folder holds now.
    let start = Start {
        model,
        step: meta.step,
        domain: meta.domain,
        stats: meta.stats,
        init_from: meta.init_from,
    };
    Ok((start, optim))
}

/// A new run: from `init_from`'s weights and statistics, or initialised from the seed with a
/// coordinate frame fitted to the training runs.
pub(super) fn fresh<I: Backend>(
    config: &TrainConfig,
    init_from: Option<&Path>,
    dataset: &PreparedDataset,
    train_runs: &RunStore,
    val_runs: &[PreparedRun],
    device: &I::Device,
) -> Result<Start<Autodiff<I>>, ModelError> {
    let seed = config.schedule.seed;
    let mut model_config: AbUptConfig = config.model.resolve().map_err(ModelError::job)?;
    let (domain, (lo, hi)) = training_domain(train_runs, val_runs, seed)?;
    let Some(source) = init_from else {
        model_config.coordinates = CoordinateFrame::fit(lo, hi, 0.02);
        return Ok(Start {
            model: AbUpt::<Autodiff<I>>::init(&model_config, seed, device)?,
            step: 0,
            domain,
            stats: dataset.stats.clone(),
            init_from: None,
        });
    };
    let (model, meta) =
        checkpoint::load_model::<Autodiff<I>>(source, device).map_err(ModelError::job)?;
    // The coordinate frame comes with the weights; the rest must match.
    model_config.coordinates = meta.model.coordinates;
    if model_config != meta.model {
        return Err(ModelError::job(format!(
            "{}: its architecture differs from [model] in the configuration; --init-from needs \
             the same preset and overrides",
            source.display()
        )));
    }
    // Its statistics too: the weights' outputs are standardised by them.
    Ok(Start {
        model,
        step: 0,
        domain,
        stats: meta.stats,
        init_from: Some(source.display().to_string()),
    })
}
