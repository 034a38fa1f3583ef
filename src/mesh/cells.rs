//! Cell topology in VTK's vocabulary: cell type ids, offsets + connectivity, polyhedron faces.

use super::error::{invalid, ParseResult};

/// A VTK cell type id (`VTK_TRIANGLE` = 5, `VTK_HEXAHEDRON` = 12, `VTK_POLYHEDRON` = 42, ...).
///
/// Kept as VTK's number so that files round-trip unchanged, including types slipstream only carries
/// through (quadratic cells).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellType(pub u8);

impl CellType {
    pub const VERTEX: CellType = CellType(1);
    pub const POLY_VERTEX: CellType = CellType(2);
    pub const LINE: CellType = CellType(3);
    pub const POLY_LINE: CellType = CellType(4);
    pub const TRIANGLE: CellType = CellType(5);
    pub const TRIANGLE_STRIP: CellType = CellType(6);
    pub const POLYGON: CellType = CellType(7);
    pub const PIXEL: CellType = CellType(8);
    pub const QUAD: CellType = CellType(9);
    pub const TETRA: CellType = CellType(10);
    pub const VOXEL: CellType = CellType(11);
    pub const HEXAHEDRON: CellType = CellType(12);
    pub const WEDGE: CellType = CellType(13);
    pub const PYRAMID: CellType = CellType(14);
    pub const PENTAGONAL_PRISM: CellType = CellType(15);
    pub const HEXAGONAL_PRISM: CellType = CellType(16);
    pub const POLYHEDRON: CellType = CellType(42);

    /// VTK's name, as `info` prints it (`VTK_TRIANGLE`).
    pub fn name(self) -> String {
        let known = match self.0 {
            0 => "VTK_EMPTY_CELL",
            1 => "VTK_VERTEX",
            2 => "VTK_POLY_VERTEX",
            3 => "VTK_LINE",
            4 => "VTK_POLY_LINE",
            5 => "VTK_TRIANGLE",
            6 => "VTK_TRIANGLE_STRIP",
            7 => "VTK_POLYGON",
            8 => "VTK_PIXEL",
            9 => "VTK_QUAD",
            10 => "VTK_TETRA",
            11 => "VTK_VOXEL",
            12 => "VTK_HEXAHEDRON",
            13 => "VTK_WEDGE",
            14 => "VTK_PYRAMID",
            15 => "VTK_PENTAGONAL_PRISM",
            16 => "VTK_HEXAGONAL_PRISM",
            21 => "VTK_QUADRATIC_EDGE",
            22 => "VTK_QUADRATIC_TRIANGLE",
            23 => "VTK_QUADRATIC_QUAD",
            24 => "VTK_QUADRATIC_TETRA",
            25 => "VTK_QUADRATIC_HEXAHEDRON",
            26 => "VTK_QUADRATIC_WEDGE",
            27 => "VTK_QUADRATIC_PYRAMID",
            42 => "VTK_POLYHEDRON",
            _ => return format!("VTK_CELL_TYPE_{}", self.0),
        };
        known.to_string()
    }

    /// Topological dimension of the linear cell types (0 points, 1 lines, 2 surfaces, 3 solids);
    /// `None` for types slipstream does not interpret.
    pub fn dimension(self) -> Option<u8> {
        match self.0 {
            1 | 2 => Some(0),
            3 | 4 | 21 => Some(1),
            5..=9 | 22 | 23 => Some(2),
            10..=16 | 24..=27 | 42 => Some(3),
            _ => None,
        }
    }

    /// Number of points a cell of this type must have, where the type fixes it.
    pub fn fixed_point_count(self) -> Option<usize> {
        match self.0 {
            1 => Some(1),
            3 => Some(2),
            5 => Some(3),
            8..=10 => Some(4),
            11 | 12 => Some(8),
            13 => Some(6),
            14 => Some(5),
            15 => Some(10),
            16 => Some(12),
            _ => None,
        }
    }

