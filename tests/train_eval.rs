//! Training and evaluation on a small synthetic prepared dataset: an interrupted and resumed run
//! ends with exactly the weights of an uninterrupted one, checkpoints refuse to be overwritten,
//! and `eval` scores a checkpoint against both baselines.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{backend::Backend, Tensor};
use slipstream::model::device::Job;
use slipstream::model::Cpu;
use slipstream::train::{checkpoint, Residence, TrainConfig, TrainJob};

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

/// A command's exit status is success; its stderr says why not.
fn assert_succeeded(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
        residence: Residence::Memory,
        init_from: None,
        progress: slipstream::progress::Progress::silent(),
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
    // The second half reads its batches from disk, row by row, instead of from memory: the
    // weights must still come out bit for bit the same.
    let second = TrainJob {
        residence: Residence::Disk,
        ..job(&data, &parts, true, None, config)
    }
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

    // A new run may start from a checkpoint's weights: with a learning rate far below one ulp of
    // any weight, one step leaves them exactly the source's; its statistics are carried over and
    // the source recorded. Another architecture is refused.
    let tuned = dir.path().join("tuned");
    let frozen = config.replace("lr = 1e-4", "lr = 1e-30");
    TrainJob {
        init_from: Some(whole.clone()),
        ..job(&data, &tuned, false, Some(1), &frozen)
    }
    .run::<Cpu>(&device, "cpu")
    .unwrap();
    assert_eq!(
        weights(&tuned),
        a,
        "--init-from did not start from the source's weights"
    );
    let (source_meta, tuned_meta) = (
        checkpoint::read_meta(&whole).unwrap(),
        checkpoint::read_meta(&tuned).unwrap(),
    );
    assert_eq!(tuned_meta.stats, source_meta.stats);
    assert_eq!(tuned_meta.model, source_meta.model);
    assert_eq!(
        tuned_meta.init_from.as_deref(),
        Some(whole.display().to_string().as_str())
    );
    let wider = config.replace("dim = 24", "dim = 36");
    let refused = TrainJob {
        init_from: Some(whole.clone()),
        ..job(&data, &dir.path().join("wider"), false, Some(1), &wider)
    }
    .run::<Cpu>(&device, "cpu");
    assert!(refused.unwrap_err().to_string().contains("architecture"));

    // A new run never overwrites an existing one; resuming with another configuration is refused.
    let again = job(&data, &whole, false, None, config).run::<Cpu>(&device, "cpu");
    assert!(again.unwrap_err().to_string().contains("--resume"));
    let other = config.replace("lr = 1e-4", "lr = 2e-4");
    assert!(job(&data, &parts, true, None, &other)
        .run::<Cpu>(&device, "cpu")
        .is_err());
}

/// A batch drawn from runs left on disk (only the sampled rows read) equals the batch drawn from
/// the same runs in memory, step by step.
#[test]
fn batches_from_disk_equal_batches_from_memory() {
    use slipstream::data::batch::{RunFile, RunStore};
    use slipstream::data::{BatchSpec, Normalizer, PreparedDataset, Split};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::write_synthetic_prepared(&data, 4);
    let dataset = PreparedDataset::open(&data).unwrap();
    let memory = RunStore::Memory(dataset.load(Split::Train).unwrap());
    let disk = RunStore::Disk(
        dataset
            .runs(Split::Train)
            .iter()
            .map(|r| RunFile::open(r, &dataset.run_path(r)).unwrap())
            .collect(),
    );
    let normalizer = Normalizer::new(&dataset.stats);
    let spec = BatchSpec {
        surface_anchors: 64,
        volume_anchors: 96,
        geometry_points: 128,
        supernodes: 16,
    };
    for step in 0..8 {
        let a = memory.batch(&normalizer, &spec, 7, step).unwrap();
        let b = disk.batch(&normalizer, &spec, 7, step).unwrap();
        assert_eq!(a, b, "step {step}");
        assert_eq!(b.volume_m.len(), 96);
    }
    // A run file that vanished is an error naming it, not a panic.
    let RunStore::Disk(files) = &disk else {
        unreachable!()
    };
    std::fs::remove_file(&files[0].path).unwrap();
    let gone = RunStore::Disk(vec![files[0].clone()]);
    let err = gone
        .batch(&normalizer, &spec, 7, 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains(&files[0].name), "{err}");
}

