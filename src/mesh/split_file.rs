//! One file stored as several parts, read in place as one stream.
//!
//! DrivAerML publishes each volume as `volume_<i>.vtu.00.part`, `volume_<i>.vtu.01.part` (run 1:
//! 26.8 GB + 22.2 GB), to be concatenated byte-wise. Joining them would cost the whole file again
//! in memory or on disk, so readers open a [`SplitFile`] instead of a path: it is the file itself
//! when it exists, else the sequence of its parts, and [`SplitReader`] reads, seeks and reports the
//! length across the part boundaries as if the parts were one file. Nothing is ever written.
//!
//! Part names: `NAME.<n>.part` (DrivAerML's, any number of digits) or `NAME.part<n>`
//! (`NAME.part.<n>`, `NAME.part_<n>`, `NAME.part-<n>`), in numeric order. The numbers must run
//! without a gap from 0 or 1; a gap, a number given twice, a part named in both schemes, a name
//! that starts like a part but has no number, or an empty part is an error naming the files.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::error::{MeshError, Result};

/// One piece of a split file: where it sits in the whole.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Part {
    path: PathBuf,
    /// Offset of the part's first byte in the whole file.
    start: u64,
    len: u64,
}

/// A file on disk, whole or in parts (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitFile {
    /// The name the file has when whole (`volume_1.vtu`), which errors and format detection use.
    path: PathBuf,
    parts: Vec<Part>,
    len: u64,
}

/// How a part is numbered: DrivAerML's `NAME.00.part` or `NAME.part0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    NumberThenPart,
    PartThenNumber,
}

