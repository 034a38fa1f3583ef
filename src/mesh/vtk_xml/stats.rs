//! What `info` reports about a VTK XML file, computed by streaming every array once without holding
//! the mesh: a 50 GB DrivAerML volume is summarised in the memory of one decode buffer.
//!
//! Counts are checked as the full reader checks them; connectivity is not validated (that needs the
//! whole topology), so a clean summary of a huge file is not proof that its cells are consistent.

use std::collections::BTreeMap;

use crate::mesh::cells::CellType;
use crate::mesh::error::{invalid, ParseResult};
use crate::mesh::field::{FieldStats, Location, ScalarType};

use super::decode::{ArrayReader, Chunk};
use super::index::{ArrayDesc, DataSetType, FileIndex, Section};
use super::read::{check_count, check_declared, value_count};
use super::source::Source;

/// One array's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayStats {
    pub name: String,
    pub location: Location,
    pub components: usize,
    pub source_type: ScalarType,
    pub stats: FieldStats,
}

/// A file's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamedSummary {
    pub kind: DataSetType,
    pub n_points: u64,
    pub n_cells: u64,
    pub cell_types: BTreeMap<CellType, u64>,
    pub arrays: Vec<ArrayStats>,
    /// Bounding box of the points, `[xmin, ymin, zmin, xmax, ymax, zmax]`.
    pub bounds: Option<[f64; 6]>,
}

/// Feeds every value of an array to `each` (as f64, with its index in the array), checking counts.
fn stream(
    source: &dyn Source,
    index: &FileIndex,
    desc: &ArrayDesc,
    expected: Option<u64>,
    mut each: impl FnMut(u64, f64),
) -> ParseResult<u64> {
    let mut r = ArrayReader::open(source, index, desc)?;
    check_declared(&r, desc, expected)?;
    let mut n = 0u64;
    while let Some(chunk) = r.next_chunk()? {
        match chunk {
            Chunk::F32(v) => v.iter().for_each(|&x| {
                each(n, x as f64);
                n += 1;
            }),
            Chunk::F64(v) => v.iter().for_each(|&x| {
                each(n, x);
                n += 1;
            }),
            Chunk::Int(v) => v.iter().for_each(|&x| {
                each(n, x as f64);
                n += 1;
            }),
        }
    }
    check_count(desc, n, expected)?;
    Ok(n)
}

fn merge(into: &mut FieldStats, other: &FieldStats) {
    into.min = into.min.min(other.min);
    into.max = into.max.max(other.max);
    into.sum += other.sum;
}

pub fn summarize(source: &dyn Source, index: &FileIndex) -> ParseResult<StreamedSummary> {
    let mut out = StreamedSummary {
        kind: index.kind,
        n_points: 0,
        n_cells: 0,
        cell_types: BTreeMap::new(),
        arrays: Vec::new(),
        bounds: None,
    };
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for (p, piece) in index.pieces.iter().enumerate() {
        out.n_points = out.n_points.saturating_add(piece.n_points);
        let n_cells = piece.total_cells(index.kind);
        out.n_cells = out.n_cells.saturating_add(n_cells);
        if let Some(desc) = piece.first_in(Section::Points) {
            if desc.components != 3 {
                return Err(invalid!(
                    "Points have {} components, expected 3",
                    desc.components
                ));
            }
            stream(
                source,
                index,
                desc,
                Some(value_count(desc, piece.n_points)?),
                |i, x| {
                    let k = (i % 3) as usize;
                    if let (Some(l), Some(h)) = (lo.get_mut(k), hi.get_mut(k)) {
                        *l = l.min(x);
                        *h = h.max(x);
                    }
                },
            )?;
        } else if piece.n_points > 0 {
            return Err(invalid!(
                "piece declares {} points but has no <Points>",
                piece.n_points
            ));
        }
        count_cell_types(source, index, piece, &mut out.cell_types)?;
        for (section, location, n) in [
            (Section::PointData, Location::Point, piece.n_points),
            (Section::CellData, Location::Cell, n_cells),
        ] {
            for desc in piece.section(section) {
                let stats = array_stats(source, index, desc, Some(value_count(desc, n)?))?;
                add(&mut out.arrays, desc, location, stats, p)?;
            }
        }
    }
    for desc in &index.field_data {
        let expected = match desc.declared_tuples {
            Some(t) => Some(value_count(desc, t)?),
            None => None,
        };
        let stats = array_stats(source, index, desc, expected)?;
        out.arrays.push(ArrayStats {
            name: desc.name.clone(),
            location: Location::Field,
            components: desc.components,
            source_type: desc.scalar,
            stats,
        });
    }
    if lo.iter().zip(&hi).all(|(l, h)| l <= h) {
        out.bounds = Some([lo[0], lo[1], lo[2], hi[0], hi[1], hi[2]]);
    }
    Ok(out)
}

