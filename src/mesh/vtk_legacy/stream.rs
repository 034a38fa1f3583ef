//! Streaming reads of BINARY legacy VTK unstructured grids: the cell centres and cell arrays of
//! chosen cells, without holding the file or its connectivity.
//!
//! DrivAerNet++ ships each volume as a 1.3 GB legacy file from foamToVTK; read whole (bytes,
//! connectivity, every array) one takes several times that in memory. Here the file is walked
//! section by section: the headers are text lines, every data block has a size known from its
//! header, so blocks that are not wanted are skipped with a seek and wanted ones are decoded a
//! chunk at a time. What is held: the points (12 bytes each, for the centres), one byte a cell
//! of cell types, the offsets of the version-5 layout, and the kept rows. The connectivity comes
//! after the points but before the types that say which cells are polyhedra, so its position is
//! remembered and it is read in a second pass.
//!
//! What this does not cover (ASCII files, polydata, string or bit arrays, an unknown section) is
//! reported as not streamable, and the caller reads the file whole with [`super::read`],
//! which accepts all of it.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::grammar::{decode_name, polyhedron_faces, skip_metadata, BlockType};
use crate::mesh::cells::CellType;
use crate::mesh::error::{MeshError, Result};
use crate::mesh::field::{Field, Values};
use crate::mesh::split_file::{SplitFile, SplitReader};
use crate::mesh::vtk_xml::{ExtractRequest, Extracted};

/// What a legacy unstructured grid holds, from its section headers alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LegacyOutline {
    pub n_points: u64,
    pub n_cells: u64,
    /// Numeric arrays (name, components) of `CELL_DATA` and `POINT_DATA`.
    pub cell_arrays: Vec<(String, usize)>,
    pub point_arrays: Vec<(String, usize)>,
}

/// The structure of `path` when it can be streamed (`None`: read it whole instead). Reads only
/// the section headers: fast for files of any size.
pub fn outline(path: &Path) -> Result<Option<LegacyOutline>> {
    Ok(Scanner::open(path)?.scan(None)?.map(|(outline, _)| outline))
}

/// The cell centres and cell arrays `request` asks for, of the cells in `request.cell_rows`
/// (ascending; `None`: all), or `None` when the file cannot be streamed. Points and point arrays
/// are not extracted here (a request for them gives `None`).
pub fn extract(path: &Path, request: &ExtractRequest) -> Result<Option<Extracted>> {
    if request.points || !request.point_arrays.is_empty() {
        return Ok(None);
    }
    if let Some(rows) = &request.cell_rows {
        if rows.windows(2).any(|pair| matches!(pair, [a, b] if a >= b)) {
            return Err(MeshError::invalid(
                path,
                "cell rows must be strictly ascending",
            ));
        }
    }
    let Some((outline, got)) = Scanner::open(path)?.scan(Some(request))? else {
        return Ok(None);
    };
    for name in &request.cell_arrays {
        if !got.arrays.iter().any(|f| &f.name == name) {
            return Err(MeshError::invalid(path, format!("no cell array `{name}`")));
        }
    }
    Ok(Some(Extracted {
        n_points: outline.n_points,
        n_cells: outline.n_cells,
        points: None,
        cell_centres: got.centres,
        point_arrays: Vec::new(),
        cell_arrays: got.arrays,
    }))
}

/// Decoded values are handed over in chunks of about this many bytes.
const CHUNK_BYTES: usize = 8 << 20;
/// Longest section header line accepted (a longer one means the walk lost its place).
const MAX_HEADER_LINE: u64 = 4096;

/// Word `i` of a header line, or "" past its end.
fn word(words: &[String], i: usize) -> &str {
    words.get(i).map_or("", String::as_str)
}

