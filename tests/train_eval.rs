//! Training and evaluation on a small synthetic prepared dataset: an interrupted and resumed run
//! ends with exactly the weights of an uninterrupted one, checkpoints refuse to be overwritten,
//! and `eval` scores a checkpoint against both baselines.

mod common;

use std::path::Path;
use std::process::Command;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{backend::Backend, Tensor};
use slipstream::model::device::Job;
use slipstream::model::Cpu;
use slipstream::train::{checkpoint, TrainConfig, TrainJob};

const CONFIG: &str = r#"
[model]
preset = "tiny"
dim = 24
num_surface_blocks = 1
num_volume_blocks = 1
[data]
surface_anchors = 64
volume_anchors = 64
geometry_points = 200
supernodes = 32
[optimizer]
kind = "lion"
lr = 1e-4
[schedule]
steps = 6
log_every = 1
val_every = 3
checkpoint_every = 2
"#;

/// Every float parameter's values, in visiting order.
struct Collect(Vec<f32>);

impl<B: Backend> ModuleVisitor<B> for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.0.extend(
            param
                .val()
                .into_data()
                .convert::<f32>()
                .into_vec::<f32>()
                .unwrap(),
        );
    }
}

fn weights(run: &Path) -> Vec<f32> {
    let (model, _) = checkpoint::load_model::<Cpu>(run, &Default::default()).unwrap();
    let mut c = Collect(Vec::new());
    model.visit(&mut c);
    c.0
}

fn job(data: &Path, out: &Path, resume: bool, stop_after: Option<u64>, config: &str) -> TrainJob {
    TrainJob {
        config: TrainConfig::from_toml(config).unwrap(),
        data: data.to_path_buf(),
        out: out.to_path_buf(),
        resume,
        stop_after,
        progress: false,
    }
}

#[test]
fn a_killed_and_resumed_run_ends_with_the_uninterrupted_weights() {
    resume_matches(CONFIG);
    resume_matches(&CONFIG.replace("kind = \"lion\"", "kind = \"adamw\""));
}

fn resume_matches(config: &str) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::write_synthetic_prepared(&data, 5);
    let device = Default::default();

    let whole = dir.path().join("whole");
    let report = job(&data, &whole, false, None, config)
        .run::<Cpu>(&device, "cpu")
        .unwrap();
    assert_eq!(report.steps_done, 6);
    assert!(whole.join("loss.png").is_file());
    let log = std::fs::read_to_string(whole.join("log.jsonl")).unwrap();
    assert_eq!(log.lines().filter(|l| l.contains("\"train\"")).count(), 6);
    assert_eq!(log.lines().filter(|l| l.contains("\"val\"")).count(), 2);

    // Interrupted after 3 steps (its last checkpoint is at step 2), then resumed.
    let parts = dir.path().join("parts");
    let first = job(&data, &parts, false, Some(3), config)
        .run::<Cpu>(&device, "cpu")
        .unwrap();
    assert_eq!(first.steps_done, 3);
    // A save at step 3 (the end of the invocation) is the checkpoint to resume from.
    assert_eq!(checkpoint::read_meta(&parts).unwrap().step, 3);
    let second = job(&data, &parts, true, None, config)
        .run::<Cpu>(&device, "cpu")
        .unwrap();
    assert_eq!(second.steps_done, 6);

    let (a, b) = (weights(&whole), weights(&parts));
    assert_eq!(a.len(), b.len());
    assert!(
        a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
        "weights differ after resume"
    );
    // Training changed the weights at all (the comparison above is not of two untouched inits).
    let fresh = dir.path().join("fresh");
    job(&data, &fresh, false, Some(1), config)
        .run::<Cpu>(&device, "cpu")
        .unwrap();
    assert_ne!(weights(&fresh), a);
    // The resumed log holds each step once.
    let log = std::fs::read_to_string(parts.join("log.jsonl")).unwrap();
    assert_eq!(log.lines().filter(|l| l.contains("\"train\"")).count(), 6);

    // A new run never overwrites an existing one; resuming with another configuration is refused.
    let again = job(&data, &whole, false, None, config).run::<Cpu>(&device, "cpu");
    assert!(again.unwrap_err().to_string().contains("--resume"));
    let other = config.replace("lr = 1e-4", "lr = 2e-4");
    assert!(job(&data, &parts, true, None, &other)
        .run::<Cpu>(&device, "cpu")
        .is_err());
}

