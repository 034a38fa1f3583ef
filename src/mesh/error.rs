//! Errors of the mesh readers and writers.
//!
//! Every error names the file it concerns, so that a batch job over thousands of runs tells the user
//! exactly which file to look at.

use std::path::{Path, PathBuf};

/// What went wrong while reading or writing a mesh file.
#[derive(Debug, thiserror::Error)]
pub enum MeshError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid for its format (truncated, inconsistent counts, bad numbers, ...).
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    /// The file is valid but uses a feature slipstream does not read.
    #[error("{path}: unsupported: {message}")]
    Unsupported { path: PathBuf, message: String },
    /// The file name does not say which format it is.
    #[error("{path}: unknown file format (expected .stl, .obj, .vtp, .vtu, .vtk, .h5/.hdf5)")]
    UnknownFormat { path: PathBuf },
}

impl MeshError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        MeshError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn invalid(path: &Path, message: impl Into<String>) -> Self {
        MeshError::Invalid {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }

    pub fn unsupported(path: &Path, message: impl Into<String>) -> Self {
        MeshError::Unsupported {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }

    /// True when the file given is at fault (malformed, unsupported, unknown format, missing or
    /// forbidden); false when the operating system failed on a file that was there.
    pub fn is_input_error(&self) -> bool {
        match self {
            MeshError::Io { source, .. } => is_users_io_error(source),
            _ => true,
        }
    }
}

/// An I/O failure that says the path given was wrong (missing, forbidden, a folder) or that what
/// was asked cannot be written in the format chosen (`InvalidInput`, as writers report it), not
/// that the system failed on a good one.
pub fn is_users_io_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound
            | std::io::ErrorKind::PermissionDenied
            | std::io::ErrorKind::IsADirectory
            | std::io::ErrorKind::NotADirectory
            | std::io::ErrorKind::InvalidInput
    )
}

pub type Result<T, E = MeshError> = std::result::Result<T, E>;

/// What is wrong with a mesh or an HDF5 file's content, before the file name is known;
/// [`Context::at`] attaches it.
///
/// Parsers work on byte streams, and checks such as [`Mesh::validate`](crate::mesh::Mesh::validate)
/// on meshes in memory, and report problems as messages of one of these kinds; the public entry
/// point, which knows the path, turns them into [`MeshError`]s.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("{0}")]
    Io(std::io::Error),
    /// The content contradicts itself or its format.
    #[error("{0}")]
    Invalid(String),
    /// The content is well formed but uses something slipstream does not read.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl From<std::io::Error> for ParseError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            ParseError::Invalid("unexpected end of file (truncated?)".into())
        } else {
            ParseError::Io(e)
        }
    }
}

impl ParseError {
    pub fn at(self, path: &Path) -> MeshError {
        match self {
            ParseError::Io(e) => MeshError::io(path, e),
            ParseError::Invalid(m) => MeshError::invalid(path, m),
            ParseError::Unsupported(m) => MeshError::unsupported(path, m),
        }
    }
}

/// Shorthand for a [`ParseError::Invalid`] with a formatted message.
macro_rules! invalid {
    ($($arg:tt)*) => { $crate::mesh::error::ParseError::Invalid(format!($($arg)*)) };
}
pub(crate) use invalid;

/// Shorthand for a [`ParseError::Unsupported`] with a formatted message.
macro_rules! unsupported {
    ($($arg:tt)*) => { $crate::mesh::error::ParseError::Unsupported(format!($($arg)*)) };
}
pub(crate) use unsupported;

pub type ParseResult<T> = std::result::Result<T, ParseError>;

/// Extension for attaching the path to results of the parsers.
pub trait Context<T> {
    fn at(self, path: &Path) -> Result<T>;
}

impl<T> Context<T> for ParseResult<T> {
    fn at(self, path: &Path) -> Result<T> {
        self.map_err(|e| e.at(path))
    }
}
