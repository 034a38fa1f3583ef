//! `slipstream prepare`: turns a dataset's runs into prepared runs, one HDF5 file per run in the
//! stable layout of DESIGN.md ("Prepared run"): the `slipstream` layout (what `slipstream
//! generate` writes), the declared layouts of `layouts`, and DrivAerNet++ (`drivaernet`).
//!
//! Conventions of a prepared run, whatever the source: positions in metres; `surface/normal`
//! points out of the body into the fluid; `surface/wall_shear` is the shear traction the fluid
//! exerts on the body, so the force on the body is Σ (−p n + τ) A.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::csv_table::CsvTable;
use crate::geometry::centroid::cell_centres;
use crate::geometry::gradient::{curl_least_squares, curl_least_squares_at};
use crate::geometry::sampling::{choose_subset, sample_surface};
use crate::geometry::surface::surface_properties;
use crate::geometry::triangles::TriangleSoup;
use crate::mesh::hdf5::H5Writer;
use crate::mesh::{self, Location, Mesh};

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

/// How preparing one run went.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PrepareOutcome {
    Prepared {
        run: String,
        surface: usize,
        volume: usize,
    },
    Skipped {
        run: String,
    },
    Broken {
        run: String,
        reason: String,
    },
}

/// The runs of a `slipstream`-layout folder: `run_*` folders, in numeric order.
pub fn slipstream_runs(src: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let entries = std::fs::read_dir(src).map_err(|e| format!("{}: {e}", src.display()))?;
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
        return Err(format!(
            "{}: no run_<i> folders (slipstream layout)",
            src.display()
        ));
    }
    Ok(runs
        .into_iter()
        .map(|(_, name, path)| (name, path))
        .collect())
}

/// The per-cell values of the field `spec` names: one array of `components` values a tuple, or
/// `components` comma-separated scalar arrays (WindsorML stores `cfxavg`, `cfyavg`, `cfzavg`
/// apart). Cell arrays are taken as they are; point arrays (WindsorML's and DrivAerNet++'s
/// surfaces) are averaged over each cell's points.
pub(crate) fn cell_field(
    m: &Mesh,
    spec: &str,
    components: usize,
    file: &Path,
) -> Result<Vec<f32>, String> {
    let names = array_names(spec);
    if names.len() > 1 {
        if names.len() != components {
            return Err(format!(
                "{}: field `{spec}` names {} arrays, expected {components}",
                file.display(),
                names.len()
            ));
        }
        let parts: Vec<Vec<f32>> = names
            .iter()
            .map(|n| cell_field(m, n, 1, file))
            .collect::<Result<_, _>>()?;
        return Ok(interleave(&parts));
    }
    let name = names[0];
    let shape_error = |f: &crate::mesh::Field, what: &str, count: usize| {
        format!(
            "{}: `{name}` has {} components × {} values for {count} {what}, expected {components} per {}",
            file.display(),
            f.components,
            f.values.len(),
            what.trim_end_matches('s')
        )
    };
    if let Some(f) = m.field(Location::Cell, name) {
        if f.components != components || f.values.len() != m.n_cells() * components {
            return Err(shape_error(f, "cells", m.n_cells()));
        }
        return Ok(f.values.to_f32().into_owned());
    }
    let f = m
        .field(Location::Point, name)
        .ok_or_else(|| format!("{}: no cell or point array `{name}`", file.display()))?;
    if f.components != components || f.values.len() != m.n_points() * components {
        return Err(shape_error(f, "points", m.n_points()));
    }
    let values = f.values.to_f32();
    let mut out = Vec::with_capacity(m.n_cells() * components);
    for c in 0..m.n_cells() {
        let ids = m.cells.cell(c);
        let w = 1.0 / ids.len().max(1) as f64;
        for k in 0..components {
            let sum: f64 = ids
                .iter()
                .map(|&p| values[p as usize * components + k] as f64)
                .sum();
            out.push((sum * w) as f32);
        }
    }
    Ok(out)
}

/// The arrays a field spec names: one, or comma-separated components.
fn array_names(spec: &str) -> Vec<&str> {
    spec.split(',').map(str::trim).collect()
}

/// Row-major rows from equally long columns (scalar component arrays).
fn interleave<C: AsRef<[f32]>>(columns: &[C]) -> Vec<f32> {
    let rows = columns.first().map_or(0, |c| c.as_ref().len());
    (0..rows)
        .flat_map(|r| columns.iter().map(move |c| c.as_ref()[r]))
        .collect()
}

/// Rows `rows` of a row-major array `width` values wide.
pub fn pick<T: Copy>(v: &[T], width: usize, rows: &[usize]) -> Vec<T> {
    rows.iter()
        .flat_map(|&r| v[r * width..(r + 1) * width].iter().copied())
        .collect()
}

