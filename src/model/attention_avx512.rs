//! AVX-512 micro-kernels for the fused CPU attention (`cpu_kernels::attention_rows`).
//!
//! Through `gemm`, every block of query rows packed its head's keys and values again (the crate
//! packs both operands on each call): at the `drivaerml` bench sizes that packing took about a
//! sixth of the inference time on an AVX-512 Xeon (profile of 2026-12-07). Here a head's keys and
//! values are packed once per attention call, in the layouts the two kernels read directly:
//!
//! - scores `s = scale · q · kᵀ`: keys in strips of 64 (four 16-lane registers), each strip
//!   `head_dim` rows of 64 floats, so that a 6 × 64 tile of scores is 24 accumulators fed by four
//!   loads and six broadcasts per channel (an 8 × 32 tile, ten loads per 16 multiply-adds, ran
//!   at 140 GFLOP/s on one core of the AVX-512 Xeon; this one at 164);
//! - `o = (p · v) / Σp`: values as contiguous `[keys, head_dim]` rows, so that a 6-row tile of up
//!   to 64 channels is 24 accumulators fed by four loads and six broadcasts per key (about 165
//!   GFLOP/s on one core there, 78 % of its f32 peak).
//!
//! Only compiled for x86-64; callers check [`super::cpu_isa::Isa::Avx512`] first.

use std::arch::x86_64::*;

/// Keys per strip of the packed keys: four 16-lane registers.
const KEY_STRIP: usize = 64;
/// 16-lane registers per strip.
const STRIP_VECTORS: usize = KEY_STRIP / 16;
/// Query rows per score tile.
const SCORE_ROWS: usize = 6;
/// Query rows per output tile.
const OUT_ROWS: usize = 6;
/// Channels per output tile: four 16-lane registers.
const OUT_CHANNELS: usize = 64;
/// Keys per pass of the output tiles: 128 keys of 64 channels are 32 KB of values, inside L1.
const KEY_CHUNK: usize = 128;

/// One head's keys and values, packed for [`scores`] and [`weighted_values`].
pub struct PackedHead {
    /// `[keys_padded / KEY_STRIP][head_dim][KEY_STRIP]`, zero past the last key.
    keys: Vec<f32>,
    /// `[keys][head_dim]`.
    values: Vec<f32>,
    key_count: usize,
    head_dim: usize,
}

impl PackedHead {
    /// Packs head `head` (channels `head·head_dim ..`) of `[M, dim]` key and value rows.
    pub fn new(k: &[f32], v: &[f32], dim: usize, head: usize, head_dim: usize) -> PackedHead {
        let key_count = k.len() / dim;
        let strips = key_count.div_ceil(KEY_STRIP);
        let offset = head * head_dim;
        let mut keys = vec![0.0f32; strips * KEY_STRIP * head_dim];
        for (j, row) in k.chunks_exact(dim).enumerate() {
            let strip = &mut keys[(j / KEY_STRIP) * KEY_STRIP * head_dim..];
            for (c, x) in row[offset..offset + head_dim].iter().enumerate() {
                strip[c * KEY_STRIP + j % KEY_STRIP] = *x;
            }
        }
        let mut values = Vec::with_capacity(key_count * head_dim);
        for row in v.chunks_exact(dim) {
            values.extend_from_slice(&row[offset..offset + head_dim]);
        }
        PackedHead {
            keys,
            values,
            key_count,
            head_dim,
        }
    }

    /// Keys rounded up to whole strips: the row stride of a score block.
    pub fn keys_padded(&self) -> usize {
        self.key_count.div_ceil(KEY_STRIP) * KEY_STRIP
    }

    pub fn key_count(&self) -> usize {
        self.key_count
    }
}

