//! Fused kernels for inference on the CPU backend.
//!
//! Measured at the `drivaerml` bench sizes (3 heads, 6144 queries × 2048 keys, 2 cores), burn's
//! CPU attention took 232 ms, most of it writing and re-reading the score matrix and a scalar
//! `exp`, while its matrix products alone run at ~200 GFLOP/s; exact GELU took 68 ms on a
//! 6144×768 activation. These kernels keep each block of scores in cache (two `gemm` calls
//! around a vectorised softmax per 64 query rows) and evaluate GELU with a vectorisable erf.
//! They serve the Flex backend without autodiff only; training and other backends use burn's ops.

use std::any::TypeId;

use burn::tensor::backend::Backend;
use rayon::prelude::*;

use super::cpu_isa::Isa;
use super::Cpu;

/// True when `B` is the plain CPU backend (no autodiff) with f32 or bf16 products, where these
/// kernels apply (in bf16, attention's inputs are rounded first and the linear layers run on
/// AMX tiles where present: `precision`).
pub fn applies<B: Backend>() -> bool {
    TypeId::of::<B>() == TypeId::of::<Cpu>()
        && super::precision::products() != super::precision::Precision::F16
}

/// `e^x` on [-87, 88], relative error below 3e-7: Cody–Waite range reduction to
/// `2^n · e^y` with |y| ≤ ln2/2 and a degree-7 Taylor polynomial; no branches, so loops over it
/// vectorise.
#[inline(always)]
fn exp_fast(x: f32) -> f32 {
    const SHIFT: f32 = 12_582_912.0; // 1.5 · 2^23: adding it rounds to an integer in the low bits
    let x = x.clamp(-87.0, 88.0);
    let t = x * std::f32::consts::LOG2_E + SHIFT;
    let n = t - SHIFT; // round(x · log2 e)
                       // Cody–Waite: ln 2 split so that n · LN2_HI is exact and y keeps f32 accuracy.
    let y = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let p = 1.0
        + y * (1.0
            + y * (0.5
                + y * (1.0 / 6.0
                    + y * (1.0 / 24.0
                        + y * (1.0 / 120.0 + y * (1.0 / 720.0 + y * (1.0 / 5040.0)))))));
    // The integer n sits in t's low mantissa bits: no float-to-int conversion, so loops
    // vectorise.
    let k = (t.to_bits() as i32).wrapping_sub(SHIFT.to_bits() as i32);
    p * f32::from_bits(((k + 127) as u32) << 23)
}

/// erf with absolute error below 2e-7 (Abramowitz & Stegun 7.1.26 refined form 7.1.28 is not
/// enough; this is the 7.1.26 rational form evaluated in f32 with an f32-accurate exp).
#[inline(always)]
fn erf_fast(x: f32) -> f32 {
    erf_given_gaussian(x, exp_fast(-x * x))
}

/// [`erf_fast`] of `x` given `e^(−x²)`, which GELU's derivative needs as well.
#[inline(always)]
fn erf_given_gaussian(x: f32, gaussian: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let r = 1.0 - poly * gaussian;
    r.copysign(x)
}

