#!/usr/bin/env bash
# Runs slipstream's GPU kernel paths (model/gpu_ops.rs: true-f32 products, f16 flash attention,
# the reference's parity cases per precision) on a Vulkan device through burn's wgpu backend.
# Where there is no GPU, Mesa's lavapipe runs them on the CPU: `apt-get install mesa-vulkan-drivers`.
# lavapipe has no tensor cores, so the tensor-core flash kernel falls back to cubek's unit kernel
# there; the speed of the CUDA path is measured by scripts/gpu-check.sh on a real GPU.
#
# Usage: scripts/kernel-check.sh      (builds with `--features wgpu`, ~10 minutes the first time)
set -euo pipefail
cd "$(dirname "$0")/.."

# Vulkan loaders look for ICD manifests here; no manifest means no Vulkan driver at all.
if ! compgen -G "/usr/share/vulkan/icd.d/*.json" > /dev/null && ! compgen -G "/etc/vulkan/icd.d/*.json" > /dev/null; then
  echo "kernel-check: no Vulkan driver found (install one, e.g. apt-get install mesa-vulkan-drivers)" >&2
  exit 3
fi
# Mesa's loader warns, and some drivers refuse, without a runtime directory.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
cargo test --locked --no-default-features --features wgpu --test gpu_backend -- --nocapture --test-threads 1
