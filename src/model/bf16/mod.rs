//! bf16 matrix products on the CPU's bf16 units, for `--precision bf16`.
//!
//! Two kinds of unit, chosen at run time:
//! - **AMX tiles** (Intel Xeons since Sapphire Rapids): eight 1 KiB tile registers and a unit
//!   that multiplies a 16 × 32 bf16 tile by a 32 × 16 one into 16 × 16 f32 sums in one
//!   instruction (`tdpbf16ps`, 8,192 multiply-adds) — on this project's 2-core Xeon about five
//!   times the f32 rate of AVX-512 (torch's own bf16 product measured 2,166 GFLOP/s against 421
//!   in f32). Driven by inline assembly: the AMX intrinsics are not stable in Rust.
//! - **AVX-512 BF16 dot products** (`vdpbf16ps`: each of 16 f32 lanes adds a pair of bf16
//!   products per instruction), where the CPU has them without AMX (AMD Zen 4, Intel Cooper
//!   Lake): twice the multiply-adds of an f32 FMA per instruction.
//!
//! PyTorch reaches both through oneDNN under `torch.autocast`; gemm (our f32 products) has no
//! bf16 path. The semantics are autocast's: both inputs rounded to bf16 (to nearest, ties to
//! even), products summed in f32.
//!
//! A product `C[m, n] = A[m, k] · B[k, n]` runs in blocks of 32 × 32 outputs. `B` is packed once
//! per product in the layout both units read (pairs of consecutive k interleaved: "VNNI"; a tile
//! row of 16 pairs is also one 512-bit register), `A`'s rows are rounded to bf16 as they are
//! needed; `k` and `n` are padded with zeros to multiples of 32, partial row blocks go through a
//! small buffer. Row blocks are spread over the threads.
//!
//! Linux lends a process the tile state only on request (`arch_prctl(ARCH_REQ_XCOMP_PERM)`);
//! [`available`] asks once and says no when the CPU, the kernel or `SLIPSTREAM_CPU_ISA` (bf16
//! units only at the `avx512` level) rules both units out, and callers fall back to rounding
//! then f32 products.

#[cfg(target_arch = "x86_64")]
mod amx;
#[cfg(target_arch = "x86_64")]
mod dot;

#[cfg(target_arch = "x86_64")]
mod imp {
    use rayon::prelude::*;

    /// Rows and columns of one output block (two tiles each way).
    pub(in crate::model::bf16) const BLOCK: usize = 32;
    /// Row strides of the block buffers are padded by one cache line beyond the data: a
    /// power-of-two stride (2048 keys: 4 KiB of bf16, 8 KiB of f32) would put all 16 rows of a
    /// tile in one L1 set, more than its 12 ways.
    const A_SKEW: usize = 32;
    const C_SKEW: usize = 16;
    /// Depth of one step: a tile row holds 32 bf16.
    pub(in crate::model::bf16) const DEPTH: usize = 32;

    use super::Unit;

    /// The bf16 units this CPU (and OS) can run, fastest first.
    pub fn units() -> Vec<Unit> {
        let mut found = Vec::new();
        if super::amx::granted() {
            found.push(Unit::Amx);
        }
        if super::dot::supported() {
            found.push(Unit::Dot);
        }
        found
    }

    /// `x` rounded to bf16, to nearest with ties to even (NaN stays NaN).
    #[inline(always)]
    pub fn to_bf16(x: f32) -> u16 {
        let b = x.to_bits();
        if x.is_nan() {
            return ((b >> 16) | 0x40) as u16;
        }
        ((b + 0x7fff + ((b >> 16) & 1)) >> 16) as u16
    }

    /// `B[k, n]` (row-major f32) rounded and packed: for each 16-column tile and 32-deep step,
    /// 16 rows of 16 pairs `(B[2r, j], B[2r + 1, j])`, zero-padded to `k_pad × n_pad`.
    pub struct PackedB {
        pub(in crate::model::bf16) k_pad: usize,
        n: usize,
        pub(in crate::model::bf16) n_pad: usize,
        data: Vec<u16>,
    }

    impl PackedB {
        pub fn new(b: &[f32], k: usize, n: usize) -> Self {
            Self::strided(b, k, n, n, 1)
        }

