//! The two-layer MLP (Linear, exact GELU, Linear) on the CPU backend's memory: the inference
//! forward, and one autodiff operation for training.
//!
//! Through burn the MLP is five operations (product, broadcast bias sum, GELU, product, broadcast
//! bias sum), each with a fresh `[rows, hidden]` or `[rows, out]` buffer, and under autodiff each
//! with a backward step of its own, the bias sums reduced separately. Here the forward is two
//! `gemm` products that accumulate onto their bias rows with GELU in place between them. In
//! training, GELU′ is computed with GELU (one exponential serves both) and kept, and the backward
//! is the six gradient products with strides (nothing transposed in memory) and the bias sums:
//!
//! with `g = GELU(h)`, `h = x·W₁ + b₁`, `y = g·W₂ + b₂` and the incoming gradient `dy`:
//! `dW₂ = gᵀ·dy`, `db₂ = Σ_rows dy`, `dh = (dy·W₂ᵀ) ⊙ GELU′(h)`, `dW₁ = xᵀ·dh`,
//! `db₁ = Σ_rows dh`, `dx = dh·W₁ᵀ`.

use std::any::TypeId;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::nn::Linear;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{backend::Backend, Tensor, TensorPrimitive};
use burn_flex::FlexTensor;
use rayon::prelude::*;

use super::cpu_autodiff::with_values;
use super::cpu_gemm::product;
use super::cpu_kernels::{gelu_serial, gelu_with_derivative_in_place};
use super::training_attention::same;
use super::{tensor_from, tensor_values, Cpu, CpuAutodiff};

/// Rows per parallel task of the bias sums.
const ROWS_PER_TASK: usize = 256;
/// Rows per block of the inference forward: a block's hidden activations (128 × 768 f32 at the
/// `drivaerml` width, 384 KB) stay in L2 between the two products.
const INFERENCE_ROWS: usize = 128;

/// True when `B` is the CPU backend with autodiff and products are f32 (the training operation's
/// domain).
fn serves_training<B: Backend>() -> bool {
    TypeId::of::<B>() == TypeId::of::<CpuAutodiff>() && !super::precision::half_products()
}

/// True when `B` is the plain CPU backend with f32 products, where the f32 inference forward runs.
fn serves_inference<B: Backend>() -> bool {
    TypeId::of::<B>() == TypeId::of::<Cpu>()
        && super::precision::products() == super::precision::Precision::F32
}

/// True when `B` is the plain CPU backend with bf16 products on a bf16 unit (AMX tiles or
/// AVX-512 BF16), where the bf16 inference forward runs (`bf16::mlp_bf16`).
fn serves_inference_bf16<B: Backend>() -> bool {
    TypeId::of::<B>() == TypeId::of::<Cpu>() && super::bf16::serving_unit().is_some()
}

/// `fc2(GELU(fc1(x)))` for `[rows, in]` tokens on the CPU backend's memory: differentiable in x
/// and both layers' weights and biases under autodiff (training), the plain forward otherwise.
/// `None` where it does not run (another backend, half-precision products, a layer without a
/// bias): the caller records the layers one by one.
pub fn forward<B: Backend>(
    fc1: &Linear<B>,
    fc2: &Linear<B>,
    x: Tensor<B, 2>,
) -> Option<Tensor<B, 2>> {
    let (b1, b2) = (fc1.bias.as_ref()?.val(), fc2.bias.as_ref()?.val());
    let (w1, w2) = (fc1.weight.val(), fc2.weight.val());
    if serves_training::<B>() {
        return Some(same(tracked(
            same(x),
            same(w1),
            same(b1),
            same(w2),
            same(b2),
        )));
    }
    let bf16 = serves_inference_bf16::<B>();
    if !bf16 && !serves_inference::<B>() {
        return None;
    }
    let primitive = |t: Tensor<Cpu, 2>| t.into_primitive().tensor();
    let vector = |t: Tensor<Cpu, 1>| t.into_primitive().tensor();
    let ([m, k], [h, n]) = (x.dims(), fc2.weight.dims());
    let device = x.device();
    let (x, w1, w2) = (primitive(same(x)), primitive(same(w1)), primitive(same(w2)));
    let (b1, b2) = (vector(same(b1)), vector(same(b2)));
    let y = with_values(&x, |x| {
        with_values(&w1, |w1| {
            with_values(&w2, |w2| {
                with_values(&b1, |b1| {
                    with_values(&b2, |b2| {
                        if bf16 {
                            let packed = [
                                super::bf16::PackedB::new(w1, k, h),
                                super::bf16::PackedB::new(w2, h, n),
                            ];
                            super::bf16::mlp_bf16(
                                x,
                                m,
                                [&packed[0], &packed[1]],
                                [b1, b2],
                                gelu_serial,
                            )
                        } else {
                            in_row_blocks(x, [w1, w2], [b1, b2], [m, k, h, n])
                        }
                    })
                })
            })
        })
    });
    Some(same(tensor_from::<Cpu, 2>(y, [m, n], &same(device))))
}

