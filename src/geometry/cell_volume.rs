//! Volumes of the 3D cells of a mesh (m³): the weights of volume fields in integrals and averages,
//! `info`'s sanity check of a volume mesh, and the measure for volume sampling.
//!
//! Every solid is treated through its faces, so linear solids and polyhedra share one rule: each face
//! is split into a fan of triangles around the face's vertex mean, and the signed tetrahedra that these
//! triangles form with the cell's centre (the mean of its points) are summed; the absolute value is the
//! volume. Because the rule only uses the faces, it is the divergence theorem applied to the cell:
//! exact for any closed cell with planar faces, wherever the centre lies (non-convex polyhedra
//! included), and independent of the orientation of the faces as long as they are consistent. For a
//! hexahedron with warped faces it equals the volume of the trilinear hexahedron, and two cells sharing
//! a warped face split the space between them without gap or overlap.
//!
//! Faces come from [`CellType::local_faces`] for the linear solids and from
//! [`crate::mesh::Polyhedra::faces_of`] for `VTK_POLYHEDRON`. Quadratic solids are measured by their
//! corner nodes (straight edges). Non-solid cells, cells with the wrong number of points, polyhedra
//! without faces and cells referring to points that do not exist have volume 0.

use rayon::prelude::*;

use super::polygon::vector_area_about;
use super::vec3::{dot, gather, mean, sub, tetra_signed_volume};
use crate::mesh::{CellType, Mesh};

/// Volume of cell `cell` (m³); 0 for anything that is not a valid solid (see the module docs).
pub fn cell_volume_m3(mesh: &Mesh, cell: usize) -> f64 {
    let mut scratch = Scratch::default();
    solid_volume(mesh, cell, &mut scratch).unwrap_or(0.0)
}

/// Volumes of all cells (m³), one per cell in cell order, 0 for non-solid and invalid cells.
/// Parallel over large meshes; each volume is computed independently of the thread count.
pub fn cell_volumes_m3(mesh: &Mesh) -> Vec<f64> {
    (0..mesh.cells.len())
        .into_par_iter()
        .with_min_len(4096)
        .map_init(Scratch::default, |scratch, i| {
            solid_volume(mesh, i, scratch).unwrap_or(0.0)
        })
        .collect()
}

/// Sum of the cell volumes (m³), added in cell order so that the result is reproducible.
pub fn total_volume_m3(mesh: &Mesh) -> f64 {
    cell_volumes_m3(mesh).iter().sum()
}

/// Reused buffers: the cell's points and one face's points.
#[derive(Default)]
struct Scratch {
    cell: Vec<[f64; 3]>,
    face: Vec<[f64; 3]>,
}

/// `None` for anything that is not a valid solid.
fn solid_volume(mesh: &Mesh, cell: usize, s: &mut Scratch) -> Option<f64> {
    let cell_type = *mesh.cells.types.get(cell)?;
    let ids = mesh.cells.cell(cell);
    let points = &mesh.points;
    if cell_type == CellType::POLYHEDRON {
        // The connectivity holds the polyhedron's distinct points; their mean is the apex.
        let faces = mesh.cells.polyhedra.as_ref()?;
        if ids.is_empty() || !gather(points, ids, &mut s.cell) {
            return None;
        }
        let centre = mean(&s.cell);
        // `faces_of` skips faces missing from inconsistent tables; a cell missing a face is not closed.
        let listed = match (faces.cell_faces.get(cell), faces.cell_faces.get(cell + 1)) {
            (Some(&lo), Some(&hi)) if hi > lo => hi - lo,
            _ => return None,
        };
        let mut volume = 0.0;
        let mut n_faces = 0u64;
        for face in faces.faces_of(cell) {
            if !gather(points, face, &mut s.face) {
                return None;
            }
            volume += face_signed_volume(&s.face, centre);
            n_faces += 1;
        }
        return (n_faces == listed).then_some(volume.abs());
    }
    let (linear, n_corners) = linear_shape(cell_type, ids.len())?;
    let local_faces = linear.local_faces()?;
    if !gather(points, ids.get(..n_corners)?, &mut s.cell) {
        return None;
    }
    let centre = mean(&s.cell);
    let mut volume = 0.0;
    for face in local_faces {
        s.face.clear();
        for &k in *face {
            s.face.push(*s.cell.get(k)?);
        }
        volume += face_signed_volume(&s.face, centre);
    }
    Some(volume.abs())
}

