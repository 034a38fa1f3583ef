//! The model commands: `train`, `predict`, `eval`, `calibrate`, `average`, `parity`, `bench model`,
//! `bench stream`.

use std::path::Path;

use anyhow::{bail, Context, Result};

use super::args::*;
use super::BadInput;

use slipstream::bench::model::{ModelBench, StreamBench};
use slipstream::model::device::{dispatch, DeviceChoice};
use slipstream::model::parity::ParityJob;
use slipstream::model::precision::Precision;
use slipstream::model::{AbUptConfig, ModelError};

pub(super) fn resolve_device(a: &DeviceArgs) -> Result<(DeviceChoice, Precision)> {
    slipstream::model::cpu_isa::check_env().map_err(|e| BadInput(e.into()))?;
    let device = DeviceChoice::resolve(a.device.as_deref()).map_err(|e| BadInput(e.into()))?;
    let precision: Precision = a
        .precision
        .parse()
        .map_err(|e: ModelError| BadInput(e.into()))?;
    Ok((device, precision))
}

pub(super) fn average(a: &AverageArgs) -> Result<()> {
    if a.out.exists() {
        return Err(BadInput(anyhow::anyhow!(
            "{}: already exists; averaging writes a new checkpoint folder, choose another --out",
            a.out.display()
        ))
        .into());
    }
    let meta = slipstream::checkpoint::average::<slipstream::model::Cpu>(
        &a.checkpoints,
        &a.out,
        &Default::default(),
    )
    .map_err(|e| BadInput(anyhow::Error::new(e)))?;
    if a.json {
        outln!(
            "{}",
            serde_json::json!({
                "out": a.out.display().to_string(),
                "averaged_from": meta.averaged_from,
                "step": meta.step,
            })
        )?;
    } else {
        eprintln!(
            "{}: the mean of {} checkpoints' weights (weights only)",
            a.out.display(),
            meta.averaged_from.len()
        );
    }
    Ok(())
}

pub(super) fn train(a: &TrainArgs) -> Result<()> {
    use slipstream::train::{TrainConfig, TrainJob};
    let bad = |e: anyhow::Error| anyhow::Error::new(BadInput(e));
    let config_path = match (&a.config, a.resume) {
        (Some(p), _) => p.clone(),
        (None, true) => a.out.join("train.toml"),
        (None, false) => {
            return Err(bad(anyhow::anyhow!(
                "--config FILE is required for a new run (only --resume may leave it out)"
            )))
        }
    };
    let text = std::fs::read_to_string(&config_path)
        .with_context(|| format!("{}", config_path.display()))
        .map_err(bad)?;
    let config = TrainConfig::from_toml(&text)
        .map_err(|e| bad(anyhow::anyhow!("{}: {e}", config_path.display())))?;
    let (device, precision) = resolve_device(&a.device)?;
    let job = TrainJob {
        config,
        data: a.data.clone(),
        out: a.out.clone(),
        resume: a.resume,
        stop_after: a.stop_after,
        residence: a.data_residence,
        init_from: a.init_from.clone(),
        progress: super::progress::on_stderr(false),
    };
    let report = dispatch(device, precision, job)?;
    if a.json {
        outln!("{}", serde_json::to_string(&report)?)?;
    } else {
        outln!(
            "trained {} of {} steps ({} parameters) in {:.0} s ({:.2} s/step); last training loss {}, \
             validation loss {}\ncheckpoint: {}\nlog: {}{}",
            report.steps_done,
            report.steps,
            report.params,
            report.seconds,
            report.seconds_per_step,
            report.train_loss.map_or("n/a".into(), |l| format!("{l:.4}")),
            report.val_loss.map_or("n/a".into(), |l| format!("{l:.4}")),
            report.checkpoint,
            report.log,
            report
                .loss_curve
                .as_ref()
                .map_or(String::new(), |p| format!("\nloss curve: {p}"))
        )?;
    }
    Ok(())
}

