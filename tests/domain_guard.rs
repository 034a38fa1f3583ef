//! Predictions that know their limits, with the shipped checkpoint (`checkpoints/ahmed-small`)
//! and the bundled family it learnt from (`datasets/ahmed`):
//! - every validation and test body of the family is accepted, as prepared runs and as the STL
//!   files a user would give `predict`;
//! - bodies far from the family (a car-sized box, a sphere, a cylinder, the motorbike) are
//!   refused with exit status 2 and the reason, or predicted with `--allow-extrapolation` and
//!   marked `"in_domain": false`;
//! - a prediction carries a 1σ for Cd and Cl and σ fields in its VTK files, from the spread of
//!   the anchor draws and the checkpoint's calibration.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use slipstream::checkpoint;
use slipstream::data::{PreparedDataset, Split};
use slipstream::geometry::shape_descriptor::soup_descriptor;
use slipstream::geometry::TriangleSoup;
use slipstream::mesh::{self, CellType, Mesh};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn predict(geometry: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slipstream"))
        .arg("predict")
        .arg(geometry)
        .arg("--checkpoint")
        .arg(repo("checkpoints/ahmed-small"))
        .arg("--out")
        .arg(out)
        .args(["--json", "--no-picture"])
        .args(extra)
        .output()
        .unwrap()
}

/// A closed triangulated surface from points and triangles (outward winding).
fn surface(points: Vec<[f32; 3]>, triangles: &[[u32; 3]]) -> Mesh {
    let mut m = Mesh::point_cloud(points);
    m.cells = Default::default();
    for t in triangles {
        m.cells.push(CellType::TRIANGLE, t);
    }
    m
}

fn box_surface(lo: [f32; 3], hi: [f32; 3]) -> Mesh {
    let points = (0..8)
        .map(|i| std::array::from_fn(|k| if (i >> k) & 1 == 1 { hi[k] } else { lo[k] }))
        .collect();
    let mut triangles = Vec::new();
    for q in [
        [0, 2, 3, 1],
        [4, 5, 7, 6],
        [0, 1, 5, 4],
        [2, 6, 7, 3],
        [0, 4, 6, 2],
        [1, 3, 7, 5],
    ] {
        triangles.push([q[0], q[1], q[2]]);
        triangles.push([q[0], q[2], q[3]]);
    }
    surface(points, &triangles)
}

/// A sphere of latitude rings with one vertex at each pole.
fn sphere(centre: [f32; 3], radius: f32) -> Mesh {
    let (rings, around) = (24u32, 48u32);
    let mut points = vec![[centre[0], centre[1], centre[2] + radius]];
    for i in 1..rings {
        let polar = std::f32::consts::PI * i as f32 / rings as f32;
        for j in 0..around {
            let azimuth = 2.0 * std::f32::consts::PI * j as f32 / around as f32;
            points.push([
                centre[0] + radius * polar.sin() * azimuth.cos(),
                centre[1] + radius * polar.sin() * azimuth.sin(),
                centre[2] + radius * polar.cos(),
            ]);
        }
    }
    points.push([centre[0], centre[1], centre[2] - radius]);
    let south = points.len() as u32 - 1;
    let at = |i: u32, j: u32| 1 + (i - 1) * around + j % around;
    let mut triangles = Vec::new();
    for j in 0..around {
        triangles.push([0, at(1, j), at(1, j + 1)]);
        triangles.push([south, at(rings - 1, j + 1), at(rings - 1, j)]);
    }
    for i in 1..rings - 1 {
        for j in 0..around {
            triangles.push([at(i, j), at(i + 1, j), at(i + 1, j + 1)]);
            triangles.push([at(i, j), at(i + 1, j + 1), at(i, j + 1)]);
        }
    }
    surface(points, &triangles)
}

/// A closed cylinder along x from 0 to `length`, its axis at height `z`.
fn cylinder(length: f32, radius: f32, z: f32) -> Mesh {
    let around = 48u32;
    let mut points = vec![[0.0, 0.0, z], [length, 0.0, z]];
    for x in [0.0, length] {
        for j in 0..around {
            let a = 2.0 * std::f32::consts::PI * j as f32 / around as f32;
            points.push([x, radius * a.cos(), z + radius * a.sin()]);
        }
    }
    let (near, far) = (|j: u32| 2 + j % around, |j: u32| 2 + around + j % around);
    let mut triangles = Vec::new();
    for j in 0..around {
        triangles.push([0, near(j + 1), near(j)]);
        triangles.push([1, far(j), far(j + 1)]);
        triangles.push([near(j), near(j + 1), far(j + 1)]);
        triangles.push([near(j), far(j + 1), far(j)]);
    }
    surface(points, &triangles)
}

