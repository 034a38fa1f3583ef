//! ShapeNet-Car (Umetani & Bickel 2018) in the layout GINO, Transolver, UPT and noether use:
//! `param<k>/<car hash>/quadpress_smpl.vtk` (a legacy unstructured grid of quads with the surface
//! pressure as point scalars; some of its points belong to no quad) and `hexvelo_smpl.vtk`
//! (hexahedra with the velocity as point vectors). There is no wall shear, no volume pressure,
//! no force table and no CAD file: the prepared runs list the two fields as absent, take the
//! geometry from the surface itself, and have no ground-truth coefficients (the raw release's
//! `cd.txt`, of unpublished definition, is carried as `cd_published`). Facts, sources and
//! what is unconfirmed: docs/datasets.md.

use crate::data::schema;
use std::path::{Path, PathBuf};

use super::{Layout, RawDataset, Runs};
use crate::data::reading::{projected_body, read_run_from, PrepareOptions, RunSources};
use crate::data::{DataError, RunMeta};
use crate::mesh::{self, Location, Mesh};
use crate::physics::{Axes, PressureKind, Reference};

/// The `shapenet-car` layout: `param<k>/<car>/` folders; runs named `param<k>_<car>`.
pub struct ShapeNetCar;

impl Layout for ShapeNetCar {
    fn name(&self) -> &'static str {
        "shapenet-car"
    }

    fn numbered(&self) -> bool {
        false
    }

    fn open(&self, src: &Path) -> Result<Box<dyn RawDataset>, DataError> {
        Ok(Box::new(Runs {
            runs: discover(src)?,
            prepare: |dir: &PathBuf, name: &str, out: &Path, opts: &PrepareOptions| {
                prepare_car(dir, name, out, opts)
            },
        }))
    }
}

/// Free-stream speed, m/s: 72 km/h as Transolver's drag script assumes; the velocity fields'
/// mean along the flow (17.6 m/s, noether's statistics) agrees with it.
pub const SPEED_M_S: f64 = 20.0;
/// Air at sea level; the dataset states no density (unconfirmed, docs/datasets.md).
pub const DENSITY_KG_M3: f64 = 1.2;
const SURFACE_FILE: &str = "quadpress_smpl.vtk";
const VOLUME_FILE: &str = "hexvelo_smpl.vtk";
/// The raw release's per-car drag value; how it was computed is not published (Transolver's Cd
/// integrated from the fields does not match it), so it is carried as `cd_published`, never as
/// the ground-truth `cd`, and `dataset info` sets it beside the Cd integrated from the fields.
const CD_FILE: &str = "cd.txt";

/// The number in a car's `cd.txt` (the first token), if the car has one.
fn published_cd(dir: &Path) -> Result<Option<f64>, DataError> {
    let path = dir.join(CD_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(DataError::read(&path, e)),
    };
    let value = text
        .split_whitespace()
        .next()
        .and_then(|t| t.parse::<f64>().ok())
        .filter(|v| v.is_finite());
    value.map(Some).ok_or_else(|| {
        DataError::file(
            &path,
            format!("expected one number, found `{}`", text.trim()),
        )
    })
}

/// The cars below `root` (ShapeNet-Car's `training_data` folder, or a folder holding it), named
/// `param<k>_<hash>` so that `--split shapenet-param0` can tell the folds apart; in order.
pub fn discover(root: &Path) -> Result<Vec<(String, PathBuf)>, DataError> {
    let nested = root.join("training_data");
    let base = if nested.is_dir() {
        nested
    } else {
        root.to_path_buf()
    };
    let list = |dir: &Path| -> Result<Vec<PathBuf>, DataError> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| DataError::read(dir, e))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        Ok(dirs)
    };
    let mut cars = Vec::new();
    for fold in list(&base)? {
        let Some(fold_name) = fold.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let is_fold = fold_name
            .strip_prefix("param")
            .is_some_and(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_digit()));
        if !is_fold {
            continue;
        }
        for car in list(&fold)? {
            if let Some(hash) = car.file_name().and_then(|n| n.to_str()) {
                cars.push((format!("{fold_name}_{hash}"), car.clone()));
            }
        }
    }
    if cars.is_empty() {
        return Err(DataError::file(
            &base,
            "no param<k>/<car>/ folders; is this ShapeNet-Car's training_data folder?",
        ));
    }
    Ok(cars)
}