/// The part number and scheme of `file_name` as a part of `stem`; `Err` when the name starts
/// like a part of `stem` but is not one (no number); `Ok(None)` when it is another file.
fn part_number(stem: &str, file_name: &str) -> std::result::Result<Option<(u64, Scheme)>, ()> {
    let Some(rest) = file_name.strip_prefix(stem) else {
        return Ok(None);
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(number) = rest.strip_prefix('.').and_then(|r| r.strip_suffix(".part")) {
        if digits(number) {
            return number
                .parse()
                .map(|n| Some((n, Scheme::NumberThenPart)))
                .map_err(|_| ());
        }
    }
    if let Some(after) = rest.strip_prefix(".part") {
        let number = after
            .strip_prefix(['.', '_', '-'])
            .filter(|n| digits(n))
            .unwrap_or(after);
        return match digits(number) {
            true => number
                .parse()
                .map(|n| Some((n, Scheme::PartThenNumber)))
                .map_err(|_| ()),
            false => Err(()),
        };
    }
    Ok(None)
}

fn names(parts: &[PathBuf]) -> String {
    parts
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl SplitFile {
    /// `path` itself when it is a file, else its parts beside it. Neither: the not-found error of
    /// `path`, as opening it would give.
    pub fn open(path: &Path) -> Result<SplitFile> {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_file() => {
                return Ok(SplitFile {
                    path: path.to_path_buf(),
                    parts: vec![Part {
                        path: path.to_path_buf(),
                        start: 0,
                        len: meta.len(),
                    }],
                    len: meta.len(),
                })
            }
            Ok(_) => {
                return Err(MeshError::io(
                    path,
                    std::io::Error::other("is a folder, not a file"),
                ))
            }
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(MeshError::io(path, e))
            }
            Err(_) => {}
        }
        let not_found = || MeshError::io(path, std::io::ErrorKind::NotFound.into());
        let (Some(dir), Some(stem)) = (path.parent(), path.file_name()) else {
            return Err(not_found());
        };
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let stem = stem.to_string_lossy();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Err(not_found());
        };
        let mut numbered: Vec<(u64, Scheme, PathBuf)> = Vec::new();
        let mut unnumbered: Vec<PathBuf> = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            match part_number(&stem, &name) {
                Ok(Some((n, scheme))) => numbered.push((n, scheme, entry.path())),
                Ok(None) => {}
                Err(()) => unnumbered.push(entry.path()),
            }
        }
        if numbered.is_empty() && unnumbered.is_empty() {
            return Err(not_found());
        }
        numbered.sort_by(|a, b| (a.0, &a.2).cmp(&(b.0, &b.2)));
        let all: Vec<PathBuf> = numbered.iter().map(|(_, _, p)| p.clone()).collect();
        let invalid = |what: String| MeshError::invalid(path, what);
        if !unnumbered.is_empty() {
            return Err(invalid(format!(
                "is stored in parts, but {} has no part number (parts are NAME.00.part, \
                 NAME.01.part, … or NAME.part0, NAME.part1, …)",
                names(&unnumbered)
            )));
        }
        let Some(&(first, scheme, _)) = numbered.first() else {
            return Err(not_found());
        };
        if numbered.iter().any(|(_, s, _)| *s != scheme) {
            return Err(invalid(format!(
                "its parts are named in two schemes (NAME.00.part and NAME.part0): {}",
                names(&all)
            )));
        }
        if first > 1 {
            return Err(invalid(format!(
                "its first part (number 0 or 1) is missing; parts found: {}",
                names(&all)
            )));
        }
        for (a, b) in numbered.iter().zip(numbered.iter().skip(1)) {
            if b.0 == a.0 {
                return Err(invalid(format!(
                    "part {} is given twice: {} and {}",
                    a.0,
                    a.2.display(),
                    b.2.display()
                )));
            }
            if b.0 != a.0 + 1 {
                return Err(invalid(format!(
                    "part {} is missing between {} and {} (parts found: {})",
                    a.0 + 1,
                    a.2.display(),
                    b.2.display(),
                    names(&all)
                )));
            }
        }
        let mut parts = Vec::with_capacity(numbered.len());
        let mut start = 0u64;
        for (_, _, part) in numbered {
            let len = std::fs::metadata(&part)
                .map_err(|e| MeshError::io(&part, e))?
                .len();
            if len == 0 {
                return Err(MeshError::invalid(
                    &part,
                    format!(
                        "is an empty part of {} (an interrupted download?)",
                        path.display()
                    ),
                ));
            }
            parts.push(Part {
                path: part,
                start,
                len,
            });
            start += len;
        }
        Ok(SplitFile {
            path: path.to_path_buf(),
            parts,
            len: start,
        })
    }

    /// The file's name when whole.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Total length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the file is stored in parts.
    pub fn is_split(&self) -> bool {
        self.parts.len() > 1 || self.parts.first().is_some_and(|p| p.path != self.path)
    }

    /// The files that hold the bytes, in order.
    pub fn part_paths(&self) -> impl Iterator<Item = &Path> {
        self.parts.iter().map(|p| p.path.as_path())
    }

    /// A reader positioned at the first byte.
    pub fn reader(&self) -> Result<SplitReader> {
        let mut reader = SplitReader {
            file: self.clone(),
            part: 0,
            handle: None,
            pos: 0,
        };
        reader.open_part(0).map_err(|e| self.error(e))?;
        Ok(reader)
    }

    /// The whole content (for readers that parse a file at once: STL, OBJ, legacy ASCII VTK).
    pub fn read_all(&self) -> Result<Vec<u8>> {
        let mut bytes = Vec::with_capacity(usize::try_from(self.len).unwrap_or(0));
        self.reader()?
            .read_to_end(&mut bytes)
            .map_err(|e| self.error(e))?;
        Ok(bytes)
    }

    /// An I/O error of this file, naming its parts when it has them.
    pub fn error(&self, e: std::io::Error) -> MeshError {
        if self.is_split() {
            let parts: Vec<PathBuf> = self.part_paths().map(Path::to_path_buf).collect();
            MeshError::io(
                &self.path,
                std::io::Error::new(e.kind(), format!("{e} (reading parts {})", names(&parts))),
            )
        } else {
            MeshError::io(&self.path, e)
        }
    }
}

