//! The parametric Ahmed body: a closed, outward-oriented triangle surface in metres, x pointing
//! downstream (nose at x = 0), z up, symmetric in y, the ground at z = 0.
//!
//! The body is lofted through cross-sections: on the rounded nose (0 ≤ x ≤ R) every side of the
//! section rectangle is inset by `R − √(R² − (R − x)²)` (the corners become the intersection of two
//! cylinders), the rear slant lowers the roof linearly, and flat caps close both ends. Points are
//! shared between neighbouring triangles, so the surface is watertight by construction.

use serde::{Deserialize, Serialize};

use crate::geometry::triangles::TriangleSoup;
use crate::mesh::cells::CellType;
use crate::mesh::Mesh;
use crate::rng::Rng;

/// Shape of one body. Lengths in metres, the slant angle in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AhmedParams {
    pub length_m: f64,
    pub width_m: f64,
    pub height_m: f64,
    pub front_radius_m: f64,
    pub slant_angle_deg: f64,
    /// Length of the slanted face measured along the slant.
    pub slant_length_m: f64,
    pub ground_clearance_m: f64,
    /// Four cylindrical stilts (diameter 30 mm) from the ground into the underbody.
    pub stilts: bool,
}

/// Why an Ahmed-body shape cannot be built: the rule it breaks.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("Ahmed body: {0}")]
pub struct InvalidShape(pub String);

impl AhmedParams {
    /// Ahmed et al. (1984) at a given slant angle: 1.044 × 0.389 × 0.288 m, R = 0.1 m, slant
    /// length 0.222 m, clearance 0.05 m; frontal area 0.112032 m².
    pub fn reference(slant_angle_deg: f64) -> Self {
        AhmedParams {
            length_m: 1.044,
            width_m: 0.389,
            height_m: 0.288,
            front_radius_m: 0.1,
            slant_angle_deg,
            slant_length_m: 0.222,
            ground_clearance_m: 0.05,
            stilts: false,
        }
    }

    /// The sampled parameters in the order of [`RANGES`].
    pub fn values(&self) -> [f64; 7] {
        [
            self.length_m,
            self.width_m,
            self.height_m,
            self.front_radius_m,
            self.slant_angle_deg,
            self.slant_length_m,
            self.ground_clearance_m,
        ]
    }

    /// Vertical drop of the roof over the slant.
    pub fn slant_drop_m(&self) -> f64 {
        self.slant_length_m * self.slant_angle_deg.to_radians().sin()
    }

    /// x where the slant starts.
    pub fn slant_start_m(&self) -> f64 {
        self.length_m - self.slant_length_m * self.slant_angle_deg.to_radians().cos()
    }

    /// Frontal area (m²): the largest cross-section, width × height (stilts excluded).
    pub fn frontal_area_m2(&self) -> f64 {
        self.width_m * self.height_m
    }

    /// Why this shape cannot be built, if it cannot.
    pub fn check(&self) -> Result<(), InvalidShape> {
        let all = [
            self.length_m,
            self.width_m,
            self.height_m,
            self.front_radius_m,
            self.slant_length_m,
            self.ground_clearance_m,
        ];
        if all.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(InvalidShape(format!(
                "every length must be positive: {self:?}"
            )));
        }
        if !(0.0..=60.0).contains(&self.slant_angle_deg) {
            return Err(InvalidShape(format!(
                "slant angle {}° is outside 0-60°",
                self.slant_angle_deg
            )));
        }
        if 2.0 * self.front_radius_m >= self.width_m.min(self.height_m) {
            return Err(InvalidShape(
                "the front radius must be under half the width and half the height".into(),
            ));
        }
        if self.slant_drop_m() > self.height_m - self.front_radius_m - 0.01 {
            return Err(InvalidShape(
                "the slant drops through the rounded nose's height; shorten it".into(),
            ));
        }
        if self.slant_start_m() < self.front_radius_m + 0.05 {
            return Err(InvalidShape(
                "the slant reaches the rounded nose; shorten it or lengthen the body".into(),
            ));
        }
        Ok(())
    }

    fn section(&self, x: f64) -> (f64, f64, f64) {
        let r = self.front_radius_m;
        let inset = if x < r {
            r - (r * r - (r - x) * (r - x)).max(0.0).sqrt()
        } else {
            0.0
        };
        let x_slant = self.slant_start_m();
        let drop = if x > x_slant {
            (x - x_slant) * self.slant_angle_deg.to_radians().tan()
        } else {
            0.0
        };
        (
            self.width_m / 2.0 - inset,
            self.ground_clearance_m + inset,
            self.ground_clearance_m + self.height_m - inset - drop,
        )
    }
}

