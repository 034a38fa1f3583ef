//! Forces, moments and coefficients from surface fields.
//!
//! The force on a body is F = Σ_cells (−p n + τ) A with n the unit normal pointing out of the
//! body into the fluid and τ the shear traction the fluid exerts on the body (the prepared-run
//! convention, DESIGN.md "Forces"). Pressure enters as gauge pressure: on a closed surface a
//! constant offset integrates to zero, so the datasets' different pressure references do not
//! matter for forces.

use serde::{Deserialize, Serialize};

/// Errors in the inputs of a force integration.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PhysicsError {
    #[error("unknown pressure kind `{0}`: use kinematic, static or cp")]
    PressureKind(String),
    #[error("unknown axis `{0}`: use x, y or z")]
    Axis(String),
    #[error("flow and up axes are both `{0}`; they must differ")]
    SameAxes(char),
    #[error("{what} has {got} values, expected {expected} ({cells} cells)")]
    Length {
        what: &'static str,
        got: usize,
        expected: usize,
        cells: usize,
    },
    #[error("reference {what} is {value}; it must be positive and finite")]
    Reference { what: &'static str, value: f64 },
}

/// What a stored pressure (and wall shear) means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PressureKind {
    /// p/ρ and τ/ρ in m²/s² (incompressible OpenFOAM solvers, DrivAerML, AhmedML).
    Kinematic,
    /// Pascals.
    Static,
    /// Pressure coefficient (p − p∞)/q∞, and wall shear as the skin-friction coefficient τ/q∞.
    Cp,
}

impl PressureKind {
    pub fn parse(text: &str) -> Result<Self, PhysicsError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "kinematic" => Ok(PressureKind::Kinematic),
            "static" => Ok(PressureKind::Static),
            "cp" => Ok(PressureKind::Cp),
            _ => Err(PhysicsError::PressureKind(text.to_string())),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            PressureKind::Kinematic => "kinematic",
            PressureKind::Static => "static",
            PressureKind::Cp => "cp",
        }
    }

    /// The factor that turns a stored pressure or shear value into pascals.
    pub fn to_pascal(self, reference: &Reference) -> f64 {
        match self {
            PressureKind::Kinematic => reference.density_kg_m3,
            PressureKind::Static => 1.0,
            PressureKind::Cp => reference.dynamic_pressure_pa(),
        }
    }
}

/// The reference values of coefficients, all explicit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub density_kg_m3: f64,
    pub speed_m_s: f64,
    pub area_m2: f64,
    pub length_m: f64,
}

impl Reference {
    /// q∞ = ½ ρ U∞².
    pub fn dynamic_pressure_pa(&self) -> f64 {
        0.5 * self.density_kg_m3 * self.speed_m_s * self.speed_m_s
    }

    pub fn check(&self) -> Result<(), PhysicsError> {
        for (what, value) in [
            ("density", self.density_kg_m3),
            ("speed", self.speed_m_s),
            ("area", self.area_m2),
            ("length", self.length_m),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(PhysicsError::Reference { what, value });
            }
        }
        Ok(())
    }
}

/// Which axis the flow runs along (drag), which is up (lift); side force is along the third.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Axes {
    pub flow: usize,
    pub up: usize,
}

fn axis_index(text: &str) -> Result<usize, PhysicsError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "x" | "+x" => Ok(0),
        "y" | "+y" => Ok(1),
        "z" | "+z" => Ok(2),
        _ => Err(PhysicsError::Axis(text.to_string())),
    }
}

impl Axes {
    /// The axes from their names (`"x"`, `"y"`, `"z"`).
    pub fn parse(flow: &str, up: &str) -> Result<Self, PhysicsError> {
        Axes::new(axis_index(flow)?, axis_index(up)?)
    }

    /// The axes from their indices (0 = x); they must differ.
    pub fn new(flow: usize, up: usize) -> Result<Self, PhysicsError> {
        if flow > 2 || up > 2 {
            return Err(PhysicsError::Axis(format!("{}", flow.max(up))));
        }
        if flow == up {
            return Err(PhysicsError::SameAxes(['x', 'y', 'z'][flow]));
        }
        Ok(Axes { flow, up })
    }

    /// One axis's index from its name (`"x"` → 0; `"+y"` → 1).
    pub fn axis(text: &str) -> Result<usize, PhysicsError> {
        axis_index(text)
    }

    /// The name of axis `index` (`"x"`, `"y"`, `"z"`), as [`Axes::parse`] reads it.
    pub fn name(index: usize) -> &'static str {
        ["x", "y", "z"][index]
    }

    /// The remaining axis.
    pub fn side(&self) -> usize {
        3 - self.flow - self.up
    }
}

