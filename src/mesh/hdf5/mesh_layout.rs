//! slipstream's own mesh layout (root attribute `layout = "slipstream-mesh"`; the table is in
//! the module doc of `mesh::hdf5`): writing a [`Mesh`] and building one back.

use std::path::Path;

use crate::mesh::cells::{CellType, Cells, Polyhedra};
use crate::mesh::error::{invalid, Context, ParseResult, Result};
use crate::mesh::field::{Field, Location, ScalarType, Values};
use crate::mesh::model::{Mesh, Parts};

use super::contents::{AttrValue, H5Contents, H5Dataset, MESH_LAYOUT, MESH_LAYOUT_VERSION};
use super::write::components;
use super::write::H5Writer;

pub(super) const LOCATIONS: [(Location, &str); 3] = [
    (Location::Point, "point_data"),
    (Location::Cell, "cell_data"),
    (Location::Field, "field_data"),
];

/// Array name → HDF5 link name (`/` is the path separator there).
pub(super) fn encode_name(name: &str) -> String {
    name.replace('/', "|")
}

pub(super) fn decode_name(name: &str) -> String {
    name.replace('|', "/")
}

/// Writes `mesh` in slipstream's mesh layout, atomically.
pub fn write_mesh(path: &Path, mesh: &Mesh) -> Result<()> {
    let writer = mesh_writer(mesh).at(path)?;
    writer.write(path)
}

pub(super) fn mesh_writer(mesh: &Mesh) -> ParseResult<H5Writer> {
    mesh.validate()?;
    let mut w = H5Writer::new();
    w.attr_text("/", "layout", MESH_LAYOUT)
        .attr_f64("/", "layout_version", MESH_LAYOUT_VERSION);

    let n = mesh.n_points();
    let c = mesh.n_cells();
    w.dataset_f32("points", &[n, 3], mesh.points.as_flattened());

    let cells = &mesh.cells;
    let types: Vec<u8> = cells.types.iter().map(|t| t.0).collect();
    w.dataset_u8("cells/types", &[c], &types);
    let offsets = to_i64(&cells.offsets, "cell offsets")?;
    w.dataset_i64("cells/offsets", &[offsets.len()], &offsets);
    let conn: Vec<i64> = cells.connectivity.iter().map(|&p| i64::from(p)).collect();
    w.dataset_i64("cells/connectivity", &[conn.len()], &conn);
    if let Some(poly) = &cells.polyhedra {
        let cell_faces = to_i64(&poly.cell_faces, "polyhedron face ranges")?;
        w.dataset_i64("cells/polyhedron_faces", &[cell_faces.len()], &cell_faces);
        let face_offsets = to_i64(&poly.face_offsets, "polyhedron face offsets")?;
        w.dataset_i64("cells/face_offsets", &[face_offsets.len()], &face_offsets);
        let face_conn: Vec<i64> = poly
            .face_connectivity
            .iter()
            .map(|&p| i64::from(p))
            .collect();
        w.dataset_i64("cells/face_connectivity", &[face_conn.len()], &face_conn);
    }
    if let Some(parts) = &mesh.parts {
        let ids = parts
            .cell_part
            .iter()
            .map(|&p| i32::try_from(p).map_err(|_| invalid!("part id {p} does not fit int32")))
            .collect::<ParseResult<Vec<i32>>>()?;
        w.dataset_i32("cells/part_id", &[ids.len()], &ids);
        if let Some(bad) = parts.names.iter().find(|n| n.contains('\n')) {
            return Err(invalid!("part name {bad:?} contains a line break"));
        }
        w.attr_text("/", "part_names", &parts.names.join("\n"));
    }

    for (location, group) in LOCATIONS {
        let mut seen = std::collections::HashSet::new();
        for (index, field) in mesh.fields(location).iter().enumerate() {
            let link = encode_name(&field.name);
            if !components(&link).is_ok_and(|c| c.len() == 1) {
                return Err(invalid!(
                    "{location:?} array name {:?} cannot be stored in HDF5",
                    field.name
                ));
            }
            if !seen.insert(link.clone()) {
                return Err(invalid!(
                    "two {location:?} arrays are both stored as '{link}' (names differ only in '/' and '|'?)"
                ));
            }
            let comps = field.components;
            if comps == 0 || field.values.len() % comps != 0 {
                return Err(invalid!(
                    "{location:?} array '{}' has {} values, not a multiple of its {comps} components",
                    field.name,
                    field.values.len()
                ));
            }
            let tuples = field.values.len() / comps;
            let shape: Vec<usize> = if comps == 1 {
                vec![tuples]
            } else {
                vec![tuples, comps]
            };
            let path = format!("{group}/{link}");
            let stored = match &field.values {
                Values::F32(v) => {
                    w.dataset_f32(&path, &shape, v);
                    ScalarType::F32
                }
                Values::F64(v) => {
                    w.dataset_f64(&path, &shape, v);
                    ScalarType::F64
                }
            };
            w.attr_f64(&path, "index", index as f64);
            if field.source_type != stored {
                w.attr_text(&path, "source_type", field.source_type.vtk_name());
            }
        }
    }
    Ok(w)
}

