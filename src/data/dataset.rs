//! A prepared dataset folder: `<run>.h5` files, `splits.json` and `stats.json` (written by
//! `slipstream prepare`).

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::run::PreparedRun;
use super::stats::{DatasetStats, Splits};
use super::DataError;

/// The three splits by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Val,
    Test,
}

impl Split {
    /// A split by name; an unknown name is a [`DataError::Usage`].
    pub fn parse(text: &str) -> Result<Self, DataError> {
        match text {
            "train" => Ok(Split::Train),
            "val" | "validation" => Ok(Split::Val),
            "test" => Ok(Split::Test),
            other => Err(DataError::Usage(format!(
                "unknown split `{other}`: use train, val or test"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        }
    }
}

/// Which runs of a prepared folder a job reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunSet {
    /// The runs `splits.json` assigns to a split.
    Split(Split),
    /// Every prepared run (`*.h5`) in the folder; no `splits.json` needed.
    All,
    /// Named runs (`run_3`) and ranges of run numbers (`10-20` = the folder's `run_10` …
    /// `run_20`); no `splits.json` needed.
    Named(Vec<String>),
}

impl RunSet {
    /// `--split train|val|test|all`, or `--runs run_3,10-20` (which overrides the split).
    /// A selection the user cannot have meant is a [`DataError::Usage`].
    pub fn parse(split: &str, runs: Option<&str>) -> Result<Self, DataError> {
        if let Some(list) = runs {
            let names: Vec<String> = list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            if names.is_empty() {
                return Err(DataError::Usage(
                    "--runs names no run (e.g. --runs run_3,run_7 or --runs 10-20)".into(),
                ));
            }
            return Ok(RunSet::Named(names));
        }
        match split {
            "all" => Ok(RunSet::All),
            other => Split::parse(other)
                .map(RunSet::Split)
                .map_err(|e| DataError::Usage(format!("{e}, or all"))),
        }
    }

    /// How reports name the selection: the split's name, `all` or `runs`.
    pub fn name(&self) -> &'static str {
        match self {
            RunSet::Split(s) => s.name(),
            RunSet::All => "all",
            RunSet::Named(_) => "runs",
        }
    }

    /// The run names selected in the prepared folder `dir`, in order; an empty selection or a
    /// named run that is not there is an error naming the folder.
    pub fn resolve(&self, dir: &Path) -> Result<Vec<String>, DataError> {
        let names = match self {
            RunSet::Split(split) => return Ok(PreparedDataset::open(dir)?.runs(*split).to_vec()),
            RunSet::All => prepared_runs(dir)?,
            RunSet::Named(items) => {
                let present = prepared_runs(dir)?;
                let mut names = Vec::new();
                for item in items {
                    match parse_range(item) {
                        Some((a, b)) => names.extend(
                            present
                                .iter()
                                .filter(|r| run_number(r).is_some_and(|n| (a..=b).contains(&n)))
                                .cloned(),
                        ),
                        None if present.contains(item) => names.push(item.clone()),
                        None => {
                            return Err(DataError::file(
                                &run_file(dir, item),
                                "no such prepared run",
                            ))
                        }
                    }
                }
                let mut seen = std::collections::HashSet::new();
                names.retain(|n| seen.insert(n.clone()));
                names
            }
        };
        if names.is_empty() {
            return Err(DataError::file(
                dir,
                format!("no prepared run (*.h5) selected by `{}`", self.name()),
            ));
        }
        Ok(names)
    }
}

/// `A-B` (run numbers, inclusive) or a single number `A`.
fn parse_range(text: &str) -> Option<(u64, u64)> {
    let (a, b) = text.split_once('-').unwrap_or((text, text));
    let (a, b) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (a <= b).then_some((a, b))
}

/// The number of `run_<n>`.
fn run_number(name: &str) -> Option<u64> {
    name.strip_prefix("run_")?.parse().ok()
}

/// The prepared runs (`NAME.h5`) of a folder, by run number where names have one, then by name.
pub fn prepared_runs(dir: &Path) -> Result<Vec<String>, DataError> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::file(dir, e.to_string()))?;
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".h5")?;
            (e.path().is_file() && !stem.is_empty()).then(|| stem.to_string())
        })
        .collect();
    let key = |name: &String| (run_number(name).is_none(), run_number(name), name.clone());
    names.sort_by_key(key);
    Ok(names)
}

