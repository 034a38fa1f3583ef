//! The training loss: per-field mean squared errors of standardised outputs at the anchors, and
//! the squared errors of the drag and lift the anchors integrate to.

use burn::tensor::backend::Backend;
use burn::tensor::{ElementConversion, Tensor};

use crate::checkpoint::train_config::LossWeights;
use crate::data::batch::Batch;
use crate::model::{positions_tensor, tensor_from, AbUpt, ModelError};

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

/// A one-element tensor's value.
pub(super) fn scalar<B: Backend>(t: Tensor<B, 1>) -> f64 {
    t.into_scalar().elem::<f64>()
}

/// The mean loss of `model` over `batches` (the fixed validation batches), total and per term.
pub(super) fn mean_loss<B: Backend>(
    model: &AbUpt<B>,
    batches: &[Batch],
    weights: &LossWeights,
    device: &B::Device,
) -> Result<(f64, [f64; LOSS_TERMS]), ModelError> {
    let mut total = 0.0;
    let mut sums = [0.0f64; LOSS_TERMS];
    for batch in batches {
        let l = batch_loss(model, batch, weights, device)?;
        total += scalar(l.total);
        for (k, f) in l.fields.into_iter().enumerate() {
            sums[k] += scalar(f);
        }
    }
    let n = batches.len().max(1) as f64;
    Ok((total / n, sums.map(|v| v / n)))
}
