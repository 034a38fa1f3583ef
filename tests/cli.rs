//! The `slipstream` binary as users and scripts call it.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn slipstream(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slipstream"))
        .args(args)
        .output()
        .expect("run slipstream")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn help_lists_every_subcommand() {
    let out = slipstream(&["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for cmd in [
        "info",
        "convert",
        "bench",
        "predict",
        "train",
        "eval",
        "calibrate",
        "average",
        "prepare",
        "generate",
        "parity",
    ] {
        assert!(help.contains(cmd), "--help lacks {cmd}:\n{help}");
    }
    for cmd in ["predict", "train", "eval", "calibrate"] {
        let out = slipstream(&[cmd, "--help"]);
        assert!(out.status.success(), "{cmd} --help");
        assert!(
            text(&out.stdout).contains("Example"),
            "{cmd} --help teaches by example"
        );
    }
}

#[test]
fn info_json_has_the_stable_shape() {
    let stl = Path::new(env!("CARGO_MANIFEST_DIR")).join("geometry/ahmed_25deg.stl");
    let out = slipstream(&["info", stl.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format"], "stl");
    assert!(v["points"].as_u64().unwrap() > 0);
    let cells = v["cells"].as_u64().unwrap();
    assert_eq!(v["cell_types"]["VTK_TRIANGLE"].as_u64(), Some(cells));
    assert!(v["arrays"].as_array().unwrap().is_empty());
    let b: Vec<f64> = v["bounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    // The bundled Ahmed body: 1.044 m long, 0.389 m wide, 0.288 m high, 0.05 m above the ground.
    let want = [0.0, -0.1945, 0.05, 1.044, 0.1945, 0.338];
    for (g, w) in b.iter().zip(want) {
        assert!((g - w).abs() < 1e-6, "bounds {b:?}");
    }
    let area = v["area_m2"].as_f64().unwrap();
    let volume = v["enclosed_volume_m3"].as_f64().unwrap();
    assert!(area > 1.4 && area < 1.6, "area {area}");
    // Less than the 1.044 x 0.389 x 0.288 box (0.117 m³), by the slant and the rounded nose.
    assert!(volume > 0.105 && volume < 0.117, "volume {volume}");
    // Frontal area: behind the rounded nose the section is the full 0.389 m × 0.288 m.
    let frontal = v["frontal_area_m2"].as_f64().unwrap();
    let error = v["frontal_area_error_m2"].as_f64().unwrap();
    assert!(
        (frontal - 0.112032).abs() <= error,
        "frontal {frontal} ± {error}"
    );
    assert!(
        error < 0.002 * 0.112032,
        "error estimate {error} too coarse"
    );
}

#[test]
fn info_reports_arrays_with_location_components_and_stats() {
    let Some(root) = common::fixtures_dir() else {
        return;
    };
    let f = root.join("synthetic/volume_f32_appended_raw_zlib_bs_u64.vtu");
    let out = slipstream(&["info", f.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let arrays = v["arrays"].as_array().unwrap();
    let u = arrays
        .iter()
        .find(|a| a["name"] == "UMeanTrim" && a["location"] == "cell")
        .expect("cell UMeanTrim");
    assert_eq!(u["components"], 3);
    for key in ["min", "max", "sum"] {
        assert!(u[key].is_number());
    }
    assert!(arrays.iter().any(|a| a["location"] == "field"));
    assert_eq!(v["cell_types"]["VTK_POLYHEDRON"], 40);
    assert!(v.get("area_m2").is_none(), "volumes report no surface area");

    let h5 = root.join("synthetic/surface.h5");
    let out = slipstream(&["info", h5.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format"], "hdf5");
    let ds = v["arrays"].as_array().unwrap();
    assert!(ds.iter().all(|a| a["location"] == "dataset"));
    assert!(ds
        .iter()
        .any(|a| a["name"] == "/surface/position" && a["components"] == 3));
}

#[test]
fn info_exits_2_naming_the_file_on_every_corrupt_fixture() {
    let Some(root) = common::fixtures_dir() else {
        return;
    };
    for e in std::fs::read_dir(root.join("corrupt")).unwrap() {
        let path = e.unwrap().path();
        if path.file_name().unwrap() == "manifest.json" {
            continue;
        }
        let out = slipstream(&["info", path.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}: {}",
            path.display(),
            text(&out.stderr)
        );
        let err = text(&out.stderr);
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(err.contains(name) && !err.contains("panicked"), "{err}");
    }
    let out = slipstream(&["info", "/nonexistent/car.stl"]);
    assert_eq!(out.status.code(), Some(2));
    let out = slipstream(&["info", "Cargo.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown file format"));
}

#[test]
fn convert_round_trips_and_never_overwrites_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let stl = Path::new(env!("CARGO_MANIFEST_DIR")).join("geometry/ahmed_25deg.stl");
    let vtp = dir.path().join("ahmed.vtp");
    let out = slipstream(&[
        "convert",
        stl.to_str().unwrap(),
        vtp.to_str().unwrap(),
        "--compress",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let a = slipstream(&["info", stl.to_str().unwrap(), "--json"]);
    let b = slipstream(&["info", vtp.to_str().unwrap(), "--json"]);
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_slice(&a.stdout).unwrap(),
        serde_json::from_slice(&b.stdout).unwrap(),
    );
    for key in [
        "points",
        "cells",
        "cell_types",
        "bounds",
        "area_m2",
        "enclosed_volume_m3",
    ] {
        assert_eq!(a[key], b[key], "{key}");
    }
    // Same file in and out: refused, file untouched.
    let before = std::fs::read(&vtp).unwrap();
    let out = slipstream(&["convert", vtp.to_str().unwrap(), vtp.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(&vtp).unwrap(), before);
    // A volume cannot become a .vtp: clear error, and no file appears.
    let vol = dir.path().join("vol.vtu");
    let cube = dir.path().join("cube.vtp");
    let mut mesh = slipstream::mesh::Mesh {
        points: vec![
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0],
        ],
        ..Default::default()
    };
    mesh.cells
        .push(slipstream::mesh::CellType::TETRA, &[0, 1, 2, 3]);
    slipstream::mesh::write_mesh(&vol, &mesh).unwrap();
    let out = slipstream(&["convert", vol.to_str().unwrap(), cube.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(".vtu"));
    assert!(!cube.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[test]
fn parity_passes_on_the_reference_fixtures_and_fails_when_too_strict() {
    let Some(fixtures) = common::fixtures_dir() else {
        return;
    };
    let dir = fixtures.join("abupt_parity");
    let out = slipstream(&["parity", dir.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cases = v.as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for case in cases {
        assert_eq!(case["passed"], true);
        assert_eq!(case["parameters"], case["parameters_reference"]);
        assert!(case["outputs"].as_array().unwrap().len() == 15);
    }
    let full = cases.iter().find(|c| c["case"] == "full").unwrap();
    assert_eq!(full["parameters"], 8_751_179);
    // f32 rounding differences exist, so an impossible tolerance fails with exit status 1.
    let out = slipstream(&["parity", dir.to_str().unwrap(), "--tolerance", "1e-12"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("parity failed"));
}

#[test]
fn model_commands_reject_bad_folders_devices_and_precisions() {
    let empty = tempfile::tempdir().unwrap();
    let out = slipstream(&["parity", empty.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no parity case"),
        "{}",
        text(&out.stderr)
    );
    let out = slipstream(&["bench", "model", "--preset", "tiny", "--device", "tpu"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cpu, cuda, cuda:N or wgpu"));
    let out = slipstream(&["bench", "model", "--preset", "tiny", "--precision", "f8"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("use f32, tf32, bf16 or f16"));
    let out = slipstream(&["bench", "model", "--preset", "huge"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown preset"));
    if !cfg!(feature = "cuda") {
        let out = slipstream(&["bench", "model", "--preset", "tiny", "--device", "cuda"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            text(&out.stderr).contains("--features cuda"),
            "{}",
            text(&out.stderr)
        );
    }
    if !cfg!(feature = "wgpu") {
        let out = slipstream(&["bench", "model", "--preset", "tiny", "--device", "wgpu"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            text(&out.stderr).contains("--features wgpu"),
            "{}",
            text(&out.stderr)
        );
    }
}

#[test]
fn bench_model_prints_the_stable_json_shape() {
    let out = slipstream(&[
        "bench",
        "model",
        "--preset",
        "tiny",
        "--anchors",
        "64",
        "--queries",
        "32",
        "--repeats",
        "1",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "preset",
        "params",
        "anchors",
        "queries",
        "infer_s",
        "train_step_s",
        "query_points_per_s",
        "peak_rss_mb",
        "backend",
    ] {
        assert!(v.get(key).is_some(), "bench model --json lacks {key}: {v}");
    }
    assert_eq!(v["params"], 330_395);
    let step = v["train_step_s"].as_f64().unwrap();
    assert!(step > 0.0);
    let parts = &v["train_parts"];
    let phases: Vec<f64> = ["forward_s", "backward_s", "optimizer_s"]
        .iter()
        .map(|k| parts[*k].as_f64().unwrap_or(-1.0))
        .collect();
    assert!(phases.iter().all(|&p| p > 0.0 && p <= step), "{parts}");
}

#[test]
fn generate_without_openfoam_says_how_to_install_it() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_slipstream"))
        .args(["generate", "ahmed", "--count", "2", "--out"])
        .arg(out_dir.path())
        .env("PATH", "")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("apt-get install openfoam"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn prepare_rejects_unknown_layouts_and_missing_folders() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = slipstream(&["prepare", "--layout", "windtunnel", "--src", d, "--out", d]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown layout") && text(&out.stderr).contains("drivaerml"),
        "{}",
        text(&out.stderr)
    );
    let out = slipstream(&["prepare", "--layout", "slipstream", "--src", d, "--out", d]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no run_<i> folders"),
        "{}",
        text(&out.stderr)
    );
}

/// `slipstream predict car.stl` from a folder that is not the repository: the shipped checkpoint
/// is found anyway (beside the binary's build tree), and the outputs land in that folder.
#[test]
fn predict_works_from_any_folder_with_the_shipped_checkpoint() {
    let elsewhere = tempfile::tempdir().unwrap();
    let stl = Path::new(env!("CARGO_MANIFEST_DIR")).join("geometry/ahmed_25deg.stl");
    let out = Command::new(env!("CARGO_BIN_EXE_slipstream"))
        .arg("predict")
        .arg(&stl)
        .args([
            "--surface-points",
            "2000",
            "--volume-points",
            "0",
            "--no-picture",
            "--json",
        ])
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cd = v["cd"].as_f64().unwrap();
    assert!((0.1..0.6).contains(&cd), "Cd {cd}");
    assert!(elsewhere.path().join("prediction/summary.json").is_file());
}

/// A reader that goes away (`slipstream info x --json | head -c 10`) ends the command quietly with
/// status 0: no panic, no error message.
#[test]
fn output_to_a_closed_pipe_ends_quietly() {
    let run = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/ahmed/run_1.h5");
    for _ in 0..3 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_slipstream"))
            .arg("info")
            .arg(&run)
            .arg("--json")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end before the command has written (it reads a file first).
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    }
}

/// Exit statuses: a result that cannot be written is our failure (1, the path named), a bad
/// input the user's (2).
#[test]
fn a_failed_write_exits_1_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::write_synthetic_prepared(&data, 5);
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a folder").unwrap();
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ci_train.toml");
    let out_dir = file.join("run");
    let out = slipstream(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(out_dir.to_str().unwrap()), "{err}");
    let missing = dir.path().join("no-such-dataset");
    let out = slipstream(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--data",
        missing.to_str().unwrap(),
        "--out",
        dir.path().join("run").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}