/// The inference forward `GELU(x·W₁ + b₁)·W₂ + b₂`, [`INFERENCE_ROWS`] rows at a time on each
/// thread: a block's hidden activations are computed, activated and multiplied while in cache,
/// instead of a `[rows, hidden]` buffer written to memory and read back twice.
fn in_row_blocks(
    x: &[f32],
    [w1, w2]: [&[f32]; 2],
    [b1, b2]: [&[f32]; 2],
    [m, k, h, n]: [usize; 4],
) -> Vec<f32> {
    let mut y = vec![0.0f32; m * n];
    if m == 0 {
        return y;
    }
    y.par_chunks_mut(INFERENCE_ROWS * n)
        .zip(x.par_chunks(INFERENCE_ROWS * k))
        .for_each(|(y, x)| {
            let rows = x.len() / k.max(1);
            let mut g = vec![0.0f32; rows * h];
            affine_into(x, w1, b1, [rows, k, h], false, &mut g);
            gelu_serial(&mut g);
            affine_into(&g, w2, b2, [rows, h, n], false, y);
        });
    y
}

/// The hidden activation `g = activate(x·W₁ + b₁)` and the output `g·W₂ + b₂`, read from the
/// tensors' memory in place.
fn two_layers(
    x: &FlexTensor,
    [w1, w2]: [&FlexTensor; 2],
    [b1, b2]: [&FlexTensor; 2],
    activate: impl FnOnce(&mut [f32]),
) -> (Vec<f32>, Vec<f32>) {
    let (shape_x, shape_w1, shape_w2) =
        (x.layout().shape(), w1.layout().shape(), w2.layout().shape());
    let (m, k, h, n) = (shape_x[0], shape_x[1], shape_w1[1], shape_w2[1]);
    let mut g = with_values(x, |xv| {
        with_values(w1, |w| with_values(b1, |b| affine(xv, w, b, [m, k, h])))
    });
    activate(&mut g);
    let y = with_values(w2, |w| with_values(b2, |b| affine(&g, w, b, [m, h, n])));
    (g, y)
}

/// `a·w + b` for `a` `[m, k]`, `w` `[k, n]` and `b` `[n]` (row-major), over rayon's threads.
fn affine(a: &[f32], w: &[f32], b: &[f32], [m, k, n]: [usize; 3]) -> Vec<f32> {
    // The bias rows are the product's starting values: no zeroed buffer first.
    let mut out = Vec::with_capacity(m * n);
    for _ in 0..m {
        out.extend_from_slice(b);
    }
    accumulate_product(a, w, [m, k, n], true, &mut out);
    out
}

