//! Pulling a few named arrays (and cell centres) out of a VTK XML file too large to load whole.
//!
//! Memory holds only what is asked for, plus the points when cell centres are asked for: offsets and
//! connectivity are streamed side by side and reduced to centres on the fly, never stored.

use crate::mesh::error::{invalid, ParseResult};
use crate::mesh::field::{Field, Values};

use super::decode::{ArrayReader, Chunk};
use super::index::{total, DataSetType, FileIndex, PieceIndex, Section};
use super::read::read_points;
use super::source::Source;

/// What to extract.
#[derive(Debug, Clone, Default)]
pub struct ExtractRequest {
    /// The point coordinates.
    pub points: bool,
    /// Cell centres: the mean of each cell's points (VTK's `vtkCellCenters` for linear cells).
    pub cell_centres: bool,
    pub point_arrays: Vec<String>,
    pub cell_arrays: Vec<String>,
}

/// What was extracted, concatenated over pieces.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extracted {
    pub n_points: u64,
    pub n_cells: u64,
    pub points: Option<Vec<[f32; 3]>>,
    pub cell_centres: Option<Vec<[f32; 3]>>,
    pub point_arrays: Vec<Field>,
    pub cell_arrays: Vec<Field>,
}

impl Extracted {
    /// Bytes held by the extracted arrays (for memory accounting in benchmarks).
    pub fn payload_bytes(&self) -> u64 {
        let pts = self.points.as_ref().map_or(0, |p| p.len() * 12);
        let cen = self.cell_centres.as_ref().map_or(0, |p| p.len() * 12);
        let arr: usize = self
            .point_arrays
            .iter()
            .chain(&self.cell_arrays)
            .map(|f| f.values.len() * 4)
            .sum();
        (pts + cen + arr) as u64
    }
}

pub fn extract(
    source: &dyn Source,
    index: &FileIndex,
    req: &ExtractRequest,
) -> ParseResult<Extracted> {
    let total_points = total(index.pieces.iter().map(|p| p.n_points), "points")?;
    let total_cells = total(
        index.pieces.iter().map(|p| p.total_cells(index.kind)),
        "cells",
    )?;
    let mut out = Extracted {
        n_points: total_points,
        n_cells: total_cells,
        ..Default::default()
    };
    // Capacities come from the header, so they are bounded by the file's size: a corrupt count must
    // not reserve terabytes before any data is read (vectors still grow if the data holds more).
    let cap = |n: u64| n.min(source.len()).min(1 << 32) as usize;
    if req.points {
        out.points = Some(Vec::new());
    }
    if req.cell_centres {
        out.cell_centres = Some(Vec::with_capacity(cap(total_cells)));
    }
    for (location, names, dst) in [
        (Section::PointData, &req.point_arrays, &mut out.point_arrays),
        (Section::CellData, &req.cell_arrays, &mut out.cell_arrays),
    ] {
        for name in names {
            let first = index
                .pieces
                .first()
                .ok_or_else(|| invalid!("the file holds no <Piece>"))?
                .array(location, name)
                .ok_or_else(|| invalid!("no {location:?} array named '{name}'"))?;
            let n = if location == Section::PointData {
                total_points
            } else {
                total_cells
            };
            dst.push(Field {
                name: name.clone(),
                components: first.components,
                values: Values::F32(Vec::with_capacity(cap(
                    n.saturating_mul(first.components as u64)
                ))),
                source_type: first.scalar,
            });
        }
    }
    for piece in &index.pieces {
        extract_piece(source, index, piece, req, &mut out)?;
    }
    Ok(out)
}