        /// `B[kk, j] = src[kk · kk_stride + j · j_stride]` for `kk < k`, `j < n`; the loops run
        /// along whichever index is contiguous in `src`.
        pub fn strided(src: &[f32], k: usize, n: usize, kk_stride: usize, j_stride: usize) -> Self {
            let k_pad = k.div_ceil(DEPTH) * DEPTH;
            let n_pad = n.div_ceil(BLOCK) * BLOCK;
            let mut data = vec![0u16; k_pad * n_pad];
            if std::is_x86_feature_detected!("avx512bf16")
                && std::is_x86_feature_detected!("avx512bw")
            {
                // SAFETY: the CPU has AVX-512 BF16 and BW, checked just above.
                unsafe { pack_unit(src, [k, n], [kk_stride, j_stride], k_pad, &mut data) };
            } else {
                pack_scalar(src, [k, n], [kk_stride, j_stride], k_pad, 0, 0, &mut data);
            }
            PackedB {
                k_pad,
                n,
                n_pad,
                data,
            }
        }

        /// The packed tile of 16-column tile `n_tile` and 32-deep step `step` (16 rows of 16
        /// pairs); a column tile's steps follow one another.
        pub(in crate::model::bf16) fn tile(&self, n_tile: usize, step: usize) -> *const u16 {
            let steps = self.k_pad / DEPTH;
            self.data[(n_tile * steps + step) * 16 * DEPTH..].as_ptr()
        }
    }

    /// The packed position of `B[kk, j]` in a `k_pad`-deep packing: tile `(j / 16, kk / 32)`,
    /// row `(kk % 32) / 2`, pair slot `2 (j % 16) + kk % 2`.
    #[inline(always)]
    fn packed_at(k_pad: usize, kk: usize, j: usize) -> usize {
        ((j / 16) * (k_pad / DEPTH) + kk / DEPTH) * 16 * DEPTH
            + (kk % DEPTH / 2) * 32
            + 2 * (j % 16)
            + kk % 2
    }

    /// Packs `B[kk, j] = src[kk · kk_stride + j · j_stride]` where `kk ≥ kk_from` or `j ≥
    /// j_from` (the rest is the vector packer's), element by element along whichever index is
    /// contiguous in `src`.
    fn pack_scalar(
        src: &[f32],
        [k, n]: [usize; 2],
        [kk_stride, j_stride]: [usize; 2],
        k_pad: usize,
        kk_from: usize,
        j_from: usize,
        data: &mut [u16],
    ) {
        if j_stride == 1 {
            for kk in 0..k {
                let from = if kk < kk_from { j_from } else { 0 };
                let row = &src[kk * kk_stride..kk * kk_stride + n];
                for (j, x) in row.iter().enumerate().skip(from) {
                    data[packed_at(k_pad, kk, j)] = to_bf16(*x);
                }
            }
        } else {
            for j in 0..n {
                let from = if j < j_from { kk_from } else { 0 };
                let column = &src[j * j_stride..j * j_stride + k];
                for (kk, x) in column.iter().enumerate().skip(from) {
                    data[packed_at(k_pad, kk, j)] = to_bf16(*x);
                }
            }
        }
    }