/// Where one run's files are and what its fields are called: what every layout reduces to.
pub(crate) struct RunSources<'a> {
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

/// Reads a run's surface, volume and CAD, keeps the subsets `opts` asks for, and returns the
/// arrays with the whole surface's area; the caller fills in the run's units and references.
pub(crate) fn read_run(
    sources: &RunSources,
    opts: &PrepareOptions,
) -> Result<PreparedArrays, String> {
    read_run_from(read_surface(sources)?, sources, opts)
}

/// The run's surface mesh, with the point arrays of `surface_extra` carried onto it: for a
/// layout that needs the surface itself (its frontal area) before [`read_run_from`].
pub(crate) fn read_surface(sources: &RunSources) -> Result<Mesh, String> {
    let mut boundary = mesh::read_mesh(&sources.surface).map_err(|e| e.to_string())?;
    if let Some(extra) = &sources.surface_extra {
        carry_point_arrays(&mut boundary, extra)
            .map_err(|e| format!("{} and {}: {e}", sources.surface.display(), extra.display()))?;
    }
    Ok(boundary)
}

/// [`read_run`] with the surface already read ([`read_surface`]).
pub(crate) fn read_run_from(
    boundary: Mesh,
    sources: &RunSources,
    opts: &PrepareOptions,
) -> Result<PreparedArrays, String> {
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
        false => mesh::read_mesh(&sources.geometry).map_err(|e| e.to_string())?,
    };
    let mut soup = TriangleSoup::from_mesh(&cad);
    soup.orient_bodies_outward();
    let geometry: Vec<f32> = sample_surface(&soup, opts.geometry_points, opts.seed.wrapping_add(2))
        .position
        .into_iter()
        .flatten()
        .collect();

    Ok(PreparedArrays {
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
        surface_total_area_m2: props.total_area_m2,
        ..Default::default()
    })
}

/// A body's frontal area seen along axis `flow` (projected with pixels of 1/2000 of its
/// bounding-box diagonal: an error bound well under 1 % for a car) and its length along that
/// axis, in m² and m: the references of datasets that publish none.
pub(crate) fn projected_body(
    surface: &Mesh,
    flow: usize,
    file: &Path,
) -> Result<(f64, f64), String> {
    // The faces' corners, not every point: ShapeNet-Car's surfaces hold points no face uses.
    let soup = TriangleSoup::from_mesh(surface);
    let corners: Vec<[f32; 3]> = soup.triangles.iter().flatten().copied().collect();
    let bounds = crate::geometry::bounding_box(&corners)
        .ok_or_else(|| format!("{}: the surface has no faces", file.display()))?;
    let mut direction = [0.0; 3];
    direction[flow] = 1.0;
    let area_m2 = crate::geometry::frontal_area(&soup, direction, bounds.diagonal() / 2000.0)
        .map_err(|e| format!("{}: {e}", file.display()))?
        .area_m2;
    let length_m = bounds.extent()[flow];
    if !(area_m2.is_finite() && area_m2 > 0.0 && length_m > 0.0) {
        return Err(format!(
            "{}: frontal area {area_m2} m² and length {length_m} m: not a body",
            file.display()
        ));
    }
    Ok((area_m2, length_m))
}

/// Adds the point arrays of the file at `extra` that `surface` lacks, carried onto `surface`'s
/// points by matching coordinates (`point_match`); different meshes are an error.
fn carry_point_arrays(surface: &mut Mesh, extra: &Path) -> Result<(), String> {
    let other = mesh::read_mesh(extra).map_err(|e| e.to_string())?;
    let matched = super::point_match::match_points(&surface.points, &other.points)?;
    for field in other.point_data {
        if surface.field(Location::Point, &field.name).is_some() {
            continue;
        }
        let carried = super::point_match::carry(&field.values.to_f32(), field.components, &matched);
        surface
            .point_data
            .push(mesh::Field::new_f32(field.name, field.components, carried));
    }
    Ok(())
}

/// Volume cells whose centres and velocity are held for the least-squares vorticity when a
/// dataset has none: every cell of volumes up to this size, a random subset (holding the kept
/// cells) of larger ones. About 60 bytes a cell with the neighbour search: ~0.25 GB.
const VORTICITY_STENCIL_CELLS: usize = 4_000_000;

/// A volume's structure, from a format that can be streamed.
struct VolumeOutline {
    /// VTK XML (else BINARY legacy VTK).
    xml: bool,
    n_cells: u64,
    cell_arrays: Vec<(String, usize)>,
    point_arrays: Vec<(String, usize)>,
}

/// The kept volume cells, row-major.
struct VolumeRows {
    position: Vec<f32>,
    velocity: Vec<f32>,
    pressure: Vec<f32>,
    vorticity: Vec<f32>,
}