/// `(sin x, cos x)` for |x| below 10⁹, within an f32 rounding of the exact values: `x = j·π/2 +
/// r` reduced in f64 (π/2 in two parts, the first with 33 significant bits so that `j` times it
/// is exact for |j| < 2²⁰), then Taylor polynomials of sin and cos in f64 on |r| ≤ π/4 (to r¹¹
/// and r¹², truncation below 3e-11), the quadrant picked without branches, so loops over it
/// vectorise. libm's `sinf`/`cosf` are one call per value; a single-precision polynomial here
/// (about 1.5 ulp) moved the parity fixtures' outputs by up to 1.7e-5 instead of 1e-6.
#[inline(always)]
fn sin_cos_fast(x: f32) -> (f32, f32) {
    const SHIFT: f64 = 6_755_399_441_055_744.0; // 1.5 · 2^52: adding it rounds to an integer
    const PIO2_HI: f64 = 1.570_796_326_734_125_614_166_259_765_625; // 33 significant bits
    const PIO2_LO: f64 = 6.077_100_506_506_192e-11; // π/2 − PIO2_HI
    let x = x as f64;
    let t = x * std::f64::consts::FRAC_2_PI + SHIFT;
    let j = t - SHIFT;
    let quadrant = (t.to_bits() as i64).wrapping_sub(SHIFT.to_bits() as i64) as i32;
    let r = (x - j * PIO2_HI) - j * PIO2_LO;
    let z = r * r;
    // 1/k! for the odd (sin) and even (cos) powers.
    let sin_r = r
        * (1.0
            + z * (-1.0 / 6.0
                + z * (1.0 / 120.0
                    + z * (-1.0 / 5040.0 + z * (1.0 / 362_880.0 + z * (-1.0 / 39_916_800.0))))));
    let cos_r = 1.0
        + z * (-0.5
            + z * (1.0 / 24.0
                + z * (-1.0 / 720.0
                    + z * (1.0 / 40_320.0
                        + z * (-1.0 / 3_628_800.0 + z * (1.0 / 479_001_600.0))))));
    let (sin_r, cos_r) = (sin_r as f32, cos_r as f32);
    // Quadrant q: sin x = (sin r, cos r, −sin r, −cos r)[q], cos x = (cos r, −sin r, −cos r, sin r)[q].
    let odd = quadrant & 1 != 0;
    let (s, c) = if odd { (cos_r, sin_r) } else { (sin_r, cos_r) };
    let flip_sin = ((quadrant & 2) as u32) << 30;
    let flip_cos = (((quadrant + 1) & 2) as u32) << 30;
    (
        f32::from_bits(s.to_bits() ^ flip_sin),
        f32::from_bits(c.to_bits() ^ flip_cos),
    )
}

/// sin and cos of every phase, into `sin` and `cos`.
#[inline(always)]
fn sin_cos_slice_generic(phases: &[f32], sin: &mut [f32], cos: &mut [f32]) {
    for ((x, s), c) in phases.iter().zip(sin.iter_mut()).zip(cos.iter_mut()) {
        (*s, *c) = sin_cos_fast(*x);
    }
}

/// sin and cos of every phase, in parallel, at the active instruction-set level: the sincos
/// embeddings and the RoPE angles of every point of a forward.
pub(super) fn sin_cos(phases: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let isa = Isa::active();
    let (mut sin, mut cos) = (vec![0.0f32; phases.len()], vec![0.0f32; phases.len()]);
    sin.par_chunks_mut(16 * 1024)
        .zip(cos.par_chunks_mut(16 * 1024))
        .zip(phases.par_chunks(16 * 1024))
        .for_each(|((s, c), x)| sin_cos_slice(isa, x, s, c));
    (sin, cos)
}

/// Exact GELU of every value, in parallel, at the active instruction-set level.
pub(super) fn gelu_in_place(values: &mut [f32]) {
    let isa = Isa::active();
    values
        .par_chunks_mut(16 * 1024)
        .for_each(|chunk| gelu_slice(isa, chunk));
}

/// GELU of every value in place on this thread (for a block a parallel kernel already owns).
pub(super) fn gelu_serial(values: &mut [f32]) {
    gelu_slice(Isa::active(), values)
}

/// GELU of every value in place and its derivative GELU′(x) = Φ(x) + x·φ(x) into `derivative`,
/// in parallel: the forward of a training step, whose backward then only multiplies.
pub(super) fn gelu_with_derivative_in_place(values: &mut [f32], derivative: &mut [f32]) {
    let isa = Isa::active();
    values
        .par_chunks_mut(16 * 1024)
        .zip(derivative.par_chunks_mut(16 * 1024))
        .for_each(|(v, d)| gelu_with_derivative_slice(isa, v, d));
}

