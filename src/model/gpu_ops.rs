//! Kernels slipstream chooses itself on the GPU backends, where burn 0.21's defaults do not compute
//! what the model needs:
//!
//! - **True f32 products.** burn's CUDA matmul (cubek's tensor-core default, also inside fused
//!   operations) rounds f32 inputs to TF32, 11-bit mantissas, with no switch; through 12 blocks that
//!   put the reference's parity case 1.8e-2 away (measured on an H200). PyTorch, which produced the
//!   reference outputs, multiplies f32 in f32 unless told otherwise. [`matmul_f32`] runs cubek's
//!   register-tiled (unit) matmul, plain f32 multiply-adds.
//! - **Flash attention.** Without autotuning burn's attention is unfused: the whole score matrix
//!   is written and read back (12.9 GB per block for a 65,536-query chunk against 16,384 anchors),
//!   which bounds streaming by memory traffic. [`flash_attention_f16`] runs cubek's flash
//!   attention on tensor cores (f16 tiles, f32 softmax state and accumulators), falling back to
//!   cubek's unit flash attention and then to burn's path when the device or the shapes do not
//!   allow it ([`attention_kernel_used`] says which ran).
//!
//! Both run as custom operations in burn's fusion stream, so they queue lazily like any other
//! operation. The model code stays generic over the backend: [`serves`] recognises, by type, the
//! fused CUDA and wgpu backends; autodiff backends (training) keep burn's own kernels.

use std::any::{Any, TypeId};
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

use burn::tensor::{backend::Backend, DType, FloatDType, Shape, Tensor, TensorPrimitive};
use burn_cubecl::fusion::FusionCubeRuntime;
use burn_cubecl::kernel::attention::{attention as cube_attention, AttentionStrategy};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::kernel::matmul::init_matmul_output;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{CubeBackend, CubeRuntime};
use burn_fusion::stream::{Operation, OperationStreams};
use burn_fusion::{FusionRuntime, FusionTensor};
use burn_ir::{CustomOpIr, HandleContainer, OperationIr, OperationOutput, TensorIr};
use cubek::attention::routines::blackbox_accelerated::BlackboxAcceleratedStrategy;
use cubek::matmul::definition::{MatmulElems, MatmulGlobalElems, MatmulSetupError};
use cubek::matmul::launch::{launch_ref, Strategy};
use cubek::matmul::routines::simple_unit::SimpleUnitSelectionArgs;
use cubek::matmul::routines::{BlueprintStrategy, TileSizeSelection};
use cubek::std::InputBinding;

#[cfg(feature = "cuda")]
type CudaRuntime = burn_cubecl::cubecl::cuda::CudaRuntime;
#[cfg(feature = "wgpu")]
type WgpuRuntime = burn::backend::wgpu::WgpuRuntime;

/// The inner backend, only to turn fusion handles into cube tensors and back (the conversion does
/// not depend on its element types).
type Inner<R> = CubeBackend<R, f32, i32, u8>;
type Fused<R> = FusionTensor<FusionCubeRuntime<R>>;
type Handles<R> = HandleContainer<<FusionCubeRuntime<R> as FusionRuntime>::FusionHandle>;

/// Environment variable choosing the attention kernel of f16 products: `flash` (default: tensor
/// cores), `flash-unit` (no tensor cores) or `unfused` (burn's matmul, softmax, matmul).
pub const ATTENTION_ENV: &str = "SLIPSTREAM_ATTENTION";
/// Environment variable shaping the tensor-core flash kernel: `planes,q_tiles,kv_tiles` (default
/// `4,1,1`): warps per block, and 16-row tiles of queries and keys each warp takes per step.
pub const FLASH_SHAPE_ENV: &str = "SLIPSTREAM_FLASH";

/// True when `B` is a fused GPU backend these kernels run on.
pub fn serves<B: Backend>() -> bool {
    #[cfg(feature = "cuda")]
    if is::<B, CudaRuntime>() {
        return true;
    }
    #[cfg(feature = "wgpu")]
    if is::<B, WgpuRuntime>() {
        return true;
    }
    false
}