/// The drag and lift weights of a batch turn standardised surface values into the anchors'
/// force coefficients: with many anchors, the weighted sum of the true values (plus the means'
/// share) estimates the coefficients integrated over the whole prepared surface.
#[test]
fn batch_coefficient_weights_estimate_the_surface_integral() {
    use slipstream::data::{batch_for_run, BatchSpec, Normalizer, PreparedDataset, Split};
    use slipstream::physics::{coefficients, integrate};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::write_synthetic_prepared(&data, 3);
    let dataset = PreparedDataset::open(&data).unwrap();
    let run = &dataset.load(Split::Train).unwrap()[0];
    let normalizer = Normalizer::new(&dataset.stats);
    let spec = BatchSpec {
        surface_anchors: 200_000,
        volume_anchors: 8,
        geometry_points: 64,
        supernodes: 8,
    };
    let batch = batch_for_run(
        run,
        &normalizer,
        &spec,
        &mut slipstream::rng::Rng::seed_from(3),
        0,
    );
    let c = coefficients(
        &integrate(
            &run.loads(),
            run.meta.pressure_kind,
            &run.meta.reference,
            [0.0; 3],
        )
        .unwrap(),
        &run.meta.reference,
        run.meta.axes,
    );
    // The means' share: the weights act on standardised values y = (x − μ)/σ, so x = σ y + μ and
    // the force of μ is Σ a·(μ/σ).
    let mean = normalizer.mean_surface();
    let std = normalizer.surface_std();
    let estimate = |w: &[f32]| -> f64 {
        w.chunks_exact(4)
            .zip(batch.surface_targets.chunks_exact(4))
            .map(|(a, y)| {
                (0..4)
                    .map(|k| a[k] as f64 * (y[k] as f64 + mean[k] as f64 / std[k] as f64))
                    .sum::<f64>()
            })
            .sum()
    };
    let (cd, cl) = (estimate(&batch.drag_weights), estimate(&batch.lift_weights));
    eprintln!(
        "anchors' Cd {cd:.5} vs surface {:.5}; Cl {cl:.5} vs {:.5}",
        c.cd, c.cl
    );
    assert!(c.cd.abs() > 1e-3 && c.cl.abs() > 1e-3, "{c:?}");
    assert!(
        (cd - c.cd).abs() < 0.02 * c.cd.abs() + 1e-3,
        "drag {cd} vs {}",
        c.cd
    );
    assert!(
        (cl - c.cl).abs() < 0.02 * c.cl.abs() + 1e-3,
        "lift {cl} vs {}",
        c.cl
    );
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
    assert_succeeded(&train);
    let report = dir.path().join("report");
    let out = Command::new(bin)
        .args(["eval", "--checkpoint"])
        .arg(&run)
        .args(["--split", "test", "--json", "--out"])
        .arg(&report)
        .output()
        .unwrap();
    assert_succeeded(&out);
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
    // The synthetic family's Cd and Cl are exact linear functions of its length scale: the
    // parametric baseline (ridge on the design parameters, fitted on the training runs) recovers
    // the test run's Cd.
    let parametric = &v["baselines"]["parametric"]["coefficients"];
    assert!(
        parametric["cd"]["mae"].as_f64().unwrap() < 1e-5,
        "{parametric}"
    );
    assert!(parametric["cl"]["mae"].as_f64().unwrap() < 1e-5);
    let note = v["baseline_notes"]["parametric"].as_str().unwrap();
    assert!(note.contains("length_scale, width_m"), "{note}");
    assert!(report.join("report.md").is_file() && report.join("report.json").is_file());
    // Each run's drag splits into pressure and friction parts that add up to it.
    let run0 = &v["per_run"][0];
    let part = |k: &str| run0[k].as_f64().unwrap();
    for (whole, p, f) in [
        ("cd_pred", "cd_pressure_pred", "cd_friction_pred"),
        (
            "cd_from_true_fields",
            "cd_pressure_true",
            "cd_friction_true",
        ),
    ] {
        assert!(
            (part(p) + part(f) - part(whole)).abs() <= 1e-9 * part(whole).abs().max(1.0),
            "{p} + {f} != {whole}"
        );
        assert!(part(f) != 0.0, "{f} is zero");
    }

    // Averaged anchor draws give other (finite) numbers; --fields-out writes truth, prediction
    // and error per run, and the written error is prediction − truth.
    let fields = dir.path().join("fields");
    let out = Command::new(bin)
        .args(["eval", "--checkpoint"])
        .arg(&run)
        .args(["--json", "--draws", "3", "--anchors", "48", "--fields-out"])
        .arg(&fields)
        .output()
        .unwrap();
    assert_succeeded(&out);
    let averaged: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = |v: &serde_json::Value| v["fields"]["surface_pressure"]["rel_l2"].as_f64().unwrap();
    assert!(r(&averaged).is_finite() && r(&averaged) != r(&v));
    let test_run = averaged["per_run"][0]["run"].as_str().unwrap().to_string();
    let surface =
        slipstream::mesh::read_mesh(&fields.join(format!("{test_run}_surface.vtp"))).unwrap();
    let get = |name: &str| {
        surface
            .field(slipstream::mesh::Location::Point, name)
            .unwrap_or_else(|| panic!("no {name}"))
            .values
            .to_f32()
            .into_owned()
    };
    let (truth, pred, error) = (get("pressure"), get("pressure_pred"), get("pressure_error"));
    assert!(truth
        .iter()
        .zip(&pred)
        .zip(&error)
        .all(|((t, p), e)| (p - t - e).abs() <= 1e-5 * t.abs().max(1.0)));
    assert!(fields.join(format!("{test_run}_volume.vtu")).is_file());

    // Several draws give σ: raw spreads until the checkpoint is calibrated, which `calibrate`
    // does on the validation split (training already stored the shape domain).
    let u = &averaged["uncertainty"];
    assert_eq!(u["calibrated"], false, "{u}");
    assert!(averaged["per_run"][0]["cd_std"].as_f64().unwrap() >= 0.0);
    let meta = checkpoint::read_meta(&run).unwrap();
    assert!(meta.domain.shape.is_some() && meta.uncertainty.is_none());
    let calibrate = |draws: &str| {
        Command::new(bin)
            .args(["calibrate", "--checkpoint"])
            .arg(&run)
            .args(["--draws", draws, "--json"])
            .output()
            .unwrap()
    };
    let before = weights(&run);
    let refused = calibrate("1");
    assert_eq!(refused.status.code(), Some(2));
    let out = calibrate("3");
    assert_succeeded(&out);
    let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(c["validation_runs"], 1);
    assert!(c["uncertainty"]["cd"].as_f64().unwrap() > 0.0, "{c}");
    assert!(c["domain_threshold"].as_f64().unwrap() > 0.0, "{c}");
    let meta = checkpoint::read_meta(&run).unwrap();
    assert_eq!(meta.uncertainty.as_ref().unwrap().draws, 3);
    assert_eq!(
        weights(&run),
        before,
        "calibration leaves the weights as they were"
    );
    let out = Command::new(bin)
        .args(["eval", "--checkpoint"])
        .arg(&run)
        .args(["--json", "--draws", "3", "--out"])
        .arg(&report)
        .output()
        .unwrap();
    assert_succeeded(&out);
    let calibrated: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let u = &calibrated["uncertainty"];
    assert_eq!(u["calibrated"], true, "{u}");
    assert!(u["fields"]["surface_pressure"]["sparsification"]
        .as_array()
        .is_some_and(|a| a.len() == 10));
    assert!(report.join("calibration.png").is_file());

    // A dataset without force tables still scores its fields; Cd and Cl are left out, and say so.
    let bare = dir.path().join("no-forces");
    common::write_synthetic_prepared_with(&bare, 5, false);
    let out = Command::new(bin)
        .args(["eval", "--checkpoint"])
        .arg(&run)
        .arg("--data")
        .arg(&bare)
        .output()
        .unwrap();
    assert_succeeded(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("surface_pressure") && text.contains("not scored"),
        "{text}"
    );

    // Someone else's runs, in a folder without splits.json or stats.json: --split all scores
    // every run, --runs the named ones; the baselines still come from the checkpoint's own
    // training data (recorded in it), and say so.
    let others = dir.path().join("others");
    std::fs::create_dir_all(&others).unwrap();
    for name in ["run_2", "run_4"] {
        std::fs::copy(
            data.join(format!("{name}.h5")),
            others.join(format!("{name}.h5")),
        )
        .unwrap();
    }
    let eval_others = |selection: &[&str]| {
        Command::new(bin)
            .args(["eval", "--checkpoint"])
            .arg(&run)
            .arg("--data")
            .arg(&others)
            .args(selection)
            .output()
            .unwrap()
    };
    let out = eval_others(&["--split", "all", "--json"]);
    assert_succeeded(&out);
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(all["runs"], 2);
    assert_eq!(all["split"], "all");
    let names: Vec<&str> = all["per_run"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["run_2", "run_4"]);
    assert_eq!(all["baseline_data"], data.display().to_string());
    assert!(all["baselines"]["nearest_geometry"]["coefficients"]["cd"]["mae"].is_number());
    let text = eval_others(&["--split", "all"]);
    assert_succeeded(&text);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("all runs") && text.contains("| run_2 |") && text.contains("| run_4 |"),
        "{text}"
    );
    let one = eval_others(&["--runs", "4", "--json"]);
    assert_succeeded(&one);
    let one: serde_json::Value = serde_json::from_slice(&one.stdout).unwrap();
    assert_eq!(one["per_run"][0]["run"], "run_4");
    assert_eq!(one["runs"], 1);
    let missing_run = eval_others(&["--runs", "run_9"]);
    assert_eq!(missing_run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing_run.stderr).contains("run_9.h5"));
    // Without the training data the baselines cannot be built: a clear error, and the way out.
    let gone = Command::new(bin)
        .args(["eval", "--checkpoint"])
        .arg(&run)
        .arg("--data")
        .arg(&others)
        .args(["--split", "all", "--baseline-data"])
        .arg(dir.path().join("gone"))
        .output()
        .unwrap();
    assert_ne!(gone.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("gone"));

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
    assert_succeeded(&out);
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

