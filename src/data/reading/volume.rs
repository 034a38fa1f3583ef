//! A run's volume cells: the seeded subset `--volume-points` keeps, with velocity, pressure and
//! vorticity, streamed from files too large to hold whole.

use crate::data::DataError;
use crate::geometry::centroid::cell_centres;
use crate::geometry::gradient::{curl_least_squares, curl_least_squares_at};
use crate::geometry::sampling::choose_subset;
use crate::mesh;

use super::fields::{array_names, cell_field, interleave, pick};
use super::{PrepareOptions, RunSources};

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
pub(super) struct VolumeRows {
    pub position: Vec<f32>,
    pub velocity: Vec<f32>,
    pub pressure: Vec<f32>,
    pub vorticity: Vec<f32>,
}

/// The volume cells `opts` keeps (a seeded random subset, or all), with their fields.
///
/// VTK XML and BINARY legacy VTK volumes whose fields are cell arrays are streamed: only the
/// kept cells (and, without a stored vorticity, the vorticity stencil's cells) and the points
/// are ever held, so memory follows `--volume-points`, not the file's size. Other volumes are
/// read whole.
pub(super) fn read_volume(
    sources: &RunSources,
    opts: &PrepareOptions,
) -> Result<VolumeRows, DataError> {
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
            let o = mesh::vtk_xml::outline(path)?;
            Some(VolumeOutline {
                xml: true,
                n_cells: o.n_cells,
                cell_arrays: o.cell_arrays,
                point_arrays: o.point_arrays,
            })
        }
        Ok(mesh::Format::VtkLegacy) => {
            mesh::vtk_legacy::stream::outline(path)?.map(|o| VolumeOutline {
                xml: false,
                n_cells: o.n_cells,
                cell_arrays: o.cell_arrays,
                point_arrays: o.point_arrays,
            })
        }
        _ => None,
    };
    // A name the file lacks altogether is an error now, before a large volume is read whole.
    if let Some(o) = &outline {
        let has = |list: &[(String, usize)], w: &String| list.iter().any(|(name, _)| name == w);
        if let Some(w) = wanted
            .iter()
            .find(|w| !has(&o.cell_arrays, w) && !has(&o.point_arrays, w))
        {
            return Err(DataError::file(
                path,
                format!("no cell or point array `{w}`"),
            ));
        }
    }
    let streamable = outline.filter(|o| {
        wanted
            .iter()
            .all(|w| o.cell_arrays.iter().any(|(name, _)| name == w))
    });
    let Some(outline) = streamable else {
        let volume = mesh::read_mesh(path)?;
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
    let n =
        usize::try_from(outline.n_cells).map_err(|_| DataError::file(path, "too many cells"))?;
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
        true => mesh::vtk_xml::extract(path, &request)?,
        false => mesh::vtk_legacy::stream::extract(path, &request)?
            .ok_or_else(|| DataError::file(path, "the volume could not be streamed"))?,
    };
    let field = |spec: &str, components: usize| -> Result<Vec<f32>, DataError> {
        let parts: Vec<&crate::mesh::Field> = array_names(spec)
            .iter()
            .map(|n| got.cell_arrays.iter().find(|f| f.name == *n))
            .collect::<Option<_>>()
            .ok_or_else(|| DataError::file(path, format!("no cell array `{spec}`")))?;
        let per_part = if parts.len() == 1 { components } else { 1 };
        if parts.len() != 1 && parts.len() != components
            || parts.iter().any(|f| f.components != per_part)
        {
            return Err(DataError::file(
                path,
                format!("`{spec}` does not hold {components} values per cell"),
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
