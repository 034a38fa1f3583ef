#!/usr/bin/env python3
"""Large-file benchmark: slipstream's streaming VTU reader next to the VTK library's own reader.

Writes (once) a synthetic hexahedral volume with the VTK library in DrivAerML's encoding — XML,
inline base64, UInt64 headers, uncompressed, CellData and PointData — then, with the file in the page
cache, times:
  * VTK's vtkXMLUnstructuredGridReader reading the whole file (what a VTK-based pipeline does),
  * VTK's reader with all arrays but the requested one disabled, plus vtkCellCenters,
  * `slipstream bench read FILE --cell-centres --cell-array pMeanTrim` (and with more arrays),
each in its own process, reporting seconds, MB/s of file and peak RSS.

Usage: python3 benches/vtu_read.py [--cells 10000000] [--file /tmp/slipstream_bench.vtu]
       [--slipstream target/release/slipstream]
Needs: pip install vtk numpy; a release build (cargo build --release).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import textwrap
import time
from pathlib import Path


def write_file(path: Path, n_cells: int, legacy: bool = False):
    """The hexahedral grid as VTK XML (DrivAerML's encoding) or, with `legacy`, as a BINARY
    legacy file in the version-4.2 layout with DrivAerNet++'s array names `U` and `p`."""
    import numpy as np
    import vtk
    from vtk.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray

    n = round(n_cells ** (1 / 3))
    nx, ny, nz = n + 1, n, max(1, n_cells // (n * (n + 1)) + 1)
    print(f"writing {nx * ny * nz:,} hexahedra with VTK to {path} ...", flush=True)
    xs = np.linspace(-2.0, 8.0, nx + 1)
    ys = np.linspace(-2.0, 2.0, ny + 1)
    zs = np.linspace(0.0, 3.0, nz + 1)
    X, Y, Z = np.meshgrid(xs, ys, zs, indexing="ij")
    pts = np.stack([X.ravel(), Y.ravel(), Z.ravel()], axis=1).astype(np.float32)
    del X, Y, Z
    i, j, k = np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nz), indexing="ij")
    sy, sx = nz + 1, (ny + 1) * (nz + 1)
    base = (i * sx + j * sy + k).ravel()
    del i, j, k
    corners = [0, sx, sx + sy, sy, 1, sx + 1, sx + sy + 1, sy + 1]
    conn = np.stack([base + c for c in corners], axis=1).astype(np.int64).ravel()
    nc = base.size
    del base
    offsets = np.arange(0, 8 * nc + 1, 8, dtype=np.int64)
    cells = vtk.vtkCellArray()
    cells.SetData(numpy_to_vtkIdTypeArray(offsets, deep=1), numpy_to_vtkIdTypeArray(conn, deep=1))
    del conn, offsets
    grid = vtk.vtkUnstructuredGrid()
    vp = vtk.vtkPoints()
    vp.SetData(numpy_to_vtk(pts, deep=1))
    grid.SetPoints(vp)
    grid.SetCells(vtk.VTK_HEXAHEDRON, cells)
    rng = np.random.default_rng(1)

    def add(data, name, comps, n):
        a = numpy_to_vtk(rng.standard_normal((n, comps)).astype(np.float32).squeeze(), deep=1)
        a.SetName(name)
        data.AddArray(a)

    npts = pts.shape[0]
    u, p = ("U", "p") if legacy else ("UMeanTrim", "pMeanTrim")
    add(grid.GetCellData(), u, 3, nc)
    add(grid.GetCellData(), p, 1, nc)
    add(grid.GetCellData(), "CptMeanTrim", 1, nc)
    add(grid.GetPointData(), u, 3, npts)
    add(grid.GetPointData(), p, 1, npts)
    if legacy:
        w = vtk.vtkUnstructuredGridWriter()
        w.SetFileName(str(path))
        w.SetInputData(grid)
        w.SetFileTypeToBinary()
        w.SetFileVersion(42)
        if not w.Write():
            sys.exit("VTK failed to write the benchmark file")
        return
    w = vtk.vtkXMLUnstructuredGridWriter()
    w.SetFileName(str(path))
    w.SetInputData(grid)
    w.SetDataModeToBinary()
    w.SetHeaderTypeToUInt64()
    w.SetCompressorTypeToNone()
    if not w.Write():
        sys.exit("VTK failed to write the benchmark file")


