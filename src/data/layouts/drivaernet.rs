//! Finding a DrivAerNet++ design's files. The dataset ships one archive per modality and car
//! category, and unpackings nest them differently (`PressureVTK/<category>/<id>.vtk`, or
//! `pressure/<category>/PressureVTK/<category>/<id>.vtk`; volumes in `CFD/<category>_part1` or
//! `_part2`), so files are found by the modality folder they sit under and named by their design
//! id, at any depth (docs/datasets.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Layout, RawDataset, Runs};
use crate::data::csv_table::KeyedTable;
use crate::data::reading::{
    projected_body, read_run_from, read_surface, PrepareOptions, RunSources,
};
use crate::data::{DataError, RunMeta};
use crate::physics::{Axes, PressureKind, Reference};

/// The `drivaernet` layout: DrivAerNet++'s modality folders; runs named by design id.
pub struct DrivAerNet;

impl Layout for DrivAerNet {
    fn name(&self) -> &'static str {
        "drivaernet"
    }

    fn numbered(&self) -> bool {
        false
    }

    fn open(&self, src: &Path) -> Result<Box<dyn RawDataset>, DataError> {
        let designs = discover(src)?;
        let tables = Tables::find(src)?;
        Ok(Box::new(Runs {
            runs: designs.into_iter().map(|d| (d.id.clone(), d)).collect(),
            prepare: move |design: &DesignFiles, _: &str, out: &Path, opts: &PrepareOptions| {
                prepare_design(design, &tables, out, opts)
            },
        }))
    }
}

/// Air density of the simulations (the author, DrivAerNet issue #2), kg/m³.
pub const DENSITY_KG_M3: f64 = 1.2;
/// Free-stream speed, m/s: implied by the authors' tutorial and issue #2, never stated outright
/// (docs/datasets.md). Only the velocity's scale in the prepared run depends on it.
pub const SPEED_M_S: f64 = 30.0;
/// The drag table: `Design`, `Average Cd` (each design's Cd on its own frontal area).
const DRAG_TABLE: &str = "DrivAerNetPlusPlus_Cd_8k_Updated.csv";
/// The frontal areas: `Car Design`, `Frontal Area (m²)`; about 114 designs are missing.
const AREA_TABLE: &str = "DrivAerNetPlusPlus_CarDesign_Areas.csv";

/// The files of one design; the surface pressure file defines the design.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesignFiles {
    /// The design id, e.g. `F_D_WM_WW_0001`.
    pub id: String,
    pub pressure: PathBuf,
    pub wall_shear: Option<PathBuf>,
    pub volume: Option<PathBuf>,
    pub stl: Option<PathBuf>,
}

impl DesignFiles {
    /// What the design lacks for a full prepared run, for the broken-run report.
    pub fn missing(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.wall_shear.is_none() {
            missing.push("wall-shear VTK (WallShearStressVTK_Updated/)");
        }
        if self.volume.is_none() {
            missing.push("volume VTK (CFD/<category>_part1|2/)");
        }
        if self.stl.is_none() {
            missing.push("STL (3DMeshesSTL/)");
        }
        missing
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Modality {
    Pressure,
    WallShear,
    Volume,
    Stl,
}

/// The modality of a file, from the nearest ancestor folder that names one.
fn modality(path: &Path, root: &Path) -> Option<Modality> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    let relative = path.strip_prefix(root).ok()?;
    relative.parent()?.components().rev().find_map(|c| {
        match (c.as_os_str().to_str()?, ext.as_str()) {
            ("PressureVTK", "vtk") => Some(Modality::Pressure),
            ("WallShearStressVTK_Updated" | "WallShearStressVTK", "vtk") => {
                Some(Modality::WallShear)
            }
            ("CFD", "vtk") => Some(Modality::Volume),
            ("3DMeshesSTL", "stl") => Some(Modality::Stl),
            _ => None,
        }
    })
}

/// Deepest folder level searched below the root (the deepest known unpacking uses 5).
const MAX_DEPTH: usize = 8;

fn walk(dir: &Path, depth: usize, files: &mut Vec<PathBuf>) -> Result<(), DataError> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::read(dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| DataError::read(dir, e))?.path();
        if path.is_dir() {
            if depth < MAX_DEPTH {
                walk(&path, depth + 1, files)?;
            }
        } else {
            files.push(path);
        }
    }
    Ok(())
}

