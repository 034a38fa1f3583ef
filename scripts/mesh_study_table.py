#!/usr/bin/env python3
"""Markdown table of a mesh study (scripts/mesh-study.sh): one row per finished level, from the
run.json that `slipstream generate` wrote for it (STUDY/slant<a>/<level>/run_1/run.json, or the
copies kept in the repository, STUDY/slant<a>/<level>.run.json).

    python3 scripts/mesh_study_table.py STUDY_DIR [--json]
"""
import json
import sys
from pathlib import Path


def rows(study):
    found = {}
    for run_json in Path(study).glob("slant*/*/run_*/run.json"):
        found[(run_json.parent.parent.parent.name, run_json.parent.parent.name)] = run_json
    for run_json in Path(study).glob("slant*/*.run.json"):
        found.setdefault((run_json.parent.name, run_json.name[: -len(".run.json")]), run_json)
    order = lambda key: (key[0], found[key].stat().st_mtime)
    for key in sorted(found, key=order):
        run_json, level = found[key], key[1]
        r = json.loads(run_json.read_text())
        s = r.get("settings", {})
        yp = r.get("y_plus") or {}
        lc = r.get("layer_coverage") or {}
        yield {
            "slant_deg": r["params"]["slant_angle_deg"],
            "level": level,
            "cells": r["cells"],
            "wall_function": s.get("wall_function", "k"),
            "layers": s.get("layers"),
            "layers_achieved": lc.get("mean_layers"),
            "layer_thickness_pct": lc.get("thickness_percent"),
            "first_layer_mm": None if s.get("first_layer_m") is None else 1e3 * s["first_layer_m"],
            "body_levels": s.get("body_levels"),
            "cd": r["cd"],
            "cd_pressure": r.get("cd_pressure"),
            "cd_viscous": r.get("cd_viscous"),
            "cl": r["cl"],
            "cd_std": r["cd_std"],
            "converged": r["converged"],
            "y_plus_min": yp.get("min"),
            "y_plus_mean": yp.get("mean"),
            "y_plus_max": yp.get("max"),
            "wall_time_min": r["wall_time_s"] / 60.0,
            "solver": None if "relax_u" not in s else
            f"{s['relax_u']:g}/{s['relax_turbulence']:g}/{s['non_orthogonal_correctors']}",
        }


def fmt(v, spec):
    return "–" if v is None else format(v, spec)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    table = list(rows(sys.argv[1]))
    if "--json" in sys.argv[2:]:
        print(json.dumps(table, indent=1))
        return
    print("| slant | level | cells | wall fn | layers (achieved, % thickness) | 1st layer mm | body levels | Cd | Cd_p | Cd_v | Cl | Cd std | conv. | y+ min / mean / max | relax U/turb, n-o corr. | wall min |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in table:
        levels = "–" if r["body_levels"] is None else "{}-{}".format(*r["body_levels"])
        print(
            f"| {r['slant_deg']:g}° | {r['level']} | {r['cells']:,} | {r['wall_function']} | "
            f"{r['layers']} ({fmt(r['layers_achieved'], '.2f')}, {fmt(r['layer_thickness_pct'], '.0f')} %) | {fmt(r['first_layer_mm'], '.2f')} | {levels} | "
            f"{r['cd']:.4f} | {fmt(r['cd_pressure'], '.4f')} | {fmt(r['cd_viscous'], '.4f')} | {r['cl']:.4f} | "
            f"{r['cd_std']:.4f} | {'yes' if r['converged'] else 'no'} | "
            f"{fmt(r['y_plus_min'], '.1f')} / {fmt(r['y_plus_mean'], '.1f')} / {fmt(r['y_plus_max'], '.0f')} | "
            f"{r['solver'] or '0.9/0.7/0 (old)'} | {r['wall_time_min']:.1f} |"
        )


if __name__ == "__main__":
    main()