    /// Faces of a linear solid as lists of local point indices, ordered so that their normals point
    /// out of the cell (VTK's conventions). `None` for non-solids and polyhedra (which carry their faces).
    pub fn local_faces(self) -> Option<&'static [&'static [usize]]> {
        const TETRA: &[&[usize]] = &[&[0, 1, 3], &[1, 2, 3], &[2, 0, 3], &[0, 2, 1]];
        const HEX: &[&[usize]] = &[
            &[0, 4, 7, 3],
            &[1, 2, 6, 5],
            &[0, 1, 5, 4],
            &[3, 7, 6, 2],
            &[0, 3, 2, 1],
            &[4, 5, 6, 7],
        ];
        const VOXEL: &[&[usize]] = &[
            &[0, 4, 6, 2],
            &[1, 3, 7, 5],
            &[0, 1, 5, 4],
            &[2, 6, 7, 3],
            &[0, 2, 3, 1],
            &[4, 5, 7, 6],
        ];
        const WEDGE: &[&[usize]] = &[
            &[0, 1, 2],
            &[3, 5, 4],
            &[0, 3, 4, 1],
            &[1, 4, 5, 2],
            &[2, 5, 3, 0],
        ];
        const PYRAMID: &[&[usize]] = &[
            &[0, 3, 2, 1],
            &[0, 1, 4],
            &[1, 2, 4],
            &[2, 3, 4],
            &[3, 0, 4],
        ];
        const PENTA: &[&[usize]] = &[
            &[0, 4, 3, 2, 1],
            &[5, 6, 7, 8, 9],
            &[0, 1, 6, 5],
            &[1, 2, 7, 6],
            &[2, 3, 8, 7],
            &[3, 4, 9, 8],
            &[4, 0, 5, 9],
        ];
        const HEXA: &[&[usize]] = &[
            &[0, 5, 4, 3, 2, 1],
            &[6, 7, 8, 9, 10, 11],
            &[0, 1, 7, 6],
            &[1, 2, 8, 7],
            &[2, 3, 9, 8],
            &[3, 4, 10, 9],
            &[4, 5, 11, 10],
            &[5, 0, 6, 11],
        ];
        match self.0 {
            10 => Some(TETRA),
            11 => Some(VOXEL),
            12 => Some(HEX),
            13 => Some(WEDGE),
            14 => Some(PYRAMID),
            15 => Some(PENTA),
            16 => Some(HEXA),
            _ => None,
        }
    }
}

/// Faces of the polyhedral cells (VTK ≥ 9.4 layout: cells → faces → points).
///
/// Only present when the mesh holds `VTK_POLYHEDRON` cells (OpenFOAM and DrivAerML volumes do).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Polyhedra {
    /// `n_cells + 1` entries: the faces of cell `i` are `cell_faces[i]..cell_faces[i + 1]`
    /// (an empty range for cells that are not polyhedra).
    pub cell_faces: Vec<u64>,
    /// `n_faces + 1` entries: the points of face `f` are `face_connectivity[face_offsets[f]..face_offsets[f + 1]]`.
    pub face_offsets: Vec<u64>,
    pub face_connectivity: Vec<u32>,
}

impl Polyhedra {
    /// The faces of cell `cell` as point-id slices.
    pub fn faces_of(&self, cell: usize) -> impl Iterator<Item = &[u32]> + '_ {
        let (lo, hi) = match (self.cell_faces.get(cell), self.cell_faces.get(cell + 1)) {
            (Some(&lo), Some(&hi)) => (lo as usize, hi as usize),
            _ => (0, 0),
        };
        (lo..hi).filter_map(move |f| {
            let a = *self.face_offsets.get(f)? as usize;
            let b = *self.face_offsets.get(f + 1)? as usize;
            self.face_connectivity.get(a..b)
        })
    }

    pub fn n_faces(&self) -> usize {
        self.face_offsets.len().saturating_sub(1)
    }
}

/// All cells of a mesh, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Cells {
    pub types: Vec<CellType>,
    /// `n_cells + 1` entries starting at 0: cell `i` uses `connectivity[offsets[i]..offsets[i + 1]]`.
    pub offsets: Vec<u64>,
    /// Point ids. For polyhedra: the cell's distinct points (its faces are in [`Cells::polyhedra`]).
    pub connectivity: Vec<u32>,
    pub polyhedra: Option<Polyhedra>,
}

impl Default for Cells {
    fn default() -> Self {
        Cells {
            types: Vec::new(),
            offsets: vec![0],
            connectivity: Vec::new(),
            polyhedra: None,
        }
    }
}