    /// [`pack_scalar`] sixteen or thirty-two values at a time with AVX-512 BF16's conversion
    /// (to nearest even, subnormal inputs read as zeros). Row-major `B` (`j` contiguous: weights,
    /// attention values): two rows converted together and interleaved into their pairs, 64 bytes
    /// stored at once. Column-major `B` (`kk` contiguous: attention keys, `Kᵀ`): a column's 32
    /// values of one step converted into 16 pairs, scattered to their 16 tile rows. What is left
    /// at the edges goes through [`pack_scalar`].
    ///
    /// # Safety
    /// The CPU has AVX-512 F, BW and BF16.
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    unsafe fn pack_unit(
        src: &[f32],
        [k, n]: [usize; 2],
        [kk_stride, j_stride]: [usize; 2],
        k_pad: usize,
        data: &mut [u16],
    ) {
        use std::arch::x86_64::*;
        assert!(data.len() >= k_pad * n.div_ceil(BLOCK) * BLOCK);
        if j_stride == 1 {
            // Full pairs of rows, full groups of 16 columns.
            let (kk_full, j_full) = (k / 2 * 2, n / 16 * 16);
            assert!(k == 0 || src.len() >= (k - 1) * kk_stride + n);
            // Lane 2j takes word j (the first row's), lane 2j + 1 word 16 + j (the second's).
            let interleave = _mm512_set_epi16(
                31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21, 5,
                20, 4, 19, 3, 18, 2, 17, 1, 16, 0,
            );
            for kk in (0..kk_full).step_by(2) {
                for j in (0..j_full).step_by(16) {
                    // SAFETY: rows kk and kk + 1 < k, columns j..j + 16 ≤ n: inside `src`
                    // (asserted); the 32 words from packed_at(kk, j) are one tile row's 16
                    // pairs, inside `data` (asserted).
                    let lo = _mm512_loadu_ps(src.as_ptr().add(kk * kk_stride + j));
                    let hi = _mm512_loadu_ps(src.as_ptr().add((kk + 1) * kk_stride + j));
                    let words: __m512i = std::mem::transmute(_mm512_cvtne2ps_pbh(hi, lo));
                    let pairs = _mm512_permutexvar_epi16(interleave, words);
                    _mm512_storeu_si512(
                        data.as_mut_ptr().add(packed_at(k_pad, kk, j)) as *mut __m512i,
                        pairs,
                    );
                }
            }
            pack_scalar(src, [k, n], [kk_stride, 1], k_pad, kk_full, j_full, data);
        } else if kk_stride == 1 {
            let kk_full = k / DEPTH * DEPTH;
            assert!(n == 0 || src.len() >= (n - 1) * j_stride + k);
            // Pair r of a step goes 16 pairs (one tile row) further than pair r - 1.
            let rows = _mm512_set_epi32(
                240, 224, 208, 192, 176, 160, 144, 128, 112, 96, 80, 64, 48, 32, 16, 0,
            );
            for j in 0..n {
                for kk in (0..kk_full).step_by(DEPTH) {
                    // SAFETY: values kk..kk + 32 ≤ k of column j, inside `src` (asserted); the
                    // 16 pairs land at packed_at(kk, j) + 32 r words, r < 16: one packed
                    // tile, inside `data` (asserted).
                    let p = src.as_ptr().add(j * j_stride + kk);
                    let pairs: __m512i = std::mem::transmute(_mm512_cvtne2ps_pbh(
                        _mm512_loadu_ps(p.add(16)),
                        _mm512_loadu_ps(p),
                    ));
                    let base = data.as_mut_ptr().add(packed_at(k_pad, kk, j)) as *mut i32;
                    _mm512_i32scatter_epi32::<4>(base, rows, pairs);
                }
            }
            pack_scalar(src, [k, n], [1, j_stride], k_pad, kk_full, n, data);
        } else {
            pack_scalar(src, [k, n], [kk_stride, j_stride], k_pad, 0, 0, data);
        }
    }

    /// `B` packed by [`PackedB::strided`] (vector packer where the CPU has it) and element by
    /// element, for the test that the two agree.
    #[cfg(test)]
    pub fn packed_both_ways(
        src: &[f32],
        [k, n]: [usize; 2],
        strides: [usize; 2],
    ) -> (Vec<u16>, Vec<u16>) {
        let fast = PackedB::strided(src, k, n, strides[0], strides[1]);
        let mut plain = vec![0u16; fast.data.len()];
        pack_scalar(src, [k, n], strides, fast.k_pad, 0, 0, &mut plain);
        (fast.data, plain)
    }

    /// `C[m, n] = A[m, k] · B + bias` (row-major f32 `a` and `c`; `bias` `[n]` or empty).
    pub fn matmul(
        unit: Unit,
        a: &[f32],
        m: usize,
        k: usize,
        b: &PackedB,
        bias: &[f32],
        c: &mut [f32],
    ) {
        assert_eq!(a.len(), m * k);
        assert_eq!(c.len(), m * b.n);
        assert!(bias.is_empty() || bias.len() == b.n);
        let n = b.n;
        c.par_chunks_mut(BLOCK * n)
            .zip(a.par_chunks(BLOCK * k))
            .for_each(|(c_rows, a_rows)| {
                let (lda, ldc) = (b.k_pad + A_SKEW, b.n_pad + C_SKEW);
                with_scratch(BLOCK * lda, BLOCK * ldc, 0, |sc| {
                    let rows = a_rows.len() / k.max(1);
                    load_rows(a_rows, [rows, k, k], 1.0, &mut sc.a16, lda, b.k_pad);
                    block_product(unit, &sc.a16, lda, b, &mut sc.c32, ldc);
                    for (r, out) in c_rows.chunks_exact_mut(n).enumerate() {
                        let sums = &sc.c32[r * ldc..r * ldc + n];
                        if bias.is_empty() {
                            out.copy_from_slice(sums);
                        } else {
                            out.iter_mut()
                                .zip(sums.iter().zip(bias))
                                .for_each(|(y, (s, b))| *y = s + b);
                        }
                    }
                })
            });
    }