/// `a · b` with f32 multiply-adds (batch dimensions broadcast as in burn's `matmul`). `B` must be
/// a backend [`serves`] accepts.
pub fn matmul_f32<B: Backend, const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>) -> Tensor<B, D> {
    #[cfg(feature = "cuda")]
    if is::<B, CudaRuntime>() {
        return matmul_f32_on::<B, CudaRuntime, D>(a, b);
    }
    #[cfg(feature = "wgpu")]
    if is::<B, WgpuRuntime>() {
        return matmul_f32_on::<B, WgpuRuntime, D>(a, b);
    }
    a.matmul(b)
}

/// Scaled dot-product attention (scale 1/√head_dim) of `[batch, heads, n, head_dim]` tensors with
/// f16 inputs and f32 accumulation; returns f32. `B` must be a backend [`serves`] accepts.
pub fn flash_attention_f16<B: Backend>(
    q: Tensor<B, 4>,
    k: Tensor<B, 4>,
    v: Tensor<B, 4>,
) -> Tensor<B, 4> {
    #[cfg(feature = "cuda")]
    if is::<B, CudaRuntime>() {
        return flash_attention_on::<B, CudaRuntime>(q, k, v);
    }
    #[cfg(feature = "wgpu")]
    if is::<B, WgpuRuntime>() {
        return flash_attention_on::<B, WgpuRuntime>(q, k, v);
    }
    let f16 = |t: Tensor<B, 4>| t.cast(FloatDType::F16);
    burn::tensor::module::attention(f16(q), f16(k), f16(v), None, None, Default::default())
        .cast(FloatDType::F32)
}

/// Which attention kernel the f16 path ran last: `flash`, `flash-unit`, `unfused`, or `none`
/// before any ran. Benchmarks report it, because a fallback changes the speed by an order.
pub fn attention_kernel_used() -> &'static str {
    kernel_name(KERNEL_USED.load(Ordering::Relaxed))
}

/// The name of a [`KERNEL_USED`] code.
fn kernel_name(code: u8) -> &'static str {
    match code {
        1 => "flash",
        2 => "flash-unit",
        3 => "unfused",
        _ => "none",
    }
}

static KERNEL_USED: AtomicU8 = AtomicU8::new(0);

fn is<B: Backend, R: CubeRuntime>() -> bool {
    TypeId::of::<B::FloatTensorPrimitive>() == TypeId::of::<Fused<R>>()
}

fn to_fused<B: Backend, R: CubeRuntime, const D: usize>(t: Tensor<B, D>) -> Fused<R> {
    let boxed: Box<dyn Any> = Box::new(t.into_primitive().tensor());
    *boxed
        .downcast::<Fused<R>>()
        .expect("checked by `is` before converting")
}

fn from_fused<B: Backend, R: CubeRuntime, const D: usize>(t: Fused<R>) -> Tensor<B, D> {
    let boxed: Box<dyn Any> = Box::new(t);
    let primitive = *boxed
        .downcast::<B::FloatTensorPrimitive>()
        .expect("checked by `is` before converting");
    Tensor::from_primitive(TensorPrimitive::Float(primitive))
}

/// `[.., m, k] · [.., k, n]` → `[.., m, n]` with the batch dimensions broadcast.
fn matmul_shape(a: &[usize], b: &[usize]) -> Shape {
    let d = a.len();
    let mut out: Vec<usize> = (0..d.saturating_sub(2)).map(|i| a[i].max(b[i])).collect();
    out.push(a[d - 2]);
    out.push(b[d - 1]);
    Shape::from(out)
}

fn matmul_f32_on<B: Backend, R: CubeRuntime, const D: usize>(
    a: Tensor<B, D>,
    b: Tensor<B, D>,
) -> Tensor<B, D> {
    let (a, b) = (a.cast(FloatDType::F32), b.cast(FloatDType::F32));
    let shape = matmul_shape(&a.dims(), &b.dims());
    let (a, b) = (to_fused::<B, R, D>(a), to_fused::<B, R, D>(b));
    let client = a.client.clone();
    let streams = OperationStreams::with_inputs([&a, &b]);
    let out = TensorIr::uninit(client.create_empty_handle(), shape, DType::F32);
    let desc = CustomOpIr::new("slipstream_matmul_f32", &[a.into_ir(), b.into_ir()], &[out]);
    let op = MatmulF32::<R> {
        desc: desc.clone(),
        _runtime: PhantomData,
    };
    from_fused::<B, R, D>(
        client
            .register(streams, OperationIr::Custom(desc), op)
            .output(),
    )
}

