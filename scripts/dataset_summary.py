#!/usr/bin/env python3
"""Summarise a generated dataset's run records (run.json per run) as Markdown tables.

Usage: scripts/dataset_summary.py datasets/ahmed
Reads DIR/runs/run_*.json (the `run.json` that `slipstream generate` writes, copied next to the
prepared runs) and DIR/splits.json; prints parameter ranges, mesh sizes, wall time, convergence and
Cd/Cl statistics per split. Standard library only.
"""
import json
import statistics
import sys
from pathlib import Path


def stats(values):
    if not values:
        return "n/a"
    mean = statistics.fmean(values)
    std = statistics.pstdev(values) if len(values) > 1 else 0.0
    return f"{min(values):.4g} | {mean:.4g} | {max(values):.4g} | {std:.3g}"


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "datasets/ahmed")
    records = {}
    for path in sorted((root / "runs").glob("run_*.json")):
        records[path.stem] = json.loads(path.read_text())
    if not records:
        sys.exit(f"{root}/runs: no run_*.json records")
    splits = json.loads((root / "splits.json").read_text())
    out = []
    out.append(f"{len(records)} runs; split {len(splits['train'])} train / "
               f"{len(splits['val'])} val / {len(splits['test'])} test.\n")
    out.append("| quantity | min | mean | max | std |\n|---|---|---|---|---|")
    params = sorted({k for r in records.values() for k, v in r["params"].items() if isinstance(v, (int, float)) and not isinstance(v, bool)})
    for k in params:
        out.append(f"| {k} | {stats([r['params'][k] for r in records.values()])} |")
    for k, label in [("cells", "cells"), ("wall_time_s", "wall time (s, 2 runs at once on 2 cores)"),
                     ("ref_area_m2", "A_ref (m²)"), ("cd", "Cd"), ("cl", "Cl"), ("cd_std", "Cd std over the averaged iterations")]:
        out.append(f"| {label} | {stats([r[k] for r in records.values() if k in r])} |")
    converged = sum(1 for r in records.values() if r.get("converged"))
    out.append(f"\nConverged (Cd drift < 1 % over the averaged iterations): {converged} of {len(records)}; "
               "the others oscillate and are kept with their time-averaged fields and coefficients, "
               "as the published datasets average in time.\n")
    out.append("| split | runs | Cd mean | Cd std | Cl mean | Cl std |\n|---|---|---|---|---|---|")
    for split in ["train", "val", "test"]:
        cd = [records[r]["cd"] for r in splits[split] if r in records]
        cl = [records[r]["cl"] for r in splits[split] if r in records]
        if cd:
            sd = statistics.pstdev(cd) if len(cd) > 1 else 0.0
            sl = statistics.pstdev(cl) if len(cl) > 1 else 0.0
            out.append(f"| {split} | {len(cd)} | {statistics.fmean(cd):.4f} | {sd:.4f} | {statistics.fmean(cl):.4f} | {sl:.4f} |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