    /// The two-layer MLP `(activate(x·W₁ + b₁))·W₂ + b₂` for `[m, k]` rows, one block of 32
    /// rows at a time: the hidden block never leaves the thread's buffers (it is activated,
    /// rounded and multiplied while in cache).
    pub fn mlp(
        unit: Unit,
        x: &[f32],
        m: usize,
        [w1, w2]: [&PackedB; 2],
        [b1, b2]: [&[f32]; 2],
        activate: impl Fn(&mut [f32]) + Sync,
    ) -> Vec<f32> {
        let (k, h, n) = (x.len() / m.max(1), w1.n, w2.n);
        assert_eq!(x.len(), m * k);
        assert!(w1.k_pad == k.div_ceil(DEPTH) * DEPTH && w2.k_pad == h.div_ceil(DEPTH) * DEPTH);
        assert!(b1.len() == h && b2.len() == n);
        let mut y = vec![0.0f32; m * n];
        let (lda, ldh) = (
            w1.k_pad.max(w2.k_pad) + A_SKEW,
            w1.n_pad.max(w2.n_pad) + C_SKEW,
        );
        y.par_chunks_mut(BLOCK * n)
            .zip(x.par_chunks(BLOCK * k))
            .for_each(|(y_rows, x_rows)| {
                with_scratch(BLOCK * lda, BLOCK * ldh, 0, |sc| {
                    let rows = x_rows.len() / k;
                    load_rows(x_rows, [rows, k, k], 1.0, &mut sc.a16, lda, w1.k_pad);
                    block_product(unit, &sc.a16, lda, w1, &mut sc.c32, ldh);
                    for r in 0..rows {
                        let hidden = &mut sc.c32[r * ldh..r * ldh + h];
                        hidden.iter_mut().zip(b1).for_each(|(v, b)| *v += b);
                        activate(hidden);
                    }
                    load_rows(&sc.c32, [rows, h, ldh], 1.0, &mut sc.a16, lda, w2.k_pad);
                    block_product(unit, &sc.a16, lda, w2, &mut sc.c32, ldh);
                    for (r, out) in y_rows.chunks_exact_mut(n).enumerate() {
                        out.iter_mut()
                            .zip(sc.c32[r * ldh..r * ldh + n].iter().zip(b2))
                            .for_each(|(y, (s, b))| *y = s + b);
                    }
                })
            });
        y
    }

    /// A thread's buffers for one block: A's rows in bf16, a block of scores or products, a
    /// block of attention outputs. Kept per thread so that a block costs no allocation.
    #[derive(Default)]
    struct Scratch {
        a16: Vec<u16>,
        c32: Vec<f32>,
        o32: Vec<f32>,
    }

    thread_local! {
        static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
    }

    /// Runs `f` with this thread's buffers at least `a16`, `c32` and `o32` long (their contents
    /// are whatever an earlier block left: callers write every element they read).
    fn with_scratch<R>(a16: usize, c32: usize, o32: usize, f: impl FnOnce(&mut Scratch) -> R) -> R {
        SCRATCH.with(|cell| {
            let mut sc = cell.borrow_mut();
            if sc.a16.len() < a16 {
                sc.a16.resize(a16, 0);
            }
            if sc.c32.len() < c32 {
                sc.c32.resize(c32, 0.0);
            }
            if sc.o32.len() < o32 {
                sc.o32.resize(o32, 0.0);
            }
            f(&mut sc)
        })
    }

    /// One block of 32 output rows: `c32[32 × b.n_pad] = a16[32 × b.k_pad] · B`, rows at
    /// strides `lda` and `ldc` (elements; rows past the caller's count are zeros in `a16`).
    fn block_product(
        unit: Unit,
        a16: &[u16],
        lda: usize,
        b: &PackedB,
        c32: &mut [f32],
        ldc: usize,
    ) {
        assert!(lda >= b.k_pad && ldc >= b.n_pad);
        assert!(a16.len() >= (BLOCK - 1) * lda + b.k_pad);
        assert!(c32.len() >= (BLOCK - 1) * ldc + b.n_pad);
        match unit {
            Unit::Amx => super::amx::block_product(a16, lda, b, c32, ldc),
            Unit::Dot => super::dot::block_product(a16, lda, b, c32, ldc),
        }
    }

