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
    /// Thickness of the first prism layer at the wall (m), which sets y+. `None`: layers sized
    /// relative to the surface cells (the outermost layer half a surface cell thick), so their
    /// height in wall units changes with the mesh.
    pub first_layer_m: Option<f64>,
    /// Growth of each prism layer over the one below it.
    pub layer_expansion: f64,
    /// How the turbulent viscosity is modelled in the first cell at the walls.
    pub wall_function: WallFunction,
    /// Free-stream turbulence intensity (fraction) for k and ω at the inlet.
    pub turbulence_intensity: f64,
    /// Under-relaxation of the momentum and of the turbulence equations (SIMPLEC).
    pub relax_u: f64,
    pub relax_turbulence: f64,
    /// Non-orthogonal corrections of the pressure equation per iteration.
    pub non_orthogonal_correctors: u32,
}

/// Momentum and turbulence under-relaxation of the second attempt at a run whose solver
/// diverged. Measured here (2026-12-07): the family's run 2 of seed 2 (1.17 m long, 8 cm
/// clearance) diverged at iteration 32 with U 0.7, k/ω 0.5 and settled with these.
pub const CALMER_RELAX_U: f64 = 0.5;
pub const CALMER_RELAX_TURBULENCE: f64 = 0.4;

impl CaseSettings {
    /// The same case with calmer under-relaxation, for a second attempt after the solver
    /// diverged (`None` when these settings are already as calm). The steady solution does not
    /// depend on the relaxation, only the way to it does, so both attempts compute the same
    /// flow.
    pub fn calmer(&self) -> Option<CaseSettings> {
        if self.relax_u <= CALMER_RELAX_U && self.relax_turbulence <= CALMER_RELAX_TURBULENCE {
            return None;
        }
        Some(CaseSettings {
            relax_u: self.relax_u.min(CALMER_RELAX_U),
            relax_turbulence: self.relax_turbulence.min(CALMER_RELAX_TURBULENCE),
            ..*self
        })
    }

    /// Settings that can make a case: positive sizes and speeds, refinement levels in order,
    /// layers that grow (expansion ≥ 1), relaxation factors in (0, 1].
    pub fn check(&self) -> Result<(), InvalidSettings> {
        let positive = |v: f64| v.is_finite() && v > 0.0;
        let mut problems = Vec::new();
        if !(positive(self.speed_m_s) && positive(self.kinematic_viscosity_m2_s)) {
            problems.push("the speed and the viscosity must be positive".to_string());
        }
        if !positive(self.base_cell_m) {
            problems.push(format!("background cell size {} m", self.base_cell_m));
        }
        if self.body_levels.0 > self.body_levels.1 {
            problems.push(format!(
                "body refinement levels {}-{}: the minimum exceeds the maximum",
                self.body_levels.0, self.body_levels.1
            ));
        }
        if self.first_layer_m.is_some_and(|t| !positive(t)) {
            problems.push("the first-layer thickness must be positive".to_string());
        }
        if !(self.layer_expansion.is_finite() && self.layer_expansion >= 1.0) {
            problems.push(format!(
                "layer expansion {} (at least 1: each layer as thick as the one below or more)",
                self.layer_expansion
            ));
        }
        for (what, v) in [
            ("momentum", self.relax_u),
            ("turbulence", self.relax_turbulence),
        ] {
            if !(positive(v) && v <= 1.0) {
                problems.push(format!("{what} relaxation {v} (must be in (0, 1])"));
            }
        }
        if self.iterations == 0 {
            problems.push("iterations must be positive".to_string());
        }
        match problems.is_empty() {
            true => Ok(()),
            false => Err(InvalidSettings { problems }),
        }
    }
}

/// The wall treatment of the turbulent viscosity (`nut`) on the body and the ground.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum WallFunction {
    /// `nutkWallFunction`: friction velocity from the first cell's k (log law; meant for
    /// 30 < y+ < 300, and under-predicts friction where k is under-resolved).
    K,
    /// `nutUSpaldingWallFunction`: Spalding's single law from the viscous sublayer through the
    /// log layer, from the first cell's velocity; valid at any y+.
    Spalding,
}