/// Reads a [`SplitFile`] as one stream: `read` crosses from one part into the next, `seek`
/// lands in whichever part holds the position.
pub struct SplitReader {
    file: SplitFile,
    /// Index of the part `handle` reads.
    part: usize,
    handle: Option<std::fs::File>,
    /// Position in the whole file.
    pos: u64,
}

impl SplitReader {
    /// Opens part `k` positioned at the current whole-file position (past the end: no part).
    fn open_part(&mut self, k: usize) -> std::io::Result<()> {
        self.part = k;
        self.handle = None;
        if let Some(part) = self.file.parts.get(k) {
            let mut f = std::fs::File::open(&part.path)?;
            let within = self.pos.saturating_sub(part.start);
            if within > 0 {
                f.seek(SeekFrom::Start(within))?;
            }
            self.handle = Some(f);
        }
        Ok(())
    }
}

impl Read for SplitReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let (Some(part), Some(handle)) = (self.file.parts.get(self.part), self.handle.as_mut())
            else {
                return Ok(0);
            };
            let left = (part.start + part.len).saturating_sub(self.pos);
            if left == 0 {
                self.open_part(self.part + 1)?;
                continue;
            }
            if buf.is_empty() {
                return Ok(0);
            }
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = handle.read(buf.get_mut(..want).unwrap_or_default())?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!(
                        "{} ended {left} bytes early (it changed while being read?)",
                        part.path.display()
                    ),
                ));
            }
            self.pos += n as u64;
            return Ok(n);
        }
    }
}

