//! The dataset's structure: points, the cell sections of polydata and unstructured grids in both
//! layouts (records up to version 4.2; offsets and connectivity in 5.x), cell types, and their
//! assembly into [`Cells`] (polyhedra's face streams included).

use super::grammar::{polyhedron_faces, show, DataType};
use super::reader::{Attributes, Dataset, Reader};
use crate::mesh::cells::{CellType, Cells, Polyhedra};
use crate::mesh::error::{invalid, ParseResult};
use crate::mesh::field::ScalarType;
use crate::mesh::model::Mesh;

/// Cells as stored: offsets (`n + 1`, from 0) into a connectivity that, for polyhedra, still holds face
/// streams.
#[derive(Debug)]
pub(super) struct RawCells {
    pub(super) offsets: Vec<u64>,
    pub(super) connectivity: Vec<u32>,
}

impl Default for RawCells {
    fn default() -> Self {
        RawCells {
            offsets: vec![0],
            connectivity: Vec::new(),
        }
    }
}

impl RawCells {
    pub(super) fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub(super) fn cell(&self, i: usize) -> &[u32] {
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => self.connectivity.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }
}

impl<'a> Reader<'a> {
    pub(super) fn read_dataset(&mut self, dataset: Dataset) -> ParseResult<Mesh> {
        let mut points: Option<Vec<[f32; 3]>> = None;
        // Polydata sections in VTK's cell order: verts, lines, polys, strips.
        let mut poly_sections: [Option<RawCells>; 4] = [None, None, None, None];
        let mut ug_cells: Option<RawCells> = None;
        let mut ug_types: Option<Vec<CellType>> = None;
        let mut field_data = Vec::new();
        let mut point_data = Vec::new();
        let mut cell_data = Vec::new();
        let mut attributes: Option<(Attributes, usize)> = None;
        let mut n_cells: Option<usize> = None;

        while let Some(keyword) = self.cur.token() {
            let upper = String::from_utf8_lossy(keyword).to_ascii_uppercase();
            if let Some((location, expected)) = attributes {
                match upper.as_str() {
                    "POINT_DATA" | "CELL_DATA" | "METADATA" => {}
                    _ => {
                        let out = match location {
                            Attributes::Point => &mut point_data,
                            Attributes::Cell => &mut cell_data,
                        };
                        self.read_attribute(&upper, location, expected, out)?;
                        continue;
                    }
                }
            }
            match (upper.as_str(), dataset) {
                ("FIELD", _) => self.read_field_block(None, &mut field_data)?,
                ("METADATA", _) => {
                    // A stray metadata block: skip it like the one after an array.
                    self.cur.pos -= keyword.len();
                    self.skip_metadata(0)?;
                }
                ("POINTS", _) => {
                    if points.is_some() {
                        return Err(invalid!("second POINTS section"));
                    }
                    points = Some(self.read_points()?);
                }
                ("VERTICES" | "LINES" | "POLYGONS" | "TRIANGLE_STRIPS", Dataset::PolyData) => {
                    let slot = match upper.as_str() {
                        "VERTICES" => 0,
                        "LINES" => 1,
                        "POLYGONS" => 2,
                        _ => 3,
                    };
                    let cells = self.read_cell_array(&upper)?;
                    if let Some(s) = poly_sections.get_mut(slot) {
                        if s.is_some() {
                            return Err(invalid!("second {upper} section"));
                        }
                        *s = Some(cells);
                    }
                }
                ("CELLS", Dataset::UnstructuredGrid) => {
                    if ug_cells.is_some() {
                        return Err(invalid!("second CELLS section"));
                    }
                    ug_cells = Some(self.read_cell_array("CELLS")?);
                }
                ("CELL_TYPES", Dataset::UnstructuredGrid) => {
                    if ug_types.is_some() {
                        return Err(invalid!("second CELL_TYPES section"));
                    }
                    ug_types = Some(self.read_cell_types()?);
                }
                ("POINT_DATA" | "CELL_DATA", _) => {
                    let location = if upper == "POINT_DATA" {
                        Attributes::Point
                    } else {
                        Attributes::Cell
                    };
                    let n = self.count(&upper)?;
                    let actual = match location {
                        Attributes::Point => points.as_ref().map_or(0, Vec::len),
                        Attributes::Cell => *n_cells.get_or_insert(match dataset {
                            Dataset::PolyData => {
                                poly_sections.iter().flatten().map(RawCells::len).sum()
                            }
                            Dataset::UnstructuredGrid => ug_cells.as_ref().map_or(0, RawCells::len),
                        }),
                    };
                    if n != actual {
                        let noun = match location {
                            Attributes::Point => "points",
                            Attributes::Cell => "cells",
                        };
                        return Err(invalid!("{upper} {n} but the dataset has {actual} {noun}"));
                    }
                    attributes = Some((location, n));
                }
                _ => {
                    let name = match dataset {
                        Dataset::PolyData => "POLYDATA",
                        Dataset::UnstructuredGrid => "UNSTRUCTURED_GRID",
                    };
                    return Err(invalid!(
                        "unexpected keyword '{}' in DATASET {name}",
                        show(keyword)
                    ));
                }
            }
        }

        let points = points.unwrap_or_default();
        let cells = match dataset {
            Dataset::PolyData => merge_poly_sections(poly_sections)?,
            Dataset::UnstructuredGrid => {
                let raw = ug_cells.unwrap_or_default();
                let types = ug_types.unwrap_or_default();
                if types.len() != raw.len() {
                    return Err(invalid!(
                        "CELLS holds {} cells but CELL_TYPES {}",
                        raw.len(),
                        types.len()
                    ));
                }
                build_unstructured(raw, types, points.len())?
            }
        };
        if let Some(n) = n_cells {
            if n != cells.len() {
                return Err(invalid!(
                    "CELL_DATA {n} but the dataset has {} cells",
                    cells.len()
                ));
            }
        }
        check_point_ids(&cells, points.len())?;
        Ok(Mesh {
            points,
            cells,
            point_data,
            cell_data,
            field_data,
            parts: None,
        })
    }

