//! Dataset layouts described declaratively: where each run keeps its files, what its fields are
//! called and where they live, their units, axes and reference values. `prepare` reads any run
//! through such a description; only what a description cannot say needs code.
//!
//! Facts come from DESIGN.md ("Datasets"). The wall-shear sign of the OpenFOAM-written datasets
//! (OpenFOAM stores −τ) is assumed from their writer; confirming it needs a run's own force CSV.

use std::path::{Path, PathBuf};

use super::{Layout, RawDataset, Runs};
use crate::data::csv_table::CsvTable;
use crate::data::design_parameters::from_csv_if_present;
use crate::data::reading::{numbered_runs, read_run, PrepareOptions, RunSources};
use crate::data::{DataError, RunMeta};
use crate::mesh;
use crate::physics::{Axes, PressureKind, Reference};

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

/// How a described layout stores its runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Described {
    pub name: &'static str,
    /// File names inside `run_{i}/`; `{i}` is the run number.
    pub geometry_file: &'static str,
    pub surface_file: &'static str,
    pub volume_file: &'static str,
    /// Arrays of the surface file: cell arrays, or point arrays averaged onto the cells; a
    /// vector given as comma-separated scalar arrays (`"cfxavg,cfyavg,cfzavg"`).
    pub surface_pressure: &'static str,
    pub surface_wall_shear: &'static str,
    /// The stored wall shear is −τ (OpenFOAM's `wallShearStress`).
    pub shear_negated: bool,
    /// Arrays of the volume file, named as for the surface.
    pub volume_velocity: &'static str,
    pub volume_pressure: &'static str,
    /// `None`: computed from the velocity (least squares over neighbouring cells).
    pub volume_vorticity: Option<&'static str>,
    pub pressure_kind: PressureKind,
    pub density_kg_m3: f64,
    pub speed_m_s: f64,
    pub ref_area_m2: RefValue,
    pub ref_length_m: RefValue,
    /// The flow and up axes of the dataset's frame.
    pub axes: Axes,
    /// Force-coefficient CSV with columns `cd`, `cl` (and `cs` where present).
    pub forces_file: Option<&'static str>,
    /// Design-parameter CSV (header = names, one row), carried into the prepared run when a run
    /// has it.
    pub parameters_file: Option<&'static str>,
}

/// DrivAerML (Ashton et al. 2024): OpenFOAM, time-averaged (`…MeanTrim`) kinematic fields,
/// U∞ = 38.889 m/s, constant reference area 2.17 m², wheelbase 2.7862 m as length.
pub const DRIVAERML: Described = Described {
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
    axes: Axes { flow: 0, up: 2 },
    forces_file: Some("force_mom_constref_{i}.csv"),
    parameters_file: Some("geo_parameters_{i}.csv"),
};

/// AhmedML (Ashton et al. 2024): OpenFOAM, time-averaged kinematic fields at U = 1 m/s, ρ = 1,
/// A = 0.112032 m², the Ahmed body's length 1.044 m.
pub const AHMEDML: Described = Described {
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
    axes: Axes { flow: 0, up: 2 },
    forces_file: Some("force_mom_{i}.csv"),
    parameters_file: Some("geo_parameters_{i}.csv"),
};

/// WindsorML (Ashton et al. 2024): wall-modelled LES of the Windsor body, runs numbered from 0.
/// The surface (`boundary_i.vtu`, an unstructured grid of faces) carries time-averaged
/// coefficients as point data, Cp and the skin-friction vector in three scalar arrays; the volume
/// carries the velocity in three scalar cell arrays. y is up. `force_mom_i.csv` uses the constant
/// reference area 0.112 m² (`force_mom_varref_i.csv` each body's own). The published files give
/// no free-stream speed: the velocity is kept as stored, and with Cp fields the coefficients do
/// not need one. The skin-friction sign (traction on the body) is assumed, not yet confirmed
/// against a run's force CSV.
pub const WINDSORML: Described = Described {
    name: "windsorml",
    geometry_file: "windsor_{i}.stl",
    surface_file: "boundary_{i}.vtu",
    volume_file: "volume_{i}.vtu",
    surface_pressure: "cpavg",
    surface_wall_shear: "cfxavg,cfyavg,cfzavg",
    shear_negated: false,
    volume_velocity: "velocityxavg,velocityyavg,velocityzavg",
    volume_pressure: "pressureavg",
    volume_vorticity: None,
    pressure_kind: PressureKind::Cp,
    density_kg_m3: 1.0,
    speed_m_s: 1.0,
    ref_area_m2: RefValue::Constant(0.112),
    ref_length_m: RefValue::Constant(1.044),
    axes: Axes { flow: 0, up: 1 },
    forces_file: Some("force_mom_{i}.csv"),
    parameters_file: Some("geo_parameters_{i}.csv"),
};