#[test]
fn predict_writes_every_output_and_refuses_unusable_geometry() {
    use slipstream::mesh;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::write_synthetic_prepared(&data, 5);
    let run = dir.path().join("run");
    job(&data, &run, false, None, CONFIG)
        .run::<Cpu>(&Default::default(), "cpu")
        .unwrap();
    let stl = Path::new(env!("CARGO_MANIFEST_DIR")).join("geometry/ahmed_25deg.stl");
    let bin = env!("CARGO_BIN_EXE_slipstream");
    let predict_with = |geometry: &Path, out: &Path, extra: &[&str]| {
        Command::new(bin)
            .arg("predict")
            .arg(geometry)
            .arg("--checkpoint")
            .arg(&run)
            .arg("--out")
            .arg(out)
            .args(["--surface-points", "3000", "--json"])
            // The synthetic training bodies are boxes: the Ahmed body may lie outside their
            // domain, which is not what this test is about (tests/domain_guard.rs is).
            .arg("--allow-extrapolation")
            .args(extra)
            .output()
            .unwrap()
    };
    let predict =
        |geometry: &Path, out: &Path| predict_with(geometry, out, &["--volume-points", "2000"]);
    let out_dir = dir.path().join("prediction");
    let out = predict(&stl, &out_dir);
    assert_succeeded(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["cd", "cl", "cs"] {
        assert!(v[key].as_f64().unwrap().is_finite(), "{key}");
    }
    assert_eq!(v["force_n"].as_array().unwrap().len(), 3);
    assert_eq!(v["reference"]["speed_m_s"], 40.0);
    // The 25° Ahmed body's frontal area: 0.389 m × 0.288 m less the rounded front corners.
    let area = v["reference"]["area_m2"].as_f64().unwrap();
    assert!((0.105..0.113).contains(&area), "frontal area {area}");
    for key in ["load", "sample", "encode", "decode", "export", "total"] {
        assert!(v["timings_s"][key].as_f64().unwrap() >= 0.0);
    }
    for name in [
        "surface.vtp",
        "volume.vtu",
        "summary.json",
        "surface_cp.png",
    ] {
        assert!(out_dir.join(name).is_file(), "{name}");
    }
    // Forces in the summary are those of the fields written: Σ(−p n + τ)·A over surface.vtp.
    let surface = mesh::read_mesh(&out_dir.join("surface.vtp")).unwrap();
    let soup = slipstream::geometry::TriangleSoup::from_mesh(&surface);
    let cell = |name: &str| {
        surface
            .field(mesh::Location::Cell, name)
            .unwrap()
            .values
            .iter_f64()
            .collect::<Vec<f64>>()
    };
    let (p, tau, n) = (cell("pressure_pa"), cell("wall_shear_pa"), cell("normal"));
    let mut fx = 0.0;
    for (k, t) in soup.triangles.iter().enumerate() {
        let a = slipstream::geometry::triangles::triangle_area(t);
        let c = soup.source_cell[k] as usize;
        fx += (-p[c] * n[3 * c] + tau[3 * c]) * a;
    }
    let fx_reported = v["force_n"][0].as_f64().unwrap();
    assert!(
        (fx - fx_reported).abs() <= 1e-3 * fx_reported.abs().max(1e-3),
        "{fx} vs {fx_reported}"
    );
    // --draws 2 averages a second anchor draw into the same query points.
    let out = predict_with(
        &stl,
        &dir.path().join("two-draws"),
        &["--volume-points", "0", "--draws", "2", "--no-picture"],
    );
    assert_succeeded(&out);
    let two: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(two["draws"], 2);
    assert_eq!(v["draws"], 1);
    let (cd1, cd2) = (v["cd"].as_f64().unwrap(), two["cd"].as_f64().unwrap());
    assert!(cd2.is_finite() && cd2 != cd1, "{cd1} vs {cd2}");
    let volume = mesh::read_mesh(&out_dir.join("volume.vtu")).unwrap();
    assert_eq!(volume.n_points(), 2000);
    assert!(volume
        .field(mesh::Location::Point, "velocity_m_s")
        .is_some());

    // Two separate bodies in one file, the second (a box beside the Ahmed body) wound inward:
    // each body is oriented by itself, so the prediction equals that of the same file with both
    // wound outward, and says what it flipped.
    let body = mesh::read_mesh(&stl).unwrap();
    let with_box = |inward: bool| {
        let mut m = body.clone();
        let (lo, hi) = ([0.2f32, 0.5, 0.05], [0.8f32, 0.8, 0.3]);
        let first = m.points.len() as u32;
        for i in 0..8 {
            m.points.push(std::array::from_fn(|k| {
                if (i >> k) & 1 == 1 {
                    hi[k]
                } else {
                    lo[k]
                }
            }));
        }
        for q in [
            [0, 2, 3, 1],
            [4, 5, 7, 6],
            [0, 1, 5, 4],
            [2, 6, 7, 3],
            [0, 4, 6, 2],
            [1, 3, 7, 5],
        ] {
            for mut t in [[q[0], q[1], q[2]], [q[0], q[2], q[3]]] {
                if inward {
                    t.swap(1, 2);
                }
                m.cells
                    .push(mesh::CellType::TRIANGLE, &t.map(|c| first + c));
            }
        }
        m
    };
    let cd_of = |inward: bool| {
        let path = dir.path().join(format!("two-bodies-{inward}.stl"));
        mesh::write_mesh(&path, &with_box(inward)).unwrap();
        let out = predict_with(
            &path,
            &dir.path().join(format!("two-bodies-{inward}")),
            &["--volume-points", "0", "--no-picture"],
        );
        assert_succeeded(&out);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (v["cd"].as_f64().unwrap(), v["warnings"].to_string())
    };
    let ((cd_outward, warned_outward), (cd_inward, warned_inward)) = (cd_of(false), cd_of(true));
    assert_eq!(cd_outward, cd_inward);
    assert!(!warned_outward.contains("flipped"), "{warned_outward}");
    assert!(
        warned_inward.contains("1 of the 2 bodies"),
        "{warned_inward}"
    );

    // The same body in millimetres, an open surface and an empty file: refused with status 2,
    // the reason named, nothing written.
    let mut mm = body.clone();
    for p in &mut mm.points {
        *p = p.map(|c| c * 1000.0);
    }
    let mm_path = dir.path().join("mm.stl");
    mesh::write_mesh(&mm_path, &mm).unwrap();
    let mut open = body.clone();
    let keep = open.n_cells() / 2;
    open.cells.types.truncate(keep);
    open.cells.offsets.truncate(keep + 1);
    open.cells
        .connectivity
        .truncate(*open.cells.offsets.last().unwrap() as usize);
    let open_path = dir.path().join("open.stl");
    mesh::write_mesh(&open_path, &open).unwrap();
    let empty_path = dir.path().join("empty.stl");
    std::fs::write(&empty_path, b"").unwrap();
    for (path, why) in [
        (&mm_path, "millimetres"),
        (&open_path, "not a closed surface"),
        (&empty_path, "empty.stl"),
    ] {
        let target = dir.path().join("refused");
        let out = predict(path, &target);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{why}: {err}");
        assert!(err.contains(why), "{why}: {err}");
        assert!(!target.join("surface.vtp").exists() && !target.join("summary.json").exists());
    }
}

/// A dataset without wall shear or volume pressure (as ShapeNet-Car): the absent fields are
/// held as zeros but masked: they weigh nothing in the batch's drag, add nothing to the loss,
/// get neutral statistics, and are not scored; the fields that exist train and score as usual.
#[test]
fn absent_fields_are_masked_in_training_and_evaluation() {
    use slipstream::data::{batch_for_run, BatchSpec, Normalizer, PreparedDataset, Split};
    use slipstream::mesh;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let absent = ["surface/wall_shear", "volume/pressure"];
    common::write_synthetic_prepared_lacking(&data, 5, true, &absent);
    let dataset = PreparedDataset::open(&data).unwrap();
    assert_eq!(dataset.stats.surface_wall_shear.count, 0);
    assert_eq!(dataset.stats.surface_wall_shear.std, vec![1.0; 3]);
    assert!(dataset.stats.surface_pressure.count > 0);
    let run = &dataset.load(Split::Train).unwrap()[0];
    assert_eq!(run.meta.absent, absent);
    assert!(run.surface_wall_shear.iter().all(|v| *v == 0.0));
    assert_eq!(run.volume_pressure.len(), run.volume_len());
    let normalizer = Normalizer::new(&dataset.stats);
    let spec = BatchSpec {
        surface_anchors: 64,
        volume_anchors: 64,
        geometry_points: 128,
        supernodes: 16,
    };
    let batch = batch_for_run(
        run,
        &normalizer,
        &spec,
        &mut slipstream::rng::Rng::seed_from(1),
        0,
    );
    assert_eq!(batch.present, [true, false, false, true, true]);
    for w in [&batch.drag_weights, &batch.lift_weights] {
        assert!(w.chunks_exact(4).all(|a| a[1..].iter().all(|v| *v == 0.0)));
        assert!(w.chunks_exact(4).any(|a| a[0] != 0.0));
    }

    std::fs::write(dir.path().join("train.toml"), CONFIG).unwrap();
    let run_dir = dir.path().join("run");
    let bin = env!("CARGO_BIN_EXE_slipstream");
    let train = Command::new(bin)
        .args(["train", "--config"])
        .arg(dir.path().join("train.toml"))
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(&run_dir)
        .output()
        .unwrap();
    assert_succeeded(&train);
    let log = std::fs::read_to_string(run_dir.join("log.jsonl")).unwrap();
    let train_lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v["kind"] == "train")
        .collect();
    assert!(!train_lines.is_empty(), "{log}");
    for line in &train_lines {
        let f = &line["fields"];
        assert_eq!(f["surface_wall_shear"], 0.0, "{line}");
        assert_eq!(f["volume_pressure"], 0.0, "{line}");
        assert!(f["surface_pressure"].as_f64().unwrap() > 0.0, "{line}");
        assert!(f["volume_velocity"].as_f64().unwrap() > 0.0, "{line}");
    }

    let out = Command::new(bin)
        .args(["eval", "--checkpoint"])
        .arg(&run_dir)
        .args(["--split", "test", "--json"])
        .output()
        .unwrap();
    assert_succeeded(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for field in [
        "surface_wall_shear",
        "surface_wall_shear_x",
        "volume_pressure",
    ] {
        assert!(v["fields"].get(field).is_none(), "{field} was scored: {v}");
        assert!(v["baselines"]["mean_field"]["fields"].get(field).is_none());
    }
    for field in ["surface_pressure", "volume_velocity", "volume_vorticity"] {
        assert!(
            v["fields"][field]["rel_l2"].as_f64().unwrap().is_finite(),
            "{field}"
        );
    }
    let info = Command::new(bin)
        .args(["dataset", "info"])
        .arg(&data)
        .output()
        .unwrap();
    assert_succeeded(&info);
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        text.contains("absent: surface/wall_shear in 5 runs")
            && text.contains("absent: volume/pressure in 5 runs"),
        "{text}"
    );

    // predict leaves out what the checkpoint never learnt, says so, and its forces are
    // pressure forces only.
    let stl = Path::new(env!("CARGO_MANIFEST_DIR")).join("geometry/ahmed_25deg.stl");
    let prediction = dir.path().join("prediction");
    let out = Command::new(bin)
        .arg("predict")
        .arg(&stl)
        .arg("--checkpoint")
        .arg(&run_dir)
        .arg("--out")
        .arg(&prediction)
        .args([
            "--surface-points",
            "2000",
            "--volume-points",
            "500",
            "--json",
            "--no-picture",
        ])
        .output()
        .unwrap();
    assert_succeeded(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["shear_force_n"], serde_json::json!([0.0, 0.0, 0.0]));
    let warnings = v["warnings"].to_string();
    assert!(
        warnings.contains("without wall shear") && warnings.contains("without volume pressure"),
        "{warnings}"
    );
    let surface = mesh::read_mesh(&prediction.join("surface.vtp")).unwrap();
    assert!(surface.field(mesh::Location::Cell, "pressure_pa").is_some());
    assert!(surface
        .field(mesh::Location::Cell, "wall_shear_pa")
        .is_none());
    assert!(surface.field(mesh::Location::Cell, "cf").is_none());
    let volume = mesh::read_mesh(&prediction.join("volume.vtu")).unwrap();
    assert!(volume
        .field(mesh::Location::Point, "velocity_m_s")
        .is_some());
    assert!(volume.field(mesh::Location::Point, "pressure_pa").is_none());
}