/// Surface fields of one body, row-major: `normal` and `shear` `[N·3]`, the rest `[N]`.
#[derive(Debug, Clone, Copy)]
pub struct SurfaceLoads<'a> {
    /// Unit normals out of the body into the fluid.
    pub normal: &'a [f32],
    pub area_m2: &'a [f32],
    /// Stored pressure (see [`PressureKind`]).
    pub pressure: &'a [f32],
    /// Shear traction on the body, stored like the pressure.
    pub shear: &'a [f32],
    /// Cell centres in metres, for moments (may be empty: no moments).
    pub position_m: &'a [f32],
}

/// Force and moment on the body, in newtons and newton-metres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Forces {
    pub force_n: [f64; 3],
    pub pressure_force_n: [f64; 3],
    pub shear_force_n: [f64; 3],
    /// About `moment_centre_m`; zero when no positions were given.
    pub moment_nm: [f64; 3],
    pub moment_centre_m: [f64; 3],
}

/// Integrates the surface loads into a force and a moment about `moment_centre_m`.
pub fn integrate(
    loads: &SurfaceLoads,
    kind: PressureKind,
    reference: &Reference,
    moment_centre_m: [f64; 3],
) -> Result<Forces, PhysicsError> {
    reference.check()?;
    let n = loads.area_m2.len();
    let check = |what: &'static str, got: usize, expected: usize| {
        if got == expected {
            Ok(())
        } else {
            Err(PhysicsError::Length {
                what,
                got,
                expected,
                cells: n,
            })
        }
    };
    check("normal", loads.normal.len(), 3 * n)?;
    check("pressure", loads.pressure.len(), n)?;
    check("shear", loads.shear.len(), 3 * n)?;
    let moments = !loads.position_m.is_empty();
    if moments {
        check("position", loads.position_m.len(), 3 * n)?;
    }
    let to_pa = kind.to_pascal(reference);
    let mut pressure_force = [0.0f64; 3];
    let mut shear_force = [0.0f64; 3];
    let mut moment = [0.0f64; 3];
    for c in 0..n {
        let a = loads.area_m2[c] as f64;
        let p = loads.pressure[c] as f64 * to_pa;
        let mut f = [0.0f64; 3];
        for k in 0..3 {
            let fp = -p * loads.normal[3 * c + k] as f64 * a;
            let fs = loads.shear[3 * c + k] as f64 * to_pa * a;
            pressure_force[k] += fp;
            shear_force[k] += fs;
            f[k] = fp + fs;
        }
        if moments {
            let r: [f64; 3] =
                std::array::from_fn(|k| loads.position_m[3 * c + k] as f64 - moment_centre_m[k]);
            moment[0] += r[1] * f[2] - r[2] * f[1];
            moment[1] += r[2] * f[0] - r[0] * f[2];
            moment[2] += r[0] * f[1] - r[1] * f[0];
        }
    }
    Ok(Forces {
        force_n: std::array::from_fn(|k| pressure_force[k] + shear_force[k]),
        pressure_force_n: pressure_force,
        shear_force_n: shear_force,
        moment_nm: moment,
        moment_centre_m,
    })
}

/// Drag, lift and side-force coefficients, and the moment coefficients (moments over
/// q∞·A_ref·L_ref) about the flow, side and up axes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Coefficients {
    pub cd: f64,
    pub cl: f64,
    pub cs: f64,
    /// Rolling, pitching and yawing moment coefficients (about flow, side and up).
    pub cm_roll: f64,
    pub cm_pitch: f64,
    pub cm_yaw: f64,
}

/// C = F·d / (q∞ A_ref), Cm = M·d / (q∞ A_ref L_ref).
pub fn coefficients(forces: &Forces, reference: &Reference, axes: Axes) -> Coefficients {
    let q_a = reference.dynamic_pressure_pa() * reference.area_m2;
    let q_al = q_a * reference.length_m;
    Coefficients {
        cd: forces.force_n[axes.flow] / q_a,
        cl: forces.force_n[axes.up] / q_a,
        cs: forces.force_n[axes.side()] / q_a,
        cm_roll: forces.moment_nm[axes.flow] / q_al,
        cm_pitch: forces.moment_nm[axes.side()] / q_al,
        cm_yaw: forces.moment_nm[axes.up] / q_al,
    }
}

