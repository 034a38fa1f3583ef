//! RoPE's rotation as one autodiff operation for training on the CPU backend.
//!
//! burn records [`super::embedding::rotate`] as its pieces: two strided views of the channel
//! pairs, four products with the broadcast `cos` and `sin`, a difference, a sum and a
//! concatenation, each with a backward step, and the broadcast products' backward walks its
//! operands index by index (burn-flex's generic binary kernel; docs/performance.md). The
//! rotation is linear in x with constant angles, so its backward is the inverse rotation of the
//! incoming gradient: one pass each way, keeping only the angles.

use std::any::TypeId;
use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::tensor::{backend::Backend, Tensor};
use rayon::prelude::*;

use super::cpu_autodiff::{record_unary, unary_backward};
use super::training_attention::same;
use super::{tensor_values, Cpu, CpuAutodiff};

/// True when `B` is the CPU backend with autodiff (this operation's domain).
pub fn serves<B: Backend>() -> bool {
    TypeId::of::<B>() == TypeId::of::<CpuAutodiff>()
}

/// cos and sin of each position's angles, `[N · pairs]`.
pub type Angles = Arc<(Vec<f32>, Vec<f32>)>;

/// Rotates consecutive channel pairs of `x` (`[batch, heads, N, head_dim]`) by the angles whose
/// cos and sin are `[1, 1, N, head_dim / 2, 1]`; differentiable in x. `B` must be a backend
/// [`serves`] accepts.
pub fn rotate<B: Backend>(x: Tensor<B, 4>, angles: &Angles) -> Tensor<B, 4> {
    same(tracked(same(x), angles.clone()))
}

/// The angles' cos and sin (`[1, 1, N, pairs, 1]` tensors) on the host, copied once per set of
/// positions for every rotation that uses them.
pub fn host_angles<B: Backend>(cos: &Tensor<B, 5>, sin: &Tensor<B, 5>) -> Angles {
    Arc::new((tensor_values(cos.clone()), tensor_values(sin.clone())))
}

/// Rotates the channel pairs of each head of `[N, heads · head_dim]` rows (heads side by side),
/// row i by the angles of position i; differentiable in x. `B` must be a backend [`serves`]
/// accepts.
pub fn rotate_rows<B: Backend>(x: Tensor<B, 2>, angles: &Angles, head_dim: usize) -> Tensor<B, 2> {
    same(rows_tracked(same(x), angles.clone(), head_dim))
}

/// One head's consecutive channel pairs of `x` turned by the angles whose cos and sin are `c`
/// and `s · sign` (sign −1: the inverse rotation), into `y`.
#[inline(always)]
fn turn_pairs(y: &mut [f32], x: &[f32], c: &[f32], s: &[f32], sign: f32) {
    for (j, (y, x)) in y.chunks_exact_mut(2).zip(x.chunks_exact(2)).enumerate() {
        let (re, im, s) = (x[0], x[1], sign * s[j]);
        y[0] = re * c[j] - im * s;
        y[1] = re * s + im * c[j];
    }
}

/// The rotation of rows of `width` channels (`x`, row-major), each a run of `d`-channel heads,
/// by the angles or by their inverse: row i by the angles of position `i % positions`. Rows with
/// the heads side by side (`[n, heads · d]`) have `positions = n`; heads stacked (`[heads, n,
/// d]`) have `width = d` and `positions = n`.
fn turn(x: &[f32], angles: &Angles, [width, d, positions]: [usize; 3], inverse: bool) -> Vec<f32> {
    let (cos, sin) = (&angles.0, &angles.1);
    let pairs = d / 2;
    let sign = if inverse { -1.0f32 } else { 1.0 };
    let mut out = vec![0.0f32; x.len()];
    out.par_chunks_mut(width * ROWS_PER_TASK)
        .zip(x.par_chunks(width * ROWS_PER_TASK))
        .enumerate()
        .for_each(|(task, (out, x))| {
            let rows = out.chunks_exact_mut(width).zip(x.chunks_exact(width));
            for (r, (y, row)) in rows.enumerate() {
                let i = (task * ROWS_PER_TASK + r) % positions;
                let (c, s) = (&cos[i * pairs..][..pairs], &sin[i * pairs..][..pairs]);
                for (y, head) in y.chunks_exact_mut(d).zip(row.chunks_exact(d)) {
                    turn_pairs(y, head, c, s, sign);
                }
            }
        });
    out
}

/// Rows per parallel task of [`turn`].
const ROWS_PER_TASK: usize = 256;

fn rows_tracked(x: Tensor<CpuAutodiff, 2>, angles: Angles, d: usize) -> Tensor<CpuAutodiff, 2> {
    let [n, width] = x.dims();
    let forward = |values: Vec<f32>| turn(&values, &angles, [width, d, n], false);
    let kept = (angles.clone(), d);
    record_unary(RopeRowsOp, x, forward, |_| kept)
}

