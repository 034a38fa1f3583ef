#!/usr/bin/env python3
"""Compares two `slipstream predict` output folders of the same car: Cd, Cl and, per field of the
surface (.vtp) and volume (.vtu) files, the relative L2 difference |b - a| / |a| and the largest
absolute difference. Made to answer "how much does --precision bf16 (or another checkpoint, or
--draws) change my answer?". Both runs must have sampled the same points (same STL, --seed and
point counts); the script refuses otherwise.

Needs the VTK Python package (pip install vtk numpy).

Usage: scripts/compare_predictions.py A_DIR B_DIR [--json OUT.json]
"""
import argparse
import json
import os
import sys


def fields(path):
    import vtk
    from vtk.util.numpy_support import vtk_to_numpy

    reader = vtk.vtkXMLPolyDataReader() if path.endswith(".vtp") else vtk.vtkXMLUnstructuredGridReader()
    reader.SetFileName(path)
    reader.Update()
    data = reader.GetOutput()
    if data is None or data.GetNumberOfPoints() == 0:
        sys.exit(f"compare_predictions: {path}: no points read (not a VTK XML file written by predict?)")
    out = {"points": vtk_to_numpy(data.GetPoints().GetData())}
    for kind, attrs in (("point", data.GetPointData()), ("cell", data.GetCellData())):
        for i in range(attrs.GetNumberOfArrays()):
            out[f"{kind}:{attrs.GetArrayName(i)}"] = vtk_to_numpy(attrs.GetArray(i))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", help="the reference prediction folder")
    ap.add_argument("b", help="the prediction compared with it")
    ap.add_argument("--json", help="write the comparison as JSON here")
    args = ap.parse_args()
    import numpy as np

    summaries = []
    for d in (args.a, args.b):
        path = os.path.join(d, "summary.json")
        if not os.path.exists(path):
            sys.exit(f"compare_predictions: {d}: no summary.json (give folders that predict --out wrote)")
        summaries.append(json.load(open(path)))
    report = {"a": args.a, "b": args.b, "coefficients": {}, "fields": []}
    for key in ("cd", "cl", "cs"):
        a, b = summaries[0].get(key), summaries[1].get(key)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            report["coefficients"][key] = {"a": a, "b": b, "relative_difference": (b - a) / a if a else None}

    for name in ("surface.vtp", "volume.vtu"):
        pa, pb = os.path.join(args.a, name), os.path.join(args.b, name)
        if not (os.path.exists(pa) and os.path.exists(pb)):
            continue
        fa, fb = fields(pa), fields(pb)
        if fa["points"].shape != fb["points"].shape or not np.allclose(fa["points"], fb["points"]):
            sys.exit(f"compare_predictions: {name}: the two runs sampled different points "
                     "(use the same STL, --seed and point counts)")
        for key in sorted(k for k in fa if k != "points" and k in fb):
            x, y = fa[key].astype(np.float64), fb[key].astype(np.float64)
            if x.shape != y.shape:
                sys.exit(f"compare_predictions: {name} {key}: shapes {x.shape} and {y.shape} differ")
            norm = float(np.linalg.norm(x))
            report["fields"].append({
                "file": name, "array": key,
                "relative_l2": float(np.linalg.norm(y - x)) / norm if norm > 0 else None,
                "max_abs": float(np.abs(y - x).max()) if x.size else 0.0,
            })

    for key, c in report["coefficients"].items():
        rel = c["relative_difference"]
        print(f"{key}: {c['a']:.6f} -> {c['b']:.6f}" + (f" ({rel:+.2e} relative)" if rel is not None else ""))
    print(f"{'file':<12} {'array':<28} {'rel. L2':>10} {'max |diff|':>11}")
    for f in report["fields"]:
        rel = "-" if f["relative_l2"] is None else f"{f['relative_l2']:.2e}"
        print(f"{f['file']:<12} {f['array']:<28} {rel:>10} {f['max_abs']:>11.3g}")
    if args.json:
        tmp = args.json + ".tmp"
        with open(tmp, "w") as out:
            json.dump(report, out, indent=1)
        os.replace(tmp, args.json)


if __name__ == "__main__":
    main()
