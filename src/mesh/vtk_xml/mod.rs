//! VTK XML files (`.vtp` PolyData, `.vtu` UnstructuredGrid): our own streaming reader and writer.
//!
//! The reader indexes the file's structure first ([`index`]) and then decodes only the arrays it
//! needs, each as a stream ([`decode`]). It reads every encoding VTK writes — ASCII, inline base64,
//! appended raw or base64; zlib, LZ4 or LZMA compression; UInt32 or UInt64 headers; either byte order
//! — plus multi-piece files and both polyhedron layouts. See DESIGN.md for why this is not vtkio.

// The panic-freedom lints of `crate::mesh` (indexing, unwrap, expect, panic) apply here too.

mod base64;
mod decode;
mod extract;
mod index;
mod read;
mod source;
mod stats;
mod tag;
mod write;

use std::path::Path;

use crate::mesh::error::{Context, MeshError, ParseResult, Result};
use crate::mesh::model::Mesh;

pub use extract::{ExtractRequest, Extracted};
pub use index::DataSetType;
use source::FileSource;
pub use stats::{ArrayStats, StreamedSummary};

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
    let file = crate::mesh::SplitFile::open(path)?;
    if file.is_empty() {
        return Err(MeshError::invalid(path, "the file is empty"));
    }
    let index = index::index_file(file.reader()?, file.len()).at(path)?;
    let source = FileSource(file);
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
    mesh.validate()?;
    Ok(mesh)
}

/// Streams only the requested arrays (and cell centres) out of a file of any size.
pub fn extract(path: &Path, request: &ExtractRequest) -> Result<Extracted> {
    let (source, index) = open(path)?;
    extract::extract(&source, &index, request).at(path)
}

/// Counts, cell types, bounds and per-array min/max/sum, streaming every array once: memory stays
/// bounded whatever the file size (used by `info` on large files).
pub fn summarize_streaming(path: &Path) -> Result<StreamedSummary> {
    let (source, index) = open(path)?;
    stats::summarize(&source, &index).at(path)
}