/// Whether the line starts with `prefix`, ignoring ASCII case.
fn starts_with_ignore_case(line: &[u8], prefix: &[u8]) -> bool {
    line.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// Where the cell connectivity sits, to be read once the cell types are known.
#[derive(Debug, Clone, Copy)]
enum Connectivity {
    /// Version ≤ 4.2: `n` records `npts id…`, `size` int32 values in all, starting at `at`.
    Records { at: u64, size: u64 },
    /// Version 5: `count` values of `ty` starting at `at`, cut into cells by the offsets.
    Flat { at: u64, count: u64, ty: BlockType },
}

/// An attribute array's header: what its block holds.
struct ArrayHeader {
    name: String,
    components: usize,
    ty: BlockType,
    /// Cell data (else point data).
    is_cell: bool,
    tuples: u64,
}

/// What an extraction collected.
#[derive(Default)]
struct Collected {
    centres: Option<Vec<[f32; 3]>>,
    arrays: Vec<Field>,
}

struct Scanner {
    reader: BufReader<SplitReader>,
    path: PathBuf,
    len: u64,
    /// A header line read ahead and put back.
    pending: Option<Vec<String>>,
}

impl Scanner {
    fn open(path: &Path) -> Result<Self> {
        let file = SplitFile::open(path)?;
        let len = file.len();
        Ok(Scanner {
            reader: BufReader::with_capacity(1 << 16, file.reader()?),
            path: path.to_path_buf(),
            len,
            pending: None,
        })
    }

    fn invalid(&self, message: impl Into<String>) -> MeshError {
        MeshError::invalid(&self.path, message)
    }

    fn io(&self, e: std::io::Error) -> MeshError {
        MeshError::io(&self.path, e)
    }

    /// One raw line (without its end), `None` at the end of the file.
    fn raw_line(&mut self) -> Result<Option<Vec<u8>>> {
        let mut line = Vec::new();
        let n = (&mut self.reader)
            .take(MAX_HEADER_LINE)
            .read_until(b'\n', &mut line)
            .map_err(|e| self.io(e))?;
        if n == 0 {
            return Ok(None);
        }
        if line.last() != Some(&b'\n') && n as u64 == MAX_HEADER_LINE {
            return Err(self.invalid(format!(
                "a section header longer than {MAX_HEADER_LINE} bytes (corrupt file?)"
            )));
        }
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        Ok(Some(line))
    }

    /// The words of the next non-blank line, `None` at the end of the file.
    fn words(&mut self) -> Result<Option<Vec<String>>> {
        if let Some(w) = self.pending.take() {
            return Ok(Some(w));
        }
        while let Some(line) = self.raw_line()? {
            let words: Vec<String> = line
                .split(|b| b.is_ascii_whitespace())
                .filter(|w| !w.is_empty())
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect();
            if !words.is_empty() {
                return Ok(Some(words));
            }
        }
        Ok(None)
    }

    fn expect_words(&mut self, what: &str) -> Result<Vec<String>> {
        self.words()?
            .ok_or_else(|| self.invalid(format!("unexpected end of file in {what} (truncated?)")))
    }

    fn position(&mut self) -> Result<u64> {
        self.reader.stream_position().map_err(|e| self.io(e))
    }

    /// Checks that `bytes` more bytes exist, naming the section when they do not.
    fn fits(&mut self, bytes: u64, what: &str) -> Result<()> {
        let left = self.len.saturating_sub(self.position()?);
        if bytes > left {
            return Err(self.invalid(format!(
                "{what} needs {bytes} bytes but only {left} are left (truncated?)"
            )));
        }
        Ok(())
    }

    fn skip(&mut self, bytes: u64, what: &str) -> Result<()> {
        self.fits(bytes, what)?;
        let step = i64::try_from(bytes).map_err(|_| self.invalid(format!("{what}: too large")))?;
        self.reader.seek_relative(step).map_err(|e| self.io(e))
    }

    fn seek(&mut self, at: u64) -> Result<()> {
        self.pending = None;
        self.reader
            .seek(SeekFrom::Start(at))
            .map(|_| ())
            .map_err(|e| self.io(e))
    }

    /// Decodes `count` values of `ty`, handing each (its index, its value) to `each`.
    fn values(
        &mut self,
        ty: BlockType,
        count: u64,
        what: &str,
        mut each: impl FnMut(u64, f64) -> Result<()>,
    ) -> Result<()> {
        let size = ty.size();
        let total = count
            .checked_mul(size as u64)
            .ok_or_else(|| self.invalid(format!("{what}: {count} values are too many")))?;
        self.fits(total, what)?;
        let per_chunk = (CHUNK_BYTES / size).max(1) as u64;
        let mut buffer = vec![0u8; (per_chunk.min(count.max(1)) as usize) * size];
        let mut index = 0u64;
        while index < count {
            let n = per_chunk.min(count - index) as usize;
            let Some(bytes) = buffer.get_mut(..n * size) else {
                return Err(self.invalid(format!("{what}: chunk larger than its buffer")));
            };
            self.reader
                .read_exact(bytes)
                .map_err(|e| MeshError::invalid(&self.path, format!("{what}: {e} (truncated?)")))?;
            for value in bytes.chunks_exact(size) {
                each(index, ty.decode(value))?;
                index += 1;
            }
        }
        Ok(())
    }

    /// Skips a `METADATA` block if one comes next ([`skip_metadata`], the rule the whole reader
    /// follows too).
    fn skip_metadata(&mut self, components: usize) -> Result<()> {
        let next = self.words()?;
        match next {
            Some(w) if word(&w, 0).eq_ignore_ascii_case("METADATA") => {}
            other => {
                self.pending = other;
                return Ok(());
            }
        }
        match skip_metadata(components, || self.raw_line())? {
            true => Ok(()),
            false => Err(self.invalid("unexpected end of file in METADATA COMPONENT_NAMES")),
        }
    }

    /// Whether the next line starts with `keyword`, without consuming anything: after some
    /// headers binary data follows directly, which must not be read as a line.
    fn next_is(&mut self, keyword: &str) -> Result<bool> {
        let at = self.position()?;
        let mut head = [0u8; 32];
        let mut got = 0;
        while let Some(rest) = head.get_mut(got..).filter(|r| !r.is_empty()) {
            match self.reader.read(rest).map_err(|e| self.io(e))? {
                0 => break,
                n => got += n,
            }
        }
        self.seek(at)?;
        let text = head.get(..got).unwrap_or(&[]).trim_ascii_start();
        Ok(starts_with_ignore_case(text, keyword.as_bytes()))
    }

    fn count(&self, word: Option<&String>, what: &str) -> Result<u64> {
        word.and_then(|w| w.parse::<u64>().ok())
            .ok_or_else(|| self.invalid(format!("bad or missing count in {what}")))
    }

    /// Walks the file. With `request`, also collects the centres and cell arrays it asks for.
    /// `None`: the file cannot be streamed (the caller reads it whole).
    fn scan(
        mut self,
        request: Option<&ExtractRequest>,
    ) -> Result<Option<(LegacyOutline, Collected)>> {
        let first = self.raw_line()?.unwrap_or_default();
        let magic = b"# vtk datafile version";
        if !starts_with_ignore_case(&first, magic) {
            return Err(self.invalid("not a legacy VTK file (no '# vtk DataFile Version' line)"));
        }
        self.raw_line()?; // title
        let encoding = self.expect_words("the header")?;
        if !word(&encoding, 0).eq_ignore_ascii_case("BINARY") {
            return Ok(None);
        }
        let dataset = self.expect_words("the DATASET line")?;
        let unstructured = dataset.len() >= 2
            && word(&dataset, 0).eq_ignore_ascii_case("DATASET")
            && word(&dataset, 1).eq_ignore_ascii_case("UNSTRUCTURED_GRID");
        if !unstructured {
            return Ok(None);
        }

        let wants_centres = request.is_some_and(|r| r.cell_centres);
        let wanted: &[String] = request.map_or(&[], |r| &r.cell_arrays);
        let rows = request.and_then(|r| r.cell_rows.as_deref());
        let mut outline = LegacyOutline::default();
        let mut collected = Collected::default();
        let mut points: Vec<[f32; 3]> = Vec::new();
        let mut connectivity: Option<Connectivity> = None;
        let mut offsets: Vec<u64> = Vec::new();
        // The attribute section being read: (is cell data, tuples).
        let mut section: Option<(bool, u64)> = None;

        while let Some(words) = self.words()? {
            let keyword = word(&words, 0).to_ascii_uppercase();
            let done = request.is_some()
                && (!wants_centres || collected.centres.is_some())
                && wanted
                    .iter()
                    .all(|w| collected.arrays.iter().any(|f| &f.name == w));
            if done {
                break;
            }
            match keyword.as_str() {
                "POINTS" => {
                    let n = self.count(words.get(1), "POINTS")?;
                    let Some(ty) = words.get(2).and_then(|t| BlockType::parse(t)) else {
                        return Ok(None);
                    };
                    outline.n_points = n;
                    let values = n
                        .checked_mul(3)
                        .ok_or_else(|| self.invalid("POINTS: too many"))?;
                    if wants_centres {
                        // Sizes come from the file: check they fit it before allocating.
                        self.fits(values.saturating_mul(ty.size() as u64), "POINTS")?;
                        points = vec![[0.0; 3]; n as usize];
                        self.values(ty, values, "POINTS", |i, v| {
                            if let Some(c) = points
                                .get_mut((i / 3) as usize)
                                .and_then(|p| p.get_mut((i % 3) as usize))
                            {
                                *c = v as f32;
                            }
                            Ok(())
                        })?;
                    } else {
                        self.skip(values.saturating_mul(ty.size() as u64), "POINTS")?;
                    }
                    self.skip_metadata(3)?;
                }
                "CELLS" => {
                    let a = self.count(words.get(1), "CELLS")?;
                    let b = self.count(words.get(2), "CELLS")?;
                    if self.next_is("OFFSETS")? {
                        let next = self.expect_words("CELLS OFFSETS")?;
                        let Some(ty) = next.get(1).and_then(|t| BlockType::parse(t)) else {
                            return Ok(None);
                        };
                        outline.n_cells = a.saturating_sub(1);
                        if wants_centres {
                            self.fits(a.saturating_mul(ty.size() as u64), "CELLS OFFSETS")?;
                            offsets = Vec::with_capacity(a as usize);
                            self.values(ty, a, "CELLS OFFSETS", |_, v| {
                                offsets.push(v as u64);
                                Ok(())
                            })?;
                        } else {
                            self.skip(a.saturating_mul(ty.size() as u64), "CELLS OFFSETS")?;
                        }
                        self.skip_metadata(1)?;
                        let conn = self.expect_words("CELLS CONNECTIVITY")?;
                        let Some(ty) = conn
                            .get(1)
                            .filter(|_| word(&conn, 0).eq_ignore_ascii_case("CONNECTIVITY"))
                            .and_then(|t| BlockType::parse(t))
                        else {
                            return Err(self.invalid("CELLS: expected CONNECTIVITY after OFFSETS"));
                        };
                        let at = self.position()?;
                        self.skip(b.saturating_mul(ty.size() as u64), "CELLS CONNECTIVITY")?;
                        connectivity = Some(Connectivity::Flat { at, count: b, ty });
                    } else {
                        outline.n_cells = a;
                        // The records start right after the CELLS line.
                        let at = self.position()?;
                        self.skip(b.saturating_mul(4), "CELLS")?;
                        connectivity = Some(Connectivity::Records { at, size: b });
                    }
                    self.skip_metadata(1)?;
                }
                "CELL_TYPES" => {
                    let n = self.count(words.get(1), "CELL_TYPES")?;
                    if n != outline.n_cells {
                        return Err(self.invalid(format!(
                            "CELL_TYPES {n} but CELLS holds {} cells",
                            outline.n_cells
                        )));
                    }
                    if wants_centres {
                        self.fits(n.saturating_mul(4), "CELL_TYPES")?;
                        let mut types = Vec::with_capacity(n as usize);
                        self.values(BlockType::INT32, n, "CELL_TYPES", |_, v| {
                            types.push(v as u8);
                            Ok(())
                        })?;
                        // Back to the connectivity for the centres, then on from here.
                        let resume = self.position()?;
                        let layout =
                            connectivity.ok_or_else(|| self.invalid("CELL_TYPES before CELLS"))?;
                        let centres = self.centres(layout, &offsets, &types, &points, rows)?;
                        collected.centres = Some(centres);
                        points = Vec::new();
                        offsets = Vec::new();
                        self.seek(resume)?;
                    } else {
                        self.skip(n.saturating_mul(4), "CELL_TYPES")?;
                    }
                    self.skip_metadata(1)?;
                }
                "CELL_DATA" | "POINT_DATA" => {
                    let n = self.count(words.get(1), &keyword)?;
                    let is_cell = keyword == "CELL_DATA";
                    let expected = if is_cell {
                        outline.n_cells
                    } else {
                        outline.n_points
                    };
                    if n != expected {
                        return Err(self.invalid(format!(
                            "{keyword} {n} but the grid has {expected} {}",
                            if is_cell { "cells" } else { "points" }
                        )));
                    }
                    section = Some((is_cell, n));
                }
                "METADATA" => {
                    self.pending = Some(words);
                    self.skip_metadata(0)?;
                }
                "FIELD" => {
                    let arrays = self.count(words.get(2), "FIELD")?;
                    for _ in 0..arrays {
                        let header = self.expect_words("a FIELD array")?;
                        if word(&header, 0) == "NULL_ARRAY" {
                            continue;
                        }
                        let what = format!("FIELD array '{}'", word(&header, 0));
                        let components = self.count(header.get(1), &what)? as usize;
                        let tuples = self.count(header.get(2), &what)?;
                        let Some(ty) = header.get(3).and_then(|t| BlockType::parse(t)) else {
                            return Ok(None);
                        };
                        let Some((is_cell, n)) = section else {
                            // Dataset field data (time values): not point or cell arrays.
                            self.skip(
                                tuples
                                    .saturating_mul(components as u64)
                                    .saturating_mul(ty.size() as u64),
                                &what,
                            )?;
                            self.skip_metadata(components)?;
                            continue;
                        };
                        if tuples != n {
                            return Err(
                                self.invalid(format!("{what} has {tuples} tuples, expected {n}"))
                            );
                        }
                        let name = decode_name(word(&header, 0).as_bytes());
                        let header = ArrayHeader {
                            name,
                            components,
                            ty,
                            is_cell,
                            tuples: n,
                        };
                        self.array(header, wanted, rows, &mut outline, &mut collected)?;
                    }
                }
                "SCALARS"
                | "VECTORS"
                | "NORMALS"
                | "TENSORS"
                | "TENSORS6"
                | "TEXTURE_COORDINATES"
                | "GLOBAL_IDS"
                | "PEDIGREE_IDS" => {
                    let Some((is_cell, n)) = section else {
                        return Err(self.invalid(format!("{keyword} outside POINT_DATA/CELL_DATA")));
                    };
                    let name = decode_name(words.get(1).map_or(&[][..], |w| w.as_bytes()));
                    let what = format!("{keyword} '{name}'");
                    let (ty_word, components) = match keyword.as_str() {
                        "SCALARS" => {
                            let c = match words.get(3) {
                                Some(c) => self.count(Some(c), &what)? as usize,
                                None => 1,
                            };
                            // The lookup table line follows.
                            let table = self.expect_words(&what)?;
                            if !word(&table, 0).eq_ignore_ascii_case("LOOKUP_TABLE") {
                                return Err(self.invalid(format!(
                                    "{what}: expected LOOKUP_TABLE, found '{}'",
                                    word(&table, 0)
                                )));
                            }
                            (words.get(2), c)
                        }
                        "VECTORS" | "NORMALS" => (words.get(2), 3),
                        "TENSORS" => (words.get(2), 9),
                        "TENSORS6" => (words.get(2), 6),
                        "TEXTURE_COORDINATES" => {
                            (words.get(3), self.count(words.get(2), &what)? as usize)
                        }
                        _ => (words.get(2), 1),
                    };
                    let Some(ty) = ty_word.and_then(|t| BlockType::parse(t)) else {
                        return Ok(None);
                    };
                    let header = ArrayHeader {
                        name,
                        components,
                        ty,
                        is_cell,
                        tuples: n,
                    };
                    self.array(header, wanted, rows, &mut outline, &mut collected)?;
                }
                "LOOKUP_TABLE" => {
                    // A colour table of RGBA bytes.
                    let size = self.count(words.get(2), "LOOKUP_TABLE")?;
                    self.skip(size.saturating_mul(4), "LOOKUP_TABLE")?;
                }
                "COLOR_SCALARS" => {
                    let Some((_, n)) = section else {
                        return Ok(None);
                    };
                    let components = self.count(words.get(2), "COLOR_SCALARS")?;
                    self.skip(n.saturating_mul(components), "COLOR_SCALARS")?;
                    self.skip_metadata(components as usize)?;
                }
                _ => return Ok(None),
            }
        }
        if wants_centres && collected.centres.is_none() {
            return Err(self.invalid("no CELLS and CELL_TYPES sections"));
        }
        Ok(Some((outline, collected)))
    }

    /// One attribute array: listed in the outline, its kept rows collected when it is wanted,
    /// skipped otherwise.
    fn array(
        &mut self,
        header: ArrayHeader,
        wanted: &[String],
        rows: Option<&[u64]>,
        outline: &mut LegacyOutline,
        collected: &mut Collected,
    ) -> Result<()> {
        let ArrayHeader {
            name,
            components,
            ty,
            is_cell,
            tuples: n,
        } = header;
        let what = format!("array '{name}'");
        let values = n
            .checked_mul(components as u64)
            .ok_or_else(|| self.invalid(format!("{what}: too many values")))?;
        let list = if is_cell {
            &mut outline.cell_arrays
        } else {
            &mut outline.point_arrays
        };
        list.push((name.clone(), components));
        let keep =
            is_cell && wanted.contains(&name) && !collected.arrays.iter().any(|f| f.name == name);
        if !keep {
            self.skip(values.saturating_mul(ty.size() as u64), &what)?;
            return self.skip_metadata(components);
        }
        let width = components.max(1) as u64;
        let capacity = rows.map_or(values, |r| r.len() as u64 * width) as usize;
        self.fits(values.saturating_mul(ty.size() as u64), &what)?;
        let mut kept = Vec::with_capacity(capacity);
        let mut next = 0usize; // the next wanted row's place in `rows`
        self.values(ty, values, &what, |i, v| {
            let row = i / width;
            match rows {
                None => kept.push(v as f32),
                Some(r) => {
                    while r.get(next).is_some_and(|&w| w < row) {
                        next += 1;
                    }
                    if r.get(next) == Some(&row) {
                        kept.push(v as f32);
                        if i % width == width - 1 {
                            next += 1;
                        }
                    }
                }
            }
            Ok(())
        })?;
        if let Some(r) = rows {
            if r.last().is_some_and(|&last| last >= n) {
                return Err(self.invalid(format!("{what}: a kept row is past the {n} rows")));
            }
        }
        self.skip_metadata(components)?;
        collected.arrays.push(Field {
            name,
            components: components.max(1),
            values: Values::F32(kept),
            source_type: ty.source(),
        });
        Ok(())
    }

    /// The centres of the kept cells: the connectivity is read again from where it was found,
    /// each kept cell's points averaged (a polyhedron's distinct points, from its face stream).
    fn centres(
        &mut self,
        layout: Connectivity,
        offsets: &[u64],
        types: &[u8],
        points: &[[f32; 3]],
        rows: Option<&[u64]>,
    ) -> Result<Vec<[f32; 3]>> {
        let n_cells = types.len() as u64;
        let mut centres = Vec::with_capacity(rows.map_or(types.len(), <[u64]>::len));
        let mut next = 0usize;
        let mut cell = 0u64;
        let mut ids: Vec<u32> = Vec::new();
        let path = self.path.clone();
        let invalid = |m: String| MeshError::invalid(&path, m);
        // Called with each complete cell's values.
        let mut finish = |cell: u64, ids: &mut Vec<u32>| -> Result<()> {
            let kept = match rows {
                None => true,
                Some(r) => {
                    if r.get(next) == Some(&cell) {
                        next += 1;
                        true
                    } else {
                        false
                    }
                }
            };
            if kept {
                let polyhedron = types.get(cell as usize) == Some(&CellType::POLYHEDRON.0);
                let distinct = if polyhedron {
                    face_stream_points(ids).ok_or_else(|| {
                        invalid(format!("polyhedron cell {cell}: bad face stream"))
                    })?
                } else {
                    std::mem::take(ids)
                };
                // A cell without points sits at the origin, as `geometry::cell_centres` puts it.
                centres.push(match distinct.is_empty() {
                    true => [0.0; 3],
                    false => mean(&distinct, points).ok_or_else(|| {
                        invalid(format!("cell {cell} refers to a point that does not exist"))
                    })?,
                });
            }
            ids.clear();
            Ok(())
        };
        match layout {
            Connectivity::Records { at, size } => {
                self.seek(at)?;
                let mut remaining = 0u64; // values left in the current record
                self.values(BlockType::INT32, size, "CELLS", |_, v| {
                    if remaining == 0 {
                        if cell >= n_cells {
                            return Err(invalid(format!("CELLS holds more than {n_cells} cells")));
                        }
                        remaining = v as u64;
                        if remaining == 0 {
                            finish(cell, &mut ids)?;
                            cell += 1;
                        }
                        return Ok(());
                    }
                    ids.push(v as u32);
                    remaining -= 1;
                    if remaining == 0 {
                        finish(cell, &mut ids)?;
                        cell += 1;
                    }
                    Ok(())
                })?;
                if cell != n_cells || remaining != 0 {
                    return Err(invalid(format!(
                        "CELLS: the records hold {cell} complete cells, expected {n_cells}"
                    )));
                }
            }
            Connectivity::Flat { at, count, ty } => {
                if offsets.len() as u64 != n_cells + 1 || offsets.last() != Some(&count) {
                    return Err(invalid(
                        "CELLS: offsets do not match the connectivity".into(),
                    ));
                }
                self.seek(at)?;
                let end = |cell: u64| offsets.get(cell as usize + 1).copied();
                // Empty cells before the first value.
                while cell < n_cells && end(cell) == Some(0) {
                    finish(cell, &mut ids)?;
                    cell += 1;
                }
                self.values(ty, count, "CELLS CONNECTIVITY", |i, v| {
                    ids.push(v as u32);
                    while cell < n_cells && end(cell) == Some(i + 1) {
                        finish(cell, &mut ids)?;
                        cell += 1;
                    }
                    Ok(())
                })?;
            }
        }
        Ok(centres)
    }
}

/// The distinct points of a polyhedron's face stream, sorted (`None`: a broken stream).
fn face_stream_points(stream: &[u32]) -> Option<Vec<u32>> {
    let mut points: Vec<u32> = polyhedron_faces(stream).ok()?.concat();
    points.sort_unstable();
    points.dedup();
    Some(points)
}

/// The mean of the points `ids` (in f64, rounded to f32 like `geometry::cell_centres`).
fn mean(ids: &[u32], points: &[[f32; 3]]) -> Option<[f32; 3]> {
    if ids.is_empty() {
        return None;
    }
    let mut sum = [0.0f64; 3];
    for &id in ids {
        let p = points.get(id as usize)?;
        for (s, c) in sum.iter_mut().zip(p) {
            *s += f64::from(*c);
        }
    }
    let inv = 1.0 / ids.len() as f64;
    Some(sum.map(|s| (s * inv) as f32))
}