struct MatmulF32<R> {
    desc: CustomOpIr,
    _runtime: PhantomData<fn() -> R>,
}

impl<R> fmt::Debug for MatmulF32<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("slipstream_matmul_f32")
    }
}

impl<R: CubeRuntime> Operation<FusionCubeRuntime<R>> for MatmulF32<R> {
    fn execute(&self, handles: &mut Handles<R>) {
        let ([a, b], [out]) = self.desc.as_fixed::<2, 1>();
        let a = handles.get_float_tensor::<Inner<R>>(a);
        let b = handles.get_float_tensor::<Inner<R>>(b);
        let c = unit_matmul(a, b);
        handles.register_float_tensor::<Inner<R>>(&out.id, c);
    }
}

/// cubek's register-tiled matmul (no tensor cores), or its naive one where that cannot launch.
fn unit_matmul<R: CubeRuntime>(a: CubeTensor<R>, b: CubeTensor<R>) -> CubeTensor<R> {
    let out = init_matmul_output(&a, &b, DType::F32);
    let client = out.client.clone();
    let launch = |strategy: &Strategy| -> Result<(), MatmulSetupError> {
        let mut dtypes = MatmulElems::from_globals(&MatmulGlobalElems {
            lhs: a.dtype.into(),
            rhs: b.dtype.into(),
            out: out.dtype.into(),
        });
        launch_ref(
            strategy,
            &client,
            InputBinding::new(a.clone().binding(), a.dtype.into()),
            InputBinding::new(b.clone().binding(), b.dtype.into()),
            out.clone().binding(),
            &mut dtypes,
        )
    };
    let unit = Strategy::SimpleUnit(BlueprintStrategy::Inferred(SimpleUnitSelectionArgs {
        tile_size: TileSizeSelection::MaxTileSize,
    }));
    if let Err(unit_error) = launch(&unit) {
        if let Err(naive_error) = launch(&Strategy::Naive) {
            panic!(
                "f32 matmul of {:?} by {:?}: no kernel launches (unit: {unit_error:?}; naive: \
                 {naive_error:?})",
                a.meta.shape, b.meta.shape
            );
        }
    }
    out
}

/// Rows of queries the tensor-core kernel takes per block, and its shape from [`FLASH_SHAPE_ENV`].
#[derive(Debug, Clone, Copy)]
struct FlashShape {
    planes: u8,
    q_tiles: u8,
    kv_tiles: u8,
}

impl FlashShape {
    fn from_env() -> FlashShape {
        let parsed = std::env::var(FLASH_SHAPE_ENV).ok().and_then(|s| {
            let v: Vec<u8> = s.split(',').filter_map(|x| x.trim().parse().ok()).collect();
            match v.as_slice() {
                [p, q, kv] if *p > 0 && *q > 0 && *kv > 0 => Some(FlashShape {
                    planes: *p,
                    q_tiles: *q,
                    kv_tiles: *kv,
                }),
                _ => None,
            }
        });
        parsed.unwrap_or(FlashShape {
            planes: 4,
            q_tiles: 1,
            kv_tiles: 1,
        })
    }

