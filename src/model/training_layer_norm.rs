//! LayerNorm over the last axis of `[rows, dim]` tokens as one autodiff operation for training
//! on the CPU backend.
//!
//! burn's LayerNorm is its element-wise pieces: mean, centring, variance, division, scaling and
//! shift, each a pass over the tokens with a fresh buffer, and under autodiff each with its
//! backward step. The scaling by γ and the shift by β broadcast a `[dim]` vector over the rows,
//! and burn-flex's generic binary kernel walks a broadcast operand index by index: the largest
//! "strided iteration" share of the `small` training step's profile (docs/performance.md). Here
//! the forward is one pass per row, and the backward one pass per row that recomputes the row's
//! mean and spread instead of keeping them:
//!
//! with `x̂ = (x − μ)·r`, `r = 1/√(σ² + ε)`, `y = x̂·γ + β` and the incoming gradient `g`:
//! `dβ = Σ_rows g`, `dγ = Σ_rows g·x̂`, `dx = r·(g·γ − mean(g·γ) − x̂·mean(g·γ·x̂))`.

use std::any::TypeId;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::nn::LayerNorm;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{backend::Backend, Tensor, TensorPrimitive};
use rayon::prelude::*;

use super::cpu_autodiff::with_values;
use super::training_attention::same;
use super::{tensor_from, tensor_values, Cpu, CpuAutodiff};

/// Rows per parallel task.
const ROWS_PER_TASK: usize = 256;

/// Where this operation runs: the CPU backend with autodiff. Inference keeps burn's LayerNorm:
/// one pass of our own measured slower there than burn's operations (the copies out of and back
/// into tensors cost more than the passes they save; `bench model --preset small`, 2026-12-07).
pub fn serves<B: Backend>() -> bool {
    TypeId::of::<B>() == TypeId::of::<CpuAutodiff>()
}

/// `norm` applied to `x` (`[rows, dim]`), differentiable in x, γ and β; `B` must be a backend
/// [`serves`] accepts and `norm` must have a β (the model's LayerNorms all do).
pub fn layer_norm<B: Backend>(norm: &LayerNorm<B>, eps: f64, x: Tensor<B, 2>) -> Tensor<B, 2> {
    let (gamma, beta) = match &norm.beta {
        Some(beta) => (norm.gamma.val(), beta.val()),
        None => return norm.forward(x),
    };
    same(tracked(same(x), same(gamma), same(beta), eps))
}

/// `1/√(σ² + ε)` and the mean of one row (σ² the biased variance, as burn's LayerNorm).
fn row_stats(row: &[f32], eps: f64) -> (f32, f32) {
    let n = row.len().max(1) as f32;
    let mean = row.iter().sum::<f32>() / n;
    let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    (mean, 1.0 / (var + eps as f32).sqrt())
}

fn forward(x: &[f32], gamma: &[f32], beta: &[f32], dim: usize, eps: f64) -> Vec<f32> {
    let mut out = vec![0.0f32; x.len()];
    out.par_chunks_mut(dim * ROWS_PER_TASK)
        .zip(x.par_chunks(dim * ROWS_PER_TASK))
        .for_each(|(out, x)| {
            for (y, row) in out.chunks_exact_mut(dim).zip(x.chunks_exact(dim)) {
                let (mean, r) = row_stats(row, eps);
                for (((y, &v), &g), &b) in y.iter_mut().zip(row).zip(gamma).zip(beta) {
                    *y = (v - mean) * r * g + b;
                }
            }
        });
    out
}

/// The gradients of x, γ and β from the incoming gradient `grad`.
fn backward(
    x: &[f32],
    gamma: &[f32],
    grad: &[f32],
    dim: usize,
    eps: f64,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut dx = vec![0.0f32; x.len()];
    let (dgamma, dbeta) = dx
        .par_chunks_mut(dim * ROWS_PER_TASK)
        .zip(x.par_chunks(dim * ROWS_PER_TASK))
        .zip(grad.par_chunks(dim * ROWS_PER_TASK))
        .map(|((dx, x), grad)| {
            let mut dgamma = vec![0.0f32; dim];
            let mut dbeta = vec![0.0f32; dim];
            let mut xhat = vec![0.0f32; dim];
            for ((dx, row), g) in dx
                .chunks_exact_mut(dim)
                .zip(x.chunks_exact(dim))
                .zip(grad.chunks_exact(dim))
            {
                let (mean, r) = row_stats(row, eps);
                let (mut m1, mut m2) = (0.0f32, 0.0f32);
                for j in 0..dim {
                    xhat[j] = (row[j] - mean) * r;
                    dbeta[j] += g[j];
                    dgamma[j] += g[j] * xhat[j];
                    let dxhat = g[j] * gamma[j];
                    m1 += dxhat;
                    m2 += dxhat * xhat[j];
                }
                let n = dim as f32;
                let (m1, m2) = (m1 / n, m2 / n);
                for j in 0..dim {
                    dx[j] = r * (g[j] * gamma[j] - m1 - xhat[j] * m2);
                }
            }
            (dgamma, dbeta)
        })
        .reduce(
            || (vec![0.0f32; dim], vec![0.0f32; dim]),
            |(mut ga, mut ba), (gb, bb)| {
                ga.iter_mut().zip(gb).for_each(|(a, b)| *a += b);
                ba.iter_mut().zip(bb).for_each(|(a, b)| *a += b);
                (ga, ba)
            },
        );
    (dx, dgamma, dbeta)
}

