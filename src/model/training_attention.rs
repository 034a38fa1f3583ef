//! Attention for training whose backward pass recomputes the scores, block of query rows by block,
//! instead of keeping them. burn 0.21's autodiff records attention as product, softmax, product
//! and keeps every `[heads, queries, keys]` probability matrix until the backward pass: 12.9 GB for
//! one `drivaerml` training step at 2048 anchors on the CPU, and the whole 143 GB of an H200 at
//! 16,384 anchors (measured). Here the graph holds only q, k, v and the output; the backward pass
//! rebuilds one block of probabilities at a time (the flash-attention recipe):
//!
//! with `P = softmax(q·kᵀ·s)`, `o = P·v` and `D = rowsum(dO ⊙ o)`:
//! `dv = Pᵀ·dO`, `dS = P ⊙ (dO·vᵀ − D)`, `dq = dS·k·s`, `dk = dSᵀ·q·s`.
//!
//! It serves the autodiff backends over the inner backends slipstream runs (recognised by type);
//! others keep burn's recorded attention.

use std::any::{Any, TypeId};

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::Autodiff;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{activation, backend::Backend, Tensor, TensorPrimitive};

use super::cpu_autodiff::with_values;
use super::{tensor_from, tensor_values};

/// Probability elements held at once (per block of query rows): 2²⁴ floats, 64 MiB; a few
/// hundred in unit tests, so that they cross block boundaries.
const BLOCK_ELEMENTS: usize = if cfg!(test) { 600 } else { 1 << 24 };

/// True when `B` is an autodiff backend this attention serves.
pub fn serves<B: Backend>() -> bool {
    if over::<B, super::Cpu>() {
        return true;
    }
    #[cfg(feature = "cuda")]
    if over::<B, burn::backend::Cuda<f32>>() {
        return true;
    }
    #[cfg(feature = "wgpu")]
    if over::<B, burn::backend::Wgpu<f32>>() {
        return true;
    }
    false
}

/// Scaled dot-product attention (scale 1/√head_dim) of `[batch, heads, n, head_dim]` tensors,
/// differentiable in q, k and v. `B` must be a backend [`serves`] accepts, and n > 0
/// (`ops::attention` answers zero rows itself).
pub fn attention<B: Backend>(q: Tensor<B, 4>, k: Tensor<B, 4>, v: Tensor<B, 4>) -> Tensor<B, 4> {
    if over::<B, super::Cpu>() {
        return on::<B, super::Cpu>(q, k, v);
    }
    #[cfg(feature = "cuda")]
    if over::<B, burn::backend::Cuda<f32>>() {
        return on::<B, burn::backend::Cuda<f32>>(q, k, v);
    }
    #[cfg(feature = "wgpu")]
    if over::<B, burn::backend::Wgpu<f32>>() {
        return on::<B, burn::backend::Wgpu<f32>>(q, k, v);
    }
    burn::tensor::module::attention(q, k, v, None, None, Default::default())
}

/// True when `B` is burn's autodiff over `I`.
fn over<B: Backend, I: Backend>() -> bool {
    TypeId::of::<B>() == TypeId::of::<Autodiff<I>>()
}

/// `value` as type `T`, which the caller has checked it is (the autodiff operations of this
/// module and `training_gelu` recognise their backend by type).
pub(super) fn same<T: 'static, U: 'static>(value: U) -> T {
    let boxed: Box<dyn Any> = Box::new(value);
    *boxed.downcast::<T>().expect("types checked by the caller")
}

fn on<B: Backend, I: Backend>(q: Tensor<B, 4>, k: Tensor<B, 4>, v: Tensor<B, 4>) -> Tensor<B, 4> {
    same(recomputing_attention::<I>(same(q), same(k), same(v)))
}

fn inner<I: Backend>(t: &FloatTensor<I>) -> Tensor<I, 4> {
    Tensor::from_primitive(TensorPrimitive::Float(t.clone()))
}

