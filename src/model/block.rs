//! Pre-LayerNorm transformer block: `x + attn(norm1(x) → context)`, then `x + mlp(norm2(x))`.
//! With `norm_kv` it is the reference's Perceiver block (the context is another token set,
//! normalised by its own LayerNorm); without, the context is normalised by `norm1` like the
//! tokens themselves (self-attention, possibly restricted to anchors or to the other branch).

use burn::module::Module;
use burn::nn::LayerNorm;
use burn::tensor::{backend::Backend, Tensor};

use super::attention::{Attention, KeysValues};
use super::embedding::RopeAngles;
use super::mlp::Mlp;
use super::ops;
use super::params::ParamSource;
use super::tangent::{self, Dual};
use super::ModelError;

#[derive(Module, Debug)]
pub struct Block<B: Backend> {
    pub norm1: LayerNorm<B>,
    pub norm_kv: Option<LayerNorm<B>>,
    pub attn: Attention<B>,
    pub norm2: LayerNorm<B>,
    pub mlp: Mlp<B>,
    #[module(skip)]
    eps: f64,
}

/// Shape of a block, as the reference names its parameters.
#[derive(Debug, Clone, Copy)]
pub struct BlockSpec {
    pub dim: usize,
    pub heads: usize,
    pub mlp_ratio: usize,
    pub eps: f64,
    /// Perceiver block (`norm1q`, `norm1kv`, `attn.q`, `attn.kv`).
    pub cross: bool,
}

impl<B: Backend> Block<B> {
    pub fn init(
        source: &mut ParamSource,
        prefix: &str,
        spec: BlockSpec,
        device: &B::Device,
    ) -> Result<Self, ModelError> {
        let d = spec.dim;
        let (norm1, norm_kv) = if spec.cross {
            (
                source.layer_norm(&format!("{prefix}.norm1q"), d, spec.eps, device)?,
                Some(source.layer_norm(&format!("{prefix}.norm1kv"), d, spec.eps, device)?),
            )
        } else {
            (
                source.layer_norm(&format!("{prefix}.norm1"), d, spec.eps, device)?,
                None,
            )
        };
        let attn = Attention::init(
            source,
            &format!("{prefix}.attn"),
            d,
            spec.heads,
            !spec.cross,
            device,
        )?;
        Ok(Block {
            norm1,
            norm_kv,
            attn,
            norm2: source.layer_norm(&format!("{prefix}.norm2"), d, spec.eps, device)?,
            mlp: Mlp::init(
                source,
                &format!("{prefix}.mlp"),
                ["fc1", "fc2"],
                [d, d * spec.mlp_ratio, d],
                device,
            )?,
            eps: spec.eps,
        })
    }

    /// Keys and values of the tokens this block's queries attend to.
    pub fn context(&self, tokens: Tensor<B, 2>, rope: &RopeAngles<B>) -> KeysValues<B> {
        let norm = self.norm_kv.as_ref().unwrap_or(&self.norm1);
        self.attn
            .keys_values(ops::layer_norm(norm, self.eps, tokens), rope)
    }

    pub fn forward(
        &self,
        x: Tensor<B, 2>,
        rope: &RopeAngles<B>,
        context: &KeysValues<B>,
    ) -> Tensor<B, 2> {
        let normed = ops::layer_norm(&self.norm1, self.eps, x.clone());
        let x = x + self.attn.forward(normed, rope, context);
        let normed = ops::layer_norm(&self.norm2, self.eps, x.clone());
        x + self.mlp.forward(normed)
    }

    pub fn forward_dual(
        &self,
        x: Dual<B>,
        rope: &RopeAngles<B>,
        rates: &Tensor<B, 5>,
        context: &KeysValues<B>,
    ) -> Dual<B> {
        let attended = self.attn.forward_dual(
            tangent::layer_norm(&self.norm1, self.eps, x.clone()),
            rope,
            rates,
            context,
        );
        let x = x + attended;
        let mlp = self
            .mlp
            .forward_dual(tangent::layer_norm(&self.norm2, self.eps, x.clone()));
        x + mlp
    }
}
