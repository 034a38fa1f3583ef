//! Which backend runs the model: the CPU (always built), a CUDA GPU (built with `--features cuda`;
//! burn 0.21 loads libcuda and NVRTC when first used) or a Vulkan device through wgpu (built with
//! `--features wgpu`), and the precision of its matrix products.
//!
//! Jobs are written once, generic over burn's `Backend`, and [`dispatch`] instantiates them for
//! the chosen device.

use std::fmt;
use std::str::FromStr;

use burn::tensor::backend::Backend;

use super::precision::Precision;
use super::precision::Products;
use super::ModelError;

/// Environment variable read when no `--device` is given.
pub const DEVICE_ENV: &str = "SLIPSTREAM_DEVICE";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    Cpu,
    /// CUDA device by index (`cuda` = `cuda:0`).
    Cuda(usize),
    /// wgpu's default adapter (Vulkan); Mesa's lavapipe where there is no GPU.
    Wgpu,
}

impl FromStr for DeviceChoice {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" | "gpu" => Ok(DeviceChoice::Cuda(0)),
            "wgpu" | "vulkan" => Ok(DeviceChoice::Wgpu),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|i| i.parse().ok())
                .map(DeviceChoice::Cuda)
                .ok_or_else(|| {
                    ModelError::Device(format!("device `{s}`: use cpu, cuda, cuda:N or wgpu"))
                }),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceChoice::Cpu => write!(f, "cpu"),
            DeviceChoice::Cuda(i) => write!(f, "cuda:{i}"),
            DeviceChoice::Wgpu => write!(f, "wgpu"),
        }
    }
}

impl DeviceChoice {
    /// The flag's value, else `$SLIPSTREAM_DEVICE`, else the CPU.
    pub fn resolve(flag: Option<&str>) -> Result<DeviceChoice, ModelError> {
        match flag {
            Some(s) => s.parse(),
            None => match std::env::var(DEVICE_ENV) {
                Ok(s) if !s.trim().is_empty() => s
                    .parse()
                    .map_err(|e| ModelError::Device(format!("${DEVICE_ENV}: {e}"))),
                _ => Ok(DeviceChoice::Cpu),
            },
        }
    }
}

/// A computation that can run on any backend.
pub trait Job {
    type Output: Send;
    fn run<B: Backend>(
        self,
        device: &B::Device,
        backend_name: &str,
    ) -> Result<Self::Output, ModelError>;
}

/// Runs `f` on one of rayon's worker threads and waits for it.
///
/// The CPU kernels split their work with rayon. Called from a thread outside rayon's pool, every
/// parallel operation hands its work to the pool and puts the caller to sleep until it is done:
/// two futex wake-ups per operation, thousands per training step of a small model. From a worker
/// thread, the same operation splits in place and the worker takes its share itself.
fn on_a_worker<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| f())
}

/// Runs `job` on the chosen device and precision.
pub fn dispatch<J: Job + Send>(
    device: DeviceChoice,
    precision: Precision,
    job: J,
) -> Result<J::Output, ModelError> {
    match device {
        DeviceChoice::Cpu => on_a_worker(|| {
            let _products = Products::set(precision);
            job.run::<super::Cpu>(&Default::default(), &format!("flex-cpu-{precision}"))
        }),
        DeviceChoice::Cuda(index) => {
            let _products = Products::set(precision);
            cuda::run(index, precision, job)
        }
        DeviceChoice::Wgpu => {
            let _products = Products::set(precision);
            wgpu::run(precision, job)
        }
    }
}

/// Keeps compiled GPU kernels on disk between runs. burn's GPU backends JIT-compile every kernel in
/// every process (measured on an H200: ~0.8 s each through NVRTC, hundreds for the model), so
/// without a cache every command spends minutes compiling before it computes. The cache goes in
/// the project's `target/` when run inside a Cargo project, else in the user's cache folder
/// (`~/.cache/cubecl`). A `cubecl.toml` (or `burn.toml` with a `[cubecl]` section) found from the
/// working directory up is honoured; `SLIPSTREAM_KERNEL_CACHE=0` turns the cache off.
#[cfg(feature = "gpu-kernels")]
fn enable_kernel_cache() {
    use cubecl_runtime::config::cache::CacheConfig;
    use cubecl_runtime::config::{CubeClRuntimeConfig, RuntimeConfig};
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var("SLIPSTREAM_KERNEL_CACHE").is_ok_and(|v| v == "0") {
            return;
        }
        let mut config = CubeClRuntimeConfig::from_current_dir().override_from_env();
        if config.compilation.cache.is_none() {
            config.compilation.cache = Some(CacheConfig::Target);
        }
        // `set` refuses (panics) once the configuration has been read; then it stays as is.
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let _ = std::panic::catch_unwind(|| CubeClRuntimeConfig::set(config));
        std::panic::set_hook(previous);
    });
}

