//! Multi-head attention with RoPE where keys and values come from a context that is computed
//! once (anchors or geometry) and the queries are any tokens: the pattern every AB-UPT attention
//! follows, which is what lets queries stream in chunks.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{activation, backend::Backend, Tensor};

use super::embedding::{rotate, rotate_tangent, RopeAngles};
use super::params::ParamSource;
use super::tangent::{self, Dual};
use super::ModelError;

/// Rotated keys and values `[1, heads, K, head_dim]` of a context.
#[derive(Debug, Clone)]
pub struct KeysValues<B: Backend> {
    pub keys: Tensor<B, 4>,
    pub values: Tensor<B, 4>,
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
        let kv = self.kv.forward(context);
        KeysValues {
            keys: rotate(self.split_heads(kv.clone().narrow(1, 0, dim)), rope),
            values: self.split_heads(kv.narrow(1, dim, dim)),
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
        let q = rotate(self.split_heads(self.q.forward(x)), rope);
        let out = attention(
            q,
            context.keys.clone(),
            context.values.clone(),
            None,
            None,
            AttentionModuleOptions::default(),
        );
        self.proj.forward(Self::merge_heads(out).reshape([n, dim]))
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
        let k_len = context.keys.dims()[2];
        let scale = 1.0 / (hd as f64).sqrt();
        let keys_t = context.keys.clone().swap_dims(2, 3);
        let probs = activation::softmax(q_value.matmul(keys_t.clone()) * scale, 3);
        let out = probs.clone().matmul(context.values.clone());
        // Tangents as extra rows: [3, h, n, hd] → [1, h, 3n, hd].
        let dq = dq.swap_dims(0, 1).reshape([1, h, 3 * n, hd]);
        let ds = dq.matmul(keys_t).reshape([h, 3, n, k_len]) * scale;
        let weighted = probs.reshape([h, 1, n, k_len]) * ds;
        let row_sum = weighted.clone().sum_dim(3);
        let d_out = weighted
            .reshape([1, h, 3 * n, k_len])
            .matmul(context.values.clone())
            .reshape([h, 3, n, hd])
            - row_sum * out.clone().reshape([h, 1, n, hd]);
        let merged = Dual {
            value: Self::merge_heads(out).reshape([n, dim]),
            tangent: Self::merge_heads(d_out.swap_dims(0, 1)),
        };
        tangent::linear(&self.proj, merged)
    }
}
