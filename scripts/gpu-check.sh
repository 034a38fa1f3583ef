#!/usr/bin/env bash
# GPU check for slipstream: CUDA vs reference parity (f32, tf32, f16, bf16), streaming inference of
# the drivaerml preset at full scale (f16 products, flash attention), one training step, and the
# README's main job (the shipped checkpoint on the bundled car) in each precision. Writes one JSON
# file and prints a table.
#
# Runs where there is a GPU but no network and no Rust: carry the release binary built with
# `cargo build --release --no-default-features --features cuda` and the parity fixtures (either may
# be gzipped: `--bin slipstream.gz`, `*.safetensors.gz` in the fixtures folder). `--cpu` runs the
# same steps on the CPU at small sizes, to check the script itself anywhere.
#
# Usage: scripts/gpu-check.sh [--cpu] [--bin PATH] [--fixtures DIR] [--out FILE] [--budget-s S]
#                             [--logs FILE.tgz] [--checkpoint DIR] [--stl FILE]
#   --checkpoint/--stl: the predict steps' model and car (default: the shipped checkpoint and the
#   bundled Ahmed body, when present); without them those steps are skipped
#   env CHUNK (query points per chunk, default 98304), FLASH_SHAPES (flash kernel shapes to try)
set -uo pipefail

BIN=target/release/slipstream
FIXTURES=../shared/fixtures/abupt_parity
OUT_JSON=gpu-check.json
BUDGET_S=470
MODE=gpu
LOGS=
CHECKPOINT=checkpoints/ahmed-small
STL=geometry/ahmed_25deg.stl
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu) MODE=cpu ;;
    --bin) BIN=$2; shift ;;
    --fixtures) FIXTURES=$2; shift ;;
    --out) OUT_JSON=$2; shift ;;
    --budget-s) BUDGET_S=$2; shift ;;
    --logs) LOGS=$2; shift ;;
    --checkpoint) CHECKPOINT=$2; shift ;;
    --stl) STL=$2; shift ;;
    -h|--help) sed -n 2,16p "$0"; exit 0 ;;
    *) echo "gpu-check: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[ -f "$BIN" ] || { echo "gpu-check: no slipstream binary at $BIN (build with cargo build --release --no-default-features --features cuda)" >&2; exit 2; }
[ -d "$FIXTURES" ] || { echo "gpu-check: no parity fixtures at $FIXTURES" >&2; exit 2; }
command -v python3 >/dev/null || { echo "gpu-check: needs python3 to write the JSON" >&2; exit 2; }

START=$(date +%s)
WORK=$(mktemp -d)
trap '[ -n "$LOGS" ] && tar czf "$LOGS" -C "$WORK" . 2>/dev/null; rm -rf "$WORK"' EXIT

# What travels to a GPU machine is often size-limited: the binary and the fixtures' weights may
# come gzipped (strip the binary first: ~14 MB gzipped); they are unpacked into the work folder.
mkdir -p "$WORK/unpacked"
if [[ "$BIN" == *.gz ]]; then
  gunzip -c "$BIN" > "$WORK/unpacked/slipstream" && chmod +x "$WORK/unpacked/slipstream" \
    || { echo "gpu-check: cannot unpack $BIN" >&2; exit 2; }
  BIN=$WORK/unpacked/slipstream
fi
[ -x "$BIN" ] || { echo "gpu-check: $BIN is not executable" >&2; exit 2; }
if compgen -G "$FIXTURES/*.gz" >/dev/null; then
  cp -r "$FIXTURES" "$WORK/unpacked/fixtures" && gunzip "$WORK/unpacked/fixtures/"*.gz \
    || { echo "gpu-check: cannot unpack the fixtures in $FIXTURES" >&2; exit 2; }
  FIXTURES=$WORK/unpacked/fixtures
fi

