//! Reading a whole VTK XML file into a [`Mesh`].

use crate::mesh::cells::{CellType, Cells, Polyhedra};
use crate::mesh::error::{invalid, ParseResult};
use crate::mesh::field::{Field, ScalarType, Values};
use crate::mesh::model::Mesh;

use super::decode::{ArrayReader, Chunk};
use super::index::{ArrayDesc, DataSetType, FileIndex, PieceIndex, Section};
use super::source::Source;

/// Reads every value of an array as `f32`, checking the count when `expected` is known.
pub fn read_f32(
    source: &dyn Source,
    index: &FileIndex,
    desc: &ArrayDesc,
    expected: Option<u64>,
) -> ParseResult<Vec<f32>> {
    let mut r = ArrayReader::open(source, index, desc)?;
    check_declared(&r, desc, expected)?;
    let mut out = Vec::with_capacity(r.capacity_hint(expected));
    while let Some(chunk) = r.next_chunk()? {
        match chunk {
            Chunk::F32(v) => out.extend_from_slice(v),
            Chunk::F64(v) => out.extend(v.iter().map(|&x| x as f32)),
            Chunk::Int(v) => out.extend(v.iter().map(|&x| x as f32)),
        }
    }
    check_count(desc, out.len() as u64, expected)?;
    Ok(out)
}

/// Reads a 3-component array straight into points (no intermediate flat copy: for a 150M-point
/// volume that copy alone would be 1.8 GB).
pub fn read_points(
    source: &dyn Source,
    index: &FileIndex,
    desc: &ArrayDesc,
    n_points: u64,
) -> ParseResult<Vec<[f32; 3]>> {
    read_points_marked(source, index, desc, n_points, None)
}

/// The points, or with `marked` (a bitmap over point indices, 64 a word) only the marked ones, in
/// order: the whole array is streamed either way, only the kept points are held.
pub fn read_points_marked(
    source: &dyn Source,
    index: &FileIndex,
    desc: &ArrayDesc,
    n_points: u64,
    marked: Option<&[u64]>,
) -> ParseResult<Vec<[f32; 3]>> {
    if desc.components != 3 {
        return Err(invalid!(
            "Points have {} components, expected 3",
            desc.components
        ));
    }
    let expected = Some(value_count(desc, n_points)?);
    let mut r = ArrayReader::open(source, index, desc)?;
    check_declared(&r, desc, expected)?;
    let hint = r.capacity_hint(expected) / 3;
    let capacity = marked.map_or(hint, |m| {
        hint.min(m.iter().map(|w| w.count_ones() as usize).sum())
    });
    let mut out: Vec<[f32; 3]> = Vec::with_capacity(capacity);
    let mut seen = 0u64;
    let mut carry = [0f32; 3];
    let mut push = |x: f32, out: &mut Vec<[f32; 3]>| {
        let (p, k) = ((seen / 3) as usize, (seen % 3) as usize);
        seen += 1;
        if let Some(c) = carry.get_mut(k) {
            *c = x;
        }
        let kept = marked.is_none_or(|m| m.get(p / 64).is_some_and(|w| w >> (p % 64) & 1 == 1));
        if k == 2 && kept {
            out.push(carry);
        }
    };
    while let Some(chunk) = r.next_chunk()? {
        match chunk {
            Chunk::F32(v) => v.iter().for_each(|&x| push(x, &mut out)),
            Chunk::F64(v) => v.iter().for_each(|&x| push(x as f32, &mut out)),
            Chunk::Int(v) => v.iter().for_each(|&x| push(x as f32, &mut out)),
        }
    }
    // Whole points only, as counted before the bitmap existed.
    check_count(desc, seen / 3 * 3, expected)?;
    Ok(out)
}

/// Reads every value of an array as `f64`.
pub fn read_f64(
    source: &dyn Source,
    index: &FileIndex,
    desc: &ArrayDesc,
    expected: Option<u64>,
) -> ParseResult<Vec<f64>> {
    let mut r = ArrayReader::open(source, index, desc)?;
    check_declared(&r, desc, expected)?;
    let mut out = Vec::with_capacity(r.capacity_hint(expected));
    while let Some(chunk) = r.next_chunk()? {
        match chunk {
            Chunk::F32(v) => out.extend(v.iter().map(|&x| x as f64)),
            Chunk::F64(v) => out.extend_from_slice(v),
            Chunk::Int(v) => out.extend(v.iter().map(|&x| x as f64)),
        }
    }
    check_count(desc, out.len() as u64, expected)?;
    Ok(out)
}