impl Layout for Described {
    fn name(&self) -> &'static str {
        self.name
    }

    fn open(&self, src: &Path) -> Result<Box<dyn RawDataset>, DataError> {
        let layout = self.clone();
        Ok(Box::new(Runs {
            runs: numbered_runs(src)?,
            prepare: move |dir: &PathBuf, name: &str, out: &Path, opts: &PrepareOptions| {
                prepare_run(&layout, dir, name, out, opts)
            },
        }))
    }
}

fn file(dir: &Path, pattern: &str, number: &str) -> PathBuf {
    dir.join(pattern.replace("{i}", number))
}

/// A file that exists whole or in parts (`NAME.00.part`, … or `NAME.part0`, …, read in place by
/// every reader through [`mesh::SplitFile`]; nothing is joined or written). Missing, a gap in
/// the parts or an empty part: an error naming the files.
fn whole_file(path: &Path) -> Result<PathBuf, DataError> {
    mesh::SplitFile::open(path).map_err(|e| match &e {
        mesh::MeshError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            DataError::file(path, "missing")
        }
        _ => DataError::Mesh(e),
    })?;
    Ok(path.to_path_buf())
}

fn reference(value: RefValue, dir: &Path, number: &str) -> Result<f64, DataError> {
    match value {
        RefValue::Constant(v) => Ok(v),
        RefValue::PerRun {
            file: pattern,
            column,
        } => {
            let path = file(dir, pattern, number);
            let table = CsvTable::read(&path)?;
            table.value(column).ok_or_else(|| {
                DataError::file(&path, format!("no single value in column `{column}`"))
            })
        }
    }
}

/// Prepares run `name` (`run_<i>`) of a described layout into `out`.
fn prepare_run(
    layout: &Described,
    dir: &Path,
    name: &str,
    out: &Path,
    opts: &PrepareOptions,
) -> Result<(usize, usize), DataError> {
    let n = name.trim_start_matches("run_");
    let sources = RunSources {
        surface: whole_file(&file(dir, layout.surface_file, n))?,
        surface_extra: None,
        volume: whole_file(&file(dir, layout.volume_file, n))?,
        geometry: file(dir, layout.geometry_file, n),
        surface_pressure: layout.surface_pressure,
        surface_wall_shear: Some(layout.surface_wall_shear),
        shear_negated: layout.shear_negated,
        normals_into_body: false,
        volume_velocity: layout.volume_velocity,
        volume_pressure: Some(layout.volume_pressure),
        volume_vorticity: layout.volume_vorticity,
    };
    let coefficients = match layout.forces_file {
        Some(pattern) => {
            let path = file(dir, pattern, n);
            let table = CsvTable::read(&path)?;
            let cd = table
                .value("cd")
                .ok_or_else(|| DataError::file(&path, "no single value in column `cd`"))?;
            [Some(cd), table.value("cl"), table.value("cs")]
        }
        None => [None; 3],
    };
    let [cd, cl, cs] = coefficients;
    let reference = Reference {
        density_kg_m3: layout.density_kg_m3,
        speed_m_s: layout.speed_m_s,
        area_m2: reference(layout.ref_area_m2, dir, n)?,
        length_m: reference(layout.ref_length_m, dir, n)?,
    };
    let meta = RunMeta {
        cd,
        cl,
        cs,
        parameters: match layout.parameters_file {
            Some(pattern) => from_csv_if_present(&file(dir, pattern, n))?.unwrap_or_default(),
            None => Vec::new(),
        },
        ..RunMeta::new(layout.name, layout.pressure_kind, reference, layout.axes)
    };
    let run = read_run(&sources, opts, name, meta)?;
    run.write(out)?;
    Ok((run.surface_len(), run.volume_len()))
}