if [ "$MODE" = gpu ]; then
  DEVICE=cuda
  # burn loads libcuda and NVRTC at run time: add the toolkit's and pip's NVRTC to the search path.
  for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
           $(python3 -c 'import nvidia, os; print(" ".join(os.path.join(p, s, "lib") for p in nvidia.__path__ for s in os.listdir(p)))' 2>/dev/null); do
    [ -d "$d" ] && LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"
  done
  export LD_LIBRARY_PATH
  # A build with burn's autotuning (`--features cuda-autotune`) compiles every candidate kernel on
  # first use (measured on an H200: 269 compilations, ~0.8 s each); keep its autotuning short.
  export CUBECL_AUTOTUNE_LEVEL=${CUBECL_AUTOTUNE_LEVEL:-minimal}
  ANCHORS=16384; TRAIN_ANCHORS=16384; SIZES="1000000 10000000"; FULL_VOLUME=150000000; FULL_SURFACE=9000000
  # f32: no tensor cores (the reference's arithmetic); tf32: burn's tensor-core default; f16: flash
  # attention on tensor cores (model/gpu_ops.rs), the streaming path; bf16: burn's unfused path.
  # A chunk of 6x the anchors: the flash op runs it as two pieces of 3x (cubek keeps its 16x16
  # tiles below 4x), and larger chunks mean fewer host round trips per point.
  CHUNK=${CHUNK:-98304}; PRECISIONS="f32 tf32 f16 bf16"; STREAM_PRECISION=f16
  # Shapes of the tensor-core flash kernel tried on the first size (warps, query tiles, key tiles);
  # the fastest streams the rest.
  FLASH_SHAPES=${FLASH_SHAPES:-"4,1,1 8,1,1 4,1,2 2,1,1"}
  PREDICT_SIZES=()  # predict's defaults: the job the README runs
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$WORK/gpu.txt" 2>/dev/null || echo "unknown" > "$WORK/gpu.txt"
else
  DEVICE=cpu
  ANCHORS=256; TRAIN_ANCHORS=256; SIZES="2000 20000"; FULL_VOLUME=60000; FULL_SURFACE=6000
  CHUNK=${CHUNK:-8192}; PRECISIONS="f32"; STREAM_PRECISION=f32; FLASH_SHAPES=""
  PREDICT_SIZES=(--surface-points 5000 --volume-points 5000)
  echo "cpu ($(nproc) cores)" > "$WORK/gpu.txt"
fi

# Peak GPU memory of one step: poll nvidia-smi while it runs.
poll_start() {
  if [ "$MODE" = gpu ] && command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 > "$WORK/mem_$1.log" 2>/dev/null &
    POLL=$!
  else
    POLL=
  fi
}
poll_stop() {
  [ -n "${POLL:-}" ] && kill "$POLL" 2>/dev/null && wait "$POLL" 2>/dev/null
  if [ -s "$WORK/mem_$1.log" ]; then sort -n "$WORK/mem_$1.log" | tail -1 > "$WORK/peak_$1.txt"; fi
}
left() { echo $(( BUDGET_S - ($(date +%s) - START) )); }

# step NAME TIMEOUT_S COMMAND...: stdout (JSON) to NAME.json, stderr to NAME.log.
step() {
  local name=$1 limit=$2; shift 2
  local l; l=$(left)
  [ "$limit" -gt "$l" ] && limit=$l
  if [ "$limit" -le 5 ]; then echo "skipped: out of time budget" > "$WORK/$name.skip"; return 1; fi
  echo "== $name (limit ${limit}s)" >&2
  poll_start "$name"
  local t0; t0=$(date +%s.%N)
  timeout "$limit" "$@" > "$WORK/$name.json" 2> "$WORK/$name.log"
  local rc=$?
  poll_stop "$name"
  echo "$rc $(python3 -c "import time; print(round(time.time() - $t0, 2))")" > "$WORK/$name.rc"
  [ $rc -ne 0 ] && tail -5 "$WORK/$name.log" >&2
  return $rc
}

stream() { # stream NAME LIMIT VOLUME SURFACE
  step "$1" "$2" "$BIN" bench stream --preset drivaerml --anchors "$ANCHORS" --volume-points "$3" \
    --surface-points "$4" --chunk "$CHUNK" --device "$DEVICE" --precision "$STREAM_PRECISION" --json
}
train_step() { # train_step NAME LIMIT ANCHORS
  step "$1" "$2" "$BIN" bench model --preset drivaerml --anchors "$3" --queries 0 --repeats 1 \
    --device "$DEVICE" --precision f32 --json
}
predict() { # predict NAME LIMIT DEVICE PRECISION
  step "$1" "$2" "$BIN" predict "$STL" --checkpoint "$CHECKPOINT" --out "$WORK/out_$1" \
    "${PREDICT_SIZES[@]}" --device "$3" --precision "$4" --json
}
HAVE_MODEL=
[ -f "$STL" ] && [ -d "$CHECKPOINT" ] && HAVE_MODEL=1
rate() { # seconds per query point of a finished stream step, from its volume part
  python3 -c "import json; v = json.load(open('$WORK/$1.json'))['volume']; print(v['seconds'] / max(v['points'], 1))" 2>/dev/null
}