    /// Multi-head `softmax(q·kᵀ/√d)·v` on `[N, dim]` rows (heads side by side), with q, k, v
    /// and the softmax numerators rounded to bf16 and f32 sums, as a bf16 flash attention
    /// computes it. Per block of 32 query rows and head: the scores on the tiles, the softmax
    /// numerators `exp(s − max s)` in f32, written as bf16 (`numerators`), times the values on
    /// the tiles, scaled by one over each row's sum.
    pub fn attention(
        unit: Unit,
        q: &[f32],
        k: &[f32],
        v: &[f32],
        heads: usize,
        dim: usize,
    ) -> Vec<f32> {
        let d = dim / heads;
        let nk = k.len() / dim;
        let scale = 1.0 / (d as f32).sqrt();
        let keys: Vec<PackedB> = (0..heads)
            .into_par_iter()
            .map(|h| PackedB::strided(&k[h * d..], d, nk, 1, dim))
            .collect();
        let values: Vec<PackedB> = (0..heads)
            .into_par_iter()
            .map(|h| PackedB::strided(&v[h * d..], nk, d, dim, 1))
            .collect();
        let (d_pad, nk_pad, dv_pad) = (keys[0].k_pad, keys[0].n_pad, values[0].n_pad);
        // Row strides: q and the numerators (bf16), the scores and the outputs (f32).
        let (ldq, ldp) = (d_pad + A_SKEW, nk_pad + A_SKEW);
        let (lds, ldo) = (nk_pad + C_SKEW, dv_pad + C_SKEW);
        let mut out = vec![0.0f32; q.len()];
        out.par_chunks_mut(BLOCK * dim)
            .zip(q.par_chunks(BLOCK * dim))
            .for_each(|(o, q_rows)| {
                with_scratch(BLOCK * ldq.max(ldp), BLOCK * lds, BLOCK * ldo, |sc| {
                    let rows = q_rows.len() / dim;
                    let mut inv_sum = [0.0f32; BLOCK];
                    for h in 0..heads {
                        // q · scale in bf16, 32 rows at stride ldq, zeros past the data. The
                        // scale goes in before rounding (exact for the power-of-two scales of
                        // head sizes 4^i), sparing a pass over the scores.
                        load_rows(
                            &q_rows[h * d..],
                            [rows, d, dim],
                            scale,
                            &mut sc.a16,
                            ldq,
                            d_pad,
                        );
                        block_product(unit, &sc.a16, ldq, &keys[h], &mut sc.c32, lds);
                        numerators(
                            &mut sc.c32,
                            lds,
                            nk,
                            &mut sc.a16,
                            ldp,
                            nk_pad,
                            &mut inv_sum[..rows],
                        );
                        block_product(unit, &sc.a16, ldp, &values[h], &mut sc.o32, ldo);
                        for r in 0..rows {
                            let inv = inv_sum[r];
                            o[r * dim + h * d..r * dim + h * d + d]
                                .iter_mut()
                                .zip(&sc.o32[r * ldo..r * ldo + d])
                                .for_each(|(y, x)| *y = x * inv);
                        }
                    }
                })
            });
        out
    }

    /// The softmax numerators of each of a block's `inv_sum.len()` rows of `keys` scores (at row
    /// stride `lds` in `scores`) in bf16 into `out` (row stride `ldp`, zeros from `keys` to
    /// `keys_pad` and in the rows past the block's), and one over each row's sum into `inv_sum`.
    fn numerators(
        scores: &mut [f32],
        lds: usize,
        keys: usize,
        out: &mut [u16],
        ldp: usize,
        keys_pad: usize,
        inv_sum: &mut [f32],
    ) {
        let rows = inv_sum.len();
        let convert = std::is_x86_feature_detected!("avx512bf16");
        for (r, inv) in inv_sum.iter_mut().enumerate() {
            let (row, dst) = (&mut scores[r * lds..r * lds + keys], &mut out[r * ldp..]);
            *inv = if convert {
                // SAFETY: either unit implies AVX-512 F, VL and BW (`units`), BF16 checked above.
                unsafe { super::super::attention_avx512::softmax_numerators_bf16(row, dst) }
            } else {
                // SAFETY: as above, AVX-512 F.
                let inv = unsafe { super::super::attention_avx512::softmax_numerators(row) };
                round_row_scaled(row, 1.0, &mut dst[..keys]);
                inv
            };
            dst[keys..keys_pad].fill(0);
        }
        for r in rows..BLOCK {
            out[r * ldp..r * ldp + keys_pad].fill(0);
        }
    }