/// The name of the one point array of `mesh` with `components` values a point: ShapeNet-Car's
/// files hold a single unnamed-by-convention scalar (pressure) or vector (velocity).
fn sole_point_array(mesh: &Mesh, components: usize, file: &Path) -> Result<String, DataError> {
    let found: Vec<&str> = mesh
        .point_data
        .iter()
        .filter(|f| f.components == components)
        .map(|f| f.name.as_str())
        .collect();
    match found.as_slice() {
        [one] => Ok(one.to_string()),
        [] => Err(DataError::file(
            file,
            format!("no point array with {components} component(s)"),
        )),
        many => Err(DataError::file(
            file,
            format!(
                "{} point arrays with {components} component(s) ({}); expected one",
                many.len(),
                many.join(", ")
            ),
        )),
    }
}

/// Prepares the car in `dir` into `out`: pressure averaged from the points onto the quads,
/// velocity from the points onto the hexahedra and vorticity from it, wall shear and volume
/// pressure absent. Flow along +z, y up; reference area the surface's frontal area along z,
/// reference length its extent along z.
fn prepare_car(
    dir: &Path,
    name: &str,
    out: &Path,
    opts: &PrepareOptions,
) -> Result<(usize, usize), DataError> {
    let surface_path = dir.join(SURFACE_FILE);
    let volume_path = dir.join(VOLUME_FILE);
    for path in [&surface_path, &volume_path] {
        if !path.is_file() {
            return Err(DataError::file(
                path,
                "missing (four cars of the published dataset lack their surface file)",
            ));
        }
    }
    let surface = mesh::read_mesh(&surface_path)?;
    let pressure = sole_point_array(&surface, 1, &surface_path)?;
    let volume = mesh::read_mesh(&volume_path)?;
    let velocity = sole_point_array(&volume, 3, &volume_path)?;
    if volume.field(Location::Cell, &velocity).is_some() {
        return Err(DataError::file(
            &volume_path,
            format!("`{velocity}` is both a point and a cell array; expected point data"),
        ));
    }
    drop(volume);
    let (area_m2, length_m) = projected_body(&surface, 2, &surface_path)?;
    let sources = RunSources {
        surface: surface_path.clone(),
        surface_extra: None,
        volume: volume_path,
        geometry: surface_path,
        surface_pressure: &pressure,
        surface_wall_shear: None,
        shear_negated: false,
        normals_into_body: false,
        volume_velocity: &velocity,
        volume_pressure: None,
        volume_vorticity: None,
    };
    let reference = Reference {
        density_kg_m3: DENSITY_KG_M3,
        speed_m_s: SPEED_M_S,
        area_m2,
        length_m,
    };
    // Flow along +z, y up.
    let axes = Axes { flow: 2, up: 1 };
    let meta = RunMeta {
        cd_published: published_cd(dir)?,
        absent: vec![
            schema::SURFACE_WALL_SHEAR.to_string(),
            schema::VOLUME_PRESSURE.to_string(),
        ],
        ..RunMeta::new("shapenet-car", PressureKind::Kinematic, reference, axes)
    };
    let run = read_run_from(surface, &sources, opts, name, meta)?;
    run.write(out)?;
    Ok((run.surface_len(), run.volume_len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cars_are_named_by_fold_and_hash() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for car in ["param0/aa11", "param0/bb22", "param8/cc33", "param10/dd44"] {
            std::fs::create_dir_all(root.join("training_data").join(car)).unwrap();
        }
        // Not folds: stray folders and files next to them.
        std::fs::create_dir_all(root.join("training_data/paramX/ee55")).unwrap();
        std::fs::write(root.join("training_data/param0/notes.txt"), "").unwrap();
        let names: Vec<String> = discover(root).unwrap().into_iter().map(|c| c.0).collect();
        assert_eq!(
            names,
            ["param0_aa11", "param0_bb22", "param10_dd44", "param8_cc33"]
        );
        let empty = tempfile::tempdir().unwrap();
        assert!(discover(empty.path())
            .unwrap_err()
            .to_string()
            .contains("training_data"));
    }
}