    pub(super) fn read_points(&mut self) -> ParseResult<Vec<[f32; 3]>> {
        let n = self.count("POINTS")?;
        let dt = DataType::parse(self.token("POINTS")?, "POINTS")?;
        let total = n
            .checked_mul(3)
            .ok_or_else(|| invalid!("POINTS {n} is too large"))?;
        self.plausible(dt, total, "POINTS")?;
        let mut points = Vec::with_capacity(n);
        let mut xyz = [0f32; 3];
        let mut k = 0;
        self.for_each_real::<f32>(dt, total, "POINTS", |v| {
            if let Some(slot) = xyz.get_mut(k) {
                *slot = v;
            }
            k += 1;
            if k == 3 {
                points.push(xyz);
                k = 0;
            }
        })?;
        if let Some(i) = points.iter().position(|p| p.iter().any(|c| !c.is_finite())) {
            let p = points.get(i).copied().unwrap_or_default();
            return Err(invalid!(
                "point {i} has a non-finite coordinate {p:?} (NaN, infinite or beyond float32)"
            ));
        }
        self.skip_metadata(3)?;
        Ok(points)
    }

    /// Reads a cell array (`CELLS`, `POLYGONS`, ...) in either layout, after its keyword.
    pub(super) fn read_cell_array(&mut self, what: &str) -> ParseResult<RawCells> {
        let a = self.count(what)?;
        let b = self.count(what)?;
        let new_layout =
            matches!(self.cur.peek_token(), Some(t) if t.eq_ignore_ascii_case(b"OFFSETS"));
        if new_layout {
            return self.read_offsets_connectivity(a, b, what);
        }
        if self.major_version >= 5 {
            if a == 0 {
                return Ok(RawCells::default());
            }
            return Err(invalid!(
                "{what}: expected an OFFSETS array (file version 5 layout)"
            ));
        }
        self.read_legacy_cells(a, b, what)
    }

