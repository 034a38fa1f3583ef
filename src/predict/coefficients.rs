//! From the model's outputs (the training runs' units) to the answer's: per-triangle pressure
//! and friction coefficients, and the forces they integrate to at the requested speed and
//! density.
//!
//! Similarity carries the fields across speeds and densities: Cp, Cf, u/U∞ and ωL/U∞ are held
//! fixed (Reynolds-number effects are not modelled).

use crate::checkpoint::TrainingDomain;
use crate::data::Normalizer;
use crate::geometry::triangles::{triangle_area, triangle_cross, TriangleSoup};
use crate::geometry::Triangle;
use crate::physics::{coefficients, Axes, Coefficients, Forces, PressureKind, Reference};

/// How the model's outputs become the answer's units.
#[derive(Debug, Clone, Copy)]
pub(super) struct Similarity {
    /// A pressure in the training runs' stored unit → its coefficient (Cp, Cf).
    pub to_coefficient: f64,
    /// q∞ at the requested speed and density, Pa.
    pub q_pa: f64,
    /// Requested speed over the training speed: velocity and vorticity scale with it.
    pub velocity_ratio: f64,
}

impl Similarity {
    /// From the training runs' units (`kind` and `domain`) to `speed_m_s` and `density_kg_m3`.
    pub fn new(
        kind: PressureKind,
        domain: &TrainingDomain,
        speed_m_s: f64,
        density_kg_m3: f64,
    ) -> Similarity {
        let trained = Reference {
            density_kg_m3: domain.density_kg_m3,
            speed_m_s: domain.speed_m_s,
            area_m2: 1.0,
            length_m: 1.0,
        };
        let asked = Reference {
            density_kg_m3,
            speed_m_s,
            ..trained
        };
        Similarity {
            to_coefficient: kind.to_pascal(&trained) / trained.dynamic_pressure_pa(),
            q_pa: asked.dynamic_pressure_pa(),
            velocity_ratio: speed_m_s / domain.speed_m_s,
        }
    }
}

/// Per-triangle coefficients and what they integrate to.
pub(super) struct SurfaceAnswer {
    /// Cp per triangle.
    pub cp: Vec<f64>,
    /// Cf (the wall-shear vector over q∞) per triangle.
    pub cf: Vec<[f64; 3]>,
    pub forces: Forces,
    pub coefficients: Coefficients,
}

/// Turns the surface branch's outputs at the queries into a [`SurfaceAnswer`].
pub(super) struct SurfaceIntegrator<'a> {
    pub soup: &'a TriangleSoup,
    /// Unit normal per triangle.
    pub normals: Vec<[f64; 3]>,
    /// The triangle each query belongs to.
    pub owner: &'a [u32],
    pub normalizer: &'a Normalizer,
    pub similarity: Similarity,
    /// False when the checkpoint never learnt wall shear: its outputs there are left out (zero).
    pub shear_trained: bool,
    pub reference: Reference,
    pub axes: Axes,
}

impl<'a> SurfaceIntegrator<'a> {
    /// `raw`: the surface branch's standardised outputs at the queries.
    pub fn answer(&self, raw: &[f32]) -> SurfaceAnswer {
        let (pressure, mut shear) = self.normalizer.surface_fields(raw);
        if !self.shear_trained {
            shear.iter_mut().for_each(|t| *t = 0.0);
        }
        let (cp, cf) = triangle_coefficients(
            &pressure,
            &shear,
            self.owner,
            self.soup.len(),
            self.similarity.to_coefficient,
        );
        let forces = body_forces(self.soup, &self.normals, &cp, &cf, self.similarity.q_pa);
        let coefficients = coefficients(&forces, &self.reference, self.axes);
        SurfaceAnswer {
            cp,
            cf,
            forces,
            coefficients,
        }
    }
}

/// Per triangle, the mean pressure and friction coefficients of the surface queries it owns
/// (`p_raw`, `tau_raw` in the training units, times `to_coefficient`).
fn triangle_coefficients(
    p_raw: &[f32],
    tau_raw: &[f32],
    owner: &[u32],
    n_tri: usize,
    to_coefficient: f64,
) -> (Vec<f64>, Vec<[f64; 3]>) {
    let mut sums = vec![[0.0f64; 4]; n_tri];
    let mut counts = vec![0u32; n_tri];
    for (i, &tri) in owner.iter().enumerate() {
        let tri = tri as usize;
        sums[tri][0] += p_raw[i] as f64 * to_coefficient;
        for k in 0..3 {
            sums[tri][1 + k] += tau_raw[3 * i + k] as f64 * to_coefficient;
        }
        counts[tri] += 1;
    }
    let cp = sums
        .iter()
        .zip(&counts)
        .map(|(s, c)| s[0] / *c as f64)
        .collect();
    let cf = sums
        .iter()
        .zip(&counts)
        .map(|(s, c)| [s[1] / *c as f64, s[2] / *c as f64, s[3] / *c as f64])
        .collect();
    (cp, cf)
}

/// A triangle's unit normal (zero for a degenerate one).
pub(super) fn unit_normal(t: &Triangle) -> [f64; 3] {
    let a = triangle_area(t);
    if a > 0.0 {
        triangle_cross(t).map(|x| x / (2.0 * a))
    } else {
        [0.0; 3]
    }
}

/// The force on the body from per-triangle Cp and Cf at dynamic pressure `q` (Pa).
fn body_forces(
    soup: &TriangleSoup,
    normal: &[[f64; 3]],
    cp: &[f64],
    cf: &[[f64; 3]],
    q: f64,
) -> Forces {
    let mut pressure_force = [0.0f64; 3];
    let mut shear_force = [0.0f64; 3];
    for (k, t) in soup.triangles.iter().enumerate() {
        let a = triangle_area(t);
        for d in 0..3 {
            pressure_force[d] += -cp[k] * q * normal[k][d] * a;
            shear_force[d] += cf[k][d] * q * a;
        }
    }
    Forces {
        force_n: std::array::from_fn(|d| pressure_force[d] + shear_force[d]),
        pressure_force_n: pressure_force,
        shear_force_n: shear_force,
        moment_nm: [0.0; 3],
        moment_centre_m: [0.0; 3],
    }
}