/// The linear solid measuring a cell of `cell_type` with `n_points` points, and its corner count;
/// `None` when the type is not a linear or quadratic solid or the point count does not fit it.
fn linear_shape(cell_type: CellType, n_points: usize) -> Option<(CellType, usize)> {
    // Quadratic solids list their corners first, then their mid-edge (and mid-face) nodes.
    let (linear, expected) = match cell_type.0 {
        24 => (CellType::TETRA, 10),
        25 => (CellType::HEXAHEDRON, 20),
        26 => (CellType::WEDGE, 15),
        27 => (CellType::PYRAMID, 13),
        _ => (cell_type, cell_type.fixed_point_count()?),
    };
    let corners = linear.fixed_point_count()?;
    (n_points == expected).then_some((linear, corners))
}

/// Signed volume (m³) swept from `centre` to the face `points`: the fan triangles around the face's
/// vertex mean `m` with apex `centre`, summed, which is `(m − centre) · N / 3` with `N` the face's
/// vector area. Positive when the face's right-hand normal points away from `centre`.
fn face_signed_volume(points: &[[f64; 3]], centre: [f64; 3]) -> f64 {
    match points {
        [a, b, c] => tetra_signed_volume(centre, *a, *b, *c),
        _ if points.len() < 3 => 0.0,
        _ => {
            let m = mean(points);
            dot(sub(m, centre), vector_area_about(points, m)) / 3.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::surface::surface_properties;
    use crate::mesh::{Cells, Polyhedra};

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    const CUBE: [[f32; 3]; 8] = [
        [0.0, 0.0, 0.0],
        [1.0, 0.0, 0.0],
        [1.0, 1.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, 0.0, 1.0],
        [1.0, 0.0, 1.0],
        [1.0, 1.0, 1.0],
        [0.0, 1.0, 1.0],
    ];

    /// Outward faces of the cube with the hexahedron's numbering.
    const CUBE_FACES: [[u32; 4]; 6] = [
        [0, 4, 7, 3],
        [1, 2, 6, 5],
        [0, 1, 5, 4],
        [3, 7, 6, 2],
        [0, 3, 2, 1],
        [4, 5, 6, 7],
    ];

    fn mesh_of(points: Vec<[f32; 3]>, cells: Cells) -> Mesh {
        Mesh {
            points,
            cells,
            ..Default::default()
        }
    }

    /// Appends one polyhedron with `faces` to `cells` (whose polyhedron ranges cover all cells so far).
    fn push_polyhedron(cells: &mut Cells, points: &[u32], faces: &[Vec<u32>]) {
        let n_before = cells.len();
        cells.push(CellType::POLYHEDRON, points);
        let poly = cells.polyhedra.get_or_insert_with(|| Polyhedra {
            cell_faces: vec![0],
            face_offsets: vec![0],
            face_connectivity: Vec::new(),
        });
        let last = *poly.cell_faces.last().unwrap();
        poly.cell_faces.resize(n_before + 1, last);
        for f in faces {
            poly.face_connectivity.extend_from_slice(f);
            poly.face_offsets.push(poly.face_connectivity.len() as u64);
        }
        poly.cell_faces.push(poly.n_faces() as u64);
    }

    /// Gives every cell a (possibly empty) polyhedron face range, as readers do.
    fn finish_polyhedra(cells: &mut Cells) {
        let n = cells.len();
        if let Some(poly) = cells.polyhedra.as_mut() {
            let last = *poly.cell_faces.last().unwrap();
            poly.cell_faces.resize(n + 1, last);
        }
    }

    fn cube_faces() -> Vec<Vec<u32>> {
        CUBE_FACES.iter().map(|f| f.to_vec()).collect()
    }

    #[test]
    fn unit_cube_as_one_hexahedron_and_voxel() {
        let mut cells = Cells::default();
        cells.push(CellType::HEXAHEDRON, &[0, 1, 2, 3, 4, 5, 6, 7]);
        // Mirrored numbering (top face first): every face turns inward; the volume stays positive.
        cells.push(CellType::HEXAHEDRON, &[4, 5, 6, 7, 0, 1, 2, 3]);
        // A voxel numbers its corners lexicographically.
        cells.push(CellType::VOXEL, &[0, 1, 3, 2, 4, 5, 7, 6]);
        let mesh = mesh_of(CUBE.to_vec(), cells);
        for v in cell_volumes_m3(&mesh) {
            assert!(close(v, 1.0, 1e-15), "{v}");
        }
        assert!(close(total_volume_m3(&mesh), 3.0, 1e-15));
    }

    #[test]
    fn unit_cube_as_five_and_six_tetrahedra() {
        let five = [
            [0, 1, 3, 4],
            [1, 2, 3, 6],
            [1, 4, 5, 6],
            [3, 4, 6, 7],
            [1, 3, 4, 6],
        ];
        let mut cells = Cells::default();
        for t in five {
            cells.push(CellType::TETRA, &t);
        }
        let mesh = mesh_of(CUBE.to_vec(), cells);
        let v = cell_volumes_m3(&mesh);
        for corner in &v[..4] {
            assert!(close(*corner, 1.0 / 6.0, 1e-15));
        }
        assert!(close(v[4], 1.0 / 3.0, 1e-15));
        assert!(close(total_volume_m3(&mesh), 1.0, 1e-15));

        // Six tetrahedra around the diagonal 0-6.
        let ring = [1, 2, 3, 7, 4, 5, 1];
        let mut cells = Cells::default();
        for w in ring.windows(2) {
            cells.push(CellType::TETRA, &[0, w[0], w[1], 6]);
        }
        let mesh = mesh_of(CUBE.to_vec(), cells);
        for v in cell_volumes_m3(&mesh) {
            assert!(close(v, 1.0 / 6.0, 1e-15));
        }
        assert!(close(total_volume_m3(&mesh), 1.0, 1e-15));
    }

    #[test]
    fn unit_cube_as_polyhedron_either_orientation() {
        let mut cells = Cells::default();
        push_polyhedron(&mut cells, &[0, 1, 2, 3, 4, 5, 6, 7], &cube_faces());
        let inward: Vec<Vec<u32>> = cube_faces()
            .into_iter()
            .map(|f| f.into_iter().rev().collect())
            .collect();
        push_polyhedron(&mut cells, &[0, 1, 2, 3, 4, 5, 6, 7], &inward);
        let mesh = mesh_of(CUBE.to_vec(), cells);
        assert!(mesh.validate().is_ok());
        for v in cell_volumes_m3(&mesh) {
            assert!(close(v, 1.0, 1e-15), "{v}");
        }
    }

    #[test]
    fn non_convex_polyhedron() {
        // An L-shaped prism: the L of area 3 extruded by 2, volume 6. Its vertex mean lies on the
        // re-entrant edge, outside the interior; the signed sum is still exact.
        let l = [
            [0.0, 0.0],
            [2.0, 0.0],
            [2.0, 1.0],
            [1.0, 1.0],
            [1.0, 2.0],
            [0.0, 2.0],
        ];
        let mut pts: Vec<[f32; 3]> = l.iter().map(|p| [p[0], p[1], 0.0]).collect();
        pts.extend(l.iter().map(|p| [p[0], p[1], 2.0]));
        let mut faces = vec![(0..6).rev().collect::<Vec<u32>>(), (6..12).collect()];
        for k in 0..6u32 {
            let j = (k + 1) % 6;
            faces.push(vec![k, j, j + 6, k + 6]);
        }
        let mut cells = Cells::default();
        push_polyhedron(&mut cells, &(0..12).collect::<Vec<u32>>(), &faces);
        let mesh = mesh_of(pts, cells);
        assert!(close(cell_volume_m3(&mesh, 0), 6.0, 1e-15));
    }

    #[test]
    fn wedge_and_pyramid() {
        // Right triangular prism over the unit right triangle, height 2: volume 1.
        let pts = vec![
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 2.0],
            [1.0, 0.0, 2.0],
            [0.0, 1.0, 2.0],
            [0.5, 0.5, 3.0],
        ];
        let mut cells = Cells::default();
        cells.push(CellType::WEDGE, &[0, 1, 2, 3, 4, 5]);
        // A pyramid on the wedge's side face y = 0 (a 1 x 2 rectangle), apex 0.5 away from it.
        cells.push(CellType::PYRAMID, &[0, 1, 4, 3, 6]);
        let mesh = mesh_of(pts, cells);
        let v = cell_volumes_m3(&mesh);
        assert!(close(v[0], 1.0, 1e-15));
        assert!(close(v[1], 2.0 * 0.5 / 3.0, 1e-15));

        // A square pyramid, upright and sheared: base area 1, height 3, volume 1 either way.
        let pts = vec![
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [1.0, 1.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.5, 0.5, 3.0],
            [-4.0, 7.0, 3.0],
        ];
        let mut cells = Cells::default();
        cells.push(CellType::PYRAMID, &[0, 1, 2, 3, 4]);
        cells.push(CellType::PYRAMID, &[0, 1, 2, 3, 5]);
        let v = cell_volumes_m3(&mesh_of(pts, cells));
        assert!(close(v[0], 1.0, 1e-15));
        assert!(close(v[1], 1.0, 1e-15));
    }

    #[test]
    fn sheared_and_scaled_hexahedra() {
        // Shearing the top face keeps the volume; scaling multiplies it.
        let sheared: Vec<[f32; 3]> = CUBE
            .iter()
            .map(|p| [p[0] + 0.3 * p[2], p[1] - 0.2 * p[2], p[2]])
            .collect();
        let scaled: Vec<[f32; 3]> = CUBE
            .iter()
            .map(|p| [2.0 * p[0], 3.0 * p[1], 4.0 * p[2]])
            .collect();
        let hex = [0, 1, 2, 3, 4, 5, 6, 7];
        let mut cells = Cells::default();
        cells.push(CellType::HEXAHEDRON, &hex);
        assert!(close(
            cell_volume_m3(&mesh_of(sheared, cells.clone()), 0),
            1.0,
            1e-7
        ));
        assert!(close(
            cell_volume_m3(&mesh_of(scaled, cells), 0),
            24.0,
            1e-15
        ));
    }

    /// Exact volume of the trilinear hexahedron through `p`: ∫ det J over the unit cube by 2-point
    /// Gauss quadrature per axis, which is exact because det J has degree ≤ 2 in each variable.
    fn trilinear_hex_volume(p: &[[f64; 3]]) -> f64 {
        let corners = [
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [1.0, 1.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0],
            [1.0, 0.0, 1.0],
            [1.0, 1.0, 1.0],
            [0.0, 1.0, 1.0],
        ];
        let g = [0.5 - 0.5 / 3f64.sqrt(), 0.5 + 0.5 / 3f64.sqrt()];
        let mut volume = 0.0;
        for &u in &g {
            for &v in &g {
                for &w in &g {
                    let x = [u, v, w];
                    let mut jac = [[0.0; 3]; 3]; // jac[d][k] = ∂x_k / ∂ξ_d
                    for (c, pc) in corners.iter().zip(p) {
                        // N_c = Π_a (c_a ξ_a + (1 − c_a)(1 − ξ_a))
                        let f = |a: usize| if c[a] == 1.0 { x[a] } else { 1.0 - x[a] };
                        let df = |a: usize| if c[a] == 1.0 { 1.0 } else { -1.0 };
                        let dn = [
                            df(0) * f(1) * f(2),
                            f(0) * df(1) * f(2),
                            f(0) * f(1) * df(2),
                        ];
                        for d in 0..3 {
                            for k in 0..3 {
                                jac[d][k] += dn[d] * pc[k];
                            }
                        }
                    }
                    let det = dot(jac[0], crate::geometry::vec3::cross(jac[1], jac[2]));
                    volume += det / 8.0;
                }
            }
        }
        volume
    }

    /// A hexahedron with every corner moved: all six faces are warped.
    fn warped_cube() -> Vec<[f32; 3]> {
        let d = [
            [0.11, -0.07, 0.05],
            [-0.09, 0.13, -0.04],
            [0.06, 0.08, 0.12],
            [-0.12, -0.05, 0.09],
            [0.04, 0.1, -0.13],
            [0.14, -0.06, 0.07],
            [-0.08, 0.09, -0.11],
            [0.1, 0.12, 0.06],
        ];
        CUBE.iter()
            .zip(d)
            .map(|(p, d)| [p[0] + d[0], p[1] + d[1], p[2] + d[2]])
            .collect()
    }

    #[test]
    fn warped_hexahedron_equals_trilinear_volume() {
        let pts = warped_cube();
        let mut cells = Cells::default();
        cells.push(CellType::HEXAHEDRON, &[0, 1, 2, 3, 4, 5, 6, 7]);
        let mesh = mesh_of(pts.clone(), cells);
        let p64: Vec<[f64; 3]> = pts.iter().map(|p| p.map(f64::from)).collect();
        let exact = trilinear_hex_volume(&p64);
        assert!((exact - 1.0).abs() > 0.01, "the test needs a real warp");
        assert!(close(cell_volume_m3(&mesh, 0), exact, 1e-13));

        // The same cell as a polyhedron and as a closed surface of six quads agrees.
        let mut cells = Cells::default();
        push_polyhedron(&mut cells, &[0, 1, 2, 3, 4, 5, 6, 7], &cube_faces());
        assert!(close(
            cell_volume_m3(&mesh_of(pts.clone(), cells), 0),
            exact,
            1e-13
        ));
        let mut quads = Cells::default();
        for f in CUBE_FACES {
            quads.push(CellType::QUAD, &f);
        }
        let surface = surface_properties(&mesh_of(pts, quads));
        assert!(close(surface.enclosed_volume_m3, exact, 1e-13));
    }

    #[test]
    fn cells_sharing_a_warped_face_tile_the_box() {
        // A 2 x 1 x 1 box cut in two by a warped face through x ≈ 1.
        let pts: Vec<[f32; 3]> = vec![
            [0.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 1.0, 1.0],
            [0.0, 0.0, 1.0],
            [1.2, 0.0, 0.0],
            [0.8, 1.0, 0.0],
            [1.3, 1.0, 1.0],
            [0.9, 0.0, 1.0],
            [2.0, 0.0, 0.0],
            [2.0, 1.0, 0.0],
            [2.0, 1.0, 1.0],
            [2.0, 0.0, 1.0],
        ];
        // Hexahedron numbering: bottom quad 0-1-2-3, top quad 4-5-6-7 above it (here along +x).
        let mut cells = Cells::default();
        cells.push(CellType::HEXAHEDRON, &[0, 1, 2, 3, 4, 5, 6, 7]);
        cells.push(CellType::HEXAHEDRON, &[4, 5, 6, 7, 8, 9, 10, 11]);
        let mesh = mesh_of(pts, cells);
        let v = cell_volumes_m3(&mesh);
        assert!((v[0] - 1.0).abs() > 0.01);
        assert!(close(v[0] + v[1], 2.0, 1e-14), "{v:?}");
    }

    #[test]
    fn mixed_cells_fill_a_box_far_from_the_origin() {
        // Four unit cubes side by side along x at x0 = 1000: a hexahedron, two wedges, six pyramids
        // around an interior point, and a polyhedron. Like the fixture volume, every kind at once.
        let x0 = 1000.0f32;
        let mut pts = Vec::new();
        for i in 0..5 {
            for &(y, z) in &[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)] {
                pts.push([x0 + i as f32, y, z]);
            }
        }
        pts.push([x0 + 2.4, 0.55, 0.45]); // interior point of cube 2, id 20
                                          // Cube i: corners at x0+i (ids 4i..4i+4) and x0+i+1 (ids 4i+4..4i+8), as a hexahedron
                                          // with bottom quad 4i.. (normal along −x) and top quad 4i+4.. .
        let hex = |i: u32| -> [u32; 8] {
            let a = 4 * i;
            [a, a + 1, a + 2, a + 3, a + 4, a + 5, a + 6, a + 7]
        };
        let mut cells = Cells::default();
        cells.push(CellType::HEXAHEDRON, &hex(0));
        // Cube 1 cut along its diagonal plane through the edges (0-4) and (2-6) into two wedges.
        let h = hex(1);
        cells.push(CellType::WEDGE, &[h[0], h[1], h[2], h[4], h[5], h[6]]);
        cells.push(CellType::WEDGE, &[h[0], h[2], h[3], h[4], h[6], h[7]]);
        // Cube 2: a pyramid from each face to the interior point.
        let h = hex(2);
        for f in CUBE_FACES {
            let q = f.map(|k| h[k as usize]);
            // Outward faces of the hexahedron; a pyramid's base turns inward (toward its apex).
            cells.push(CellType::PYRAMID, &[q[3], q[2], q[1], q[0], 20]);
        }
        let h = hex(3);
        let faces: Vec<Vec<u32>> = CUBE_FACES
            .iter()
            .map(|f| f.iter().map(|&k| h[k as usize]).collect())
            .collect();
        push_polyhedron(&mut cells, &h, &faces);
        cells.push(CellType::TETRA, &[0, 1, 3, 99]); // bad id: 0, no panic
        cells.push(CellType::TRIANGLE, &[0, 1, 2]); // not a solid: 0
        finish_polyhedra(&mut cells);
        let mesh = mesh_of(pts, cells);
        let v = cell_volumes_m3(&mesh);
        assert_eq!(v.len(), 12);
        for (i, vi) in v.iter().enumerate() {
            let expected = match i {
                0 | 9 => 1.0,
                1 | 2 => 0.5,
                10 | 11 => 0.0,
                _ => continue,
            };
            assert!(close(*vi, expected, 1e-12), "cell {i}: {vi}");
        }
        assert!(close(v[3..9].iter().sum(), 1.0, 1e-12));
        assert!(close(total_volume_m3(&mesh), 4.0, 1e-12));
    }

    #[test]
    fn quadratic_tetra_uses_its_corners() {
        let mut pts = vec![
            [0.0, 0.0, 0.0],
            [2.0, 0.0, 0.0],
            [0.0, 3.0, 0.0],
            [0.0, 0.0, 4.0],
        ];
        pts.extend(std::iter::repeat_n([9.0, 9.0, 9.0], 6));
        let mut cells = Cells::default();
        cells.push(CellType(24), &(0..10).collect::<Vec<u32>>());
        cells.push(CellType(24), &(0..9).collect::<Vec<u32>>()); // one node short
        let v = cell_volumes_m3(&mesh_of(pts, cells));
        assert!(close(v[0], 4.0, 1e-15));
        assert_eq!(v[1], 0.0);
    }

    #[test]
    fn bad_polyhedra_and_counts_give_zero() {
        let mut cells = Cells::default();
        cells.push(CellType::POLYHEDRON, &[0, 1, 2, 3, 4, 5, 6, 7]); // no faces anywhere
        cells.push(CellType::HEXAHEDRON, &[0, 1, 2, 3, 4, 5, 6]); // 7 points
        cells.push(CellType::PYRAMID, &[0, 1, 2, 3, 4, 5]); // 6 points
        cells.push(CellType(200), &[0, 1, 2, 3]);
        let mesh = mesh_of(CUBE.to_vec(), cells);
        assert_eq!(cell_volumes_m3(&mesh), vec![0.0; 4]);
        assert_eq!(cell_volume_m3(&mesh, 99), 0.0);

        let mut cells = Cells::default();
        let mut faces = cube_faces();
        faces[2] = vec![0, 1, 50, 4]; // face refers to a missing point
        push_polyhedron(&mut cells, &[0, 1, 2, 3, 4, 5, 6, 7], &faces);
        push_polyhedron(&mut cells, &[], &cube_faces()); // no points listed
        push_polyhedron(&mut cells, &[0, 1, 2, 3, 4, 5, 6, 7], &[]); // no faces
        let mut mesh = mesh_of(CUBE.to_vec(), cells);
        assert_eq!(cell_volumes_m3(&mesh), vec![0.0; 3]);
        // Truncated face tables must not panic either.
        mesh.cells
            .polyhedra
            .as_mut()
            .unwrap()
            .face_offsets
            .truncate(2);
        assert_eq!(cell_volumes_m3(&mesh), vec![0.0; 3]);
    }

    #[test]
    fn many_cells_in_parallel() {
        // An n x n x n grid of unit-spaced hexahedra spanning [0, 2]^3: total volume 8.
        let n = 20u32;
        let s = 2.0 / n as f32;
        let id = |i: u32, j: u32, k: u32| (k * (n + 1) + j) * (n + 1) + i;
        let mut pts = Vec::new();
        for k in 0..=n {
            for j in 0..=n {
                for i in 0..=n {
                    pts.push([i as f32 * s, j as f32 * s, k as f32 * s]);
                }
            }
        }
        let mut cells = Cells::default();
        for k in 0..n {
            for j in 0..n {
                for i in 0..n {
                    cells.push(
                        CellType::HEXAHEDRON,
                        &[
                            id(i, j, k),
                            id(i + 1, j, k),
                            id(i + 1, j + 1, k),
                            id(i, j + 1, k),
                            id(i, j, k + 1),
                            id(i + 1, j, k + 1),
                            id(i + 1, j + 1, k + 1),
                            id(i, j + 1, k + 1),
                        ],
                    );
                }
            }
        }
        let mesh = mesh_of(pts, cells);
        assert!(close(total_volume_m3(&mesh), 8.0, 1e-6));
        assert_eq!(cell_volumes_m3(&mesh), cell_volumes_m3(&mesh));
    }
}