    /// Rounds `rows` rows of `cols` values of `src` (at row stride `stride`), times `scale`, to
    /// bf16 into a 32-row block of `dst` at row stride `lda`: zeros from `cols` to `k_pad` and in
    /// the rows past `rows`, so that padded depth and rows add nothing.
    fn load_rows(
        src: &[f32],
        [rows, cols, stride]: [usize; 3],
        scale: f32,
        dst: &mut [u16],
        lda: usize,
        k_pad: usize,
    ) {
        for r in 0..BLOCK {
            let out = &mut dst[r * lda..r * lda + k_pad];
            if r < rows {
                round_row_scaled(&src[r * stride..r * stride + cols], scale, &mut out[..cols]);
                out[cols..].fill(0);
            } else {
                out.fill(0);
            }
        }
    }

    /// Rounds `row · scale` to bf16: 16 at a time with AVX-512 BF16's conversion (to nearest
    /// even, as [`to_bf16`]; it reads subnormal inputs as zeros), else a loop the compiler
    /// vectorises.
    fn round_row_scaled(row: &[f32], scale: f32, out: &mut [u16]) {
        if std::is_x86_feature_detected!("avx512bf16") {
            // SAFETY: the CPU has AVX-512 BF16, checked just above.
            unsafe { round_row_bf16_unit(row, scale, out) }
        } else {
            row.iter()
                .zip(out)
                .for_each(|(x, o)| *o = to_bf16(x * scale));
        }
    }

    #[target_feature(enable = "avx512f,avx512bf16,avx512vl")]
    fn round_row_bf16_unit(row: &[f32], scale: f32, out: &mut [u16]) {
        use std::arch::x86_64::*;
        let n = row.len().min(out.len());
        let full = n / 16 * 16;
        let s = _mm512_set1_ps(scale);
        for i in (0..full).step_by(16) {
            // SAFETY: i + 16 ≤ n, inside both slices.
            unsafe {
                let v = _mm512_mul_ps(_mm512_loadu_ps(row.as_ptr().add(i)), s);
                let h: __m256i = std::mem::transmute(_mm512_cvtneps_pbh(v));
                _mm256_storeu_si256(out.as_mut_ptr().add(i) as *mut __m256i, h);
            }
        }
        for i in full..n {
            out[i] = to_bf16(row[i] * scale);
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod imp {
    use super::Unit;
    pub fn units() -> Vec<Unit> {
        Vec::new()
    }
    pub fn to_bf16(x: f32) -> u16 {
        let b = x.to_bits();
        ((b + 0x7fff + ((b >> 16) & 1)) >> 16) as u16
    }
    pub struct PackedB;
    impl PackedB {
        pub fn new(_: &[f32], _: usize, _: usize) -> Self {
            PackedB
        }
    }
    pub fn matmul(_: Unit, _: &[f32], _: usize, _: usize, _: &PackedB, _: &[f32], _: &mut [f32]) {
        unreachable!("bf16 units are x86-64 only; callers check `available` first")
    }
    pub fn mlp(
        _: Unit,
        _: &[f32],
        _: usize,
        _: [&PackedB; 2],
        _: [&[f32]; 2],
        _: impl Fn(&mut [f32]) + Sync,
    ) -> Vec<f32> {
        unreachable!("bf16 units are x86-64 only; callers check `available` first")
    }
    pub fn attention(_: Unit, _: &[f32], _: &[f32], _: &[f32], _: usize, _: usize) -> Vec<f32> {
        unreachable!("bf16 units are x86-64 only; callers check `available` first")
    }
}

pub use imp::PackedB;

/// The CPU unit that runs bf16 products.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Intel AMX tiles (`tdpbf16ps`).
    Amx,
    /// AVX-512 BF16 dot products (`vdpbf16ps`).
    Dot,
}

impl Unit {
    /// The name in benchmark reports.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Amx => "amx-bf16",
            Unit::Dot => "avx512-bf16",
        }
    }
}

/// The bf16 unit this process uses: the fastest the CPU has and the OS lends, unless
/// `SLIPSTREAM_CPU_ISA` lowers the kernels below AVX-512; `None` when there is none.
pub fn unit() -> Option<Unit> {
    static UNIT: std::sync::OnceLock<Option<Unit>> = std::sync::OnceLock::new();
    *UNIT.get_or_init(|| {
        if super::cpu_isa::Isa::active() == super::cpu_isa::Isa::Avx512 {
            imp::units().first().copied()
        } else {
            None
        }
    })
}

/// bf16 products can run on a bf16 unit here ([`unit`] is some).
pub fn available() -> bool {
    unit().is_some()
}