impl WallFunction {
    /// The OpenFOAM boundary condition name.
    pub fn openfoam_name(self) -> &'static str {
        match self {
            WallFunction::K => "nutkWallFunction",
            WallFunction::Spalding => "nutUSpaldingWallFunction",
        }
    }
}

impl CaseSettings {
    /// The background cell size (m) for about `cells` cells around the 1.044 m Ahmed body
    /// (`generate --cells`): 0.08 m gives ~300k. A rule of thumb, not a law: the refined region
    /// near the body does not scale like the background, so the size goes as `cells^-0.4`
    /// rather than `cells^-1/3`; the counts it really gives are in the mesh study's table
    /// (datasets/openfoam/validation/mesh-study.md: 600k asked, 682,620 made).
    pub fn base_cell_for(cells: u64) -> f64 {
        0.08 * (300_000.0 / cells.max(1) as f64).powf(0.4)
    }
}

impl Default for CaseSettings {
    /// The settings chosen by the mesh study on the 25° body: ~300k background cells, five prism
    /// layers from 0.5 mm, Spalding's wall law, 500 iterations.
    fn default() -> Self {
        CaseSettings {
            speed_m_s: 40.0,
            kinematic_viscosity_m2_s: 1.5e-5,
            iterations: 500,
            average_last: 100,
            base_cell_m: 0.08,
            body_levels: (3, 4),
            wake_level: 2,
            // From the mesh study (datasets/openfoam/validation/mesh-study.md): two layers sized
            // from the surface cells with nutkWallFunction gave a friction drag 23 % below a
            // turbulent flat plate's; five layers from 0.5 mm (y+ ≈ 30) with Spalding's law
            // came within 4 % of it.
            layers: 5,
            first_layer_m: Some(5e-4),
            layer_expansion: 1.2,
            wall_function: WallFunction::Spalding,
            turbulence_intensity: 0.005,
            // Measured here: thin prism layers (5 layers from 0.5 mm on 5 mm surface cells) made
            // SIMPLEC with U 0.9, k/ω 0.7 and no non-orthogonal correction diverge within 15
            // iterations; U 0.7, k/ω 0.5 and one correction ran.
            relax_u: 0.7,
            relax_turbulence: 0.5,
            non_orthogonal_correctors: 1,
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
        ("LAYER_SIZING", layer_sizing(s)),
        ("NUT_WALL", s.wall_function.openfoam_name().to_string()),
        ("RELAX_U", s.relax_u.to_string()),
        ("RELAX_TURBULENCE", s.relax_turbulence.to_string()),
        (
            "NON_ORTHOGONAL_CORRECTORS",
            s.non_orthogonal_correctors.to_string(),
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

/// snappyHexMesh's layer thickness entries: relative to the surface cells, or an absolute first
/// layer (minimum thickness a tenth of it) with the given growth.
fn layer_sizing(s: &CaseSettings) -> String {
    match s.first_layer_m {
        None => format!(
            "relativeSizes true; expansionRatio {}; finalLayerThickness 0.5; minThickness 0.1;",
            s.layer_expansion
        ),
        Some(t) => format!(
            "relativeSizes false; expansionRatio {}; firstLayerThickness {t:e}; minThickness {:e};",
            s.layer_expansion,
            0.1 * t
        ),
    }
}

/// Case settings that cannot make a case, with every rule they break.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("case settings: {}", .problems.join("; "))]
pub struct InvalidSettings {
    pub problems: Vec<String>,
}

/// A template placeholder (`@@NAME@@`) left without a value: a broken template, not a broken
/// case.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("unfilled placeholder near `{near}`")]
pub struct UnfilledPlaceholder {
    pub near: String,
}

/// Fills one template; an unknown or unfilled placeholder is an error, not a broken case.
pub fn render(template: &str, values: &[(&str, String)]) -> Result<String, UnfilledPlaceholder> {
    let mut out = template.to_string();
    for (key, value) in values {
        out = out.replace(&format!("@@{key}@@"), value);
    }
    match out.find("@@") {
        Some(at) => Err(UnfilledPlaceholder {
            near: out[at..].chars().take(30).collect(),
        }),
        None => Ok(out),
    }
}

/// Writes a complete case into `dir` (created): dictionaries, initial fields and
/// `constant/triSurface/body.stl`.
pub fn write_case(dir: &Path, p: &AhmedParams, s: &CaseSettings) -> Result<(), MeshError> {
    let body = super::ahmed::surface(p).map_err(|e| MeshError::invalid(dir, e.to_string()))?;
    let vals = values(p, s);
    for (name, template) in TEMPLATES {
        let path = dir.join(name);
        let text = render(template, &vals).map_err(|e| MeshError::invalid(&path, e.to_string()))?;
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
    fn calmer_settings_lower_the_relaxation_once() {
        let s = CaseSettings::default();
        let calm = s.calmer().expect("the defaults can be calmed");
        assert_eq!(calm.relax_u, CALMER_RELAX_U);
        assert_eq!(calm.relax_turbulence, CALMER_RELAX_TURBULENCE);
        assert_eq!(calm.base_cell_m, s.base_cell_m);
        assert_eq!(calm.layers, s.layers);
        assert!(calm.check().is_ok());
        assert!(
            calm.calmer().is_none(),
            "a second retry would change nothing"
        );
        let dir = tempfile::tempdir().unwrap();
        write_case(dir.path(), &AhmedParams::reference(25.0), &calm).unwrap();
        let solution = std::fs::read_to_string(dir.path().join("system/fvSolution")).unwrap();
        assert!(solution.contains("U 0.5; k 0.4; omega 0.4;"), "{solution}");
    }

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
        let snappy = read("system/snappyHexMeshDict");
        assert!(snappy.contains("level (3 4)"));
        assert!(snappy.contains("nSurfaceLayers 5;"), "{snappy}");
        assert!(
            snappy.contains("relativeSizes false; expansionRatio 1.2; firstLayerThickness 5e-4;"),
            "{snappy}"
        );
        assert!(read("0/nut").contains("body   { type nutUSpaldingWallFunction;"));
        let solution = read("system/fvSolution");
        assert!(
            solution.contains("equations { U 0.7; k 0.5; omega 0.5; }"),
            "{solution}"
        );
        assert!(
            solution.contains("nNonOrthogonalCorrectors 1;"),
            "{solution}"
        );
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
    fn relative_layers_and_k_walls_reach_the_dictionaries() {
        let dir = tempfile::tempdir().unwrap();
        let s = CaseSettings {
            layers: 2,
            first_layer_m: None,
            wall_function: WallFunction::K,
            ..CaseSettings::default()
        };
        write_case(dir.path(), &AhmedParams::reference(25.0), &s).unwrap();
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
        let snappy = read("system/snappyHexMeshDict");
        assert!(snappy.contains("nSurfaceLayers 2;"), "{snappy}");
        let relative =
            "relativeSizes true; expansionRatio 1.2; finalLayerThickness 0.5; minThickness 0.1;";
        assert!(snappy.contains(relative), "{snappy}");
        let nut = read("0/nut");
        assert!(nut.contains("body   { type nutkWallFunction;"), "{nut}");
        assert!(nut.contains("ground { type nutkWallFunction;"), "{nut}");
    }

    #[test]
    fn impossible_settings_are_named() {
        assert!(CaseSettings::default().check().is_ok());
        let bad = CaseSettings {
            body_levels: (5, 4),
            first_layer_m: Some(-1.0),
            layer_expansion: 0.5,
            relax_u: 1.5,
            ..CaseSettings::default()
        };
        let e = bad.check().unwrap_err().to_string();
        for part in [
            "5-4",
            "first-layer",
            "expansion 0.5",
            "momentum relaxation 1.5",
        ] {
            assert!(e.contains(part), "{e}");
        }
    }

    #[test]
    fn unfilled_placeholders_are_errors() {
        assert!(render("a @@X@@ b", &[]).is_err());
        assert_eq!(render("a @@X@@ b", &[("X", "1".into())]).unwrap(), "a 1 b");
    }
}
