//! Why one run of a family failed. A failed run does not stop the others: its reason goes to
//! `run_<i>/FAILED` and to the report, and a crashed solver is tried once more (see
//! `generate::run_with_retry`), which is why the kinds are told apart.

use std::path::{Path, PathBuf};

use crate::mesh::MeshError;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// An OpenFOAM tool ended with a failure status; the end of its log says why.
    #[error("{tool} failed ({status}); end of {}:\n  {tail}", .log.display())]
    ToolFailed {
        tool: String,
        status: String,
        log: PathBuf,
        tail: String,
    },
    /// A tool ran past `--time-limit-min` and was stopped.
    #[error(
        "{tool} exceeded the time limit of {limit_s:.0} s and was stopped; end of {}:\n  {tail}",
        .log.display()
    )]
    TimedOut {
        tool: String,
        limit_s: f64,
        log: PathBuf,
        tail: String,
    },
    /// A tool could not be started or waited for.
    #[error("{what} {tool}: {source}")]
    Process {
        what: &'static str,
        tool: String,
        #[source]
        source: std::io::Error,
    },
    /// A file of the run could not be read or written, or holds what the run cannot use.
    #[error("{}: {message}", .path.display())]
    File { path: PathBuf, message: String },
    /// A mesh the run wrote or reads back.
    #[error(transparent)]
    Mesh(#[from] MeshError),
    /// Not started: the disk is too full for a run.
    #[error("not started: {0}")]
    NoSpace(String),
    /// The solver crashed, and crashed again with calmer relaxation.
    #[error(
        "{first}\nsolved again with relaxation U {relax_u}, k/omega {relax_turbulence}: {second}"
    )]
    FailedTwice {
        first: Box<RunError>,
        second: Box<RunError>,
        relax_u: f64,
        relax_turbulence: f64,
    },
}

impl RunError {
    /// Something wrong with the file at `path`.
    pub fn file(path: &Path, message: impl std::fmt::Display) -> Self {
        RunError::File {
            path: path.to_path_buf(),
            message: message.to_string(),
        }
    }

    /// True when the run failed because its solver crashed (diverged), rather than for its mesh,
    /// a file or the time limit: the one failure another relaxation can cure.
    pub fn solver_diverged(&self) -> bool {
        matches!(self, RunError::ToolFailed { tool, .. } if tool == "simpleFoam")
    }
}
