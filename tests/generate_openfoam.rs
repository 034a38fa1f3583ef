//! `slipstream generate ahmed` end to end on a coarse mesh with few iterations. Needs OpenFOAM
//! (v1912+); skipped with a message where it is not installed (it is an optional outside program).

use std::process::Command;

use slipstream::geometry::surface::surface_properties;
use slipstream::mesh::{self, Location};

fn have_openfoam() -> bool {
    let found = Command::new("simpleFoam").arg("-help").output().is_ok();
    if !found {
        eprintln!("skipping: OpenFOAM is not installed (apt-get install openfoam)");
    }
    found
}

/// One coarse Ahmed run (25k cells, 40 iterations) into `out`.
fn coarse_generate(out: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_slipstream"));
    cmd.args([
        "generate",
        "ahmed",
        "--count",
        "1",
        "--cells",
        "25000",
        "--iterations",
        "40",
    ])
    .args(["--average", "20", "--seed", "3", "--out"])
    .arg(out);
    cmd
}

#[test]
fn a_coarse_run_lands_in_the_ahmedml_layout_and_its_fields_integrate_to_its_drag() {
    if !have_openfoam() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let status = coarse_generate(out.path()).status().unwrap();
    assert!(status.success());
    let run = out.path().join("run_1");
    for f in [
        "ahmed_1.stl",
        "boundary_1.vtp",
        "volume_1.vtu",
        "force_mom_1.csv",
        "geo_parameters_1.csv",
        "run.json",
    ] {
        assert!(run.join(f).is_file(), "missing {f}");
    }
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    let cd_solver = record["cd"].as_f64().unwrap();
    let speed = record["speed_m_s"].as_f64().unwrap();
    let area_ref = record["ref_area_m2"].as_f64().unwrap();
    assert_eq!(record["pressure_kind"], "kinematic");
    assert!(record["cells"].as_u64().unwrap() > 10_000);

    // Drag from the averaged surface fields, with body-outward normals and OpenFOAM's
    // wallShearStress being −(shear traction on the body) (DESIGN.md).
    let boundary = mesh::read_mesh(&run.join("boundary_1.vtp")).unwrap();
    let mut props = surface_properties(&boundary);
    props.orient_outward();
    let p = boundary
        .field(Location::Cell, "p")
        .unwrap()
        .values
        .iter_f64()
        .collect::<Vec<f64>>();
    let wss = boundary
        .field(Location::Cell, "wallShearStress")
        .unwrap()
        .values
        .iter_f64()
        .collect::<Vec<f64>>();
    let mut fx = 0.0;
    for c in 0..boundary.n_cells() {
        let (a, n) = (props.cell_area_m2[c], props.cell_normal[c]);
        fx += (-p[c] * n[0] - wss[3 * c]) * a;
    }
    let cd_fields = fx / (0.5 * speed * speed * area_ref);
    eprintln!("Cd from forceCoeffs {cd_solver:.5}, from the averaged fields {cd_fields:.5}");
    assert!(
        (cd_fields - cd_solver).abs() <= 0.01 * cd_solver.abs(),
        "{cd_fields} vs {cd_solver}"
    );

    // The run prepares (slipstream layout); drag from the prepared surface (outward normals,
    // traction on the body) equals the solver's.
    let prepared = out.path().join("prepared");
    let broken = out.path().join("run_2");
    std::fs::create_dir_all(&broken).unwrap(); // a run without files: reported, not fatal
    let prep = Command::new(env!("CARGO_BIN_EXE_slipstream"))
        .args([
            "prepare",
            "--layout",
            "slipstream",
            "--volume-points",
            "5000",
            "--geometry-points",
            "2000",
            "--json",
        ])
        .arg("--src")
        .arg(out.path())
        .arg("--out")
        .arg(&prepared)
        .output()
        .unwrap();
    assert_eq!(
        prep.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&prep.stderr)
    );
    let report = String::from_utf8_lossy(&prep.stdout);
    assert!(
        report.contains("\"run\":\"run_2\"") && report.contains("broken"),
        "{report}"
    );
    std::fs::remove_dir_all(&broken).unwrap();
    let h5 = mesh::hdf5::read(&prepared.join("run_1.h5")).unwrap();
    let col = |name: &str| {
        h5.dataset(name)
            .unwrap()
            .values
            .iter_f64()
            .collect::<Vec<f64>>()
    };
    let (p, n, a, t) = (
        col("surface/pressure"),
        col("surface/normal"),
        col("surface/area"),
        col("surface/wall_shear"),
    );
    let fx: f64 = (0..a.len())
        .map(|c| (-p[c] * n[3 * c] + t[3 * c]) * a[c])
        .sum();
    let cd_prepared = fx / (0.5 * speed * speed * area_ref);
    assert!(
        (cd_prepared - cd_solver).abs() <= 0.01 * cd_solver.abs(),
        "{cd_prepared} vs {cd_solver}"
    );
    assert_eq!(h5.dataset("volume/position").unwrap().tuples(), 5000);
    assert_eq!(h5.dataset("geometry/position").unwrap().tuples(), 2000);
    assert_eq!(
        h5.attribute("/", "pressure_kind").and_then(|v| v.as_text()),
        Some("kinematic")
    );

    // Resumable: a second call skips the finished run.
    let again = coarse_generate(out.path()).arg("--json").output().unwrap();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("skipped"));
}