    /// Query rows per block (16-row tiles): the query count must be a multiple of it.
    fn block_rows(self) -> usize {
        self.planes as usize * self.q_tiles as usize * 16
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kernel {
    Flash,
    FlashUnit,
    Unfused,
}

/// The kernel and its shape as the environment chooses them, read once: attention runs a dozen
/// times per chunk.
fn chosen() -> (Kernel, FlashShape) {
    static CHOSEN: OnceLock<(Kernel, FlashShape)> = OnceLock::new();
    *CHOSEN.get_or_init(|| (kernel_from_env(), FlashShape::from_env()))
}

fn kernel_from_env() -> Kernel {
    match std::env::var(ATTENTION_ENV).as_deref().map(str::trim) {
        Ok("flash-unit") => Kernel::FlashUnit,
        Ok("unfused") => Kernel::Unfused,
        _ => Kernel::Flash,
    }
}

/// cubek 0.2 leaves out its bounds checks when a sequence length divides its block (it tests
/// `block % len` where `len % block` was meant), and its blocks are powers of two up to 8 × 64
/// rows: a query count that is not a power of two is always checked or exact.
const LARGEST_BLOCK: usize = 512;

/// The smallest count ≥ `n`, in steps of `step`, that is not a power of two up to
/// [`LARGEST_BLOCK`].
fn checked_count(n: usize, step: usize) -> usize {
    let mut m = n;
    while m.is_power_of_two() && m < LARGEST_BLOCK {
        m += step;
    }
    m
}

fn flash_attention_on<B: Backend, R: CubeRuntime>(
    q: Tensor<B, 4>,
    k: Tensor<B, 4>,
    v: Tensor<B, 4>,
) -> Tensor<B, 4> {
    let f16 = |t: Tensor<B, 4>| t.cast(FloatDType::F16);
    let (q, k, v) = (f16(q), f16(k), f16(v));
    let (chosen_kernel, shape) = chosen();
    let [_, _, n, _] = q.dims();
    let keys = k.dims()[2];
    // Key counts below the kernels' key tiles would skip bounds checks too (see above); they
    // are small enough for the unfused path.
    let kernel = match chosen_kernel {
        _ if keys < 16 * shape.kv_tiles.max(1) as usize => Kernel::Unfused,
        kernel => kernel,
    };
    if kernel == Kernel::Unfused {
        KERNEL_USED.store(3, Ordering::Relaxed);
        return burn::tensor::module::attention(q, k, v, None, None, Default::default())
            .cast(FloatDType::F32);
    }
    // The tensor-core kernel picks 16×16 tiles only while neither sequence is 4× the other, and
    // needs the query count to be a multiple of its block: queries go in pieces of at most 3×
    // the keys, each padded with zero rows (their outputs are dropped).
    let rows = shape.block_rows();
    let round = |x: usize| checked_count(x.div_ceil(rows) * rows, rows);
    let piece = (3 * keys / rows) * rows;
    let floor = round(keys / 4 + 1);
    if kernel == Kernel::FlashUnit || piece == 0 || floor > piece || round(piece) > piece {
        let padded = checked_count(n, 1);
        return padded_op::<B, R>(q, &k, &v, 0, n, padded, Kernel::FlashUnit, shape)
            .cast(FloatDType::F32);
    }
    let mut outputs: Vec<_> = (0..n)
        .step_by(piece)
        .map(|start| {
            let len = (n - start).min(piece);
            let padded = round(len).max(floor);
            padded_op::<B, R>(q.clone(), &k, &v, start, len, padded, Kernel::Flash, shape)
        })
        .collect();
    let out = if outputs.len() == 1 {
        outputs.pop().expect("one piece")
    } else {
        Tensor::cat(outputs, 2)
    };
    out.cast(FloatDType::F32)
}

/// Query rows `start..start + len` attend through `kernel`, padded with zero rows to `padded`.
#[allow(clippy::too_many_arguments)]
fn padded_op<B: Backend, R: CubeRuntime>(
    q: Tensor<B, 4>,
    k: &Tensor<B, 4>,
    v: &Tensor<B, 4>,
    start: usize,
    len: usize,
    padded: usize,
    kernel: Kernel,
    shape: FlashShape,
) -> Tensor<B, 4> {
    let mut part = q.narrow(2, start, len);
    if padded > len {
        let [b, h, _, d] = part.dims();
        let zeros =
            Tensor::<B, 4>::zeros([b, h, padded - len, d], &part.device()).cast(FloatDType::F16);
        part = Tensor::cat(vec![part, zeros], 2);
    }
    flash_op::<B, R>(part, k.clone(), v.clone(), kernel, shape).narrow(2, 0, len)
}

fn flash_op<B: Backend, R: CubeRuntime>(
    q: Tensor<B, 4>,
    k: Tensor<B, 4>,
    v: Tensor<B, 4>,
    kernel: Kernel,
    shape: FlashShape,
) -> Tensor<B, 4> {
    let [b, h, n, _] = q.dims();
    let dv = v.dims()[3];
    let (q, k, v) = (
        to_fused::<B, R, 4>(q),
        to_fused::<B, R, 4>(k),
        to_fused::<B, R, 4>(v),
    );
    let client = q.client.clone();
    let streams = OperationStreams::with_inputs([&q, &k, &v]);
    let out = TensorIr::uninit(
        client.create_empty_handle(),
        Shape::new([b, h, n, dv]),
        DType::F16,
    );
    let desc = CustomOpIr::new(
        "slipstream_flash_attention",
        &[q.into_ir(), k.into_ir(), v.into_ir()],
        &[out],
    );
    let op = FlashAttention::<R> {
        desc: desc.clone(),
        kernel,
        shape,
        _runtime: PhantomData,
    };
    from_fused::<B, R, 4>(
        client
            .register(streams, OperationIr::Custom(desc), op)
            .output(),
    )
}

struct FlashAttention<R> {
    desc: CustomOpIr,
    kernel: Kernel,
    shape: FlashShape,
    _runtime: PhantomData<fn() -> R>,
}

impl<R> fmt::Debug for FlashAttention<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "slipstream_flash_attention({:?})", self.kernel)
    }
}

