//! bf16 matrix products inside an f32 model, the way PyTorch's autocast runs the AB-UPT
//! reference: weights, positions, embeddings, normalisation and softmax stay in f32, and only the
//! inputs of the linear layers and of attention are rounded to bf16 (products accumulate in f32
//! on tensor cores). Running every tensor in bf16 instead is unusable: positions and rotary
//! angles lose their low bits, and on an H200 the reference's parity outputs then differed by up
//! to 340 % (measured 2026-11-27).
//!
//! burn 0.21 fixes a device's float type per process, so the switch is not a backend type: it is
//! set for the duration of a job on the thread that runs it (see `device::dispatch`).

use std::cell::Cell;

use burn::nn::Linear;
use burn::tensor::{backend::Backend, module, ops::AttentionModuleOptions, FloatDType, Tensor};

thread_local! {
    static BF16_PRODUCTS: Cell<bool> = const { Cell::new(false) };
}

/// True while a bf16 job runs on this thread.
pub fn bf16_products() -> bool {
    BF16_PRODUCTS.with(Cell::get)
}

/// Switches bf16 products on for this thread until the guard drops.
pub struct Bf16Products {
    previous: bool,
}

impl Bf16Products {
    pub fn enable(on: bool) -> Self {
        let previous = BF16_PRODUCTS.with(|c| c.replace(on));
        Bf16Products { previous }
    }
}

impl Drop for Bf16Products {
    fn drop(&mut self) {
        BF16_PRODUCTS.with(|c| c.set(self.previous));
    }
}

/// `x · Wᵀ + b`, with the product in bf16 when switched on.
pub fn linear<B: Backend, const D: usize>(layer: &Linear<B>, x: Tensor<B, D>) -> Tensor<B, D> {
    if !bf16_products() {
        return layer.forward(x);
    }
    let weight = layer.weight.val().cast(FloatDType::BF16).unsqueeze::<D>();
    let y = x
        .cast(FloatDType::BF16)
        .matmul(weight)
        .cast(FloatDType::F32);
    match &layer.bias {
        Some(bias) => y + bias.val().unsqueeze::<D>(),
        None => y,
    }
}

/// Scaled dot-product attention of `[batch, heads, n, head_dim]` tensors, in bf16 when switched
/// on (the kernel accumulates in f32).
pub fn attention<B: Backend>(q: Tensor<B, 4>, k: Tensor<B, 4>, v: Tensor<B, 4>) -> Tensor<B, 4> {
    let options = AttentionModuleOptions::default();
    if !bf16_products() {
        return module::attention(q, k, v, None, None, options);
    }
    let bf16 = |t: Tensor<B, 4>| t.cast(FloatDType::BF16);
    module::attention(bf16(q), bf16(k), bf16(v), None, None, options).cast(FloatDType::F32)
}

/// `a · b` (batched), in bf16 when switched on.
pub fn matmul<B: Backend, const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>) -> Tensor<B, D> {
    if !bf16_products() {
        return a.matmul(b);
    }
    a.cast(FloatDType::BF16)
        .matmul(b.cast(FloatDType::BF16))
        .cast(FloatDType::F32)
}
