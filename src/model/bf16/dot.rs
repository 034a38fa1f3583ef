//! The 32-row block product on AVX-512 BF16's dot products (`vdpbf16ps`), for CPUs with that
//! unit and no AMX tiles (AMD Zen 4, Intel Cooper Lake).

use super::imp::{PackedB, BLOCK};

/// The CPU has AVX-512 BF16's dot products (with F, BW and VL, which the packing and
/// rounding use).
pub fn supported() -> bool {
    std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512bw")
        && std::is_x86_feature_detected!("avx512vl")
        && std::is_x86_feature_detected!("avx512bf16")
}

/// Rows of the output one pass of [`block_product`] keeps in registers (with two
/// 16-column tiles: 16 accumulators, enough independent sums to hide the unit's latency).
const DOT_ROWS: usize = 8;

/// One block of 32 output rows, `c32[32 × n_pad] = a16[32 × k_pad] · B`, on the dot products
/// (`vdpbf16ps`: 16 f32 sums, each adding one pair of bf16 products per instruction). The packed
/// `B` of the tiles serves as it is: a tile row of 16 pairs is one 512-bit register, and a pair
/// of `A`'s row is broadcast to all lanes.
pub fn block_product(a16: &[u16], lda: usize, b: &PackedB, c32: &mut [f32], ldc: usize) {
    assert!(supported());
    assert!(a16.len() >= (BLOCK - 1) * lda + b.k_pad);
    assert!(c32.len() >= (BLOCK - 1) * ldc + b.n_pad);
    // SAFETY: the CPU has AVX-512 F and BF16 (asserted); the block lies inside both buffers
    // (asserted).
    unsafe { block_product_unit(a16, lda, b, c32, ldc) }
}

/// [`block_product`] itself.
///
/// # Safety
/// The CPU has AVX-512 F and BF16; `a16` holds 32 rows of `b.k_pad` at stride `lda`, `c32` 32
/// rows of `b.n_pad` at stride `ldc`.
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn block_product_unit(a16: &[u16], lda: usize, b: &PackedB, c32: &mut [f32], ldc: usize) {
    use std::arch::x86_64::*;
    let pairs = b.k_pad / 2;
    for nb in (0..b.n_pad).step_by(BLOCK) {
        // A 16-column tile's pairs of depth, all steps, lie one after the other.
        let b0 = b.tile(nb / 16, 0);
        let b1 = b.tile(nb / 16 + 1, 0);
        for r0 in (0..BLOCK).step_by(DOT_ROWS) {
            let mut acc = [[_mm512_setzero_ps(); 2]; DOT_ROWS];
            let a = a16.as_ptr().add(r0 * lda);
            for p in 0..pairs {
                // SAFETY (whole loop): pair p < k_pad / 2 of tiles nb/16 and nb/16 + 1
                // lies inside the packing; row r0 + r < 32 of `a16` holds k_pad values.
                let x0: __m512bh =
                    std::mem::transmute(_mm512_loadu_si512(b0.add(p * 32) as *const __m512i));
                let x1: __m512bh =
                    std::mem::transmute(_mm512_loadu_si512(b1.add(p * 32) as *const __m512i));
                for (r, sums) in acc.iter_mut().enumerate() {
                    let pair = (a.add(r * lda + 2 * p) as *const i32).read_unaligned();
                    let y: __m512bh = std::mem::transmute(_mm512_set1_epi32(pair));
                    sums[0] = _mm512_dpbf16_ps(sums[0], y, x0);
                    sums[1] = _mm512_dpbf16_ps(sums[1], y, x1);
                }
            }
            for (r, sums) in acc.iter().enumerate() {
                let c = c32.as_mut_ptr().add((r0 + r) * ldc + nb);
                _mm512_storeu_ps(c, sums[0]);
                _mm512_storeu_ps(c.add(16), sums[1]);
            }
        }
    }
}