/// `grad · GELU′(x)` into `grad`, in parallel: GELU′(x) = Φ(x) + x·φ(x).
pub(super) fn gelu_backward_in_place(x: &[f32], grad: &mut [f32]) {
    let isa = Isa::active();
    grad.par_chunks_mut(16 * 1024)
        .zip(x.par_chunks(16 * 1024))
        .for_each(|(g, x)| gelu_backward_slice(isa, x, g));
}

/// Lanes of the independent accumulators in [`softmax_numerators`]: a serial max or sum would
/// keep the loop scalar.
const LANES: usize = 16;

/// Replaces `row` by `exp(row − max row)` and returns 1 / its sum.
#[inline(always)]
fn softmax_numerators(row: &mut [f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let chunks = row.chunks_exact(LANES);
    let mut max = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |m, x| m.max(*x));
    for c in chunks {
        for (l, x) in lanes.iter_mut().zip(c) {
            *l = if *x > *l { *x } else { *l };
        }
    }
    for l in lanes {
        max = max.max(l);
    }
    for x in row.iter_mut() {
        *x = exp_fast(*x - max);
    }
    let mut sums = [0.0f32; LANES];
    let chunks = row.chunks_exact(LANES);
    let mut sum: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for (s, x) in sums.iter_mut().zip(c) {
            *s += *x;
        }
    }
    sum += sums.iter().sum::<f32>();
    1.0 / sum
}

/// [`softmax_numerators`] over the first `keys` entries of every `stride`-long row of
/// `scores`, writing each row's 1 / sum into `inv_sum`.
#[inline(always)]
fn softmax_rows_generic(scores: &mut [f32], stride: usize, keys: usize, inv_sum: &mut [f32]) {
    for (row, inv) in scores.chunks_mut(stride).zip(inv_sum) {
        *inv = softmax_numerators(&mut row[..keys]);
    }
}

