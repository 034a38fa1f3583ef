#!/usr/bin/env bash
# Mesh study of the Ahmed generator (issue 19): solves Ahmed's reference body at a slant angle on a
# series of meshes and wall treatments with `slipstream generate ahmed --reference`, one folder per
# level, and prints the table of what each gave (scripts/mesh_study_table.py).
#
#   scripts/mesh-study.sh [--bin target/release/slipstream] [--out study] [--jobs 2] [--slant 25]
#                         [LEVEL ...]
#
# LEVEL names one of the settings below (default: all, in order). Resumable: a level whose run
# finished (run.json) is skipped, so the same command picks up where it stopped. Each level runs
# as one `generate` call; --jobs levels run at once (each solver uses one core).
set -euo pipefail

bin=target/release/slipstream
out=study
jobs=1
slant=25
levels=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --slant) slant="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    -*) echo "mesh-study.sh: unknown option $1" >&2; exit 2 ;;
    *) levels+=("$1"); shift ;;
  esac
done

# name: generate flags. k = nutkWallFunction (the old default), spalding = nutUSpaldingWallFunction;
# "rel" layers are sized from the surface cells (the old default), "Nl-Tmm" are N layers with a
# first layer T mm thick (y+ is about 60 per mm here). Cell counts are approximate targets.
settings() {
  case "$1" in
    k-rel2-150k) echo "--cells 150000 --wall-function k --layers 2 --relative-layers" ;;
    k-rel2-300k) echo "--cells 300000 --wall-function k --layers 2 --relative-layers" ;;
    k-rel2-600k) echo "--cells 600000 --wall-function k --layers 2 --relative-layers" ;;
    spalding-rel2-300k) echo "--cells 300000 --wall-function spalding --layers 2 --relative-layers" ;;
    spalding-5l-0.5mm-300k) echo "--cells 300000 --wall-function spalding --layers 5 --first-layer-mm 0.5" ;;
    k-5l-0.5mm-300k) echo "--cells 300000 --wall-function k --layers 5 --first-layer-mm 0.5" ;;
    spalding-5l-0.5mm-150k) echo "--cells 150000 --wall-function spalding --layers 5 --first-layer-mm 0.5" ;;
    spalding-5l-0.5mm-600k) echo "--cells 600000 --wall-function spalding --layers 5 --first-layer-mm 0.5" ;;
    spalding-5l-0.5mm-1200k) echo "--cells 1200000 --wall-function spalding --layers 5 --first-layer-mm 0.5" ;;
    spalding-5l-0.5mm-lvl45-300k) echo "--cells 300000 --wall-function spalding --layers 5 --first-layer-mm 0.5 --body-level 4,5" ;;
    spalding-8l-0.2mm-300k) echo "--cells 300000 --wall-function spalding --layers 8 --first-layer-mm 0.2" ;;
    *) return 1 ;;
  esac
}
all=(spalding-5l-0.5mm-300k k-5l-0.5mm-300k spalding-5l-0.5mm-150k spalding-5l-0.5mm-600k
     spalding-5l-0.5mm-1200k k-rel2-300k spalding-rel2-300k k-rel2-150k k-rel2-600k
     spalding-5l-0.5mm-lvl45-300k spalding-8l-0.2mm-300k)
[ ${#levels[@]} -gt 0 ] || levels=("${all[@]}")
for level in "${levels[@]}"; do
  settings "$level" > /dev/null || { echo "mesh-study.sh: unknown level $level (known: ${all[*]})" >&2; exit 2; }
done
test -x "$bin" || { echo "mesh-study.sh: no slipstream binary at $bin (cargo build --release)" >&2; exit 2; }
mkdir -p "$out"

run_level() {
  local level="$1" dir="$out/slant${slant}/$1"
  # shellcheck disable=SC2046
  "$bin" generate ahmed --reference "$slant" --out "$dir" --time-limit-min 240 $(settings "$level") \
    > "$dir.log" 2>&1 || echo "level $level failed: see $dir.log" >&2
  echo "level $level: $(tail -1 "$dir.log")"
}
mkdir -p "$out/slant${slant}"
running=0
for level in "${levels[@]}"; do
  run_level "$level" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait
python3 "$(dirname "$0")/mesh_study_table.py" "$out"