/// `[schedule] snapshot_every` keeps weights along a run; `slipstream average` writes their mean
/// (parameter by parameter), refuses checkpoints of another architecture and an existing
/// output folder, and the mean is a checkpoint eval and predict take.
#[test]
fn snapshots_average_into_a_checkpoint_of_their_mean() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::write_synthetic_prepared(&data, 5);
    let run = dir.path().join("run");
    let config = CONFIG.replace(
        "checkpoint_every = 2",
        "checkpoint_every = 2\nsnapshot_every = 2",
    );
    job(&data, &run, false, None, &config)
        .run::<Cpu>(&Default::default(), "cpu")
        .unwrap();
    let snaps = run.join("snapshots");
    for step in [2, 4, 6] {
        assert!(
            snaps.join(format!("step_{step}/model.bin")).is_file(),
            "step {step}"
        );
    }
    let (w4, w6) = (
        weights(&snaps.join("step_4")),
        weights(&snaps.join("step_6")),
    );
    assert_eq!(
        w6,
        weights(&run),
        "the last snapshot is the final checkpoint"
    );
    assert!(w4 != w6);
    let bin = env!("CARGO_BIN_EXE_slipstream");
    let average = |inputs: &[&Path], out: &Path| {
        Command::new(bin)
            .arg("average")
            .args(inputs)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap()
    };
    let mean_dir = dir.path().join("mean");
    assert_succeeded(&average(
        &[&snaps.join("step_4"), &snaps.join("step_6")],
        &mean_dir,
    ));
    let mean = weights(&mean_dir);
    assert_eq!(mean.len(), w4.len());
    for ((m, a), b) in mean.iter().zip(&w4).zip(&w6) {
        assert!((m - (a + b) / 2.0).abs() <= 1e-6 * (a.abs() + b.abs()).max(1.0));
    }
    let meta = checkpoint::read_meta(&mean_dir).unwrap();
    assert_eq!(meta.averaged_from.len(), 2);
    assert_eq!(meta.step, 6);
    let out = Command::new(bin)
        .args(["eval", "--checkpoint"])
        .arg(&mean_dir)
        .args(["--data"])
        .arg(&data)
        .arg("--json")
        .output()
        .unwrap();
    assert_succeeded(&out);

    // The output folder exists already: refused, nothing overwritten.
    let again = average(&[&snaps.join("step_4"), &snaps.join("step_6")], &mean_dir);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert_eq!(weights(&mean_dir), mean);
    // Another architecture: refused, naming it.
    let other = dir.path().join("other");
    job(
        &data,
        &other,
        false,
        None,
        &CONFIG.replace("dim = 24", "dim = 36"),
    )
    .run::<Cpu>(&Default::default(), "cpu")
    .unwrap();
    let refused = average(&[&run, &other], &dir.path().join("mixed"));
    assert_eq!(refused.status.code(), Some(2));
    let text = String::from_utf8_lossy(&refused.stderr);
    assert!(
        text.contains("architecture differs") && text.contains("other"),
        "{text}"
    );
    assert!(!dir.path().join("mixed").exists());
}