#[test]
fn eval_scores_a_checkpoint_and_both_baselines() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::write_synthetic_prepared(&data, 5);
    let run = dir.path().join("run");
    std::fs::write(dir.path().join("train.toml"), CONFIG).unwrap();
    let bin = env!("CARGO_BIN_EXE_slipstream");
    let train = Command::new(bin)
        .args(["train", "--config"])
        .arg(dir.path().join("train.toml"))
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(&run)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        train.status.success(),
        "{}",
        String::from_utf8_lossy(&train.stderr)
    );
    let report = dir.path().join("report");
    let out = Command::new(bin)
        .args(["eval", "--checkpoint"])
        .arg(&run)
        .args(["--split", "test", "--json", "--out"])
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["runs"], 1);
    for field in [
        "surface_pressure",
        "surface_wall_shear",
        "volume_velocity",
        "volume_pressure",
        "volume_vorticity",
    ] {
        for method in [
            &v,
            &v["baselines"]["mean_field"],
            &v["baselines"]["nearest_geometry"],
        ] {
            let r = method["fields"][field]["rel_l2"].as_f64().unwrap();
            assert!(r.is_finite() && r >= 0.0, "{field}: {r}");
        }
    }
    assert!(v["fields"]["surface_pressure"]["rel_l2_area_weighted"].is_number());
    assert!(v["coefficients"]["cd"]["mae"].is_number());
    // The synthetic runs differ only in scale: the nearest training geometry is a neighbour in k,
    // so its pressure is closer than the mean field's.
    let near = v["baselines"]["nearest_geometry"]["fields"]["surface_pressure"]["rel_l2"]
        .as_f64()
        .unwrap();
    let mean = v["baselines"]["mean_field"]["fields"]["surface_pressure"]["rel_l2"]
        .as_f64()
        .unwrap();
    assert!(near < mean, "nearest {near} vs mean {mean}");
    assert!(report.join("report.md").is_file() && report.join("report.json").is_file());

    // Bad inputs: a missing checkpoint and an unknown split exit with status 2 and say why.
    let missing = Command::new(bin)
        .args(["eval", "--checkpoint"])
        .arg(dir.path().join("nowhere"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no checkpoint"));
    let split = Command::new(bin)
        .args(["eval", "--checkpoint"])
        .arg(&run)
        .args(["--split", "holdout"])
        .output()
        .unwrap();
    assert_eq!(split.status.code(), Some(2));
}

#[test]
fn dataset_info_summarises_runs_and_names_broken_ones() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::write_synthetic_prepared(&data, 5);
    let bin = env!("CARGO_BIN_EXE_slipstream");
    let out = Command::new(bin)
        .args(["dataset", "info", "--json"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["runs"], 5);
    assert_eq!(
        (v["train"].as_u64(), v["val"].as_u64(), v["test"].as_u64()),
        (Some(3), Some(1), Some(1))
    );
    // The synthetic runs' cd are 0.30 … 0.34.
    assert!((v["cd"]["min"].as_f64().unwrap() - 0.30).abs() < 1e-9);
    assert!((v["cd"]["max"].as_f64().unwrap() - 0.34).abs() < 1e-9);
    assert_eq!(v["surface_points"]["mean"], 360.0);

    // Cut one run short: it is reported with its file and reason, exit status 1.
    let victim = data.join("run_2.h5");
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() / 2]).unwrap();
    let out = Command::new(bin)
        .args(["dataset", "info"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("broken runs: 1") && text.contains("run_2"),
        "{text}"
    );
}