# Phase 1: the parity checks and a one-chunk stream together. Each process JIT-compiles its kernels
# on its own CPU core and stores them in the kernel cache, so the timed steps after it load them
# instead of compiling. (Peak memory of these steps is the sum over the processes.)
step parity_cpu 120 "$BIN" parity "$FIXTURES" --device cpu --json &
for p in $PRECISIONS; do
  tol=1e-3; case "$p" in bf16|f16) tol=2e-2 ;; esac
  step "parity_${DEVICE}_$p" 240 "$BIN" parity "$FIXTURES" --device "$DEVICE" --precision "$p" --tolerance "$tol" --json &
done
stream stream_warmup 240 "$CHUNK" "$CHUNK" &
if [ -n "$HAVE_MODEL" ]; then
  # The CPU's f32 answer is what the device's precisions are compared with.
  predict predict_cpu_f32 240 cpu f32 &
  [ "$MODE" = gpu ] && predict predict_warmup 240 "$DEVICE" f16 &
fi
wait

# Phase 2, one at a time: the rate at the smallest size, one training step, then the full scale
# when the measured rate says it fits in what is left of the budget, then the sizes between.
FIRST=${SIZES%% *}
BEST=
for shape in $FLASH_SHAPES; do
  name="stream_volume_${FIRST}_flash_${shape//,/-}"
  SLIPSTREAM_FLASH=$shape stream "$name" 120 "$FIRST" 0
  r=$(rate "$name")
  if [ -n "$r" ] && { [ -z "$BEST" ] || python3 -c "import sys; sys.exit(0 if $r < $BEST_RATE else 1)"; }; then
    BEST=$shape; BEST_RATE=$r; cp "$WORK/$name.json" "$WORK/stream_volume_$FIRST.json"
  fi
done
if [ -n "$BEST" ]; then
  export SLIPSTREAM_FLASH=$BEST
  echo "$BEST" > "$WORK/flash_shape.txt"
else
  stream "stream_volume_$FIRST" 200 "$FIRST" 0
fi
# The same size through burn's unfused attention in bf16 (session 5's path), for comparison.
# Its score matrices go through memory (3 heads x chunk x anchors), so a smaller chunk.
[ "$MODE" = gpu ] && CHUNK=32768 STREAM_PRECISION=bf16 stream "stream_volume_${FIRST}_bf16_unfused" 120 "$FIRST" 0
train_step train_step 150 "$TRAIN_ANCHORS"
# Attention's backward recomputes its probabilities (model/training_attention.rs), but the rest of
# the graph is kept: if the full size does not fit, measure half the anchors so there is a number.
if [ "$(cut -d' ' -f1 "$WORK/train_step.rc" 2>/dev/null)" != 0 ] && [ ! -e "$WORK/train_step.skip" ]; then
  train_step train_step_half 120 $(( TRAIN_ANCHORS / 2 ))
fi
PER_POINT=$(rate "stream_volume_$FIRST")
if [ -n "$PER_POINT" ]; then
  need=$(python3 -c "print(int(($FULL_VOLUME + $FULL_SURFACE) * $PER_POINT * 1.15 + 30))")
  if [ "$need" -lt "$(left)" ]; then
    stream stream_full $(( need + 60 )) "$FULL_VOLUME" "$FULL_SURFACE"
  else
    echo "skipped: estimated ${need}s from the ${FIRST}-point run, $(left)s left" > "$WORK/stream_full.skip"
  fi