/// The bf16 unit that runs this thread's products: they are bf16 (`--precision bf16`) and a unit
/// is [`available`].
pub fn serving_unit() -> Option<Unit> {
    (super::precision::products() == super::precision::Precision::Bf16)
        .then(unit)
        .flatten()
}

fn the_unit() -> Unit {
    unit().expect("bf16 products need a bf16 unit; callers check `available` first")
}

/// `C[m, n] = A[m, k] · B + bias` on the bf16 unit ([`available`] must be true), both inputs
/// rounded to bf16 and f32 sums (`B` from [`PackedB::new`], `bias` `[n]` or empty).
pub fn matmul_bf16(a: &[f32], m: usize, k: usize, b: &PackedB, bias: &[f32], c: &mut [f32]) {
    imp::matmul(the_unit(), a, m, k, b, bias, c)
}

/// The two-layer MLP `activate(x·W₁ + b₁)·W₂ + b₂` on the bf16 unit ([`available`] must be
/// true), every product input rounded to bf16.
pub fn mlp_bf16(
    x: &[f32],
    m: usize,
    weights: [&PackedB; 2],
    biases: [&[f32]; 2],
    activate: impl Fn(&mut [f32]) + Sync,
) -> Vec<f32> {
    imp::mlp(the_unit(), x, m, weights, biases, activate)
}

/// Multi-head attention on `[N, dim]` rows on the bf16 unit ([`available`] must be true), with
/// bf16 inputs and softmax numerators.
pub fn attention_bf16(q: &[f32], k: &[f32], v: &[f32], heads: usize, dim: usize) -> Vec<f32> {
    imp::attention(the_unit(), q, k, v, heads, dim)
}

