//! `slipstream prepare`: turns a dataset's runs into prepared runs, one HDF5 file per run in the
//! stable layout of DESIGN.md ("Prepared run"), through the layout registry (`data::layouts`).
//! This driver selects the runs, prepares them in parallel and reports each outcome; how runs are
//! found and read is the layouts' business.
//!
//! Conventions of a prepared run, whatever the source: positions in metres; `surface/normal`
//! points out of the body into the fluid; `surface/wall_shear` is the shear traction the fluid
//! exerts on the body, so the force on the body is Σ (−p n + τ) A.

use std::path::Path;

use serde::Serialize;

use super::layouts;
use super::DataError;

pub use super::reading::PrepareOptions;

/// How preparing one run went.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PrepareOutcome {
    Prepared {
        run: String,
        surface: usize,
        volume: usize,
    },
    Skipped {
        run: String,
    },
    Broken {
        run: String,
        reason: String,
    },
}

/// Which runs of a dataset to prepare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunSelection {
    /// Inclusive range of run numbers (`--runs 1-50`).
    pub numbers: Option<(u64, u64)>,
    /// Shard `i` of `n` (0-based): every n-th run of the selected list, for cluster job arrays.
    pub shard: Option<(usize, usize)>,
}

impl RunSelection {
    /// Parses `--runs A-B` (or a single number) and `--shard i/n`.
    pub fn parse(runs: Option<&str>, shard: Option<&str>) -> Result<Self, DataError> {
        let numbers = match runs {
            None => None,
            Some(text) => {
                let bad = || {
                    DataError::Usage(format!(
                        "--runs `{text}`: use A-B (inclusive) or one number"
                    ))
                };
                let (a, b) = match text.split_once('-') {
                    Some((a, b)) => (
                        a.trim().parse().map_err(|_| bad())?,
                        b.trim().parse().map_err(|_| bad())?,
                    ),
                    None => {
                        let v = text.trim().parse().map_err(|_| bad())?;
                        (v, v)
                    }
                };
                if a > b {
                    return Err(bad());
                }
                Some((a, b))
            }
        };
        let shard = match shard {
            None => None,
            Some(text) => {
                let bad = || DataError::Usage(format!("--shard `{text}`: use i/n with 0 <= i < n"));
                let (i, n) = text.split_once('/').ok_or_else(bad)?;
                let (i, n): (usize, usize) = (
                    i.trim().parse().map_err(|_| bad())?,
                    n.trim().parse().map_err(|_| bad())?,
                );
                if n == 0 || i >= n {
                    return Err(bad());
                }
                Some((i, n))
            }
        };
        Ok(RunSelection { numbers, shard })
    }

    /// The runs selected, in order.
    pub fn apply<T>(&self, runs: Vec<(String, T)>) -> Vec<(String, T)> {
        let number = |name: &str| {
            name.trim_start_matches("run_")
                .parse::<u64>()
                .unwrap_or(u64::MAX)
        };
        let selected: Vec<(String, T)> = runs
            .into_iter()
            .filter(|(name, _)| {
                self.numbers
                    .is_none_or(|(a, b)| (a..=b).contains(&number(name)))
            })
            .collect();
        match self.shard {
            None => selected,
            Some((i, n)) => selected
                .into_iter()
                .enumerate()
                .filter(|(k, _)| k % n == i)
                .map(|(_, r)| r)
                .collect(),
        }
    }
}

/// Prepares the selected runs of `src` (layout `layout`) into `out/<run>.h5`, `jobs` runs at
/// once; finished runs are skipped (outputs appear only complete), broken ones reported with the
/// reason while the rest still prepare. Outcomes come back in run order.
pub fn prepare_dataset(
    layout: &str,
    src: &Path,
    out: &Path,
    opts: &PrepareOptions,
    selection: &RunSelection,
    jobs: usize,
    progress: impl Fn(&PrepareOutcome) + Sync,
) -> Result<Vec<PrepareOutcome>, DataError> {
    use rayon::prelude::*;
    let layout = layouts::find(layout).ok_or_else(|| {
        DataError::Usage(format!(
            "unknown layout `{layout}`; supported: {}",
            layouts::names().join(", ")
        ))
    })?;
    if !layout.numbered() && selection.numbers.is_some() {
        return Err(DataError::Usage(format!(
            "--runs selects numbered runs; {} runs are named, not numbered: use --shard i/n, or \
             a folder holding only the runs wanted",
            layout.name()
        )));
    }
    let dataset = layout.open(src)?;
    let runs: Vec<(String, usize)> = dataset
        .runs()
        .into_iter()
        .enumerate()
        .map(|(index, name)| (name, index))
        .collect();
    let runs = selection.apply(runs);
    if runs.is_empty() {
        return Err(DataError::file(src, "no run matches the selection"));
    }
    std::fs::create_dir_all(out).map_err(|e| DataError::write(out, e))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| DataError::write(out, format!("starting {jobs} threads: {e}")))?;
    let outcomes = pool.install(|| {
        runs.par_iter()
            .map(|(name, index)| {
                let name = name.clone();
                let target = out.join(format!("{name}.h5"));
                let outcome = if target.is_file() {
                    PrepareOutcome::Skipped { run: name }
                } else {
                    match dataset.prepare(*index, &target, opts) {
                        Ok((surface, volume)) => PrepareOutcome::Prepared {
                            run: name,
                            surface,
                            volume,
                        },
                        Err(e) => PrepareOutcome::Broken {
                            run: name,
                            reason: e.to_string(),
                        },
                    }
                };
                progress(&outcome);
                outcome
            })
            .collect()
    });
    Ok(outcomes)
}
