//! How the model's matrix products are computed (`--precision`). Half precision works the way
//! PyTorch's autocast runs the AB-UPT reference: weights, positions, embeddings, normalisation and
//! softmax stay in f32, and only the inputs of the linear layers and of attention are rounded to
//! bf16 or f16 (products accumulate in f32 on tensor cores). On the GPU backends `f32` means f32
//! multiply-adds (`gpu_ops`), as PyTorch computes f32, and `tf32` burn's tensor-core default.
//! Running every tensor in bf16 instead is unusable: positions and rotary angles lose their low
//! bits, and on an H200 the reference's parity outputs then differed by up to 340 % (measured
//! 2026-11-27).
//!
//! burn 0.21 fixes a device's float type per process, so the choice is not a backend type: it is
//! set for the duration of a job on the thread that runs it (see `device::dispatch`).

use std::cell::Cell;
use std::fmt;
use std::str::FromStr;

use burn::tensor::FloatDType;

use super::ModelError;

/// Precision of the model's matrix products; everything else is f32 (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// f32 multiply-adds, as the reference computes (on a GPU: no tensor cores, slowest).
    #[default]
    F32,
    /// f32 inputs rounded to TF32 on tensor cores (burn's GPU default); f32 on the CPU.
    Tf32,
    /// bf16 inputs, f32 accumulation: tensor cores on a GPU; AMX tiles or AVX-512 BF16 on a CPU
    /// that has them (`bf16`), else f32 products of the rounded inputs.
    Bf16,
    /// f16 inputs, f32 accumulation; on a GPU attention runs as a flash kernel on tensor cores.
    F16,
}

impl FromStr for Precision {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f32" | "fp32" | "float32" => Ok(Precision::F32),
            "tf32" => Ok(Precision::Tf32),
            "bf16" | "bfloat16" => Ok(Precision::Bf16),
            "f16" | "fp16" | "float16" | "half" => Ok(Precision::F16),
            other => Err(ModelError::Device(format!(
                "precision `{other}`: use f32, tf32, bf16 or f16"
            ))),
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::Tf32 => "tf32",
            Precision::Bf16 => "bf16",
            Precision::F16 => "f16",
        })
    }
}

thread_local! {
    static PRODUCTS: Cell<Precision> = const { Cell::new(Precision::F32) };
}

/// The precision of matrix products of the job running on this thread.
pub fn products() -> Precision {
    PRODUCTS.with(Cell::get)
}

/// Sets this thread's product precision until the guard drops.
pub struct Products {
    previous: Precision,
}

impl Products {
    pub fn set(precision: Precision) -> Self {
        let previous = PRODUCTS.with(|c| c.replace(precision));
        Products { previous }
    }
}

impl Drop for Products {
    fn drop(&mut self) {
        PRODUCTS.with(|c| c.set(self.previous));
    }
}

/// True when this thread's products round their inputs to a half type (bf16 or f16).
pub fn half_products() -> bool {
    half_type().is_some()
}

/// The half type products are rounded to, if any.
pub(super) fn half_type() -> Option<FloatDType> {
    match products() {
        Precision::Bf16 => Some(FloatDType::BF16),
        Precision::F16 => Some(FloatDType::F16),
        Precision::F32 | Precision::Tf32 => None,
    }
}