fn primitive<I: Backend>(t: Tensor<I, 4>) -> FloatTensor<I> {
    t.into_primitive().tensor()
}

/// Query rows per block so that a block's probabilities stay within `budget` elements.
fn block_rows(budget: usize, batch_heads: usize, keys: usize, queries: usize) -> usize {
    (budget / (batch_heads * keys).max(1)).clamp(1, queries.max(1))
}

fn scale(head_dim: usize) -> f64 {
    1.0 / (head_dim as f64).sqrt()
}

/// True when the inner backend is the CPU backend, whose memory the fused kernels work on (unit
/// tests can turn them off to test the generic path on the CPU).
fn on_cpu<I: Backend>() -> bool {
    #[cfg(test)]
    if tests::GENERIC_ONLY.with(std::cell::Cell::get) {
        return false;
    }
    TypeId::of::<I>() == TypeId::of::<super::Cpu>()
}

/// Forward on the inner backend, one block of query rows at a time (on the CPU, each head
/// through the fused inference kernels).
fn forward<I: Backend>(q: Tensor<I, 4>, k: Tensor<I, 4>, v: Tensor<I, 4>) -> Tensor<I, 4> {
    let [b, h, n, d] = q.dims();
    if on_cpu::<I>() {
        let device = q.device();
        let keys = k.dims()[2];
        let (q, k, v) = (tensor_values(q), tensor_values(k), tensor_values(v));
        let mut out = Vec::with_capacity(b * h * n * d);
        for slice in 0..b * h {
            out.extend(super::cpu_kernels::attention_rows(
                &q[slice * n * d..][..n * d],
                &k[slice * keys * d..][..keys * d],
                &v[slice * keys * d..][..keys * d],
                1,
                d,
            ));
        }
        return tensor_from(out, [b, h, n, d], &device);
    }
    let keys = k.dims()[2];
    let rows = block_rows(BLOCK_ELEMENTS, b * h, keys, n);
    let kt = k.swap_dims(2, 3);
    let out = (0..n)
        .step_by(rows)
        .map(|start| {
            let len = rows.min(n - start);
            let scores = q.clone().narrow(2, start, len).matmul(kt.clone()) * scale(d);
            activation::softmax(scores, 3).matmul(v.clone())
        })
        .collect();
    Tensor::cat(out, 2)
}

#[derive(Debug)]
struct RecomputingAttention;

impl<I: Backend> Backward<I, 3> for RecomputingAttention {
    type State = AttentionState<I>;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_q, node_k, node_v] = ops.parents;
        let grad_out = inner::<I>(&grads.consume::<I>(&ops.node));
        let (q, k, v, out) = ops.state;
        let (q, k, v, out) = (
            inner::<I>(&q),
            inner::<I>(&k),
            inner::<I>(&v),
            inner::<I>(&out),
        );
        let [b, h, n, d] = q.dims();
        let keys = k.dims()[2];
        if on_cpu::<I>() {
            let device = q.device();
            let (dq, dk, dv) = super::training_attention_cpu::attention_backward(
                &tensor_values(q),
                &tensor_values(k),
                &tensor_values(v),
                &tensor_values(out),
                &tensor_values(grad_out),
                b * h,
                [n, keys, d],
                super::training_attention_cpu::Heads::Stacked,
            );
            for (node, values, rows) in [(node_q, dq, n), (node_k, dk, keys), (node_v, dv, keys)] {
                if let Some(node) = node {
                    let grad = tensor_from::<I, 4>(values, [b, h, rows, d], &device);
                    grads.register::<I>(node.id, primitive(grad));
                }
            }
            return;
        }
        let s = scale(d);
        let rows = block_rows(BLOCK_ELEMENTS, b * h, keys, n);
        let kt = k.clone().swap_dims(2, 3);
        let vt = v.clone().swap_dims(2, 3);
        let mut dq = Vec::with_capacity(n.div_ceil(rows));
        let mut dk = Tensor::<I, 4>::zeros(k.dims(), &k.device());
        let mut dv = Tensor::<I, 4>::zeros(v.dims(), &v.device());
        for start in (0..n).step_by(rows) {
            let len = rows.min(n - start);
            let q_block = q.clone().narrow(2, start, len);
            let grad_block = grad_out.clone().narrow(2, start, len);
            let probs = activation::softmax(q_block.clone().matmul(kt.clone()) * s, 3);
            dv = dv + probs.clone().swap_dims(2, 3).matmul(grad_block.clone());
            let row_dot = (grad_block.clone() * out.clone().narrow(2, start, len)).sum_dim(3);
            let d_scores = probs * (grad_block.matmul(vt.clone()) - row_dot);
            dq.push(d_scores.clone().matmul(k.clone()) * s);
            dk = dk + d_scores.swap_dims(2, 3).matmul(q_block) * s;
        }
        if let Some(node) = node_q {
            grads.register::<I>(node.id, primitive(Tensor::cat(dq, 2)));
        }
        if let Some(node) = node_k {
            grads.register::<I>(node.id, primitive(dk));
        }
        if let Some(node) = node_v {
            grads.register::<I>(node.id, primitive(dv));
        }
    }
}

