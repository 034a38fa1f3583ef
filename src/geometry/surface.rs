//! Areas, unit normals and the enclosed volume of the 2D cells of a mesh.
//!
//! Forces are integrals over the surface (`F = Σ (−p n + t) A`), the model takes surface normals as
//! inputs, and `info` reports area and enclosed volume; all of them come from here. Everything is
//! accumulated in `f64` from the `f32` points.
//!
//! Per-cell rules, by VTK cell type:
//! - triangle: `½ (b − a) × (c − a)`;
//! - quad, polygon, pixel (corner order 0, 1, 3, 2), quadratic triangle and quad (as the polygon
//!   through corner and mid-edge nodes): the vector area of [`super::polygon`] (Newell's method,
//!   a triangle fan around the vertex mean). Its length is the exact area of a planar polygon and,
//!   for a warped one, the projected area that OpenFOAM uses for `|Sf|`;
//! - triangle strip: split into its triangles (every second one reversed, as VTK does), the area is
//!   the sum of the triangles' areas and the normal the direction of their summed vector area.
//!
//! Cells of other dimensions, cells of a fixed type with the wrong number of points and cells with an
//! out-of-range point id get area 0 and normal `[0, 0, 0]`. So does the normal of a degenerate cell
//! (vector area below 1e-14 of its squared size): there is no NaN in the output.

use rayon::prelude::*;

use super::bounds::{bounding_box, Aabb};
use super::polygon::vector_area_about;
use super::vec3::{cross, dot, gather, mean, norm, scale, sub};
use crate::mesh::{CellType, Mesh};

/// Below this fraction of its squared size a cell's vector area is round-off, and its normal is zero.
const DEGENERATE_RELATIVE_AREA: f64 = 1e-14;

/// What [`surface_properties`] computes for a mesh, one entry per cell of the mesh (all cells, so that
/// the vectors line up with cell data; non-surface cells hold zeros).
#[derive(Debug, Clone, PartialEq)]
pub struct SurfaceProperties {
    /// Area of each cell (m²); 0 for cells that are not 2D or are invalid.
    pub cell_area_m2: Vec<f64>,
    /// Unit normal of each cell by the right-hand rule of its point order; `[0, 0, 0]` for
    /// degenerate, non-2D and invalid cells.
    pub cell_normal: Vec<[f64; 3]>,
    /// Sum of the cell areas (m²).
    pub total_area_m2: f64,
    /// Signed volume enclosed by the 2D cells (m³), by the divergence theorem: the sum of
    /// `a · (b × c) / 6` over the fan triangles of every 2D cell. For a closed, consistently oriented
    /// surface it is the enclosed volume, positive when the normals point outward and negative when
    /// they point inward. For an open surface it depends on the origin and means little.
    pub enclosed_volume_m3: f64,
    /// Bounding box of all the mesh's points (m), `None` for a mesh without finite points.
    pub bounding_box: Option<Aabb>,
}

impl SurfaceProperties {
    /// Whether the normals point out of the enclosed volume (judged by the sign of the enclosed
    /// volume, so meaningful for closed surfaces only; a zero volume counts as outward).
    pub fn normals_point_outward(&self) -> bool {
        // "Not negative": a NaN volume (non-finite points) must not flip anything.
        self.enclosed_volume_m3 >= 0.0 || self.enclosed_volume_m3.is_nan()
    }

    /// Makes the normals point outward: if the enclosed volume is negative, every cell normal is
    /// reversed and the enclosed volume negated, so that the properties describe the re-oriented
    /// surface. Returns `outward`, whether the normals already pointed outward (nothing changed).
    ///
    /// Valid for closed surfaces whose cells are consistently oriented (CAD exports and CFD boundaries
    /// are): it flips all cells together and does not repair individually inverted cells.
    pub fn orient_outward(&mut self) -> bool {
        let outward = self.normals_point_outward();
        if !outward {
            for n in &mut self.cell_normal {
                *n = [-n[0], -n[1], -n[2]];
            }
            self.enclosed_volume_m3 = -self.enclosed_volume_m3;
        }
        outward
    }
}