impl Cells {
    pub fn len(&self) -> usize {
        self.types.len()
    }

    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }

    /// Point ids of cell `i` (empty if `i` is out of range).
    pub fn cell(&self, i: usize) -> &[u32] {
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => self.connectivity.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Appends one cell.
    pub fn push(&mut self, cell_type: CellType, points: &[u32]) {
        self.types.push(cell_type);
        self.connectivity.extend_from_slice(points);
        self.offsets.push(self.connectivity.len() as u64);
    }

    /// Triangles only (the common CAD case).
    pub fn from_triangles(triangles: &[[u32; 3]]) -> Self {
        Cells {
            types: vec![CellType::TRIANGLE; triangles.len()],
            offsets: (0..=triangles.len() as u64).map(|i| 3 * i).collect(),
            connectivity: triangles.iter().flatten().copied().collect(),
            polyhedra: None,
        }
    }

    /// Counts per cell type, sorted by type id.
    pub fn type_counts(&self) -> std::collections::BTreeMap<CellType, usize> {
        let mut counts = [0usize; 256];
        for t in &self.types {
            // A `u8` always indexes a 256-entry table.
            if let Some(n) = counts.get_mut(usize::from(t.0)) {
                *n += 1;
            }
        }
        counts
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(t, &n)| (CellType(t as u8), n))
            .collect()
    }

    /// Highest topological dimension present (2 for a surface, 3 for a volume mesh).
    pub fn max_dimension(&self) -> Option<u8> {
        let mut seen = [false; 256];
        for t in &self.types {
            // A `u8` always indexes a 256-entry table.
            if let Some(s) = seen.get_mut(usize::from(t.0)) {
                *s = true;
            }
        }
        seen.iter()
            .enumerate()
            .filter(|(_, &s)| s)
            .filter_map(|(t, _)| CellType(t as u8).dimension())
            .max()
    }

    /// Checks the internal consistency that every consumer relies on: offsets monotone and in range,
    /// point ids below `n_points`, polyhedron ranges valid.
    pub fn validate(&self, n_points: usize) -> ParseResult<()> {
        if self.offsets.len() != self.types.len() + 1 {
            return Err(invalid!(
                "{} cell offsets for {} cells",
                self.offsets.len().saturating_sub(1),
                self.types.len()
            ));
        }
        if self.offsets.first() != Some(&0) {
            return Err(invalid!("cell offsets do not start at 0"));
        }
        if decreases(&self.offsets) {
            return Err(invalid!("cell offsets decrease"));
        }
        if self.offsets.last().copied() != Some(self.connectivity.len() as u64) {
            return Err(invalid!(
                "cell offsets end at {} but the connectivity has {} entries",
                self.offsets.last().copied().unwrap_or(0),
                self.connectivity.len()
            ));
        }
        if let Some(&bad) = self.connectivity.iter().find(|&&p| p as usize >= n_points) {
            return Err(invalid!(
                "cell refers to point {bad} but there are only {n_points} points"
            ));
        }
        if let Some(poly) = &self.polyhedra {
            if poly.cell_faces.len() != self.types.len() + 1 {
                return Err(invalid!(
                    "polyhedron face ranges do not match the number of cells"
                ));
            }
            if decreases(&poly.cell_faces)
                || poly.cell_faces.last().copied().unwrap_or(0) as usize > poly.n_faces()
            {
                return Err(invalid!(
                    "polyhedron face ranges are not monotone or exceed the face count"
                ));
            }
            if poly.face_offsets.first() != Some(&0)
                || decreases(&poly.face_offsets)
                || poly.face_offsets.last().copied().unwrap_or(0)
                    != poly.face_connectivity.len() as u64
            {
                return Err(invalid!(
                    "polyhedron face offsets are inconsistent with the face connectivity"
                ));
            }
            if let Some(&bad) = poly
                .face_connectivity
                .iter()
                .find(|&&p| p as usize >= n_points)
            {
                return Err(invalid!(
                    "polyhedron face refers to point {bad} but there are only {n_points} points"
                ));
            }
        }
        Ok(())
    }
}

/// Whether some entry of `values` is smaller than the one before it.
fn decreases(values: &[u64]) -> bool {
    values.iter().zip(values.iter().skip(1)).any(|(a, b)| b < a)
}