impl Seek for SplitReader {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.file.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            )
        })?;
        let within_current = self
            .file
            .parts
            .get(self.part)
            .is_some_and(|p| target >= p.start && target < p.start + p.len);
        if within_current {
            if let Some(handle) = self.handle.as_mut() {
                let start = self.file.parts.get(self.part).map_or(0, |p| p.start);
                handle.seek(SeekFrom::Start(target - start))?;
                self.pos = target;
                return Ok(target);
            }
        }
        self.pos = target;
        // The part holding `target`: the last one starting at or before it (past the end: none).
        let k = self.file.parts.partition_point(|p| p.start <= target);
        let k = match self.file.parts.get(k.saturating_sub(1)) {
            Some(p) if target < p.start + p.len => k - 1,
            _ => self.file.parts.len(),
        };
        self.open_part(k)?;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8]) {
        std::fs::write(dir.join(name), bytes).unwrap();
    }

    #[test]
    fn part_names_in_both_schemes_are_numbered() {
        let n = |name| part_number("v.vtu", name);
        assert_eq!(n("v.vtu.00.part"), Ok(Some((0, Scheme::NumberThenPart))));
        assert_eq!(n("v.vtu.12.part"), Ok(Some((12, Scheme::NumberThenPart))));
        assert_eq!(n("v.vtu.part3"), Ok(Some((3, Scheme::PartThenNumber))));
        assert_eq!(n("v.vtu.part.3"), Ok(Some((3, Scheme::PartThenNumber))));
        assert_eq!(n("v.vtu.part_10"), Ok(Some((10, Scheme::PartThenNumber))));
        assert_eq!(n("v.vtu.part"), Err(()));
        assert_eq!(n("v.vtu.partial"), Err(()));
        assert_eq!(n("v.vtu"), Ok(None));
        assert_eq!(n("v.vtu.bak"), Ok(None));
        assert_eq!(n("w.vtu.00.part"), Ok(None));
    }

    #[test]
    fn parts_read_and_seek_as_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let whole: Vec<u8> = (0..2500u32).map(|i| (i * 7 % 251) as u8).collect();
        // Numeric order, not name order: part 10 comes after part 9.
        let cuts = [
            0, 1, 300, 301, 900, 1000, 1100, 1200, 1300, 1400, 2000, 2500,
        ];
        for k in 0..cuts.len() - 1 {
            write(
                dir.path(),
                &format!("v.vtu.part{k}"),
                &whole[cuts[k]..cuts[k + 1]],
            );
        }
        let path = dir.path().join("v.vtu");
        let file = SplitFile::open(&path).unwrap();
        assert!(file.is_split());
        assert_eq!(file.len(), 2500);
        assert_eq!(file.read_all().unwrap(), whole);
        let mut r = file.reader().unwrap();
        for at in [0u64, 1, 299, 300, 301, 999, 2000, 2499, 1234, 5] {
            r.seek(SeekFrom::Start(at)).unwrap();
            let mut buf = vec![0u8; 700];
            let mut got = Vec::new();
            let n = r.read(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
            r.read_exact(&mut buf[..(700 - n).min(2500 - at as usize - n)])
                .unwrap();
            got.extend_from_slice(&buf[..(700 - n).min(2500 - at as usize - n)]);
            let end = (at as usize + 700).min(2500);
            assert_eq!(got, &whole[at as usize..end], "at {at}");
        }
        r.seek(SeekFrom::End(-3)).unwrap();
        let mut tail = Vec::new();
        r.read_to_end(&mut tail).unwrap();
        assert_eq!(tail, &whole[2497..]);
        assert_eq!(r.seek(SeekFrom::Current(-10)).unwrap(), 2490);
        r.seek(SeekFrom::Start(4000)).unwrap();
        assert_eq!(r.read(&mut [0u8; 4]).unwrap(), 0);
        assert!(r.seek(SeekFrom::Current(-5000)).is_err());
        // Nothing was written beside the parts.
        assert!(!path.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            cuts.len() - 1
        );
    }

    #[test]
    fn a_whole_file_is_one_part_and_wins_over_parts() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "v.vtu", b"whole");
        write(dir.path(), "v.vtu.00.part", b"pa");
        let file = SplitFile::open(&dir.path().join("v.vtu")).unwrap();
        assert!(!file.is_split());
        assert_eq!(file.read_all().unwrap(), b"whole");
    }

    #[test]
    fn missing_doubled_mixed_and_empty_parts_are_errors_naming_the_files() {
        let err = |files: &[(&str, &[u8])]| {
            let dir = tempfile::tempdir().unwrap();
            for (name, bytes) in files {
                write(dir.path(), name, bytes);
            }
            SplitFile::open(&dir.path().join("v.vtu"))
                .unwrap_err()
                .to_string()
        };
        let e = err(&[("v.vtu.00.part", b"a"), ("v.vtu.02.part", b"b")]);
        assert!(
            e.contains("part 1 is missing") && e.contains("v.vtu.02.part"),
            "{e}"
        );
        let e = err(&[("v.vtu.02.part", b"a"), ("v.vtu.03.part", b"b")]);
        assert!(e.contains("missing") && e.contains("v.vtu.02.part"), "{e}");
        let e = err(&[("v.vtu.1.part", b"a"), ("v.vtu.01.part", b"b")]);
        assert!(e.contains("given twice"), "{e}");
        let e = err(&[("v.vtu.00.part", b"a"), ("v.vtu.part1", b"b")]);
        assert!(e.contains("two schemes"), "{e}");
        let e = err(&[("v.vtu.00.part", b"a"), ("v.vtu.part", b"b")]);
        assert!(
            e.contains("no part number") && e.contains("v.vtu.part"),
            "{e}"
        );
        let e = err(&[("v.vtu.00.part", b"a"), ("v.vtu.01.part", b"")]);
        assert!(
            e.contains("empty part") && e.contains("v.vtu.01.part"),
            "{e}"
        );
        let e = err(&[("other.vtu", b"a")]);
        assert!(e.contains("v.vtu"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let e = SplitFile::open(&dir.path().join("v.vtu")).unwrap_err();
        assert!(
            matches!(&e, MeshError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
            "{e}"
        );
    }
}