fn extract_piece(
    source: &dyn Source,
    index: &FileIndex,
    piece: &PieceIndex,
    req: &ExtractRequest,
    out: &mut Extracted,
) -> ParseResult<()> {
    let n_cells = piece.total_cells(index.kind);
    let need_points = req.points || req.cell_centres;
    let points: Vec<[f32; 3]> = if need_points && piece.n_points > 0 {
        let desc = piece
            .first_in(Section::Points)
            .ok_or_else(|| invalid!("the piece has no <Points>"))?;
        read_points(source, index, desc, piece.n_points)?
    } else {
        Vec::new()
    };
    if req.cell_centres {
        let centres = out.cell_centres.get_or_insert_with(Vec::new);
        match index.kind {
            DataSetType::UnstructuredGrid => {
                if n_cells > 0 {
                    stream_centres(
                        source,
                        index,
                        piece,
                        Section::Cells,
                        n_cells,
                        &points,
                        centres,
                    )?;
                }
            }
            DataSetType::PolyData => {
                for (section, n) in piece.poly_sections() {
                    if n > 0 {
                        stream_centres(source, index, piece, section, n, &points, centres)?;
                    }
                }
            }
        }
    }
    match out.points.as_mut() {
        // One piece (the usual case): hand the vector over without copying.
        Some(dst) if dst.is_empty() => *dst = points,
        Some(dst) => dst.extend_from_slice(&points),
        None => drop(points),
    }
    for (location, n, dst) in [
        (Section::PointData, piece.n_points, &mut out.point_arrays),
        (Section::CellData, n_cells, &mut out.cell_arrays),
    ] {
        for field in dst.iter_mut() {
            let desc = piece
                .array(location, &field.name)
                .ok_or_else(|| invalid!("a piece lacks {location:?} array '{}'", field.name))?;
            if desc.components != field.components {
                return Err(invalid!(
                    "array '{}' changes its component count between pieces",
                    field.name
                ));
            }
            let expected = super::read::value_count(desc, n)?;
            let mut r = ArrayReader::open(source, index, desc)?;
            super::read::check_declared(&r, desc, Some(expected))?;
            let Values::F32(values) = &mut field.values else {
                return Err(invalid!("internal: extracted arrays are float32"));
            };
            let before = values.len() as u64;
            while let Some(chunk) = r.next_chunk()? {
                match chunk {
                    Chunk::F32(v) => values.extend_from_slice(v),
                    Chunk::F64(v) => values.extend(v.iter().map(|&x| x as f32)),
                    Chunk::Int(v) => values.extend(v.iter().map(|&x| x as f32)),
                }
            }
            super::read::check_count(desc, values.len() as u64 - before, Some(expected))?;
        }
    }
    Ok(())
}