    /// Version ≤ 4.2: `n` records `npts id…` of `size` integers in all (int32 in binary files).
    pub(super) fn read_legacy_cells(
        &mut self,
        n: usize,
        size: usize,
        what: &str,
    ) -> ParseResult<RawCells> {
        if n > size {
            return Err(invalid!(
                "{what} {n} {size}: more cells than integers in the cell list"
            ));
        }
        let dt = DataType::Num(ScalarType::I32);
        self.plausible(dt, size, what)?;
        let mut values: Vec<u32> = Vec::with_capacity(size);
        self.for_each_int(dt, size, what, |v| {
            let v = u32::try_from(v)
                .map_err(|_| invalid!("{what}: value {v} is not a valid point id or count"))?;
            values.push(v);
            Ok(())
        })?;
        self.skip_metadata(1)?;
        // Compact the records into offsets + connectivity in place.
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0u64);
        let (mut read, mut write) = (0usize, 0usize);
        for cell in 0..n {
            let npts = *values
                .get(read)
                .ok_or_else(|| invalid!("{what}: the cell list ends at cell {cell} of {n}"))?
                as usize;
            let start = read + 1;
            let end = start
                .checked_add(npts)
                .filter(|&e| e <= values.len())
                .ok_or_else(|| {
                    invalid!(
                        "{what}: cell {cell} declares {npts} points, past the end of the cell list"
                    )
                })?;
            values.copy_within(start..end, write);
            write += npts;
            read = end;
            offsets.push(write as u64);
        }
        if read != values.len() {
            return Err(invalid!(
                "{what}: the {n} cells use {read} integers but the header declares {size}"
            ));
        }
        values.truncate(write);
        Ok(RawCells {
            offsets,
            connectivity: values,
        })
    }

    /// Version 5.x: `OFFSETS type` (`n_offsets` values) then `CONNECTIVITY type` (`n_conn` values).
    pub(super) fn read_offsets_connectivity(
        &mut self,
        n_offsets: usize,
        n_conn: usize,
        what: &str,
    ) -> ParseResult<RawCells> {
        let offsets_what = format!("{what} OFFSETS");
        self.token(&offsets_what)?;
        let dt = DataType::parse(self.token(&offsets_what)?, &offsets_what)?;
        self.plausible(dt, n_offsets, &offsets_what)?;
        let mut offsets: Vec<u64> = Vec::with_capacity(n_offsets.max(1));
        self.for_each_int(dt, n_offsets, &offsets_what, |v| {
            let v = u64::try_from(v)
                .ok()
                .filter(|&v| v <= n_conn as u64)
                .ok_or_else(|| {
                    invalid!("{offsets_what}: offset {v} outside the connectivity (0..={n_conn})")
                })?;
            if offsets.last().is_some_and(|&last| v < last) {
                return Err(invalid!("{offsets_what}: offsets decrease"));
            }
            offsets.push(v);
            Ok(())
        })?;
        self.skip_metadata(1)?;
        if offsets.is_empty() {
            offsets.push(0);
        }
        if offsets.first() != Some(&0) || offsets.last() != Some(&(n_conn as u64)) {
            return Err(invalid!(
                "{offsets_what}: offsets must run from 0 to {n_conn}, found {:?}..{:?}",
                offsets.first(),
                offsets.last()
            ));
        }

        let conn_what = format!("{what} CONNECTIVITY");
        let keyword = self.token(&conn_what)?;
        if !keyword.eq_ignore_ascii_case(b"CONNECTIVITY") {
            return Err(invalid!(
                "{what}: expected CONNECTIVITY after OFFSETS, found '{}'",
                show(keyword)
            ));
        }
        let dt = DataType::parse(self.token(&conn_what)?, &conn_what)?;
        self.plausible(dt, n_conn, &conn_what)?;
        let mut connectivity = Vec::with_capacity(n_conn);
        self.for_each_int(dt, n_conn, &conn_what, |v| {
            let v = u32::try_from(v)
                .map_err(|_| invalid!("{conn_what}: value {v} is not a valid point id or count"))?;
            connectivity.push(v);
            Ok(())
        })?;
        self.skip_metadata(1)?;
        Ok(RawCells {
            offsets,
            connectivity,
        })
    }

    pub(super) fn read_cell_types(&mut self) -> ParseResult<Vec<CellType>> {
        let n = self.count("CELL_TYPES")?;
        let dt = DataType::Num(ScalarType::I32);
        self.plausible(dt, n, "CELL_TYPES")?;
        let mut types = Vec::with_capacity(n);
        self.for_each_int(dt, n, "CELL_TYPES", |v| {
            let t = u8::try_from(v).map_err(|_| invalid!("CELL_TYPES: bad cell type {v}"))?;
            types.push(CellType(t));
            Ok(())
        })?;
        self.skip_metadata(1)?;
        Ok(types)
    }
}

// ---------------------------------------------------------------------------------------------
// Cell assembly
// ---------------------------------------------------------------------------------------------