fi
for n in ${SIZES#* }; do
  [ "$n" = "$FIRST" ] && continue
  if [ -n "$PER_POINT" ] && [ "$(python3 -c "print(int($n * $PER_POINT * 1.2 + 20))")" -ge "$(left)" ]; then
    echo "skipped: out of time budget" > "$WORK/stream_volume_$n.skip"; continue
  fi
  stream "stream_volume_$n" 300 "$n" 0
done

# Phase 3: the README's main job on the device, kernels cached by phase 1: seconds from STL to drag,
# and how far each precision moves a trained model's Cd (the parity fixtures' weights are scaled up
# so that every parameter matters, which amplifies rounding 50- to 80-fold).
if [ -n "$HAVE_MODEL" ]; then
  for p in $PRECISIONS; do
    [ "$DEVICE" = cpu ] && [ "$p" = f32 ] && continue  # that is predict_cpu_f32
    predict "predict_${DEVICE}_$p" 90 "$DEVICE" "$p"
  done
else
  echo "skipped: no checkpoint at $CHECKPOINT or no car at $STL (--checkpoint, --stl)" > "$WORK/predict.skip"
fi

python3 - "$WORK" "$OUT_JSON" "$MODE" "$START" <<'PY'
import json, os, sys, time, glob
work, out, mode, start = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
def read(name):
    r = {"name": name}
    p = os.path.join(work, name)
    if os.path.exists(p + ".skip"):
        r["skipped"] = open(p + ".skip").read().strip(); return r
    if os.path.exists(p + ".rc"):
        rc, secs = open(p + ".rc").read().split()
        r["exit"], r["wall_s"] = int(rc), float(secs)
    try:
        r["result"] = json.load(open(p + ".json"))
    except Exception:
        if os.path.exists(p + ".log"):
            r["error"] = open(p + ".log").read()[-2000:]
    if os.path.exists(os.path.join(work, "peak_" + name + ".txt")):
        r["peak_gpu_memory_mib"] = int(open(os.path.join(work, "peak_" + name + ".txt")).read().split()[0])
    return r
names = sorted({os.path.basename(f).rsplit(".", 1)[0] for f in glob.glob(os.path.join(work, "*.rc")) + glob.glob(os.path.join(work, "*.skip"))})
steps = [read(n) for n in names]
report = {"mode": mode, "device": open(os.path.join(work, "gpu.txt")).read().strip(),
          "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "total_s": round(time.time() - start, 1),
          "steps": steps}
ok = all(s.get("exit", 1) == 0 for s in steps if "skipped" not in s)
report["passed"] = ok
if os.path.exists(os.path.join(work, "flash_shape.txt")):
    report["flash_shape"] = open(os.path.join(work, "flash_shape.txt")).read().strip()
json.dump(report, open(out, "w"), indent=1)
print(f"slipstream gpu-check ({mode}) on {report['device']}, {report['total_s']} s")
print(f"{'step':<28} {'exit':>4} {'wall s':>8} {'peak MiB':>9}  result")
for s in steps:
    res = s.get("result")
    if "skipped" in s:
        summary = s["skipped"]
    elif isinstance(res, list):
        summary = "; ".join(f"{c['case']}: max rel {max(o['max_rel_error'] for o in c['outputs']):.2e} {'ok' if c['passed'] else 'FAIL'}" for c in res)
    elif isinstance(res, dict) and "volume" in res:
        summary = f"[{res.get('backend')}, attention {res.get('attention_kernel') or 'burn'}] encode {res['encode_s']:.2f} s, volume {res['volume']['points']} pts {res['volume']['seconds']:.2f} s ({res['volume']['points_per_s']:.3g}/s), surface {res['surface']['points']} pts {res['surface']['seconds']:.2f} s"
    elif isinstance(res, dict) and "cd" in res:
        base = next((t.get("result") for t in steps if t["name"] == "predict_cpu_f32"), None) or {}
        delta = f" ({(res['cd'] - base['cd']) / base['cd']:+.1e} vs CPU f32)" if base.get("cd") and s["name"] != "predict_cpu_f32" else ""
        t = res.get("timings_s", {})
        summary = f"Cd {res['cd']:.5f}{delta}, Cl {res['cl']:.5f}; {res['surface_points']}+{res['volume_points']} pts: decode {t.get('decode', 0):.2f} s, total {t.get('total', 0):.2f} s"
    elif isinstance(res, dict):
        summary = f"train step {res.get('train_step_s')} s, forward {res.get('infer_s'):.2f} s, {res.get('params')} params"
    else:
        summary = (s.get("error") or "").strip().splitlines()[-1:] or ["no output"]
        summary = summary[0][:120]
    print(f"{s['name']:<28} {s.get('exit', '-'):>4} {s.get('wall_s', 0):>8} {s.get('peak_gpu_memory_mib', '-'):>9}  {summary}")
print(f"JSON: {out}; {'all steps passed' if ok else 'SOME STEPS FAILED'}")
sys.exit(0 if ok else 1)
PY
