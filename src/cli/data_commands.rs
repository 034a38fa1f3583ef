//! The dataset commands: `prepare`, `generate ahmed`, `dataset info`.

use anyhow::{bail, Result};

use super::args::*;
use super::BadInput;

pub(super) fn dataset_info(a: &DatasetInfoArgs) -> Result<()> {
    let info = slipstream::data::info::dataset_info(&a.dir)
        .map_err(|e| BadInput(anyhow::Error::new(e)))?;
    if a.json {
        outln!("{}", serde_json::to_string(&info)?)?;
    } else {
        out!("{info}")?;
    }
    if !info.broken.is_empty() {
        bail!("{} broken runs", info.broken.len());
    }
    Ok(())
}

pub(super) fn generate_ahmed(a: &GenerateAhmedArgs) -> Result<()> {
    use slipstream::openfoam::case::CaseSettings;
    use slipstream::openfoam::generate::{generate, GenerateConfig, RunOutcome, AIR_DENSITY_KG_M3};
    if (a.count == 0 && a.reference.is_empty()) || a.cells == 0 || a.iterations == 0 {
        return Err(BadInput(anyhow::anyhow!(
            "--count (or --reference), --cells and --iterations must be positive"
        ))
        .into());
    }
    let tool_time_limit = match a.time_limit_min {
        None => None,
        Some(m) => Some(
            std::time::Duration::try_from_secs_f64(60.0 * m)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| BadInput(anyhow::anyhow!("--time-limit-min must be positive")))?,
        ),
    };
    let bodies = (!a.reference.is_empty()).then(|| {
        a.reference
            .iter()
            .map(|&angle| slipstream::openfoam::ahmed::AhmedParams {
                stilts: a.stilts,
                ..slipstream::openfoam::ahmed::AhmedParams::reference(angle)
            })
            .collect::<Vec<_>>()
    });
    let settings = CaseSettings {
        speed_m_s: a.speed,
        iterations: a.iterations,
        average_last: a.average.min(a.iterations),
        base_cell_m: CaseSettings::base_cell_for(a.cells),
        body_levels: (a.body_level[0], a.body_level[1]),
        layers: a.layers,
        first_layer_m: (!a.relative_layers).then_some(a.first_layer_mm * 1e-3),
        layer_expansion: a.layer_expansion,
        wall_function: a.wall_function,
        ..CaseSettings::default()
    };
    let config = GenerateConfig {
        count: a.count,
        out: a.out.clone(),
        jobs: a.jobs,
        seed: a.seed,
        first_run: a.first_run as usize,
        stilts: a.stilts,
        settings,
        density_kg_m3: AIR_DENSITY_KG_M3,
        bodies,
        tool_time_limit,
        redo: a.redo.iter().map(|&r| r as usize).collect(),
    };
    let outcomes = generate(&config, |o| match o {
        RunOutcome::Done {
            run,
            cd,
            converged,
            wall_time_s,
        } => eprintln!(
            "run_{run}: Cd {cd:.4}{} in {wall_time_s:.0} s",
            if *converged { "" } else { " (NOT converged)" }
        ),
        RunOutcome::Skipped { run } => eprintln!("run_{run}: already finished, skipped"),
        RunOutcome::Failed { run, reason } => eprintln!("run_{run}: FAILED: {reason}"),
    })?;
    if a.json {
        outln!("{}", serde_json::to_string(&outcomes)?)?;
    }
    let failed = outcomes
        .iter()
        .filter(|o| matches!(o, RunOutcome::Failed { .. }))
        .count();
    eprintln!(
        "{} runs: {} failed; results in {}",
        outcomes.len(),
        failed,
        a.out.display()
    );
    if failed > 0 {
        bail!(
            "{failed} of {} runs failed (see run_i/FAILED and the logs in run_i/case/)",
            outcomes.len()
        );
    }
    Ok(())
}

pub(super) fn prepare(a: &PrepareArgs) -> Result<()> {
    use slipstream::data::prepare::{
        prepare_dataset, PrepareOptions, PrepareOutcome, RunSelection,
    };
    use slipstream::data::split_rule::{write_splits_and_stats_adding, SplitRule};
    // The parsers' errors are `DataError::Usage`: the user's (exit status 2).
    let split = SplitRule::parse(&a.split)?;
    let new_runs_to = a
        .new_runs_to
        .as_deref()
        .map(slipstream::data::Split::parse)
        .transpose()?;
    let selection = RunSelection::parse(a.runs.as_deref(), a.shard.as_deref())?;
    let opts = PrepareOptions {
        surface_points: a.surface_points,
        volume_points: a.volume_points,
        geometry_points: a.geometry_points,
        seed: a.seed,
    };
    let outcomes = prepare_dataset(
        &a.layout,
        &a.src,
        &a.out,
        &opts,
        &selection,
        a.jobs,
        |o| match o {
            PrepareOutcome::Prepared {
                run,
                surface,
                volume,
            } => {
                eprintln!("{run}: {surface} surface and {volume} volume points")
            }
            PrepareOutcome::Skipped { run } => eprintln!("{run}: already prepared, skipped"),
            PrepareOutcome::Broken { run, reason } => eprintln!("{run}: BROKEN: {reason}"),
        },
    )?;
    if a.json {
        outln!("{}", serde_json::to_string(&outcomes)?)?;
    }
    let ready: Vec<String> = outcomes
        .iter()
        .filter_map(|o| match o {
            PrepareOutcome::Prepared { run, .. } | PrepareOutcome::Skipped { run } => {
                Some(run.clone())
            }
            PrepareOutcome::Broken { .. } => None,
        })
        .collect();
    if selection.shard.is_some() {
        eprintln!(
            "shard done; once every shard has finished, run the same command without --shard to \
             write splits.json and stats.json (finished runs are skipped)"
        );
    } else if !ready.is_empty() {
        let (splits, _) =
            write_splits_and_stats_adding(&a.out, &ready, &split, a.seed, new_runs_to)?;
        eprintln!(
            "splits.json: {} train, {} val, {} test; stats.json from the training runs",
            splits.train.len(),
            splits.val.len(),
            splits.test.len()
        );
        let unsplit = ready
            .iter()
            .filter(|r| {
                ![&splits.train, &splits.val, &splits.test]
                    .iter()
                    .any(|s| s.contains(r))
            })
            .count();
        if unsplit > 0 {
            eprintln!("{unsplit} prepared runs are in no split list and take part in none");
        }
    }
    let broken = outcomes
        .iter()
        .filter(|o| matches!(o, PrepareOutcome::Broken { .. }))
        .count();
    if broken > 0 {
        bail!(
            "{broken} of {} runs are broken (reasons above)",
            outcomes.len()
        );
    }
    Ok(())
}