VTK_SCRIPT = textwrap.dedent(
    """
    import json, resource, sys, time
    import vtk
    path, mode = sys.argv[1], sys.argv[2]
    t = time.perf_counter()
    r = vtk.vtkXMLUnstructuredGridReader()
    r.SetFileName(path)
    if mode == "selected":
        r.UpdateInformation()
        for k in range(r.GetNumberOfPointArrays()):
            r.SetPointArrayStatus(r.GetPointArrayName(k), 0)
        for k in range(r.GetNumberOfCellArrays()):
            name = r.GetCellArrayName(k)
            r.SetCellArrayStatus(name, 1 if name == "pMeanTrim" else 0)
    r.Update()
    out = r.GetOutput()
    if mode == "selected":
        c = vtk.vtkCellCenters()
        c.SetInputData(out)
        c.Update()
    sec = time.perf_counter() - t
    print(json.dumps({"seconds": sec, "cells": out.GetNumberOfCells(),
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    """
)


def run_json(cmd):
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{p.stderr}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["wall_s"] = wall
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", type=int, default=10_000_000)
    ap.add_argument("--file", type=Path, default=Path("/tmp/slipstream_bench_10M.vtu"))
    ap.add_argument("--slipstream", type=Path, default=Path("target/release/slipstream"))
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    if not args.file.exists():
        write_file(args.file, args.cells)
    size_mb = args.file.stat().st_size / 1e6
    with open(args.file, "rb") as f:  # warm the page cache so every reader sees the same state
        while f.read(1 << 24):
            pass
    results = {"file": str(args.file), "file_mb": size_mb}
    results["vtk_all"] = run_json([sys.executable, "-c", VTK_SCRIPT, str(args.file), "all"])
    results["vtk_selected_plus_centres"] = run_json([sys.executable, "-c", VTK_SCRIPT, str(args.file), "selected"])
    sl = str(args.slipstream)
    results["slipstream_centres_p"] = run_json(
        [sl, "bench", "read", str(args.file), "--cell-centres", "--cell-array", "pMeanTrim", "--json"])
    results["slipstream_centres_p_u"] = run_json(
        [sl, "bench", "read", str(args.file), "--cell-centres", "--cell-array", "pMeanTrim",
         "--cell-array", "UMeanTrim", "--json"])
    results["slipstream_p"] = run_json([sl, "bench", "read", str(args.file), "--cell-array", "pMeanTrim", "--json"])
    print(f"file: {args.file} ({size_mb:.0f} MB, {results['vtk_all']['cells']:,} cells)")
    print(f"{'reader':<44} {'s':>8} {'MB/s':>8} {'peak RSS MB':>12} {'extracted MB':>13}")
    for key, label in [
        ("vtk_all", "VTK vtkXMLUnstructuredGridReader (all)"),
        ("vtk_selected_plus_centres", "VTK, pMeanTrim only + vtkCellCenters"),
        ("slipstream_centres_p", "slipstream: centres + pMeanTrim"),
        ("slipstream_centres_p_u", "slipstream: centres + pMeanTrim + UMeanTrim"),
        ("slipstream_p", "slipstream: pMeanTrim"),
    ]:
        r = results[key]
        ext = r.get("extracted_mb")
        print(f"{label:<44} {r['seconds']:>8.2f} {size_mb / r['seconds']:>8.0f} {r['peak_rss_mb']:>12.0f} "
              f"{'' if ext is None else f'{ext:.0f}':>13}")
    best_vtk = min(results["vtk_all"]["seconds"], results["vtk_selected_plus_centres"]["seconds"])
    s = results["slipstream_centres_p"]
    print(f"speed-up vs VTK's faster mode: {best_vtk / s['seconds']:.1f}x; "
          f"slipstream peak RSS / extracted: {s['rss_over_extracted']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
