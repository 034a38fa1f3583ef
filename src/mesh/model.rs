//! The in-memory mesh every reader produces and every writer consumes.

use super::cells::Cells;
use super::error::{invalid, ParseResult};
use super::field::{Field, Location};

/// Named groups of cells (STL solids, OBJ groups): `cell_part[i]` indexes `names`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parts {
    pub names: Vec<String>,
    pub cell_part: Vec<u32>,
}

/// A surface or volume mesh (or point cloud) with its arrays.
///
/// Coordinates are `f32`: a 150M-cell volume then costs 1.8 GB of points instead of 3.6 GB, and CFD
/// meshes of cars in metres do not carry more than float32 precision. Derived quantities (areas,
/// volumes) accumulate in `f64`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mesh {
    pub points: Vec<[f32; 3]>,
    pub cells: Cells,
    pub point_data: Vec<Field>,
    pub cell_data: Vec<Field>,
    pub field_data: Vec<Field>,
    pub parts: Option<Parts>,
}

/// What kind of mesh this is, by the dimension of its cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeshKind {
    PointCloud,
    Lines,
    Surface,
    Volume,
}

impl Mesh {
    pub fn n_points(&self) -> usize {
        self.points.len()
    }

    pub fn n_cells(&self) -> usize {
        self.cells.len()
    }

    pub fn kind(&self) -> MeshKind {
        match self.cells.max_dimension() {
            Some(3) => MeshKind::Volume,
            Some(2) => MeshKind::Surface,
            Some(1) => MeshKind::Lines,
            _ => MeshKind::PointCloud,
        }
    }

    /// Looks up an array by location and name.
    pub fn field(&self, location: Location, name: &str) -> Option<&Field> {
        self.fields(location).iter().find(|f| f.name == name)
    }

    pub fn fields(&self, location: Location) -> &[Field] {
        match location {
            Location::Point => &self.point_data,
            Location::Cell => &self.cell_data,
            Location::Field => &self.field_data,
        }
    }

    /// All arrays with their locations, in the order point, cell, field.
    pub fn all_fields(&self) -> impl Iterator<Item = (Location, &Field)> {
        self.point_data
            .iter()
            .map(|f| (Location::Point, f))
            .chain(self.cell_data.iter().map(|f| (Location::Cell, f)))
            .chain(self.field_data.iter().map(|f| (Location::Field, f)))
    }

    /// A point cloud: every point is its own `VTK_VERTEX` cell, so that cell data and point data
    /// coincide and ParaView shows the points without a glyph filter.
    pub fn point_cloud(points: Vec<[f32; 3]>) -> Self {
        let n = points.len() as u64;
        Mesh {
            cells: Cells {
                types: vec![super::cells::CellType::VERTEX; points.len()],
                offsets: (0..=n).collect(),
                connectivity: (0..n as u32).collect(),
                polyhedra: None,
            },
            points,
            ..Default::default()
        }
    }

    /// Checks counts and ids: the topology is consistent, every point/cell array has one tuple per
    /// point/cell, and no coordinate is NaN or infinite.
    pub fn validate(&self) -> ParseResult<()> {
        self.cells.validate(self.points.len())?;
        if let Some((i, p)) = self
            .points
            .iter()
            .enumerate()
            .find(|(_, p)| p.iter().any(|c| !c.is_finite()))
        {
            return Err(invalid!("point {i} has a non-finite coordinate {p:?}"));
        }
        for (loc, expected) in [
            (Location::Point, self.n_points()),
            (Location::Cell, self.n_cells()),
        ] {
            for f in self.fields(loc) {
                if f.components == 0 || f.values.len() != expected * f.components {
                    return Err(invalid!(
                        "{:?} array '{}' has {} values, expected {} tuples of {} components",
                        loc,
                        f.name,
                        f.values.len(),
                        expected,
                        f.components
                    ));
                }
            }
        }
        if let Some(parts) = &self.parts {
            if parts.cell_part.len() != self.n_cells()
                || parts
                    .cell_part
                    .iter()
                    .any(|&p| p as usize >= parts.names.len())
            {
                return Err(invalid!("part ids do not match the cells"));
            }
        }
        Ok(())
    }
}