/// The volume cells `opts` keeps (a seeded random subset, or all), with their fields.
///
/// VTK XML and BINARY legacy VTK volumes whose fields are cell arrays are streamed: only the
/// kept cells (and, without a stored vorticity, the vorticity stencil's cells) and the points
/// are ever held, so memory follows `--volume-points`, not the file's size. Other volumes are
/// read whole.
fn read_volume(sources: &RunSources, opts: &PrepareOptions) -> Result<VolumeRows, String> {
    let path = &sources.volume;
    let keep = |n: usize| {
        if opts.volume_points == 0 || opts.volume_points >= n {
            (0..n).collect::<Vec<usize>>()
        } else {
            choose_subset(n, opts.volume_points, opts.seed.wrapping_add(1))
        }
    };
    let names =
        |spec: &str| -> Vec<String> { array_names(spec).into_iter().map(str::to_string).collect() };
    let mut wanted = names(sources.volume_velocity);
    wanted.extend(sources.volume_pressure.map(names).unwrap_or_default());
    wanted.extend(sources.volume_vorticity.map(names).unwrap_or_default());
    // Streaming reads cell arrays of VTK XML and BINARY legacy files; point arrays (averaged
    // onto cells) and other formats need the whole mesh.
    let outline = match mesh::Format::from_path(path) {
        Ok(mesh::Format::Vtu | mesh::Format::Vtp) => {
            let o = mesh::vtk_xml::outline(path).map_err(|e| e.to_string())?;
            Some(VolumeOutline {
                xml: true,
                n_cells: o.n_cells,
                cell_arrays: o.cell_arrays,
                point_arrays: o.point_arrays,
            })
        }
        Ok(mesh::Format::VtkLegacy) => mesh::vtk_legacy_stream::outline(path)
            .map_err(|e| e.to_string())?
            .map(|o| VolumeOutline {
                xml: false,
                n_cells: o.n_cells,
                cell_arrays: o.cell_arrays,
                point_arrays: o.point_arrays,
            }),
        _ => None,
    };
    // A name the file lacks altogether is an error now, before a large volume is read whole.
    if let Some(o) = &outline {
        let has = |list: &[(String, usize)], w: &String| list.iter().any(|(name, _)| name == w);
        if let Some(w) = wanted
            .iter()
            .find(|w| !has(&o.cell_arrays, w) && !has(&o.point_arrays, w))
        {
            return Err(format!("{}: no cell or point array `{w}`", path.display()));
        }
    }
    let streamable = outline.filter(|o| {
        wanted
            .iter()
            .all(|w| o.cell_arrays.iter().any(|(name, _)| name == w))
    });
    let Some(outline) = streamable else {
        let volume = mesh::read_mesh(path).map_err(|e| e.to_string())?;
        let velocity = cell_field(&volume, sources.volume_velocity, 3, path)?;
        let pressure = match sources.volume_pressure {
            Some(spec) => cell_field(&volume, spec, 1, path)?,
            None => vec![0.0; volume.n_cells()],
        };
        let centres = cell_centres(&volume);
        let vorticity = match sources.volume_vorticity {
            Some(field) => cell_field(&volume, field, 3, path)?,
            None => curl_least_squares(&centres, &velocity),
        };
        let centres: Vec<f32> = centres.into_iter().flatten().collect();
        let rows = keep(volume.n_cells());
        return Ok(VolumeRows {
            position: pick(&centres, 3, &rows),
            velocity: pick(&velocity, 3, &rows),
            pressure: pick(&pressure, 1, &rows),
            vorticity: pick(&vorticity, 3, &rows),
        });
    };
    let n = usize::try_from(outline.n_cells)
        .map_err(|_| format!("{}: too many cells", path.display()))?;
    let rows = keep(n);
    // The cells read: the kept ones, or with a computed vorticity the stencil around them.
    let read_rows: Vec<usize> = match sources.volume_vorticity {
        Some(_) => rows.clone(),
        None if n <= VORTICITY_STENCIL_CELLS => (0..n).collect(),
        None => {
            let mut r = choose_subset(n, VORTICITY_STENCIL_CELLS, opts.seed.wrapping_add(3));
            r.extend_from_slice(&rows);
            r.sort_unstable();
            r.dedup();
            r
        }
    };
    let request = mesh::vtk_xml::ExtractRequest {
        cell_centres: true,
        cell_arrays: wanted.clone(),
        cell_rows: (read_rows.len() < n).then(|| read_rows.iter().map(|&r| r as u64).collect()),
        ..Default::default()
    };
    let got = match outline.xml {
        true => mesh::vtk_xml::extract(path, &request).map_err(|e| e.to_string())?,
        false => mesh::vtk_legacy_stream::extract(path, &request)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{}: the volume could not be streamed", path.display()))?,
    };
    let field = |spec: &str, components: usize| -> Result<Vec<f32>, String> {
        let parts: Vec<&crate::mesh::Field> = array_names(spec)
            .iter()
            .map(|n| got.cell_arrays.iter().find(|f| f.name == *n))
            .collect::<Option<_>>()
            .ok_or_else(|| format!("{}: no cell array `{spec}`", path.display()))?;
        let per_part = if parts.len() == 1 { components } else { 1 };
        if parts.len() != 1 && parts.len() != components
            || parts.iter().any(|f| f.components != per_part)
        {
            return Err(format!(
                "{}: `{spec}` does not hold {components} values per cell",
                path.display()
            ));
        }
        if parts.len() == 1 {
            return Ok(parts[0].values.to_f32().into_owned());
        }
        let columns: Vec<_> = parts.iter().map(|f| f.values.to_f32()).collect();
        Ok(interleave(&columns))
    };
    let velocity = field(sources.volume_velocity, 3)?;
    let pressure = match sources.volume_pressure {
        Some(spec) => field(spec, 1)?,
        None => vec![0.0; velocity.len() / 3],
    };
    let centres = got.cell_centres.unwrap_or_default();
    if read_rows.len() == rows.len() {
        // Every cell read is kept, in order: hand the arrays over without copying.
        let vorticity = match sources.volume_vorticity {
            Some(spec) => field(spec, 3)?,
            None => curl_least_squares(&centres, &velocity),
        };
        return Ok(VolumeRows {
            position: centres.into_iter().flatten().collect(),
            velocity,
            pressure,
            vorticity,
        });
    }
    // Where each kept cell sits among the cells read. A computed vorticity is evaluated at the
    // kept cells only (the other cells read are their stencil), not at every cell read.
    let at: Vec<usize> = rows
        .iter()
        .map(|r| read_rows.binary_search(r).unwrap_or_default())
        .collect();
    let vorticity = match sources.volume_vorticity {
        Some(spec) => pick(&field(spec, 3)?, 3, &at),
        None => curl_least_squares_at(&centres, &velocity, &at),
    };
    Ok(VolumeRows {
        position: at.iter().flat_map(|&i| centres[i]).collect(),
        velocity: pick(&velocity, 3, &at),
        pressure: pick(&pressure, 1, &at),
        vorticity,
    })
}