/// `out[r][j] = scale · Σ_c q[r·q_stride + c] · k[j][c]` for `rows` query rows; `out` has
/// [`PackedHead::keys_padded`] columns (those past the last key hold the scores of zero keys).
///
/// # Safety
/// The CPU has AVX-512 F; `q` holds `rows` rows of `head_dim` floats at stride `q_stride`;
/// `out.len() ≥ rows · keys_padded`.
#[target_feature(enable = "avx512f")]
pub unsafe fn scores(
    q: &[f32],
    q_stride: usize,
    rows: usize,
    head: &PackedHead,
    scale: f32,
    out: &mut [f32],
) {
    let d = head.head_dim;
    let stride = head.keys_padded();
    assert!(out.len() >= rows * stride && (rows == 0 || q.len() >= (rows - 1) * q_stride + d));
    let q = q.as_ptr();
    let out = out.as_mut_ptr();
    for strip in 0..stride / KEY_STRIP {
        let k = head.keys.as_ptr().add(strip * KEY_STRIP * d);
        let mut r = 0;
        while r + SCORE_ROWS <= rows {
            let (q_r, o_r) = (q.add(r * q_stride), out.add(r * stride + strip * KEY_STRIP));
            score_tile::<SCORE_ROWS>(q_r, q_stride, k, d, scale, o_r, stride);
            r += SCORE_ROWS;
        }
        let (q_r, o_r) = (q.add(r * q_stride), out.add(r * stride + strip * KEY_STRIP));
        match rows - r {
            0 => {}
            1 => score_tile::<1>(q_r, q_stride, k, d, scale, o_r, stride),
            2 => score_tile::<2>(q_r, q_stride, k, d, scale, o_r, stride),
            3 => score_tile::<3>(q_r, q_stride, k, d, scale, o_r, stride),
            4 => score_tile::<4>(q_r, q_stride, k, d, scale, o_r, stride),
            // At most SCORE_ROWS − 1 = 5 rows remain.
            _ => score_tile::<5>(q_r, q_stride, k, d, scale, o_r, stride),
        }
    }
}

/// An `MR × KEY_STRIP` tile of scores: `MR · STRIP_VECTORS` accumulators over the head's
/// channels.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn score_tile<const MR: usize>(
    q: *const f32,
    q_stride: usize,
    k: *const f32,
    d: usize,
    scale: f32,
    out: *mut f32,
    out_stride: usize,
) {
    let mut acc = [[_mm512_setzero_ps(); STRIP_VECTORS]; MR];
    for c in 0..d {
        let mut kv = [_mm512_setzero_ps(); STRIP_VECTORS];
        for (u, x) in kv.iter_mut().enumerate() {
            *x = _mm512_loadu_ps(k.add(c * KEY_STRIP + 16 * u));
        }
        for (r, a) in acc.iter_mut().enumerate() {
            let x = _mm512_set1_ps(*q.add(r * q_stride + c));
            for (y, kk) in a.iter_mut().zip(&kv) {
                *y = _mm512_fmadd_ps(x, *kk, *y);
            }
        }
    }
    let s = _mm512_set1_ps(scale);
    for (r, a) in acc.iter().enumerate() {
        for (u, y) in a.iter().enumerate() {
            _mm512_storeu_ps(out.add(r * out_stride + 16 * u), _mm512_mul_ps(*y, s));
        }
    }
}

/// `out[r·out_stride + c] = inv_sum[r] · Σ_j p[r][j] · v[j][c]` for `rows` rows of
/// probabilities `p` (row stride [`PackedHead::keys_padded`], the first `key_count` used).
///
/// # Safety
/// The CPU has AVX-512 F; the head's `head_dim` is a multiple of 16; `p.len() ≥ rows ·
/// keys_padded`, `inv_sum.len() ≥ rows`, and `out` holds `rows` rows of `head_dim` floats at
/// stride `out_stride`.
#[target_feature(enable = "avx512f")]
pub unsafe fn weighted_values(
    p: &[f32],
    rows: usize,
    head: &PackedHead,
    inv_sum: &[f32],
    out: &mut [f32],
    out_stride: usize,
) {
    let (d, p_stride) = (head.head_dim, head.keys_padded());
    assert!(d.is_multiple_of(16) && p.len() >= rows * p_stride && inv_sum.len() >= rows);
    assert!(rows == 0 || out.len() >= (rows - 1) * out_stride + d);
    let mut c0 = 0;
    while c0 < d {
        let width = (d - c0).min(OUT_CHANNELS);
        match width / 16 {
            1 => value_rows::<1>(p, rows, head, c0, inv_sum, out, out_stride),
            2 => value_rows::<2>(p, rows, head, c0, inv_sum, out, out_stride),
            3 => value_rows::<3>(p, rows, head, c0, inv_sum, out, out_stride),
            _ => value_rows::<4>(p, rows, head, c0, inv_sum, out, out_stride),
        }
        c0 += width;
    }
}

