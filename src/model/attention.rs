//! Multi-head attention with RoPE where keys and values come from a context that is computed
//! once (anchors or geometry) and the queries are any tokens: the pattern every AB-UPT attention
//! follows, which is what lets queries stream in chunks.

use std::sync::Arc;

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{activation, backend::Backend, Tensor};

use super::cpu_kernels;
use super::embedding::{rotate, rotate_tangent, RopeAngles};
use super::ops;
use super::params::ParamSource;
use super::precision::half_products;
use super::tangent::{self, Dual};
use super::ModelError;
use super::{tensor_from, tensor_values};
use super::{training_attention, training_rope};

/// Rotated keys and values of a context: `[1, heads, K, head_dim]` tensors, or on the CPU
/// backend `[K, dim]` rows on the host for the fused kernels.
#[derive(Debug, Clone)]
pub enum KeysValues<B: Backend> {
    Tensors {
        keys: Tensor<B, 4>,
        values: Tensor<B, 4>,
    },
    Host {
        keys: Arc<Vec<f32>>,
        values: Arc<Vec<f32>>,
        device: B::Device,
    },
    /// `[K, dim]` rows (heads side by side) for CPU training's attention on rows.
    Rows {
        keys: Tensor<B, 2>,
        values: Tensor<B, 2>,
    },
}

/// The host angles for CPU training's attention on rows (`training_attention::attention_rows`),
/// where it runs: the CPU backend with autodiff (where the angles have training copies), f32
/// products.
fn rows_training<B: Backend>(rope: &RopeAngles<B>) -> Option<&training_rope::Angles> {
    rope.training().filter(|_| !half_products())
}

#[derive(Module, Debug)]
pub struct Attention<B: Backend> {
    pub q: Linear<B>,
    pub kv: Linear<B>,
    pub proj: Linear<B>,
    #[module(skip)]
    heads: usize,
}

impl<B: Backend> Attention<B> {
    /// `fused_qkv`: the reference stores one `qkv` Linear (self-attention) instead of `q` and
    /// `kv` (Perceiver cross-attention).
    pub fn init(
        source: &mut ParamSource,
        prefix: &str,
        dim: usize,
        heads: usize,
        fused_qkv: bool,
        device: &B::Device,
    ) -> Result<Self, ModelError> {
        let (q, kv) = if fused_qkv {
            source.qkv(&format!("{prefix}.qkv"), dim, device)?
        } else {
            (
                source.linear(&format!("{prefix}.q"), dim, dim, device)?,
                source.linear(&format!("{prefix}.kv"), dim, 2 * dim, device)?,
            )
        };
        Ok(Attention {
            q,
            kv,
            proj: source.linear(&format!("{prefix}.proj"), dim, dim, device)?,
            heads,
        })
    }

    fn split_heads<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, 4> {
        // [T?, N, dim] → [T, heads, N, head_dim] (T = 1 for values, 3 for tangents).
        let dims = x.dims();
        let (t, n, d) = if D == 2 {
            (1, dims[0], dims[1])
        } else {
            (dims[0], dims[1], dims[2])
        };
        x.reshape([t, n, self.heads, d / self.heads])
            .swap_dims(1, 2)
    }

    fn merge_heads(x: Tensor<B, 4>) -> Tensor<B, 3> {
        let [t, h, n, hd] = x.dims();
        x.swap_dims(1, 2).reshape([t, n, h * hd])
    }

    /// Keys and values of an already normalised context `[K, dim]`.
    pub fn keys_values(&self, context: Tensor<B, 2>, rope: &RopeAngles<B>) -> KeysValues<B> {
        let [_, dim] = context.dims();
        let device = context.device();
        let kv = ops::linear(&self.kv, context);
        if let Some((cos, sin)) = rope.host() {
            let kv = tensor_values(kv);
            let mut keys = Vec::with_capacity(kv.len() / 2);
            let mut values = Vec::with_capacity(kv.len() / 2);
            for row in kv.chunks_exact(2 * dim) {
                keys.extend_from_slice(&row[..dim]);
                values.extend_from_slice(&row[dim..]);
            }
            cpu_kernels::rotate_rows(&mut keys, cos, sin, dim / self.heads);
            ops::round_attention_inputs(&mut keys);
            ops::round_attention_inputs(&mut values);
            return KeysValues::Host {
                keys: Arc::new(keys),
                values: Arc::new(values),
                device,
            };
        }
        if let Some(angles) = rows_training::<B>(rope) {
            return KeysValues::Rows {
                keys: training_rope::rotate_rows(
                    kv.clone().narrow(1, 0, dim),
                    angles,
                    dim / self.heads,
                ),
                values: kv.narrow(1, dim, dim),
            };
        }
        KeysValues::Tensors {
            keys: rotate(self.split_heads(kv.clone().narrow(1, 0, dim)), rope),
            values: self.split_heads(kv.narrow(1, dim, dim)),
        }
    }

