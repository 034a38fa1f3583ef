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

use burn::nn::Linear;
use burn::tensor::{backend::Backend, module, ops::AttentionModuleOptions, FloatDType, Tensor};

use super::ModelError;

/// Precision of the model's matrix products; everything else is f32 (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// f32 multiply-adds, as the reference computes (on a GPU: no tensor cores, slowest).
    #[default]
    F32,
    /// f32 inputs rounded to TF32 on tensor cores (burn's GPU default); f32 on the CPU.
    Tf32,
    /// bf16 inputs, f32 accumulation: tensor cores on a GPU; AMX tiles on a CPU that has them
    /// (`amx`), else f32 products of the rounded inputs.
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
fn half_type() -> Option<FloatDType> {
    match products() {
        Precision::Bf16 => Some(FloatDType::BF16),
        Precision::F16 => Some(FloatDType::F16),
        Precision::F32 | Precision::Tf32 => None,
    }
}

/// True when products must be true f32 on a backend whose default rounds them (TF32).
#[cfg(feature = "gpu-kernels")]
fn exact_f32_kernels<B: Backend>() -> bool {
    products() == Precision::F32 && super::gpu_ops::serves::<B>()
}

/// Without GPU backends every backend's f32 products are f32.
#[cfg(not(feature = "gpu-kernels"))]
#[allow(clippy::extra_unused_type_parameters)]
fn exact_f32_kernels<B: Backend>() -> bool {
    false
}

/// `x · Wᵀ + b`, with the product in the chosen precision.
pub fn linear<B: Backend, const D: usize>(layer: &Linear<B>, x: Tensor<B, D>) -> Tensor<B, D> {
    let y = match half_type() {
        None if !exact_f32_kernels::<B>() => return layer.forward(x),
        None => matmul(x, layer.weight.val().unsqueeze::<D>()),
        Some(FloatDType::BF16) if on_cpu::<B>() => cpu_product_bf16(x, layer.weight.val()),
        Some(half) => {
            let weight = layer.weight.val().cast(half).unsqueeze::<D>();
            x.cast(half).matmul(weight).cast(FloatDType::F32)
        }
    };
    match &layer.bias {
        Some(bias) => y + bias.val().unsqueeze::<D>(),
        None => y,
    }
}

/// True for the plain CPU backend (inference).
fn on_cpu<B: Backend>() -> bool {
    std::any::TypeId::of::<B>() == std::any::TypeId::of::<super::Cpu>()
}

/// `x · w` (`w` `[k, n]`, `x` `[…, k]`) with both rounded to bf16 and f32 sums, on the CPU:
/// on AMX tiles where the CPU has them ([`super::amx`]), else as f32 products of the rounded
/// values (the same numbers, at f32 speed, instead of burn's generic bf16 kernels).
fn cpu_product_bf16<B: Backend, const D: usize>(x: Tensor<B, D>, w: Tensor<B, 2>) -> Tensor<B, D> {
    let mut shape = x.dims();
    let [k, n] = w.dims();
    let m = shape[..D - 1].iter().product::<usize>();
    shape[D - 1] = n;
    let device = x.device();
    let (mut a, mut b) = (super::tensor_values(x), super::tensor_values(w));
    if super::amx::available() {
        let mut c = vec![0.0f32; m * n];
        super::amx::matmul_bf16(&a, m, k, &super::amx::PackedB::new(&b, k, n), &mut c);
        return super::tensor_from(c, shape, &device);
    }
    round_to_bf16(&mut a);
    round_to_bf16(&mut b);
    let a = super::tensor_from::<B, 2>(a, [m, k], &device);
    let b = super::tensor_from::<B, 2>(b, [k, n], &device);
    a.matmul(b).reshape(shape)
}

fn round_to_bf16(values: &mut [f32]) {
    values
        .iter_mut()
        .for_each(|v| *v = super::amx::round_to_bf16(*v));
}

/// Rounds the inputs of a fused CPU attention to this thread's product precision (bf16 when
/// `--precision bf16`, else unchanged), as autocast rounds the inputs of attention.
pub fn round_attention_inputs(values: &mut [f32]) {
    if products() == Precision::Bf16 {
        round_to_bf16(values);
    }
}

/// Scaled dot-product attention of `[batch, heads, n, head_dim]` tensors in the chosen
/// precision (half-precision kernels accumulate in f32).
pub fn attention<B: Backend>(q: Tensor<B, 4>, k: Tensor<B, 4>, v: Tensor<B, 4>) -> Tensor<B, 4> {
    let [batch, heads, queries, _] = q.dims();
    if queries == 0 {
        // No rows to attend from; the blocked and pieced kernels below would concatenate none.
        return Tensor::zeros([batch, heads, 0, v.dims()[3]], &q.device());
    }
    let options = AttentionModuleOptions::default();
    if !half_products() && super::training_attention::serves::<B>() {
        return super::training_attention::attention(q, k, v);
    }
    #[cfg(feature = "gpu-kernels")]
    if super::gpu_ops::serves::<B>() {
        match products() {
            Precision::F16 => return super::gpu_ops::flash_attention_f16(q, k, v),
            Precision::F32 => {
                let scale = 1.0 / (q.dims()[3] as f64).sqrt();
                let scores = matmul(q, k.swap_dims(2, 3)) * scale;
                return matmul(burn::tensor::activation::softmax(scores, 3), v);
            }
            Precision::Tf32 | Precision::Bf16 => {}
        }
    }
    match half_type() {
        None => module::attention(q, k, v, None, None, options),
        Some(half) => {
            let h = |t: Tensor<B, 4>| t.cast(half);
            module::attention(h(q), h(k), h(v), None, None, options).cast(FloatDType::F32)
        }
    }
}

/// `a · b` (batched), in the chosen precision.
pub fn matmul<B: Backend, const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>) -> Tensor<B, D> {
    #[cfg(feature = "gpu-kernels")]
    if exact_f32_kernels::<B>() {
        return super::gpu_ops::matmul_f32(a, b);
    }
    match half_type() {
        None => a.matmul(b),
        Some(half) => a.cast(half).matmul(b.cast(half)).cast(FloatDType::F32),
    }
}
