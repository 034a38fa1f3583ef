//! Errors of reading raw datasets, preparing them and reading prepared runs back. Each error
//! carries the file it is about and knows whose fault it is ([`DataError::is_input_error`]), so
//! the command line can tell a bad dataset (exit status 2) from a failure on our side (1).

use std::path::{Path, PathBuf};

use crate::mesh::MeshError;

use super::csv_table::CsvError;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file or folder holds something wrong, or lacks something it must have.
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    /// Reading a file or listing a folder failed.
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A mesh file could not be read.
    #[error(transparent)]
    Mesh(#[from] MeshError),
    /// A CSV table could not be read, or lacks what was asked of it.
    #[error(transparent)]
    Csv(#[from] CsvError),
    /// Writing an output (a prepared run, `splits.json`, `stats.json`) failed.
    #[error("writing {path}: {message}")]
    Write { path: PathBuf, message: String },
    /// What was asked cannot be done with these arguments (an unknown layout, a selection that
    /// matches no run, a numbered selection of named runs).
    #[error("{0}")]
    Usage(String),
}

impl DataError {
    /// Something wrong in (or missing from) the file or folder at `path`.
    pub fn file(path: &Path, message: impl std::fmt::Display) -> Self {
        DataError::File {
            path: path.to_path_buf(),
            message: message.to_string(),
        }
    }

    /// Reading `path` failed.
    pub fn read(path: &Path, source: std::io::Error) -> Self {
        DataError::Read {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Writing `path` failed.
    pub fn write(path: &Path, e: impl std::fmt::Display) -> Self {
        DataError::Write {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }

    /// True when the input is at fault (a dataset file missing or malformed, an argument that
    /// cannot be met); false for failures on our side (a write, a read the system refused for
    /// other reasons than a missing or forbidden file).
    pub fn is_input_error(&self) -> bool {
        match self {
            DataError::File { .. } | DataError::Csv(_) | DataError::Usage(_) => true,
            DataError::Read { source, .. } => crate::mesh::error::is_users_io_error(source),
            DataError::Mesh(e) => e.is_input_error(),
            DataError::Write { .. } => false,
        }
    }
}
