#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs into one folder, for a GPU machine that has no Rust and no
# network: the CUDA release binary (stripped and gzipped, ~14 MB), the parity fixtures (weights
# gzipped), the shipped checkpoint, the bundled car and the check script itself. Copy the folder
# there and run the command this script prints last.
#
# The CUDA build goes to its own target folder (target/cuda), so the usual CPU build in
# target/release stays as it is; a first build takes about as long as a first CPU build.
#
# Usage: scripts/gpu-pack.sh [--out DIR] [--fixtures DIR] [--no-build | --bin PATH]
#   --out       the folder to fill (default gpu-pack/ in the repository; its contents are replaced)
#   --fixtures  the parity fixtures (default ../shared/fixtures/abupt_parity)
#   --no-build  pack the binary already in target/cuda/release
#   --bin PATH  pack this slipstream binary instead of building one (CI packs its own build)
set -euo pipefail
# Paths given are taken from the current folder; the repository's own files from the script's.
ROOT=$(cd "$(dirname "$0")/.." && pwd)

OUT=$ROOT/gpu-pack
FIXTURES=$ROOT/../shared/fixtures/abupt_parity
BUILD=1
BIN=$ROOT/target/cuda/release/slipstream
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$2; shift ;;
    --fixtures) FIXTURES=$2; shift ;;
    --no-build) BUILD= ;;
    --bin) BIN=$2; BUILD=; shift ;;
    -h|--help) sed -n 2,14p "$0"; exit 0 ;;
    *) echo "gpu-pack: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -f "$FIXTURES/full.json" ] || { echo "gpu-pack: no parity fixtures at $FIXTURES (--fixtures DIR)" >&2; exit 2; }
for f in checkpoints/ahmed-small geometry/ahmed_25deg.stl scripts/gpu-check.sh; do
  [ -e "$ROOT/$f" ] || { echo "gpu-pack: $f is missing from this checkout" >&2; exit 2; }
done
command -v strip > /dev/null || { echo "gpu-pack: needs strip (binutils)" >&2; exit 2; }

if [ -n "$BUILD" ]; then
  echo "== building the CUDA release binary (cargo build --release --no-default-features --features cuda)" >&2
  cargo build --release --locked --no-default-features --features cuda --manifest-path "$ROOT/Cargo.toml" \
    --target-dir "$ROOT/target/cuda" --bin slipstream
fi
[ -x "$BIN" ] || { echo "gpu-pack: no slipstream binary at $BIN (run without --no-build or --bin)" >&2; exit 2; }

# Fill a fresh folder beside the destination, then swap it in: a failure leaves the old pack whole.
tmp="$OUT.tmp.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"
strip -o "$tmp/slipstream" "$BIN"
gzip -9 "$tmp/slipstream"
cp -r "$FIXTURES" "$tmp/fixtures"
chmod -R u+w "$tmp/fixtures"
gzip -9 "$tmp/fixtures/"*.weights.safetensors
cp -r "$ROOT/checkpoints/ahmed-small" "$tmp/checkpoint"
cp "$ROOT/geometry/ahmed_25deg.stl" "$ROOT/scripts/gpu-check.sh" "$tmp/"
rm -rf "$OUT"
mv "$tmp" "$OUT"
trap - EXIT

echo "packed $(du -sh "$OUT" | cut -f1) in $OUT:" >&2
(cd "$OUT" && find . -type f | sort | xargs ls -l | awk '{printf "  %8.1f MB  %s\n", $5 / 1e6, $9}') >&2
echo "on the GPU machine, in that folder (about 8 minutes; writes gpu-check.json and prints a table):" >&2
echo "./gpu-check.sh --bin slipstream.gz --fixtures fixtures --checkpoint checkpoint --stl ahmed_25deg.stl --out gpu-check.json"
