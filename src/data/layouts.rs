//! Dataset layouts described declaratively: where each run keeps its files, what its fields are
//! called and where they live, their units, axes and reference values. `prepare` reads any run
//! through such a description; only what a description cannot say needs code.
//!
//! Facts come from DESIGN.md ("Datasets"). The wall-shear sign of the OpenFOAM-written datasets
//! (OpenFOAM stores −τ) is assumed from their writer; confirming it needs a run's own force CSV.

use std::path::Path;

use super::csv_table::CsvTable;
use super::prepare::{cell_field, pick, PrepareOptions, PreparedArrays};
use crate::geometry::centroid::cell_centres;
use crate::geometry::gradient::curl_least_squares;
use crate::geometry::sampling::{choose_subset, sample_surface};
use crate::geometry::surface::surface_properties;
use crate::geometry::triangles::TriangleSoup;
use crate::mesh;
use crate::physics::PressureKind;

/// A reference value: the same for every run, or read from a column of a per-run CSV.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RefValue {
    Constant(f64),
    /// `{i}` in the file name is the run number.
    PerRun {
        file: &'static str,
        column: &'static str,
    },
}

/// How a layout stores its runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub name: &'static str,
    /// File names inside `run_{i}/`; `{i}` is the run number.
    pub geometry_file: &'static str,
    pub surface_file: &'static str,
    pub volume_file: &'static str,
    /// Cell arrays of the surface file.
    pub surface_pressure: &'static str,
    pub surface_wall_shear: &'static str,
    /// The stored wall shear is −τ (OpenFOAM's `wallShearStress`).
    pub shear_negated: bool,
    /// Cell arrays of the volume file.
    pub volume_velocity: &'static str,
    pub volume_pressure: &'static str,
    /// `None`: computed from the velocity (least squares over neighbouring cells).
    pub volume_vorticity: Option<&'static str>,
    pub pressure_kind: PressureKind,
    pub density_kg_m3: f64,
    pub speed_m_s: f64,
    pub ref_area_m2: RefValue,
    pub ref_length_m: RefValue,
    pub up_axis: &'static str,
    pub flow_axis: &'static str,
    /// Force-coefficient CSV with columns `cd`, `cl` (and `cs` where present).
    pub forces_file: Option<&'static str>,
}

/// DrivAerML (Ashton et al. 2024): OpenFOAM, time-averaged (`…MeanTrim`) kinematic fields,
/// U∞ = 38.889 m/s, constant reference area 2.17 m², wheelbase 2.7862 m as length.
pub const DRIVAERML: Layout = Layout {
    name: "drivaerml",
    geometry_file: "drivaer_{i}.stl",
    surface_file: "boundary_{i}.vtp",
    volume_file: "volume_{i}.vtu",
    surface_pressure: "pMeanTrim",
    surface_wall_shear: "wallShearStressMeanTrim",
    shear_negated: true,
    volume_velocity: "UMeanTrim",
    volume_pressure: "pMeanTrim",
    volume_vorticity: None,
    pressure_kind: PressureKind::Kinematic,
    density_kg_m3: 1.0,
    speed_m_s: 38.889,
    ref_area_m2: RefValue::Constant(2.17),
    ref_length_m: RefValue::Constant(2.7862),
    up_axis: "z",
    flow_axis: "x",
    forces_file: Some("force_mom_constref_{i}.csv"),
};

/// AhmedML (Ashton et al. 2024): OpenFOAM, time-averaged kinematic fields at U = 1 m/s, ρ = 1,
/// A = 0.112032 m², the Ahmed body's length 1.044 m.
pub const AHMEDML: Layout = Layout {
    name: "ahmedml",
    geometry_file: "ahmed_{i}.stl",
    surface_file: "boundary_{i}.vtp",
    volume_file: "volume_{i}.vtu",
    surface_pressure: "pMean",
    surface_wall_shear: "wallShearStressMean",
    shear_negated: true,
    volume_velocity: "UMean",
    volume_pressure: "pMean",
    volume_vorticity: Some("vorticityMean"),
    pressure_kind: PressureKind::Kinematic,
    density_kg_m3: 1.0,
    speed_m_s: 1.0,
    ref_area_m2: RefValue::Constant(0.112032),
    ref_length_m: RefValue::Constant(1.044),
    up_axis: "z",
    flow_axis: "x",
    forces_file: Some("force_mom_{i}.csv"),
};

/// Layouts `prepare` reads through a description (besides `slipstream`).
pub const LAYOUTS: &[&Layout] = &[&DRIVAERML, &AHMEDML];

pub fn layout(name: &str) -> Option<&'static Layout> {
    LAYOUTS.iter().copied().find(|l| l.name == name)
}

fn file(dir: &Path, pattern: &str, number: &str) -> std::path::PathBuf {
    dir.join(pattern.replace("{i}", number))
}

/// A file, or its byte-wise concatenation from `NAME.part*` pieces (some mirrors split the
/// volumes), written next to it once.
fn whole_file(path: &Path) -> Result<std::path::PathBuf, String> {
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let stem = path
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut parts: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy().starts_with(&format!("{stem}.part")))
                .unwrap_or(false)
        })
        .collect();
    if parts.is_empty() {
        return Err(format!("{}: missing", path.display()));
    }
    parts.sort();
    let mut bytes = Vec::new();
    for p in &parts {
        bytes.extend(std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?);
    }
    mesh::write_bytes_atomically(path, &bytes).map_err(|e| e.to_string())?;
    Ok(path.to_path_buf())
}