/// [`weighted_values`] for channels `c0 .. c0 + 16·NV`. The keys go in chunks of
/// [`KEY_CHUNK`], each chunk's values (32 KB at 64 channels) staying in L1 while every row tile
/// of the block passes over them; the sums accumulate in `out`, which is scaled by `inv_sum`
/// at the end.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn value_rows<const NV: usize>(
    p: &[f32],
    rows: usize,
    head: &PackedHead,
    c0: usize,
    inv_sum: &[f32],
    out: &mut [f32],
    out_stride: usize,
) {
    let p_stride = head.keys_padded();
    let d = head.head_dim;
    let (p, out) = (p.as_ptr(), out.as_mut_ptr().add(c0));
    let mut j0 = 0;
    while j0 < head.key_count {
        let j1 = (j0 + KEY_CHUNK).min(head.key_count);
        let first = j0 == 0;
        let v = head.values.as_ptr().add(j0 * d + c0);
        let keys = j1 - j0;
        let mut r = 0;
        while r + OUT_ROWS <= rows {
            let (p_r, o_r) = (p.add(r * p_stride + j0), out.add(r * out_stride));
            value_tile::<OUT_ROWS, NV>(p_r, p_stride, keys, v, d, first, o_r, out_stride);
            r += OUT_ROWS;
        }
        let (p_r, o_r) = (p.add(r * p_stride + j0), out.add(r * out_stride));
        match rows - r {
            0 => {}
            1 => value_tile::<1, NV>(p_r, p_stride, keys, v, d, first, o_r, out_stride),
            2 => value_tile::<2, NV>(p_r, p_stride, keys, v, d, first, o_r, out_stride),
            3 => value_tile::<3, NV>(p_r, p_stride, keys, v, d, first, o_r, out_stride),
            4 => value_tile::<4, NV>(p_r, p_stride, keys, v, d, first, o_r, out_stride),
            _ => value_tile::<5, NV>(p_r, p_stride, keys, v, d, first, o_r, out_stride),
        }
        j0 = j1;
    }
    for (r, inv) in inv_sum[..rows].iter().enumerate() {
        let s = _mm512_set1_ps(*inv);
        for c in 0..NV {
            let o = out.add(r * out_stride + 16 * c);
            _mm512_storeu_ps(o, _mm512_mul_ps(_mm512_loadu_ps(o), s));
        }
    }
}

/// An `MR × 16·NV` tile of `Σ_j p[r][j] · v[j]` over `keys` keys: `MR · NV` accumulators,
/// starting from zero (`first`) or from what `out` holds.
#[target_feature(enable = "avx512f")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn value_tile<const MR: usize, const NV: usize>(
    p: *const f32,
    p_stride: usize,
    keys: usize,
    v: *const f32,
    v_stride: usize,
    first: bool,
    out: *mut f32,
    out_stride: usize,
) {
    let mut acc = [[_mm512_setzero_ps(); NV]; MR];
    if !first {
        for (r, a) in acc.iter_mut().enumerate() {
            for (c, x) in a.iter_mut().enumerate() {
                *x = _mm512_loadu_ps(out.add(r * out_stride + 16 * c));
            }
        }
    }
    for j in 0..keys {
        let mut vv = [_mm512_setzero_ps(); NV];
        for (c, x) in vv.iter_mut().enumerate() {
            *x = _mm512_loadu_ps(v.add(j * v_stride + 16 * c));
        }
        for (r, a) in acc.iter_mut().enumerate() {
            let w = _mm512_set1_ps(*p.add(r * p_stride + j));
            for (x, y) in a.iter_mut().zip(&vv) {
                *x = _mm512_fmadd_ps(w, *y, *x);
            }
        }
    }
    for (r, a) in acc.iter().enumerate() {
        for (c, x) in a.iter().enumerate() {
            _mm512_storeu_ps(out.add(r * out_stride + 16 * c), *x);
        }
    }
}

/// Replaces `row` by `exp(row − max row)` and returns 1 / its sum: the softmax numerators of one
/// row of scores. Same range reduction and polynomial as `cpu_kernels::exp_fast` (relative error
/// below 3e-7), 2^n applied by `vscalefps`; four independent accumulators for the max and the
/// sum, so neither pass waits on one register's latency (the compiled generic loop chains each
/// into one register): on 64 rows of 2048 in cache, 0.40 ns an element against the generic
/// loop's 0.57 ns at AVX-512 (AVX-512 Xeon, 2026-12-07, both timings refilling the rows).
///
/// # Safety
/// The CPU has AVX-512 F.
#[target_feature(enable = "avx512f")]
pub unsafe fn softmax_numerators(row: &mut [f32]) -> f32 {
    let ptr = row.as_mut_ptr();
    numerators::<8>(row, |i, e, mask| _mm512_mask_storeu_ps(ptr.add(i), mask, e))
}

/// [`softmax_numerators`] of `row` written to `out` in bf16 (to nearest even), the inputs of a
/// bf16 product, leaving the scores as they are: no f32 numerators to store and round again.
/// The exponential stops at the fourth power (relative error below 6e-5, against bf16's
/// rounding step of 4e-3): the sums of numerators that a bf16 attention divides by are no
/// worse for it.
///
/// # Safety
/// The CPU has AVX-512 F, VL, BW and BF16; `out` is at least as long as `row`.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512bf16")]
pub unsafe fn softmax_numerators_bf16(row: &[f32], out: &mut [u16]) -> f32 {
    assert!(out.len() >= row.len());
    let ptr = out.as_mut_ptr();
    numerators::<5>(row, |i, e, mask| {
        let words: __m256i = std::mem::transmute(_mm512_cvtneps_pbh(e));
        _mm256_mask_storeu_epi16(ptr.add(i) as *mut i16, mask, words)
    })
}