/// A parameter's sampling range.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Range {
    pub name: &'static str,
    pub min: f64,
    pub max: f64,
}

/// The ranges `generate ahmed` samples, chosen to stay physical around Ahmed's body: the
/// slant length is shortened where it would cut into the nose's height (see [`sample`]).
pub const RANGES: [Range; 7] = [
    Range {
        name: "length_m",
        min: 0.90,
        max: 1.20,
    },
    Range {
        name: "width_m",
        min: 0.30,
        max: 0.45,
    },
    Range {
        name: "height_m",
        min: 0.24,
        max: 0.33,
    },
    Range {
        name: "front_radius_m",
        min: 0.06,
        max: 0.11,
    },
    Range {
        name: "slant_angle_deg",
        min: 10.0,
        max: 40.0,
    },
    Range {
        name: "slant_length_m",
        min: 0.15,
        max: 0.30,
    },
    Range {
        name: "ground_clearance_m",
        min: 0.03,
        max: 0.08,
    },
];

/// `count` bodies by Latin hypercube sampling of [`RANGES`] (each range cut into `count` equal
/// strata, every stratum used once per parameter), reproducible from `seed`. A slant that would
/// drop below the nose's height is shortened to fit.
pub fn sample(count: usize, seed: u64, stilts: bool) -> Vec<AhmedParams> {
    let mut rng = Rng::seed_from(seed);
    let columns: Vec<Vec<f64>> = RANGES
        .iter()
        .map(|r| {
            let mut strata: Vec<usize> = (0..count).collect();
            for i in (1..strata.len()).rev() {
                let j = rng.below(i as u64 + 1) as usize;
                strata.swap(i, j);
            }
            strata
                .into_iter()
                .map(|s| r.min + (s as f64 + rng.uniform()) / count as f64 * (r.max - r.min))
                .collect()
        })
        .collect();
    (0..count)
        .map(|i| {
            let mut p = AhmedParams {
                length_m: columns[0][i],
                width_m: columns[1][i],
                height_m: columns[2][i],
                front_radius_m: columns[3][i],
                slant_angle_deg: columns[4][i],
                slant_length_m: columns[5][i],
                ground_clearance_m: columns[6][i],
                stilts,
            };
            let max_drop = p.height_m - p.front_radius_m - 0.02;
            let sin = p.slant_angle_deg.to_radians().sin();
            if p.slant_length_m * sin > max_drop {
                p.slant_length_m = max_drop / sin;
            }
            p
        })
        .collect()
}

const NY: usize = 40;
const NZ: usize = 30;
const STILT_RADIUS_M: f64 = 0.015;
const STILT_SEGMENTS: usize = 24;

/// x stations: dense on the rounded nose, uniform on the body, a few on the slant.
fn stations(p: &AhmedParams) -> Vec<f64> {
    let r = p.front_radius_m;
    let mut xs: Vec<f64> = (0..17)
        .map(|i| r * (1.0 - (i as f64 / 16.0 * std::f64::consts::FRAC_PI_2).cos()))
        .collect();
    let x_slant = p.slant_start_m();
    xs.extend((1..26).map(|i| r + (x_slant - r) * i as f64 / 25.0));
    xs.extend((1..13).map(|i| x_slant + (p.length_m - x_slant) * i as f64 / 12.0));
    xs
}

struct Builder {
    points: Vec<[f32; 3]>,
    triangles: Vec<[u32; 3]>,
}

impl Builder {
    fn point(&mut self, x: f64, y: f64, z: f64) -> u32 {
        self.points.push([x as f32, y as f32, z as f32]);
        (self.points.len() - 1) as u32
    }

