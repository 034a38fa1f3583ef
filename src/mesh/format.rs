//! Which reader or writer a path needs.

use std::path::Path;

use super::error::{MeshError, Result};

/// The file formats slipstream reads (and, except OBJ, writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Stl,
    Obj,
    /// VTK XML PolyData.
    Vtp,
    /// VTK XML UnstructuredGrid.
    Vtu,
    /// Legacy VTK (`# vtk DataFile Version ...`).
    VtkLegacy,
    Hdf5,
}

impl Format {
    /// Chooses the format from the file extension (case-insensitive).
    pub fn from_path(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .unwrap_or_default();
        Ok(match ext.as_str() {
            "stl" => Format::Stl,
            "obj" => Format::Obj,
            "vtp" => Format::Vtp,
            "vtu" => Format::Vtu,
            "vtk" => Format::VtkLegacy,
            "h5" | "hdf5" | "hdf" => Format::Hdf5,
            _ => {
                return Err(MeshError::UnknownFormat {
                    path: path.to_path_buf(),
                })
            }
        })
    }

    /// Short name used by `info` (`"vtp"`, `"vtk-legacy"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Format::Stl => "stl",
            Format::Obj => "obj",
            Format::Vtp => "vtp",
            Format::Vtu => "vtu",
            Format::VtkLegacy => "vtk-legacy",
            Format::Hdf5 => "hdf5",
        }
    }
}