impl<R: CubeRuntime> Operation<FusionCubeRuntime<R>> for FlashAttention<R> {
    fn execute(&self, handles: &mut Handles<R>) {
        let ([q, k, v], [out]) = self.desc.as_fixed::<3, 1>();
        // cubek finds each head's rows from the head stride alone: contiguous inputs only.
        let q = into_contiguous(handles.get_float_tensor::<Inner<R>>(q));
        let k = into_contiguous(handles.get_float_tensor::<Inner<R>>(k));
        let v = into_contiguous(handles.get_float_tensor::<Inner<R>>(v));
        let run = |strategy| {
            cube_attention(
                q.clone(),
                k.clone(),
                v.clone(),
                None,
                None,
                Default::default(),
                strategy,
            )
        };
        let mut tried = Vec::new();
        if self.kernel == Kernel::Flash {
            let strategy =
                AttentionStrategy::FlashBlackboxAccelerated(BlackboxAcceleratedStrategy {
                    num_planes: self.shape.planes,
                    seq_q: self.shape.q_tiles,
                    seq_kv: self.shape.kv_tiles,
                });
            match run(strategy) {
                Ok(result) => {
                    KERNEL_USED.store(1, Ordering::Relaxed);
                    handles.register_float_tensor::<Inner<R>>(&out.id, result);
                    return;
                }
                Err(e) => tried.push(format!("flash: {e}")),
            }
        }
        let (used, result) = match run(AttentionStrategy::FlashUnit) {
            Ok(result) => (2, result),
            Err(e) => {
                tried.push(format!("flash-unit: {e}"));
                let result = run(AttentionStrategy::Fallback)
                    .expect("burn's unfused attention always launches");
                (3, result)
            }
        };
        if KERNEL_USED.swap(used, Ordering::Relaxed) != used && !tried.is_empty() {
            eprintln!(
                "note: attention ran as {} ({})",
                kernel_name(used),
                tried.join("; ")
            );
        }
        handles.register_float_tensor::<Inner<R>>(&out.id, result);
    }
}

#[cfg(test)]
mod tests {
    use super::{checked_count, matmul_shape};

    #[test]
    fn padded_query_counts_are_never_powers_of_two_below_the_largest_block() {
        assert_eq!(checked_count(64, 64), 192);
        assert_eq!(checked_count(128, 1), 129);
        assert_eq!(checked_count(1000, 1), 1000);
        assert_eq!(checked_count(4096, 64), 4096);
        assert_eq!(checked_count(49152, 64), 49152);
    }

    #[test]
    fn matmul_shapes_broadcast_batches() {
        assert_eq!(matmul_shape(&[3, 5, 4], &[1, 4, 7]).as_slice(), &[3, 5, 7]);
        assert_eq!(matmul_shape(&[5, 4], &[4, 2]).as_slice(), &[5, 2]);
    }
}