/// Reads an integer array (ids, offsets, types).
pub fn read_ints(
    source: &dyn Source,
    index: &FileIndex,
    desc: &ArrayDesc,
    expected: Option<u64>,
) -> ParseResult<Vec<i64>> {
    if desc.scalar.is_float() {
        return Err(invalid!(
            "array '{}' must hold integers but is {}",
            desc.name,
            desc.scalar.vtk_name()
        ));
    }
    let mut r = ArrayReader::open(source, index, desc)?;
    check_declared(&r, desc, expected)?;
    let mut out = Vec::with_capacity(r.capacity_hint(expected));
    while let Some(chunk) = r.next_chunk()? {
        if let Chunk::Int(v) = chunk {
            out.extend_from_slice(v)
        }
    }
    check_count(desc, out.len() as u64, expected)?;
    Ok(out)
}

/// The number of values `tuples` tuples of `desc` hold (an error where a corrupt count overflows).
pub fn value_count(desc: &ArrayDesc, tuples: u64) -> ParseResult<u64> {
    tuples.checked_mul(desc.components as u64).ok_or_else(|| {
        invalid!(
            "array '{}' would hold {tuples} tuples of {} values, more than 2^64",
            desc.name,
            desc.components
        )
    })
}

pub fn check_declared(
    r: &ArrayReader<'_>,
    desc: &ArrayDesc,
    expected: Option<u64>,
) -> ParseResult<()> {
    if let (Some(d), Some(e)) = (r.declared_values(), expected) {
        if d != e {
            return Err(count_error(desc, d, e));
        }
    }
    Ok(())
}

pub fn check_count(desc: &ArrayDesc, got: u64, expected: Option<u64>) -> ParseResult<()> {
    match expected {
        Some(e) if e != got => Err(count_error(desc, got, e)),
        _ => Ok(()),
    }
}

fn count_error(desc: &ArrayDesc, got: u64, expected: u64) -> crate::mesh::error::ParseError {
    let c = desc.components.max(1) as u64;
    invalid!(
        "array '{}' holds {} values ({} tuples of {}) but the piece declares {} tuples",
        desc.name,
        got,
        got / c,
        c,
        expected / c
    )
}

/// Reads the whole file.
pub fn read_mesh(source: &dyn Source, index: &FileIndex) -> ParseResult<Mesh> {
    let mut mesh = Mesh::default();
    for desc in &index.field_data {
        let expected = desc
            .declared_tuples
            .map(|t| value_count(desc, t))
            .transpose()?;
        let values = read_f64(source, index, desc, expected)?;
        mesh.field_data.push(Field {
            name: desc.name.clone(),
            components: desc.components,
            values: Values::F64(values),
            source_type: desc.scalar,
        });
    }
    for (i, piece) in index.pieces.iter().enumerate() {
        let part = read_piece(source, index, piece).map_err(|e| match e {
            crate::mesh::error::ParseError::Invalid(m) if index.pieces.len() > 1 => {
                invalid!("piece {i}: {m}")
            }
            other => other,
        })?;
        append_piece(&mut mesh, part, i)?;
    }
    Ok(mesh)
}

fn read_piece(source: &dyn Source, index: &FileIndex, piece: &PieceIndex) -> ParseResult<Mesh> {
    let n_points = piece.n_points;
    let points = match piece.first_in(Section::Points) {
        Some(desc) => read_points(source, index, desc, n_points)?,
        None if n_points == 0 => Vec::new(),
        None => {
            return Err(invalid!(
                "piece declares {n_points} points but has no <Points>"
            ))
        }
    };
    let cells = match index.kind {
        DataSetType::UnstructuredGrid => read_ugrid_cells(source, index, piece)?,
        DataSetType::PolyData => read_poly_cells(source, index, piece)?,
    };
    let n_cells = cells.len() as u64;
    let mut mesh = Mesh {
        points,
        cells,
        ..Default::default()
    };
    for (section, n, dst) in [
        (Section::PointData, n_points, &mut mesh.point_data),
        (Section::CellData, n_cells, &mut mesh.cell_data),
    ] {
        for desc in piece.section(section) {
            let values = read_f32(source, index, desc, Some(value_count(desc, n)?))?;
            dst.push(Field {
                name: desc.name.clone(),
                components: desc.components,
                values: Values::F32(values),
                source_type: desc.scalar,
            });
        }
    }
    Ok(mesh)
}

