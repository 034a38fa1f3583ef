//! Reading one raw run, whatever its dataset: what every layout reduces a run to
//! ([`RunSources`]: where its files are, what its fields are called), and the reading of it into
//! the arrays of a prepared run (surface cells with outward normals and the traction on the
//! body, a subset of volume cells, points resampled on the CAD surface). The layouts
//! (`data::layouts`) build on these blocks; these know nothing of any layout.

mod fields;
mod volume;

use std::path::{Path, PathBuf};

use crate::data::DataError;
use crate::data::{PreparedRun, RunMeta};
use crate::geometry::centroid::cell_centres;
use crate::geometry::sampling::{choose_subset, sample_surface};
use crate::geometry::surface::surface_properties;
use crate::geometry::triangles::TriangleSoup;
use crate::mesh::{self, Location, Mesh};

pub use fields::{cell_field, pick};
use volume::read_volume;

/// How much of each run to keep.
#[derive(Debug, Clone, Copy)]
pub struct PrepareOptions {
    /// Surface cells kept (0: all).
    pub surface_points: usize,
    /// Volume cells kept (0: all).
    pub volume_points: usize,
    /// Points resampled on the CAD surface.
    pub geometry_points: usize,
    pub seed: u64,
}

impl Default for PrepareOptions {
    fn default() -> Self {
        PrepareOptions {
            surface_points: 0,
            volume_points: 0,
            geometry_points: 100_000,
            seed: 0,
        }
    }
}

/// The runs of a folder of numbered runs (`run_<i>` folders, the layout `slipstream generate`
/// writes and the described layouts share), in numeric order.
pub fn numbered_runs(src: &Path) -> Result<Vec<(String, PathBuf)>, DataError> {
    let entries = std::fs::read_dir(src).map_err(|e| DataError::read(src, e))?;
    let mut runs: Vec<(u64, String, PathBuf)> = entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let n = name.strip_prefix("run_")?.parse().ok()?;
            Some((n, name, e.path()))
        })
        .collect();
    runs.sort();
    if runs.is_empty() {
        return Err(DataError::file(src, "no run_<i> folders"));
    }
    Ok(runs
        .into_iter()
        .map(|(_, name, path)| (name, path))
        .collect())
}

/// Where one run's files are and what its fields are called: what every layout reduces to.
pub struct RunSources<'a> {
    pub surface: PathBuf,
    /// A second file of the same surface points in another order whose point arrays the surface
    /// lacks (DrivAerNet++ keeps the wall shear apart from the pressure): carried onto the
    /// surface's points before the arrays are read.
    pub surface_extra: Option<PathBuf>,
    pub volume: PathBuf,
    pub geometry: PathBuf,
    pub surface_pressure: &'a str,
    /// `None`: the dataset has no wall shear (zeros, listed as absent by the caller).
    pub surface_wall_shear: Option<&'a str>,
    /// The stored wall shear is −τ (OpenFOAM's `wallShearStress`).
    pub shear_negated: bool,
    /// The surface's normals are OpenFOAM patch normals (into the body): negate them rather than
    /// orient them by the enclosed volume.
    pub normals_into_body: bool,
    pub volume_velocity: &'a str,
    /// `None`: the dataset has no volume pressure (zeros, listed as absent by the caller).
    pub volume_pressure: Option<&'a str>,
    /// `None`: computed from the velocity (least squares over neighbouring cells).
    pub volume_vorticity: Option<&'a str>,
}

/// Reads a run's surface, volume and CAD and keeps the subsets `opts` asks for: the prepared run
/// `name` with the units and references in `meta` (the layout knows them) and the whole
/// surface's area.
pub fn read_run(
    sources: &RunSources,
    opts: &PrepareOptions,
    name: &str,
    meta: RunMeta,
) -> Result<PreparedRun, DataError> {
    read_run_from(read_surface(sources)?, sources, opts, name, meta)
}

/// The run's surface mesh, with the point arrays of `surface_extra` carried onto it: for a
/// layout that needs the surface itself (its frontal area) before [`read_run_from`].
pub fn read_surface(sources: &RunSources) -> Result<Mesh, DataError> {
    let mut boundary = mesh::read_mesh(&sources.surface)?;
    if let Some(extra) = &sources.surface_extra {
        carry_point_arrays(&mut boundary, &sources.surface, extra)?;
    }
    Ok(boundary)
}