#[test]
fn every_validation_and_test_body_of_the_family_is_accepted() {
    let meta = checkpoint::read_meta(&repo("checkpoints/ahmed-small")).unwrap();
    let shape = meta
        .domain
        .shape
        .expect("the shipped checkpoint records its shape domain (slipstream calibrate)");
    let dataset = PreparedDataset::open(&repo("datasets/ahmed")).unwrap();
    let mut held_out = dataset.load(Split::Val).unwrap();
    held_out.extend(dataset.load(Split::Test).unwrap());
    assert!(held_out.len() >= 20, "{} held-out runs", held_out.len());
    for run in &held_out {
        let verdict = shape.judge(&run.shape_descriptor().unwrap()).unwrap();
        assert!(verdict.in_domain, "{}: {verdict:?}", run.name);
    }
    // The same bodies as users have them: the STL files the generator wrote.
    let mut stls = 0;
    for entry in std::fs::read_dir(repo("datasets/ahmed/stl")).unwrap() {
        let path = entry.unwrap().path();
        let mut soup = TriangleSoup::from_mesh(&mesh::read_mesh(&path).unwrap());
        soup.orient_bodies_outward();
        let verdict = shape
            .judge(&soup_descriptor(&soup, 0, 2, 0).unwrap())
            .unwrap();
        assert!(verdict.in_domain, "{}: {verdict:?}", path.display());
        stls += 1;
    }
    assert!(stls >= 20, "{stls} STL files");
}

#[test]
fn bodies_far_from_the_family_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut bodies = vec![
        (
            "car-sized",
            box_surface([0.0, -0.9, 0.15], [4.4, 0.9, 1.45]),
            "length 4.400 m",
        ),
        ("sphere", sphere([0.5, 0.0, 0.35], 0.3), "unlike"),
        ("cylinder", cylinder(1.0, 0.15, 0.25), "frontal area"),
    ]
    .into_iter()
    .map(|(name, m, why)| {
        let path = dir.path().join(format!("{name}.stl"));
        mesh::write_mesh(&path, &m).unwrap();
        (name.to_string(), path, why)
    })
    .collect::<Vec<_>>();
    match common::fixtures_dir() {
        Some(f) => bodies.push((
            "motorbike".into(),
            f.join("real/motorBike.stl"),
            "length 2.035 m",
        )),
        None => eprintln!("skipping the motorbike: ../shared/fixtures is absent"),
    }
    for (name, path, why) in &bodies {
        let out_dir = dir.path().join(format!("out-{name}"));
        let out = predict(path, &out_dir, &["--volume-points", "0", "--draws", "1"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.contains("unlike the bodies the checkpoint was trained on"),
            "{name}: {err}"
        );
        assert!(err.contains(why), "{name}: {err}");
        assert!(err.contains("--allow-extrapolation"), "{name}: {err}");
        assert!(!out_dir.join("summary.json").exists(), "{name}");
    }
    // Asked to, it predicts anyway and says so.
    let (_, path, _) = &bodies[2];
    let out = predict(
        path,
        &dir.path().join("anyway"),
        &[
            "--volume-points",
            "0",
            "--surface-points",
            "2000",
            "--draws",
            "1",
            "--allow-extrapolation",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["in_domain"], false);
    let score = v["domain_score"].as_f64().unwrap();
    assert!(score > v["domain_threshold"].as_f64().unwrap());
    assert!(!v["domain_reasons"].as_array().unwrap().is_empty());
    assert!(v["warnings"].to_string().contains("EXTRAPOLATION"));
}

#[test]
fn a_prediction_carries_its_uncertainty() {
    let dir = tempfile::tempdir().unwrap();
    let stl = repo("geometry/ahmed_25deg.stl");
    let few = ["--surface-points", "4000", "--volume-points", "2000"];
    // The checkpoint's calibration names its draws; predict uses as many by default.
    let out = predict(&stl, &dir.path().join("sigma"), &few);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["in_domain"], true);
    assert!(v["domain_score"].as_f64().unwrap() <= v["domain_threshold"].as_f64().unwrap());
    let calibration = checkpoint::read_meta(&repo("checkpoints/ahmed-small"))
        .unwrap()
        .uncertainty
        .expect("the shipped checkpoint is calibrated");
    assert_eq!(v["draws"], calibration.draws as u64);
    let (cd, cd_std) = (v["cd"].as_f64().unwrap(), v["cd_std"].as_f64().unwrap());
    assert!(cd_std > 0.0 && cd_std < 0.1 * cd, "Cd {cd} ± {cd_std}");
    assert!(v["cl_std"].as_f64().unwrap() > 0.0);
    let surface = mesh::read_mesh(&dir.path().join("sigma/surface.vtp")).unwrap();
    let volume = mesh::read_mesh(&dir.path().join("sigma/volume.vtu")).unwrap();
    for (m, location, names) in [
        (
            &surface,
            mesh::Location::Cell,
            &["pressure_std_pa", "cp_std", "wall_shear_std_pa"][..],
        ),
        (
            &volume,
            mesh::Location::Point,
            &["pressure_std_pa", "velocity_std_m_s", "vorticity_std_1_s"][..],
        ),
    ] {
        for name in names {
            let f = m
                .field(location, name)
                .unwrap_or_else(|| panic!("{name} missing"));
            let values: Vec<f64> = f.values.iter_f64().collect();
            assert!(values.iter().all(|x| x.is_finite() && *x >= 0.0), "{name}");
            assert!(values.iter().any(|x| *x > 0.0), "{name} all zero");
        }
    }
    // One draw has no spread: no σ, and the keys say so.
    let out = predict(
        &stl,
        &dir.path().join("one"),
        &[&few[..], &["--draws", "1"]].concat(),
    );
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["cd_std"].is_null() && v["cl_std"].is_null());
    let surface = mesh::read_mesh(&dir.path().join("one/surface.vtp")).unwrap();
    assert!(surface.field(mesh::Location::Cell, "cp_std").is_none());
}