pub(super) fn to_i64(values: &[u64], what: &str) -> ParseResult<Vec<i64>> {
    values
        .iter()
        .map(|&v| i64::try_from(v).map_err(|_| invalid!("{what}: {v} does not fit int64")))
        .collect()
}

/// Rebuilds a mesh from a file's contents: `None` when the file is not in slipstream's mesh layout
/// (no root attribute `layout = "slipstream-mesh"`), `Some(Err)` when it claims the layout but its
/// datasets are missing or inconsistent.
pub fn mesh_from_contents(contents: &H5Contents) -> Option<ParseResult<Mesh>> {
    let layout = contents.attribute("/", "layout")?.as_text()?;
    if layout != MESH_LAYOUT {
        return None;
    }
    Some(build_mesh(contents))
}

pub(super) fn build_mesh(contents: &H5Contents) -> ParseResult<Mesh> {
    if let Some(version) = contents.attribute("/", "layout_version") {
        match version.as_number() {
            Some(v) if v <= MESH_LAYOUT_VERSION => {}
            Some(v) => {
                return Err(invalid!(
                    "mesh layout version {v} is newer than this slipstream reads ({MESH_LAYOUT_VERSION})"
                ))
            }
            None => return Err(invalid!("the root attribute 'layout_version' is not a number: {version:?}")),
        }
    }

    let points_ds = contents
        .dataset("points")
        .ok_or_else(|| invalid!("the mesh layout needs a dataset 'points'"))?;
    let n = points_ds.tuples();
    if !matches!(points_ds.shape.as_slice(), [_, 3]) {
        return Err(invalid!(
            "'points' has shape {:?}, expected [N, 3]",
            points_ds.shape
        ));
    }
    let flat = points_ds.values.to_f32();
    if flat.len() != n * 3 {
        return Err(invalid!(
            "'points' has {} values for its shape {:?}",
            flat.len(),
            points_ds.shape
        ));
    }
    let (points, _) = flat.as_chunks::<3>();
    let points: Vec<[f32; 3]> = points.to_vec();

    let types_ds = contents.dataset("cells/types");
    let offsets_ds = contents.dataset("cells/offsets");
    let conn_ds = contents.dataset("cells/connectivity");
    let mut cells = match (types_ds, offsets_ds, conn_ds) {
        (None, None, None) => Cells::default(),
        (Some(t), Some(o), Some(c)) => Cells {
            types: integers(t, u64::from(u8::MAX))?
                .into_iter()
                .map(|v| CellType(v as u8))
                .collect(),
            offsets: integers(o, u64::MAX)?,
            connectivity: integers(c, u64::from(u32::MAX))?
                .into_iter()
                .map(|v| v as u32)
                .collect(),
            polyhedra: None,
        },
        _ => {
            return Err(invalid!(
                "the mesh layout needs all of cells/types, cells/offsets and cells/connectivity"
            ))
        }
    };
    let poly = (
        contents.dataset("cells/polyhedron_faces"),
        contents.dataset("cells/face_offsets"),
        contents.dataset("cells/face_connectivity"),
    );
    cells.polyhedra = match poly {
        (None, None, None) => None,
        (Some(cf), Some(fo), Some(fc)) => Some(Polyhedra {
            cell_faces: integers(cf, u64::MAX)?,
            face_offsets: integers(fo, u64::MAX)?,
            face_connectivity: integers(fc, u64::from(u32::MAX))?
                .into_iter()
                .map(|v| v as u32)
                .collect(),
        }),
        _ => {
            return Err(
                invalid!("polyhedra need all of cells/polyhedron_faces, cells/face_offsets and cells/face_connectivity"),
            )
        }
    };
    let c = cells.len();

    let parts = match (
        contents.dataset("cells/part_id"),
        contents.attribute("/", "part_names"),
    ) {
        (None, None) => None,
        (Some(ids), Some(names)) => {
            let names = names
                .as_text()
                .ok_or_else(|| invalid!("the root attribute 'part_names' is not text"))?;
            let cell_part: Vec<u32> = integers(ids, u64::from(u32::MAX))?
                .into_iter()
                .map(|v| v as u32)
                .collect();
            let names: Vec<String> = if names.is_empty() && cell_part.is_empty() {
                Vec::new()
            } else {
                names.split('\n').map(str::to_string).collect()
            };
            Some(Parts { names, cell_part })
        }
        (Some(_), None) => {
            return Err(invalid!(
                "cells/part_id without the root attribute 'part_names'"
            ))
        }
        (None, Some(_)) => {
            return Err(invalid!(
                "the root attribute 'part_names' without cells/part_id"
            ))
        }
    };

    let mut fields: [Vec<(f64, Field)>; 3] = Default::default();
    for ds in &contents.datasets {
        let Some((slot, location, rest)) =
            fields
                .iter_mut()
                .zip(LOCATIONS)
                .find_map(|(slot, (loc, group))| {
                    ds.path
                        .strip_prefix('/')
                        .and_then(|p| p.strip_prefix(group))
                        .and_then(|p| p.strip_prefix('/'))
                        .map(|rest| (slot, loc, rest))
                })
        else {
            continue;
        };
        if rest.contains('/') {
            return Err(invalid!("unexpected nested dataset '{}'", ds.path));
        }
        let field = field_from_dataset(ds, location, decode_name(rest), n, c)?;
        let index = contents
            .attribute(&ds.path, "index")
            .and_then(AttrValue::as_number)
            .unwrap_or(f64::INFINITY);
        let source_type = contents
            .attribute(&ds.path, "source_type")
            .and_then(AttrValue::as_text)
            .and_then(ScalarType::from_vtk_name);
        let field = Field {
            source_type: source_type.unwrap_or(field.source_type),
            ..field
        };
        slot.push((index, field));
    }
    let [point_data, cell_data, field_data] = fields.map(|mut v| {
        v.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
        v.into_iter().map(|(_, f)| f).collect::<Vec<Field>>()
    });

    let mesh = Mesh {
        points,
        cells,
        point_data,
        cell_data,
        field_data,
        parts,
    };
    mesh.validate()?;
    Ok(mesh)
}

