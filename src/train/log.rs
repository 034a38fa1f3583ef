//! `log.jsonl`, the training log: one JSON line per logging interval (`"kind": "train"`) and per
//! validation (`"kind": "val"`).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::loss::{LOSS_FIELDS, LOSS_TERMS};
use crate::model::ModelError;

/// One line of the training log.
#[derive(Debug, Clone, Serialize)]
pub(super) struct LogLine {
    pub kind: &'static str,
    pub step: u64,
    pub loss: f64,
    pub fields: serde_json::Map<String, serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grad_norm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds_per_step: Option<f64>,
}

pub(super) fn field_map(values: &[f64; LOSS_TERMS]) -> serde_json::Map<String, serde_json::Value> {
    LOSS_FIELDS
        .iter()
        .zip(values)
        .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
        .collect()
}

/// The log file, cut back to the checkpoint's step on resume (lines written after the last
/// checkpoint belong to steps that will be redone).
fn open_log(path: &Path, keep_through_step: Option<u64>) -> Result<std::fs::File, ModelError> {
    let fail = |e: std::io::Error| ModelError::write(path, e);
    if let Some(step) = keep_through_step {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let kept: String = text
            .lines()
            .filter(|line| {
                serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v["step"].as_u64())
                    .is_some_and(|s| s <= step)
            })
            .map(|l| format!("{l}\n"))
            .collect();
        crate::mesh::write_bytes_atomically(path, kept.as_bytes())
            .map_err(ModelError::write_error)?;
    } else {
        std::fs::write(path, b"").map_err(fail)?;
    }
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(fail)
}

/// The open log.
pub(super) struct TrainLog {
    file: std::fs::File,
    pub path: PathBuf,
}

impl TrainLog {
    /// Opens `path`: emptied for a new run, cut back to `keep_through_step` on resume.
    pub fn open(path: &Path, keep_through_step: Option<u64>) -> Result<TrainLog, ModelError> {
        Ok(TrainLog {
            file: open_log(path, keep_through_step)?,
            path: path.to_path_buf(),
        })
    }

    /// Appends one line; a failure names the log.
    pub fn write(&mut self, line: &LogLine) -> Result<(), ModelError> {
        writeln!(
            self.file,
            "{}",
            serde_json::to_string(line).unwrap_or_default()
        )
        .map_err(|e| ModelError::write(&self.path, e))
    }

    pub fn flush(&mut self) {
        self.file.flush().ok();
    }
}

/// The training losses summed over the steps since the last log line.
#[derive(Debug, Default)]
pub(super) struct LossWindow {
    total: f64,
    fields: [f64; LOSS_TERMS],
    steps: u64,
}

impl LossWindow {
    pub fn add(&mut self, total: f64, fields: [f64; LOSS_TERMS]) {
        self.total += total;
        for (sum, f) in self.fields.iter_mut().zip(fields) {
            *sum += f;
        }
        self.steps += 1;
    }

    /// Steps in the window (at least 1, for dividing).
    pub fn steps(&self) -> u64 {
        self.steps.max(1)
    }

    /// The mean total loss and the mean of each term.
    pub fn means(&self) -> (f64, [f64; LOSS_TERMS]) {
        let n = self.steps() as f64;
        (self.total / n, self.fields.map(|v| v / n))
    }
}
