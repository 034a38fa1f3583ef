//! Matrix products on the CPU backend's memory through `gemm`, for the training operations that
//! work on host buffers (`training_attention_cpu`, `cpu_mlp`): strides instead of transposed
//! copies, and accumulation into the destination.

/// Products below this many multiply-adds run on the calling thread: splitting them costs more
/// than it saves (burn-flex uses the same threshold for its products).
const PARALLEL_MACS: usize = 192 * 192 * 192;

/// `dst = beta·lhs·rhs (+ dst when accumulate)`, with each matrix given by its pointer and its
/// column and row strides (in elements). `threads`: split a large product over rayon's threads.
///
/// # Safety
/// Every pointer/stride pair addresses memory of its matrix's size (`m × n` for `dst`, `m × k`
/// for `lhs`, `k × n` for `rhs`), and `dst` does not overlap the others.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn product(
    [m, n, k]: [usize; 3],
    dst: (*mut f32, isize, isize),
    accumulate: bool,
    lhs: (*const f32, isize, isize),
    rhs: (*const f32, isize, isize),
    beta: f32,
    threads: bool,
) {
    let parallelism = match threads && m.saturating_mul(n).saturating_mul(k) >= PARALLEL_MACS {
        true => gemm::Parallelism::Rayon(0),
        false => gemm::Parallelism::None,
    };
    gemm::gemm(
        m,
        n,
        k,
        dst.0,
        dst.1,
        dst.2,
        accumulate,
        lhs.0,
        lhs.1,
        lhs.2,
        rhs.0,
        rhs.1,
        rhs.2,
        if accumulate { 1.0 } else { 0.0 },
        beta,
        false,
        false,
        false,
        parallelism,
    );
}
