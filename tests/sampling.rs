//! Sampling a body as the model sees it: surface points, volume points around it, the `sample` command.

use std::path::Path;
use std::process::Command;

use slipstream::geometry::{self, SampleOptions, SurfaceQuery, TriangleSoup, VolumeSamplingConfig};
use slipstream::mesh::{self, Location};

fn ahmed() -> mesh::Mesh {
    mesh::read_mesh(&Path::new(env!("CARGO_MANIFEST_DIR")).join("geometry/ahmed_25deg.stl"))
        .unwrap()
}

#[test]
fn volume_points_lie_outside_the_body_inside_the_box_and_crowd_the_wall() {
    let soup = TriangleSoup::from_mesh(&ahmed());
    let query = SurfaceQuery::new(&soup);
    let config = VolumeSamplingConfig {
        ground_m: Some(0.0),
        ..Default::default()
    };
    let n = 20_000;
    let pts = geometry::sample_volume(&soup, &query, n, &config, 7).unwrap();
    assert_eq!(pts.len(), n);
    let body = query.bounds().unwrap();
    let domain = config.domain(&body);
    let length = body.max[0] - body.min[0];
    // The box of the issue: 1 L upstream, 3 L downstream, ±1 L sideways, ground to 1.5 L.
    assert!((domain.min[0] - (body.min[0] - length)).abs() < 1e-9);
    assert!((domain.max[0] - (body.max[0] + 3.0 * length)).abs() < 1e-9);
    assert!((domain.max[2] - 1.5 * length).abs() < 1e-9 && domain.min[2] == 0.0);
    let d = query.signed_distances(&pts);
    for (p, &dist) in pts.iter().zip(&d) {
        assert!(
            dist >= -1e-6,
            "point {p:?} inside the body (signed distance {dist})"
        );
        assert!(p[2] >= 0.0, "point below the ground");
        for (k, &x) in p.iter().enumerate() {
            assert!((x as f64) >= domain.min[k] - 1e-6 && (x as f64) <= domain.max[k] + 1e-6);
        }
    }
    // Near the wall (within 5% of L) the density must be far above a uniform box's: the box is
    // ~40 m³ and the 5%-of-L shell around the body ~0.1 m³, so uniform sampling would put < 1% there.
    let near = d.iter().filter(|&&x| x < 0.05 * length).count() as f64 / n as f64;
    assert!(near > 0.3, "only {near} of the points near the wall");
    // Reproducible and seed-dependent.
    assert_eq!(
        pts,
        geometry::sample_volume(&soup, &query, n, &config, 7).unwrap()
    );
    assert_ne!(
        pts,
        geometry::sample_volume(&soup, &query, n, &config, 8).unwrap()
    );
}

#[test]
fn an_impossible_box_is_an_error_not_a_hang() {
    // A closed unit cube, and a box that is exactly the cube: every candidate is inside the body.
    let c = |x: f32, y: f32, z: f32| [x, y, z];
    let v = [
        c(0., 0., 0.),
        c(1., 0., 0.),
        c(1., 1., 0.),
        c(0., 1., 0.),
        c(0., 0., 1.),
        c(1., 0., 1.),
        c(1., 1., 1.),
        c(0., 1., 1.),
    ];
    let quads = [
        [0, 3, 2, 1],
        [4, 5, 6, 7],
        [0, 1, 5, 4],
        [1, 2, 6, 5],
        [2, 3, 7, 6],
        [3, 0, 4, 7],
    ];
    let mut soup = TriangleSoup::default();
    for q in quads {
        soup.triangles.push([v[q[0]], v[q[1]], v[q[2]]]);
        soup.triangles.push([v[q[0]], v[q[2]], v[q[3]]]);
        soup.source_cell.extend([0, 0]);
    }
    let query = SurfaceQuery::new(&soup);
    let inside_only = VolumeSamplingConfig {
        upstream_l: 0.0,
        downstream_l: 0.0,
        side_l: 0.0,
        height_l: 1.0,
        near_wall_fraction: 0.0,
        ..Default::default()
    };
    let r = geometry::sample_volume(&soup, &query, 10, &inside_only, 1);
    assert!(
        matches!(r, Err(geometry::VolumeSamplingError::TooFewAccepted { .. })),
        "{r:?}"
    );
    let flat = VolumeSamplingConfig {
        height_l: 0.0,
        ..Default::default()
    };
    assert!(matches!(
        geometry::sample_volume(&soup, &query, 10, &flat, 1),
        Err(geometry::VolumeSamplingError::InvalidConfig(_))
    ));
    let same_axes = VolumeSamplingConfig {
        flow_axis: 2,
        up_axis: 2,
        ..Default::default()
    };
    assert!(geometry::sample_volume(&soup, &query, 10, &same_axes, 1).is_err());
}

#[test]
fn sample_cloud_turns_an_inward_surface_outward() {
    let mut m = ahmed();
    // Reverse every triangle: normals now point into the body.
    for c in 0..m.n_cells() {
        let (a, b) = (m.cells.offsets[c] as usize, m.cells.offsets[c + 1] as usize);
        m.cells.connectivity[a..b].reverse();
    }
    let options = SampleOptions {
        surface_points: 2000,
        volume_points: 1000,
        seed: 3,
        volume: VolumeSamplingConfig::default(),
    };
    let (cloud, report) = geometry::sample_cloud(&m, &options).unwrap();
    assert!(report.reoriented);
    assert_eq!(cloud.n_points(), 3000);
    let normal = cloud
        .field(Location::Point, "normal")
        .unwrap()
        .values
        .to_f32();
    // Outward on the body's top face (z = 0.338): n_z ≈ +1.
    let top: Vec<usize> = (0..2000)
        .filter(|&i| {
            (cloud.points[i][2] - 0.338).abs() < 1e-5
                && cloud.points[i][0] < 0.7
                && cloud.points[i][0] > 0.2
        })
        .collect();
    assert!(!top.is_empty());
    for i in top {
        assert!(
            normal[3 * i + 2] > 0.99,
            "normal {:?}",
            &normal[3 * i..3 * i + 3]
        );
    }
}

#[test]
fn sample_command_writes_a_point_cloud_paraview_opens() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("points.vtp");
    let stl = Path::new(env!("CARGO_MANIFEST_DIR")).join("geometry/ahmed_25deg.stl");
    let status = Command::new(env!("CARGO_BIN_EXE_slipstream"))
        .args([
            "sample",
            stl.to_str().unwrap(),
            "--surface",
            "3000",
            "--volume",
            "2000",
            "--ground",
            "0",
        ])
        .args(["--out", out.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(report["surface_points"], 3000);
    assert_eq!(report["volume_points"], 2000);
    let cloud = mesh::read_mesh(&out).unwrap();
    assert_eq!(cloud.n_points(), 5000);
    let kind = cloud.field(Location::Point, "kind").unwrap();
    assert_eq!(kind.stats().sum, 2000.0);
    assert!(cloud.field(Location::Point, "signed_distance_m").is_some());
    // A file that is not a closed body, or not a mesh: clear errors with status 2.
    let bad = Command::new(env!("CARGO_BIN_EXE_slipstream"))
        .args(["sample", "Cargo.toml"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