/// Reduces `connectivity` + `offsets` of one section to cell centres, reading both side by side.
fn stream_centres(
    source: &dyn Source,
    index: &FileIndex,
    piece: &PieceIndex,
    section: Section,
    n_cells: u64,
    points: &[[f32; 3]],
    centres: &mut Vec<[f32; 3]>,
) -> ParseResult<()> {
    let find = |name: &str| {
        piece
            .array(section, name)
            .ok_or_else(|| invalid!("<{section:?}> has no '{name}' array"))
    };
    let offsets_desc = find("offsets")?;
    let conn_desc = find("connectivity")?;
    let mut offsets = ArrayReader::open(source, index, offsets_desc)?;
    super::read::check_declared(&offsets, offsets_desc, Some(n_cells))?;
    let mut conn = ArrayReader::open(source, index, conn_desc)?;
    let n_points = points.len() as i64;
    // Connectivity values not yet assigned to a cell.
    let mut pending: Vec<i64> = Vec::new();
    let mut pending_pos = 0usize;
    let mut consumed: i64 = 0;
    let mut cells_done = 0u64;
    let mut ends: Vec<i64> = Vec::new();
    loop {
        ends.clear();
        match offsets.next_chunk()? {
            None => break,
            Some(Chunk::Int(v)) => ends.extend_from_slice(v),
            Some(_) => return Err(invalid!("cell offsets are not integers")),
        }
        for &end in &ends {
            // A difference that overflows can only come from an offset far below the previous one.
            let Some(count) = end.checked_sub(consumed).filter(|&c| c >= 0) else {
                return Err(invalid!("cell offsets decrease at cell {cells_done}"));
            };
            let mut sum = [0f64; 3];
            for _ in 0..count {
                let p = loop {
                    if let Some(&p) = pending.get(pending_pos) {
                        break p;
                    }
                    // A chunk may hold no values (a compressed block smaller than one value, a
                    // buffer of ASCII whitespace): keep reading until one does.
                    pending.clear();
                    pending_pos = 0;
                    match conn.next_chunk()? {
                        Some(Chunk::Int(v)) => pending.extend_from_slice(v),
                        Some(_) => return Err(invalid!("cell connectivity is not integers")),
                        None => {
                            return Err(invalid!(
                                "cell offsets run past the end of the connectivity"
                            ))
                        }
                    }
                };
                pending_pos += 1;
                let Some(q) = usize::try_from(p).ok().and_then(|i| points.get(i)) else {
                    return Err(invalid!("cell {cells_done} refers to point {p}, but the piece has {n_points} points"));
                };
                sum[0] += q[0] as f64;
                sum[1] += q[1] as f64;
                sum[2] += q[2] as f64;
            }
            if count == 0 {
                return Err(invalid!(
                    "cell {cells_done} has no points, so it has no centre"
                ));
            }
            let c = count as f64;
            centres.push([
                (sum[0] / c) as f32,
                (sum[1] / c) as f32,
                (sum[2] / c) as f32,
            ]);
            consumed = end;
            cells_done += 1;
        }
    }
    if cells_done != n_cells {
        return Err(invalid!(
            "{section:?} offsets hold {cells_done} cells, the piece declares {n_cells}"
        ));
    }
    // Any value left over, in this chunk or a later one (chunks may be empty), is one too many.
    let mut longer = pending_pos < pending.len();
    while !longer {
        match conn.next_chunk()? {
            Some(c) => longer = c.len() > 0,
            None => break,
        }
    }
    if longer {
        return Err(invalid!(
            "the connectivity is longer than the cell offsets say"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::vtk_xml::index::index_file;
    use crate::mesh::vtk_xml::source::MemorySource;

    /// A `.vtu` of quads over four points, with ASCII connectivity and offsets.
    fn quads_vtu(n_cells: usize, connectivity: &str, offsets: &str) -> String {
        let types = "9 ".repeat(n_cells);
        format!(
            r#"<?xml version="1.0"?>
<VTKFile type="UnstructuredGrid" version="1.0">
  <UnstructuredGrid>
    <Piece NumberOfPoints="4" NumberOfCells="{n_cells}">
      <Points>
        <DataArray type="Float32" NumberOfComponents="3" format="ascii">0 0 0 4 0 0 4 4 0 0 4 0</DataArray>
      </Points>
      <Cells>
        <DataArray type="Int64" Name="connectivity" format="ascii">{connectivity}</DataArray>
        <DataArray type="Int64" Name="offsets" format="ascii">{offsets}</DataArray>
        <DataArray type="UInt8" Name="types" format="ascii">{types}</DataArray>
      </Cells>
    </Piece>
  </UnstructuredGrid>
</VTKFile>
"#
        )
    }

    fn centres(text: &str) -> ParseResult<Vec<[f32; 3]>> {
        let bytes = text.as_bytes();
        let index = index_file(bytes, bytes.len() as u64)?;
        let req = ExtractRequest {
            cell_centres: true,
            ..Default::default()
        };
        Ok(extract(&MemorySource(bytes), &index, &req)?
            .cell_centres
            .unwrap_or_default())
    }

    /// More whitespace than one read buffer holds, so the connectivity streams a chunk of no values.
    fn gap() -> String {
        " ".repeat(200_000)
    }

    #[test]
    fn centres_skip_connectivity_chunks_without_values() {
        let c = centres(&quads_vtu(1, &format!("0 1 2{} 3", gap()), "4")).unwrap();
        assert_eq!(c, vec![[2.0, 2.0, 0.0]]);
    }

    #[test]
    fn centres_reject_connectivity_shorter_or_longer_than_offsets_behind_empty_chunks() {
        let short = centres(&quads_vtu(1, &format!("0 1 2{}", gap()), "4")).unwrap_err();
        assert!(
            matches!(&short, crate::mesh::error::ParseError::Invalid(m) if m.contains("run past the end")),
            "{short:?}"
        );
        let long = centres(&quads_vtu(1, &format!("0 1 2 3{} 0", gap()), "4")).unwrap_err();
        assert!(
            matches!(&long, crate::mesh::error::ParseError::Invalid(m) if m.contains("longer")),
            "{long:?}"
        );
    }

    #[test]
    fn cell_counts_that_overflow_are_errors() {
        let max = u64::MAX;
        let xml = format!(
            r#"<VTKFile type="PolyData" version="1.0">
  <PolyData>
    <Piece NumberOfPoints="0" NumberOfVerts="{max}" NumberOfPolys="1"/>
    <Piece NumberOfPoints="0" NumberOfPolys="1"/>
  </PolyData>
</VTKFile>
"#
        );
        let e = centres(&xml).unwrap_err();
        assert!(
            matches!(&e, crate::mesh::error::ParseError::Invalid(m) if m.contains("2^64")),
            "{e:?}"
        );
    }

    #[test]
    fn centres_reject_offsets_far_below_the_previous_one() {
        let e = centres(&quads_vtu(2, "0 1 2 3 0 1 2 3", "4 -9223372036854775808")).unwrap_err();
        assert!(
            matches!(&e, crate::mesh::error::ParseError::Invalid(m) if m.contains("decrease")),
            "{e:?}"
        );
    }
}