/// Prepares one run of the `slipstream` layout into `out` (through a temporary file, so a
/// half-written run is never left behind).
pub fn prepare_slipstream_run(
    dir: &Path,
    name: &str,
    out: &Path,
    opts: &PrepareOptions,
) -> Result<(usize, usize), String> {
    let n: String = name.trim_start_matches("run_").to_string();
    let record_path = dir.join("run.json");
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&record_path)
            .map_err(|e| format!("{}: {e}", record_path.display()))?,
    )
    .map_err(|e| format!("{}: {e}", record_path.display()))?;
    let number = |key: &str| -> Result<f64, String> {
        record[key]
            .as_f64()
            .ok_or_else(|| format!("{}: no number `{key}`", record_path.display()))
    };
    let text = |key: &str| record[key].as_str().unwrap_or("").to_string();

    // OpenFOAM writes patch faces with normals into the body and wallShearStress as −τ.
    let sources = RunSources {
        surface: dir.join(format!("boundary_{n}.vtp")),
        surface_extra: None,
        volume: dir.join(format!("volume_{n}.vtu")),
        geometry: dir.join(format!("ahmed_{n}.stl")),
        surface_pressure: "p",
        surface_wall_shear: Some("wallShearStress"),
        shear_negated: true,
        normals_into_body: true,
        volume_velocity: "U",
        volume_pressure: Some("p"),
        volume_vorticity: Some("vorticity"),
    };
    let arrays = PreparedArrays {
        layout: "slipstream".into(),
        run: name.to_string(),
        pressure_kind: text("pressure_kind"),
        density_kg_m3: number("density_kg_m3")?,
        speed_m_s: number("speed_m_s")?,
        ref_area_m2: number("ref_area_m2")?,
        ref_length_m: number("ref_length_m")?,
        up_axis: text("up_axis"),
        flow_axis: text("flow_axis"),
        coefficients: slipstream_coefficients(&record, &record_path, dir, &n)?,
        parameters: slipstream_parameters(&record, dir, &n)?,
        ..read_run(&sources, opts)?
    };
    arrays.write(out)?;
    Ok((arrays.surface_area.len(), arrays.volume_position.len() / 3))
}

