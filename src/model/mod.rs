//! AB-UPT (Alkin et al., TMLR 2025) on burn, generic over the backend.
//!
//! - [`AbUptConfig`]: the architecture and its presets.
//! - [`AbUpt`]: the model; [`AbUpt::encode`] runs geometry and anchors once, [`AbUpt::decode`]
//!   evaluates any query points against them (streamed by [`AbUpt::decode_chunked`]).
//! - [`weights`]: the reference's PyTorch `state_dict` in safetensors, loaded by name.
//! - [`parity`]: runs the reference's own inputs and compares with its outputs.
//!
//! Divergence-free heads (ω = ∇×ψ, u = u∞ + ∇×A) use forward-mode tangents through the query
//! path (see `tangent`), because burn has no double backward.

mod abupt;
mod attention;
mod attention_avx512;
#[cfg(target_arch = "x86_64")]
mod bf16;
mod block;
mod branch_decoder;
mod config;
mod cpu_autodiff;
mod cpu_gemm;
pub mod cpu_isa;
mod cpu_kernels;
mod cpu_mlp;
pub mod device;
mod embedding;
#[cfg(feature = "gpu-kernels")]
pub mod gpu_ops;
pub mod legacy_layout;
mod mlp;
pub mod ops;
mod params;
pub mod parity;
pub mod precision;
mod supernode;
mod tangent;
mod training_attention;
mod training_attention_cpu;
mod training_gelu;
mod training_layer_norm;
mod training_rope;
pub mod uncertainty;
pub mod weights;

use burn::tensor::{backend::Backend, Tensor, TensorData};

pub use abupt::{AbUpt, Branch, Encoded};
pub use config::{AbUptConfig, CoordinateFrame, TrunkBlock, VectorHead, PRESETS};
pub use params::{NamedTensor, ParamSource};
pub use tangent::Dual;

/// True when slipstream's fused CPU kernels (attention, GELU) run for backend `B` in this
/// thread's precision, rather than burn's own operations.
pub fn fused_cpu_kernels<B: Backend>() -> bool {
    cpu_kernels::applies::<B>()
}

/// The bf16 unit this thread's products run on (`--precision bf16` on a CPU with AMX tiles or
/// AVX-512 BF16), by its report name; `None` when they run in f32.
pub fn bf16_unit() -> Option<&'static str> {
    bf16::serving_unit().map(|unit| unit.name())
}

/// The CPU backend: burn's pure-Rust Flex.
pub type Cpu = burn::backend::Flex;
/// The CPU backend with reverse-mode autodiff, for training.
pub type CpuAutodiff = burn::backend::Autodiff<Cpu>;

/// Errors of model construction and inference.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model configuration: {0}")]
    Config(String),
    #[error("weights: {0}")]
    Weights(String),
    #[error("model input: {0}")]
    Input(String),
    #[error("{path}: {message}")]
    File { path: String, message: String },
    /// The device or precision asked for is unknown, not built in, or not usable here; the
    /// message says what to check.
    #[error("{0}")]
    Device(String),
    /// A job run through [`device::dispatch`] failed for its own reasons (data, files).
    #[error("{0}")]
    Job(String),
    /// Writing a result (a checkpoint, a log, a prediction's files) failed: not the input's
    /// fault (exit status 1, not 2). The message names the path.
    #[error("{0}")]
    Write(String),
}

impl ModelError {
    /// A job's own failure (data, files), as its message.
    pub fn job(e: impl ToString) -> Self {
        ModelError::Job(e.to_string())
    }

    /// A failed write of `path`.
    pub fn write(path: &std::path::Path, e: impl std::fmt::Display) -> Self {
        ModelError::Write(format!("{}: {e}", path.display()))
    }

    /// A failed write whose error already names its path.
    pub fn write_error(e: impl ToString) -> Self {
        ModelError::Write(e.to_string())
    }

    /// True when what the user gave is at fault (a file, a configuration, a device that is not
    /// there); false for a failed write of a result.
    pub fn is_input_error(&self) -> bool {
        !matches!(self, ModelError::Write(_))
    }
}

/// A float tensor from row-major values.
pub fn tensor_from<B: Backend, const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// A float tensor's values, row-major.
pub fn tensor_values<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .unwrap_or_default()
}

/// The mean of several predictions of the same points, one per anchor draw (`eval --draws`,
/// `predict --draws`). The model's outputs are standardised values and de-standardising is
/// affine, so their mean is the mean of the fields.
#[derive(Debug, Default)]
pub struct DrawMean {
    sum: Vec<f32>,
    draws: usize,
}

impl DrawMean {
    /// Adds one draw's outputs.
    pub fn add(&mut self, values: &[f32]) {
        if self.draws == 0 {
            self.sum.extend_from_slice(values);
        } else {
            self.sum.iter_mut().zip(values).for_each(|(s, x)| *s += x);
        }
        self.draws += 1;
    }

    /// The mean over the draws added.
    pub fn mean(mut self) -> Vec<f32> {
        let scale = 1.0 / self.draws.max(1) as f32;
        self.sum.iter_mut().for_each(|x| *x *= scale);
        self.sum
    }
}

/// `[N, 3]` positions as a tensor.
pub fn positions_tensor<B: Backend>(points: &[[f32; 3]], device: &B::Device) -> Tensor<B, 2> {
    tensor_from(
        points.iter().flatten().copied().collect(),
        [points.len(), 3],
        device,
    )
}
