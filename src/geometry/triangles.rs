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
        self.triangles.iter().map(six_signed_volume).sum::<f64>() / 6.0
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

impl TriangleSoup {
    /// The connected bodies of the soup: triangles that share a corner (same coordinates) belong
    /// to one body. Returns each triangle's body number (0-based, in order of first appearance)
    /// and the number of bodies.
    pub fn bodies(&self) -> (Vec<u32>, usize) {
        let n = self.triangles.len();
        let mut parent: Vec<u32> = (0..n as u32).collect();
        fn root(parent: &mut [u32], mut i: u32) -> u32 {
            while parent[i as usize] != i {
                let up = parent[parent[i as usize] as usize];
                parent[i as usize] = up;
                i = up;
            }
            i
        }
        // The first triangle seen at each corner position; later ones join its body.
        let mut first_at: std::collections::HashMap<[u32; 3], u32> =
            std::collections::HashMap::with_capacity(n * 3 / 2);
        for (t, tri) in self.triangles.iter().enumerate() {
            for corner in tri {
                // +0.0 and −0.0 are one position.
                let key = corner.map(|c| (c + 0.0).to_bits());
                let other = *first_at.entry(key).or_insert(t as u32);
                let (a, b) = (root(&mut parent, t as u32), root(&mut parent, other));
                if a != b {
                    parent[a.max(b) as usize] = a.min(b);
                }
            }
        }
        let mut number = std::collections::HashMap::new();
        let body: Vec<u32> = (0..n as u32)
            .map(|t| {
                let r = root(&mut parent, t);
                let next = number.len() as u32;
                *number.entry(r).or_insert(next)
            })
            .collect();
        (body, number.len())
    }

    /// [`Self::orient_outward`] body by body: each closed body (see [`Self::bodies`]; every edge
    /// shared by two of its triangles) whose enclosed volume is negative has its triangles
    /// reversed, so one inward-wound body in a file of several no longer flips the others. The
    /// open pieces, whose own volumes mean nothing (CAD patches that do not share corners), are
    /// judged together as before: reversed all at once when their summed volume is negative.
    /// Returns how many bodies were reversed, and of how many. Meant for separate closed bodies
    /// (wheels, mirrors, a trailer), not for a shell nested in another (a cavity is wound inward
    /// on purpose).
    pub fn orient_bodies_outward(&mut self) -> (usize, usize) {
        let (body, count) = self.bodies();
        let mut volume = vec![0.0f64; count];
        // Each undirected edge (by corner positions) with how many triangles use it.
        let key = |p: [f32; 3]| p.map(|c| (c + 0.0).to_bits());
        let mut edges: std::collections::HashMap<([u32; 3], [u32; 3]), u32> =
            std::collections::HashMap::with_capacity(self.triangles.len() * 3 / 2);
        for (t, tri) in self.triangles.iter().enumerate() {
            volume[body[t] as usize] += six_signed_volume(tri) / 6.0;
            for k in 0..3 {
                let (p, q) = (key(tri[k]), key(tri[(k + 1) % 3]));
                *edges.entry((p.min(q), p.max(q))).or_insert(0) += 1;
            }
        }
        let mut closed = vec![true; count];
        for (t, tri) in self.triangles.iter().enumerate() {
            for k in 0..3 {
                let (p, q) = (key(tri[k]), key(tri[(k + 1) % 3]));
                if edges.get(&(p.min(q), p.max(q))) == Some(&1) {
                    closed[body[t] as usize] = false;
                }
            }
        }
        let open_volume: f64 = (0..count).filter(|&b| !closed[b]).map(|b| volume[b]).sum();
        let flip: Vec<bool> = (0..count)
            .map(|b| match closed[b] {
                true => volume[b] < 0.0,
                false => open_volume < 0.0,
            })
            .collect();
        for (t, tri) in self.triangles.iter_mut().enumerate() {
            if flip[body[t] as usize] {
                tri.swap(1, 2);
            }
        }
        (flip.iter().filter(|f| **f).count(), count)
    }
}

/// Six times a triangle's term of the divergence-theorem volume, `a · (b × c)` in f64 (m³).
fn six_signed_volume(t: &Triangle) -> f64 {
    let widen = |p: [f32; 3]| [p[0] as f64, p[1] as f64, p[2] as f64];
    let (a, b, c) = (widen(t[0]), widen(t[1]), widen(t[2]));
    a[0] * (b[1] * c[2] - b[2] * c[1])
        + a[1] * (b[2] * c[0] - b[0] * c[2])
        + a[2] * (b[0] * c[1] - b[1] * c[0])
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

    /// The box `[lo, hi]` of the shared test shapes, its 12 triangles wound outward or reversed.
    fn box_soup(lo: [f64; 3], hi: [f64; 3], inward: bool) -> Vec<Triangle> {
        let mut tris = crate::geometry::test_shapes::box_soup(lo, hi).triangles;
        if inward {
            tris.iter_mut().for_each(|t| t.swap(1, 2));
        }
        tris
    }

    #[test]
    fn separate_bodies_are_oriented_one_by_one() {
        // A 2 × 1 × 1 box wound outward and, apart from it, a 1 × 1 × 1 box wound inward.
        let mut triangles = box_soup([0.0; 3], [2.0, 1.0, 1.0], false);
        triangles.extend(box_soup([5.0, 0.0, 0.0], [6.0, 1.0, 1.0], true));
        let mut soup = TriangleSoup {
            source_cell: (0..triangles.len() as u32).collect(),
            triangles,
        };
        assert!((soup.signed_volume_m3() - (2.0 - 1.0)).abs() < 1e-9);
        let (body, count) = soup.bodies();
        assert_eq!(count, 2);
        assert!(body[..12].iter().all(|b| *b == 0) && body[12..].iter().all(|b| *b == 1));
        // Flipping the whole soup would give −2 + 1; body by body both count.
        let mut whole = soup.clone();
        whole.orient_outward();
        assert!((whole.signed_volume_m3() - 1.0).abs() < 1e-9);
        assert_eq!(soup.orient_bodies_outward(), (1, 2));
        assert!((soup.signed_volume_m3() - 3.0).abs() < 1e-9);
        assert_eq!(soup.orient_bodies_outward(), (0, 2));
        // The reversed body is the same triangles as a box wound outward.
        let outward = box_soup([5.0, 0.0, 0.0], [6.0, 1.0, 1.0], false);
        for (a, b) in soup.triangles[12..].iter().zip(&outward) {
            assert_eq!(a, b);
        }
    }

    #[test]
    fn open_pieces_are_judged_together() {
        // One inward box cut into two open halves that share no corners (a CAD export whose
        // patches are not stitched): each half's own volume depends on the origin, so the halves
        // are flipped together by their summed volume, as a whole surface would be.
        let lo = [10.0, 10.0, 10.0];
        let whole = box_soup(lo, [11.0, 11.0, 11.0], true);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for (k, tri) in whole.iter().enumerate() {
            // Faces 0-2 in one piece, 3-5 in the other, the second moved by a hair.
            if k < 6 {
                a.push(*tri);
            } else {
                b.push(tri.map(|p| p.map(|c| c + 1e-5)));
            }
        }
        a.extend(b);
        let mut soup = TriangleSoup {
            source_cell: (0..a.len() as u32).collect(),
            triangles: a,
        };
        assert_eq!(soup.bodies().1, 2);
        assert_eq!(soup.orient_bodies_outward(), (2, 2));
        assert!((soup.signed_volume_m3() - 1.0).abs() < 1e-3);
    }
}