/// cd, cl and cs of a generated run: from `run.json` when it has all three, else from
/// `force_mom_<i>.csv` (where the layout guarantees them); neither: an error naming both files.
fn slipstream_coefficients(
    record: &serde_json::Value,
    record_path: &Path,
    dir: &Path,
    n: &str,
) -> Result<[Option<f64>; 3], String> {
    let from_record = ["cd", "cl", "cs"].map(|k| record[k].as_f64());
    if from_record.iter().all(Option::is_some) {
        return Ok(from_record);
    }
    let csv_path = dir.join(format!("force_mom_{n}.csv"));
    let table = CsvTable::read(&csv_path)
        .map_err(|e| format!("{} has no cd, cl and cs, and {e}", record_path.display()))?;
    let from_csv = ["cd", "cl", "cs"].map(|k| table.value(k));
    match from_csv {
        [Some(_), Some(_), Some(_)] => Ok(from_csv),
        _ => Err(format!(
            "neither {} nor {} holds single values of cd, cl and cs",
            record_path.display(),
            csv_path.display()
        )),
    }
}

/// Design parameters of a generated run: `geo_parameters_<i>.csv`, else `run.json`'s `params`.
fn slipstream_parameters(
    record: &serde_json::Value,
    dir: &Path,
    n: &str,
) -> Result<super::design_parameters::Parameters, String> {
    use super::design_parameters::{from_csv_if_present, from_json};
    let csv = from_csv_if_present(&dir.join(format!("geo_parameters_{n}.csv")))?;
    Ok(csv.unwrap_or_else(|| from_json(&record["params"])))
}

/// Everything a prepared run stores (DESIGN.md "Prepared run"), row-major float32.
#[derive(Debug, Clone, Default)]
pub struct PreparedArrays {
    pub surface_position: Vec<f32>,
    pub surface_normal: Vec<f32>,
    pub surface_area: Vec<f32>,
    pub surface_pressure: Vec<f32>,
    pub surface_wall_shear: Vec<f32>,
    pub volume_position: Vec<f32>,
    pub volume_velocity: Vec<f32>,
    pub volume_pressure: Vec<f32>,
    pub volume_vorticity: Vec<f32>,
    pub geometry_position: Vec<f32>,
    pub layout: String,
    pub run: String,
    pub pressure_kind: String,
    pub density_kg_m3: f64,
    pub speed_m_s: f64,
    pub ref_area_m2: f64,
    pub ref_length_m: f64,
    pub up_axis: String,
    pub flow_axis: String,
    /// cd, cl, cs where the dataset has them.
    pub coefficients: [Option<f64>; 3],
    /// The whole surface's area (a subset's areas no longer add up to it).
    pub surface_total_area_m2: f64,
    /// Target fields the dataset lacks (`run::MASKABLE_FIELDS` names): not written, and listed
    /// in the `absent_fields` attribute so that training and evaluation mask them.
    pub absent: Vec<&'static str>,
    /// The run's design parameters, where the dataset ships them (empty: none).
    pub parameters: super::design_parameters::Parameters,
    /// A drag value the dataset publishes without saying how it was computed (ShapeNet-Car's
    /// `cd.txt`): root attribute `cd_published`, reported beside the integrated Cd, never used as
    /// ground truth.
    pub published_cd: Option<f64>,
}

impl PreparedArrays {
    /// Writes the run (temporary file, then rename).
    pub fn write(&self, out: &Path) -> Result<(), String> {
        let (ns, nv) = (self.surface_area.len(), self.volume_position.len() / 3);
        let mut h5 = H5Writer::new();
        h5.compress(true)
            .dataset_f32("surface/position", &[ns, 3], &self.surface_position)
            .dataset_f32("surface/normal", &[ns, 3], &self.surface_normal)
            .dataset_f32("surface/area", &[ns], &self.surface_area)
            .dataset_f32("volume/position", &[nv, 3], &self.volume_position);
        let targets: [(&str, usize, usize, &[f32]); 5] = [
            ("surface/pressure", ns, 1, &self.surface_pressure),
            ("surface/wall_shear", ns, 3, &self.surface_wall_shear),
            ("volume/pressure", nv, 1, &self.volume_pressure),
            ("volume/velocity", nv, 3, &self.volume_velocity),
            ("volume/vorticity", nv, 3, &self.volume_vorticity),
        ];
        for (name, rows, width, values) in targets {
            if self.absent.contains(&name) {
                continue;
            }
            match width {
                1 => h5.dataset_f32(name, &[rows], values),
                _ => h5.dataset_f32(name, &[rows, width], values),
            };
        }
        if !self.absent.is_empty() {
            h5.attr_text("/", super::run::ABSENT_ATTRIBUTE, &self.absent.join(","));
        }
        h5.dataset_f32(
            "geometry/position",
            &[self.geometry_position.len() / 3, 3],
            &self.geometry_position,
        )
        .attr_text("/", "layout", &self.layout)
        .attr_text("/", "run", &self.run)
        .attr_text("/", "pressure_kind", &self.pressure_kind)
        .attr_f64("/", "density_kg_m3", self.density_kg_m3)
        .attr_f64("/", "speed_m_s", self.speed_m_s)
        .attr_f64("/", "ref_area_m2", self.ref_area_m2)
        .attr_f64("/", "ref_length_m", self.ref_length_m)
        .attr_text("/", "up_axis", &self.up_axis)
        .attr_text("/", "flow_axis", &self.flow_axis)
        .attr_f64("/", "surface_total_area_m2", self.surface_total_area_m2);
        for (name, value) in ["cd", "cl", "cs"].iter().zip(self.coefficients) {
            if let Some(v) = value {
                h5.attr_f64("/", name, v);
            }
        }
        if let Some(v) = self.published_cd {
            h5.attr_f64("/", "cd_published", v);
        }
        if !self.parameters.is_empty() {
            use super::design_parameters::{check, NAMES_ATTRIBUTE, VALUES_ATTRIBUTE};
            check(&self.parameters).map_err(|e| format!("{}: {e}", self.run))?;
            let (names, values): (Vec<&str>, Vec<f64>) = self
                .parameters
                .iter()
                .map(|(n, v)| (n.as_str(), *v))
                .unzip();
            h5.attr_text("/", NAMES_ATTRIBUTE, &names.join(","))
                .attr_f64s("/", VALUES_ATTRIBUTE, &values);
        }
        h5.write(out).map_err(|e| e.to_string())
    }
}