/// GELU over a slice (see [`gelu`]).
#[inline(always)]
fn gelu_slice_generic(values: &mut [f32]) {
    for v in values {
        *v = 0.5 * *v * (1.0 + erf_fast(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// `grad · GELU′(x)` over a slice (see [`gelu_backward_in_place`]).
#[inline(always)]
fn gelu_backward_slice_generic(x: &[f32], grad: &mut [f32]) {
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    for (g, x) in grad.iter_mut().zip(x) {
        let cdf = 0.5 * (1.0 + erf_fast(*x * std::f32::consts::FRAC_1_SQRT_2));
        let pdf = INV_SQRT_2PI * exp_fast(-0.5 * *x * *x);
        *g *= cdf + *x * pdf;
    }
}

/// GELU and its derivative over a slice (see [`gelu_with_derivative_in_place`]); one exponential
/// serves both, since φ(x) = e^(−x²/2)/√(2π) and erf(x/√2) needs e^(−x²/2).
#[inline(always)]
fn gelu_with_derivative_slice_generic(values: &mut [f32], derivative: &mut [f32]) {
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    for (v, d) in values.iter_mut().zip(derivative) {
        let x = *v;
        let z = x * std::f32::consts::FRAC_1_SQRT_2;
        let gaussian = exp_fast(-z * z);
        let cdf = 0.5 * (1.0 + erf_given_gaussian(z, gaussian));
        *v = x * cdf;
        *d = cdf + x * INV_SQRT_2PI * gaussian;
    }
}

/// Defines `$name(isa, args…)`: `$generic` compiled for each [`Isa`] level, run at the level
/// asked for when the CPU has it, else at the highest level below it that it has. The generic
/// bodies are `#[inline(always)]`, so each copy is vectorised for its own level.
macro_rules! isa_dispatch {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) = $generic:ident;) => {
        $(#[$doc])*
        fn $name(isa: Isa, $($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                unsafe fn avx512($($arg: $ty),*) {
                    $generic($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) {
                    $generic($($arg),*)
                }
                if isa >= Isa::Avx512 && Isa::Avx512.available() {
                    // SAFETY: the CPU has the features `avx512` is compiled for (checked).
                    return unsafe { avx512($($arg),*) };
                }
                if isa >= Isa::Avx2Fma && Isa::Avx2Fma.available() {
                    // SAFETY: the CPU has the features `avx2` is compiled for (checked).
                    return unsafe { avx2($($arg),*) };
                }
            }
            let _ = isa;
            $generic($($arg),*)
        }
    };
}

isa_dispatch! {
    /// [`softmax_rows_generic`] at the level `isa`.
    fn softmax_rows(scores: &mut [f32], stride: usize, keys: usize, inv_sum: &mut [f32]) =
        softmax_rows_generic;
}

isa_dispatch! {
    /// [`sin_cos_slice_generic`] at the level `isa`.
    fn sin_cos_slice(phases: &[f32], sin: &mut [f32], cos: &mut [f32]) = sin_cos_slice_generic;
}

isa_dispatch! {
    /// [`gelu_slice_generic`] at the level `isa`.
    fn gelu_slice(values: &mut [f32]) = gelu_slice_generic;
}

isa_dispatch! {
    /// [`gelu_with_derivative_slice_generic`] at the level `isa`.
    fn gelu_with_derivative_slice(values: &mut [f32], derivative: &mut [f32]) =
        gelu_with_derivative_slice_generic;
}

isa_dispatch! {
    /// [`gelu_backward_slice_generic`] at the level `isa`.
    fn gelu_backward_slice(x: &[f32], grad: &mut [f32]) = gelu_backward_slice_generic;
}

/// [`softmax_rows`], with the AVX-512 intrinsics softmax (`attention_avx512`) at that level.
pub(super) fn softmax_rows_fastest(
    isa: Isa,
    scores: &mut [f32],
    stride: usize,
    keys: usize,
    inv_sum: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if isa >= Isa::Avx512 && Isa::Avx512.available() {
        for (row, inv) in scores.chunks_mut(stride).zip(inv_sum) {
            // SAFETY: the CPU has AVX-512 F (checked).
            *inv = unsafe { super::attention_avx512::softmax_numerators(&mut row[..keys]) };
        }
        return;
    }
    softmax_rows(isa, scores, stride, keys, inv_sum);
}

/// Replaces each `keys`-long row of `scores` by its softmax (probabilities that sum to one), at
/// the level `isa`.
pub(super) fn softmax_probabilities(isa: Isa, scores: &mut [f32], keys: usize) {
    let rows = scores.len() / keys.max(1);
    let mut inv_sum = vec![0.0f32; rows];
    softmax_rows_fastest(isa, scores, keys, keys, &mut inv_sum);
    for (row, inv) in scores.chunks_mut(keys).zip(&inv_sum) {
        row.iter_mut().for_each(|x| *x *= inv);
    }
}

/// Query rows per block of the `gemm` path. `gemm` packs both operands on every call, so the
/// keys and values of a head are packed once per block: 256 rows (a 2 MB score block at 2048
/// keys) amortise that best at the `drivaerml` bench sizes on an AVX-512 Xeon (2026-12-07,
/// inference 2.56 s at 64 rows, 2.30 s at 128, 2.15 s at 256, 2.28 s at 512).
const BLOCK_ROWS: usize = 256;
/// Query rows per block of the AVX-512 path, whose keys and values are packed once per call: a
/// 64 × 2048 score block is 512 KB, inside L2.
const BLOCK_ROWS_AVX512: usize = 64;

/// RoPE on `[N, dim]` rows in place: each head's consecutive channel pairs turn by the row's
/// angles (`cos`, `sin`: `[N, head_dim / 2]`).
pub fn rotate_rows(x: &mut [f32], cos: &[f32], sin: &[f32], head_dim: usize) {
    let pairs = head_dim / 2;
    let rows = cos.len() / pairs.max(1);
    if rows == 0 {
        return;
    }
    let dim = x.len() / rows;
    x.par_chunks_mut(dim).enumerate().for_each(|(r, row)| {
        let (c, s) = (
            &cos[r * pairs..(r + 1) * pairs],
            &sin[r * pairs..(r + 1) * pairs],
        );
        for head in row.chunks_exact_mut(head_dim) {
            for (p, pair) in head.chunks_exact_mut(2).enumerate() {
                let (a, b) = (pair[0], pair[1]);
                pair[0] = a * c[p] - b * s[p];
                pair[1] = a * s[p] + b * c[p];
            }
        }
    });
}

/// Multi-head softmax(q·kᵀ/√d)·v on `[N, dim]` query rows and `[M, dim]` key and value rows
/// (heads side by side in each row, as the projections produce them): no head reshuffling.
/// With bf16 products on a CPU with a bf16 unit, the products run on it (`bf16`).
pub fn attention_rows(q: &[f32], k: &[f32], v: &[f32], heads: usize, dim: usize) -> Vec<f32> {
    let isa = Isa::active();
    if super::bf16::serving_unit().is_some() {
        return super::bf16::attention_bf16(q, k, v, heads, dim);
    }
    attention_rows_on(isa, q, k, v, heads, dim)
}

/// [`attention_rows`] at the level `isa`: AVX-512 micro-kernels over keys and values packed
/// once (`attention_avx512`) where the CPU has them and the head dimension is a multiple of 16,
/// else `gemm` around the softmax.
fn attention_rows_on(
    isa: Isa,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    heads: usize,
    dim: usize,
) -> Vec<f32> {
    let d = dim / heads;
    #[cfg(target_arch = "x86_64")]
    if isa >= Isa::Avx512 && Isa::Avx512.available() && d.is_multiple_of(16) {
        return attention_rows_avx512(q, k, v, heads, dim);
    }
    let nk = k.len() / dim;
    let scale = 1.0 / (d as f32).sqrt();
    let mut out = vec![0.0f32; q.len()];
    out.par_chunks_mut(BLOCK_ROWS * dim)
        .enumerate()
        .for_each(|(blk, o)| {
            let rows = o.len() / dim;
            let q_b = &q[blk * BLOCK_ROWS * dim..blk * BLOCK_ROWS * dim + rows * dim];
            let mut s = vec![0.0f32; rows * nk];
            let mut inv_sum = vec![0.0f32; rows];
            for h in 0..heads {
                // SAFETY: each pointer/stride pair addresses only its own slice: q_b rows × dim,
                // k and v nk × dim (head h's d columns at offset h·d), s rows × nk, o rows × dim;
                // h·d + d ≤ dim keeps every access in bounds, and o is owned by this block.
                unsafe {
                    gemm::gemm(
                        rows,
                        nk,
                        d,
                        s.as_mut_ptr(),
                        1,
                        nk as isize,
                        false,
                        q_b.as_ptr().add(h * d),
                        1,
                        dim as isize,
                        k.as_ptr().add(h * d),
                        dim as isize,
                        1,
                        0.0,
                        scale,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                }
                softmax_rows(isa, &mut s, nk, nk, &mut inv_sum);
                unsafe {
                    gemm::gemm(
                        rows,
                        d,
                        nk,
                        o.as_mut_ptr().add(h * d),
                        1,
                        dim as isize,
                        false,
                        s.as_ptr(),
                        1,
                        nk as isize,
                        v.as_ptr().add(h * d),
                        1,
                        dim as isize,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                }
                for (row, inv) in o.chunks_mut(dim).zip(&inv_sum) {
                    for x in &mut row[h * d..(h + 1) * d] {
                        *x *= inv;
                    }
                }
            }
        });
    out
}

/// [`attention_rows`] through the AVX-512 micro-kernels (the caller checked the CPU).
#[cfg(target_arch = "x86_64")]
fn attention_rows_avx512(q: &[f32], k: &[f32], v: &[f32], heads: usize, dim: usize) -> Vec<f32> {
    use super::attention_avx512::{scores, weighted_values, PackedHead};
    let d = dim / heads;
    let scale = 1.0 / (d as f32).sqrt();
    let packed: Vec<PackedHead> = (0..heads)
        .into_par_iter()
        .map(|h| PackedHead::new(k, v, dim, h, d))
        .collect();
    let mut out = vec![0.0f32; q.len()];
    out.par_chunks_mut(BLOCK_ROWS_AVX512 * dim)
        .enumerate()
        .for_each(|(blk, o)| {
            let rows = o.len() / dim;
            let q_b = &q[blk * BLOCK_ROWS_AVX512 * dim..][..rows * dim];
            let mut inv_sum = vec![0.0f32; rows];
            let mut s = Vec::new();
            for (h, head) in packed.iter().enumerate() {
                let stride = head.keys_padded();
                s.resize(rows * stride, 0.0);
                // SAFETY: the CPU has AVX-512 F (checked by the caller); q_b[h·d..] holds `rows`
                // rows of d channels at stride dim, s rows × stride scores, and o[h·d..] rows of
                // d channels at stride dim (d is a multiple of 16); the kernels assert the sizes.
                unsafe {
                    scores(&q_b[h * d..], dim, rows, head, scale, &mut s);
                }
                softmax_rows_fastest(Isa::Avx512, &mut s, stride, head.key_count(), &mut inv_sum);
                unsafe {
                    weighted_values(&s, rows, head, &inv_sum, &mut o[h * d..], dim);
                }
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ops::gelu;
    use crate::model::{tensor_from, tensor_values};
    use burn::tensor::module::attention as burn_attention;
    use burn::tensor::ops::AttentionModuleOptions;
    use burn::tensor::Distribution;
    use burn::tensor::{activation, Tensor};

    #[test]
    fn sin_and_cos_are_f32_accurate_at_every_level() {
        // Phases of the embeddings: coordinates up to about a thousand times frequencies up
        // to one, both signs, and the quadrant edges.
        let mut phases: Vec<f32> = (-200_000..=200_000).map(|i| i as f32 * 0.01).collect();
        phases.extend((-40..=40).map(|q| q as f32 * std::f32::consts::FRAC_PI_2));
        phases.extend([0.0, -0.0, 1e-30, 1999.99]);
        for isa in [Isa::Portable, Isa::Avx2Fma, Isa::Avx512] {
            let (mut sin, mut cos) = (vec![0.0; phases.len()], vec![0.0; phases.len()]);
            sin_cos_slice(isa, &phases, &mut sin, &mut cos);
            for ((x, s), c) in phases.iter().zip(&sin).zip(&cos) {
                let x64 = *x as f64;
                let (es, ec) = ((*s as f64 - x64.sin()).abs(), (*c as f64 - x64.cos()).abs());
                assert!(
                    es < 2e-7 && ec < 2e-7,
                    "{isa:?} x = {x}: sin {s} ({es:e}), cos {c} ({ec:e})"
                );
            }
        }
    }

    #[test]
    fn exp_and_erf_are_f32_accurate() {
        for i in -8000..=800 {
            let x = i as f32 * 0.01;
            let want = (x as f64).exp();
            assert!(
                ((exp_fast(x) as f64 - want) / want).abs() < 3e-7,
                "exp({x})"
            );
        }
        let mut worst = 0.0f64;
        for i in -600..=600 {
            let x = i as f64 * 0.01;
            worst = worst.max((erf_fast(x as f32) as f64 - erf_reference(x)).abs());
        }
        // A&S 7.1.26 is good to 1.5e-7; f32 evaluation adds a few ulps of 1.
        assert!(worst < 5e-7, "erf off by {worst:.2e}");
    }

    /// erf in f64: Taylor series up to |x| = 2.5, continued fraction of erfc beyond.
    fn erf_reference(x: f64) -> f64 {
        if x.abs() > 2.5 {
            let a = x.abs();
            let mut f = a;
            for k in (1..200).rev() {
                f = a + (k as f64 / 2.0) / f;
            }
            let erfc = (-a * a).exp() / (std::f64::consts::PI.sqrt() * f);
            return (1.0 - erfc).copysign(x);
        }
        let (mut term, mut sum, mut n) = (x, x, 0.0f64);
        while term.abs() > 1e-17 * sum.abs().max(1e-300) {
            n += 1.0;
            term *= -x * x / n;
            sum += term / (2.0 * n + 1.0);
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    /// The forced fallback: every level this CPU has gives the results of the others. GELU and
    /// the generic softmax evaluate the same operations in the same order at every level (Rust
    /// does not contract `a * b + c` into a fused multiply-add), so they must agree exactly.
    /// The AVX-512 attention sums in another order (its own micro-kernels and softmax), so it
    /// is held to 2e-6 of the output scale, about ten f32 roundings of the largest value. A CPU
    /// without AVX-512 compares the levels it has.
    #[test]
    fn every_instruction_set_gives_the_same_results() {
        let levels: Vec<Isa> = Isa::ALL.into_iter().filter(|i| i.available()).collect();
        if levels.len() < Isa::ALL.len() {
            eprintln!(
                "this CPU has only {:?} of {:?}: the missing levels are not compared",
                levels,
                Isa::ALL
            );
        }
        let mut rng = crate::rng::Rng::seed_from(7);
        let values: Vec<f32> = (0..10_007).map(|_| rng.normal() as f32 * 4.0).collect();
        // Head dims 16 (AVX-512 kernels, key and row counts off their tiles) and 20 (gemm at
        // every level).
        let cases = [(3usize, 48usize, 131usize, 301usize), (2, 40, 70, 45)];
        let inputs: Vec<_> = cases
            .iter()
            .map(|&(heads, dim, nq, nk)| {
                let mut draw = |n: usize, s: f64| -> Vec<f32> {
                    (0..n).map(|_| (rng.normal() * s) as f32).collect()
                };
                let q = draw(nq * dim, 2.0);
                let k = draw(nk * dim, 2.0);
                let v = draw(nk * dim, 1.0);
                (heads, dim, q, k, v)
            })
            .collect();
        let run = |isa: Isa| {
            let mut g = values.clone();
            gelu_slice(isa, &mut g);
            let mut scores = values[..7 * 1000].to_vec();
            let mut inv = vec![0.0f32; 7];
            softmax_rows(isa, &mut scores, 1000, 999, &mut inv);
            let attention: Vec<Vec<f32>> = inputs
                .iter()
                .map(|(heads, dim, q, k, v)| attention_rows_on(isa, q, k, v, *heads, *dim))
                .collect();
            (g, scores, inv, attention)
        };
        let portable = run(Isa::Portable);
        for isa in levels {
            let other = run(isa);
            assert!(other.0 == portable.0, "gelu at {isa} differs");
            assert!(
                other.1 == portable.1 && other.2 == portable.2,
                "softmax at {isa} differs"
            );
            for (a, b) in other.3.iter().zip(&portable.3) {
                let scale = b.iter().fold(0.0f32, |m, x| m.max(x.abs()));
                let err = a
                    .iter()
                    .zip(b)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0.0f32, f32::max);
                assert!(
                    err <= 2e-6 * scale,
                    "attention at {isa}: {err:e} of {scale}"
                );
            }
        }
    }

    /// GELU with its derivative gives GELU's values and, as the derivative, what the backward
    /// kernel multiplies a unit gradient by, at every instruction-set level the CPU has.
    #[test]
    fn gelu_with_its_derivative_matches_gelu_and_its_backward() {
        let mut rng = crate::rng::Rng::seed_from(11);
        let x: Vec<f32> = (0..5_003).map(|_| rng.normal() as f32 * 4.0).collect();
        for isa in Isa::ALL.into_iter().filter(|i| i.available()) {
            let (mut g, mut slope) = (x.clone(), vec![0.0f32; x.len()]);
            gelu_with_derivative_slice(isa, &mut g, &mut slope);
            let mut want_g = x.clone();
            gelu_slice(isa, &mut want_g);
            let mut want_slope = vec![1.0f32; x.len()];
            gelu_backward_slice(isa, &x, &mut want_slope);
            for i in 0..x.len() {
                let (a, b) = (g[i], want_g[i]);
                assert!(
                    (a - b).abs() <= 1e-6 * (1.0 + b.abs()),
                    "{isa} GELU({}): {a} vs {b}",
                    x[i]
                );
                let (a, b) = (slope[i], want_slope[i]);
                assert!(
                    (a - b).abs() <= 1e-6 * (1.0 + b.abs()),
                    "{isa} GELU'({}): {a} vs {b}",
                    x[i]
                );
            }
        }
    }

    /// The AVX-512 softmax equals the generic one to a few f32 roundings, on row lengths around
    /// its 16-lane and 64-element steps.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx512_softmax_matches_the_generic_one() {
        if !Isa::Avx512.available() {
            eprintln!("this CPU lacks AVX-512: its softmax is not compared");
            return;
        }
        let mut rng = crate::rng::Rng::seed_from(3);
        for n in [1usize, 15, 16, 17, 63, 64, 65, 200, 2048] {
            let row: Vec<f32> = (0..n).map(|_| rng.normal() as f32 * 6.0).collect();
            let (mut a, mut b) = (row.clone(), row);
            let inv_a = softmax_numerators(&mut a);
            // SAFETY: the CPU has AVX-512 F (checked above).
            let inv_b = unsafe { super::super::attention_avx512::softmax_numerators(&mut b) };
            assert!(((inv_a - inv_b) / inv_a).abs() < 1e-6, "1/sum at {n}");
            for (x, y) in a.iter().zip(&b) {
                assert!(
                    (x - y).abs() <= 1e-6 * x.abs().max(1e-30),
                    "exp at {n}: {x} {y}"
                );
            }
        }
    }

    #[test]
    fn kernels_match_burn() {
        let d = Default::default();
        let x = Tensor::<Cpu, 2>::random([300, 70], Distribution::Normal(0.0, 3.0), &d);
        let ours = tensor_values(gelu(x.clone()));
        let theirs = tensor_values(activation::gelu(x));
        let err = ours
            .iter()
            .zip(&theirs)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(err < 2e-6, "gelu differs by {err}");

        for (nq, nk) in [(1usize, 1usize), (130, 77), (64, 300)] {
            let q = Tensor::<Cpu, 4>::random([1, 3, nq, 16], Distribution::Normal(0.0, 2.0), &d);
            let k = Tensor::<Cpu, 4>::random([1, 3, nk, 16], Distribution::Normal(0.0, 2.0), &d);
            let v = Tensor::<Cpu, 4>::random([1, 3, nk, 16], Distribution::Normal(0.0, 1.0), &d);
            // Heads side by side in rows: [1, H, N, d] → [N, H·d].
            let rows =
                |t: Tensor<Cpu, 4>, n: usize| tensor_values(t.swap_dims(1, 2).reshape([n, 48]));
            let ours = attention_rows(
                &rows(q.clone(), nq),
                &rows(k.clone(), nk),
                &rows(v.clone(), nk),
                3,
                48,
            );
            let ours = tensor_values(
                tensor_from::<Cpu, 2>(ours, [nq, 48], &d)
                    .reshape([1, nq, 3, 16])
                    .swap_dims(1, 2),
            );
            let theirs = tensor_values(burn_attention(
                q,
                k,
                v,
                None,
                None,
                AttentionModuleOptions::default(),
            ));
            let err = ours
                .iter()
                .zip(&theirs)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(err < 1e-5, "attention {nq}x{nk} differs by {err}");
        }
    }
}