fn to_ids(v: Vec<i64>, what: &str, n_points: u64) -> ParseResult<Vec<u32>> {
    v.into_iter()
        .map(|x| {
            if x < 0 || x as u64 >= n_points {
                Err(invalid!(
                    "{what} refers to point {x}, but the piece has {n_points} points"
                ))
            } else {
                Ok(x as u32)
            }
        })
        .collect()
}

/// VTK XML offsets are the end of each cell; ours start with 0.
fn end_offsets_to_ranges(ends: Vec<i64>, conn_len: usize, what: &str) -> ParseResult<Vec<u64>> {
    let mut out = Vec::with_capacity(ends.len() + 1);
    out.push(0u64);
    let mut prev = 0i64;
    for e in ends {
        if e < prev {
            return Err(invalid!("{what} offsets decrease ({prev} then {e})"));
        }
        prev = e;
        out.push(e as u64);
    }
    if prev as usize != conn_len {
        return Err(invalid!(
            "{what} offsets end at {prev} but the connectivity has {conn_len} entries"
        ));
    }
    Ok(out)
}

fn required<'p>(piece: &'p PieceIndex, section: Section, name: &str) -> ParseResult<&'p ArrayDesc> {
    piece
        .array(section, name)
        .ok_or_else(|| invalid!("<{section:?}> has no '{name}' array"))
}

fn read_ugrid_cells(
    source: &dyn Source,
    index: &FileIndex,
    piece: &PieceIndex,
) -> ParseResult<Cells> {
    let n = piece.n_cells;
    if n == 0 {
        return Ok(Cells::default());
    }
    let conn = read_ints(
        source,
        index,
        required(piece, Section::Cells, "connectivity")?,
        None,
    )?;
    let connectivity = to_ids(conn, "cell connectivity", piece.n_points)?;
    let ends = read_ints(
        source,
        index,
        required(piece, Section::Cells, "offsets")?,
        Some(n),
    )?;
    let offsets = end_offsets_to_ranges(ends, connectivity.len(), "cell")?;
    let types_raw = read_ints(
        source,
        index,
        required(piece, Section::Cells, "types")?,
        Some(n),
    )?;
    let types = types_raw
        .iter()
        .map(|&t| {
            u8::try_from(t)
                .map(CellType)
                .map_err(|_| invalid!("cell type {t} is not a VTK cell type"))
        })
        .collect::<ParseResult<Vec<_>>>()?;
    let has_poly = types.contains(&CellType::POLYHEDRON);
    let polyhedra = if !has_poly {
        None
    } else if piece.array(Section::Cells, "face_connectivity").is_some() {
        Some(read_polyhedra_new(source, index, piece, &types)?)
    } else if piece.array(Section::Cells, "faces").is_some() {
        Some(read_polyhedra_old(source, index, piece, &types)?)
    } else {
        return Err(invalid!(
            "the piece has polyhedron cells but no face arrays"
        ));
    };
    let cells = Cells {
        types,
        offsets,
        connectivity,
        polyhedra,
    };
    check_fixed_sizes(&cells)?;
    Ok(cells)
}

/// Consecutive pairs `(ranges[k], ranges[k + 1])`: the start and end of each range.
fn pairs(ranges: &[u64]) -> impl Iterator<Item = (u64, u64)> + '_ {
    ranges.iter().copied().zip(ranges.iter().copied().skip(1))
}

/// The entries `[start, end)` of `data`, where the range came from [`end_offsets_to_ranges`] for it
/// (so it is in bounds unless that invariant broke).
fn span<'a, T>(data: &'a [T], (start, end): (u64, u64), what: &str) -> ParseResult<&'a [T]> {
    usize::try_from(start)
        .ok()
        .zip(usize::try_from(end).ok())
        .and_then(|(s, e)| data.get(s..e))
        .ok_or_else(|| {
            invalid!(
                "internal: {what} range {start}..{end} outside its {} entries",
                data.len()
            )
        })
}

/// Cells whose type fixes their point count must have that many points.
fn check_fixed_sizes(cells: &Cells) -> ParseResult<()> {
    for (i, (t, (start, end))) in cells.types.iter().zip(pairs(&cells.offsets)).enumerate() {
        if let Some(k) = t.fixed_point_count() {
            if (end - start) as usize != k {
                return Err(invalid!(
                    "cell {i} is a {} with {} points (expected {k})",
                    t.name(),
                    end - start
                ));
            }
        }
    }
    Ok(())
}