/// Every design below `root` that has a surface pressure file, sorted by id, with whichever of
/// its other files exist. A design id found twice in one modality is an error naming both files.
pub fn discover(root: &Path) -> Result<Vec<DesignFiles>, DataError> {
    let mut files = Vec::new();
    walk(root, 0, &mut files)?;
    files.sort();
    let mut found: BTreeMap<(Modality, String), PathBuf> = BTreeMap::new();
    for path in files {
        let (Some(m), Some(id)) = (
            modality(&path, root),
            path.file_stem().and_then(|s| s.to_str()),
        ) else {
            continue;
        };
        if let Some(first) = found.insert((m, id.to_string()), path.clone()) {
            return Err(DataError::file(
                &path,
                format!(
                    "design {id} appears twice: here and in {}; keep one copy",
                    first.display()
                ),
            ));
        }
    }
    let ids: Vec<String> = found
        .keys()
        .filter(|(m, _)| *m == Modality::Pressure)
        .map(|(_, id)| id.clone())
        .collect();
    if ids.is_empty() {
        return Err(DataError::file(
            root,
            "no PressureVTK/…/<design>.vtk below it; is this a DrivAerNet++ folder?",
        ));
    }
    let mut take = |m: Modality, id: &str| found.remove(&(m, id.to_string()));
    Ok(ids
        .into_iter()
        .filter_map(|id| {
            Some(DesignFiles {
                pressure: take(Modality::Pressure, &id)?,
                wall_shear: take(Modality::WallShear, &id),
                volume: take(Modality::Volume, &id),
                stl: take(Modality::Stl, &id),
                id,
            })
        })
        .collect())
}

/// The dataset-wide tables: drag for every design, frontal areas for most.
pub struct Tables {
    drag: KeyedTable,
    drag_path: PathBuf,
    areas: Option<KeyedTable>,
}

impl Tables {
    /// Finds and reads the tables below `root` (at any depth, by their published names). Without
    /// the drag table no design has its ground truth: an error that says which file to add.
    pub fn find(root: &Path) -> Result<Self, DataError> {
        let mut files = Vec::new();
        walk(root, 0, &mut files)?;
        let named = |name: &str| -> Result<Option<PathBuf>, DataError> {
            let found: Vec<&PathBuf> = files
                .iter()
                .filter(|p| p.file_name().is_some_and(|n| n == name))
                .collect();
            match found.as_slice() {
                [] => Ok(None),
                [one] => Ok(Some((*one).clone())),
                [a, b, ..] => Err(DataError::file(
                    b,
                    format!(
                        "{name} appears twice: here and {}; keep one copy",
                        a.display()
                    ),
                )),
            }
        };
        let drag_path = named(DRAG_TABLE)?.ok_or_else(|| {
            DataError::file(
                root,
                format!(
                    "no {DRAG_TABLE} below it; it holds every design's drag coefficient (the \
                     dataset's `Average Cd`), download it with the dataset and put it in this \
                     folder"
                ),
            )
        })?;
        let drag = KeyedTable::read(&drag_path, "Design")?;
        let areas = named(AREA_TABLE)?
            .map(|p| KeyedTable::read(&p, "Car Design"))
            .transpose()?;
        Ok(Tables {
            drag,
            drag_path,
            areas,
        })
    }
}