/// An array of the mesh layout from its dataset; point and cell arrays must have one row per point
/// or cell.
pub(super) fn field_from_dataset(
    ds: &H5Dataset,
    location: Location,
    name: String,
    n_points: usize,
    n_cells: usize,
) -> ParseResult<Field> {
    let expected_rows = match location {
        Location::Point => Some(n_points),
        Location::Cell => Some(n_cells),
        Location::Field => None,
    };
    if let Some(rows) = expected_rows {
        if ds.shape.first() != Some(&rows) {
            return Err(invalid!(
                "'{}' has shape {:?}, expected {rows} rows",
                ds.path,
                ds.shape
            ));
        }
    }
    let components = ds.components();
    if components == 0 {
        return Err(invalid!(
            "'{}' has no components (shape {:?})",
            ds.path,
            ds.shape
        ));
    }
    let values = match (&ds.values, ds.dtype, location) {
        (Values::F32(v), _, _) => Values::F32(v.clone()),
        (Values::F64(v), ScalarType::F64, _) | (Values::F64(v), _, Location::Field) => {
            Values::F64(v.clone())
        }
        // Integer point and cell arrays are held as f32, like the other readers do.
        (Values::F64(v), _, _) => Values::F32(v.iter().map(|&x| x as f32).collect()),
    };
    Ok(Field {
        name,
        components,
        values,
        source_type: ds.dtype,
    })
}

/// The values of an integer dataset of rank 1, each checked to be a whole number in `0..=max`.
pub(super) fn integers(ds: &H5Dataset, max: u64) -> ParseResult<Vec<u64>> {
    if ds.shape.len() != 1 {
        return Err(invalid!(
            "'{}' has shape {:?}, expected one dimension",
            ds.path,
            ds.shape
        ));
    }
    ds.values
        .iter_f64()
        .map(|v| {
            if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= max as f64 {
                Ok(v as u64)
            } else {
                Err(invalid!(
                    "'{}' holds {v}, expected an integer in 0..={max}",
                    ds.path
                ))
            }
        })
        .collect()
}
