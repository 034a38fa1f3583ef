#!/usr/bin/env python3
"""Round trip through slipstream's writers, checked by third-party readers.

For every mesh fixture (VTK XML, legacy VTK, STL, OBJ) this converts the file with
`slipstream convert` to .vtu / .vtp (raw and zlib) and .h5, then reads the ORIGINAL with the VTK
library's own reader and slipstream's OUTPUT with VTK's XML reader (and h5py for .h5), and requires
identical cells, point coordinates per cell and arrays. Values stored as float32 by slipstream are
compared with float32 rounding of the original; everything else must be equal.

Usage: vtk_roundtrip.py SLIPSTREAM_BINARY FIXTURES_DIR WORK_DIR
Needs: pip install vtk h5py numpy
"""
import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import vtk
from vtk.util.numpy_support import vtk_to_numpy


def read_with_vtk(path: Path):
    ext = path.suffix.lower()
    if ext == ".vtp":
        r = vtk.vtkXMLPolyDataReader()
    elif ext == ".vtu":
        r = vtk.vtkXMLUnstructuredGridReader()
    elif ext == ".vtk":
        r = vtk.vtkGenericDataObjectReader()
    elif ext == ".stl":
        r = vtk.vtkSTLReader()
        r.SetMerging(False)
    elif ext == ".obj":
        r = vtk.vtkOBJReader()
    else:
        raise ValueError(path)
    r.SetFileName(str(path))
    r.Update()
    out = r.GetOutput()
    if out is None or out.GetNumberOfPoints() == 0:
        raise RuntimeError(f"VTK could not read {path}")
    return out


def cell_coordinates(ds):
    """Per cell: its type and the coordinates of its points in order (independent of point numbering)."""
    pts = vtk_to_numpy(ds.GetPoints().GetData()).astype(np.float64)
    types, coords = [], []
    ids = vtk.vtkIdList()
    for i in range(ds.GetNumberOfCells()):
        types.append(ds.GetCellType(i))
        ds.GetCellPoints(i, ids)
        coords.append(pts[[ids.GetId(k) for k in range(ids.GetNumberOfIds())]])
    return np.array(types), coords


def sort_rows(a):
    return a[np.lexsort(a.T[::-1])]


def arrays_of(ds):
    out = {}
    for assoc, data in (("point", ds.GetPointData()), ("cell", ds.GetCellData()), ("field", ds.GetFieldData())):
        for k in range(data.GetNumberOfArrays()):
            a = data.GetArray(k)
            if a is None:  # string arrays
                continue
            out[(assoc, a.GetName())] = vtk_to_numpy(a).astype(np.float64)
    return out


def same_values(want, got, what, errors):
    want = np.asarray(want, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    if want.shape != got.shape:
        errors.append(f"{what}: shape {got.shape} != {want.shape}")
        return
    # slipstream stores point/cell arrays and coordinates as float32: compare with that rounding.
    want32 = want.astype(np.float32).astype(np.float64)
    if not (np.array_equal(got, want) or np.array_equal(got, want32)):
        bad = np.max(np.abs(got - want32))
        errors.append(f"{what}: values differ (max |diff| {bad:g})")


# Arrays VTK's OBJ reader makes up (group ids, normals from `vn`): not data slipstream keeps.
SYNTHESISED = {("cell", "GroupIds"), ("point", "Normals")}


def compare(original, converted, label, errors, ignore_field=False):
    t0, c0 = cell_coordinates(original)
    t1, c1 = cell_coordinates(converted)
    if not np.array_equal(t0, t1):
        errors.append(f"{label}: cell types differ")
        return
    for i, (a, b) in enumerate(zip(c0, c1)):
        if a.shape != b.shape:
            errors.append(f"{label}: cell {i} has {len(b)} points, VTK reads {len(a)}")
            return
        if t0[i] == 42:  # a polyhedron's point list is a set: its order depends on the reader
            a, b = sort_rows(a), sort_rows(b)
        same_values(a, b, f"{label}: cell {i} coordinates", errors)
    a0, a1 = arrays_of(original), arrays_of(converted)
    for key, want in a0.items():
        if ignore_field and key[0] == "field":
            continue
        if key in SYNTHESISED and label.split(" ")[0].endswith(".obj"):
            continue
        if key not in a1:
            errors.append(f"{label}: array {key} missing")
            continue
        same_values(want, a1[key], f"{label}: array {key}", errors)


def compare_h5(original, h5path: Path, label, errors):
    with h5py.File(h5path, "r") as f:
        if f.attrs.get("layout") not in ("slipstream-mesh", b"slipstream-mesh"):
            errors.append(f"{label}: root attribute layout missing")
            return
        pts = f["points"][...]
        conn = f["cells/connectivity"][...]
        offsets = f["cells/offsets"][...]
        types = f["cells/types"][...]
        t0, c0 = cell_coordinates(original)
        if not np.array_equal(t0, types):
            errors.append(f"{label}: cell types differ")
            return
        for i, want in enumerate(c0):
            got = pts[conn[offsets[i]:offsets[i + 1]]]
            if got.shape != want.shape:
                errors.append(f"{label}: cell {i} has {len(got)} points, VTK reads {len(want)}")
                return
            if types[i] == 42:
                want, got = sort_rows(want), sort_rows(got)
            same_values(want, got, f"{label}: cell {i} coordinates", errors)
        for (assoc, name), want in arrays_of(original).items():
            if (assoc, name) in SYNTHESISED and label.split(" ")[0].endswith(".obj"):
                continue
            group = {"point": "point_data", "cell": "cell_data", "field": "field_data"}[assoc]
            key = f"{group}/{name.replace('/', '|')}"
            if key not in f:
                errors.append(f"{label}: dataset {key} missing")
                continue
            same_values(want, f[key][...], f"{label}: dataset {key}", errors)


def main():
    binary, fixtures, work = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    work.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((fixtures / "synthetic" / "manifest.json").read_text())
    errors, checked = [], 0
    for name, facts in sorted(manifest["files"].items()):
        src = fixtures / "synthetic" / name
        if facts["kind"] == "hdf5":
            continue
        volume = facts["kind"] in ("vtu", "legacy_unstructured_grid")
        xml_ext = ".vtu" if volume else ".vtp"
        original = read_with_vtk(src)
        targets = [(xml_ext, []), (xml_ext, ["--compress"]), (".vtu", []), (".h5", [])]
        for ext, flags in targets:
            out = work / (src.stem + ("_z" if flags else "") + ext)
            run = subprocess.run([str(binary), "convert", str(src), str(out), *flags], capture_output=True, text=True)
            label = f"{name} -> {out.name}"
            if run.returncode != 0:
                errors.append(f"{label}: convert failed: {run.stderr.strip()}")
                continue
            if ext == ".h5":
                compare_h5(original, out, label, errors)
            else:
                # STL/OBJ carry no field data; VTK's OBJ reader adds none either.
                compare(original, read_with_vtk(out), label, errors)
            checked += 1
    print(f"VTK/h5py round trip: {checked} conversions checked, {len(errors)} problems")
    for e in errors[:50]:
        print("  " + e)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
