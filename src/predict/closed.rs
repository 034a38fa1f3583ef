//! Whether a triangle soup closes: edges shared by exactly one triangle are open. Corners are
//! welded by exact position first, since STL stores every triangle's corners separately.

use std::collections::HashMap;

use crate::geometry::triangles::TriangleSoup;

/// (open edges, all edges) of the soup.
pub fn open_edges(soup: &TriangleSoup) -> (usize, usize) {
    let mut ids: HashMap<[u32; 3], u32> = HashMap::new();
    let mut id = |p: [f32; 3]| {
        // +0.0 and −0.0 are the same corner.
        let key = p.map(|c| if c == 0.0 { 0 } else { c.to_bits() });
        let next = ids.len() as u32;
        *ids.entry(key).or_insert(next)
    };
    let mut edges: HashMap<(u32, u32), u32> = HashMap::new();
    for t in &soup.triangles {
        let v = [id(t[0]), id(t[1]), id(t[2])];
        for k in 0..3 {
            let (a, b) = (v[k], v[(k + 1) % 3]);
            if a != b {
                *edges.entry((a.min(b), a.max(b))).or_insert(0) += 1;
            }
        }
    }
    let open = edges.values().filter(|c| **c == 1).count();
    (open, edges.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tetra() -> TriangleSoup {
        let p = [
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0],
        ];
        let faces = [[0, 2, 1], [0, 1, 3], [1, 2, 3], [0, 3, 2]];
        TriangleSoup {
            triangles: faces.iter().map(|f| [p[f[0]], p[f[1]], p[f[2]]]).collect(),
            source_cell: (0..4).collect(),
        }
    }

    #[test]
    fn a_tetrahedron_is_closed_and_loses_three_edges_with_a_face() {
        assert_eq!(open_edges(&tetra()), (0, 6));
        let mut open = tetra();
        open.triangles.pop();
        open.source_cell.pop();
        assert_eq!(open_edges(&open), (3, 6));
    }
}
