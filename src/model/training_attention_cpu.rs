//! The training attention's backward pass (`training_attention`) on the CPU backend's memory
//! directly: per head, blocks of query rows recompute their probabilities with `gemm` and the
//! vectorised softmax, and the four gradient products go to `gemm` with strides, so nothing is
//! transposed, broadcast or copied through burn's element-wise operations. Through burn's
//! operations the `drivaerml` training step spent 9 % of its time in a scalar `expf` (burn's
//! softmax), 4.6 % iterating non-contiguous tensors and 11 % copying and clearing memory
//! (profile of 2026-12-07, Intel Xeon).
//!
//! With `P = softmax(q·kᵀ·s)`, `o = P·v` and `D = rowsum(dO ⊙ o)`:
//! `dv = Pᵀ·dO`, `dS = P ⊙ (dO·vᵀ − D)`, `dq = dS·k·s`, `dk = dSᵀ·q·s`.

use rayon::prelude::*;

use super::cpu_gemm::product;
use super::cpu_isa::Isa;
use super::cpu_kernels::softmax_probabilities;

/// Query rows per block: two 256 × 2048 blocks (probabilities and their gradient) are 4 MB.
const BLOCK_ROWS: usize = 256;

/// How the heads' rows lie in the buffers of one attention call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heads {
    /// Head after head, each `[rows, d]`: burn's `[batch, heads, rows, d]` layout.
    Stacked,
    /// Heads side by side in each row, `[rows, heads · d]`: as the projections produce them and
    /// the output projection reads them, so no head is copied out or back.
    SideBySide,
}

impl Heads {
    /// Where head `h` starts in a buffer of `rows` rows, and the buffer's row stride.
    fn place(self, h: usize, heads: usize, rows: usize, d: usize) -> (usize, usize) {
        match self {
            Heads::Stacked => (h * rows * d, d),
            Heads::SideBySide => (h * d, heads * d),
        }
    }
}

/// Gradients of q, k and v for `heads` independent heads, `q`, `o`, `grad` holding `n` rows and
/// `k`, `v` holding `m` rows of width `d` per head, laid out as `layout` says.
#[allow(clippy::too_many_arguments)]
pub fn attention_backward(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    o: &[f32],
    grad: &[f32],
    heads: usize,
    [n, m, d]: [usize; 3],
    layout: Heads,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let s = 1.0 / (d as f32).sqrt();
    let isa = Isa::active();
    let mut dq = vec![0.0f32; heads * n * d];
    let mut dk = vec![0.0f32; heads * m * d];
    let mut dv = vec![0.0f32; heads * m * d];
    if n == 0 || m == 0 || d == 0 {
        return (dq, dk, dv);
    }
    for h in 0..heads {
        // Head h's query-side rows start at `qa` with stride `ldq`, its key-side rows at `ka`
        // with stride `ldk`.
        let (qa, ldq) = layout.place(h, heads, n, d);
        let (ka, ldk) = layout.place(h, heads, m, d);
        let (k, v) = (&k[ka..][..(m - 1) * ldk + d], &v[ka..][..(m - 1) * ldk + d]);
        // A block of query rows owns whole rows of dq (all heads' columns, of which it writes
        // head h's): the blocks are disjoint, so they run in parallel.
        let dq_head = match layout {
            Heads::Stacked => &mut dq[qa..][..n * d],
            Heads::SideBySide => &mut dq[..],
        };
        let column = qa % ldq;
        let first_row = qa - column;
        // Each block's share of dk and dv, summed in block order afterwards: the result does
        // not depend on how the blocks were spread over threads (a resumed training run must
        // end with the weights of an uninterrupted one).
        let parts: Vec<(Vec<f32>, Vec<f32>)> = dq_head
            .par_chunks_mut(BLOCK_ROWS * ldq)
            .enumerate()
            .map(|(blk, dq_b)| {
                let (mut dk, mut dv) = (vec![0.0f32; m * d], vec![0.0f32; m * d]);
                let r0 = blk * BLOCK_ROWS;
                let rows = dq_b.len().div_ceil(ldq);
                let span = (rows - 1) * ldq + d;
                let at = first_row + r0 * ldq + column;
                let (q_b, o_b, g_b) = (&q[at..][..span], &o[at..][..span], &grad[at..][..span]);
                let dq_b = &mut dq_b[column..][..span];
                let mut p = vec![0.0f32; rows * m];
                let mut dp = vec![0.0f32; rows * m];
                let (d_i, m_i, ldq_i, ldk_i) = (d as isize, m as isize, ldq as isize, ldk as isize);
                // SAFETY (all products): every matrix below lies inside its slice: p and dp
                // rows × m; q_b, o_b, g_b and dq_b rows of d at stride ldq; k and v m rows of d
                // at stride ldk; dk and dv m × d. The strides read them row-major or transposed
                // within those bounds.
                unsafe {
                    // P = softmax(s · q kᵀ)
                    product(
                        [rows, m, d],
                        (p.as_mut_ptr(), 1, m_i),
                        false,
                        (q_b.as_ptr(), 1, ldq_i),
                        (k.as_ptr(), ldk_i, 1),
                        s,
                        false,
                    );
                }
                softmax_probabilities(isa, &mut p, m);
                unsafe {
                    // dv += Pᵀ dO
                    product(
                        [m, d, rows],
                        (dv.as_mut_ptr(), 1, d_i),
                        true,
                        (p.as_ptr(), m_i, 1),
                        (g_b.as_ptr(), 1, ldq_i),
                        1.0,
                        false,
                    );
                    // dP = dO vᵀ
                    product(
                        [rows, m, d],
                        (dp.as_mut_ptr(), 1, m_i),
                        false,
                        (g_b.as_ptr(), 1, ldq_i),
                        (v.as_ptr(), ldk_i, 1),
                        1.0,
                        false,
                    );
                }
                // dS = P ⊙ (dP − D), in place of dP
                for r in 0..rows {
                    let dot: f32 = g_b[r * ldq..][..d]
                        .iter()
                        .zip(&o_b[r * ldq..][..d])
                        .map(|(a, b)| a * b)
                        .sum();
                    for (x, pr) in dp[r * m..][..m].iter_mut().zip(&p[r * m..][..m]) {
                        *x = pr * (*x - dot);
                    }
                }
                unsafe {
                    // dq = s · dS k
                    product(
                        [rows, d, m],
                        (dq_b.as_mut_ptr(), 1, ldq_i),
                        false,
                        (dp.as_ptr(), 1, m_i),
                        (k.as_ptr(), 1, ldk_i),
                        s,
                        false,
                    );
                    // dk += s · dSᵀ q
                    product(
                        [m, d, rows],
                        (dk.as_mut_ptr(), 1, d_i),
                        true,
                        (dp.as_ptr(), m_i, 1),
                        (q_b.as_ptr(), 1, ldq_i),
                        s,
                        false,
                    );
                }
                (dk, dv)
            })
            .collect();
        for (dk_part, dv_part) in &parts {
            for r in 0..m {
                let at = ka + r * ldk;
                let add = |dst: &mut [f32], src: &[f32]| {
                    dst.iter_mut().zip(src).for_each(|(a, b)| *a += b);
                };
                add(&mut dk[at..][..d], &dk_part[r * d..][..d]);
                add(&mut dv[at..][..d], &dv_part[r * d..][..d]);
            }
        }
    }
    (dq, dk, dv)
}