/// The file of prepared run `run` in folder `dir`.
fn run_file(dir: &Path, run: &str) -> PathBuf {
    dir.join(format!("{run}.h5"))
}

/// Reads the named runs of a prepared folder (in parallel); an unreadable run is an error
/// naming it.
pub fn load_runs(dir: &Path, names: &[String]) -> Result<Vec<PreparedRun>, DataError> {
    names
        .par_iter()
        .map(|r| PreparedRun::read(&run_file(dir, r)))
        .collect()
}

/// A prepared dataset: where it is, its splits and its training statistics.
#[derive(Debug, Clone)]
pub struct PreparedDataset {
    pub dir: PathBuf,
    pub splits: Splits,
    pub stats: DatasetStats,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        DataError::file(
            path,
            format!("{e} (prepare the dataset first: `slipstream prepare … --out DIR` writes it)"),
        )
    })?;
    serde_json::from_str(&text).map_err(|e| DataError::file(path, e.to_string()))
}

impl PreparedDataset {
    pub fn open(dir: &Path) -> Result<Self, DataError> {
        if !dir.is_dir() {
            return Err(DataError::file(dir, "no such folder"));
        }
        Ok(PreparedDataset {
            dir: dir.to_path_buf(),
            splits: read_json(&dir.join("splits.json"))?,
            stats: read_json(&dir.join("stats.json"))?,
        })
    }

    pub fn runs(&self, split: Split) -> &[String] {
        match split {
            Split::Train => &self.splits.train,
            Split::Val => &self.splits.val,
            Split::Test => &self.splits.test,
        }
    }

    pub fn run_path(&self, run: &str) -> PathBuf {
        run_file(&self.dir, run)
    }

    /// Reads every run of `split` (in parallel); any unreadable run is an error naming it.
    pub fn load(&self, split: Split) -> Result<Vec<PreparedRun>, DataError> {
        let runs = self.runs(split);
        if runs.is_empty() {
            return Err(DataError::file(
                &self.dir.join("splits.json"),
                format!("the {} split has no runs", split.name()),
            ));
        }
        load_runs(&self.dir, runs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_sets_select_splits_everything_or_named_runs() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["run_1", "run_2", "run_10", "run_9", "extra"] {
            std::fs::write(dir.path().join(format!("{name}.h5")), b"").unwrap();
        }
        std::fs::write(dir.path().join("stats.json"), b"{}").unwrap();
        let resolve = |split: &str, runs: Option<&str>| {
            RunSet::parse(split, runs).unwrap().resolve(dir.path())
        };
        assert_eq!(
            resolve("all", None).unwrap(),
            ["run_1", "run_2", "run_9", "run_10", "extra"]
        );
        assert_eq!(
            resolve("test", Some("2-9, extra,run_2")).unwrap(),
            ["run_2", "run_9", "extra"]
        );
        let e = resolve("all", Some("run_3")).unwrap_err().to_string();
        assert!(e.contains("run_3.h5"), "{e}");
        assert!(resolve("all", Some("20-30")).is_err());
        // A split needs splits.json.
        let e = resolve("test", None).unwrap_err().to_string();
        assert!(e.contains("splits.json"), "{e}");
        assert!(RunSet::parse("tset", None)
            .unwrap_err()
            .to_string()
            .contains("all"));
        assert!(RunSet::parse("all", Some(" , ")).is_err());
    }
}