/// Which runs of a dataset to prepare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunSelection {
    /// Inclusive range of run numbers (`--runs 1-50`).
    pub numbers: Option<(u64, u64)>,
    /// Shard `i` of `n` (0-based): every n-th run of the selected list, for cluster job arrays.
    pub shard: Option<(usize, usize)>,
}

impl RunSelection {
    /// Parses `--runs A-B` (or a single number) and `--shard i/n`.
    pub fn parse(runs: Option<&str>, shard: Option<&str>) -> Result<Self, String> {
        let numbers = match runs {
            None => None,
            Some(text) => {
                let bad = || format!("--runs `{text}`: use A-B (inclusive) or one number");
                let (a, b) = match text.split_once('-') {
                    Some((a, b)) => (
                        a.trim().parse().map_err(|_| bad())?,
                        b.trim().parse().map_err(|_| bad())?,
                    ),
                    None => {
                        let v = text.trim().parse().map_err(|_| bad())?;
                        (v, v)
                    }
                };
                if a > b {
                    return Err(bad());
                }
                Some((a, b))
            }
        };
        let shard = match shard {
            None => None,
            Some(text) => {
                let bad = || format!("--shard `{text}`: use i/n with 0 <= i < n");
                let (i, n) = text.split_once('/').ok_or_else(bad)?;
                let (i, n): (usize, usize) = (
                    i.trim().parse().map_err(|_| bad())?,
                    n.trim().parse().map_err(|_| bad())?,
                );
                if n == 0 || i >= n {
                    return Err(bad());
                }
                Some((i, n))
            }
        };
        Ok(RunSelection { numbers, shard })
    }

    fn apply<T>(&self, runs: Vec<(String, T)>) -> Vec<(String, T)> {
        let number = |name: &str| {
            name.trim_start_matches("run_")
                .parse::<u64>()
                .unwrap_or(u64::MAX)
        };
        let selected: Vec<(String, T)> = runs
            .into_iter()
            .filter(|(name, _)| {
                self.numbers
                    .is_none_or(|(a, b)| (a..=b).contains(&number(name)))
            })
            .collect();
        match self.shard {
            None => selected,
            Some((i, n)) => selected
                .into_iter()
                .enumerate()
                .filter(|(k, _)| k % n == i)
                .map(|(_, r)| r)
                .collect(),
        }
    }
}

/// Layout names `prepare` accepts.
pub fn layout_names() -> Vec<&'static str> {
    let mut names = vec!["slipstream"];
    names.extend(super::layouts::LAYOUTS.iter().map(|l| l.name));
    names.extend(["drivaernet", "shapenet-car"]);
    names
}