/// [`affine`] into `out` (`[m, n]`), on this thread unless `threads`.
fn affine_into(
    a: &[f32],
    w: &[f32],
    b: &[f32],
    [m, k, n]: [usize; 3],
    threads: bool,
    out: &mut [f32],
) {
    assert!(
        a.len() == m * k && w.len() == k * n && b.len() == n && out.len() == m * n,
        "affine: shapes"
    );
    for row in out.chunks_exact_mut(n.max(1)) {
        row.copy_from_slice(b);
    }
    accumulate_product(a, w, [m, k, n], threads, out);
}

/// `out += a·w` for `a` `[m, k]`, `w` `[k, n]` and `out` `[m, n]` (row-major), on this thread
/// unless `threads`.
fn accumulate_product(a: &[f32], w: &[f32], [m, k, n]: [usize; 3], threads: bool, out: &mut [f32]) {
    assert!(
        a.len() == m * k && w.len() == k * n && out.len() == m * n,
        "product: shapes"
    );
    if m > 0 && k > 0 {
        // SAFETY: out is m × n, a m × k and w k × n, all row-major (asserted).
        unsafe {
            product(
                [m, n, k],
                (out.as_mut_ptr(), 1, n as isize),
                true,
                (a.as_ptr(), 1, k as isize),
                (w.as_ptr(), 1, n as isize),
                1.0,
                threads,
            );
        }
    }
}

/// The sum of the rows of `[rows, cols]` values, in the same order whatever the threads do (a
/// resumed training run must end with the weights of an uninterrupted one).
fn column_sums(values: &[f32], cols: usize) -> Vec<f32> {
    let parts: Vec<Vec<f32>> = values
        .par_chunks(cols * ROWS_PER_TASK)
        .map(|rows| {
            let mut sums = vec![0.0f32; cols];
            for row in rows.chunks_exact(cols) {
                sums.iter_mut().zip(row).for_each(|(s, v)| *s += v);
            }
            sums
        })
        .collect();
    let mut sums = vec![0.0f32; cols];
    for part in parts {
        sums.iter_mut().zip(part).for_each(|(s, v)| *s += v);
    }
    sums
}

/// `lhsᵀ·rhs` for `lhs` `[m, a]` and `rhs` `[m, b]` (row-major): `[a, b]`.
fn transposed_times(lhs: &[f32], rhs: &[f32], [m, a, b]: [usize; 3]) -> Vec<f32> {
    assert!(
        lhs.len() == m * a && rhs.len() == m * b,
        "transposed_times: shapes"
    );
    let mut out = vec![0.0f32; a * b];
    if m > 0 {
        // SAFETY: out is a × b; lhs m × a read transposed (column stride a, row stride 1); rhs
        // m × b row-major.
        unsafe {
            product(
                [a, b, m],
                (out.as_mut_ptr(), 1, b as isize),
                false,
                (lhs.as_ptr(), a as isize, 1),
                (rhs.as_ptr(), 1, b as isize),
                1.0,
                true,
            );
        }
    }
    out
}

/// `lhs·wᵀ` for `lhs` `[m, n]` and `w` `[k, n]` (row-major): `[m, k]`.
fn times_transposed(lhs: &[f32], w: &[f32], [m, n, k]: [usize; 3]) -> Vec<f32> {
    assert!(
        lhs.len() == m * n && w.len() == k * n,
        "times_transposed: shapes"
    );
    let mut out = vec![0.0f32; m * k];
    if m > 0 && n > 0 {
        // SAFETY: out is m × k; lhs m × n row-major; w k × n read transposed (column stride n,
        // row stride 1).
        unsafe {
            product(
                [m, k, n],
                (out.as_mut_ptr(), 1, k as isize),
                false,
                (lhs.as_ptr(), 1, n as isize),
                (w.as_ptr(), n as isize, 1),
                1.0,
                true,
            );
        }
    }
    out
}

