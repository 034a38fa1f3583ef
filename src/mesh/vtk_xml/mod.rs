//! VTK XML files (`.vtp` PolyData, `.vtu` UnstructuredGrid): our own streaming reader and writer.
//!
//! The reader indexes the file's structure first ([`index`]) and then decodes only the arrays it
//! needs, each as a stream ([`decode`]). It reads every encoding VTK writes — ASCII, inline base64,
//! appended raw or base64; zlib, LZ4 or LZMA compression; UInt32 or UInt64 headers; either byte order
//! — plus multi-piece files and both polyhedron layouts. See DESIGN.md for why this is not vtkio.

mod base64;
mod decode;
mod extract;
mod index;
mod read;
mod source;
mod tag;
mod write;

use std::path::Path;

use crate::mesh::error::{Context, MeshError, ParseResult, Result};
use crate::mesh::model::Mesh;

pub use extract::{ExtractRequest, Extracted};
pub use index::DataSetType;
use source::{FileSource, Source};

/// Which VTK XML dataset to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `.vtp`: points, lines and surface cells.
    PolyData,
    /// `.vtu`: any cells, volumes included.
    UnstructuredGrid,
}

/// How the writer stores array data (both in VTK's appended block, which ParaView reads fastest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// Uncompressed binary: fastest to write and read.
    #[default]
    AppendedRaw,
    /// zlib-compressed binary in 32 KiB blocks: smaller files.
    AppendedZlib,
}

fn open(path: &Path) -> Result<(FileSource, index::FileIndex)> {
    let source = FileSource::open(path).map_err(|e| MeshError::io(path, e))?;
    let file = std::fs::File::open(path).map_err(|e| MeshError::io(path, e))?;
    if source.len() == 0 {
        return Err(MeshError::invalid(path, "the file is empty"));
    }
    let index = index::index_file(file, source.len()).at(path)?;
    Ok((source, index))
}

/// Reads a `.vtp` or `.vtu` file whole.
pub fn read(path: &Path) -> Result<Mesh> {
    let (source, index) = open(path)?;
    read::read_mesh(&source, &index).at(path)
}

/// Parses a VTK XML file held in memory (used by the fuzz targets).
pub fn parse(bytes: &[u8]) -> ParseResult<Mesh> {
    if bytes.is_empty() {
        return Err(crate::mesh::error::invalid!("the file is empty"));
    }
    let index = index::index_file(bytes, bytes.len() as u64)?;
    let mesh = read::read_mesh(&source::MemorySource(bytes), &index)?;
    mesh.validate().map_err(crate::mesh::error::ParseError::Invalid)?;
    Ok(mesh)
}

/// Streams only the requested arrays (and cell centres) out of a file of any size.
pub fn extract(path: &Path, request: &ExtractRequest) -> Result<Extracted> {
    let (source, index) = open(path)?;
    extract::extract(&source, &index, request).at(path)
}

/// The dataset type, piece count and array names of a file, without decoding any data.
#[derive(Debug, Clone, PartialEq)]
pub struct Outline {
    pub kind: DataSetType,
    pub n_points: u64,
    pub n_cells: u64,
    pub pieces: usize,
    pub point_arrays: Vec<(String, usize)>,
    pub cell_arrays: Vec<(String, usize)>,
}

/// Reads only the structure of a file (fast even for 50 GB files: no data is decoded).
pub fn outline(path: &Path) -> Result<Outline> {
    let (_, index) = open(path)?;
    let first = &index.pieces[0];
    let names = |s: index::Section| first.section(s).map(|a| (a.name.clone(), a.components)).collect();
    Ok(Outline {
        kind: index.kind,
        n_points: index.pieces.iter().map(|p| p.n_points).sum(),
        n_cells: index.pieces.iter().map(|p| p.total_cells(index.kind)).sum(),
        pieces: index.pieces.len(),
        point_arrays: names(index::Section::PointData),
        cell_arrays: names(index::Section::CellData),
    })
}

/// Writes a mesh as `.vtp` or `.vtu` atomically.
pub fn write(path: &Path, mesh: &Mesh, kind: Kind, encoding: Encoding) -> Result<()> {
    crate::mesh::write_atomically(path, |w| write::write_to(w, mesh, kind, encoding))
}

/// Writes a mesh as VTK XML into any writer.
pub fn write_to(w: &mut impl std::io::Write, mesh: &Mesh, kind: Kind, encoding: Encoding) -> std::io::Result<()> {
    write::write_to(w, mesh, kind, encoding)
}