pub(super) fn predict(a: &PredictArgs) -> Result<()> {
    use slipstream::predict::{AreaChoice, PredictJob};
    let area = match a.area.trim() {
        "auto" => AreaChoice::Auto,
        v => AreaChoice::Value(v.parse().map_err(|_| {
            BadInput(anyhow::anyhow!(
                "--area `{v}`: use `auto` or a number in m²"
            ))
        })?),
    };
    let (device, precision) = resolve_device(&a.device)?;
    use slipstream::checkpoint::{find_shipped, SHIPPED};
    let checkpoint = match a.checkpoint == Path::new(SHIPPED) && !a.checkpoint.exists() {
        true => find_shipped().unwrap_or_else(|| a.checkpoint.clone()),
        false => a.checkpoint.clone(),
    };
    let job = PredictJob {
        geometry: a.geometry.clone(),
        checkpoint,
        out: a.out.clone(),
        speed_m_s: a.speed,
        density_kg_m3: a.density,
        area,
        axes: slipstream::physics::Axes::new(a.flow_axis, a.up_axis)
            .map_err(|e| BadInput(e.into()))?,
        surface_points: a.surface_points,
        volume_points: a.volume_points,
        volume_mesh: a.volume_mesh.clone(),
        chunk: a.chunk.max(1),
        seed: a.seed,
        draws: a.draws.map(|d| d as usize),
        allow_extrapolation: a.allow_extrapolation,
        picture: !a.no_picture,
    };
    let r = dispatch(device, precision, job)?;
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
    if a.json {
        outln!("{}", serde_json::to_string(&r)?)?;
        return Ok(());
    }
    outln!("{}", r.summary(&a.geometry))?;
    Ok(())
}

pub(super) fn calibrate(a: &CalibrateArgs) -> Result<()> {
    use slipstream::eval::calibrate::CalibrateJob;
    let (device, precision) = resolve_device(&a.device)?;
    let job = CalibrateJob {
        checkpoint: a.checkpoint.clone(),
        data: a.data.clone(),
        draws: a.draws as usize,
        chunk: a.chunk.max(1),
        seed: a.seed,
        progress: super::progress::on_stderr(a.json),
    };
    let r = dispatch(device, precision, job)?;
    if a.json {
        outln!("{}", serde_json::to_string(&r)?)?;
        return Ok(());
    }
    let u = &r.uncertainty;
    outln!(
        "{}: calibrated on {} ({} training, {} validation runs)",
        r.checkpoint,
        r.data,
        r.training_runs,
        r.validation_runs
    )?;
    let farthest = r
        .validation_scores
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1));
    outln!(
        "  shape domain: bodies up to domain_score {:.2} accepted (farthest validation body: {})",
        r.domain_threshold,
        farthest.map_or("none".to_string(), |(run, s)| format!("{run}, {s:.2}"))
    )?;
    outln!(
        "  sigma = factor x spread of {} draws: Cd {:.2}, Cl {:.2}",
        u.draws,
        u.cd,
        u.cl
    )?;
    for (field, f) in &u.fields {
        outln!("    {field:<20} {f:.2}")?;
    }
    Ok(())
}

pub(super) fn eval(a: &EvalArgs) -> Result<()> {
    use slipstream::data::dataset::RunSet;
    use slipstream::eval::EvalJob;
    let runs = RunSet::parse(&a.split, a.runs.as_deref())?;
    let (device, precision) = resolve_device(&a.device)?;
    let job = EvalJob {
        checkpoint: a.checkpoint.clone(),
        data: a.data.clone(),
        runs,
        baseline_data: a.baseline_data.clone(),
        chunk: a.chunk.max(1),
        seed: a.seed,
        anchors: a.anchors,
        draws: a.draws.unwrap_or(1),
        fields_out: a.fields_out.clone(),
        progress: super::progress::on_stderr(false),
    };
    let report = dispatch(device, precision, job)?;
    if let Some(dir) = &a.out {
        report.write(dir)?;
    }
    if a.json {
        outln!("{}", serde_json::to_string(&report)?)?;
    } else {
        out!("{}", report.markdown())?;
    }
    Ok(())
}

