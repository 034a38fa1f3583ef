//! Any surface mesh as a list of triangles: the common input of sampling, distance, winding-number
//! and frontal-area queries.

use crate::mesh::{CellType, Mesh};

/// A triangle's three corners (m).
pub type Triangle = [[f32; 3]; 3];

/// The 2D cells of a mesh split into triangles, each remembering the cell it came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TriangleSoup {
    pub triangles: Vec<Triangle>,
    /// Index of the mesh cell each triangle came from.
    pub source_cell: Vec<u32>,
}

impl TriangleSoup {
    /// Triangles, quads, polygons (fan from the first point), pixels and triangle strips; other cells
    /// and cells with out-of-range point ids are skipped. Winding follows the cell's point order, so a
    /// surface with outward cell normals gives outward triangle normals.
    pub fn from_mesh(mesh: &Mesh) -> Self {
        let mut soup = TriangleSoup::default();
        let pt = |i: u32| mesh.points.get(i as usize).copied();
        for (c, &t) in mesh.cells.types.iter().enumerate() {
            let ids = mesh.cells.cell(c);
            let mut push = |a: u32, b: u32, d: u32| {
                if let (Some(p), Some(q), Some(r)) = (pt(a), pt(b), pt(d)) {
                    soup.triangles.push([p, q, r]);
                    soup.source_cell.push(c as u32);
                }
            };
            match t {
                CellType::TRIANGLE | CellType::QUAD | CellType::POLYGON if ids.len() >= 3 => {
                    for k in 1..ids.len() - 1 {
                        push(ids[0], ids[k], ids[k + 1]);
                    }
                }
                CellType::PIXEL if ids.len() == 4 => {
                    push(ids[0], ids[1], ids[3]);
                    push(ids[0], ids[3], ids[2]);
                }
                CellType::TRIANGLE_STRIP if ids.len() >= 3 => {
                    for k in 0..ids.len() - 2 {
                        if k % 2 == 0 {
                            push(ids[k], ids[k + 1], ids[k + 2]);
                        } else {
                            push(ids[k + 1], ids[k], ids[k + 2]);
                        }
                    }
                }
                _ => {}
            }
        }
        soup
    }

    pub fn len(&self) -> usize {
        self.triangles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.triangles.is_empty()
    }

    /// Signed volume enclosed by the triangles (m³), by the divergence theorem: `Σ a · (b × c) / 6`
    /// over all triangles, accumulated in `f64`. For a closed, consistently wound surface it is the
    /// enclosed volume, positive when the triangle normals (right-hand rule) point outward and
    /// negative when they point inward; for an open surface it depends on the origin and means
    /// little. Triangles with non-finite corners make it NaN.
    pub fn signed_volume_m3(&self) -> f64 {
        let widen = |p: [f32; 3]| [p[0] as f64, p[1] as f64, p[2] as f64];
        self.triangles
            .iter()
            .map(|t| {
                let (a, b, c) = (widen(t[0]), widen(t[1]), widen(t[2]));
                a[0] * (b[1] * c[2] - b[2] * c[1])
                    + a[1] * (b[2] * c[0] - b[0] * c[2])
                    + a[2] * (b[0] * c[1] - b[1] * c[0])
            })
            .sum::<f64>()
            / 6.0
    }

    /// Makes the triangle normals point outward: when [`Self::signed_volume_m3`] is negative, every
    /// triangle is reversed (two corners swapped). Returns whether they already pointed outward
    /// (then nothing changed; a zero or NaN volume counts as outward, so bad data flips nothing).
    /// Judged by the sign of the enclosed volume, so meaningful for closed, consistently wound
    /// surfaces only; an open or inconsistently wound surface is left as it is or flipped as a
    /// whole, never repaired.
    pub fn orient_outward(&mut self) -> bool {
        if self.signed_volume_m3() < 0.0 {
            for t in &mut self.triangles {
                t.swap(1, 2);
            }
            false
        } else {
            true
        }
    }
}

/// `a - b`, widened to f64.
pub fn sub(a: [f32; 3], b: [f32; 3]) -> [f64; 3] {
    [
        (a[0] - b[0]) as f64,
        (a[1] - b[1]) as f64,
        (a[2] - b[2]) as f64,
    ]
}

/// Area-weighted normal (cross product of two edges, half of it is the area vector) in f64.
pub fn triangle_cross(t: &Triangle) -> [f64; 3] {
    let u = sub(t[1], t[0]);
    let v = sub(t[2], t[0]);
    [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ]
}

/// Area of a triangle (m²).
pub fn triangle_area(t: &Triangle) -> f64 {
    let c = triangle_cross(t);
    0.5 * (c[0] * c[0] + c[1] * c[1] + c[2] * c[2]).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::Cells;

    #[test]
    fn splits_polygons_and_strips_keeping_the_source_cell() {
        let mut cells = Cells::default();
        cells.push(CellType::QUAD, &[0, 1, 2, 3]);
        cells.push(CellType::TETRA, &[0, 1, 2, 4]);
        cells.push(CellType::TRIANGLE_STRIP, &[0, 1, 3, 2]);
        cells.push(CellType::TRIANGLE, &[0, 1, 99]);
        let mesh = Mesh {
            points: vec![
                [0.0, 0.0, 0.0],
                [1.0, 0.0, 0.0],
                [1.0, 1.0, 0.0],
                [0.0, 1.0, 0.0],
                [0.0, 0.0, 1.0],
            ],
            cells,
            ..Default::default()
        };
        let soup = TriangleSoup::from_mesh(&mesh);
        assert_eq!(soup.source_cell, vec![0, 0, 2, 2]);
        let area: f64 = soup.triangles.iter().map(triangle_area).sum();
        assert!((area - 2.0).abs() < 1e-12);
        // Strip triangles keep a consistent winding: both normals point +z.
        for t in &soup.triangles {
            assert!(triangle_cross(t)[2] > 0.0);
        }
    }
}
