//! How `prepare` splits a dataset's runs into training, validation and test (`--split`), and
//! the two files it writes beside the runs: `splits.json` (fixed once written) and `stats.json`
//! (the training runs' field statistics).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::data::stats::{compute, DatasetStats, Splits};
use crate::data::DataError;
use crate::mesh;

/// How `prepare` splits the runs.
#[derive(Debug, Clone, PartialEq)]
pub enum SplitRule {
    /// Train, validation and test fractions of a seeded shuffle.
    Fractions([f64; 3]),
    /// A published split by name (see [`crate::data::published_splits`]).
    Published(String),
    /// Lists of run names in a folder ([`crate::data::published_splits::from_lists`]).
    Lists(PathBuf),
}

impl SplitRule {
    /// `0.8,0.1,0.1`, a published split's name, or a folder of split lists.
    pub fn parse(text: &str) -> Result<Self, DataError> {
        if crate::data::published_splits::NAMES.contains(&text) {
            return Ok(SplitRule::Published(text.to_string()));
        }
        if Path::new(text).is_dir() {
            return Ok(SplitRule::Lists(PathBuf::from(text)));
        }
        let f: Vec<f64> = text
            .split(',')
            .map(|x| x.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| split_usage(text))?;
        match f.as_slice() {
            [a, b, c] if f.iter().all(|x| x.is_finite() && *x >= 0.0) && a + b + c > 0.0 => {
                Ok(SplitRule::Fractions([*a, *b, *c]))
            }
            _ => Err(split_usage(text)),
        }
    }
}

fn split_usage(text: &str) -> DataError {
    DataError::Usage(format!(
        "--split `{text}`: give three non-negative fractions (train,val,test), e.g. 0.8,0.1,0.1, \
         a published split ({}), or a folder with train/val/test lists of run names",
        crate::data::published_splits::NAMES.join(", ")
    ))
}

/// The runs prepared in `out`: the stems of its `.h5` files.
fn prepared_run_names(out: &Path) -> Result<Vec<String>, DataError> {
    let entries = std::fs::read_dir(out).map_err(|e| DataError::read(out, e))?;
    let mut names = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| DataError::read(out, e))?.path();
        if path.extension().is_some_and(|x| x == "h5") {
            if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                names.push(stem.to_string());
            }
        }
    }
    Ok(names)
}

/// Writes `out/splits.json` (once: an existing file is kept, so the split stays fixed; split
/// lists are applied anew each time) and
/// `out/stats.json` (statistics of the training split's prepared runs). Returns both.
pub fn write_splits_and_stats(
    out: &Path,
    runs: &[String],
    rule: &SplitRule,
    seed: u64,
) -> Result<(Splits, DatasetStats), DataError> {
    write_splits_and_stats_adding(out, runs, rule, seed, None)
}

/// [`write_splits_and_stats`], and with an existing `splits.json`, prepared runs that are in no
/// split yet join `new_runs_to` (a grown dataset keeps its validation and test runs fixed).
pub fn write_splits_and_stats_adding(
    out: &Path,
    runs: &[String],
    rule: &SplitRule,
    seed: u64,
    new_runs_to: Option<crate::data::Split>,
) -> Result<(Splits, DatasetStats), DataError> {
    let splits_path = out.join("splits.json");
    let fresh = |s: Splits| -> Result<Splits, DataError> {
        write_json(&splits_path, &s)?;
        Ok(s)
    };
    let splits: Splits = match rule {
        // The lists fix every run's split, so runs prepared later take their listed place, and
        // runs prepared by an earlier call (`--runs` one at a time) keep theirs.
        SplitRule::Lists(dir) => {
            let mut all = prepared_run_names(out)?;
            all.extend(runs.iter().cloned());
            all.sort();
            all.dedup();
            fresh(crate::data::published_splits::from_lists(dir, &all)?)?
        }
        _ if splits_path.is_file() => {
            let text = std::fs::read_to_string(&splits_path)
                .map_err(|e| DataError::read(&splits_path, e))?;
            let mut s: Splits = serde_json::from_str(&text)
                .map_err(|e| DataError::file(&splits_path, e.to_string()))?;
            let unassigned: Vec<String> = runs
                .iter()
                .filter(|r| !s.train.contains(r) && !s.val.contains(r) && !s.test.contains(r))
                .cloned()
                .collect();
            match new_runs_to {
                Some(split) if !unassigned.is_empty() => {
                    let target = match split {
                        crate::data::Split::Train => &mut s.train,
                        crate::data::Split::Val => &mut s.val,
                        crate::data::Split::Test => &mut s.test,
                    };
                    target.extend(unassigned);
                    target.sort();
                    s = fresh(s)?;
                }
                None if !unassigned.is_empty() => {
                    return Err(DataError::file(
                        &splits_path,
                        format!(
                            "{} prepared runs are in no split ({}…); pass --new-runs-to train \
                             (or val, test) to add them, the existing runs keep their splits",
                            unassigned.len(),
                            unassigned[0]
                        ),
                    ));
                }
                _ => {}
            }
            s
        }
        SplitRule::Fractions(fractions) => fresh(Splits::random(runs, *fractions, seed))?,
        SplitRule::Published(name) => fresh(crate::data::published_splits::published(name, runs)?)?,
    };
    let train: Vec<String> = splits
        .train
        .iter()
        .filter(|r| out.join(format!("{r}.h5")).is_file())
        .cloned()
        .collect();
    if train.is_empty() {
        return Err(DataError::file(
            &splits_path,
            "no prepared run in the training split",
        ));
    }
    let stats = compute(out, &train)?;
    write_json(&out.join("stats.json"), &stats)?;
    Ok((splits, stats))
}

/// Writes `value` as pretty JSON to `path` (temporary file, then rename).
fn write_json(path: &Path, value: &impl Serialize) -> Result<(), DataError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| DataError::write(path, e))?;
    mesh::write_bytes_atomically(path, text.as_bytes()).map_err(|e| DataError::write(path, e))
}
