//! Exact GELU as one autodiff operation on the CPU backend. burn's GELU under autodiff is
//! recorded as its element-wise pieces (scalar `erff` per element, a product, a sum and their
//! backward steps): 2–3.4 % of a training step in `erff` alone and more in the element-wise
//! kernels and their buffers (profiles of 2026-12-07, Intel Xeon). Here the forward is the
//! vectorised inference kernel and the backward one vectorised pass, `grad · (Φ(x) + x·φ(x))`,
//! keeping only the input.

use std::any::TypeId;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::tensor::ops::FloatTensor;
use burn::tensor::{backend::Backend, Tensor, TensorPrimitive};

use super::cpu_autodiff::{record_unary, unary_backward};
use super::cpu_kernels::{gelu_backward_in_place, gelu_in_place};
use super::training_attention::same;
use super::{tensor_values, Cpu, CpuAutodiff};

/// True when `B` is the CPU backend with autodiff and products are f32 (this operation's
/// domain).
pub fn serves<B: Backend>() -> bool {
    TypeId::of::<B>() == TypeId::of::<CpuAutodiff>() && !super::precision::half_products()
}

/// Exact GELU, differentiable; `B` must be a backend [`serves`] accepts.
pub fn gelu<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    same(gelu_cpu::<D>(same(x)))
}

fn gelu_cpu<const D: usize>(x: Tensor<CpuAutodiff, D>) -> Tensor<CpuAutodiff, D> {
    let forward = |mut values: Vec<f32>| {
        gelu_in_place(&mut values);
        values
    };
    record_unary(GeluOp::<D>, x, forward, |x| x)
}

/// The backward step of a rank-`D` GELU.
#[derive(Debug)]
struct GeluOp<const D: usize>;

impl<const D: usize> Backward<Cpu, 1> for GeluOp<D> {
    /// The input.
    type State = FloatTensor<Cpu>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        unary_backward::<_, D>(ops, grads, |mut g, x, _| {
            let x = tensor_values(Tensor::<Cpu, D>::from_primitive(TensorPrimitive::Float(x)));
            gelu_backward_in_place(&x, &mut g);
            g
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{activation, Distribution};

    /// Value and gradient equal burn's GELU's (erf to 5e-7, so a few 1e-7 of the scale).
    #[test]
    fn value_and_gradient_equal_burns() {
        let device = Default::default();
        let x = Tensor::<CpuAutodiff, 2>::random([70, 33], Distribution::Normal(0.0, 3.0), &device)
            .require_grad();
        let w = Tensor::<CpuAutodiff, 2>::random([70, 33], Distribution::Default, &device);
        assert!(serves::<CpuAutodiff>() && !serves::<Cpu>());
        let ours = gelu(x.clone());
        let theirs = activation::gelu(x.clone());
        let gap = |a: Tensor<Cpu, 2>, b: Tensor<Cpu, 2>| {
            let scale = b.clone().abs().max().into_scalar().max(1e-6);
            (a - b).abs().max().into_scalar() / scale
        };
        assert!(gap(ours.clone().inner(), theirs.clone().inner()) < 2e-6);
        let g_ours = x.grad(&(ours * w.clone()).sum().backward()).unwrap();
        let g_theirs = x.grad(&(theirs * w).sum().backward()).unwrap();
        let e = gap(g_ours, g_theirs);
        assert!(e < 2e-6, "gradient differs by {e:e} of its scale");
    }
}