/// [`summarize_streaming`] on a file held in memory (used by the fuzz targets).
pub fn summarize_bytes(bytes: &[u8]) -> ParseResult<StreamedSummary> {
    if bytes.is_empty() {
        return Err(crate::mesh::error::invalid!("the file is empty"));
    }
    let index = index::index_file(bytes, bytes.len() as u64)?;
    stats::summarize(&source::MemorySource(bytes), &index)
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
    let first = index
        .pieces
        .first()
        .ok_or_else(|| MeshError::invalid(path, "the file holds no <Piece>"))?;
    let names = |s: index::Section| {
        first
            .section(s)
            .map(|a| (a.name.clone(), a.components))
            .collect()
    };
    Ok(Outline {
        kind: index.kind,
        n_points: index::total(index.pieces.iter().map(|p| p.n_points), "points").at(path)?,
        n_cells: index::total(
            index.pieces.iter().map(|p| p.total_cells(index.kind)),
            "cells",
        )
        .at(path)?,
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
pub fn write_to(
    w: &mut impl std::io::Write,
    mesh: &Mesh,
    kind: Kind,
    encoding: Encoding,
) -> std::io::Result<()> {
    write::write_to(w, mesh, kind, encoding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::cells::{CellType, Cells, Polyhedra};
    use crate::mesh::field::Field;

    /// A unit cube as one hexahedron, a tetra on top, and the same cube again as a polyhedron.
    fn mixed_volume() -> Mesh {
        let mut points: Vec<[f32; 3]> = Vec::new();
        for z in [0.0, 1.0] {
            points.extend([[0.0, 0.0, z], [1.0, 0.0, z], [1.0, 1.0, z], [0.0, 1.0, z]]);
        }
        points.push([0.5, 0.5, 2.0]);
        let mut cells = Cells::default();
        cells.push(CellType::HEXAHEDRON, &[0, 1, 2, 3, 4, 5, 6, 7]);
        cells.push(CellType::TETRA, &[4, 5, 6, 8]);
        cells.push(CellType::POLYHEDRON, &[0, 1, 2, 3, 4, 5, 6, 7]);
        let faces: [&[u32]; 6] = [
            &[0, 3, 2, 1],
            &[4, 5, 6, 7],
            &[0, 1, 5, 4],
            &[1, 2, 6, 5],
            &[2, 3, 7, 6],
            &[3, 0, 4, 7],
        ];
        let mut poly = Polyhedra {
            cell_faces: vec![0, 0, 0, 6],
            face_offsets: vec![0],
            face_connectivity: Vec::new(),
        };
        for f in faces {
            poly.face_connectivity.extend_from_slice(f);
            poly.face_offsets.push(poly.face_connectivity.len() as u64);
        }
        cells.polyhedra = Some(poly);
        Mesh {
            point_data: vec![Field::new_f32(
                "p",
                1,
                (0..9).map(|i| i as f32 * 0.5).collect(),
            )],
            cell_data: vec![
                Field::new_f32("U", 3, (0..9).map(|i| -(i as f32)).collect()),
                Field::new_f64("cellValue64", 1, vec![1.0, 2.0, 3.0]),
            ],
            field_data: vec![Field::new_f64("TimeValue", 1, vec![3346.6275])],
            points,
            cells,
            parts: None,
        }
    }

    fn written(mesh: &Mesh, kind: Kind, enc: Encoding) -> Vec<u8> {
        let mut bytes = Vec::new();
        write_to(&mut bytes, mesh, kind, enc).unwrap();
        bytes
    }

    #[test]
    fn volume_round_trips_in_both_encodings() {
        let mesh = mixed_volume();
        for enc in [Encoding::AppendedRaw, Encoding::AppendedZlib] {
            let back = parse(&written(&mesh, Kind::UnstructuredGrid, enc)).unwrap();
            assert_eq!(back.points, mesh.points);
            assert_eq!(back.cells, mesh.cells);
            assert_eq!(back.point_data, mesh.point_data);
            assert_eq!(back.field_data, mesh.field_data);
            assert_eq!(back.cell_data.len(), 2);
            assert_eq!(back.cell_data[0], mesh.cell_data[0]);
            // Float64 cell data is written as Float64 and held as float32 on reading.
            assert_eq!(back.cell_data[1].values.to_f32().as_ref(), &[1.0, 2.0, 3.0]);
        }
    }

    #[test]
    fn polydata_groups_cells_and_keeps_cell_data_aligned() {
        // A triangle, a vertex, a quad and a line, in an order PolyData cannot store as is.
        let points = vec![
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [1.0, 1.0, 0.0],
            [0.0, 1.0, 0.0],
        ];
        let mut cells = Cells::default();
        cells.push(CellType::TRIANGLE, &[0, 1, 2]);
        cells.push(CellType::VERTEX, &[3]);
        cells.push(CellType::QUAD, &[0, 1, 2, 3]);
        cells.push(CellType::LINE, &[0, 2]);
        let mesh = Mesh {
            points,
            cells,
            cell_data: vec![Field::new_f32("id", 1, vec![10.0, 11.0, 12.0, 13.0])],
            ..Default::default()
        };
        let back = parse(&written(&mesh, Kind::PolyData, Encoding::AppendedRaw)).unwrap();
        // VTK's order: verts, lines, polys, strips.
        assert_eq!(
            back.cells.types,
            vec![
                CellType::VERTEX,
                CellType::LINE,
                CellType::TRIANGLE,
                CellType::QUAD
            ]
        );
        assert_eq!(back.cells.cell(1), &[0, 2]);
        assert_eq!(
            back.cell_data[0].values.to_f32().as_ref(),
            &[11.0, 13.0, 10.0, 12.0]
        );
    }

    #[test]
    fn polydata_refuses_volume_cells() {
        let mut out = Vec::new();
        let err = write_to(
            &mut out,
            &mixed_volume(),
            Kind::PolyData,
            Encoding::AppendedRaw,
        )
        .unwrap_err();
        assert!(err.to_string().contains(".vtu"), "{err}");
    }

    #[test]
    fn every_truncation_and_many_bit_flips_error_without_panicking() {
        let mesh = mixed_volume();
        for enc in [Encoding::AppendedRaw, Encoding::AppendedZlib] {
            let bytes = written(&mesh, Kind::UnstructuredGrid, enc);
            for cut in 0..bytes.len() {
                // The closing tags after the appended data carry no data: cutting them may pass.
                let tail_tags = bytes.len() - cut <= "\n  </AppendedData>\n</VTKFile>\n".len();
                let r = parse(&bytes[..cut]);
                assert!(
                    r.is_err() || tail_tags,
                    "truncated at {cut} of {} parsed",
                    bytes.len()
                );
            }
            let mut state = 0x9e3779b97f4a7c15u64;
            for _ in 0..3000 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let mut b = bytes.clone();
                let at = (state % b.len() as u64) as usize;
                b[at] ^= 1 << (state >> 61);
                // Must not panic; a flip in a float value may legitimately still parse.
                if let Ok(m) = parse(&b) {
                    m.validate().unwrap();
                }
            }
        }
    }

    #[test]
    fn huge_declared_sizes_are_rejected_before_allocating() {
        let xml = br#"<?xml version="1.0"?>
<VTKFile type="UnstructuredGrid" version="1.0" byte_order="LittleEndian" header_type="UInt64">
  <UnstructuredGrid>
    <Piece NumberOfPoints="999999999999" NumberOfCells="0">
      <Points>
        <DataArray type="Float32" Name="Points" NumberOfComponents="3" format="binary">
          //////////8=
        </DataArray>
      </Points>
    </Piece>
  </UnstructuredGrid>
</VTKFile>
"#;
        let err = parse(xml).unwrap_err();
        assert!(matches!(err, crate::mesh::error::ParseError::Invalid(_)));
    }

    /// Counts whose products or sums overflow 64 bits are errors, not arithmetic panics.
    #[test]
    fn overflowing_declared_counts_are_errors() {
        let max = u64::MAX;
        let points = format!(
            r#"<VTKFile type="UnstructuredGrid" version="1.0">
  <UnstructuredGrid>
    <Piece NumberOfPoints="{max}" NumberOfCells="0">
      <Points>
        <DataArray type="Float32" NumberOfComponents="3" format="ascii">0 0 0</DataArray>
      </Points>
    </Piece>
  </UnstructuredGrid>
</VTKFile>
"#
        );
        let field_tuples = format!(
            r#"<VTKFile type="UnstructuredGrid" version="1.0">
  <UnstructuredGrid>
    <FieldData>
      <DataArray type="Float64" Name="f" NumberOfComponents="2" NumberOfTuples="{max}" format="ascii">1 2</DataArray>
    </FieldData>
    <Piece NumberOfPoints="0" NumberOfCells="0"/>
  </UnstructuredGrid>
</VTKFile>
"#
        );
        // zlib header: 2 blocks of 2^64-1 bytes, the last 1 byte: 2^64 bytes in all.
        let header: Vec<u8> = [2, max, 1, 0, 0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let blocks = format!(
            r#"<VTKFile type="UnstructuredGrid" version="1.0" header_type="UInt64" compressor="vtkZLibDataCompressor">
  <UnstructuredGrid>
    <Piece NumberOfPoints="1" NumberOfCells="0">
      <Points>
        <DataArray type="Float32" NumberOfComponents="3" format="binary">{}</DataArray>
      </Points>
    </Piece>
  </UnstructuredGrid>
</VTKFile>
"#,
            base64::encode(&header)
        );
        for xml in [points, field_tuples, blocks] {
            let err = parse(xml.as_bytes()).unwrap_err();
            assert!(
                matches!(&err, crate::mesh::error::ParseError::Invalid(m) if m.contains("2^64")),
                "{err:?}"
            );
        }
    }

    #[test]
    fn comments_and_information_keys_are_skipped() {
        let xml = br#"<?xml version="1.0"?>
<!-- a comment with <tags> and "quotes' -->
<VTKFile type="PolyData" version="0.1" byte_order="LittleEndian">
  <PolyData>
    <Piece NumberOfPoints="3" NumberOfPolys="1">
      <Points>
        <DataArray type="Float64" Name="Points" NumberOfComponents="3" format="ascii">
          <InformationKey name="L2_NORM_RANGE" location="vtkDataArray" length="2">
            <Value index="0">0</Value><Value index="1">1</Value>
          </InformationKey>
          0 0 0  1 0 0
          0 1 0
        </DataArray>
      </Points>
      <Polys>
        <DataArray type="Int32" Name="connectivity" format="ascii">0 1 2</DataArray>
        <DataArray type="Int32" Name="offsets" format="ascii">3</DataArray>
      </Polys>
    </Piece>
  </PolyData>
</VTKFile>
"#;
        let m = parse(xml).unwrap();
        assert_eq!(
            m.points,
            vec![[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
        );
        assert_eq!(m.cells.types, vec![CellType::TRIANGLE]);
    }
}