/// Prepares one design into `out`: pressure and wall shear from the two surface files (matched
/// point by point), velocity and pressure from the volume, vorticity from the velocity, Cd from
/// the drag table, the frontal area from the area table or, for the designs it lacks, from the
/// surface's projection along the flow. The reference length is the body's length along the flow
/// (the dataset publishes none). Without an STL the geometry is sampled on the pressure surface,
/// the same car as CFD meshed it.
fn prepare_design(
    design: &DesignFiles,
    tables: &Tables,
    out: &Path,
    opts: &PrepareOptions,
) -> Result<(usize, usize), DataError> {
    let lacking = |what: &str| {
        DataError::file(
            &design.pressure,
            format!("design {} has no {what}", design.id),
        )
    };
    let wall_shear = design
        .wall_shear
        .clone()
        .ok_or_else(|| lacking("wall-shear VTK (WallShearStressVTK_Updated/)"))?;
    let volume = design
        .volume
        .clone()
        .ok_or_else(|| lacking("volume VTK (CFD/<category>_part1|2/)"))?;
    let cd = tables.drag.value(&design.id, "Average Cd").ok_or_else(|| {
        DataError::file(
            &tables.drag_path,
            format!("no `Average Cd` for design {}", design.id),
        )
    })?;
    let sources = RunSources {
        surface: design.pressure.clone(),
        surface_extra: Some(wall_shear),
        volume,
        geometry: design
            .stl
            .clone()
            .unwrap_or_else(|| design.pressure.clone()),
        surface_pressure: "p",
        surface_wall_shear: Some("wallShearStress"),
        shear_negated: true,
        normals_into_body: false,
        volume_velocity: "U",
        volume_pressure: Some("p"),
        volume_vorticity: None,
    };
    let boundary = read_surface(&sources)?;
    let (projected_m2, length_m) = projected_body(&boundary, 0, &design.pressure)?;
    let area_m2 = tables
        .areas
        .as_ref()
        .and_then(|t| t.value(&design.id, "Frontal Area (m²)"))
        .unwrap_or(projected_m2);
    let reference = Reference {
        density_kg_m3: DENSITY_KG_M3,
        speed_m_s: SPEED_M_S,
        area_m2,
        length_m,
    };
    // Flow along +x, z up.
    let axes = Axes { flow: 0, up: 2 };
    let meta = RunMeta {
        cd: Some(cd),
        ..RunMeta::new("drivaernet", PressureKind::Kinematic, reference, axes)
    };
    let run = read_run_from(boundary, &sources, opts, &design.id, meta)?;
    run.write(out)?;
    Ok((run.surface_len(), run.volume_len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(root: &Path, relative: &str) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"").unwrap();
    }

    #[test]
    fn designs_are_found_by_modality_folder_at_any_depth() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // The flat unpacking for one category, the nested one for another.
        touch(root, "PressureVTK/N_S_WWS_WM/N_S_WWS_WM_001.vtk");
        touch(
            root,
            "WallShearStressVTK_Updated/N_S_WWS_WM/N_S_WWS_WM_001.vtk",
        );
        touch(root, "CFD/N_S_WWS_WM_part2/N_S_WWS_WM_001.vtk");
        touch(root, "3DMeshesSTL/N_S_WWS_WM/N_S_WWS_WM_001.stl");
        touch(
            root,
            "pressure/F_D_WM_WW_1/PressureVTK/F_D_WM_WW_1/F_D_WM_WW_0001.vtk",
        );
        touch(
            root,
            "wss/F_D_WM_WW_1/WallShearStressVTK_Updated/F_D_WM_WW_1/F_D_WM_WW_0001.vtk",
        );
        touch(root, "CFD/F_D_WM_WW_1_part1/F_D_WM_WW_0001.vtk");
        // Files of no modality, and a wall-shear file without a pressure file, are ignored.
        touch(root, "PressureVTK/README.txt");
        touch(
            root,
            "WallShearStressVTK_Updated/E_S_WW_WM/E_S_WW_WM_002.vtk",
        );
        let designs = discover(root).unwrap();
        let ids: Vec<&str> = designs.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["F_D_WM_WW_0001", "N_S_WWS_WM_001"]);
        let full = &designs[1];
        assert!(full.missing().is_empty(), "{:?}", full.missing());
        assert!(full
            .volume
            .as_ref()
            .unwrap()
            .ends_with("CFD/N_S_WWS_WM_part2/N_S_WWS_WM_001.vtk"));
        let partial = &designs[0];
        assert!(partial.wall_shear.is_some() && partial.volume.is_some());
        assert_eq!(partial.missing(), ["STL (3DMeshesSTL/)"]);
    }

    #[test]
    fn a_design_twice_and_a_folder_without_designs_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert!(discover(root)
            .unwrap_err()
            .to_string()
            .contains("no PressureVTK"));
        touch(root, "PressureVTK/A/X_001.vtk");
        touch(root, "CFD/A_part1/X_001.vtk");
        touch(root, "CFD/A_part2/X_001.vtk");
        let err = discover(root).unwrap_err().to_string();
        assert!(err.contains("X_001 appears twice"), "{err}");
        assert!(err.contains("A_part1") && err.contains("A_part2"), "{err}");
    }
}
