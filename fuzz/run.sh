#!/usr/bin/env bash
# Fuzzes every reader for SECONDS each (default 600), TARGETS at a time (default 2), seeding the
# corpora from ../shared/fixtures. Results: fuzz/logs/<target>.log; crashes: fuzz/artifacts/<target>/.
# Needs: cargo install cargo-fuzz (nightly-only flags are enabled with RUSTC_BOOTSTRAP=1).
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH="${1:-600}"
PARALLEL="${2:-2}"
FIXTURES="${FIXTURES:-../../shared/fixtures}"
export RUSTC_BOOTSTRAP=1
declare -A EXT=([stl]="stl" [obj]="obj" [vtk_xml]="vtp vtu" [vtk_legacy]="vtk" [hdf5]="h5" [csv]="csv")
TARGETS="${TARGETS:-stl obj vtk_xml vtk_legacy hdf5 csv}"
cargo fuzz build -O
mkdir -p logs
for t in $TARGETS; do
  mkdir -p "corpus/$t"
  for e in ${EXT[$t]}; do
    # Seeds: every fixture of the format (good and corrupt) up to 1 MiB.
    find "$FIXTURES" -name "*.$e" -size -1025k -exec cp -n {} "corpus/$t/" \; 2>/dev/null || true
  done
  # The dataset CSVs have no fixtures yet: seed with the shapes the datasets use.
  if [ "$t" = csv ]; then
    printf 'cd,cl,cs\n0.2965,-0.0132,0.0011\n' > corpus/csv/force_mom.csv
    printf '"aRef","lRef"\r\n2.17,2.786\r\n' > corpus/csv/geo_ref.csv
    printf '# parameters\nlength,width,height,slant_deg\n1.044,0.389,0.288,25\n1.1,0.4,0.3,30\n' > corpus/csv/geo_parameters.csv
  fi
done
run_one() {
  local t="$1"
  cargo fuzz run -O "$t" "corpus/$t" -- -max_total_time="$SECONDS_EACH" -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb=2048 -max_len=1048576 -print_final_stats=1 \
    > "logs/$t.log" 2>&1 && echo "$t: ok" || echo "$t: FAILED (see fuzz/logs/$t.log)"
}
export -f run_one
export SECONDS_EACH
printf '%s\n' $TARGETS | xargs -P "$PARALLEL" -I{} bash -c 'run_one {}'
for t in $TARGETS; do
  printf '%-12s ' "$t"; grep -E "^stat::number_of_executed_units|^Done [0-9]+ runs" "logs/$t.log" | tail -1 || echo "(no stats)"
done