/// Geometry of one cell of the surface.
#[derive(Debug, Clone, Copy, PartialEq)]
struct CellSurface {
    area_m2: f64,
    normal: [f64; 3],
    /// This cell's term of the divergence-theorem volume sum (m³).
    signed_volume_m3: f64,
}

const NOT_A_SURFACE: CellSurface = CellSurface {
    area_m2: 0.0,
    normal: [0.0; 3],
    signed_volume_m3: 0.0,
};

/// Areas, normals, total area, enclosed volume and bounding box of the 2D cells of `mesh`.
///
/// Cells are processed in parallel; the totals are summed in cell order afterwards, so the result does
/// not depend on the number of threads.
pub fn surface_properties(mesh: &Mesh) -> SurfaceProperties {
    let per_cell: Vec<CellSurface> = (0..mesh.cells.len())
        .into_par_iter()
        .with_min_len(4096)
        .map_init(Vec::new, |buf, i| cell_surface(mesh, i, buf))
        .collect();
    let mut props = SurfaceProperties {
        cell_area_m2: Vec::with_capacity(per_cell.len()),
        cell_normal: Vec::with_capacity(per_cell.len()),
        total_area_m2: 0.0,
        enclosed_volume_m3: 0.0,
        bounding_box: bounding_box(&mesh.points),
    };
    for c in &per_cell {
        props.cell_area_m2.push(c.area_m2);
        props.cell_normal.push(c.normal);
        props.total_area_m2 += c.area_m2;
        props.enclosed_volume_m3 += c.signed_volume_m3;
    }
    props
}

/// Unit cell normals pointing out of the enclosed volume, as `f32` for cell data and model inputs:
/// all normals are reversed when the enclosed volume is negative.
///
/// Valid for closed, consistently oriented surfaces (see [`SurfaceProperties::orient_outward`]); for
/// an open surface the sign test is meaningless.
pub fn outward_normals(mesh: &Mesh) -> Vec<[f32; 3]> {
    let mut props = surface_properties(mesh);
    props.orient_outward();
    props
        .cell_normal
        .iter()
        .map(|n| [n[0] as f32, n[1] as f32, n[2] as f32])
        .collect()
}

/// Geometry of cell `i`; `buf` is scratch space for its points.
fn cell_surface(mesh: &Mesh, i: usize, buf: &mut Vec<[f64; 3]>) -> CellSurface {
    let Some(&cell_type) = mesh.cells.types.get(i) else {
        return NOT_A_SURFACE;
    };
    let ids = mesh.cells.cell(i);
    let points = &mesh.points;
    let ok = match cell_type {
        CellType::TRIANGLE => ids.len() == 3 && gather(points, ids, buf),
        CellType::QUAD => ids.len() == 4 && gather(points, ids, buf),
        CellType::POLYGON => ids.len() >= 3 && gather(points, ids, buf),
        // Pixels number their corners lexicographically (x fastest); walk them around instead.
        CellType::PIXEL => ids.len() == 4 && gather(points, &[ids[0], ids[1], ids[3], ids[2]], buf),
        CellType::TRIANGLE_STRIP => {
            return if ids.len() >= 3 && gather(points, ids, buf) {
                strip_surface(buf)
            } else {
                NOT_A_SURFACE
            };
        }
        // Quadratic triangle (22) and quad (23): corners first, then mid-edge nodes; the polygon
        // through all of them follows curved edges more closely than the corners alone.
        CellType(22) => {
            ids.len() == 6
                && gather(
                    points,
                    &[ids[0], ids[3], ids[1], ids[4], ids[2], ids[5]],
                    buf,
                )
        }
        CellType(23) => {
            ids.len() == 8
                && gather(
                    points,
                    &[
                        ids[0], ids[4], ids[1], ids[5], ids[2], ids[6], ids[3], ids[7],
                    ],
                    buf,
                )
        }
        _ => false,
    };
    if !ok {
        return NOT_A_SURFACE;
    }
    if let [a, b, c] = buf[..] {
        let n = scale(cross(sub(b, a), sub(c, a)), 0.5);
        let area = norm(n);
        return CellSurface {
            area_m2: area,
            normal: unit_normal(n, area, buf),
            signed_volume_m3: dot(a, cross(b, c)) / 6.0,
        };
    }
    let m = mean(buf);
    let n = vector_area_about(buf, m);
    let area = norm(n);
    CellSurface {
        area_m2: area,
        normal: unit_normal(n, area, buf),
        // Σ over the fan triangles (m, pᵢ, pᵢ₊₁) of m · (pᵢ × pᵢ₊₁) / 6 = m · N / 3.
        signed_volume_m3: dot(m, n) / 3.0,
    }
}