fn reference(value: RefValue, dir: &Path, number: &str) -> Result<f64, String> {
    match value {
        RefValue::Constant(v) => Ok(v),
        RefValue::PerRun {
            file: pattern,
            column,
        } => {
            let path = file(dir, pattern, number);
            let table = CsvTable::read(&path).map_err(|e| e.to_string())?;
            table
                .value(column)
                .ok_or_else(|| format!("{}: no single value in column `{column}`", path.display()))
        }
    }
}

/// Prepares run `name` (`run_<i>`) of a described layout into `out`.
pub fn prepare_run(
    layout: &Layout,
    dir: &Path,
    name: &str,
    out: &Path,
    opts: &PrepareOptions,
) -> Result<(usize, usize), String> {
    let n = name.trim_start_matches("run_");
    let surface_path = whole_file(&file(dir, layout.surface_file, n))?;
    let boundary = mesh::read_mesh(&surface_path).map_err(|e| e.to_string())?;
    let pressure = cell_field(&boundary, layout.surface_pressure, 1, &surface_path)?;
    let stored_shear = cell_field(&boundary, layout.surface_wall_shear, 3, &surface_path)?;
    let mut props = surface_properties(&boundary);
    props.orient_outward();
    let normal: Vec<f32> = props
        .cell_normal
        .iter()
        .flat_map(|v| v.map(|c| c as f32))
        .collect();
    let sign = if layout.shear_negated { -1.0 } else { 1.0 };
    let shear: Vec<f32> = stored_shear.iter().map(|v| sign * v).collect();
    let area: Vec<f32> = props.cell_area_m2.iter().map(|a| *a as f32).collect();
    let centres: Vec<f32> = cell_centres(&boundary).into_iter().flatten().collect();
    let ns = boundary.n_cells();
    let s_rows = if opts.surface_points == 0 || opts.surface_points >= ns {
        (0..ns).collect()
    } else {
        choose_subset(ns, opts.surface_points, opts.seed)
    };

    let volume_path = whole_file(&file(dir, layout.volume_file, n))?;
    let volume = mesh::read_mesh(&volume_path).map_err(|e| e.to_string())?;
    let velocity = cell_field(&volume, layout.volume_velocity, 3, &volume_path)?;
    let vpressure = cell_field(&volume, layout.volume_pressure, 1, &volume_path)?;
    let vcentres_rows = cell_centres(&volume);
    let vorticity = match layout.volume_vorticity {
        Some(field) => cell_field(&volume, field, 3, &volume_path)?,
        None => curl_least_squares(&vcentres_rows, &velocity),
    };
    let vcentres: Vec<f32> = vcentres_rows.into_iter().flatten().collect();
    let nv = volume.n_cells();
    let v_rows = if opts.volume_points == 0 || opts.volume_points >= nv {
        (0..nv).collect()
    } else {
        choose_subset(nv, opts.volume_points, opts.seed.wrapping_add(1))
    };

    let stl_path = file(dir, layout.geometry_file, n);
    let cad = mesh::read_mesh(&stl_path).map_err(|e| e.to_string())?;
    let mut soup = TriangleSoup::from_mesh(&cad);
    soup.orient_outward();
    let geometry: Vec<f32> = sample_surface(&soup, opts.geometry_points, opts.seed.wrapping_add(2))
        .position
        .into_iter()
        .flatten()
        .collect();

    let coefficients = match layout.forces_file {
        Some(pattern) => {
            let path = file(dir, pattern, n);
            let table = CsvTable::read(&path).map_err(|e| e.to_string())?;
            let cd = table
                .value("cd")
                .ok_or_else(|| format!("{}: no single value in column `cd`", path.display()))?;
            [Some(cd), table.value("cl"), table.value("cs")]
        }
        None => [None; 3],
    };
    let arrays = PreparedArrays {
        surface_position: pick(&centres, 3, &s_rows),
        surface_normal: pick(&normal, 3, &s_rows),
        surface_area: pick(&area, 1, &s_rows),
        surface_pressure: pick(&pressure, 1, &s_rows),
        surface_wall_shear: pick(&shear, 3, &s_rows),
        volume_position: pick(&vcentres, 3, &v_rows),
        volume_velocity: pick(&velocity, 3, &v_rows),
        volume_pressure: pick(&vpressure, 1, &v_rows),
        volume_vorticity: pick(&vorticity, 3, &v_rows),
        geometry_position: geometry,
        layout: layout.name.into(),
        run: name.to_string(),
        pressure_kind: layout.pressure_kind.name().into(),
        density_kg_m3: layout.density_kg_m3,
        speed_m_s: layout.speed_m_s,
        ref_area_m2: reference(layout.ref_area_m2, dir, n)?,
        ref_length_m: reference(layout.ref_length_m, dir, n)?,
        up_axis: layout.up_axis.into(),
        flow_axis: layout.flow_axis.into(),
        coefficients,
        surface_total_area_m2: props.total_area_m2,
    };
    arrays.write(out)?;
    Ok((s_rows.len(), v_rows.len()))
}