/// [`read_run`] with the surface already read ([`read_surface`]).
pub fn read_run_from(
    boundary: Mesh,
    sources: &RunSources,
    opts: &PrepareOptions,
    name: &str,
    meta: RunMeta,
) -> Result<PreparedRun, DataError> {
    let pressure = cell_field(&boundary, sources.surface_pressure, 1, &sources.surface)?;
    let stored_shear = match sources.surface_wall_shear {
        Some(spec) => cell_field(&boundary, spec, 3, &sources.surface)?,
        None => vec![0.0; 3 * boundary.n_cells()],
    };
    let mut props = surface_properties(&boundary);
    let normal_sign = if sources.normals_into_body {
        -1.0
    } else {
        props.orient_outward();
        1.0
    };
    let normal: Vec<f32> = props
        .cell_normal
        .iter()
        .flat_map(|v| v.map(|c| (normal_sign * c) as f32))
        .collect();
    let shear_sign = if sources.shear_negated { -1.0 } else { 1.0 };
    let shear: Vec<f32> = stored_shear.iter().map(|v| shear_sign * v).collect();
    let area: Vec<f32> = props.cell_area_m2.iter().map(|a| *a as f32).collect();
    let centres: Vec<f32> = cell_centres(&boundary).into_iter().flatten().collect();
    let ns = boundary.n_cells();
    let s_rows = if opts.surface_points == 0 || opts.surface_points >= ns {
        (0..ns).collect()
    } else {
        choose_subset(ns, opts.surface_points, opts.seed)
    };

    let volume = read_volume(sources, opts)?;

    // Layouts without a CAD file sample the surface itself: it is read already.
    let cad = match sources.geometry == sources.surface {
        true => boundary,
        false => mesh::read_mesh(&sources.geometry)?,
    };
    let mut soup = TriangleSoup::from_mesh(&cad);
    soup.orient_bodies_outward();
    let geometry: Vec<f32> = sample_surface(&soup, opts.geometry_points, opts.seed.wrapping_add(2))
        .position
        .into_iter()
        .flatten()
        .collect();

    Ok(PreparedRun {
        name: name.to_string(),
        meta: RunMeta {
            surface_total_area_m2: Some(props.total_area_m2),
            ..meta
        },
        surface_position: pick(&centres, 3, &s_rows),
        surface_normal: pick(&normal, 3, &s_rows),
        surface_area: pick(&area, 1, &s_rows),
        surface_pressure: pick(&pressure, 1, &s_rows),
        surface_wall_shear: pick(&shear, 3, &s_rows),
        volume_position: volume.position,
        volume_velocity: volume.velocity,
        volume_pressure: volume.pressure,
        volume_vorticity: volume.vorticity,
        geometry_position: geometry,
    })
}

/// A body's frontal area seen along axis `flow` (projected with pixels of 1/2000 of its
/// bounding-box diagonal: an error bound well under 1 % for a car) and its length along that
/// axis, in m² and m: the references of datasets that publish none.
pub fn projected_body(surface: &Mesh, flow: usize, file: &Path) -> Result<(f64, f64), DataError> {
    // The faces' corners, not every point: ShapeNet-Car's surfaces hold points no face uses.
    let soup = TriangleSoup::from_mesh(surface);
    let corners: Vec<[f32; 3]> = soup.triangles.iter().flatten().copied().collect();
    let bounds = crate::geometry::bounding_box(&corners)
        .ok_or_else(|| DataError::file(file, "the surface has no faces"))?;
    let mut direction = [0.0; 3];
    direction[flow] = 1.0;
    let area_m2 = crate::geometry::frontal_area(&soup, direction, bounds.diagonal() / 2000.0)
        .map_err(|e| DataError::file(file, e.to_string()))?
        .area_m2;
    let length_m = bounds.extent()[flow];
    if !(area_m2.is_finite() && area_m2 > 0.0 && length_m > 0.0) {
        return Err(DataError::file(
            file,
            format!("frontal area {area_m2} m² and length {length_m} m: not a body"),
        ));
    }
    Ok((area_m2, length_m))
}

/// Adds the point arrays of the file at `extra` that `surface` (read from `surface_path`) lacks,
/// carried onto `surface`'s points by matching coordinates (`point_match`); different meshes are
/// an error naming both files.
fn carry_point_arrays(
    surface: &mut Mesh,
    surface_path: &Path,
    extra: &Path,
) -> Result<(), DataError> {
    let other = mesh::read_mesh(extra)?;
    let matched = crate::data::point_match::match_points(&surface.points, &other.points)
        .map_err(|e| DataError::file(surface_path, format!("against {}: {e}", extra.display())))?;
    for field in other.point_data {
        if surface.field(Location::Point, &field.name).is_some() {
            continue;
        }
        let carried =
            crate::data::point_match::carry(&field.values.to_f32(), field.components, &matched);
        surface
            .point_data
            .push(mesh::Field::new_f32(field.name, field.components, carried));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_files_point_arrays_follow_their_points() {
        let points: Vec<[f32; 3]> = (0..50)
            .map(|i| [i as f32 * 0.1, (i % 7) as f32, (i % 3) as f32 * 0.5])
            .collect();
        let mut surface = Mesh::point_cloud(points.clone());
        surface
            .point_data
            .push(mesh::Field::new_f32("p", 1, vec![1.0; 50]));
        // The same points in another order, with the wall shear and a `p` of their own.
        let order: Vec<usize> = (0..50).map(|i| (13 * i + 5) % 50).collect();
        let mut other = Mesh::point_cloud(order.iter().map(|&i| points[i]).collect());
        let shear = order
            .iter()
            .flat_map(|&i| [i as f32, -(i as f32), 2.0 * i as f32])
            .collect();
        other
            .point_data
            .push(mesh::Field::new_f32("wallShearStress", 3, shear));
        other
            .point_data
            .push(mesh::Field::new_f32("p", 1, vec![9.0; 50]));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wss.vtp");
        mesh::write_mesh(&path, &other).unwrap();
        carry_point_arrays(&mut surface, Path::new("p.vtp"), &path).unwrap();
        let tau: Vec<f64> = surface
            .field(Location::Point, "wallShearStress")
            .unwrap()
            .values
            .iter_f64()
            .collect();
        for i in 0..50 {
            let want = [i as f64, -(i as f64), 2.0 * i as f64];
            assert_eq!(&tau[3 * i..3 * i + 3], &want, "point {i}");
        }
        let p = surface.field(Location::Point, "p").unwrap();
        assert!(
            p.values.iter_f64().all(|v| v == 1.0),
            "the surface's own p is kept"
        );

        // A second file on another mesh is refused, saying so.
        other.points[0][0] += 1.0;
        mesh::write_mesh(&path, &other).unwrap();
        let mut again = Mesh::point_cloud(points);
        let err = carry_point_arrays(&mut again, Path::new("p.vtp"), &path)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("1 of 50 points") && err.contains("different meshes"),
            "{err}"
        );
    }
}
