//! Closed test shapes with known areas, volumes and projections, shared by the geometry tests.

use super::triangles::TriangleSoup;

/// A unit icosahedron subdivided `levels` times, vertices pushed onto the sphere of `radius`
/// around `centre`, outward winding, `source_cell[i] = i`.
pub fn icosphere(levels: u32, radius: f64, centre: [f64; 3]) -> TriangleSoup {
    let g = (1.0 + 5f64.sqrt()) / 2.0;
    let mut v: Vec<[f64; 3]> = vec![
        [-1.0, g, 0.0],
        [1.0, g, 0.0],
        [-1.0, -g, 0.0],
        [1.0, -g, 0.0],
        [0.0, -1.0, g],
        [0.0, 1.0, g],
        [0.0, -1.0, -g],
        [0.0, 1.0, -g],
        [g, 0.0, -1.0],
        [g, 0.0, 1.0],
        [-g, 0.0, -1.0],
        [-g, 0.0, 1.0],
    ];
    let mut faces: Vec<[usize; 3]> = vec![
        [0, 11, 5],
        [0, 5, 1],
        [0, 1, 7],
        [0, 7, 10],
        [0, 10, 11],
        [1, 5, 9],
        [5, 11, 4],
        [11, 10, 2],
        [10, 7, 6],
        [7, 1, 8],
        [3, 9, 4],
        [3, 4, 2],
        [3, 2, 6],
        [3, 6, 8],
        [3, 8, 9],
        [4, 9, 5],
        [2, 4, 11],
        [6, 2, 10],
        [8, 6, 7],
        [9, 8, 1],
    ];
    let unit = |p: [f64; 3]| {
        let l = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
        [p[0] / l, p[1] / l, p[2] / l]
    };
    for p in &mut v {
        *p = unit(*p);
    }
    for _ in 0..levels {
        let mut midpoint = std::collections::HashMap::new();
        let mut mid = |a: usize, b: usize, v: &mut Vec<[f64; 3]>| {
            *midpoint.entry((a.min(b), a.max(b))).or_insert_with(|| {
                let (p, q) = (v[a], v[b]);
                v.push(unit([p[0] + q[0], p[1] + q[1], p[2] + q[2]]));
                v.len() - 1
            })
        };
        let mut next = Vec::with_capacity(faces.len() * 4);
        for &[a, b, c] in &faces {
            let (ab, bc, ca) = (mid(a, b, &mut v), mid(b, c, &mut v), mid(c, a, &mut v));
            next.extend([[a, ab, ca], [b, bc, ab], [c, ca, bc], [ab, bc, ca]]);
        }
        faces = next;
    }
    let pt = |i: usize| {
        let p = v[i];
        [
            (centre[0] + radius * p[0]) as f32,
            (centre[1] + radius * p[1]) as f32,
            (centre[2] + radius * p[2]) as f32,
        ]
    };
    TriangleSoup {
        triangles: faces
            .iter()
            .map(|f| [pt(f[0]), pt(f[1]), pt(f[2])])
            .collect(),
        source_cell: (0..faces.len() as u32).collect(),
    }
}

/// The box `[lo, hi]`, two triangles per face with outward winding, `source_cell` = face
/// (0: −x, 1: +x, 2: −y, 3: +y, 4: −z, 5: +z).
pub fn box_soup(lo: [f64; 3], hi: [f64; 3]) -> TriangleSoup {
    let corner = |i: usize| {
        [
            if i & 1 == 0 { lo[0] } else { hi[0] } as f32,
            if i & 2 == 0 { lo[1] } else { hi[1] } as f32,
            if i & 4 == 0 { lo[2] } else { hi[2] } as f32,
        ]
    };
    // Each face's corners in counter-clockwise order seen from outside.
    let faces: [[usize; 4]; 6] = [
        [0, 4, 6, 2],
        [1, 3, 7, 5],
        [0, 1, 5, 4],
        [2, 6, 7, 3],
        [0, 2, 3, 1],
        [4, 5, 7, 6],
    ];
    let mut soup = TriangleSoup::default();
    for (f, q) in faces.iter().enumerate() {
        for tri in [[q[0], q[1], q[2]], [q[0], q[2], q[3]]] {
            soup.triangles
                .push([corner(tri[0]), corner(tri[1]), corner(tri[2])]);
            soup.source_cell.push(f as u32);
        }
    }
    soup
}

/// A 1M-triangle surface: the benchmark's UV-tessellated ellipsoid of car size, 4.5 × 1.8 × 1.4 m
/// (semi-axes 2.25, 0.9, 0.7 along x, y, z), centred at the origin.
pub fn car_sized_ellipsoid() -> TriangleSoup {
    super::synthetic::ellipsoid(1_000_000, [2.25, 0.9, 0.7], [0.0; 3])
}