/// Prepares the selected runs of `src` (layout `layout`) into `out/<run>.h5`, `jobs` runs at
/// once; finished runs are skipped (outputs appear only complete), broken ones reported with the
/// reason while the rest still prepare. Outcomes come back in run order.
pub fn prepare_dataset(
    layout: &str,
    src: &Path,
    out: &Path,
    opts: &PrepareOptions,
    selection: &RunSelection,
    jobs: usize,
    progress: impl Fn(&PrepareOutcome) + Sync,
) -> Result<Vec<PrepareOutcome>, String> {
    use super::drivaernet::{self, DesignFiles, Tables};
    use rayon::prelude::*;
    /// Where a run comes from: a `run_<i>` folder, or a DrivAerNet++ design's files.
    enum Source<'t> {
        Folder(PathBuf),
        Design(Box<DesignFiles>, &'t Tables),
        Car(PathBuf),
    }
    let described = super::layouts::layout(layout);
    if !layout_names().contains(&layout) {
        return Err(format!(
            "unknown layout `{layout}`; supported: {}",
            layout_names().join(", ")
        ));
    }
    let named = matches!(layout, "drivaernet" | "shapenet-car");
    if named && selection.numbers.is_some() {
        return Err(format!(
            "--runs selects numbered runs; {layout} runs are named, not numbered: use --shard \
             i/n, or a folder holding only the runs wanted"
        ));
    }
    let tables: Tables;
    let runs: Vec<(String, Source)> = if layout == "shapenet-car" {
        super::shapenet::discover(src)?
            .into_iter()
            .map(|(name, dir)| (name, Source::Car(dir)))
            .collect()
    } else if layout == "drivaernet" {
        let designs = drivaernet::discover(src)?;
        tables = Tables::find(src)?;
        designs
            .into_iter()
            .map(|d| (d.id.clone(), Source::Design(Box::new(d), &tables)))
            .collect()
    } else {
        slipstream_runs(src)?
            .into_iter()
            .map(|(name, dir)| (name, Source::Folder(dir)))
            .collect()
    };
    let runs = selection.apply(runs);
    if runs.is_empty() {
        return Err(format!("{}: no run matches the selection", src.display()));
    }
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| e.to_string())?;
    let outcomes = pool.install(|| {
        runs.par_iter()
            .map(|(name, source)| {
                let name = name.clone();
                let target = out.join(format!("{name}.h5"));
                let outcome = if target.is_file() {
                    PrepareOutcome::Skipped { run: name }
                } else {
                    let result = match (source, described) {
                        (Source::Design(d, t), _) => {
                            drivaernet::prepare_design(d, t, &target, opts)
                        }
                        (Source::Car(dir), _) => {
                            super::shapenet::prepare_car(dir, &name, &target, opts)
                        }
                        (Source::Folder(dir), Some(l)) => {
                            super::layouts::prepare_run(l, dir, &name, &target, opts)
                        }
                        (Source::Folder(dir), None) => {
                            prepare_slipstream_run(dir, &name, &target, opts)
                        }
                    };
                    match result {
                        Ok((surface, volume)) => PrepareOutcome::Prepared {
                            run: name,
                            surface,
                            volume,
                        },
                        Err(reason) => PrepareOutcome::Broken { run: name, reason },
                    }
                };
                progress(&outcome);
                outcome
            })
            .collect()
    });
    Ok(outcomes)
}

/// How `prepare` splits the runs.
#[derive(Debug, Clone, PartialEq)]
pub enum SplitRule {
    /// Train, validation and test fractions of a seeded shuffle.
    Fractions([f64; 3]),
    /// A published split by name (see [`super::published_splits`]).
    Published(String),
    /// Lists of run names in a folder ([`super::published_splits::from_lists`]).
    Lists(PathBuf),
}

impl SplitRule {
    /// `0.8,0.1,0.1`, a published split's name, or a folder of split lists.
    pub fn parse(text: &str) -> Result<Self, String> {
        if super::published_splits::NAMES.contains(&text) {
            return Ok(SplitRule::Published(text.to_string()));
        }
        if Path::new(text).is_dir() {
            return Ok(SplitRule::Lists(PathBuf::from(text)));
        }
        let f: Vec<f64> = text
            .split(',')
            .map(|x| x.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| split_usage(text))?;
        match f.as_slice() {
            [a, b, c] if f.iter().all(|x| x.is_finite() && *x >= 0.0) && a + b + c > 0.0 => {
                Ok(SplitRule::Fractions([*a, *b, *c]))
            }
            _ => Err(split_usage(text)),
        }
    }
}

fn split_usage(text: &str) -> String {
    format!(
        "--split `{text}`: give three non-negative fractions (train,val,test), e.g. 0.8,0.1,0.1, \
         a published split ({}), or a folder with train/val/test lists of run names",
        super::published_splits::NAMES.join(", ")
    )
}

/// The runs prepared in `out`: the stems of its `.h5` files.
fn prepared_run_names(out: &Path) -> Result<Vec<String>, String> {
    let entries = std::fs::read_dir(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut names = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", out.display()))?.path();
        if path.extension().is_some_and(|x| x == "h5") {
            if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                names.push(stem.to_string());
            }
        }
    }
    Ok(names)
}

/// Writes `out/splits.json` (once: an existing file is kept, so the split stays fixed; split
/// lists are applied anew each time) and
/// `out/stats.json` (statistics of the training split's prepared runs). Returns both.
pub fn write_splits_and_stats(
    out: &Path,
    runs: &[String],
    rule: &SplitRule,
    seed: u64,
) -> Result<(super::stats::Splits, super::stats::DatasetStats), String> {
    write_splits_and_stats_adding(out, runs, rule, seed, None)
}

