//! The numerical operations of the model's forward pass (linear layers, batched products,
//! attention, GELU, LayerNorm), each computed the way this thread's [`Precision`] and the backend call for:
//! burn's own operation, slipstream's fused CPU kernels (`cpu_kernels`, `bf16`), its autodiff
//! operations for CPU training (`training_attention`, `training_gelu`, `training_layer_norm`), or exact-f32 GPU kernels
//! (`gpu_ops`). The model's modules call these instead of burn's directly; what `--precision`
//! means lives in `precision`.

use burn::nn::{LayerNorm, Linear};
use burn::tensor::{
    activation, backend::Backend, module, ops::AttentionModuleOptions, FloatDType, Tensor,
};

use super::precision::{half_products, half_type, products, Precision};
use super::{tensor_from, tensor_values};

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
        Some(FloatDType::BF16) if on_cpu::<B>() => return cpu_linear_bf16(layer, x),
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

/// `x · W + b` (`W` `[k, n]`, `x` `[…, k]`) with both product inputs rounded to bf16 and f32
/// sums, on the CPU: on its bf16 unit where the CPU has one ([`super::bf16`]: AMX tiles or
/// AVX-512 BF16, the bias added as the sums leave the unit), else as f32 products of the
/// rounded values (the same numbers, at f32 speed, instead of burn's generic bf16 kernels).
fn cpu_linear_bf16<B: Backend, const D: usize>(layer: &Linear<B>, x: Tensor<B, D>) -> Tensor<B, D> {
    let mut shape = x.dims();
    let [k, n] = layer.weight.dims();
    let m = shape[..D - 1].iter().product::<usize>();
    shape[D - 1] = n;
    let device = x.device();
    let (mut a, mut w) = (
        super::tensor_values(x),
        super::tensor_values(layer.weight.val()),
    );
    let bias = layer.bias.as_ref().map(|b| super::tensor_values(b.val()));
    if super::bf16::available() {
        let mut c = vec![0.0f32; m * n];
        let packed = super::bf16::PackedB::new(&w, k, n);
        super::bf16::matmul_bf16(&a, m, k, &packed, bias.as_deref().unwrap_or(&[]), &mut c);
        return super::tensor_from(c, shape, &device);
    }
    round_to_bf16(&mut a);
    round_to_bf16(&mut w);
    let a = super::tensor_from::<B, 2>(a, [m, k], &device);
    let w = super::tensor_from::<B, 2>(w, [k, n], &device);
    let y = a.matmul(w).reshape(shape);
    match bias {
        Some(b) => y + super::tensor_from::<B, 1>(b, [n], &device).unsqueeze::<D>(),
        None => y,
    }
}

fn round_to_bf16(values: &mut [f32]) {
    values
        .iter_mut()
        .for_each(|v| *v = super::bf16::round_to_bf16(*v));
}

/// Rounds the inputs of a fused CPU attention to this thread's product precision (bf16 when
/// `--precision bf16`, else unchanged), as autocast rounds the inputs of attention. On a bf16
/// unit there is nothing to do: the attention rounds its inputs as it packs them.
pub fn round_attention_inputs(values: &mut [f32]) {
    if products() == Precision::Bf16 && !super::bf16::available() {
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

/// LayerNorm of `[rows, dim]` tokens. On the CPU backend with autodiff (training) one operation of
/// our own (`training_layer_norm`); elsewhere burn's.
pub fn layer_norm<B: Backend>(norm: &LayerNorm<B>, eps: f64, x: Tensor<B, 2>) -> Tensor<B, 2> {
    if super::training_layer_norm::serves::<B>() {
        return super::training_layer_norm::layer_norm(norm, eps, x);
    }
    norm.forward(x)
}

/// Exact-erf GELU, `x · Φ(x)`.
/// On the CPU backend with autodiff (training) it is one autodiff operation of our own
/// (`training_gelu`), on other backends burn's.
pub fn gelu<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    if super::training_gelu::serves::<B>() {
        return super::training_gelu::gelu(x);
    }
    if !super::cpu_kernels::applies::<B>() {
        return activation::gelu(x);
    }
    let shape = x.dims();
    let device = x.device();
    let mut values = tensor_values(x);
    super::cpu_kernels::gelu_in_place(&mut values);
    tensor_from(values, shape, &device)
}
