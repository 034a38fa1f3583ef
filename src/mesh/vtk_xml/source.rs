//! Random access to the bytes of a VTK file, from disk (whole or in parts) or from memory.

use std::io::{Read, Seek, SeekFrom};

use crate::mesh::SplitFile;

/// Something array readers can open at a byte position. Every call returns an independent reader,
/// so several arrays can be streamed side by side (offsets next to connectivity).
pub trait Source {
    fn len(&self) -> u64;
    fn reader_at(&self, pos: u64) -> std::io::Result<Box<dyn Read + '_>>;
}

/// A file on disk, whole or in parts ([`SplitFile`]), reopened for every array.
pub struct FileSource(pub SplitFile);

impl Source for FileSource {
    fn len(&self) -> u64 {
        self.0.len()
    }

    fn reader_at(&self, pos: u64) -> std::io::Result<Box<dyn Read + '_>> {
        let mut r = self.0.reader().map_err(std::io::Error::other)?;
        r.seek(SeekFrom::Start(pos))?;
        Ok(Box::new(r))
    }
}

/// A file already in memory.
pub struct MemorySource<'a>(pub &'a [u8]);

impl Source for MemorySource<'_> {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }

    fn reader_at(&self, pos: u64) -> std::io::Result<Box<dyn Read + '_>> {
        // A position past the end reads nothing.
        let rest = usize::try_from(pos)
            .ok()
            .and_then(|p| self.0.get(p..))
            .unwrap_or_default();
        Ok(Box::new(rest))
    }
}
