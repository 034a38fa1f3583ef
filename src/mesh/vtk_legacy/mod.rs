//! Reader for legacy VTK files (`# vtk DataFile Version 2.0` … `5.1`, `.vtk`).
//!
//! Reads `DATASET POLYDATA` and `DATASET UNSTRUCTURED_GRID` in ASCII and BINARY (big-endian) encoding,
//! with both cell layouts: version ≤ 4.2 (`CELLS n size` followed by `npts id…` records) and
//! version 5.x (`CELLS nOffsets nConnectivity` followed by `OFFSETS` and `CONNECTIVITY` arrays).
//! Attributes (`SCALARS`, `VECTORS`, `NORMALS`, `TENSORS`, `TEXTURE_COORDINATES`, `COLOR_SCALARS`,
//! `FIELD` arrays, ...) become point / cell data as `f32`; a `FIELD` block outside `POINT_DATA` /
//! `CELL_DATA` becomes field data as `f64`. `METADATA` blocks, `LOOKUP_TABLE` sections and string
//! arrays are skipped.
//!
//! Polyhedra (`VTK_POLYHEDRON`, 42) are stored in legacy files as face streams
//! `nFaces, (nPts, id…)…`; the reader turns each into its distinct points (in order of first appearance)
//! plus its faces in [`Polyhedra`].
//!
//! The parser works on the file's bytes with a tokenizer (no per-line allocation) and never trusts a
//! count before checking that the remaining bytes can hold it.
//!
//! The files: `grammar` (what both readers share), `cursor` (the tokenizer), `reader` (state and
//! primitives), `structure` (points and cells), `attributes` (point, cell and field data), and
//! `stream` (the streaming reader for large BINARY unstructured grids).

mod attributes;
mod cursor;
mod grammar;
mod reader;
pub mod stream;
mod structure;
#[cfg(test)]
mod tests;

use std::path::Path;

use super::error::{Context, ParseResult, Result};
use super::model::Mesh;
use reader::Reader;

/// Reads a legacy VTK file.
pub fn read(path: &Path) -> Result<Mesh> {
    let bytes = super::SplitFile::open(path)?.read_all()?;
    parse(&bytes).at(path)
}

/// Parses the bytes of a legacy VTK file (the whole file, header included).
pub fn parse(bytes: &[u8]) -> ParseResult<Mesh> {
    let mut reader = Reader::new(bytes)?;
    let dataset = reader.dataset_type()?;
    reader.read_dataset(dataset)
}
