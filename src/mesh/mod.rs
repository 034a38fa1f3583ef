//! Surface and volume meshes, their arrays, and the readers and writers for every format slipstream
//! speaks: STL, OBJ, VTK XML (`.vtp`, `.vtu`), legacy VTK and HDF5.
//!
//! Readers return a [`Mesh`]; HDF5 files, which hold arbitrary datasets rather than a mesh, read into
//! [`hdf5::H5Contents`]. For files too large to hold, [`vtk_xml::extract`] streams only the arrays
//! asked for.

#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

mod atomic_write;
pub mod cells;
pub mod error;
pub mod field;
pub mod format;
pub mod hdf5;
pub mod model;
pub mod obj;
pub mod split_file;
pub mod stl;
pub mod vtk_legacy;
pub mod vtk_xml;

use error::Context;
use std::path::Path;

pub use atomic_write::{write_atomically, write_bytes_atomically};
pub use cells::{CellType, Cells, Polyhedra};
pub use error::{MeshError, Result};
pub use field::{Field, FieldStats, Location, ScalarType, Values};
pub use format::Format;
pub use model::{Mesh, MeshKind, Parts};
pub use split_file::SplitFile;

/// What a file holds.
// One value per file read: boxing the mesh would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Document {
    Mesh(Mesh),
    /// An HDF5 file that is not a mesh written by slipstream: its datasets and attributes.
    Hdf5(hdf5::H5Contents),
}

/// Reads any supported file, choosing the reader by extension.
pub fn read(path: &Path) -> Result<Document> {
    match Format::from_path(path)? {
        Format::Hdf5 => {
            let contents = hdf5::read(path)?;
            Ok(match hdf5::mesh_from_contents(&contents) {
                Some(mesh) => Document::Mesh(mesh.at(path)?),
                None => Document::Hdf5(contents),
            })
        }
        _ => read_mesh(path).map(Document::Mesh),
    }
}

/// Reads a mesh from any supported format (HDF5 only in slipstream's mesh layout).
pub fn read_mesh(path: &Path) -> Result<Mesh> {
    let mesh = match Format::from_path(path)? {
        Format::Stl => stl::read(path)?,
        Format::Obj => obj::read(path)?,
        Format::Vtp | Format::Vtu => vtk_xml::read(path)?,
        Format::VtkLegacy => vtk_legacy::read(path)?,
        Format::Hdf5 => {
            let contents = hdf5::read(path)?;
            match hdf5::mesh_from_contents(&contents) {
                Some(mesh) => mesh.at(path)?,
                None => {
                    return Err(MeshError::unsupported(
                        path,
                        "this HDF5 file holds datasets, not a mesh written by slipstream (use `slipstream info` to list them)",
                    ))
                }
            }
        }
    };
    mesh.validate().at(path)?;
    Ok(mesh)
}

/// Writes a mesh, choosing the writer by extension (`.vtp`, `.vtu`, `.vtk`, `.stl`, `.h5`). The write is
/// atomic: the file appears complete or not at all.
pub fn write_mesh(path: &Path, mesh: &Mesh) -> Result<()> {
    write_mesh_compressed(path, mesh, false)
}

/// [`write_mesh`], with VTK XML data zlib-compressed when `compress` (`convert --compress`);
/// the other formats are written as always.
pub fn write_mesh_compressed(path: &Path, mesh: &Mesh, compress: bool) -> Result<()> {
    let encoding = match compress {
        true => vtk_xml::Encoding::AppendedZlib,
        false => vtk_xml::Encoding::default(),
    };
    match Format::from_path(path)? {
        Format::Vtp => vtk_xml::write(path, mesh, vtk_xml::Kind::PolyData, encoding),
        Format::Vtu => vtk_xml::write(path, mesh, vtk_xml::Kind::UnstructuredGrid, encoding),
        Format::Stl => stl::write(path, mesh),
        Format::Hdf5 => hdf5::write_mesh(path, mesh),
        Format::Obj | Format::VtkLegacy => Err(MeshError::unsupported(
            path,
            "slipstream does not write this format; write .vtp, .vtu, .stl or .h5 instead",
        )),
    }
}
