//! Closed synthetic bodies, for benchmarks and tests that must run anywhere without data.

use super::triangles::TriangleSoup;

/// A closed, outward-oriented ellipsoid with semi-axes `axes` (m) centred at `centre`, about
/// `triangles` triangles (a UV grid: 2·nu·(nv−1) triangles).
pub fn ellipsoid(triangles: usize, axes: [f64; 3], centre: [f64; 3]) -> TriangleSoup {
    let nv = ((triangles as f64 / 4.0).sqrt().round() as usize).max(3);
    let nu = (triangles / (2 * (nv - 1))).max(3);
    let point = |i: usize, j: usize| -> [f32; 3] {
        let phi = std::f64::consts::TAU * (i % nu) as f64 / nu as f64;
        let theta = std::f64::consts::PI * j as f64 / nv as f64;
        [
            (centre[0] + axes[0] * theta.sin() * phi.cos()) as f32,
            (centre[1] + axes[1] * theta.sin() * phi.sin()) as f32,
            (centre[2] + axes[2] * theta.cos()) as f32,
        ]
    };
    let mut soup = TriangleSoup::default();
    for j in 0..nv {
        for i in 0..nu {
            let (a, b) = (point(i, j), point(i + 1, j));
            let (c, d) = (point(i + 1, j + 1), point(i, j + 1));
            if j > 0 {
                soup.triangles.push([a, d, b]);
                soup.source_cell.push(soup.source_cell.len() as u32);
            }
            if j + 1 < nv {
                soup.triangles.push([b, d, c]);
                soup.source_cell.push(soup.source_cell.len() as u32);
            }
        }
    }
    soup
}