/// `x` rounded to the nearest bf16 (ties to even), as the f32 of that value.
pub fn round_to_bf16(x: f32) -> f32 {
    f32::from_bits((imp::to_bf16(x) as u32) << 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_to_bf16_is_to_nearest_even() {
        assert_eq!(round_to_bf16(1.0), 1.0);
        // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even 1.
        assert_eq!(round_to_bf16(1.0 + 2f32.powi(-8)), 1.0);
        assert_eq!(
            round_to_bf16(1.0 + 3.0 * 2f32.powi(-8)),
            1.0 + 2f32.powi(-6)
        );
        assert_eq!(round_to_bf16(-2.5e-3).to_bits() & 0xffff, 0);
        assert!(round_to_bf16(f32::NAN).is_nan());
    }

    #[test]
    fn bf16_attention_equals_attention_of_rounded_inputs() {
        let units = imp::units();
        if units.is_empty() {
            eprintln!("skipped: this CPU or OS has no bf16 unit (AMX or AVX-512 BF16)");
            return;
        }
        // 3 heads of 32 (the `small` model) and of 64 (`drivaerml`), keys not a multiple of 32,
        // query rows not a multiple of 32.
        for (heads, d, nq, nk) in [(3usize, 32usize, 45usize, 70usize), (3, 64, 33, 129)] {
            let dim = heads * d;
            let wave =
                |n: usize, f: f32| (0..n).map(|i| ((i as f32) * f).sin()).collect::<Vec<_>>();
            let (q, k, v) = (
                wave(nq * dim, 0.37),
                wave(nk * dim, 0.53),
                wave(nk * dim, 0.71),
            );
            for &unit in &units {
                let out = imp::attention(unit, &q, &k, &v, heads, dim);
                let scale = 1.0 / (d as f32).sqrt();
                let r = |x: f32| round_to_bf16(x) as f64;
                for i in 0..nq {
                    for h in 0..heads {
                        let s: Vec<f64> = (0..nk)
                            .map(|j| {
                                (0..d)
                                    .map(|t| {
                                        r(q[i * dim + h * d + t] * scale)
                                            * r(k[j * dim + h * d + t])
                                    })
                                    .sum()
                            })
                            .collect();
                        let max = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        let p: Vec<f64> = s.iter().map(|x| (x - max).exp()).collect();
                        let sum: f64 = p.iter().sum();
                        for t in 0..d {
                            let want: f64 = (0..nk)
                                .map(|j| r(p[j] as f32) * r(v[j * dim + h * d + t]))
                                .sum::<f64>()
                                / sum;
                            let got = out[i * dim + h * d + t] as f64;
                            assert!(
                                (got - want).abs() < 5e-3,
                                "{unit:?} [{i},{h},{t}] {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn vector_packing_equals_element_packing() {
        // Row-major and column-major B, with depth and width remainders, from a strided source
        // wider than B.
        for (k, n) in [
            (1usize, 1usize),
            (2, 16),
            (33, 17),
            (64, 50),
            (96, 2048),
            (7, 40),
        ] {
            let width = k.max(n) + 3;
            let src: Vec<f32> = (0..width * width)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0 + 1e-3 * i as f32)
                .collect();
            for strides in [[width, 1], [1, width]] {
                let (fast, plain) = imp::packed_both_ways(&src, [k, n], strides);
                assert!(fast == plain, "({k}, {n}) strides {strides:?}");
            }
        }
    }

    #[test]
    fn bf16_mlp_equals_the_layers_of_rounded_inputs() {
        let units = imp::units();
        if units.is_empty() {
            eprintln!("skipped: this CPU or OS has no bf16 unit (AMX or AVX-512 BF16)");
            return;
        }
        // Any activation serves: the tanh form of GELU, applied the same way on both sides.
        let gelu = |x: f64| 0.5 * x * (1.0 + (0.797_884_6 * (x + 0.044_715 * x * x * x)).tanh());
        // Rows not a multiple of 32, hidden and output widths not of 32.
        let (m, k, h, n) = (45usize, 40usize, 70usize, 19usize);
        let wave = |len: usize, f: f32| (0..len).map(|i| (i as f32 * f).sin()).collect::<Vec<_>>();
        let (x, w1, w2) = (wave(m * k, 0.37), wave(k * h, 0.53), wave(h * n, 0.71));
        let (b1, b2) = (wave(h, 0.29), wave(n, 0.41));
        for &unit in &units {
            let y = imp::mlp(
                unit,
                &x,
                m,
                [&PackedB::new(&w1, k, h), &PackedB::new(&w2, h, n)],
                [&b1, &b2],
                |row: &mut [f32]| row.iter_mut().for_each(|v| *v = gelu(*v as f64) as f32),
            );
            let r = |v: f32| round_to_bf16(v) as f64;
            for i in 0..m {
                let hidden: Vec<f32> = (0..h)
                    .map(|j| {
                        let s: f64 = (0..k).map(|t| r(x[i * k + t]) * r(w1[t * h + j])).sum();
                        gelu(s + b1[j] as f64) as f32
                    })
                    .collect();
                for j in 0..n {
                    let want: f64 =
                        (0..h).map(|t| r(hidden[t]) * r(w2[t * n + j])).sum::<f64>() + b2[j] as f64;
                    let got = y[i * n + j] as f64;
                    assert!(
                        (got - want).abs() < 2e-3,
                        "{unit:?} [{i},{j}] {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn bf16_products_equal_rounded_f32_products() {
        let units = imp::units();
        if units.is_empty() {
            eprintln!("skipped: this CPU or OS has no bf16 unit (AMX or AVX-512 BF16)");
            return;
        }
        // Shapes with every kind of remainder: rows not a multiple of 32, depth not of 32,
        // columns not of 32.
        for (m, k, n) in [(1, 1, 1), (37, 96, 96), (70, 40, 50), (64, 384, 96)] {
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 17.0)
                .collect();
            let b: Vec<f32> = (0..k * n)
                .map(|i| ((i * 53 % 97) as f32 - 48.0) / 23.0)
                .collect();
            // Every other shape with a bias, added to the sums as they leave the tiles.
            let bias: Vec<f32> = if m % 2 == 1 {
                (0..n).map(|j| j as f32 * 0.25 - 3.0).collect()
            } else {
                Vec::new()
            };
            for &unit in &units {
                let mut c = vec![f32::NAN; m * n];
                imp::matmul(unit, &a, m, k, &PackedB::new(&b, k, n), &bias, &mut c);
                for i in 0..m {
                    for j in 0..n {
                        let exact: f64 = (0..k)
                            .map(|t| {
                                round_to_bf16(a[i * k + t]) as f64
                                    * round_to_bf16(b[t * n + j]) as f64
                            })
                            .sum::<f64>()
                            + bias.get(j).copied().unwrap_or(0.0) as f64;
                        let scale: f64 = (0..k)
                            .map(|t| (a[i * k + t] * b[t * n + j]).abs() as f64)
                            .sum::<f64>()
                            .max(1e-6);
                        let got = c[i * n + j] as f64;
                        assert!(
                            (got - exact).abs() <= 1e-5 * scale,
                            "{unit:?} ({m},{k},{n}) [{i},{j}]: {got} vs {exact}"
                        );
                    }
                }
            }
        }
    }
}