/// [`write_splits_and_stats`], and with an existing `splits.json`, prepared runs that are in no
/// split yet join `new_runs_to` (a grown dataset keeps its validation and test runs fixed).
pub fn write_splits_and_stats_adding(
    out: &Path,
    runs: &[String],
    rule: &SplitRule,
    seed: u64,
    new_runs_to: Option<super::Split>,
) -> Result<(super::stats::Splits, super::stats::DatasetStats), String> {
    use super::stats::{compute, Splits};
    let splits_path = out.join("splits.json");
    let fresh = |s: Splits| -> Result<Splits, String> {
        let text = serde_json::to_string_pretty(&s).map_err(|e| e.to_string())?;
        mesh::write_bytes_atomically(&splits_path, text.as_bytes()).map_err(|e| e.to_string())?;
        Ok(s)
    };
    let splits: Splits = match rule {
        // The lists fix every run's split, so runs prepared later take their listed place, and
        // runs prepared by an earlier call (`--runs` one at a time) keep theirs.
        SplitRule::Lists(dir) => {
            let mut all = prepared_run_names(out)?;
            all.extend(runs.iter().cloned());
            all.sort();
            all.dedup();
            fresh(super::published_splits::from_lists(dir, &all)?)?
        }
        _ if splits_path.is_file() => {
            let text = std::fs::read_to_string(&splits_path)
                .map_err(|e| format!("{}: {e}", splits_path.display()))?;
            let mut s: Splits = serde_json::from_str(&text)
                .map_err(|e| format!("{}: {e}", splits_path.display()))?;
            let unassigned: Vec<String> = runs
                .iter()
                .filter(|r| !s.train.contains(r) && !s.val.contains(r) && !s.test.contains(r))
                .cloned()
                .collect();
            match new_runs_to {
                Some(split) if !unassigned.is_empty() => {
                    let target = match split {
                        super::Split::Train => &mut s.train,
                        super::Split::Val => &mut s.val,
                        super::Split::Test => &mut s.test,
                    };
                    target.extend(unassigned);
                    target.sort();
                    s = fresh(s)?;
                }
                None if !unassigned.is_empty() => {
                    return Err(format!(
                        "{}: {} prepared runs are in no split ({}…); pass --new-runs-to train (or \
                         val, test) to add them, the existing runs keep their splits",
                        splits_path.display(),
                        unassigned.len(),
                        unassigned[0]
                    ));
                }
                _ => {}
            }
            s
        }
        SplitRule::Fractions(fractions) => fresh(Splits::random(runs, *fractions, seed))?,
        SplitRule::Published(name) => fresh(super::published_splits::published(name, runs)?)?,
    };
    let train: Vec<String> = splits
        .train
        .iter()
        .filter(|r| out.join(format!("{r}.h5")).is_file())
        .cloned()
        .collect();
    if train.is_empty() {
        return Err(format!(
            "{}: no prepared run in the training split",
            splits_path.display()
        ));
    }
    let stats = compute(out, &train)?;
    let text = serde_json::to_string_pretty(&stats).map_err(|e| e.to_string())?;
    mesh::write_bytes_atomically(&out.join("stats.json"), text.as_bytes())
        .map_err(|e| e.to_string())?;
    Ok((splits, stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_runs_take_coefficients_from_run_json_else_the_force_table() {
        let dir = tempfile::tempdir().unwrap();
        let record_path = dir.path().join("run.json");
        let with: serde_json::Value =
            serde_json::from_str(r#"{"cd": 0.3, "cl": 0.1, "cs": 0.0}"#).unwrap();
        assert_eq!(
            slipstream_coefficients(&with, &record_path, dir.path(), "7").unwrap(),
            [Some(0.3), Some(0.1), Some(0.0)]
        );
        let without: serde_json::Value = serde_json::from_str(r#"{"cd": 0.3}"#).unwrap();
        let e = slipstream_coefficients(&without, &record_path, dir.path(), "7").unwrap_err();
        assert!(
            e.contains("run.json") && e.contains("force_mom_7.csv"),
            "{e}"
        );
        std::fs::write(dir.path().join("force_mom_7.csv"), "cd,cl\n0.31,0.12\n").unwrap();
        let e = slipstream_coefficients(&without, &record_path, dir.path(), "7").unwrap_err();
        assert!(
            e.contains("run.json") && e.contains("force_mom_7.csv"),
            "{e}"
        );
        std::fs::write(
            dir.path().join("force_mom_7.csv"),
            "cd,cl,cs\n0.31,0.12,0.01\n",
        )
        .unwrap();
        assert_eq!(
            slipstream_coefficients(&without, &record_path, dir.path(), "7").unwrap(),
            [Some(0.31), Some(0.12), Some(0.01)]
        );
    }

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
        carry_point_arrays(&mut surface, &path).unwrap();
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
        let err = carry_point_arrays(&mut again, &path).unwrap_err();
        assert!(
            err.contains("1 of 50 points") && err.contains("different meshes"),
            "{err}"
        );
    }
}
