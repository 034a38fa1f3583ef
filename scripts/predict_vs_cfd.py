#!/usr/bin/env python3
"""Runs `slipstream predict` on the STL of every run in a split of a prepared dataset and compares
its Cd with the run's CFD value and, given eval's report, with what `eval` predicted for the same
run. This is the check that predict, from nothing but the STL, gives the accuracy the checkpoint's
model card reports.

Usage: scripts/predict_vs_cfd.py DATASET [--split test] [--checkpoint DIR] [--report report.json]
                                 [--draws N] [--bin target/release/slipstream] [--json OUT.json]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset")
    ap.add_argument("--split", default="test")
    ap.add_argument("--checkpoint", default="checkpoints/ahmed-small")
    ap.add_argument("--report", help="eval's report.json for the same split (per-run cd_pred)")
    ap.add_argument("--bin", default="target/release/slipstream")
    ap.add_argument("--draws", type=int, default=1, help="predict --draws (anchor draws averaged)")
    ap.add_argument("--json", help="write the table as JSON here")
    a = ap.parse_args()

    splits = json.load(open(os.path.join(a.dataset, "splits.json")))
    if a.split not in splits:
        sys.exit(f"{a.dataset}/splits.json has no split `{a.split}` (has {', '.join(splits)})")
    eval_cd = {}
    if a.report:
        for r in json.load(open(a.report))["per_run"]:
            eval_cd[r["run"]] = r["cd_pred"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in sorted(splits[a.split], key=lambda r: int(r.split("_")[-1])):
            n = run.split("_")[-1]
            meta = json.load(open(os.path.join(a.dataset, "runs", f"{run}.json")))
            stl = os.path.join(a.dataset, "stl", f"ahmed_{n}.stl")
            if not os.path.exists(stl):
                sys.exit(f"{stl}: missing (the dataset keeps STLs of its validation and test runs)")
            out = subprocess.run(
                [a.bin, "predict", stl, "--checkpoint", a.checkpoint, "--out", os.path.join(tmp, run),
                 "--volume-points", "0", "--speed", str(meta["speed_m_s"]),
                 "--density", str(meta["density_kg_m3"]), "--area", str(meta["ref_area_m2"]),
                 "--draws", str(a.draws), "--no-picture", "--json"],
                capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit(f"predict failed on {stl}:\n{out.stderr}")
            cd = json.loads(out.stdout)["cd"]
            rows.append({"run": run, "cd_cfd": meta["cd"], "cd_predict": cd,
                         "rel_error": (cd - meta["cd"]) / meta["cd"], "cd_eval": eval_cd.get(run)})
    print(f"| run | CFD Cd | predict Cd | error | eval Cd |")
    print("|---|---|---|---|---|")
    for r in rows:
        ev = f"{r['cd_eval']:.4f}" if r["cd_eval"] is not None else "–"
        print(f"| {r['run']} | {r['cd_cfd']:.4f} | {r['cd_predict']:.4f} | {100 * r['rel_error']:+.1f} % | {ev} |")
    mean = sum(abs(r["rel_error"]) for r in rows) / len(rows)
    print(f"\nmean |relative error| of predict's Cd over {len(rows)} {a.split} runs "
          f"({a.draws} draw{'s' if a.draws > 1 else ''}): {100 * mean:.2f} %")
    if a.json:
        json.dump({"split": a.split, "checkpoint": a.checkpoint, "draws": a.draws, "runs": rows, "mean_rel_error": mean},
                  open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