/// The softmax numerators `exp(row − max row)` of one row, each 16 (fewer at the tail, under
/// the mask) handed to `store` with their offset; returns 1 / their sum. `TERMS`: terms of the
/// exponential's Taylor polynomial (see [`exp_terms`]).
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn numerators<const TERMS: usize>(
    row: &[f32],
    mut store: impl FnMut(usize, __m512, __mmask16),
) -> f32 {
    let n = row.len();
    if n == 0 {
        return f32::INFINITY;
    }
    let ptr = row.as_ptr();
    let full = n / 16;
    let tail = (n % 16) as u32;
    let tail_mask: __mmask16 = ((1u32 << tail) - 1) as __mmask16;
    let all: __mmask16 = 0xffff;

    let neg_inf = _mm512_set1_ps(f32::NEG_INFINITY);
    let mut m = [neg_inf; 4];
    let mut i = 0;
    while i + 4 <= full {
        for (u, acc) in m.iter_mut().enumerate() {
            *acc = _mm512_max_ps(*acc, _mm512_loadu_ps(ptr.add((i + u) * 16)));
        }
        i += 4;
    }
    while i < full {
        m[0] = _mm512_max_ps(m[0], _mm512_loadu_ps(ptr.add(i * 16)));
        i += 1;
    }
    if tail > 0 {
        m[1] = _mm512_max_ps(
            m[1],
            _mm512_mask_loadu_ps(neg_inf, tail_mask, ptr.add(full * 16)),
        );
    }
    let max = _mm512_reduce_max_ps(_mm512_max_ps(
        _mm512_max_ps(m[0], m[1]),
        _mm512_max_ps(m[2], m[3]),
    ));
    let max = _mm512_set1_ps(max);

    let mut s = [_mm512_setzero_ps(); 4];
    let mut i = 0;
    while i + 4 <= full {
        for (u, acc) in s.iter_mut().enumerate() {
            let at = (i + u) * 16;
            let e = exp_terms::<TERMS>(_mm512_sub_ps(_mm512_loadu_ps(ptr.add(at)), max));
            store(at, e, all);
            *acc = _mm512_add_ps(*acc, e);
        }
        i += 4;
    }
    while i < full {
        let e = exp_terms::<TERMS>(_mm512_sub_ps(_mm512_loadu_ps(ptr.add(i * 16)), max));
        store(i * 16, e, all);
        s[0] = _mm512_add_ps(s[0], e);
        i += 1;
    }
    if tail > 0 {
        let x = _mm512_mask_loadu_ps(max, tail_mask, ptr.add(full * 16));
        let e = _mm512_maskz_mov_ps(tail_mask, exp_terms::<TERMS>(_mm512_sub_ps(x, max)));
        store(full * 16, e, tail_mask);
        s[1] = _mm512_add_ps(s[1], e);
    }
    let sum = _mm512_reduce_add_ps(_mm512_add_ps(
        _mm512_add_ps(s[0], s[1]),
        _mm512_add_ps(s[2], s[3]),
    ));
    1.0 / sum
}

/// `e^x` on 16 lanes for x ≤ 0 (clamped below at −87), by Cody–Waite range reduction to
/// `2^n · e^y`, |y| ≤ ln 2 / 2, and the first `TERMS` terms of e^y's Taylor series (8: relative
/// error below 3e-7; 5: below 6e-5).
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn exp_terms<const TERMS: usize>(x: __m512) -> __m512 {
    const COEFFICIENTS: [f32; 8] = [
        1.0,
        1.0,
        0.5,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
    ];
    let x = _mm512_max_ps(x, _mm512_set1_ps(-87.0));
    // n = round(x · log2 e); y = x − n · ln 2 in two parts (Cody–Waite).
    let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
        _mm512_mul_ps(x, _mm512_set1_ps(std::f32::consts::LOG2_E)),
    );
    let y = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693_359_4), x);
    let y = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.121_944_4e-4), y);
    let mut p = _mm512_set1_ps(COEFFICIENTS[TERMS - 1]);
    for k in (0..TERMS - 1).rev() {
        p = _mm512_fmadd_ps(p, y, _mm512_set1_ps(COEFFICIENTS[k]));
    }
    _mm512_scalef_ps(p, n)
}
