//! An OpenFOAM case for one body: the templates in `datasets/openfoam/ahmed/` (compiled into the
//! binary, so `slipstream generate` works from any folder) filled with the body's values.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::ahmed::AhmedParams;
use crate::mesh::{self, MeshError};

/// Solver and mesh settings shared by every run of a family.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CaseSettings {
    /// Free-stream speed U∞ (m/s); the ground moves at U∞.
    pub speed_m_s: f64,
    /// Kinematic viscosity ν (m²/s).
    pub kinematic_viscosity_m2_s: f64,
    /// SIMPLE iterations.
    pub iterations: u32,
    /// Forces and fields are averaged over this many final iterations.
    pub average_last: u32,
    /// Background mesh cell size (m) for a 1.044 m body; scaled with the body length.
    pub base_cell_m: f64,
    /// Refinement levels on the body surface (min, max) and in the wake box.
    pub body_levels: (u32, u32),
    pub wake_level: u32,
    /// Prism layers on the body (0: none).
    pub layers: u32,
    /// Free-stream turbulence intensity (fraction) for k and ω at the inlet.
    pub turbulence_intensity: f64,
}

impl Default for CaseSettings {
    /// The settings measured here on the 25° body (DESIGN.md): ~200k cells, 500 iterations.
    fn default() -> Self {
        CaseSettings {
            speed_m_s: 40.0,
            kinematic_viscosity_m2_s: 1.5e-5,
            iterations: 500,
            average_last: 100,
            base_cell_m: 0.08,
            body_levels: (3, 4),
            wake_level: 2,
            layers: 2,
            turbulence_intensity: 0.005,
        }
    }
}

const TEMPLATES: [(&str, &str); 14] = [
    (
        "system/controlDict",
        include_str!("../../datasets/openfoam/ahmed/system/controlDict"),
    ),
    (
        "system/blockMeshDict",
        include_str!("../../datasets/openfoam/ahmed/system/blockMeshDict"),
    ),
    (
        "system/surfaceFeatureExtractDict",
        include_str!("../../datasets/openfoam/ahmed/system/surfaceFeatureExtractDict"),
    ),
    (
        "system/snappyHexMeshDict",
        include_str!("../../datasets/openfoam/ahmed/system/snappyHexMeshDict"),
    ),
    (
        "system/fvSchemes",
        include_str!("../../datasets/openfoam/ahmed/system/fvSchemes"),
    ),
    (
        "system/fvSolution",
        include_str!("../../datasets/openfoam/ahmed/system/fvSolution"),
    ),
    (
        "system/meshQualityDict",
        include_str!("../../datasets/openfoam/ahmed/system/meshQualityDict"),
    ),
    (
        "constant/transportProperties",
        include_str!("../../datasets/openfoam/ahmed/constant/transportProperties"),
    ),
    (
        "constant/turbulenceProperties",
        include_str!("../../datasets/openfoam/ahmed/constant/turbulenceProperties"),
    ),
    ("0/U", include_str!("../../datasets/openfoam/ahmed/0/U")),
    ("0/p", include_str!("../../datasets/openfoam/ahmed/0/p")),
    ("0/k", include_str!("../../datasets/openfoam/ahmed/0/k")),
    (
        "0/omega",
        include_str!("../../datasets/openfoam/ahmed/0/omega"),
    ),
    ("0/nut", include_str!("../../datasets/openfoam/ahmed/0/nut")),
];

fn v3(v: [f64; 3]) -> String {
    format!("{:.6} {:.6} {:.6}", v[0], v[1], v[2])
}