fn array_stats(
    source: &dyn Source,
    index: &FileIndex,
    desc: &ArrayDesc,
    expected: Option<u64>,
) -> ParseResult<FieldStats> {
    let (mut min, mut max, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
    let n = stream(source, index, desc, expected, |_, x| {
        min = min.min(x);
        max = max.max(x);
        sum += x;
    })?;
    // No values: zeros, as `FieldStats::of` reports them.
    Ok(if n > 0 {
        FieldStats { min, max, sum }
    } else {
        FieldStats::of(std::iter::empty())
    })
}

/// Adds a piece's array to the summary, merging with the same array of earlier pieces.
fn add(
    arrays: &mut Vec<ArrayStats>,
    desc: &ArrayDesc,
    location: Location,
    stats: FieldStats,
    piece: usize,
) -> ParseResult<()> {
    match arrays
        .iter_mut()
        .find(|a| a.name == desc.name && a.location == location)
    {
        Some(a) if a.components == desc.components => merge(&mut a.stats, &stats),
        Some(_) => {
            return Err(invalid!(
                "array '{}' changes its component count in piece {piece}",
                desc.name
            ))
        }
        None if piece == 0 => arrays.push(ArrayStats {
            name: desc.name.clone(),
            location,
            components: desc.components,
            source_type: desc.scalar,
            stats,
        }),
        None => {
            return Err(invalid!(
                "piece {piece} has {location:?} array '{}' that piece 0 lacks",
                desc.name
            ))
        }
    }
    Ok(())
}

fn count_cell_types(
    source: &dyn Source,
    index: &FileIndex,
    piece: &super::index::PieceIndex,
    counts: &mut BTreeMap<CellType, u64>,
) -> ParseResult<()> {
    match index.kind {
        DataSetType::UnstructuredGrid => {
            if piece.n_cells == 0 {
                return Ok(());
            }
            let desc = piece
                .array(Section::Cells, "types")
                .ok_or_else(|| invalid!("<Cells> has no 'types' array"))?;
            let mut bad = None;
            stream(source, index, desc, Some(piece.n_cells), |_, t| {
                if t.fract() == 0.0 && (0.0..=255.0).contains(&t) {
                    *counts.entry(CellType(t as u8)).or_insert(0) += 1;
                } else {
                    bad = Some(t);
                }
            })?;
            if let Some(t) = bad {
                return Err(invalid!("cell type {t} is not a VTK cell type"));
            }
        }
        DataSetType::PolyData => {
            for (section, n) in piece.poly_sections() {
                if n == 0 {
                    continue;
                }
                let desc = piece
                    .array(section, "offsets")
                    .ok_or_else(|| invalid!("<{section:?}> has no 'offsets' array"))?;
                let mut prev = 0f64;
                let mut decreasing = false;
                stream(source, index, desc, Some(n), |_, end| {
                    let size = end - prev;
                    prev = end;
                    decreasing |= size < 0.0;
                    *counts
                        .entry(section.poly_cell_type(size.max(0.0) as usize))
                        .or_insert(0) += 1;
                })?;
                if decreasing {
                    return Err(invalid!("<{section:?}> offsets decrease"));
                }
            }
        }
    }
    Ok(())
}
