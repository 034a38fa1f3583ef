//! Which x86 instruction set the CPU kernels run on, chosen once at run time.
//!
//! The machines this project runs on differ from one day to the next (an AMD EPYC with AVX2
//! only, an Intel Xeon with AVX-512), and a binary is built once for all of them, so the kernels
//! are compiled for every level and the best one the CPU has is picked when the process starts,
//! as MKL does for the reference. `SLIPSTREAM_CPU_ISA` (`avx512`, `avx2`, `portable`) lowers the
//! choice, to compare the paths on one machine; it never raises it above what the CPU has.
//!
//! The matrix products go through the `gemm` crate, which makes the same choice on its own
//! (built with its `x86-v4` feature, it uses AVX-512 where present); [`matmul_isa`] reports it.

use std::sync::OnceLock;

/// Environment variable that lowers the instruction set of slipstream's own CPU kernels.
pub const ISA_ENV: &str = "SLIPSTREAM_CPU_ISA";

/// An instruction-set level of the CPU kernels, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    /// Whatever the build's baseline target has (SSE2 on x86-64), portable Rust.
    Portable,
    /// 256-bit AVX2 with fused multiply-add.
    Avx2Fma,
    /// 512-bit AVX-512 F (with AVX2 and FMA, which every AVX-512 CPU has).
    Avx512,
}

impl Isa {
    /// Every level, lowest first.
    pub const ALL: [Isa; 3] = [Isa::Portable, Isa::Avx2Fma, Isa::Avx512];

    /// The name used in reports and in `SLIPSTREAM_CPU_ISA`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Avx2Fma => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// True when this CPU can run kernels compiled for this level.
    pub fn available(self) -> bool {
        match self {
            Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                Isa::Avx2Fma.available() && std::arch::is_x86_feature_detected!("avx512f")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The highest level this CPU has.
    pub fn detected() -> Isa {
        Isa::ALL
            .into_iter()
            .rev()
            .find(|isa| isa.available())
            .unwrap_or(Isa::Portable)
    }

    /// The level the kernels use in this process: [`Isa::detected`], lowered by
    /// `SLIPSTREAM_CPU_ISA` when that is set to a valid, available level (see [`check_env`]
    /// for the message a wrong value deserves).
    pub fn active() -> Isa {
        static ACTIVE: OnceLock<Isa> = OnceLock::new();
        *ACTIVE.get_or_init(|| match requested() {
            Ok(Some(isa)) => isa,
            _ => Isa::detected(),
        })
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an instruction set asked for by name cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IsaError {
    #[error("unknown instruction set `{0}` (one of {names})", names = Isa::ALL.map(Isa::name).join(", "))]
    Unknown(String),
    #[error("{ISA_ENV}: {0}")]
    UnknownInEnv(Box<IsaError>),
    #[error("{ISA_ENV}={requested}: this CPU lacks it (it has up to {detected})")]
    Unavailable { requested: String, detected: Isa },
}

impl std::str::FromStr for Isa {
    type Err = IsaError;

    fn from_str(s: &str) -> Result<Isa, IsaError> {
        Isa::ALL
            .into_iter()
            .find(|isa| isa.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| IsaError::Unknown(s.to_string()))
    }
}

/// The level `SLIPSTREAM_CPU_ISA` asks for: `None` when unset or empty.
fn requested() -> Result<Option<Isa>, IsaError> {
    let Ok(text) = std::env::var(ISA_ENV) else {
        return Ok(None);
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    let isa: Isa = text
        .parse()
        .map_err(|e| IsaError::UnknownInEnv(Box::new(e)))?;
    if !isa.available() {
        return Err(IsaError::Unavailable {
            requested: text,
            detected: Isa::detected(),
        });
    }
    Ok(Some(isa))
}

/// Checks `SLIPSTREAM_CPU_ISA`: an error names a value that is unknown or above what the CPU
/// has (the kernels would otherwise silently use the detected level).
pub fn check_env() -> Result<(), IsaError> {
    requested().map(|_| ())
}

/// The instruction set the `gemm` crate's f32 products use on this CPU (its own run-time choice).
pub fn matmul_isa() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return "avx512";
        }
        if std::arch::is_x86_feature_detected!("fma") {
            return "avx2";
        }
    }
    "portable"
}

/// The CPU has AMX tiles with bf16 products (CPUID leaf 7: EDX bits 22 and 24). Whether the OS
/// lends them to this process is a separate question (`bf16::available`).
pub fn cpu_has_amx_bf16() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        // CPUID leaf 7 exists on every CPU with AVX-512, checked first.
        if std::arch::is_x86_feature_detected!("avx512f") {
            let r = std::arch::x86_64::__cpuid_count(7, 0);
            return (r.edx >> 22) & 1 == 1 && (r.edx >> 24) & 1 == 1;
        }
    }
    false
}

/// The instruction set each hot CPU kernel runs on in this process, for benchmark reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KernelIsas {
    /// Matrix products (the `gemm` crate's own choice).
    pub matmul: String,
    /// The fused attention's softmax (`burn` when burn's own attention runs instead).
    pub attention: String,
    /// Exact GELU (`burn` when burn's own runs instead).
    pub gelu: String,
}

impl KernelIsas {
    /// The kernels used when slipstream's fused kernels apply (`fused`), else burn's;
    /// `bf16_unit`: the bf16 unit the products run on, if they do (`amx-bf16`, `avx512-bf16`).
    pub fn report(fused: bool, bf16_unit: Option<&str>) -> KernelIsas {
        let ours = if fused { Isa::active().name() } else { "burn" };
        KernelIsas {
            matmul: bf16_unit.unwrap_or(matmul_isa()).to_string(),
            attention: if let Some(unit) = bf16_unit {
                format!("{unit}, softmax {ours}")
            } else {
                ours.to_string()
            },
            gelu: ours.to_string(),
        }
    }
}

/// The CPU's model name (`/proc/cpuinfo`), so that a timing can be read against its machine.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// The CPU features that matter to these kernels, as the CPU reports them.
pub fn cpu_features() -> Vec<&'static str> {
    let mut found = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        for (name, present) in [
            ("avx2", has!("avx2")),
            ("fma", has!("fma")),
            ("avx512f", has!("avx512f")),
            ("avx512bf16", has!("avx512bf16")),
            ("avx512fp16", has!("avx512fp16")),
            ("amx_bf16", cpu_has_amx_bf16()),
        ] {
            if present {
                found.push(name);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_and_order() {
        for isa in Isa::ALL {
            assert_eq!(isa.name().parse::<Isa>().unwrap(), isa);
        }
        assert_eq!("AVX512".parse::<Isa>().unwrap(), Isa::Avx512);
        let e = "sse9".parse::<Isa>().unwrap_err().to_string();
        assert!(e.contains("sse9") && e.contains("avx2"), "{e}");
        assert!(Isa::Portable < Isa::Avx2Fma && Isa::Avx2Fma < Isa::Avx512);
    }

    #[test]
    fn the_detected_level_is_available_and_the_active_one_no_higher() {
        assert!(Isa::detected().available());
        assert!(Isa::active() <= Isa::detected());
        assert!(Isa::Portable.available());
    }
}