/// Merges the polydata sections (verts, lines, polys, strips) into one cell list with VTK's types.
pub(super) fn merge_poly_sections(sections: [Option<RawCells>; 4]) -> ParseResult<Cells> {
    let type_of = |slot: usize, npts: usize| match (slot, npts) {
        (0, 1) => CellType::VERTEX,
        (0, _) => CellType::POLY_VERTEX,
        (1, 2) => CellType::LINE,
        (1, _) => CellType::POLY_LINE,
        (2, 3) => CellType::TRIANGLE,
        (2, 4) => CellType::QUAD,
        (2, _) => CellType::POLYGON,
        _ => CellType::TRIANGLE_STRIP,
    };
    let present = sections.iter().filter(|s| s.is_some()).count();
    let total: usize = sections.iter().flatten().map(RawCells::len).sum();
    let mut cells = Cells::default();
    cells.types.reserve(total);
    for (slot, section) in sections.into_iter().enumerate() {
        let Some(raw) = section else { continue };
        for w in raw.offsets.windows(2) {
            if let [a, b] = *w {
                cells
                    .types
                    .push(type_of(slot, b.saturating_sub(a) as usize));
            }
        }
        if present == 1 {
            cells.offsets = raw.offsets;
            cells.connectivity = raw.connectivity;
        } else {
            let base = cells.connectivity.len() as u64;
            cells
                .offsets
                .extend(raw.offsets.iter().skip(1).map(|&o| o + base));
            cells.connectivity.extend_from_slice(&raw.connectivity);
        }
    }
    if cells.offsets.len() != cells.types.len() + 1 {
        return Err(invalid!("inconsistent polydata cell offsets"));
    }
    Ok(cells)
}

/// Builds the unstructured grid's cells: checks fixed point counts and turns polyhedron face streams
/// into distinct points + [`Polyhedra`].
pub(super) fn build_unstructured(
    raw: RawCells,
    types: Vec<CellType>,
    n_points: usize,
) -> ParseResult<Cells> {
    for (i, &t) in types.iter().enumerate() {
        if let Some(expected) = t.fixed_point_count() {
            let got = raw.cell(i).len();
            if got != expected {
                return Err(invalid!(
                    "cell {i} ({}) has {got} points, expected {expected}",
                    t.name()
                ));
            }
        }
    }
    if !types.contains(&CellType::POLYHEDRON) {
        return Ok(Cells {
            types,
            offsets: raw.offsets,
            connectivity: raw.connectivity,
            polyhedra: None,
        });
    }

    let mut offsets = Vec::with_capacity(raw.offsets.len());
    offsets.push(0u64);
    let mut connectivity = Vec::with_capacity(raw.connectivity.len());
    let mut poly = Polyhedra {
        cell_faces: Vec::with_capacity(types.len() + 1),
        face_offsets: vec![0],
        face_connectivity: Vec::new(),
    };
    poly.cell_faces.push(0);
    // `seen[p] == stamp` marks points already listed for the current polyhedron.
    let mut seen = vec![0u32; n_points];
    let mut stamp = 0u32;
    for (i, &t) in types.iter().enumerate() {
        let cell = raw.cell(i);
        if t == CellType::POLYHEDRON {
            stamp = match stamp.checked_add(1) {
                Some(s) => s,
                None => {
                    seen.iter_mut().for_each(|s| *s = 0);
                    1
                }
            };
            let faces = polyhedron_faces(cell).map_err(|e| invalid!("polyhedron cell {i}: {e}"))?;
            for ids in faces {
                for &p in ids {
                    let slot = seen.get_mut(p as usize).ok_or_else(|| {
                        invalid!(
                            "polyhedron cell {i} refers to point {p} but there are only {n_points} points"
                        )
                    })?;
                    if *slot != stamp {
                        *slot = stamp;
                        connectivity.push(p);
                    }
                }
                poly.face_connectivity.extend_from_slice(ids);
                poly.face_offsets.push(poly.face_connectivity.len() as u64);
            }
        } else {
            connectivity.extend_from_slice(cell);
        }
        offsets.push(connectivity.len() as u64);
        poly.cell_faces.push(poly.n_faces() as u64);
    }
    Ok(Cells {
        types,
        offsets,
        connectivity,
        polyhedra: Some(poly),
    })
}

pub(super) fn check_point_ids(cells: &Cells, n_points: usize) -> ParseResult<()> {
    if let Some((i, &p)) = cells
        .connectivity
        .iter()
        .enumerate()
        .find(|(_, &p)| p as usize >= n_points)
    {
        let cell = cells
            .offsets
            .partition_point(|&o| o <= i as u64)
            .saturating_sub(1);
        return Err(invalid!(
            "cell {cell} refers to point {p} but there are only {n_points} points"
        ));
    }
    Ok(())
}
