//! The 32-row block product on Intel AMX tiles (`tdpbf16ps`), by inline assembly: the AMX
//! intrinsics are not stable in Rust.

use std::arch::asm;
use std::sync::OnceLock;

use super::imp::{PackedB, BLOCK, DEPTH};

#[repr(C, align(64))]
struct TileConfig {
    palette: u8,
    start_row: u8,
    reserved: [u8; 14],
    bytes_per_row: [u16; 16],
    rows: [u8; 16],
}

/// Tiles 0–3 accumulate 16 × 16 f32, 4–5 hold 16 rows × 32 bf16 of A, 6–7 hold 16 pairs
/// of k × 16 columns of B.
fn config() -> TileConfig {
    let mut c = TileConfig {
        palette: 1,
        start_row: 0,
        reserved: [0; 14],
        bytes_per_row: [0; 16],
        rows: [0; 16],
    };
    for t in 0..8 {
        c.bytes_per_row[t] = 64;
        c.rows[t] = 16;
    }
    c
}

/// The CPU has AMX-BF16 and tiles, and Linux granted this process the tile state.
pub fn granted() -> bool {
    static GRANTED: OnceLock<bool> = OnceLock::new();
    *GRANTED.get_or_init(|| crate::model::cpu_isa::cpu_has_amx_bf16() && request_tile_state())
}

/// `arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`: 0 on success.
fn request_tile_state() -> bool {
    const SYS_ARCH_PRCTL: i64 = 158;
    const ARCH_REQ_XCOMP_PERM: i64 = 0x1023;
    const XFEATURE_XTILEDATA: i64 = 18;
    let ret: i64;
    // SAFETY: a plain Linux system call; it only changes which register state the kernel
    // saves for this process.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") SYS_ARCH_PRCTL => ret,
            in("rdi") ARCH_REQ_XCOMP_PERM,
            in("rsi") XFEATURE_XTILEDATA,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack)
        );
    }
    cfg!(target_os = "linux") && ret == 0
}

/// [`block_product`] on AMX tiles: four accumulator tiles (32 × 32 sums), two tiles of `A`
/// and two of `B` per 32-deep step.
pub fn block_product(a16: &[u16], lda: usize, b: &PackedB, c32: &mut [f32], ldc: usize) {
    assert!(granted());
    let k_pad = b.k_pad;
    let cfg = config();
    let a_stride = lda * 2;
    let c_stride = ldc * 4;
    // SAFETY: the CPU has AMX and the process holds the tile state (asserted above); every
    // tile load reads 16 rows of 64 bytes inside `a16` (32 × k_pad) or a packed tile of
    // `b.data`, every store writes 16 rows of 16 f32 inside `c32` (32 × n_pad).
    unsafe {
        asm!("ldtilecfg [{0}]", in(reg) &cfg as *const TileConfig, options(nostack));
        for nb in (0..b.n_pad).step_by(BLOCK) {
            asm!(
                "tilezero tmm0",
                "tilezero tmm1",
                "tilezero tmm2",
                "tilezero tmm3",
                options(nostack, nomem)
            );
            for step in 0..k_pad / DEPTH {
                let a0 = a16.as_ptr().add(step * DEPTH);
                let a1 = a0.add(16 * lda);
                let b0 = b.tile(nb / 16, step);
                let b1 = b.tile(nb / 16 + 1, step);
                asm!(
                    "tileloadd tmm4, [{a0} + {sa}*1]",
                    "tileloadd tmm5, [{a1} + {sa}*1]",
                    "tileloadd tmm6, [{b0} + {sb}*1]",
                    "tileloadd tmm7, [{b1} + {sb}*1]",
                    "tdpbf16ps tmm0, tmm4, tmm6",
                    "tdpbf16ps tmm1, tmm4, tmm7",
                    "tdpbf16ps tmm2, tmm5, tmm6",
                    "tdpbf16ps tmm3, tmm5, tmm7",
                    a0 = in(reg) a0,
                    a1 = in(reg) a1,
                    b0 = in(reg) b0,
                    b1 = in(reg) b1,
                    sa = in(reg) a_stride,
                    sb = in(reg) 64usize,
                    options(nostack, readonly)
                );
            }
            let c0 = c32.as_mut_ptr().add(nb);
            let c2 = c0.add(16 * ldc);
            asm!(
                "tilestored [{c0} + {s}*1], tmm0",
                "tilestored [{c1} + {s}*1], tmm1",
                "tilestored [{c2} + {s}*1], tmm2",
                "tilestored [{c3} + {s}*1], tmm3",
                c0 = in(reg) c0,
                c1 = in(reg) c0.add(16),
                c2 = in(reg) c2,
                c3 = in(reg) c2.add(16),
                s = in(reg) c_stride,
                options(nostack)
            );
        }
        asm!("tilerelease", options(nostack, nomem));
    }
}
