#!/usr/bin/env python3
"""VTK's own readers open what `slipstream predict` writes, with the arrays, units and ranges
promised (array names carry the units: pressure_pa, wall_shear_pa, velocity_m_s, vorticity_1_s;
cp and cf are dimensionless).

Usage: predict_outputs.py PREDICTION_DIR
"""
import json
import math
import sys
from pathlib import Path

import numpy as np
import vtk
from vtk.util.numpy_support import vtk_to_numpy


def read(reader_class, path):
    reader = reader_class()
    reader.SetFileName(str(path))
    reader.Update()
    data = reader.GetOutput()
    if data is None or data.GetNumberOfPoints() == 0:
        sys.exit(f"{path}: VTK read no points")
    return data


def array(attributes, name, components, path):
    a = attributes.GetArray(name)
    if a is None:
        sys.exit(f"{path}: no array {name}")
    if a.GetNumberOfComponents() != components:
        sys.exit(f"{path}: {name} has {a.GetNumberOfComponents()} components, expected {components}")
    values = vtk_to_numpy(a)
    if not np.all(np.isfinite(values)):
        sys.exit(f"{path}: {name} has non-finite values")
    return values.reshape(-1, components) if components > 1 else values


def main():
    out = Path(sys.argv[1])
    summary = json.loads((out / "summary.json").read_text())
    for key in ["cd", "cl", "cs", "force_n", "reference", "outputs", "timings_s"]:
        if key not in summary:
            sys.exit(f"summary.json: no {key}")
    ref = summary["reference"]
    q = 0.5 * ref["density_kg_m3"] * ref["speed_m_s"] ** 2

    path = out / "surface.vtp"
    surface = read(vtk.vtkXMLPolyDataReader, path)
    cells = surface.GetCellData()
    p = array(cells, "pressure_pa", 1, path)
    cp = array(cells, "cp", 1, path)
    tau = array(cells, "wall_shear_pa", 3, path)
    cf = array(cells, "cf", 3, path)
    n = array(cells, "normal", 3, path)
    if len(p) != surface.GetNumberOfCells():
        sys.exit(f"{path}: one pressure per cell expected")
    if not np.allclose(p, cp * q, rtol=1e-4, atol=1e-3 * q):
        sys.exit(f"{path}: pressure_pa != cp * q")
    if not np.allclose(tau, cf * q, rtol=1e-4, atol=1e-3 * q):
        sys.exit(f"{path}: wall_shear_pa != cf * q")
    lengths = np.linalg.norm(n, axis=1)
    if not np.allclose(lengths, 1.0, atol=1e-4):
        sys.exit(f"{path}: normals are not unit vectors")
    # Physical range for a road vehicle at these speeds: |Cp| within a few units.
    if np.abs(cp).max() > 20:
        sys.exit(f"{path}: |cp| up to {np.abs(cp).max()}")

    path = out / "volume.vtu"
    volume = read(vtk.vtkXMLUnstructuredGridReader, path)
    points = volume.GetPointData()
    u = array(points, "velocity_m_s", 3, path)
    array(points, "pressure_pa", 1, path)
    array(points, "vorticity_1_s", 3, path)
    array(points, "cp", 1, path)
    speed = np.linalg.norm(u, axis=1)
    if speed.max() > 5 * ref["speed_m_s"]:
        sys.exit(f"{path}: speeds up to {speed.max()} m/s at U = {ref['speed_m_s']}")
    area = summary["reference"]["area_m2"]
    if not (math.isfinite(area) and area > 0):
        sys.exit("summary.json: bad reference area")
    print(f"predict outputs read by VTK {vtk.vtkVersion.GetVTKVersion()}: {surface.GetNumberOfCells()} surface cells, "
          f"{volume.GetNumberOfPoints()} volume points, Cd {summary['cd']:.4f}")


if __name__ == "__main__":
    main()