    /// `[1, heads, K, head_dim]` keys and values.
    fn kv_tensors(&self, context: &KeysValues<B>) -> (Tensor<B, 4>, Tensor<B, 4>) {
        match context {
            KeysValues::Tensors { keys, values } => (keys.clone(), values.clone()),
            KeysValues::Rows { keys, values } => (
                self.split_heads(keys.clone()),
                self.split_heads(values.clone()),
            ),
            KeysValues::Host {
                keys,
                values,
                device,
            } => {
                let dim = self.proj.weight.dims()[0];
                let rows = keys.len() / dim;
                (
                    self.split_heads(tensor_from::<B, 2>(keys.to_vec(), [rows, dim], device)),
                    self.split_heads(tensor_from::<B, 2>(values.to_vec(), [rows, dim], device)),
                )
            }
        }
    }

    /// Normalised tokens `[N, dim]` attend to `context`.
    pub fn forward(
        &self,
        x: Tensor<B, 2>,
        rope: &RopeAngles<B>,
        context: &KeysValues<B>,
    ) -> Tensor<B, 2> {
        let [n, dim] = x.dims();
        if let (
            Some((cos, sin)),
            KeysValues::Host {
                keys,
                values,
                device,
            },
        ) = (rope.host(), context)
        {
            let mut q = tensor_values(ops::linear(&self.q, x));
            cpu_kernels::rotate_rows(&mut q, cos, sin, dim / self.heads);
            ops::round_attention_inputs(&mut q);
            let out = cpu_kernels::attention_rows(&q, keys, values, self.heads, dim);
            return ops::linear(&self.proj, tensor_from::<B, 2>(out, [n, dim], device));
        }
        if let (Some(angles), KeysValues::Rows { keys, values }) =
            (rows_training::<B>(rope), context)
        {
            let q = training_rope::rotate_rows(ops::linear(&self.q, x), angles, dim / self.heads);
            let out =
                training_attention::attention_rows(q, keys.clone(), values.clone(), self.heads);
            return ops::linear(&self.proj, out);
        }
        let q = rotate(self.split_heads(ops::linear(&self.q, x)), rope);
        let (keys, values) = self.kv_tensors(context);
        let out = ops::attention(q, keys, values);
        ops::linear(&self.proj, Self::merge_heads(out).reshape([n, dim]))
    }

    /// [`forward`](Self::forward) with tangents. With `P = softmax(s)`, `s = q·kᵀ/√d` and
    /// constant keys and values: `ds = dq·kᵀ/√d`, `d(P·v) = (P⊙ds)·v − rowsum(P⊙ds)·(P·v)`.
    pub fn forward_dual(
        &self,
        x: Dual<B>,
        rope: &RopeAngles<B>,
        rates: &Tensor<B, 5>,
        context: &KeysValues<B>,
    ) -> Dual<B> {
        let [n, dim] = x.value.dims();
        let q = tangent::linear(&self.q, x);
        let q_value = rotate(self.split_heads(q.value), rope);
        let dq = rotate_tangent(q_value.clone(), self.split_heads(q.tangent), rope, rates);
        let [_, h, _, hd] = q_value.dims();
        let (keys, values) = self.kv_tensors(context);
        let k_len = keys.dims()[2];
        let scale = 1.0 / (hd as f64).sqrt();
        let keys_t = keys.swap_dims(2, 3);
        let probs = activation::softmax(ops::matmul(q_value, keys_t.clone()) * scale, 3);
        let out = ops::matmul(probs.clone(), values.clone());
        // Tangents as extra rows: [3, h, n, hd] → [1, h, 3n, hd].
        let dq = dq.swap_dims(0, 1).reshape([1, h, 3 * n, hd]);
        let ds = ops::matmul(dq, keys_t).reshape([h, 3, n, k_len]) * scale;
        let weighted = probs.reshape([h, 1, n, k_len]) * ds;
        let row_sum = weighted.clone().sum_dim(3);
        let d_out = ops::matmul(weighted.reshape([1, h, 3 * n, k_len]), values)
            .reshape([h, 3, n, hd])
            - row_sum * out.clone().reshape([h, 1, n, hd]);
        let merged = Dual {
            value: Self::merge_heads(out).reshape([n, dim]),
            tangent: Self::merge_heads(d_out.swap_dims(0, 1)),
        };
        tangent::linear(&self.proj, merged)
    }
}