    fn quad(&mut self, a: u32, b: u32, c: u32, d: u32) {
        self.triangles.push([a, b, c]);
        self.triangles.push([a, c, d]);
    }

    /// A closed, outward-facing cylinder (axis z) from `z0` to `z1`.
    fn cylinder(&mut self, cx: f64, cy: f64, z0: f64, z1: f64) {
        let ring = |b: &mut Builder, z: f64| -> Vec<u32> {
            (0..STILT_SEGMENTS)
                .map(|k| {
                    let t = k as f64 / STILT_SEGMENTS as f64 * std::f64::consts::TAU;
                    b.point(
                        cx + STILT_RADIUS_M * t.cos(),
                        cy + STILT_RADIUS_M * t.sin(),
                        z,
                    )
                })
                .collect()
        };
        let (bottom, top) = (ring(self, z0), ring(self, z1));
        let (cb, ct) = (self.point(cx, cy, z0), self.point(cx, cy, z1));
        for k in 0..STILT_SEGMENTS {
            let n = (k + 1) % STILT_SEGMENTS;
            self.quad(bottom[k], bottom[n], top[n], top[k]);
            self.triangles.push([cb, bottom[n], bottom[k]]);
            self.triangles.push([ct, top[k], top[n]]);
        }
    }
}

/// The body (and its stilts, each a separate closed solid reaching 5 mm into the underbody and
/// 5 mm below the ground) as a triangle mesh.
pub fn surface(p: &AhmedParams) -> Result<Mesh, InvalidShape> {
    p.check()?;
    let mut b = Builder {
        points: Vec::new(),
        triangles: Vec::new(),
    };
    let ring_len = 2 * NY + 2 * NZ;
    let xs = stations(p);
    let mut rings: Vec<Vec<u32>> = Vec::new();
    for &x in &xs {
        let (hw, zb, zt) = p.section(x);
        let y = |i: usize| -hw + 2.0 * hw * i as f64 / NY as f64;
        let z = |j: usize| zb + (zt - zb) * j as f64 / NZ as f64;
        let mut ring = Vec::with_capacity(ring_len);
        ring.extend((0..NY).map(|i| b.point(x, y(i), zb)));
        ring.extend((0..NZ).map(|j| b.point(x, hw, z(j))));
        ring.extend((0..NY).map(|i| b.point(x, y(NY - i), zt)));
        ring.extend((0..NZ).map(|j| b.point(x, -hw, z(NZ - j))));
        rings.push(ring);
    }
    for pair in rings.windows(2) {
        let (r0, r1) = (&pair[0], &pair[1]);
        for k in 0..ring_len {
            let n = (k + 1) % ring_len;
            b.quad(r0[k], r0[n], r1[n], r1[k]);
        }
    }
    // End caps on an (NY+1) × (NZ+1) grid whose boundary is the ring itself.
    for (ring, x, flip) in [
        (&rings[0], xs[0], true),
        (&rings[rings.len() - 1], xs[xs.len() - 1], false),
    ] {
        let (hw, zb, zt) = p.section(x);
        let mut grid = vec![vec![0u32; NZ + 1]; NY + 1];
        for i in 0..=NY {
            for j in 0..=NZ {
                grid[i][j] = if j == 0 && i < NY {
                    ring[i]
                } else if i == NY && j < NZ {
                    ring[NY + j]
                } else if j == NZ && i > 0 {
                    ring[NY + NZ + (NY - i)]
                } else if i == 0 && j > 0 {
                    ring[2 * NY + NZ + (NZ - j)]
                } else {
                    b.point(
                        x,
                        -hw + 2.0 * hw * i as f64 / NY as f64,
                        zb + (zt - zb) * j as f64 / NZ as f64,
                    )
                };
            }
        }
        for i in 0..NY {
            for j in 0..NZ {
                let (a, bb, c, d) = (
                    grid[i][j],
                    grid[i + 1][j],
                    grid[i + 1][j + 1],
                    grid[i][j + 1],
                );
                if flip {
                    b.quad(a, d, c, bb);
                } else {
                    b.quad(a, bb, c, d);
                }
            }
        }
    }
    // Orient the body outward (positive enclosed volume).
    let body = TriangleSoup {
        triangles: b
            .triangles
            .iter()
            .map(|t| t.map(|i| b.points[i as usize]))
            .collect(),
        source_cell: Vec::new(),
    };
    if body.signed_volume_m3() < 0.0 {
        for t in &mut b.triangles {
            t.swap(1, 2);
        }
    }
    if p.stilts {
        let y = p.width_m / 2.0 - 0.05;
        for x in [0.16 * p.length_m, 0.61 * p.length_m] {
            for side in [-1.0, 1.0] {
                b.cylinder(x, side * y, -0.005, p.ground_clearance_m + 0.005);
            }
        }
    }
    let mut mesh = Mesh {
        points: b.points,
        ..Mesh::default()
    };
    for t in &b.triangles {
        mesh.cells.push(CellType::TRIANGLE, t);
    }
    Ok(mesh)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Every directed edge appears once and its reverse once: closed, consistently oriented.
    fn assert_watertight(mesh: &Mesh) {
        let mut edges: HashMap<(u32, u32), i32> = HashMap::new();
        for c in 0..mesh.cells.len() {
            let t = mesh.cells.cell(c);
            for k in 0..3 {
                *edges.entry((t[k], t[(k + 1) % 3])).or_default() += 1;
            }
        }
        for (&(a, b), &n) in &edges {
            assert_eq!(n, 1, "edge {a}-{b} used {n} times in one direction");
            assert_eq!(edges.get(&(b, a)), Some(&1), "edge {a}-{b} has no twin");
        }
    }

    #[test]
    fn reference_body_is_watertight_outward_and_the_right_size() {
        let p = AhmedParams::reference(25.0);
        let mesh = surface(&p).unwrap();
        assert_watertight(&mesh);
        let soup = TriangleSoup::from_mesh(&mesh);
        let volume = soup.signed_volume_m3();
        // Box minus the nose's rounding and the slant wedge: within a few percent of L·W·H.
        let bbox = p.length_m * p.width_m * p.height_m;
        assert!(
            volume > 0.85 * bbox && volume < bbox,
            "volume {volume} vs box {bbox}"
        );
        let area =
            crate::geometry::frontal_area::frontal_area(&soup, [1.0, 0.0, 0.0], 0.001).unwrap();
        assert!(
            (area.area_m2 - p.frontal_area_m2()).abs() < 0.002,
            "frontal area {}",
            area.area_m2
        );
    }

    #[test]
    fn stilts_are_closed_solids_too() {
        let p = AhmedParams {
            stilts: true,
            ..AhmedParams::reference(35.0)
        };
        let mesh = surface(&p).unwrap();
        assert_watertight(&mesh);
        let min_z = mesh.points.iter().map(|q| q[2]).fold(f32::MAX, f32::min);
        assert!(min_z < 0.0, "stilts reach below the ground plane");
    }

    #[test]
    fn samples_are_in_range_stratified_and_buildable() {
        let n = 48;
        let params = sample(n, 7, false);
        assert_eq!(params, sample(n, 7, false), "seeded");
        for (k, r) in RANGES.iter().enumerate() {
            let values: Vec<f64> = params.iter().map(|p| p.values()[k]).collect();
            assert!(
                values
                    .iter()
                    .all(|v| *v >= r.min - 1e-12 && *v <= r.max + 1e-12),
                "{}",
                r.name
            );
            if r.name != "slant_length_m" {
                // One value per stratum.
                let mut strata: Vec<usize> = values
                    .iter()
                    .map(|v| (((v - r.min) / (r.max - r.min)) * n as f64) as usize)
                    .collect();
                strata.sort_unstable();
                strata.dedup();
                assert_eq!(
                    strata.len(),
                    n,
                    "{} is not Latin-hypercube stratified",
                    r.name
                );
            }
        }
        for p in &params {
            let mesh = surface(p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
            assert_watertight(&mesh);
        }
    }

    #[test]
    fn impossible_shapes_are_rejected() {
        let mut p = AhmedParams::reference(25.0);
        p.front_radius_m = 0.2;
        assert!(surface(&p).is_err());
        let mut p = AhmedParams::reference(60.0);
        p.slant_length_m = 0.5;
        assert!(p.check().is_err());
    }
}