/// A triangle strip `p0 p1 p2 p3 …` as its triangles `(p0 p1 p2), (p2 p1 p3), (p2 p3 p4), …`.
fn strip_surface(points: &[[f64; 3]]) -> CellSurface {
    let mut area = 0.0;
    let mut n = [0.0; 3];
    let mut volume = 0.0;
    for k in 0..points.len().saturating_sub(2) {
        let (a, b, c) = if k % 2 == 0 {
            (points[k], points[k + 1], points[k + 2])
        } else {
            (points[k + 1], points[k], points[k + 2])
        };
        let t = scale(cross(sub(b, a), sub(c, a)), 0.5);
        area += norm(t);
        n = [n[0] + t[0], n[1] + t[1], n[2] + t[2]];
        volume += dot(a, cross(b, c)) / 6.0;
    }
    CellSurface {
        area_m2: area,
        normal: unit_normal(n, norm(n), points),
        signed_volume_m3: volume,
    }
}

/// `n / |n|`, or zero when `|n|` is round-off for a cell spanning `points`.
fn unit_normal(n: [f64; 3], length: f64, points: &[[f64; 3]]) -> [f64; 3] {
    let m = mean(points);
    let size_sq = points
        .iter()
        .map(|&p| dot(sub(p, m), sub(p, m)))
        .fold(0.0, f64::max);
    if length.is_finite() && length > 0.0 && length > DEGENERATE_RELATIVE_AREA * size_sq {
        scale(n, 1.0 / length)
    } else {
        [0.0; 3]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::Cells;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    fn close3(a: [f64; 3], b: [f64; 3], tol: f64) -> bool {
        (0..3).all(|k| close(a[k], b[k], tol))
    }

    /// The 8 corners of the unit cube shifted by `o`, VTK hexahedron order.
    fn cube_points(o: [f32; 3]) -> Vec<[f32; 3]> {
        [
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [1.0, 1.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0],
            [1.0, 0.0, 1.0],
            [1.0, 1.0, 1.0],
            [0.0, 1.0, 1.0],
        ]
        .iter()
        .map(|p| [p[0] + o[0], p[1] + o[1], p[2] + o[2]])
        .collect()
    }

    /// The cube's six faces as outward quads (the hexahedron's faces).
    const CUBE_QUADS: [[u32; 4]; 6] = [
        [0, 4, 7, 3],
        [1, 2, 6, 5],
        [0, 1, 5, 4],
        [3, 7, 6, 2],
        [0, 3, 2, 1],
        [4, 5, 6, 7],
    ];

    fn cube_triangles() -> Vec<[u32; 3]> {
        CUBE_QUADS
            .iter()
            .flat_map(|q| [[q[0], q[1], q[2]], [q[0], q[2], q[3]]])
            .collect()
    }

    fn mesh_of(points: Vec<[f32; 3]>, cells: Cells) -> Mesh {
        Mesh {
            points,
            cells,
            ..Default::default()
        }
    }

    fn quads(faces: &[[u32; 4]]) -> Cells {
        let mut cells = Cells::default();
        for f in faces {
            cells.push(CellType::QUAD, f);
        }
        cells
    }

    /// Σ A n over a closed surface vanishes: an independent check of every cell's normal and area.
    fn closed_vector_area(p: &SurfaceProperties) -> [f64; 3] {
        p.cell_area_m2
            .iter()
            .zip(&p.cell_normal)
            .fold([0.0; 3], |s, (&a, n)| {
                [s[0] + a * n[0], s[1] + a * n[1], s[2] + a * n[2]]
            })
    }

    #[test]
    fn unit_cube_of_twelve_triangles() {
        let mesh = mesh_of(
            cube_points([0.0; 3]),
            Cells::from_triangles(&cube_triangles()),
        );
        let p = surface_properties(&mesh);
        assert_eq!(p.cell_area_m2.len(), 12);
        assert!(close(p.total_area_m2, 6.0, 1e-14));
        assert!(close(p.enclosed_volume_m3, 1.0, 1e-14));
        assert!(p.normals_point_outward());
        for (a, n) in p.cell_area_m2.iter().zip(&p.cell_normal) {
            assert!(close(*a, 0.5, 1e-14));
            assert!(close(norm(*n), 1.0, 1e-14));
        }
        // -x face first, +x face second (triangles 0..2 and 2..4).
        assert_eq!(p.cell_normal[0], [-1.0, 0.0, 0.0]);
        assert_eq!(p.cell_normal[2], [1.0, 0.0, 0.0]);
        assert!(close3(closed_vector_area(&p), [0.0; 3], 1e-14));
        let b = p.bounding_box.unwrap();
        assert_eq!((b.min, b.max), ([0.0; 3], [1.0; 3]));
    }

    #[test]
    fn flipped_cube_has_negative_volume_and_is_reoriented() {
        let flipped: Vec<[u32; 3]> = cube_triangles()
            .iter()
            .map(|t| [t[0], t[2], t[1]])
            .collect();
        let mesh = mesh_of(cube_points([0.0; 3]), Cells::from_triangles(&flipped));
        let mut p = surface_properties(&mesh);
        assert!(close(p.enclosed_volume_m3, -1.0, 1e-14));
        assert!(close(p.total_area_m2, 6.0, 1e-14));
        assert!(!p.normals_point_outward());
        assert_eq!(p.cell_normal[0], [1.0, 0.0, 0.0]);

        assert!(
            !p.orient_outward(),
            "reports that the normals pointed inward"
        );
        assert!(close(p.enclosed_volume_m3, 1.0, 1e-14));
        assert_eq!(p.cell_normal[0], [-1.0, 0.0, 0.0]);
        assert!(p.orient_outward(), "already outward the second time");

        let outward = outward_normals(&mesh);
        assert_eq!(outward[0], [-1.0, 0.0, 0.0]);
        assert_eq!(outward[2], [1.0, 0.0, 0.0]);
        let already = mesh_of(
            cube_points([0.0; 3]),
            Cells::from_triangles(&cube_triangles()),
        );
        assert_eq!(outward_normals(&already), outward);
    }

    #[test]
    fn cube_of_quads_far_from_origin() {
        // The divergence sum of a closed surface does not depend on where the origin is.
        let mesh = mesh_of(cube_points([1000.0, -250.0, 30.0]), quads(&CUBE_QUADS));
        let p = surface_properties(&mesh);
        assert!(close(p.total_area_m2, 6.0, 1e-12));
        assert!(
            close(p.enclosed_volume_m3, 1.0, 1e-9),
            "{}",
            p.enclosed_volume_m3
        );
        assert_eq!(p.cell_normal[0], [-1.0, 0.0, 0.0]);
        assert_eq!(p.cell_normal[5], [0.0, 0.0, 1.0]);
        assert!(close3(closed_vector_area(&p), [0.0; 3], 1e-12));
    }

    #[test]
    fn octahedron_area_and_volume() {
        // Vertices ±1 on the axes: volume 4/3, eight equilateral faces of side √2, area 4√3.
        let pts = vec![
            [1.0, 0.0, 0.0],
            [-1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, -1.0, 0.0],
            [0.0, 0.0, 1.0],
            [0.0, 0.0, -1.0],
        ];
        let mut tris = Vec::new();
        for (x, y) in [(0u32, 2u32), (2, 1), (1, 3), (3, 0)] {
            tris.push([x, y, 4]); // upper half, counter-clockwise seen from outside
            tris.push([y, x, 5]);
        }
        let p = surface_properties(&mesh_of(pts, Cells::from_triangles(&tris)));
        assert!(close(p.total_area_m2, 4.0 * 3f64.sqrt(), 1e-14));
        assert!(close(p.enclosed_volume_m3, 4.0 / 3.0, 1e-14));
        let s = 1.0 / 3f64.sqrt();
        assert!(close3(p.cell_normal[0], [s, s, s], 1e-14));
        assert!(close3(p.cell_normal[1], [s, s, -s], 1e-14));
    }

    #[test]
    fn non_planar_quad_reports_projected_area_and_mean_normal() {
        // A saddle: corners alternately at height 0 and h over the unit square.
        let h = 0.5f32;
        let pts = vec![
            [0.0, 0.0, 0.0],
            [1.0, 0.0, h],
            [1.0, 1.0, 0.0],
            [0.0, 1.0, h],
        ];
        let p = surface_properties(&mesh_of(pts.clone(), quads(&[[0, 1, 2, 3]])));
        assert!(
            close(p.cell_area_m2[0], 1.0, 1e-14),
            "{}",
            p.cell_area_m2[0]
        );
        assert!(close3(p.cell_normal[0], [0.0, 0.0, 1.0], 1e-14));
        // Independently: the four fan triangles around the vertex mean, summed as vectors.
        let q: Vec<[f64; 3]> = pts.iter().map(|p| p.map(f64::from)).collect();
        let m = mean(&q);
        let mut s = [0.0; 3];
        for k in 0..4 {
            let t = cross(sub(q[k], m), sub(q[(k + 1) % 4], m));
            s = [s[0] + t[0] / 2.0, s[1] + t[1] / 2.0, s[2] + t[2] / 2.0];
        }
        assert!(close3(scale(p.cell_normal[0], p.cell_area_m2[0]), s, 1e-14));
        // The fan surface itself is larger than its projection: 4 × ¼ √(1 + h²).
        let fan_area: f64 = (0..4)
            .map(|k| 0.5 * norm(cross(sub(q[k], m), sub(q[(k + 1) % 4], m))))
            .sum();
        assert!(close(fan_area, (1.0 + 0.25f64).sqrt(), 1e-14));
        assert!(p.cell_area_m2[0] < fan_area);
    }

    #[test]
    fn tilted_planar_quad_polygon_and_pixel() {
        // A 2 x 3 rectangle in the plane x = z, spanned by (1,0,1)/√2·2 and (0,3,0).
        let r = 2.0f32 / 2f32.sqrt();
        let pts = vec![[0.0, 0.0, 0.0], [r, 0.0, r], [r, 3.0, r], [0.0, 3.0, 0.0]];
        let p = surface_properties(&mesh_of(pts, quads(&[[0, 1, 2, 3]])));
        assert!(close(p.cell_area_m2[0], 6.0, 1e-6));
        let s = 1.0 / 2f64.sqrt();
        assert!(close3(p.cell_normal[0], [-s, 0.0, s], 1e-6));

        // A regular hexagon of circumradius 2: area 3√3/2 · 4 = 6√3.
        let hex: Vec<[f32; 3]> = (0..6)
            .map(|k| {
                let a = k as f32 * std::f32::consts::PI / 3.0;
                [2.0 * a.cos(), 2.0 * a.sin(), 1.0]
            })
            .collect();
        let mut cells = Cells::default();
        cells.push(CellType::POLYGON, &[0, 1, 2, 3, 4, 5]);
        let p = surface_properties(&mesh_of(hex, cells));
        assert!(close(p.cell_area_m2[0], 6.0 * 3f64.sqrt(), 1e-6));
        assert!(close3(p.cell_normal[0], [0.0, 0.0, 1.0], 1e-6));

        // A pixel numbers its corners (0,0), (1,0), (0,1), (1,1).
        let pts = vec![
            [0.0, 0.0, 0.0],
            [2.0, 0.0, 0.0],
            [0.0, 3.0, 0.0],
            [2.0, 3.0, 0.0],
        ];
        let mut cells = Cells::default();
        cells.push(CellType::PIXEL, &[0, 1, 2, 3]);
        let p = surface_properties(&mesh_of(pts, cells));
        assert_eq!(p.cell_area_m2[0], 6.0);
        assert_eq!(p.cell_normal[0], [0.0, 0.0, 1.0]);
    }

    #[test]
    fn triangle_strip_is_split_into_triangles() {
        // A strip folded by 90° along x = 1: a unit square in z = 0, then a unit square in x = 1.
        let pts = vec![
            [0.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [1.0, 0.0, 0.0],
            [1.0, 1.0, 0.0],
            [1.0, 0.0, 1.0],
            [1.0, 1.0, 1.0],
        ];
        let mut cells = Cells::default();
        cells.push(CellType::TRIANGLE_STRIP, &[0, 1, 2, 3, 4, 5]);
        let p = surface_properties(&mesh_of(pts, cells));
        assert!(close(p.cell_area_m2[0], 2.0, 1e-14));
        // The first square's triangles face -z; folded up consistently, the second's face +x.
        let s = 1.0 / 2f64.sqrt();
        assert!(
            close3(p.cell_normal[0], [s, 0.0, -s], 1e-14),
            "{:?}",
            p.cell_normal[0]
        );
        // Every triangle of the strip has the same orientation as the first.
        let flat = vec![
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [1.0, 1.0, 0.0],
        ];
        let mut cells = Cells::default();
        cells.push(CellType::TRIANGLE_STRIP, &[0, 1, 2, 3]);
        let p = surface_properties(&mesh_of(flat, cells));
        assert_eq!(p.cell_area_m2[0], 1.0);
        assert_eq!(p.cell_normal[0], [0.0, 0.0, 1.0]);
    }

    #[test]
    fn quadratic_triangle_uses_its_mid_edge_nodes() {
        // Mid-edge node of edge 0-1 pushed out: the polygon 0,3,1,4,2,5 gains a triangle of area ½·1·0.5.
        let pts = vec![
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.5, -0.5, 0.0],
            [0.5, 0.5, 0.0],
            [0.0, 0.5, 0.0],
        ];
        let mut cells = Cells::default();
        cells.push(CellType(22), &[0, 1, 2, 3, 4, 5]);
        let p = surface_properties(&mesh_of(pts, cells));
        assert!(close(p.cell_area_m2[0], 0.75, 1e-14));
        assert_eq!(p.cell_normal[0], [0.0, 0.0, 1.0]);
    }

    #[test]
    fn degenerate_invalid_and_non_surface_cells_give_zeros() {
        let pts = vec![
            [0.0, 0.0, 0.0],
            [1.0, 1.0, 1.0],
            [2.0, 2.0, 2.0],
            [0.0, 0.0, 1.0],
        ];
        let mut cells = Cells::default();
        cells.push(CellType::TRIANGLE, &[0, 1, 2]); // colinear
        cells.push(CellType::TRIANGLE, &[0, 0, 3]); // repeated point
        cells.push(CellType::QUAD, &[0, 1, 1, 0]); // collapsed quad
        cells.push(CellType::TRIANGLE, &[0, 1, 99]); // out-of-range id
        cells.push(CellType::TRIANGLE, &[0, 1]); // too few points
        cells.push(CellType::TETRA, &[0, 1, 2, 3]);
        cells.push(CellType::LINE, &[0, 1]);
        cells.push(CellType::POLYGON, &[0, 3]);
        cells.push(CellType(200), &[0, 1, 3]);
        let n = cells.len();
        let p = surface_properties(&mesh_of(pts, cells));
        assert_eq!(p.cell_area_m2.len(), n);
        assert_eq!(p.cell_normal.len(), n);
        for i in 0..n {
            assert_eq!(p.cell_area_m2[i], 0.0, "cell {i}");
            assert_eq!(p.cell_normal[i], [0.0; 3], "cell {i}");
        }
        assert_eq!(p.total_area_m2, 0.0);
        assert_eq!(p.enclosed_volume_m3, 0.0);
    }

    #[test]
    fn inconsistent_offsets_do_not_panic() {
        let cells = Cells {
            types: vec![CellType::TRIANGLE, CellType::QUAD],
            offsets: vec![0, 3, 40],
            connectivity: vec![0, 1, 2],
            polyhedra: None,
        };
        let pts = vec![[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]];
        let p = surface_properties(&mesh_of(pts, cells));
        assert_eq!(p.cell_area_m2, vec![0.5, 0.0]);
        let empty = surface_properties(&Mesh::default());
        assert!(empty.cell_area_m2.is_empty() && empty.bounding_box.is_none());
        assert!(empty.normals_point_outward());
    }

    #[test]
    fn large_sphere_is_parallel_and_deterministic() {
        // A UV sphere of radius 1 with many cells (crosses the parallel threshold): quads between
        // the poles' triangle fans. Area and volume converge to 4π and 4π/3 from below.
        let (nu, nv) = (256u32, 128u32);
        let mut pts = vec![[0.0f32, 0.0, 1.0], [0.0, 0.0, -1.0]];
        for j in 1..nv {
            let th = std::f64::consts::PI * j as f64 / nv as f64;
            for i in 0..nu {
                let ph = 2.0 * std::f64::consts::PI * i as f64 / nu as f64;
                pts.push([
                    (th.sin() * ph.cos()) as f32,
                    (th.sin() * ph.sin()) as f32,
                    th.cos() as f32,
                ]);
            }
        }
        let ring = |j: u32, i: u32| 2 + (j - 1) * nu + (i % nu);
        let mut cells = Cells::default();
        for i in 0..nu {
            cells.push(CellType::TRIANGLE, &[0, ring(1, i), ring(1, i + 1)]);
            cells.push(
                CellType::TRIANGLE,
                &[1, ring(nv - 1, i + 1), ring(nv - 1, i)],
            );
            for j in 1..nv - 1 {
                cells.push(
                    CellType::QUAD,
                    &[
                        ring(j, i),
                        ring(j + 1, i),
                        ring(j + 1, i + 1),
                        ring(j, i + 1),
                    ],
                );
            }
        }
        let mesh = mesh_of(pts, cells);
        let p = surface_properties(&mesh);
        let pi = std::f64::consts::PI;
        assert!(p.total_area_m2 < 4.0 * pi && close(p.total_area_m2, 4.0 * pi, 1e-3));
        assert!(p.enclosed_volume_m3 < 4.0 * pi / 3.0);
        assert!(close(p.enclosed_volume_m3, 4.0 * pi / 3.0, 1e-3));
        assert!(close3(closed_vector_area(&p), [0.0; 3], 1e-9));
        // Every normal points away from the centre, along the direction to the cell.
        let mut buf = Vec::new();
        for (i, &n) in p.cell_normal.iter().enumerate() {
            assert!(gather(&mesh.points, mesh.cells.cell(i), &mut buf));
            let c = mean(&buf);
            assert!(dot(n, c) / norm(c) > 0.999, "cell {i}: {n:?} at {c:?}");
        }
        assert_eq!(surface_properties(&mesh), p);
    }
}