/// Pressure coefficient of stored pressures (gauge, against a free-stream value of zero).
pub fn pressure_coefficient(
    pressure: &[f32],
    kind: PressureKind,
    reference: &Reference,
) -> Vec<f32> {
    let f = kind.to_pascal(reference) / reference.dynamic_pressure_pa();
    pressure.iter().map(|p| (*p as f64 * f) as f32).collect()
}

/// Skin-friction coefficient vectors τ/q∞ of stored wall shear `[N·3]`.
pub fn friction_coefficient(shear: &[f32], kind: PressureKind, reference: &Reference) -> Vec<f32> {
    pressure_coefficient(shear, kind, reference)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REF: Reference = Reference {
        density_kg_m3: 1.2,
        speed_m_s: 10.0,
        area_m2: 2.0,
        length_m: 0.5,
    };

    /// The six faces of the unit cube [0,1]³, outward normals, one cell each.
    fn cube() -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let mut normal = Vec::new();
        let mut position = Vec::new();
        for axis in 0..3 {
            for sign in [-1.0f32, 1.0] {
                let mut n = [0.0; 3];
                n[axis] = sign;
                normal.extend_from_slice(&n);
                let mut c = [0.5f32; 3];
                c[axis] = if sign > 0.0 { 1.0 } else { 0.0 };
                position.extend_from_slice(&c);
            }
        }
        (normal, position, vec![1.0; 6])
    }

    #[test]
    fn constant_pressure_on_a_closed_body_gives_no_force() {
        let (normal, position, area) = cube();
        let loads = SurfaceLoads {
            normal: &normal,
            area_m2: &area,
            pressure: &[7.0; 6],
            shear: &[0.0; 18],
            position_m: &position,
        };
        let f = integrate(&loads, PressureKind::Static, &REF, [0.5; 3]).unwrap();
        assert!(f.force_n.iter().all(|v| v.abs() < 1e-12));
        assert!(f.moment_nm.iter().all(|v| v.abs() < 1e-12));
    }

    #[test]
    fn front_pressure_and_shear_give_the_hand_computed_drag() {
        let (normal, position, area) = cube();
        // Kinematic pressure 3 m²/s² on the front face (normal −x), zero elsewhere; shear
        // 0.5 m²/s² along +x on the top face (normal +z).
        let mut pressure = [0.0f32; 6];
        pressure[0] = 3.0;
        let mut shear = [0.0f32; 18];
        shear[3 * 5] = 0.5;
        let loads = SurfaceLoads {
            normal: &normal,
            area_m2: &area,
            pressure: &pressure,
            shear: &shear,
            position_m: &position,
        };
        let f = integrate(&loads, PressureKind::Kinematic, &REF, [0.5; 3]).unwrap();
        // −p n A ρ = −3·(−1)·1·1.2 = 3.6 N; shear 0.5·1.2 = 0.6 N.
        assert!((f.pressure_force_n[0] - 3.6).abs() < 1e-9);
        assert!((f.shear_force_n[0] - 0.6).abs() < 1e-9);
        // The shear acts 0.5 m above the centre: pitching moment r × F = (0,0,0.5)×(0.6,0,0) = (0, 0.3, 0).
        assert!((f.moment_nm[1] - 0.3).abs() < 1e-9);
        let c = coefficients(&f, &REF, Axes::parse("x", "z").unwrap());
        // q = ½·1.2·100 = 60 Pa; Cd = 4.2 / (60·2) = 0.035.
        assert!((c.cd - 0.035).abs() < 1e-12, "{}", c.cd);
        assert!((c.cm_pitch - 0.3 / (60.0 * 2.0 * 0.5)).abs() < 1e-12);
        // The same loads as Cp: p = 3 q.
        let cp = integrate(&loads, PressureKind::Cp, &REF, [0.5; 3]).unwrap();
        assert!((cp.pressure_force_n[0] - 3.0 * 60.0).abs() < 1e-9);
    }

    #[test]
    fn bad_inputs_are_named() {
        let loads = SurfaceLoads {
            normal: &[0.0; 3],
            area_m2: &[1.0],
            pressure: &[1.0, 2.0],
            shear: &[0.0; 3],
            position_m: &[],
        };
        let e = integrate(&loads, PressureKind::Static, &REF, [0.0; 3]).unwrap_err();
        assert!(e.to_string().contains("pressure"));
        let bad = Reference {
            area_m2: 0.0,
            ..REF
        };
        assert!(integrate(&loads, PressureKind::Static, &bad, [0.0; 3]).is_err());
        assert!(Axes::parse("x", "x").is_err());
        assert!(PressureKind::parse("gauge").is_err());
        assert_eq!(Axes::parse("x", "z").unwrap().side(), 1);
    }
}
