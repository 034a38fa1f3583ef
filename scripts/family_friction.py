#!/usr/bin/env python3
"""Friction of a prepared family, from its prepared surfaces: the numbers issue 19 compares.

Usage: scripts/family_friction.py DIR [DIR ...]   (e.g. datasets/ahmed datasets/ahmed-v2)

Per prepared run (DIR/run_*.h5): the viscous drag coefficient integrated from the surface,
Cd_v = Σ τ_x A / (q A_ref), and the area-weighted RMS of the skin-friction coefficient |τ| / q,
with q = ½ U² (kinematic pressure and traction) or ½ ρ U² (static). Prints, per folder, the runs,
the median and range of Cd_v and the median of the RMS skin friction. Needs h5py and numpy.
"""
import statistics
import sys
from pathlib import Path

import h5py
import numpy as np


def run_friction(path):
    with h5py.File(path, "r") as f:
        a = f.attrs
        speed = float(a["speed_m_s"])
        q = 0.5 * speed**2
        if a["pressure_kind"] != "kinematic":
            q *= float(a["density_kg_m3"])
        axis = "xyz".index(a["flow_axis"])
        area = f["surface/area"][:]
        tau = f["surface/wall_shear"][:]
        cd_v = float((tau[:, axis] * area).sum() / (q * float(a["ref_area_m2"])))
        cf = np.linalg.norm(tau, axis=1) / q
        cf_rms = float(np.sqrt((cf**2 * area).sum() / area.sum()))
    return cd_v, cf_rms


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for folder in sys.argv[1:]:
        runs = sorted(Path(folder).glob("run_*.h5"))
        if not runs:
            sys.exit(f"{folder}: no prepared runs (run_*.h5)")
        values = [run_friction(r) for r in runs]
        cd_v = [v[0] for v in values]
        cf_rms = [v[1] for v in values]
        print(
            f"{folder}: {len(runs)} runs, viscous Cd median {statistics.median(cd_v):.4f} "
            f"(range {min(cd_v):.4f}–{max(cd_v):.4f}), RMS skin friction |τ|/q median "
            f"{statistics.median(cf_rms):.5f}"
        )


if __name__ == "__main__":
    main()