/// VTK ≥ 9.4: `face_connectivity`/`face_offsets` list faces, `polyhedron_to_faces`/`polyhedron_offsets`
/// list each cell's faces.
fn read_polyhedra_new(
    source: &dyn Source,
    index: &FileIndex,
    piece: &PieceIndex,
    types: &[CellType],
) -> ParseResult<Polyhedra> {
    let fconn = read_ints(
        source,
        index,
        required(piece, Section::Cells, "face_connectivity")?,
        None,
    )?;
    let fconn = to_ids(fconn, "face connectivity", piece.n_points)?;
    let fends = read_ints(
        source,
        index,
        required(piece, Section::Cells, "face_offsets")?,
        None,
    )?;
    let face_ranges = end_offsets_to_ranges(fends, fconn.len(), "face")?;
    let n_faces = face_ranges.len() - 1;
    let p2f = read_ints(
        source,
        index,
        required(piece, Section::Cells, "polyhedron_to_faces")?,
        None,
    )?;
    let p_ends = read_ints(
        source,
        index,
        required(piece, Section::Cells, "polyhedron_offsets")?,
        Some(types.len() as u64),
    )?;
    let p_ranges = end_offsets_to_ranges(p_ends, p2f.len(), "polyhedron")?;
    let mut out = Polyhedra {
        cell_faces: Vec::with_capacity(types.len() + 1),
        face_offsets: vec![0],
        face_connectivity: Vec::new(),
    };
    out.cell_faces.push(0);
    for (i, (t, range)) in types.iter().zip(pairs(&p_ranges)).enumerate() {
        if *t == CellType::POLYHEDRON {
            for &f in span(&p2f, range, "polyhedron_to_faces")? {
                let Some(face) = usize::try_from(f)
                    .ok()
                    .and_then(|f| face_ranges.get(f).zip(face_ranges.get(f + 1)))
                else {
                    return Err(invalid!(
                        "polyhedron {i} refers to face {f}, but there are {n_faces} faces"
                    ));
                };
                out.face_connectivity.extend_from_slice(span(
                    &fconn,
                    (*face.0, *face.1),
                    "face_connectivity",
                )?);
                out.face_offsets.push(out.face_connectivity.len() as u64);
            }
        }
        out.cell_faces.push(out.face_offsets.len() as u64 - 1);
    }
    Ok(out)
}

/// VTK < 9.4: `faces` holds, per polyhedron, `nFaces, (nPts, ids...)...`; `faceoffsets` the end of each
/// polyhedron's stream (-1 for other cells).
fn read_polyhedra_old(
    source: &dyn Source,
    index: &FileIndex,
    piece: &PieceIndex,
    types: &[CellType],
) -> ParseResult<Polyhedra> {
    let faces = read_ints(
        source,
        index,
        required(piece, Section::Cells, "faces")?,
        None,
    )?;
    let ends = read_ints(
        source,
        index,
        required(piece, Section::Cells, "faceoffsets")?,
        Some(types.len() as u64),
    )?;
    let mut out = Polyhedra {
        cell_faces: vec![0],
        face_offsets: vec![0],
        face_connectivity: Vec::new(),
    };
    let mut pos = 0usize;
    for (i, (t, &end)) in types.iter().zip(&ends).enumerate() {
        if *t == CellType::POLYHEDRON {
            let Some((stream_end, stream)) = usize::try_from(end)
                .ok()
                .and_then(|e| Some((e, faces.get(pos..e)?)))
            else {
                return Err(invalid!(
                    "faceoffsets of polyhedron {i} ({end}) out of range"
                ));
            };
            let mut it = stream.iter();
            let n_faces = *it
                .next()
                .ok_or_else(|| invalid!("polyhedron {i} has an empty face stream"))?;
            for _ in 0..n_faces.max(0) {
                let k = *it
                    .next()
                    .ok_or_else(|| invalid!("face stream of polyhedron {i} ends early"))?;
                for _ in 0..k.max(0) {
                    let p = *it
                        .next()
                        .ok_or_else(|| invalid!("face stream of polyhedron {i} ends early"))?;
                    if p < 0 || p as u64 >= piece.n_points {
                        return Err(invalid!("polyhedron {i} refers to point {p}"));
                    }
                    out.face_connectivity.push(p as u32);
                }
                out.face_offsets.push(out.face_connectivity.len() as u64);
            }
            if it.next().is_some() {
                return Err(invalid!(
                    "face stream of polyhedron {i} is longer than its faces"
                ));
            }
            pos = stream_end;
        }
        out.cell_faces.push(out.face_offsets.len() as u64 - 1);
    }
    Ok(out)
}

