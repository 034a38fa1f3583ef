//! One output branch of AB-UPT (surface or volume): the MLP that turns a position's sincos
//! embedding into the branch's first tokens, and after the shared trunk the branch's own
//! self-attention blocks and its linear head.
//!
//! The trunk between the two ends is shared by both branches and lives in [`super::AbUpt`].

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{backend::Backend, Tensor};

use super::attention::KeysValues;
use super::block::Block;
use super::embedding::RopeAngles;
use super::mlp::Mlp;
use super::ops;
use super::tangent::{self, Dual};

/// The two output branches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Branch {
    Surface,
    Volume,
}

impl Branch {
    /// Position in per-branch pairs (`[surface, volume]`).
    pub fn index(self) -> usize {
        match self {
            Branch::Surface => 0,
            Branch::Volume => 1,
        }
    }

    /// The reference's prefix for the branch's parameters (`surface_bias`, `volume_blocks.0`, …).
    pub fn name(self) -> &'static str {
        match self {
            Branch::Surface => "surface",
            Branch::Volume => "volume",
        }
    }
}

/// Built by [`super::AbUpt::build`], which creates every parameter in the reference's order
/// (both biases, the trunk, both branches' blocks, both heads) so that a seeded random
/// initialisation draws the same weights as the reference's.
#[derive(Module, Debug)]
pub struct BranchDecoder<B: Backend> {
    /// Sincos embedding of a position → the branch's first token (`<branch>_bias`).
    pub bias: Mlp<B>,
    /// Branch-only self-attention after the trunk (`<branch>_blocks.<i>`).
    pub blocks: Vec<Block<B>>,
    /// Token → output channels (`<branch>_decoder`).
    pub head: Linear<B>,
}

impl<B: Backend> BranchDecoder<B> {
    /// The branch's first tokens from the positions' sincos embeddings.
    pub fn embed(&self, embedded: Tensor<B, 2>) -> Tensor<B, 2> {
        self.bias.forward(embedded)
    }

    /// [`embed`](Self::embed) with derivatives along the physical axes.
    pub fn embed_dual(&self, embedded: Dual<B>) -> Dual<B> {
        self.bias.forward_dual(embedded)
    }

    /// The anchors' pass after the trunk: self-attention among themselves, recording what each
    /// block's queries saw, then the head. Returns the raw head output and the records.
    pub fn decode_anchors(
        &self,
        mut x: Tensor<B, 2>,
        rope: &RopeAngles<B>,
    ) -> (Tensor<B, 2>, Vec<KeysValues<B>>) {
        let mut contexts = Vec::with_capacity(self.blocks.len());
        for block in &self.blocks {
            let context = block.context(x.clone(), rope);
            x = block.forward(x, rope, &context);
            contexts.push(context);
        }
        (ops::linear(&self.head, x), contexts)
    }

    /// Queries after the trunk: each block attends to the anchors' recorded `contexts`; raw head
    /// output.
    pub fn decode(
        &self,
        mut x: Tensor<B, 2>,
        rope: &RopeAngles<B>,
        contexts: &[KeysValues<B>],
    ) -> Tensor<B, 2> {
        for (block, context) in self.blocks.iter().zip(contexts) {
            x = block.forward(x, rope, context);
        }
        ops::linear(&self.head, x)
    }

    /// [`decode`](Self::decode) with derivatives along the physical axes (`rates`: RoPE's angle
    /// rates per axis).
    pub fn decode_dual(
        &self,
        mut x: Dual<B>,
        rope: &RopeAngles<B>,
        rates: &Tensor<B, 5>,
        contexts: &[KeysValues<B>],
    ) -> Dual<B> {
        for (block, context) in self.blocks.iter().zip(contexts) {
            x = block.forward_dual(x, rope, rates, context);
        }
        tangent::linear(&self.head, x)
    }
}