/// The backward step of a rotation of rows: the inverse rotation of the gradient.
#[derive(Debug)]
struct RopeRowsOp;

impl Backward<Cpu, 1> for RopeRowsOp {
    /// The angles and the head width.
    type State = (Angles, usize);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        unary_backward::<_, 2>(ops, grads, |g, (angles, d), [n, width]| {
            turn(&g, &angles, [width, d, n], true)
        });
    }
}

fn tracked(x: Tensor<CpuAutodiff, 4>, angles: Angles) -> Tensor<CpuAutodiff, 4> {
    let [_, _, n, d] = x.dims();
    let forward = |values: Vec<f32>| turn(&values, &angles, [d, d, n], false);
    let kept = angles.clone();
    record_unary(RopeOp, x, forward, |_| kept)
}

/// The backward step of a rotation: the inverse rotation of the gradient.
#[derive(Debug)]
struct RopeOp;

impl Backward<Cpu, 1> for RopeOp {
    /// The angles.
    type State = Angles;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        unary_backward::<_, 4>(ops, grads, |g, angles, [_, _, n, d]| {
            turn(&g, &angles, [d, d, n], true)
        });
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Distribution;

    use super::*;
    use crate::model::embedding::RopeFrequencies;

    /// Values and the gradient of x against burn's recorded rotation, on a permuted input (as
    /// the attention's heads are).
    #[test]
    fn matches_the_recorded_rotation_and_its_gradient() {
        let device = Default::default();
        let (b, h, n, d) = (1, 3, 70, 16);
        let rope = RopeFrequencies::new(d, 1e4);
        let coords =
            Tensor::<CpuAutodiff, 2>::random([n, 3], Distribution::Uniform(0.0, 900.0), &device);
        let angles = rope.angles(coords);
        let x =
            Tensor::<CpuAutodiff, 4>::random([b, n, h, d], Distribution::Normal(0.0, 1.0), &device);
        let weights =
            Tensor::<CpuAutodiff, 4>::random([b, h, n, d], Distribution::Default, &device);
        let run = |fused: bool| {
            let x = x.clone().detach().require_grad();
            let permuted = x.clone().swap_dims(1, 2);
            let y = match fused {
                true => crate::model::embedding::rotate(permuted, &angles),
                false => crate::model::embedding::rotate_recorded(permuted, &angles),
            };
            let grads = (y.clone() * weights.clone()).sum().backward();
            (
                tensor_values(y.inner()),
                tensor_values(x.grad(&grads).unwrap()),
            )
        };
        let (ours, theirs) = (run(true), run(false));
        assert_close(&ours, &theirs);
    }

    /// Rows with the heads side by side rotate as the split heads do, in value and gradient,
    /// over more rows than one parallel task.
    #[test]
    fn rows_rotate_like_the_recorded_rotation_of_split_heads() {
        let device = Default::default();
        let (h, n, d) = (3, ROWS_PER_TASK + 70, 16);
        let rope = RopeFrequencies::new(d, 1e4);
        let coords =
            Tensor::<CpuAutodiff, 2>::random([n, 3], Distribution::Uniform(0.0, 900.0), &device);
        let angles = rope.angles(coords);
        let x =
            Tensor::<CpuAutodiff, 2>::random([n, h * d], Distribution::Normal(0.0, 1.0), &device);
        let weights = Tensor::<CpuAutodiff, 2>::random([n, h * d], Distribution::Default, &device);
        let run = |fused: bool| {
            let x = x.clone().detach().require_grad();
            let y = match fused {
                true => rotate_rows(x.clone(), angles.training().unwrap(), d),
                false => {
                    let split = x.clone().reshape([1, n, h, d]).swap_dims(1, 2);
                    crate::model::embedding::rotate_recorded(split, &angles)
                        .swap_dims(1, 2)
                        .reshape([n, h * d])
                }
            };
            let grads = (y.clone() * weights.clone()).sum().backward();
            (
                tensor_values(y.inner()),
                tensor_values(x.grad(&grads).unwrap()),
            )
        };
        assert_close(&run(true), &run(false));
    }

    fn assert_close(ours: &(Vec<f32>, Vec<f32>), theirs: &(Vec<f32>, Vec<f32>)) {
        for (what, a, b) in [("y", &ours.0, &theirs.0), ("dx", &ours.1, &theirs.1)] {
            assert_eq!(a.len(), b.len());
            for (i, (p, q)) in a.iter().zip(b).enumerate() {
                assert!(
                    (p - q).abs() <= 1e-5 * (1.0 + q.abs()),
                    "{what}[{i}]: {p} vs {q}"
                );
            }
        }
    }
}