fn read_poly_cells(
    source: &dyn Source,
    index: &FileIndex,
    piece: &PieceIndex,
) -> ParseResult<Cells> {
    let mut cells = Cells::default();
    for (section, n) in piece.poly_sections() {
        if n == 0 {
            continue;
        }
        let conn = read_ints(
            source,
            index,
            required(piece, section, "connectivity")?,
            None,
        )?;
        let conn = to_ids(conn, "cell connectivity", piece.n_points)?;
        let ends = read_ints(source, index, required(piece, section, "offsets")?, Some(n))?;
        let ranges = end_offsets_to_ranges(ends, conn.len(), &format!("{section:?}"))?;
        for range in pairs(&ranges) {
            let ids = span(&conn, range, "connectivity")?;
            let t = section.poly_cell_type(ids.len());
            cells.push(t, ids);
        }
    }
    Ok(cells)
}

/// Appends a piece: its point ids shift by the points already present; arrays must match by name.
fn append_piece(mesh: &mut Mesh, piece: Mesh, i: usize) -> ParseResult<()> {
    if i == 0 {
        let field_data = std::mem::take(&mut mesh.field_data);
        *mesh = piece;
        mesh.field_data = field_data;
        return Ok(());
    }
    let shift = mesh.points.len() as u64;
    if shift + piece.points.len() as u64 > u32::MAX as u64 {
        return Err(invalid!("more than 2^32 points"));
    }
    let shift = shift as u32;
    let base = mesh.cells.connectivity.len() as u64;
    mesh.points.extend_from_slice(&piece.points);
    mesh.cells.types.extend_from_slice(&piece.cells.types);
    mesh.cells
        .connectivity
        .extend(piece.cells.connectivity.iter().map(|&p| p + shift));
    mesh.cells
        .offsets
        .extend(piece.cells.offsets.iter().skip(1).map(|&o| o + base));
    match (&mut mesh.cells.polyhedra, piece.cells.polyhedra) {
        (None, None) => {}
        (dst, src) => {
            let n_before = mesh.cells.types.len() - piece.cells.types.len();
            let d = dst.get_or_insert_with(|| Polyhedra {
                cell_faces: vec![0; n_before + 1],
                face_offsets: vec![0],
                face_connectivity: Vec::new(),
            });
            let src = src.unwrap_or_else(|| Polyhedra {
                cell_faces: vec![0; piece.cells.types.len() + 1],
                face_offsets: vec![0],
                face_connectivity: Vec::new(),
            });
            let face_base = d.face_offsets.len() as u64 - 1;
            let conn_base = d.face_connectivity.len() as u64;
            d.cell_faces
                .extend(src.cell_faces.iter().skip(1).map(|&f| f + face_base));
            d.face_offsets
                .extend(src.face_offsets.iter().skip(1).map(|&o| o + conn_base));
            d.face_connectivity
                .extend(src.face_connectivity.iter().map(|&p| p + shift));
        }
    }
    for (dst, src, what) in [
        (&mut mesh.point_data, piece.point_data, "point"),
        (&mut mesh.cell_data, piece.cell_data, "cell"),
    ] {
        if dst.len() != src.len() {
            return Err(invalid!(
                "piece {i} has different {what} arrays than piece 0"
            ));
        }
        for (d, s) in dst.iter_mut().zip(src) {
            if d.name != s.name || d.components != s.components {
                return Err(invalid!(
                    "piece {i} has {what} array '{}' where piece 0 has '{}'",
                    s.name,
                    d.name
                ));
            }
            match (&mut d.values, s.values) {
                (Values::F32(a), Values::F32(b)) => a.extend(b),
                (Values::F64(a), Values::F64(b)) => a.extend(b),
                (a, b) => {
                    let mut merged: Vec<f64> = a.iter_f64().collect();
                    merged.extend(b.iter_f64());
                    *a = Values::F64(merged);
                }
            }
            if d.source_type != s.source_type {
                d.source_type = ScalarType::F64;
            }
        }
    }
    Ok(())
}