fn recomputing_attention<I: Backend>(
    q: Tensor<Autodiff<I>, 4>,
    k: Tensor<Autodiff<I>, 4>,
    v: Tensor<Autodiff<I>, 4>,
) -> Tensor<Autodiff<I>, 4> {
    let (q, k, v) = (
        q.into_primitive().tensor(),
        k.into_primitive().tensor(),
        v.into_primitive().tensor(),
    );
    let out = primitive(forward::<I>(
        inner::<I>(&q.primitive),
        inner::<I>(&k.primitive),
        inner::<I>(&v.primitive),
    ));
    Tensor::from_primitive(TensorPrimitive::Float(record(
        RecomputingAttention,
        [q, k, v],
        out,
    )))
}

/// Records `op`, whose output `out` was computed from q, k and v, keeping q, k, v and the output
/// for its backward step.
fn record<I: Backend, Op: Backward<I, 3, State = AttentionState<I>>>(
    op: Op,
    [q, k, v]: [FloatTensor<Autodiff<I>>; 3],
    out: FloatTensor<I>,
) -> FloatTensor<Autodiff<I>> {
    let prepared = op
        .prepare::<NoCheckpointing>([q.node.clone(), k.node.clone(), v.node.clone()])
        .compute_bound()
        .stateful();
    match prepared {
        OpsKind::Tracked(prep) => {
            prep.finish((q.primitive, k.primitive, v.primitive, out.clone()), out)
        }
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}

/// q, k, v and the output of an attention, on the inner backend.
type AttentionState<I> = (
    FloatTensor<I>,
    FloatTensor<I>,
    FloatTensor<I>,
    FloatTensor<I>,
);

/// Attention of `[n, heads · d]` query rows to `[m, heads · d]` key and value rows, heads side
/// by side as the projections produce them, differentiable in all three; `B` must be the CPU
/// backend with autodiff. Against [`attention`] on split heads it saves the copies that
/// split and merge the heads, forward and backward.
pub fn attention_rows<B: Backend>(
    q: Tensor<B, 2>,
    k: Tensor<B, 2>,
    v: Tensor<B, 2>,
    heads: usize,
) -> Tensor<B, 2> {
    same(rows_tracked(same(q), same(k), same(v), heads))
}

fn cpu2(t: FloatTensor<super::Cpu>) -> Tensor<super::Cpu, 2> {
    Tensor::from_primitive(TensorPrimitive::Float(t))
}

fn rows_tracked(
    q: Tensor<super::CpuAutodiff, 2>,
    k: Tensor<super::CpuAutodiff, 2>,
    v: Tensor<super::CpuAutodiff, 2>,
    heads: usize,
) -> Tensor<super::CpuAutodiff, 2> {
    let [n, dim] = q.dims();
    let device = q.device();
    let (q, k, v) = (
        q.into_primitive().tensor(),
        k.into_primitive().tensor(),
        v.into_primitive().tensor(),
    );
    let out = match n {
        0 => Vec::new(),
        _ => with_values(&q.primitive, |qv| {
            with_values(&k.primitive, |kv| {
                with_values(&v.primitive, |vv| {
                    super::cpu_kernels::attention_rows(qv, kv, vv, heads, dim)
                })
            })
        }),
    };
    let out = tensor_from::<super::Cpu, 2>(out, [n, dim], &device)
        .into_primitive()
        .tensor();
    Tensor::from_primitive(TensorPrimitive::Float(record(
        RowsAttention { heads },
        [q, k, v],
        out,
    )))
}

/// The backward step of [`attention_rows`].
#[derive(Debug)]
struct RowsAttention {
    heads: usize,
}

impl Backward<super::Cpu, 3> for RowsAttention {
    type State = AttentionState<super::Cpu>;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_q, node_k, node_v] = ops.parents;
        let grad_out = cpu2(grads.consume::<super::Cpu>(&ops.node));
        let (q, k, v, out) = ops.state;
        let ([n, dim], device) = (grad_out.dims(), grad_out.device());
        let m = cpu2(k.clone()).dims()[0];
        let grad_out = tensor_values(grad_out);
        let (dq, dk, dv) = with_values(&q, |qv| {
            with_values(&k, |kv| {
                with_values(&v, |vv| {
                    with_values(&out, |ov| {
                        super::training_attention_cpu::attention_backward(
                            qv,
                            kv,
                            vv,
                            ov,
                            &grad_out,
                            self.heads,
                            [n, m, dim / self.heads],
                            super::training_attention_cpu::Heads::SideBySide,
                        )
                    })
                })
            })
        });
        for (node, values, rows) in [(node_q, dq, n), (node_k, dk, m), (node_v, dv, m)] {
            if let Some(node) = node {
                let grad = tensor_from::<super::Cpu, 2>(values, [rows, dim], &device);
                grads.register::<super::Cpu>(node.id, grad.into_primitive().tensor());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Cpu, CpuAutodiff};
    use burn::tensor::{Distribution, Tensor};

    thread_local! {
        /// Set: the generic path (burn's operations) serves the CPU backend too.
        pub(super) static GENERIC_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// Gradients of q, k and v equal burn's recorded attention's: through the CPU's fused
    /// kernels, and through burn's operations in one block and in 60.
    #[test]
    fn gradients_equal_the_recorded_attention() {
        gradients_match();
        GENERIC_ONLY.with(|g| g.set(true));
        gradients_match();
        GENERIC_ONLY.with(|g| g.set(false));
    }

    fn gradients_match() {
        let device = Default::default();
        // Head dims 8 (gemm around the softmax) and 16 (the AVX-512 kernels where present);
        // 300 query rows cross the CPU backward's 256-row blocks.
        for (n, keys, d) in [(7, 5, 8), (300, 40, 8), (300, 70, 16)] {
            let make = |rows: usize, seed: u64| {
                <Cpu as Backend>::seed(&device, seed);
                Tensor::<CpuAutodiff, 4>::random(
                    [1, 3, rows, d],
                    Distribution::Normal(0.0, 1.0),
                    &device,
                )
                .require_grad()
            };
            let (q, k, v) = (make(n, 1), make(keys, 2), make(keys, 3));
            let weights =
                Tensor::<CpuAutodiff, 4>::random([1, 3, n, d], Distribution::Default, &device);
            let want = burn::tensor::module::attention(
                q.clone(),
                k.clone(),
                v.clone(),
                None,
                None,
                Default::default(),
            );
            let got = attention(q.clone(), k.clone(), v.clone());
            let close = |a: Tensor<Cpu, 4>, b: Tensor<Cpu, 4>| {
                let gap = (a - b.clone()).abs().max().into_scalar();
                let scale = b.abs().max().into_scalar().max(1e-6);
                assert!(gap / scale < 1e-5, "relative gap {}", gap / scale);
            };
            close(got.clone().inner(), want.clone().inner());
            let grads_want = (want * weights.clone()).sum().backward();
            let grads_got = (got * weights).sum().backward();
            for t in [&q, &k, &v] {
                close(t.grad(&grads_got).unwrap(), t.grad(&grads_want).unwrap());
            }
        }
    }

    /// Attention on rows (heads side by side) equals burn's recorded attention on the split
    /// heads, in value and in the gradients of q, k and v.
    #[test]
    fn attention_on_rows_equals_the_recorded_attention_on_split_heads() {
        let device = Default::default();
        let heads = 3;
        for (n, keys, d) in [(7, 5, 8), (300, 40, 8), (300, 70, 16)] {
            let make = |rows: usize, seed: u64| {
                <Cpu as Backend>::seed(&device, seed);
                Tensor::<CpuAutodiff, 2>::random(
                    [rows, heads * d],
                    Distribution::Normal(0.0, 1.0),
                    &device,
                )
                .require_grad()
            };
            let (q, k, v) = (make(n, 1), make(keys, 2), make(keys, 3));
            let weights =
                Tensor::<CpuAutodiff, 2>::random([n, heads * d], Distribution::Default, &device);
            let split = |t: Tensor<CpuAutodiff, 2>| {
                let [rows, _] = t.dims();
                t.reshape([1, rows, heads, d]).swap_dims(1, 2)
            };
            let want = burn::tensor::module::attention(
                split(q.clone()),
                split(k.clone()),
                split(v.clone()),
                None,
                None,
                Default::default(),
            )
            .swap_dims(1, 2)
            .reshape([n, heads * d]);
            let got = attention_rows(q.clone(), k.clone(), v.clone(), heads);
            let close = |a: Tensor<Cpu, 2>, b: Tensor<Cpu, 2>, what: &str| {
                let gap = (a - b.clone()).abs().max().into_scalar();
                let scale = b.abs().max().into_scalar().max(1e-6);
                assert!(gap / scale < 1e-5, "{what}: relative gap {}", gap / scale);
            };
            close(got.clone().inner(), want.clone().inner(), "output");
            let grads_want = (want * weights.clone()).sum().backward();
            let grads_got = (got * weights).sum().backward();
            for (t, what) in [(&q, "dq"), (&k, "dk"), (&v, "dv")] {
                close(
                    t.grad(&grads_got).unwrap(),
                    t.grad(&grads_want).unwrap(),
                    what,
                );
            }
        }
    }

    #[test]
    fn the_attention_serves_the_cpu_autodiff_backend_only() {
        assert!(serves::<CpuAutodiff>());
        assert!(!serves::<Cpu>());
    }

    /// No query rows, as the model asks for attention in training: an empty result whose
    /// backward still runs (the keys get zero gradients).
    #[test]
    fn no_query_rows_give_an_empty_result() {
        let device = Default::default();
        let q = Tensor::<CpuAutodiff, 4>::zeros([1, 3, 0, 8], &device).require_grad();
        let k = Tensor::<CpuAutodiff, 4>::ones([1, 3, 5, 8], &device).require_grad();
        let out = crate::model::ops::attention(q, k.clone(), k.clone());
        assert_eq!(out.dims(), [1, 3, 0, 8]);
        let grads = (out.sum() + k.clone().sum() * 0.0).backward();
        assert_eq!(k.grad(&grads).unwrap().dims(), [1, 3, 5, 8]);
    }

    #[test]
    fn blocks_bound_the_probabilities_held() {
        assert_eq!(block_rows(1 << 24, 3, 2048, 4096), 2730);
        assert_eq!(block_rows(1 << 24, 3, 16, 100), 100);
        assert_eq!(block_rows(1 << 24, 1, 1 << 25, 10), 1);
        assert_eq!(block_rows(BLOCK_ELEMENTS, 3, 40, 300), 5);
    }
}
