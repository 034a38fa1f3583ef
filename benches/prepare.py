#!/usr/bin/env python3
"""Benchmark `slipstream prepare` on a large volume written by the VTK library.

Writes (once, cached) a DrivAerML-shaped run whose volume_1.vtu is the hexahedral grid of
benches/vtu_read.py (written by the VTK library in DrivAerML's encoding: inline base64, UInt64
headers, no compression; CellData and PointData UMeanTrim, pMeanTrim). The surface and STL are
the small synthetic fixtures. Then
runs `slipstream prepare --layout drivaerml` on it for each --volume-points setting and prints
one JSON line per run: wall seconds, volume cells per second, file MB/s and the peak resident
memory of the slipstream process (from the kernel's accounting of the child, no extra tools).

DrivAerML has no stored vorticity, so prepare computes it from the velocity (on every cell up
to 4M, on a 4M-cell stencil beyond): the heaviest path.

With --split the volume is stored as DrivAerML publishes it, in two parts
(volume_1.vtu.00.part and volume_1.vtu.01.part, cut at an odd byte offset near the middle), which
prepare reads in place; the benchmark checks that nothing was written beside them.

With --format legacy the volume is a BINARY legacy VTK file instead (version-4.2 layout, as
foamToVTK writes DrivAerNet++'s volumes, arrays U and p) in a DrivAerNet++-shaped folder, and
`prepare --layout drivaernet` streams it.

Needs: pip install vtk numpy; a release build (cargo build --release).
Usage: python3 benches/prepare.py [--cells 10000000] [--work /tmp/slipstream-bench-prepare]
       [--volume-points 1000000,0] [--binary target/release/slipstream] [--format xml|legacy]
       [--split]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time


def vtk_cells(path):
    """The cell count the file declares (read from its header, not its data)."""
    with open(path, "rb") as f:
        head = f.read(4096).decode("latin-1")
    if 'NumberOfCells="' in head:
        return head.split('NumberOfCells="', 1)[1].split('"', 1)[0]
    # Legacy: the CELLS line comes after the points' binary block; find it by seeking past it.
    with open(path, "rb") as f:
        for _ in range(4):
            f.readline()
        line = f.readline().split()
        while line[0] != b"POINTS":
            line = f.readline().split()
        f.seek(int(line[1]) * 3 * {b"float": 4, b"double": 8}[line[2]], 1)
        line = f.readline().split()
        while not line or line[0] != b"CELLS":
            line = f.readline().split()
        return line[1].decode()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", type=int, default=10_000_000)
    ap.add_argument("--work", default="/tmp/slipstream-bench-prepare")
    ap.add_argument("--volume-points", default="1000000,0", help="comma-separated; 0 keeps every cell")
    ap.add_argument("--binary", default="target/release/slipstream")
    ap.add_argument("--fixtures", default="../shared/fixtures/synthetic")
    ap.add_argument("--format", choices=["xml", "legacy"], default="xml")
    ap.add_argument("--split", action="store_true", help="the volume in DrivAerML's two .part files")
    args = ap.parse_args()
    if args.split and args.format == "legacy":
        sys.exit("--split applies to the DrivAerML layout (--format xml)")
    legacy = args.format == "legacy"
    if legacy:
        args.work = args.work.rstrip("/") + "-legacy"

    run = os.path.join(args.work, "src", "run_1")
    if legacy:
        # DrivAerNet++: a design's files under their modality folders, the drag in a table.
        run = os.path.join(args.work, "src")
        volume = os.path.join(run, "CFD", "B_part1", "B_001.vtk")
        os.makedirs(os.path.dirname(volume), exist_ok=True)
        for modality in ["PressureVTK", "WallShearStressVTK_Updated"]:
            os.makedirs(os.path.join(run, modality, "B"), exist_ok=True)
            shutil.copy(os.path.join(args.fixtures, "surface_f32_legacy_v42_binary.vtk"),
                        os.path.join(run, modality, "B", "B_001.vtk"))
        with open(os.path.join(run, "DrivAerNetPlusPlus_Cd_8k_Updated.csv"), "w") as f:
            f.write("Design,Average Cd\nB_001,0.25\n")
    else:
        volume = os.path.join(run, "volume_1.vtu")
    os.makedirs(run, exist_ok=True)
    meta_path = os.path.join(args.work, "volume.json")
    meta = json.load(open(meta_path)) if os.path.exists(meta_path) else {}
    if meta.get("requested_cells") != args.cells or not os.path.exists(volume):
        started = time.time()
        tmp = volume + (".tmp.vtk" if legacy else ".tmp.vtu")
        # Written by a separate process: this one stays small, so the slipstream processes it
        # starts are measured alone (a child's peak RSS counts what it shared with its parent
        # between fork and exec).
        here = os.path.dirname(os.path.abspath(__file__))
        subprocess.run(
            [sys.executable, "-c",
             f"import sys; sys.path.insert(0, {here!r}); from vtu_read import write_file; "
             f"write_file({tmp!r}, {args.cells}, legacy={legacy})"],
            check=True,
        )
        os.replace(tmp, volume)
        version = subprocess.run(
            [sys.executable, "-c", "import vtk; print(vtk.vtkVersion.GetVTKVersion())"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        meta = {"requested_cells": args.cells, "cells": int(vtk_cells(volume)), "vtk": version,
                "write_s": time.time() - started}
        json.dump(meta, open(meta_path, "w"))
    if not legacy:
        shutil.copy(os.path.join(args.fixtures, "surface_binary.stl"), os.path.join(run, "drivaer_1.stl"))
        shutil.copy(os.path.join(args.fixtures, "surface_f32_binary_u64.vtp"), os.path.join(run, "boundary_1.vtp"))
        with open(os.path.join(run, "force_mom_constref_1.csv"), "w") as f:
            f.write("cd,cl\n0.25,0.05\n")
    file_mb = os.path.getsize(volume) / 1e6
    src = os.path.join(args.work, "src")
    if args.split:
        src = os.path.join(args.work, "src-split")
        split_run = os.path.join(src, "run_1")
        os.makedirs(split_run, exist_ok=True)
        for name in ["drivaer_1.stl", "boundary_1.vtp", "force_mom_constref_1.csv"]:
            shutil.copy(os.path.join(run, name), os.path.join(split_run, name))
        size = os.path.getsize(volume)
        cut = (size // 2) | 1
        parts = [os.path.join(split_run, f"volume_1.vtu.0{k}.part") for k in range(2)]
        if sum(os.path.getsize(p) for p in parts if os.path.exists(p)) != size:
            with open(volume, "rb") as whole:
                for part, length in zip(parts, [cut, size - cut]):
                    with open(part + ".tmp", "wb") as f:
                        while length > 0:
                            chunk = whole.read(min(length, 64 << 20))
                            f.write(chunk)
                            length -= len(chunk)
                    os.replace(part + ".tmp", part)
        listing = sorted(os.listdir(split_run))

    for kept in [int(v) for v in args.volume_points.split(",")]:
        out = os.path.join(args.work, f"out-{kept}")
        shutil.rmtree(out, ignore_errors=True)
        log_path = os.path.join(args.work, f"prepare-{kept}.log")
        started = time.time()
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                [args.binary, "prepare", "--layout", "drivaernet" if legacy else "drivaerml",
                 "--src", src,
                 "--out", out, "--volume-points", str(kept), "--jobs", "1"],
                stdout=log, stderr=subprocess.STDOUT,
            )
            # wait4 gives this child's own resource usage: its peak resident memory (kB on Linux).
            _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.time() - started
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"prepare failed, see {log_path}:\n{open(log_path).read()}")
        if args.split and sorted(os.listdir(split_run)) != listing:
            sys.exit(f"prepare wrote beside the parts: {sorted(os.listdir(split_run))}")
        print(json.dumps({
            "format": "BINARY legacy VTK 4.2" if legacy else "VTK XML",
            "volume_cells": meta["cells"],
            "volume_file_mb": round(file_mb, 1),
            "stored_as": "two .part files" if args.split else "one file",
            "written_by": f"VTK {meta['vtk']}",
            "volume_points_kept": kept if kept else meta["cells"],
            "seconds": round(seconds, 2),
            "cells_per_s": round(meta["cells"] / seconds),
            "file_mb_per_s": round(file_mb / seconds, 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        }), flush=True)


if __name__ == "__main__":
    main()