fn tracked(
    x: Tensor<CpuAutodiff, 2>,
    w1: Tensor<CpuAutodiff, 2>,
    b1: Tensor<CpuAutodiff, 1>,
    w2: Tensor<CpuAutodiff, 2>,
    b2: Tensor<CpuAutodiff, 1>,
) -> Tensor<CpuAutodiff, 2> {
    let ([m, k], [_, h], [_, n]) = (x.dims(), w1.dims(), w2.dims());
    let device = x.device();
    let [x, w1, b1, w2, b2] = [
        x.into_primitive().tensor(),
        w1.into_primitive().tensor(),
        b1.into_primitive().tensor(),
        w2.into_primitive().tensor(),
        b2.into_primitive().tensor(),
    ];
    // g = GELU(h) in place of h, and GELU′(h) for the backward step.
    let mut slope = Vec::new();
    let (g, y) = two_layers(
        &x.primitive,
        [&w1.primitive, &w2.primitive],
        [&b1.primitive, &b2.primitive],
        |h| {
            slope = vec![0.0f32; h.len()];
            gelu_with_derivative_in_place(h, &mut slope);
        },
    );
    let out = tensor_from::<Cpu, 2>(y, [m, n], &device)
        .into_primitive()
        .tensor();
    let parents = [&x, &w1, &b1, &w2, &b2].map(|t| t.node.clone());
    let prepared = MlpOp
        .prepare::<NoCheckpointing>(parents)
        .compute_bound()
        .stateful();
    let result = match prepared {
        OpsKind::Tracked(prep) => prep.finish(
            MlpState {
                x: x.primitive,
                w1: w1.primitive,
                w2: w2.primitive,
                activation: g,
                slope,
                dims: [m, k, h, n],
            },
            out,
        ),
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    Tensor::from_primitive(TensorPrimitive::Float(result))
}

/// What the backward step needs: the input, both weights, the hidden activation `g = GELU(h)`
/// and its slope `GELU′(h)` (computed with it in the forward pass, from the same exponential).
#[derive(Debug, Clone)]
struct MlpState {
    x: FloatTensor<Cpu>,
    w1: FloatTensor<Cpu>,
    w2: FloatTensor<Cpu>,
    activation: Vec<f32>,
    slope: Vec<f32>,
    /// Rows, input, hidden and output widths.
    dims: [usize; 4],
}

/// The backward step of the MLP.
#[derive(Debug)]
struct MlpOp;

impl Backward<Cpu, 5> for MlpOp {
    type State = MlpState;

    fn backward(self, ops: Ops<Self::State, 5>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w1, node_b1, node_w2, node_b2] = ops.parents;
        let dy = Tensor::<Cpu, 2>::from_primitive(TensorPrimitive::Float(
            grads.consume::<Cpu>(&ops.node),
        ));
        let device = dy.device();
        let dy = tensor_values(dy);
        let MlpState {
            x,
            w1,
            w2,
            activation,
            slope,
            dims: [m, k, h, n],
        } = ops.state;
        let matrix = |values: Vec<f32>, shape: [usize; 2]| {
            tensor_from::<Cpu, 2>(values, shape, &device)
                .into_primitive()
                .tensor()
        };
        let vector = |values: Vec<f32>| {
            let len = values.len();
            tensor_from::<Cpu, 1>(values, [len], &device)
                .into_primitive()
                .tensor()
        };
        if let Some(node) = &node_w2 {
            let dw2 = transposed_times(&activation, &dy, [m, h, n]);
            grads.register::<Cpu>(node.id, matrix(dw2, [h, n]));
        }
        if let Some(node) = &node_b2 {
            grads.register::<Cpu>(node.id, vector(column_sums(&dy, n)));
        }
        let mut dh = with_values(&w2, |w| times_transposed(&dy, w, [m, n, h]));
        dh.par_chunks_mut(16 * 1024)
            .zip(slope.par_chunks(16 * 1024))
            .for_each(|(d, s)| d.iter_mut().zip(s).for_each(|(d, s)| *d *= s));
        if let Some(node) = &node_w1 {
            let dw1 = with_values(&x, |xv| transposed_times(xv, &dh, [m, k, h]));
            grads.register::<Cpu>(node.id, matrix(dw1, [k, h]));
        }
        if let Some(node) = &node_b1 {
            grads.register::<Cpu>(node.id, vector(column_sums(&dh, h)));
        }
        if let Some(node) = &node_x {
            let dx = with_values(&w1, |w| times_transposed(&dh, w, [m, h, k]));
            grads.register::<Cpu>(node.id, matrix(dx, [m, k]));
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::nn::LinearConfig;
    use burn::tensor::Distribution;

    use super::*;

    fn close(a: &[f32], b: &[f32], tol: f32, what: &str) {
        assert_eq!(a.len(), b.len(), "{what}");
        let scale = b.iter().fold(1e-6f32, |s, v| s.max(v.abs()));
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= tol * scale, "{what}[{i}]: {x} vs {y}");
        }
    }

    /// The inference forward equals burn's layers, on more rows than one product splits.
    #[test]
    fn inference_matches_burns_layers() {
        let device = Default::default();
        let (rows, dims) = (700, [96, 384, 96]);
        let x = Tensor::<Cpu, 2>::random([rows, dims[0]], Distribution::Normal(0.0, 1.0), &device);
        let fc1 = LinearConfig::new(dims[0], dims[1]).init::<Cpu>(&device);
        let fc2 = LinearConfig::new(dims[1], dims[2]).init::<Cpu>(&device);
        assert!(serves_inference::<Cpu>() && !serves_inference::<CpuAutodiff>());
        let ours = tensor_values(forward(&fc1, &fc2, x.clone()).unwrap());
        let theirs = tensor_values(fc2.forward(burn::tensor::activation::gelu(fc1.forward(x))));
        close(&ours, &theirs, 1e-5, "y");
    }

    /// Output and the gradients of x, both weights and both biases against burn's recorded
    /// layers, over more rows than one parallel task and with products large enough to run on
    /// several threads.
    #[test]
    fn matches_the_recorded_layers_and_their_gradients() {
        let device = Default::default();
        for (rows, dims) in [(7, [5, 12, 3]), (ROWS_PER_TASK * 3 + 5, [96, 384, 96])] {
            let x = Tensor::<CpuAutodiff, 2>::random(
                [rows, dims[0]],
                Distribution::Normal(0.0, 1.0),
                &device,
            );
            let weights =
                Tensor::<CpuAutodiff, 2>::random([rows, dims[2]], Distribution::Default, &device);
            let fc1 = LinearConfig::new(dims[0], dims[1]).init::<CpuAutodiff>(&device);
            let fc2 = LinearConfig::new(dims[1], dims[2]).init::<CpuAutodiff>(&device);
            let run = |fused: bool| {
                let x = x.clone().detach().require_grad();
                let y = match fused {
                    true => forward(&fc1, &fc2, x.clone()).unwrap(),
                    false => fc2.forward(burn::tensor::activation::gelu(fc1.forward(x.clone()))),
                };
                let grads = (y.clone() * weights.clone()).sum().backward();
                let g2 = |t: Tensor<CpuAutodiff, 2>| tensor_values(t.grad(&grads).unwrap());
                let g1 = |t: Tensor<CpuAutodiff, 1>| tensor_values(t.grad(&grads).unwrap());
                [
                    tensor_values(y.inner()),
                    g2(x),
                    g2(fc1.weight.val()),
                    g1(fc1.bias.as_ref().unwrap().val()),
                    g2(fc2.weight.val()),
                    g1(fc2.bias.as_ref().unwrap().val()),
                ]
            };
            let (ours, theirs) = (run(true), run(false));
            for ((a, b), what) in ours
                .iter()
                .zip(&theirs)
                .zip(["y", "dx", "dW1", "db1", "dW2", "db2"])
            {
                close(a, b, 1e-5, what);
            }
        }
        assert!(serves_training::<CpuAutodiff>() && !serves_training::<Cpu>());
    }
}
