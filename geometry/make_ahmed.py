#!/usr/bin/env python3
"""Writes geometry/ahmed_25deg.stl: an Ahmed body as a closed, outward-oriented triangle surface.

Dimensions (metres) follow Ahmed et al. (1984): length 1.044, width 0.389, height 0.288, front
edges rounded with radius 0.1, rear slant 25 degrees over 0.222 (measured along the slant), ground
clearance 0.05, no stilts. x points downstream (the nose at x = 0), z up, the body symmetric in y.

The rounded front is made by insetting the cross-section rectangle by R - sqrt(R^2 - (R - x)^2) on all
four sides for 0 <= x <= R (the corners become the intersection of two cylinders). Needs numpy.
Usage: python3 geometry/make_ahmed.py [OUT.stl]
"""
import math
import struct
import sys

import numpy as np

L, W, H, R, CLEAR = 1.044, 0.389, 0.288, 0.1, 0.05
SLANT_DEG, SLANT_LEN = 25.0, 0.222
NY, NZ = 40, 30  # segments across the width and the height


def stations():
    """x positions: dense on the rounded nose, uniform on the body, a few on the slant."""
    nose = [R * (1 - math.cos(t)) for t in np.linspace(0, math.pi / 2, 17)]
    x_slant = L - SLANT_LEN * math.cos(math.radians(SLANT_DEG))
    body = list(np.linspace(R, x_slant, 26)[1:])
    slant = list(np.linspace(x_slant, L, 13)[1:])
    return np.array(nose + body + slant)


def section(x):
    """Half width, bottom z and top z of the cross-section at x."""
    inset = R - math.sqrt(max(R * R - (R - x) ** 2, 0.0)) if x < R else 0.0
    x_slant = L - SLANT_LEN * math.cos(math.radians(SLANT_DEG))
    drop = (x - x_slant) * math.tan(math.radians(SLANT_DEG)) if x > x_slant else 0.0
    return W / 2 - inset, CLEAR + inset, CLEAR + H - inset - drop


def perimeter(x):
    """Points around the section: bottom (−y→+y), right side (up), top (+y→−y), left side (down)."""
    hw, zb, zt = section(x)
    ys = np.linspace(-hw, hw, NY + 1)
    zs = np.linspace(zb, zt, NZ + 1)
    pts = [(x, y, zb) for y in ys[:-1]]
    pts += [(x, hw, z) for z in zs[:-1]]
    pts += [(x, y, zt) for y in ys[::-1][:-1]]
    pts += [(x, -hw, z) for z in zs[::-1][:-1]]
    return np.array(pts)


def cap(x):
    """A flat end cap on the (NY+1) x (NZ+1) grid whose boundary matches `perimeter(x)`."""
    hw, zb, zt = section(x)
    ys = np.linspace(-hw, hw, NY + 1)
    zs = np.linspace(zb, zt, NZ + 1)
    tris = []
    for i in range(NY):
        for j in range(NZ):
            a = (x, ys[i], zs[j])
            b = (x, ys[i + 1], zs[j])
            c = (x, ys[i + 1], zs[j + 1])
            d = (x, ys[i], zs[j + 1])
            tris += [(a, b, c), (a, c, d)]
    return np.array(tris)


def build():
    xs = stations()
    rings = [perimeter(x) for x in xs]
    n = len(rings[0])
    tris = []
    for r0, r1 in zip(rings[:-1], rings[1:]):
        for k in range(n):
            a, b = r0[k], r0[(k + 1) % n]
            c, d = r1[(k + 1) % n], r1[k]
            tris += [(a, b, c), (a, c, d)]
    tris = np.array(tris)
    front = cap(xs[0])[:, ::-1]  # the nose cap faces -x
    rear = cap(xs[-1])
    tris = np.concatenate([tris, front, rear])
    # Orient outward: the signed volume must be positive.
    vol = np.einsum("ij,ij->i", tris[:, 0], np.cross(tris[:, 1], tris[:, 2])).sum() / 6
    if vol < 0:
        tris = tris[:, ::-1]
    return tris


def write_stl(path, tris):
    with open(path, "wb") as f:
        f.write(b"slipstream example: Ahmed body, 25 deg slant".ljust(80, b" "))
        f.write(struct.pack("<I", len(tris)))
        for t in tris:
            nrm = np.cross(t[1] - t[0], t[2] - t[0])
            ln = np.linalg.norm(nrm)
            nrm = nrm / ln if ln > 0 else nrm
            f.write(struct.pack("<12fH", *nrm, *t[0], *t[1], *t[2], 0))


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "geometry/ahmed_25deg.stl"
    tris = build()
    write_stl(out, tris)
    print(f"wrote {out}: {len(tris)} triangles")