/// Placeholder → value for one body.
pub fn values(p: &AhmedParams, s: &CaseSettings) -> Vec<(&'static str, String)> {
    let l = p.length_m;
    let scale = l / 1.044;
    // Tunnel: 2 L upstream, 5 L downstream, 3 W to each side of the axis, 5 H high.
    let (xmin, xmax) = (-2.0 * l, 6.0 * l);
    let ymax = 3.0 * p.width_m.max(0.3);
    let zmax = 5.0 * (p.height_m + p.ground_clearance_m);
    let h = s.base_cell_m * scale;
    let cells = |len: f64| ((len / h).round() as u64).max(1).to_string();
    let k = 1.5 * (s.turbulence_intensity * s.speed_m_s).powi(2);
    // ω from k and a turbulent length scale of a tenth of the body height.
    let omega = k.sqrt() / (0.09f64.powf(0.25) * 0.1 * p.height_m);
    vec![
        ("ITERATIONS", s.iterations.to_string()),
        (
            "AVERAGE_START",
            s.iterations.saturating_sub(s.average_last).to_string(),
        ),
        ("U_INF", format!("{}", s.speed_m_s)),
        ("NU", format!("{:e}", s.kinematic_viscosity_m2_s)),
        ("L_REF", format!("{l:.6}")),
        ("A_REF", format!("{:.8}", p.frontal_area_m2())),
        ("COFR", v3([0.5 * l, 0.0, p.ground_clearance_m])),
        ("XMIN", format!("{xmin:.6}")),
        ("XMAX", format!("{xmax:.6}")),
        ("YMIN", format!("{:.6}", -ymax)),
        ("YMAX", format!("{ymax:.6}")),
        ("ZMAX", format!("{zmax:.6}")),
        ("NX", cells(xmax - xmin)),
        ("NY", cells(2.0 * ymax)),
        ("NZ", cells(zmax)),
        ("WAKE_MIN", v3([0.6 * l, -0.8 * p.width_m, 0.0])),
        (
            "WAKE_MAX",
            v3([
                2.5 * l,
                0.8 * p.width_m,
                1.6 * (p.height_m + p.ground_clearance_m),
            ]),
        ),
        ("WAKE_LEVEL", s.wake_level.to_string()),
        ("BODY_LEVEL_MIN", s.body_levels.0.to_string()),
        ("BODY_LEVEL_MAX", s.body_levels.1.to_string()),
        ("LAYERS", s.layers.to_string()),
        (
            "LAYERS_ON",
            if s.layers > 0 { "true" } else { "false" }.to_string(),
        ),
        // In the fluid, off every cell face: upstream, near the ceiling.
        (
            "INSIDE_POINT",
            v3([xmin + 0.1234 * h, 0.0567 * h, zmax - 0.2345 * h]),
        ),
        ("K_INF", format!("{k:.6e}")),
        ("OMEGA_INF", format!("{omega:.6e}")),
    ]
}

/// Fills one template; an unknown or unfilled placeholder is an error, not a broken case.
pub fn render(template: &str, values: &[(&str, String)]) -> Result<String, String> {
    let mut out = template.to_string();
    for (key, value) in values {
        out = out.replace(&format!("@@{key}@@"), value);
    }
    match out.find("@@") {
        Some(at) => Err(format!(
            "unfilled placeholder near `{}`",
            out[at..].chars().take(30).collect::<String>()
        )),
        None => Ok(out),
    }
}

/// Writes a complete case into `dir` (created): dictionaries, initial fields and
/// `constant/triSurface/body.stl`.
pub fn write_case(dir: &Path, p: &AhmedParams, s: &CaseSettings) -> Result<(), MeshError> {
    let body = super::ahmed::surface(p).map_err(|m| MeshError::invalid(dir, m))?;
    let vals = values(p, s);
    for (name, template) in TEMPLATES {
        let path = dir.join(name);
        let text = render(template, &vals).map_err(|m| MeshError::invalid(&path, m))?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| MeshError::io(parent, e))?;
        }
        mesh::write_bytes_atomically(&path, text.as_bytes())?;
    }
    let tri = dir.join("constant/triSurface");
    std::fs::create_dir_all(&tri).map_err(|e| MeshError::io(&tri, e))?;
    mesh::stl::write(&tri.join("body.stl"), &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_dictionaries_hold_the_run_values() {
        let dir = tempfile::tempdir().unwrap();
        let p = AhmedParams::reference(25.0);
        let s = CaseSettings::default();
        write_case(dir.path(), &p, &s).unwrap();
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
        let control = read("system/controlDict");
        assert!(control.contains("magUInf         40;"), "{control}");
        assert!(control.contains("Aref            0.11203200;"));
        assert!(control.contains("lRef            1.044000;"));
        assert!(control.contains("endTime         500;"));
        assert!(control.contains("timeStart       400;"));
        assert!(read("constant/transportProperties").contains("nu              1.5e-5;"));
        assert!(read("0/U").contains("uniform (40 0 0)"));
        let block = read("system/blockMeshDict");
        assert!(block.contains("(-2.088000 -1.167000 0)"), "{block}");
        assert!(read("system/snappyHexMeshDict").contains("level (3 4)"));
        for (name, _) in TEMPLATES {
            assert!(
                !read(name).contains("@@"),
                "{name} has an unfilled placeholder"
            );
        }
        let stl = crate::mesh::read_mesh(&dir.path().join("constant/triSurface/body.stl")).unwrap();
        assert!(stl.n_cells() > 1000);
    }

    #[test]
    fn unfilled_placeholders_are_errors() {
        assert!(render("a @@X@@ b", &[]).is_err());
        assert_eq!(render("a @@X@@ b", &[("X", "1".into())]).unwrap(), "a 1 b");
    }
}
