//! A prepared dataset folder: `<run>.h5` files, `splits.json` and `stats.json` (written by
//! `slipstream prepare`).

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::run::{DataError, PreparedRun};
use super::stats::{DatasetStats, Splits};

/// The three splits by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Val,
    Test,
}

impl Split {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "train" => Ok(Split::Train),
            "val" | "validation" => Ok(Split::Val),
            "test" => Ok(Split::Test),
            other => Err(format!("unknown split `{other}`: use train, val or test")),
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
        self.dir.join(format!("{run}.h5"))
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
        runs.par_iter()
            .map(|r| PreparedRun::read(&self.run_path(r)))
            .collect()
    }
}
