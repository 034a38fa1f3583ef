//! Cell centres: where cell data lives in space. CFD datasets store their fields per cell (OpenFOAM's
//! values are cell averages), so a cell array becomes a point cloud for the model at these positions.
//!
//! The centre is the mean of the cell's points. For the linear cells whose parametric centre weights
//! all points equally (vertex, line, triangle, quad, pixel, tetrahedron, voxel, hexahedron, wedge) this
//! is what VTK's `vtkCellCenters` gives. Pyramids (VTK evaluates the parametric point (0.4, 0.4, 0.2),
//! which weights the base corners unequally), polygons and polyhedra (VTK's `vtkPolyhedron` maps its
//! parametric centre through its bounding box) can differ from VTK's centres; for them the mean is
//! still inside a convex cell and does not depend on the cell's orientation. A polyhedron's
//! connectivity holds its distinct points, so each point counts once; points repeated in the
//! connectivity of other cells (collapsed hexahedra) count as often as they appear, as in VTK.

use rayon::prelude::*;

use super::vec3::point;
use crate::mesh::Mesh;

/// Centre of cell `cell` (m): the mean of its points, in `f64`. `None` for a cell without points, an
/// out-of-range cell index, or a cell referring to a point that does not exist.
pub fn cell_centre(mesh: &Mesh, cell: usize) -> Option<[f64; 3]> {
    let ids = mesh.cells.cell(cell);
    if ids.is_empty() {
        return None;
    }
    let mut sum = [0.0f64; 3];
    for &id in ids {
        let p = point(&mesh.points, id)?;
        sum = [sum[0] + p[0], sum[1] + p[1], sum[2] + p[2]];
    }
    let inv = 1.0 / ids.len() as f64;
    Some([sum[0] * inv, sum[1] * inv, sum[2] * inv])
}

/// Centres of all cells (m), one per cell in cell order, rounded to `f32` like the mesh's points.
/// Cells without a centre (see [`cell_centre`]) get `[0, 0, 0]`. Parallel over large meshes; each
/// centre is computed independently, so the result does not depend on the thread count.
pub fn cell_centres(mesh: &Mesh) -> Vec<[f32; 3]> {
    (0..mesh.cells.len())
        .into_par_iter()
        .with_min_len(4096)
        .map(|i| cell_centre(mesh, i).map_or([0.0; 3], |c| [c[0] as f32, c[1] as f32, c[2] as f32]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::{CellType, Cells, Polyhedra};

    fn unit_cube() -> Vec<[f32; 3]> {
        vec![
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [1.0, 1.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0],
            [1.0, 0.0, 1.0],
            [1.0, 1.0, 1.0],
            [0.0, 1.0, 1.0],
        ]
    }

    #[test]
    fn linear_cells_and_polyhedron() {
        let mut cells = Cells::default();
        cells.push(CellType::HEXAHEDRON, &[0, 1, 2, 3, 4, 5, 6, 7]);
        cells.push(CellType::TETRA, &[0, 1, 3, 4]);
        cells.push(CellType::TRIANGLE, &[0, 1, 2]);
        cells.push(CellType::WEDGE, &[0, 1, 3, 4, 5, 7]);
        cells.push(CellType::VERTEX, &[6]);
        // The cube as a polyhedron: the connectivity lists its distinct points once.
        cells.push(CellType::POLYHEDRON, &[0, 1, 2, 3, 4, 5, 6, 7]);
        let faces: [[u32; 4]; 6] = [
            [0, 4, 7, 3],
            [1, 2, 6, 5],
            [0, 1, 5, 4],
            [3, 7, 6, 2],
            [0, 3, 2, 1],
            [4, 5, 6, 7],
        ];
        cells.polyhedra = Some(Polyhedra {
            cell_faces: vec![0, 0, 0, 0, 0, 0, 6],
            face_offsets: (0..=6).map(|f| 4 * f).collect(),
            face_connectivity: faces.iter().flatten().copied().collect(),
        });
        let mesh = Mesh {
            points: unit_cube(),
            cells,
            ..Default::default()
        };
        assert!(mesh.validate().is_ok());
        let c = cell_centres(&mesh);
        assert_eq!(c[0], [0.5, 0.5, 0.5]);
        assert_eq!(c[1], [0.25, 0.25, 0.25]);
        assert_eq!(c[2], [2.0 / 3.0, 1.0 / 3.0, 0.0]);
        assert_eq!(c[3], [1.0 / 3.0, 1.0 / 3.0, 0.5]);
        assert_eq!(c[4], [1.0, 1.0, 1.0]);
        assert_eq!(c[5], [0.5, 0.5, 0.5]);
        assert_eq!(cell_centre(&mesh, 1), Some([0.25, 0.25, 0.25]));
    }

    #[test]
    fn bad_cells_give_zero_not_panic() {
        let cells = Cells {
            types: vec![
                CellType::TRIANGLE,
                CellType::TRIANGLE,
                CellType(0),
                CellType::QUAD,
            ],
            offsets: vec![0, 3, 6, 6, 99],
            connectivity: vec![0, 1, 2, 0, 1, 42],
            polyhedra: None,
        };
        let mesh = Mesh {
            points: vec![[1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [3.0, 3.0, 3.0]],
            cells,
            ..Default::default()
        };
        let c = cell_centres(&mesh);
        assert_eq!(c, vec![[2.0; 3], [0.0; 3], [0.0; 3], [0.0; 3]]);
        assert_eq!(cell_centre(&mesh, 1), None);
        assert_eq!(cell_centre(&mesh, 17), None);
    }

    #[test]
    fn large_mesh_in_parallel_matches_one_by_one() {
        let n = 20_000u32;
        let points: Vec<[f32; 3]> = (0..n + 2)
            .map(|i| [i as f32 * 0.5, (i % 7) as f32, -(i as f32).sqrt()])
            .collect();
        let tris: Vec<[u32; 3]> = (0..n).map(|i| [i, i + 1, i + 2]).collect();
        let mesh = Mesh {
            points,
            cells: Cells::from_triangles(&tris),
            ..Default::default()
        };
        let all = cell_centres(&mesh);
        assert_eq!(all.len(), n as usize);
        for i in (0..n as usize).step_by(997) {
            let c = cell_centre(&mesh, i).unwrap();
            assert_eq!(all[i], [c[0] as f32, c[1] as f32, c[2] as f32]);
        }
    }
}
