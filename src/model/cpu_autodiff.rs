//! What the CPU autodiff operations of one input (`training_gelu`, `training_rope`) share: recording
//! the operation with its state in the forward pass, and turning the output's gradient into the
//! input's in the backward pass, both on the tensors' values.

use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Tensor, TensorPrimitive};
use burn_flex::FlexTensor;

use super::{tensor_from, tensor_values, Cpu, CpuAutodiff};

/// `forward` applied to the values of `x` (the output has `x`'s shape), recorded as `op` with the
/// state `state` makes of `x` for the backward pass.
pub(super) fn record_unary<Op: Backward<Cpu, 1>, const D: usize>(
    op: Op,
    x: Tensor<CpuAutodiff, D>,
    forward: impl FnOnce(Vec<f32>) -> Vec<f32>,
    state: impl FnOnce(FloatTensor<Cpu>) -> Op::State,
) -> Tensor<CpuAutodiff, D> {
    let shape = x.dims();
    let device = x.device();
    let x = x.into_primitive().tensor();
    let input = Tensor::<Cpu, D>::from_primitive(TensorPrimitive::Float(x.primitive.clone()));
    let out = tensor_from::<Cpu, D>(forward(tensor_values(input)), shape, &device)
        .into_primitive()
        .tensor();
    let prepared = op
        .prepare::<NoCheckpointing>([x.node.clone()])
        .compute_bound()
        .stateful();
    let result = match prepared {
        OpsKind::Tracked(prep) => prep.finish(state(x.primitive), out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    Tensor::from_primitive(TensorPrimitive::Float(result))
}

/// The backward step of a unary operation: `gradient` turns the output's gradient (its values),
/// the operation's state and the shape into the input's gradient, registered for the input.
pub(super) fn unary_backward<S, const D: usize>(
    ops: Ops<S, 1>,
    grads: &mut Gradients,
    gradient: impl FnOnce(Vec<f32>, S, [usize; D]) -> Vec<f32>,
) {
    let [parent] = ops.parents;
    let grad = grads.consume::<Cpu>(&ops.node);
    let Some(parent) = parent else {
        return;
    };
    let grad = Tensor::<Cpu, D>::from_primitive(TensorPrimitive::Float(grad));
    let (shape, device) = (grad.dims(), grad.device());
    let dx = gradient(tensor_values(grad), ops.state, shape);
    let dx = tensor_from::<Cpu, D>(dx, shape, &device)
        .into_primitive()
        .tensor();
    grads.register::<Cpu>(parent.id, dx);
}

/// `f` applied to the values of an f32 tensor, without a copy where they lie contiguous in
/// memory.
pub(super) fn with_values<R>(t: &FlexTensor, f: impl FnOnce(&[f32]) -> R) -> R {
    match t.as_slice::<f32>() {
        Some(values) => f(values),
        None => f(t
            .to_contiguous()
            .as_slice::<f32>()
            .expect("the CPU operations' tensors are f32")),
    }
}