/// burn panics when the driver or the device is missing, or the device lacks the precision's
/// types (lavapipe has no bf16); turn that into an error that says what to check (`what`: the
/// device, `hint`: what to look at). Runs one product in the job's precision.
#[cfg(feature = "gpu-kernels")]
fn probe<B: Backend>(device: &B::Device, what: &str, hint: &str) -> Result<(), ModelError> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let t = burn::tensor::Tensor::<B, 2>::from_floats([[1.0f32, 2.0], [3.0, 4.0]], device);
        let _ = super::ops::matmul(t.clone(), t).sum().into_scalar();
    }));
    std::panic::set_hook(previous);
    result.map_err(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        ModelError::Device(format!(
            "no usable {what} for {} products (burn: {}); {hint}, or run with --device cpu",
            super::precision::products(),
            why.lines().next().unwrap_or("initialisation failed")
        ))
    })
}

#[cfg(feature = "cuda")]
mod cuda {
    use super::{Job, ModelError, Precision};
    use burn::backend::cuda::CudaDevice;
    use burn::backend::Cuda;

    pub fn run<J: Job>(
        index: usize,
        precision: Precision,
        job: J,
    ) -> Result<J::Output, ModelError> {
        super::enable_kernel_cache();
        let device = CudaDevice { index };
        // burn 0.21 takes a tensor's float type from the device's settings, fixed by the first
        // tensor made on it (the probe's, f32), not from the backend's type parameter. Tensors
        // stay f32; the precision applies to the matrix products only (`precision`), which
        // `dispatch` has set.
        super::probe::<Cuda>(
            &device,
            &format!("CUDA GPU at index {index}"),
            "check `nvidia-smi` and that libcuda.so and libnvrtc.so are on the library path",
        )?;
        job.run::<Cuda<f32>>(&device, &format!("cuda-{precision}"))
    }
}

#[cfg(not(feature = "cuda"))]
mod cuda {
    use super::{Job, ModelError, Precision};

    pub fn run<J: Job>(
        _index: usize,
        _precision: Precision,
        _job: J,
    ) -> Result<J::Output, ModelError> {
        Err(ModelError::Device(
            "this slipstream was built without CUDA support; rebuild with \
             `cargo build --release --no-default-features --features cuda` (needs an NVIDIA driver at run time, \
             no CUDA toolkit to build)"
                .into(),
        ))
    }
}

#[cfg(feature = "wgpu")]
mod wgpu {
    use super::{Job, ModelError, Precision};
    use burn::backend::wgpu::WgpuDevice;
    use burn::backend::Wgpu;

    pub fn run<J: Job>(precision: Precision, job: J) -> Result<J::Output, ModelError> {
        super::enable_kernel_cache();
        let device = WgpuDevice::DefaultDevice;
        super::probe::<Wgpu>(
            &device,
            "Vulkan device",
            "check `vulkaninfo --summary` (without a GPU, Debian's mesa-vulkan-drivers provides \
             lavapipe, which has f32 and f16 but no bf16)",
        )?;
        job.run::<Wgpu<f32>>(&device, &format!("wgpu-{precision}"))
    }
}

#[cfg(not(feature = "wgpu"))]
mod wgpu {
    use super::{Job, ModelError, Precision};

    pub fn run<J: Job>(_precision: Precision, _job: J) -> Result<J::Output, ModelError> {
        Err(ModelError::Device(
            "this slipstream was built without wgpu support; rebuild with \
             `cargo build --release --no-default-features --features wgpu` (needs a Vulkan driver at \
             run time)"
                .into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_parse() {
        assert_eq!("cpu".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cpu);
        assert_eq!(
            "CUDA".parse::<DeviceChoice>().unwrap(),
            DeviceChoice::Cuda(0)
        );
        assert_eq!(
            "cuda:2".parse::<DeviceChoice>().unwrap(),
            DeviceChoice::Cuda(2)
        );
        assert!("tpu".parse::<DeviceChoice>().is_err());
        assert_eq!("wgpu".parse::<DeviceChoice>().unwrap(), DeviceChoice::Wgpu);
        assert_eq!("TF32".parse::<Precision>().unwrap(), Precision::Tf32);
        assert_eq!("f16".parse::<Precision>().unwrap(), Precision::F16);
        assert_eq!("bf16".parse::<Precision>().unwrap(), Precision::Bf16);
        assert!("f8".parse::<Precision>().is_err());
        assert!(dispatch(DeviceChoice::Cpu, Precision::Bf16, Noop).is_ok());
    }

    struct Noop;
    impl Job for Noop {
        type Output = ();
        fn run<B: Backend>(self, _: &B::Device, _: &str) -> Result<(), ModelError> {
            Ok(())
        }
    }
}