pub(super) fn parity(a: &ParityArgs) -> Result<()> {
    let (device, precision) = resolve_device(&a.device)?;
    let job = ParityJob {
        dir: a.dir.clone(),
        tolerance: a.tolerance,
    };
    let reports = dispatch(device, precision, job)?;
    if a.json {
        outln!("{}", serde_json::to_string(&reports)?)?;
    } else {
        for r in &reports {
            outln!(
                "case {} ({}; {} parameters, reference {}; {:.2} s)",
                r.case,
                r.backend,
                r.parameters,
                r.parameters_reference,
                r.seconds
            )?;
            for o in &r.outputs {
                outln!(
                    "  {:<46} {:>6} values  max rel {:.2e}  max abs {:.2e}  {}",
                    o.name,
                    o.values,
                    o.max_rel_error,
                    o.max_abs_error,
                    if o.passed { "ok" } else { "FAIL" }
                )?;
            }
            if r.parameters_reference != 0 && r.parameters != r.parameters_reference {
                outln!("  parameter count differs from the reference: FAIL")?;
            }
        }
    }
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| !r.passed)
        .map(|r| r.case.as_str())
        .collect();
    if !failed.is_empty() {
        bail!(
            "parity failed for {} (tolerance {:.0e})",
            failed.join(", "),
            a.tolerance
        );
    }
    if !a.json {
        outln!(
            "parity: {} case(s) within {:.0e}",
            reports.len(),
            a.tolerance
        )?;
    }
    Ok(())
}

pub(super) fn preset(name: &str) -> Result<AbUptConfig> {
    AbUptConfig::preset(name).map_err(|e| BadInput(e.into()).into())
}

pub(super) fn bench_model(a: &BenchModelArgs) -> Result<()> {
    let (device, precision) = resolve_device(&a.device)?;
    let supernodes = a.supernodes.unwrap_or(a.anchors);
    let job = ModelBench {
        preset: a.preset.clone(),
        config: preset(&a.preset)?,
        anchors: a.anchors,
        queries: a.queries,
        supernodes,
        geometry_points: a.geometry_points.unwrap_or(8 * supernodes),
        repeats: a.repeats,
        train: !a.no_train,
    };
    let r = dispatch(device, precision, job)?;
    if a.json {
        outln!("{}", serde_json::to_string(&r)?)?;
        return Ok(());
    }
    outln!(
        "preset {} ({} parameters) on {}",
        r.preset,
        r.params,
        r.backend
    )?;
    outln!("cpu: {} ({})", r.cpu, r.cpu_features.join(" "))?;
    if let Some(k) = &r.kernels {
        outln!(
            "kernels: matmul {}, attention {}, gelu {}",
            k.matmul,
            k.attention,
            k.gelu
        )?;
    }
    outln!(
        "workload: {} geometry points, {} supernodes, {} anchors and {} queries per branch",
        r.geometry_points,
        r.supernodes,
        r.anchors,
        r.queries
    )?;
    outln!(
        "inference forward  {:>8.3} s  (encode {:.3} s, decode {:.3} s, {:.0} query points/s)",
        r.infer_s,
        r.encode_s,
        r.decode_s,
        r.query_points_per_s
    )?;
    match (r.train_step_s, r.train_parts) {
        (Some(t), Some(p)) => outln!(
            "training step      {t:>8.3} s  (forward {:.3} s, backward {:.3} s, AdamW {:.3} s)",
            p.forward_s,
            p.backward_s,
            p.optimizer_s
        )?,
        (Some(t), None) => outln!("training step      {t:>8.3} s  (forward + backward + AdamW)")?,
        _ => {}
    }
    if let Some(m) = r.peak_rss_mb {
        outln!("peak RSS           {m:>8.0} MB")?;
    }
    Ok(())
}

pub(super) fn bench_stream(a: &BenchStreamArgs) -> Result<()> {
    let (device, precision) = resolve_device(&a.device)?;
    let supernodes = a.supernodes.unwrap_or(a.anchors);
    let job = StreamBench {
        preset: a.preset.clone(),
        config: preset(&a.preset)?,
        anchors: a.anchors,
        supernodes,
        geometry_points: a.geometry_points.unwrap_or(4 * supernodes),
        surface_points: a.surface_points,
        volume_points: a.volume_points,
        chunk: a.chunk,
        progress: super::progress::on_stderr(a.json),
    };
    let r = dispatch(device, precision, job)?;
    if a.json {
        outln!("{}", serde_json::to_string(&r)?)?;
        return Ok(());
    }
    outln!(
        "preset {} on {}, {} anchors per branch, chunk {}",
        r.preset,
        r.backend,
        r.anchors,
        r.chunk
    )?;
    outln!("encode             {:>8.3} s", r.encode_s)?;
    for (name, part) in [("surface", &r.surface), ("volume", &r.volume)] {
        outln!(
            "{name:<8} {:>11} points {:>8.3} s  {:>12.0} points/s",
            part.points,
            part.seconds,
            part.points_per_s
        )?;
    }
    outln!("total              {:>8.3} s", r.total_s)?;
    Ok(())
}