fn cpu2(t: FloatTensor<Cpu>) -> Tensor<Cpu, 2> {
    Tensor::from_primitive(TensorPrimitive::Float(t))
}

fn tracked(
    x: Tensor<CpuAutodiff, 2>,
    gamma: Tensor<CpuAutodiff, 1>,
    beta: Tensor<CpuAutodiff, 1>,
    eps: f64,
) -> Tensor<CpuAutodiff, 2> {
    let [rows, dim] = x.dims();
    let device = x.device();
    let (x, gamma, beta) = (
        x.into_primitive().tensor(),
        gamma.into_primitive().tensor(),
        beta.into_primitive().tensor(),
    );
    let out = with_values(&x.primitive, |xv| {
        with_values(&gamma.primitive, |g| {
            with_values(&beta.primitive, |b| forward(xv, g, b, dim, eps))
        })
    });
    let out = tensor_from::<Cpu, 2>(out, [rows, dim], &device)
        .into_primitive()
        .tensor();
    let prepared = LayerNormOp { eps }
        .prepare::<NoCheckpointing>([x.node.clone(), gamma.node.clone(), beta.node.clone()])
        .compute_bound()
        .stateful();
    let result = match prepared {
        OpsKind::Tracked(prep) => prep.finish((x.primitive, gamma.primitive), out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    Tensor::from_primitive(TensorPrimitive::Float(result))
}

/// The backward step of a LayerNorm.
#[derive(Debug)]
struct LayerNormOp {
    eps: f64,
}

impl Backward<Cpu, 3> for LayerNormOp {
    /// The input and γ.
    type State = (FloatTensor<Cpu>, FloatTensor<Cpu>);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = cpu2(grads.consume::<Cpu>(&ops.node));
        let (x, gamma) = ops.state;
        let ([rows, dim], device) = (grad.dims(), grad.device());
        let grad = tensor_values(grad);
        let (dx, dgamma, dbeta) = with_values(&x, |xv| {
            with_values(&gamma, |g| backward(xv, g, &grad, dim, self.eps))
        });
        if let Some(node) = node_x {
            let t = tensor_from::<Cpu, 2>(dx, [rows, dim], &device);
            grads.register::<Cpu>(node.id, t.into_primitive().tensor());
        }
        for (node, values) in [(node_gamma, dgamma), (node_beta, dbeta)] {
            if let Some(node) = node {
                let t = tensor_from::<Cpu, 1>(values, [dim], &device);
                grads.register::<Cpu>(node.id, t.into_primitive().tensor());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::module::Param;
    use burn::nn::LayerNormConfig;
    use burn::tensor::Distribution;

    use super::*;

    /// A LayerNorm with γ and β away from 1 and 0.
    fn norm<B: Backend>(dim: usize, device: &B::Device) -> LayerNorm<B> {
        let mut norm = LayerNormConfig::new(dim).with_epsilon(1e-6).init(device);
        let values = |offset: f32| {
            (0..dim)
                .map(|j| offset + 0.1 * j as f32)
                .collect::<Vec<_>>()
        };
        norm.gamma = Param::from_tensor(tensor_from(values(0.5), [dim], device));
        norm.beta = Some(Param::from_tensor(tensor_from(values(-0.3), [dim], device)));
        norm
    }

    fn close(a: &[f32], b: &[f32], tol: f32, what: &str) {
        assert_eq!(a.len(), b.len(), "{what}");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= tol * (1.0 + y.abs()),
                "{what}[{i}]: {x} vs {y}"
            );
        }
    }

    /// Forward values and the gradients of x, γ and β against burn's own LayerNorm, over more
    /// rows than one parallel task.
    #[test]
    fn matches_burns_layer_norm_and_its_gradients() {
        let device = Default::default();
        let (rows, dim) = (ROWS_PER_TASK * 2 + 37, 24);
        let x =
            Tensor::<CpuAutodiff, 2>::random([rows, dim], Distribution::Normal(0.3, 2.0), &device);
        let weights = Tensor::<CpuAutodiff, 2>::random([rows, dim], Distribution::Default, &device);
        let run = |fused: bool| {
            let norm = norm::<CpuAutodiff>(dim, &device);
            let x = x.clone().detach().require_grad();
            let y = match fused {
                true => layer_norm(&norm, 1e-6, x.clone()),
                false => norm.forward(x.clone()),
            };
            let grads = (y.clone() * weights.clone()).sum().backward();
            let grad = |t: Tensor<CpuAutodiff, 1>| tensor_values(t.grad(&grads).unwrap());
            (
                tensor_values(y.inner()),
                tensor_values(x.grad(&grads).unwrap()),
                grad(norm.gamma.val()),
                grad(norm.beta.as_ref().unwrap().val()),
            )
        };
        let (ours, theirs) = (run(true), run(false));
        close(&ours.0, &theirs.0, 1e-5, "y");
        close(&ours.1, &theirs.1, 1e-4, "dx");
        close(&ours.2, &theirs.2, 1e-4, "dgamma");
        close(&ours.3, &theirs.3, 1e-4, "dbeta");
    }
}
