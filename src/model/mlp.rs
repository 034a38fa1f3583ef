//! Two Linear layers with an exact GELU between them.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{backend::Backend, Tensor};

use super::cpu_mlp;
use super::ops;
use super::params::ParamSource;
use super::tangent::{self, Dual};
use super::training_attention::same;
use super::ModelError;

#[derive(Module, Debug)]
pub struct Mlp<B: Backend> {
    pub fc1: Linear<B>,
    pub fc2: Linear<B>,
}

impl<B: Backend> Mlp<B> {
    /// `names` are the reference's names of the two layers (`fc1`/`fc2` in blocks, `0`/`2` in
    /// `nn.Sequential`s).
    pub fn init(
        source: &mut ParamSource,
        prefix: &str,
        names: [&str; 2],
        dims: [usize; 3],
        device: &B::Device,
    ) -> Result<Self, ModelError> {
        Ok(Mlp {
            fc1: source.linear(&format!("{prefix}.{}", names[0]), dims[0], dims[1], device)?,
            fc2: source.linear(&format!("{prefix}.{}", names[1]), dims[1], dims[2], device)?,
        })
    }

    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        if D == 2 {
            let rows: Tensor<B, 2> = same(x.clone());
            if let Some(y) = cpu_mlp::forward(&self.fc1, &self.fc2, rows) {
                return same(y);
            }
        }
        ops::linear(&self.fc2, ops::gelu(ops::linear(&self.fc1, x)))
    }

    pub fn forward_dual(&self, x: Dual<B>) -> Dual<B> {
        tangent::linear(&self.fc2, tangent::gelu(tangent::linear(&self.fc1, x)))
    }
}
