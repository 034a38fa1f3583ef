//! Reader for legacy VTK files (`# vtk DataFile Version 2.0` … `5.1`, `.vtk`).
//!
//! Reads `DATASET POLYDATA` and `DATASET UNSTRUCTURED_GRID` in ASCII and BINARY (big-endian) encoding,
//! with both cell layouts: version ≤ 4.2 (`CELLS n size` followed by `npts id…` records) and
//! version 5.x (`CELLS nOffsets nConnectivity` followed by `OFFSETS` and `CONNECTIVITY` arrays).
//! Attributes (`SCALARS`, `VECTORS`, `NORMALS`, `TENSORS`, `TEXTURE_COORDINATES`, `COLOR_SCALARS`,
//! `FIELD` arrays, ...) become point / cell data as `f32`; a `FIELD` block outside `POINT_DATA` /
//! `CELL_DATA` becomes field data as `f64`. `METADATA` blocks, `LOOKUP_TABLE` sections and string
//! arrays are skipped.
//!
//! Polyhedra (`VTK_POLYHEDRON`, 42) are stored in legacy files as face streams
//! `nFaces, (nPts, id…)…`; the reader turns each into its distinct points (in order of first appearance)
//! plus its faces in [`Polyhedra`].
//!
//! The parser works on the file's bytes with a tokenizer (no per-line allocation) and never trusts a
//! count before checking that the remaining bytes can hold it.

use std::path::Path;

use super::cells::{CellType, Cells, Polyhedra};
use super::error::{invalid, unsupported, Context, ParseResult, Result};
use super::field::{Field, ScalarType, Values};
use super::model::Mesh;

/// Reads a legacy VTK file.
pub fn read(path: &Path) -> Result<Mesh> {
    let bytes = super::SplitFile::open(path)?.read_all()?;
    parse(&bytes).at(path)
}

/// Parses the bytes of a legacy VTK file (the whole file, header included).
pub fn parse(bytes: &[u8]) -> ParseResult<Mesh> {
    let mut reader = Reader::new(bytes)?;
    let dataset = reader.dataset_type()?;
    reader.read_dataset(dataset)
}

// ---------------------------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------------------------

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// A position in the file's bytes.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// The next whitespace-separated token, or `None` at the end of the file.
    fn token(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest();
        let start = rest.iter().position(|&b| !is_space(b))?;
        let tail = rest.get(start..)?;
        let len = tail.iter().position(|&b| is_space(b)).unwrap_or(tail.len());
        self.pos += start + len;
        tail.get(..len)
    }

    /// The next token without consuming it.
    fn peek_token(&self) -> Option<&'a [u8]> {
        let mut copy = Cursor {
            buf: self.buf,
            pos: self.pos,
        };
        copy.token()
    }

    /// The rest of the current line (without `\r\n`), consuming the newline; `None` at the end of the file.
    fn line(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest();
        if rest.is_empty() {
            return None;
        }
        let (line, consumed) = match memchr::memchr(b'\n', rest) {
            Some(i) => (rest.get(..i)?, i + 1),
            None => (rest, rest.len()),
        };
        self.pos += consumed;
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    }

    /// Moves past the end of the current line (binary data starts after the header line's newline).
    fn end_line(&mut self) {
        let rest = self.rest();
        self.pos += match memchr::memchr(b'\n', rest) {
            Some(i) => i + 1,
            None => rest.len(),
        };
    }

    fn take(&mut self, n: usize, what: &str) -> ParseResult<&'a [u8]> {
        let rest = self.rest();
        let bytes = rest.get(..n).ok_or_else(|| {
            invalid!(
                "unexpected end of file in {what}: {n} bytes of binary data expected, {} left (truncated?)",
                rest.len()
            )
        })?;
        self.pos += n;
        Ok(bytes)
    }
}

fn show(token: &[u8]) -> String {
    let shown: Vec<u8> = token.iter().copied().take(40).collect();
    let mut s = String::from_utf8_lossy(&shown).into_owned();
    if token.len() > 40 {
        s.push('…');
    }
    s
}

/// Decodes VTK's `%XX` escapes in names (`my%20array` → `my array`).
pub(super) fn decode_name(token: &[u8]) -> String {
    let hex = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    let mut out = Vec::with_capacity(token.len());
    let mut i = 0;
    while let Some(&b) = token.get(i) {
        if b == b'%' {
            let hi = token.get(i + 1).copied().and_then(hex);
            let lo = token.get(i + 2).copied().and_then(hex);
            if let (Some(hi), Some(lo)) = (hi, lo) {
                out.push(hi * 16 + lo);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a decimal integer token; falls back to a float with an integral value (`3.0`).
fn parse_int(token: &[u8]) -> Option<i64> {
    let (negative, digits) = match token.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, token),
    };
    if !digits.is_empty() && digits.len() <= 18 && digits.iter().all(u8::is_ascii_digit) {
        let v = digits
            .iter()
            .fold(0i64, |acc, &d| acc * 10 + i64::from(d - b'0'));
        return Some(if negative { -v } else { v });
    }
    let s = std::str::from_utf8(token).ok()?;
    if let Ok(v) = s.parse::<i64>() {
        return Some(v);
    }
    let f = s.parse::<f64>().ok()?;
    if f.fract() == 0.0 && f.abs() < 9.0e18 {
        Some(f as i64)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Data types
// ---------------------------------------------------------------------------------------------

/// A legacy data type name as it appears after an array header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DataType {
    /// Packed bits in binary files (most significant bit first), `0`/`1` in ASCII.
    Bit,
    Num(ScalarType),
    /// `vtkIdType`: the legacy writer stores it as a 32-bit int in binary files.
    IdType,
    /// `string` / `utf8_string` arrays: skipped.
    Str,
}

impl DataType {
    fn parse(token: &[u8], what: &str) -> ParseResult<Self> {
        let name = String::from_utf8_lossy(token).to_ascii_lowercase();
        Ok(match name.as_str() {
            "bit" => DataType::Bit,
            "vtkidtype" | "idtype" => DataType::IdType,
            "string" | "utf8_string" => DataType::Str,
            "variant" => return Err(unsupported!("variant arrays ({what})")),
            _ => match ScalarType::from_vtk_name(&name) {
                Some(t) => DataType::Num(t),
                None => return Err(invalid!("unknown data type '{}' in {what}", show(token))),
            },
        })
    }

    fn source_type(self) -> ScalarType {
        match self {
            DataType::Bit => ScalarType::U8,
            DataType::Num(t) => t,
            DataType::IdType | DataType::Str => ScalarType::I64,
        }
    }

    fn is_f32(self) -> bool {
        self == DataType::Num(ScalarType::F32)
    }
}

/// Destination value type of numeric arrays (`f32` for coordinates and point/cell data, `f64` for
/// field data).
trait Real: Copy {
    fn from_f32(x: f32) -> Self;
    fn from_f64(x: f64) -> Self;
    /// Parses an ASCII token; `source_f32` says the array is declared `float` (then parse as `f32`, as
    /// VTK does, so that the values are bit-identical).
    fn parse(token: &[u8], source_f32: bool) -> Option<Self>;
}

impl Real for f32 {
    fn from_f32(x: f32) -> Self {
        x
    }
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn parse(token: &[u8], source_f32: bool) -> Option<Self> {
        let s = std::str::from_utf8(token).ok()?;
        if source_f32 {
            s.parse::<f32>().ok()
        } else {
            s.parse::<f64>().ok().map(|x| x as f32)
        }
    }
}

impl Real for f64 {
    fn from_f32(x: f32) -> Self {
        f64::from(x)
    }
    fn from_f64(x: f64) -> Self {
        x
    }
    fn parse(token: &[u8], source_f32: bool) -> Option<Self> {
        let s = std::str::from_utf8(token).ok()?;
        if source_f32 {
            s.parse::<f32>().ok().map(f64::from)
        } else {
            s.parse::<f64>().ok()
        }
    }
}

fn be<const N: usize>(chunk: &[u8]) -> [u8; N] {
    chunk.try_into().unwrap_or([0; N])
}

// ---------------------------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dataset {
    PolyData,
    UnstructuredGrid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attributes {
    Point,
    Cell,
}

/// Cells as stored: offsets (`n + 1`, from 0) into a connectivity that, for polyhedra, still holds face
/// streams.
#[derive(Debug)]
struct RawCells {
    offsets: Vec<u64>,
    connectivity: Vec<u32>,
}

impl Default for RawCells {
    fn default() -> Self {
        RawCells {
            offsets: vec![0],
            connectivity: Vec::new(),
        }
    }
}

impl RawCells {
    fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    fn cell(&self, i: usize) -> &[u32] {
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => self.connectivity.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }
}

struct Reader<'a> {
    cur: Cursor<'a>,
    binary: bool,
    major_version: u32,
}

impl<'a> Reader<'a> {
    /// Reads the three header lines: version, title, `ASCII` / `BINARY`.
    fn new(bytes: &'a [u8]) -> ParseResult<Self> {
        if bytes.is_empty() {
            return Err(invalid!("empty file"));
        }
        let mut cur = Cursor { buf: bytes, pos: 0 };
        let first = cur.line().unwrap_or(&[]);
        const MAGIC: &[u8] = b"# vtk datafile version";
        let magic = first
            .get(..MAGIC.len())
            .filter(|m| m.eq_ignore_ascii_case(MAGIC))
            .ok_or_else(|| {
                invalid!(
                    "not a legacy VTK file (the first line is '{}', expected '# vtk DataFile Version x.y')",
                    show(first)
                )
            })?;
        let version = first.get(magic.len()..).unwrap_or(&[]);
        let version = String::from_utf8_lossy(version);
        let major_version = version
            .trim()
            .split('.')
            .next()
            .and_then(|m| m.trim().parse::<u32>().ok())
            .unwrap_or(0);
        if cur.line().is_none() {
            return Err(invalid!(
                "unexpected end of file after the first line (no title line)"
            ));
        }
        let binary = match cur.token() {
            Some(t) if t.eq_ignore_ascii_case(b"ASCII") => false,
            Some(t) if t.eq_ignore_ascii_case(b"BINARY") => true,
            Some(t) => {
                return Err(invalid!(
                    "expected ASCII or BINARY on the third line, found '{}'",
                    show(t)
                ))
            }
            None => return Err(invalid!("unexpected end of file: no ASCII / BINARY line")),
        };
        Ok(Reader {
            cur,
            binary,
            major_version,
        })
    }

    fn dataset_type(&mut self) -> ParseResult<Dataset> {
        let keyword = self.token("the DATASET line")?;
        if !keyword.eq_ignore_ascii_case(b"DATASET") {
            return Err(invalid!("expected DATASET, found '{}'", show(keyword)));
        }
        let kind = self.token("the DATASET line")?;
        let kind_upper = String::from_utf8_lossy(kind).to_ascii_uppercase();
        match kind_upper.as_str() {
            "POLYDATA" => Ok(Dataset::PolyData),
            "UNSTRUCTURED_GRID" => Ok(Dataset::UnstructuredGrid),
            "STRUCTURED_POINTS" | "STRUCTURED_GRID" | "RECTILINEAR_GRID" | "FIELD" | "GRAPH"
            | "TABLE" | "TREE" => Err(unsupported!(
                "DATASET {kind_upper} (only POLYDATA and UNSTRUCTURED_GRID are read)"
            )),
            _ => Err(unsupported!("unknown DATASET type '{}'", show(kind))),
        }
    }

    fn token(&mut self, what: &str) -> ParseResult<&'a [u8]> {
        self.cur
            .token()
            .ok_or_else(|| invalid!("unexpected end of file in {what} (truncated?)"))
    }

    /// A non-negative count from the header of a section.
    fn count(&mut self, what: &str) -> ParseResult<usize> {
        let token = self.token(what)?;
        parse_int(token)
            .and_then(|v| usize::try_from(v).ok())
            .ok_or_else(|| invalid!("bad count '{}' in {what}", show(token)))
    }

    /// Checks that `count` values of `dt` can fit in the rest of the file, before anything is allocated.
    fn plausible(&self, dt: DataType, count: usize, what: &str) -> ParseResult<()> {
        let remaining = self.cur.remaining();
        let fits = if self.binary {
            let bytes = match dt {
                DataType::Bit => Some(count.div_ceil(8)),
                DataType::Num(t) => count.checked_mul(t.size_bytes()),
                DataType::IdType => count.checked_mul(4),
                DataType::Str => Some(count),
            };
            bytes.is_some_and(|b| b <= remaining)
        } else {
            // Every ASCII value takes at least one character plus a separator.
            count <= remaining.saturating_add(1) / 2
        };
        if fits {
            Ok(())
        } else {
            Err(invalid!(
                "{what} declares {count} values but only {remaining} bytes are left (truncated or corrupt)"
            ))
        }
    }

    /// The bytes of a binary block of `count` values of `size` bytes (after the header line's newline).
    fn binary_block(&mut self, count: usize, size: usize, what: &str) -> ParseResult<&'a [u8]> {
        if count == 0 {
            return Ok(&[]);
        }
        let n = count
            .checked_mul(size)
            .ok_or_else(|| invalid!("{what}: {count} values overflow the address space"))?;
        self.cur.end_line();
        self.cur.take(n, what)
    }

    /// Reads `count` numbers of type `dt`, handing each to `push`.
    fn for_each_real<R: Real>(
        &mut self,
        dt: DataType,
        count: usize,
        what: &str,
        mut push: impl FnMut(R),
    ) -> ParseResult<()> {
        self.plausible(dt, count, what)?;
        if !self.binary {
            let f32_source = dt.is_f32();
            for _ in 0..count {
                let token = self.token(what)?;
                let v = R::parse(token, f32_source)
                    .ok_or_else(|| invalid!("bad number '{}' in {what}", show(token)))?;
                push(v);
            }
            return Ok(());
        }
        match dt {
            DataType::Bit => {
                let bytes = self.binary_block(count.div_ceil(8), 1, what)?;
                for i in 0..count {
                    let byte = bytes.get(i / 8).copied().unwrap_or(0);
                    push(R::from_f32(f32::from((byte >> (7 - i % 8)) & 1)));
                }
            }
            DataType::IdType => {
                let bytes = self.binary_block(count, 4, what)?;
                for c in bytes.chunks_exact(4) {
                    push(R::from_f64(f64::from(i32::from_be_bytes(be(c)))));
                }
            }
            DataType::Str => {
                return Err(invalid!("{what}: expected numbers, found a string array"))
            }
            DataType::Num(t) => {
                let bytes = self.binary_block(count, t.size_bytes(), what)?;
                match t {
                    ScalarType::I8 => bytes
                        .iter()
                        .for_each(|&b| push(R::from_f32(f32::from(b as i8)))),
                    ScalarType::U8 => bytes.iter().for_each(|&b| push(R::from_f32(f32::from(b)))),
                    ScalarType::I16 => bytes
                        .chunks_exact(2)
                        .for_each(|c| push(R::from_f32(f32::from(i16::from_be_bytes(be(c)))))),
                    ScalarType::U16 => bytes
                        .chunks_exact(2)
                        .for_each(|c| push(R::from_f32(f32::from(u16::from_be_bytes(be(c)))))),
                    ScalarType::I32 => bytes
                        .chunks_exact(4)
                        .for_each(|c| push(R::from_f64(f64::from(i32::from_be_bytes(be(c)))))),
                    ScalarType::U32 => bytes
                        .chunks_exact(4)
                        .for_each(|c| push(R::from_f64(f64::from(u32::from_be_bytes(be(c)))))),
                    ScalarType::I64 => bytes
                        .chunks_exact(8)
                        .for_each(|c| push(R::from_f64(i64::from_be_bytes(be(c)) as f64))),
                    ScalarType::U64 => bytes
                        .chunks_exact(8)
                        .for_each(|c| push(R::from_f64(u64::from_be_bytes(be(c)) as f64))),
                    ScalarType::F32 => bytes
                        .chunks_exact(4)
                        .for_each(|c| push(R::from_f32(f32::from_be_bytes(be(c))))),
                    ScalarType::F64 => bytes
                        .chunks_exact(8)
                        .for_each(|c| push(R::from_f64(f64::from_be_bytes(be(c))))),
                }
            }
        }
        Ok(())
    }

    fn read_reals<R: Real>(
        &mut self,
        dt: DataType,
        count: usize,
        what: &str,
    ) -> ParseResult<Vec<R>> {
        self.plausible(dt, count, what)?;
        let mut values = Vec::with_capacity(count);
        self.for_each_real(dt, count, what, |v| values.push(v))?;
        Ok(values)
    }

    /// Reads `count` integers of type `dt`, handing each to `push` (which may reject it).
    fn for_each_int(
        &mut self,
        dt: DataType,
        count: usize,
        what: &str,
        mut push: impl FnMut(i64) -> ParseResult<()>,
    ) -> ParseResult<()> {
        self.plausible(dt, count, what)?;
        if !self.binary {
            for _ in 0..count {
                let token = self.token(what)?;
                let v = parse_int(token)
                    .ok_or_else(|| invalid!("bad integer '{}' in {what}", show(token)))?;
                push(v)?;
            }
            return Ok(());
        }
        let (size, signed) = match dt {
            DataType::IdType => (4, true),
            DataType::Num(
                t @ (ScalarType::I8 | ScalarType::I16 | ScalarType::I32 | ScalarType::I64),
            ) => (t.size_bytes(), true),
            DataType::Num(
                t @ (ScalarType::U8 | ScalarType::U16 | ScalarType::U32 | ScalarType::U64),
            ) => (t.size_bytes(), false),
            _ => {
                return Err(invalid!(
                    "{what} must hold integers, found type {:?}",
                    dt.source_type()
                ))
            }
        };
        let bytes = self.binary_block(count, size, what)?;
        for c in bytes.chunks_exact(size) {
            let v = match (size, signed) {
                (1, true) => i64::from(c.first().copied().unwrap_or(0) as i8),
                (1, false) => i64::from(c.first().copied().unwrap_or(0)),
                (2, true) => i64::from(i16::from_be_bytes(be(c))),
                (2, false) => i64::from(u16::from_be_bytes(be(c))),
                (4, true) => i64::from(i32::from_be_bytes(be(c))),
                (4, false) => i64::from(u32::from_be_bytes(be(c))),
                (_, true) => i64::from_be_bytes(be(c)),
                (_, false) => i64::try_from(u64::from_be_bytes(be(c))).unwrap_or(i64::MAX),
            };
            push(v)?;
        }
        Ok(())
    }

    /// Skips an array whose values are not kept (strings).
    fn skip_strings(&mut self, count: usize, what: &str) -> ParseResult<()> {
        // Both encodings start the values on the line after the header.
        self.cur.end_line();
        if !self.binary {
            for _ in 0..count {
                self.cur
                    .line()
                    .ok_or_else(|| invalid!("unexpected end of file in {what} (truncated?)"))?;
            }
            return Ok(());
        }
        for _ in 0..count {
            let first = *self.cur.take(1, what)?.first().unwrap_or(&0);
            let len = match first >> 6 {
                3 => u64::from(first & 0x3f),
                2 => {
                    let b = self.cur.take(1, what)?;
                    u64::from(u16::from_be_bytes([first, b.first().copied().unwrap_or(0)]) & 0x3fff)
                }
                1 => {
                    let b = self.cur.take(3, what)?;
                    let mut word = [first, 0, 0, 0];
                    for (dst, src) in word.iter_mut().skip(1).zip(b) {
                        *dst = *src;
                    }
                    u64::from(u32::from_be_bytes(word) & 0x3fff_ffff)
                }
                _ => {
                    let b = self.cur.take(7, what)?;
                    let mut word = [first, 0, 0, 0, 0, 0, 0, 0];
                    for (dst, src) in word.iter_mut().skip(1).zip(b) {
                        *dst = *src;
                    }
                    u64::from_be_bytes(word)
                }
            };
            let len = usize::try_from(len)
                .map_err(|_| invalid!("{what}: string length {len} is too large"))?;
            self.cur.take(len, what)?;
        }
        Ok(())
    }

    /// Skips a `METADATA` block (VTK ≥ 8 writes one after arrays with component names or information
    /// keys), if one comes next. The block ends at a blank line.
    fn skip_metadata(&mut self, components: usize) -> ParseResult<()> {
        match self.cur.peek_token() {
            Some(t) if t.eq_ignore_ascii_case(b"METADATA") => {}
            _ => return Ok(()),
        }
        self.cur.token();
        self.cur.end_line();
        while let Some(line) = self.cur.line() {
            let word = line
                .split(|&b| is_space(b))
                .find(|w| !w.is_empty())
                .unwrap_or(&[]);
            if word.is_empty() {
                break;
            }
            if word.eq_ignore_ascii_case(b"COMPONENT_NAMES") {
                // One line per component (a name may be empty, so count lines instead of looking for
                // the blank line).
                for _ in 0..components {
                    self.cur.line().ok_or_else(|| {
                        invalid!("unexpected end of file in METADATA COMPONENT_NAMES")
                    })?;
                }
            }
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Dataset structure
    // -----------------------------------------------------------------------------------------

    fn read_dataset(&mut self, dataset: Dataset) -> ParseResult<Mesh> {
        let mut points: Option<Vec<[f32; 3]>> = None;
        // Polydata sections in VTK's cell order: verts, lines, polys, strips.
        let mut poly_sections: [Option<RawCells>; 4] = [None, None, None, None];
        let mut ug_cells: Option<RawCells> = None;
        let mut ug_types: Option<Vec<CellType>> = None;
        let mut field_data = Vec::new();
        let mut point_data = Vec::new();
        let mut cell_data = Vec::new();
        let mut attributes: Option<(Attributes, usize)> = None;
        let mut n_cells: Option<usize> = None;

        while let Some(keyword) = self.cur.token() {
            let upper = String::from_utf8_lossy(keyword).to_ascii_uppercase();
            if let Some((location, expected)) = attributes {
                match upper.as_str() {
                    "POINT_DATA" | "CELL_DATA" | "METADATA" => {}
                    _ => {
                        let out = match location {
                            Attributes::Point => &mut point_data,
                            Attributes::Cell => &mut cell_data,
                        };
                        self.read_attribute(&upper, location, expected, out)?;
                        continue;
                    }
                }
            }
            match (upper.as_str(), dataset) {
                ("FIELD", _) => self.read_field_block(None, &mut field_data)?,
                ("METADATA", _) => {
                    // A stray metadata block: skip it like the one after an array.
                    self.cur.pos -= keyword.len();
                    self.skip_metadata(0)?;
                }
                ("POINTS", _) => {
                    if points.is_some() {
                        return Err(invalid!("second POINTS section"));
                    }
                    points = Some(self.read_points()?);
                }
                ("VERTICES" | "LINES" | "POLYGONS" | "TRIANGLE_STRIPS", Dataset::PolyData) => {
                    let slot = match upper.as_str() {
                        "VERTICES" => 0,
                        "LINES" => 1,
                        "POLYGONS" => 2,
                        _ => 3,
                    };
                    let cells = self.read_cell_array(&upper)?;
                    if let Some(s) = poly_sections.get_mut(slot) {
                        if s.is_some() {
                            return Err(invalid!("second {upper} section"));
                        }
                        *s = Some(cells);
                    }
                }
                ("CELLS", Dataset::UnstructuredGrid) => {
                    if ug_cells.is_some() {
                        return Err(invalid!("second CELLS section"));
                    }
                    ug_cells = Some(self.read_cell_array("CELLS")?);
                }
                ("CELL_TYPES", Dataset::UnstructuredGrid) => {
                    if ug_types.is_some() {
                        return Err(invalid!("second CELL_TYPES section"));
                    }
                    ug_types = Some(self.read_cell_types()?);
                }
                ("POINT_DATA" | "CELL_DATA", _) => {
                    let location = if upper == "POINT_DATA" {
                        Attributes::Point
                    } else {
                        Attributes::Cell
                    };
                    let n = self.count(&upper)?;
                    let actual = match location {
                        Attributes::Point => points.as_ref().map_or(0, Vec::len),
                        Attributes::Cell => *n_cells.get_or_insert(match dataset {
                            Dataset::PolyData => {
                                poly_sections.iter().flatten().map(RawCells::len).sum()
                            }
                            Dataset::UnstructuredGrid => ug_cells.as_ref().map_or(0, RawCells::len),
                        }),
                    };
                    if n != actual {
                        let noun = match location {
                            Attributes::Point => "points",
                            Attributes::Cell => "cells",
                        };
                        return Err(invalid!("{upper} {n} but the dataset has {actual} {noun}"));
                    }
                    attributes = Some((location, n));
                }
                _ => {
                    let name = match dataset {
                        Dataset::PolyData => "POLYDATA",
                        Dataset::UnstructuredGrid => "UNSTRUCTURED_GRID",
                    };
                    return Err(invalid!(
                        "unexpected keyword '{}' in DATASET {name}",
                        show(keyword)
                    ));
                }
            }
        }

        let points = points.unwrap_or_default();
        let cells = match dataset {
            Dataset::PolyData => merge_poly_sections(poly_sections)?,
            Dataset::UnstructuredGrid => {
                let raw = ug_cells.unwrap_or_default();
                let types = ug_types.unwrap_or_default();
                if types.len() != raw.len() {
                    return Err(invalid!(
                        "CELLS holds {} cells but CELL_TYPES {}",
                        raw.len(),
                        types.len()
                    ));
                }
                build_unstructured(raw, types, points.len())?
            }
        };
        if let Some(n) = n_cells {
            if n != cells.len() {
                return Err(invalid!(
                    "CELL_DATA {n} but the dataset has {} cells",
                    cells.len()
                ));
            }
        }
        check_point_ids(&cells, points.len())?;
        Ok(Mesh {
            points,
            cells,
            point_data,
            cell_data,
            field_data,
            parts: None,
        })
    }

    fn read_points(&mut self) -> ParseResult<Vec<[f32; 3]>> {
        let n = self.count("POINTS")?;
        let dt = DataType::parse(self.token("POINTS")?, "POINTS")?;
        let total = n
            .checked_mul(3)
            .ok_or_else(|| invalid!("POINTS {n} is too large"))?;
        self.plausible(dt, total, "POINTS")?;
        let mut points = Vec::with_capacity(n);
        let mut xyz = [0f32; 3];
        let mut k = 0;
        self.for_each_real::<f32>(dt, total, "POINTS", |v| {
            if let Some(slot) = xyz.get_mut(k) {
                *slot = v;
            }
            k += 1;
            if k == 3 {
                points.push(xyz);
                k = 0;
            }
        })?;
        if let Some(i) = points.iter().position(|p| p.iter().any(|c| !c.is_finite())) {
            let p = points.get(i).copied().unwrap_or_default();
            return Err(invalid!(
                "point {i} has a non-finite coordinate {p:?} (NaN, infinite or beyond float32)"
            ));
        }
        self.skip_metadata(3)?;
        Ok(points)
    }

    /// Reads a cell array (`CELLS`, `POLYGONS`, ...) in either layout, after its keyword.
    fn read_cell_array(&mut self, what: &str) -> ParseResult<RawCells> {
        let a = self.count(what)?;
        let b = self.count(what)?;
        let new_layout =
            matches!(self.cur.peek_token(), Some(t) if t.eq_ignore_ascii_case(b"OFFSETS"));
        if new_layout {
            return self.read_offsets_connectivity(a, b, what);
        }
        if self.major_version >= 5 {
            if a == 0 {
                return Ok(RawCells::default());
            }
            return Err(invalid!(
                "{what}: expected an OFFSETS array (file version 5 layout)"
            ));
        }
        self.read_legacy_cells(a, b, what)
    }

    /// Version ≤ 4.2: `n` records `npts id…` of `size` integers in all (int32 in binary files).
    fn read_legacy_cells(&mut self, n: usize, size: usize, what: &str) -> ParseResult<RawCells> {
        if n > size {
            return Err(invalid!(
                "{what} {n} {size}: more cells than integers in the cell list"
            ));
        }
        let dt = DataType::Num(ScalarType::I32);
        self.plausible(dt, size, what)?;
        let mut values: Vec<u32> = Vec::with_capacity(size);
        self.for_each_int(dt, size, what, |v| {
            let v = u32::try_from(v)
                .map_err(|_| invalid!("{what}: value {v} is not a valid point id or count"))?;
            values.push(v);
            Ok(())
        })?;
        self.skip_metadata(1)?;
        // Compact the records into offsets + connectivity in place.
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0u64);
        let (mut read, mut write) = (0usize, 0usize);
        for cell in 0..n {
            let npts = *values
                .get(read)
                .ok_or_else(|| invalid!("{what}: the cell list ends at cell {cell} of {n}"))?
                as usize;
            let start = read + 1;
            let end = start
                .checked_add(npts)
                .filter(|&e| e <= values.len())
                .ok_or_else(|| {
                    invalid!(
                        "{what}: cell {cell} declares {npts} points, past the end of the cell list"
                    )
                })?;
            values.copy_within(start..end, write);
            write += npts;
            read = end;
            offsets.push(write as u64);
        }
        if read != values.len() {
            return Err(invalid!(
                "{what}: the {n} cells use {read} integers but the header declares {size}"
            ));
        }
        values.truncate(write);
        Ok(RawCells {
            offsets,
            connectivity: values,
        })
    }

    /// Version 5.x: `OFFSETS type` (`n_offsets` values) then `CONNECTIVITY type` (`n_conn` values).
    fn read_offsets_connectivity(
        &mut self,
        n_offsets: usize,
        n_conn: usize,
        what: &str,
    ) -> ParseResult<RawCells> {
        let offsets_what = format!("{what} OFFSETS");
        self.token(&offsets_what)?;
        let dt = DataType::parse(self.token(&offsets_what)?, &offsets_what)?;
        self.plausible(dt, n_offsets, &offsets_what)?;
        let mut offsets: Vec<u64> = Vec::with_capacity(n_offsets.max(1));
        self.for_each_int(dt, n_offsets, &offsets_what, |v| {
            let v = u64::try_from(v)
                .ok()
                .filter(|&v| v <= n_conn as u64)
                .ok_or_else(|| {
                    invalid!("{offsets_what}: offset {v} outside the connectivity (0..={n_conn})")
                })?;
            if offsets.last().is_some_and(|&last| v < last) {
                return Err(invalid!("{offsets_what}: offsets decrease"));
            }
            offsets.push(v);
            Ok(())
        })?;
        self.skip_metadata(1)?;
        if offsets.is_empty() {
            offsets.push(0);
        }
        if offsets.first() != Some(&0) || offsets.last() != Some(&(n_conn as u64)) {
            return Err(invalid!(
                "{offsets_what}: offsets must run from 0 to {n_conn}, found {:?}..{:?}",
                offsets.first(),
                offsets.last()
            ));
        }

        let conn_what = format!("{what} CONNECTIVITY");
        let keyword = self.token(&conn_what)?;
        if !keyword.eq_ignore_ascii_case(b"CONNECTIVITY") {
            return Err(invalid!(
                "{what}: expected CONNECTIVITY after OFFSETS, found '{}'",
                show(keyword)
            ));
        }
        let dt = DataType::parse(self.token(&conn_what)?, &conn_what)?;
        self.plausible(dt, n_conn, &conn_what)?;
        let mut connectivity = Vec::with_capacity(n_conn);
        self.for_each_int(dt, n_conn, &conn_what, |v| {
            let v = u32::try_from(v)
                .map_err(|_| invalid!("{conn_what}: value {v} is not a valid point id or count"))?;
            connectivity.push(v);
            Ok(())
        })?;
        self.skip_metadata(1)?;
        Ok(RawCells {
            offsets,
            connectivity,
        })
    }

    fn read_cell_types(&mut self) -> ParseResult<Vec<CellType>> {
        let n = self.count("CELL_TYPES")?;
        let dt = DataType::Num(ScalarType::I32);
        self.plausible(dt, n, "CELL_TYPES")?;
        let mut types = Vec::with_capacity(n);
        self.for_each_int(dt, n, "CELL_TYPES", |v| {
            let t = u8::try_from(v).map_err(|_| invalid!("CELL_TYPES: bad cell type {v}"))?;
            types.push(CellType(t));
            Ok(())
        })?;
        self.skip_metadata(1)?;
        Ok(types)
    }

    // -----------------------------------------------------------------------------------------
    // Attributes
    // -----------------------------------------------------------------------------------------

    /// Reads one attribute section of `POINT_DATA` / `CELL_DATA` (its keyword already consumed).
    fn read_attribute(
        &mut self,
        keyword: &str,
        location: Attributes,
        n: usize,
        out: &mut Vec<Field>,
    ) -> ParseResult<()> {
        let section = match location {
            Attributes::Point => "POINT_DATA",
            Attributes::Cell => "CELL_DATA",
        };
        match keyword {
            "FIELD" => return self.read_field_block(Some((n, section)), out),
            "LOOKUP_TABLE" => {
                let what = format!("{section} LOOKUP_TABLE");
                self.token(&what)?;
                let size = self.count(&what)?;
                let values = size
                    .checked_mul(4)
                    .ok_or_else(|| invalid!("{what} {size} is too large"))?;
                // Binary tables are RGBA bytes, ASCII ones RGBA floats in [0, 1].
                let dt = if self.binary {
                    DataType::Num(ScalarType::U8)
                } else {
                    DataType::Num(ScalarType::F32)
                };
                return self.for_each_real::<f32>(dt, values, &what, |_| {});
            }
            _ => {}
        }
        let name_token = self.token(&format!("{section} {keyword}"))?;
        let name = decode_name(name_token);
        let what = format!("{section} {keyword} '{name}'");
        let (dt, components) = match keyword {
            "SCALARS" => {
                let dt = DataType::parse(self.token(&what)?, &what)?;
                let mut next = self.token(&what)?;
                let mut components = 1;
                if !next.eq_ignore_ascii_case(b"LOOKUP_TABLE") {
                    components = parse_int(next)
                        .and_then(|c| usize::try_from(c).ok())
                        .filter(|&c| c >= 1)
                        .ok_or_else(|| {
                            invalid!("{what}: bad number of components '{}'", show(next))
                        })?;
                    next = self.token(&what)?;
                }
                if !next.eq_ignore_ascii_case(b"LOOKUP_TABLE") {
                    return Err(invalid!(
                        "{what}: expected LOOKUP_TABLE, found '{}'",
                        show(next)
                    ));
                }
                self.token(&what)?; // the table's name
                (dt, components)
            }
            "COLOR_SCALARS" => {
                let components = self.count(&what)?;
                if components == 0 {
                    return Err(invalid!("{what}: zero components"));
                }
                // Binary files store bytes, ASCII files floats in [0, 1] that VTK scales to bytes.
                if self.binary {
                    (DataType::Num(ScalarType::U8), components)
                } else {
                    let total = n
                        .checked_mul(components)
                        .ok_or_else(|| invalid!("{what}: too many values"))?;
                    let dt = DataType::Num(ScalarType::F32);
                    let mut values: Vec<f32> = self.read_reals(dt, total, &what)?;
                    for v in &mut values {
                        *v = (255.0 * *v + 0.5).clamp(0.0, 255.0).floor();
                    }
                    self.skip_metadata(components)?;
                    out.push(Field {
                        name,
                        components,
                        values: Values::F32(values),
                        source_type: ScalarType::U8,
                    });
                    return Ok(());
                }
            }
            "VECTORS" | "NORMALS" => (DataType::parse(self.token(&what)?, &what)?, 3),
            "TENSORS" => (DataType::parse(self.token(&what)?, &what)?, 9),
            "TENSORS6" => (DataType::parse(self.token(&what)?, &what)?, 6),
            "TEXTURE_COORDINATES" => {
                let dim = self.count(&what)?;
                if !(1..=3).contains(&dim) {
                    return Err(invalid!("{what}: texture coordinate dimension {dim}"));
                }
                (DataType::parse(self.token(&what)?, &what)?, dim)
            }
            "GLOBAL_IDS" | "PEDIGREE_IDS" | "EDGE_FLAGS" => {
                (DataType::parse(self.token(&what)?, &what)?, 1)
            }
            _ => {
                return Err(invalid!(
                    "unknown attribute '{}' in {section}",
                    show(keyword.as_bytes())
                ))
            }
        };
        let total = n
            .checked_mul(components)
            .ok_or_else(|| invalid!("{what}: too many values"))?;
        if dt == DataType::Str {
            self.skip_strings(total, &what)?;
            return self.skip_metadata(components);
        }
        let values: Vec<f32> = self.read_reals(dt, total, &what)?;
        self.skip_metadata(components)?;
        out.push(Field {
            name,
            components,
            values: Values::F32(values),
            source_type: dt.source_type(),
        });
        Ok(())
    }

    /// Reads `FIELD name nArrays` and its arrays (keyword already consumed). `tuples` is the point or
    /// cell count for `POINT_DATA` / `CELL_DATA` fields (stored as `f32`); `None` for field data (`f64`).
    fn read_field_block(
        &mut self,
        tuples: Option<(usize, &str)>,
        out: &mut Vec<Field>,
    ) -> ParseResult<()> {
        let section = tuples.map_or("FIELD", |(_, s)| s);
        self.token(&format!("{section} FIELD"))?; // the field's name (FieldData)
        let n_arrays = self.count(&format!("{section} FIELD"))?;
        for _ in 0..n_arrays {
            let name_token = self.token(&format!("{section} FIELD array"))?;
            if name_token == b"NULL_ARRAY" {
                continue;
            }
            let name = decode_name(name_token);
            let what = format!("{section} FIELD array '{name}'");
            let components = self.count(&what)?;
            let n_tuples = self.count(&what)?;
            let dt = DataType::parse(self.token(&what)?, &what)?;
            if let Some((expected, _)) = tuples {
                if n_tuples != expected {
                    return Err(invalid!(
                        "{what} has {n_tuples} tuples, expected {expected}"
                    ));
                }
            }
            if components == 0 && n_tuples > 0 {
                return Err(invalid!("{what} has zero components"));
            }
            let total = n_tuples
                .checked_mul(components)
                .ok_or_else(|| invalid!("{what}: too many values"))?;
            if dt == DataType::Str {
                self.skip_strings(total, &what)?;
                self.skip_metadata(components)?;
                continue;
            }
            let values = if tuples.is_some() {
                Values::F32(self.read_reals::<f32>(dt, total, &what)?)
            } else {
                Values::F64(self.read_reals::<f64>(dt, total, &what)?)
            };
            self.skip_metadata(components)?;
            out.push(Field {
                name,
                components: components.max(1),
                values,
                source_type: dt.source_type(),
            });
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Cell assembly
// ---------------------------------------------------------------------------------------------

/// Merges the polydata sections (verts, lines, polys, strips) into one cell list with VTK's types.
fn merge_poly_sections(sections: [Option<RawCells>; 4]) -> ParseResult<Cells> {
    let type_of = |slot: usize, npts: usize| match (slot, npts) {
        (0, 1) => CellType::VERTEX,
        (0, _) => CellType::POLY_VERTEX,
        (1, 2) => CellType::LINE,
        (1, _) => CellType::POLY_LINE,
        (2, 3) => CellType::TRIANGLE,
        (2, 4) => CellType::QUAD,
        (2, _) => CellType::POLYGON,
        _ => CellType::TRIANGLE_STRIP,
    };
    let present = sections.iter().filter(|s| s.is_some()).count();
    let total: usize = sections.iter().flatten().map(RawCells::len).sum();
    let mut cells = Cells::default();
    cells.types.reserve(total);
    for (slot, section) in sections.into_iter().enumerate() {
        let Some(raw) = section else { continue };
        for w in raw.offsets.windows(2) {
            if let [a, b] = *w {
                cells
                    .types
                    .push(type_of(slot, b.saturating_sub(a) as usize));
            }
        }
        if present == 1 {
            cells.offsets = raw.offsets;
            cells.connectivity = raw.connectivity;
        } else {
            let base = cells.connectivity.len() as u64;
            cells
                .offsets
                .extend(raw.offsets.iter().skip(1).map(|&o| o + base));
            cells.connectivity.extend_from_slice(&raw.connectivity);
        }
    }
    if cells.offsets.len() != cells.types.len() + 1 {
        return Err(invalid!("inconsistent polydata cell offsets"));
    }
    Ok(cells)
}

/// Builds the unstructured grid's cells: checks fixed point counts and turns polyhedron face streams
/// into distinct points + [`Polyhedra`].
fn build_unstructured(raw: RawCells, types: Vec<CellType>, n_points: usize) -> ParseResult<Cells> {
    for (i, &t) in types.iter().enumerate() {
        if let Some(expected) = t.fixed_point_count() {
            let got = raw.cell(i).len();
            if got != expected {
                return Err(invalid!(
                    "cell {i} ({}) has {got} points, expected {expected}",
                    t.name()
                ));
            }
        }
    }
    if !types.contains(&CellType::POLYHEDRON) {
        return Ok(Cells {
            types,
            offsets: raw.offsets,
            connectivity: raw.connectivity,
            polyhedra: None,
        });
    }

    let mut offsets = Vec::with_capacity(raw.offsets.len());
    offsets.push(0u64);
    let mut connectivity = Vec::with_capacity(raw.connectivity.len());
    let mut poly = Polyhedra {
        cell_faces: Vec::with_capacity(types.len() + 1),
        face_offsets: vec![0],
        face_connectivity: Vec::new(),
    };
    poly.cell_faces.push(0);
    // `seen[p] == stamp` marks points already listed for the current polyhedron.
    let mut seen = vec![0u32; n_points];
    let mut stamp = 0u32;
    for (i, &t) in types.iter().enumerate() {
        let cell = raw.cell(i);
        if t == CellType::POLYHEDRON {
            stamp = match stamp.checked_add(1) {
                Some(s) => s,
                None => {
                    seen.iter_mut().for_each(|s| *s = 0);
                    1
                }
            };
            let n_faces = *cell
                .first()
                .ok_or_else(|| invalid!("polyhedron cell {i} has an empty face stream"))?
                as usize;
            let mut k = 1usize;
            for face in 0..n_faces {
                let npts = *cell.get(k).ok_or_else(|| {
                    invalid!(
                        "polyhedron cell {i}: face stream ends before face {face} of {n_faces}"
                    )
                })? as usize;
                let ids = cell.get(k + 1..k + 1 + npts).ok_or_else(|| {
                    invalid!("polyhedron cell {i}: face {face} declares {npts} points past the end of its face stream")
                })?;
                for &p in ids {
                    let slot = seen.get_mut(p as usize).ok_or_else(|| {
                        invalid!(
                            "polyhedron cell {i} refers to point {p} but there are only {n_points} points"
                        )
                    })?;
                    if *slot != stamp {
                        *slot = stamp;
                        connectivity.push(p);
                    }
                }
                poly.face_connectivity.extend_from_slice(ids);
                poly.face_offsets.push(poly.face_connectivity.len() as u64);
                k += 1 + npts;
            }
            if k != cell.len() {
                return Err(invalid!(
                    "polyhedron cell {i}: its {n_faces} faces use {k} of the {} face-stream values",
                    cell.len()
                ));
            }
        } else {
            connectivity.extend_from_slice(cell);
        }
        offsets.push(connectivity.len() as u64);
        poly.cell_faces.push(poly.n_faces() as u64);
    }
    Ok(Cells {
        types,
        offsets,
        connectivity,
        polyhedra: Some(poly),
    })
}

fn check_point_ids(cells: &Cells, n_points: usize) -> ParseResult<()> {
    if let Some((i, &p)) = cells
        .connectivity
        .iter()
        .enumerate()
        .find(|(_, &p)| p as usize >= n_points)
    {
        let cell = cells
            .offsets
            .partition_point(|&o| o <= i as u64)
            .saturating_sub(1);
        return Err(invalid!(
            "cell {cell} refers to point {p} but there are only {n_points} points"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::error::ParseError;
    use crate::mesh::MeshError;
    use crate::test_fixtures::fixtures;
    use serde_json::Value;
    use std::collections::BTreeMap;

    fn close(actual: f64, expected: f64, scale: f64) -> bool {
        (actual - expected).abs() <= 1e-6 * scale.max(actual.abs()).max(expected.abs()) + 1e-12
    }

    fn f64s(v: &Value) -> Vec<f64> {
        v.as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    }

    fn check_file(path: &Path, facts: &Value) {
        let name = path.display().to_string();
        let mesh = read(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        mesh.validate()
            .unwrap_or_else(|e| panic!("{name}: invalid mesh: {e}"));
        assert_eq!(
            mesh.n_points() as u64,
            facts["n_points"].as_u64().unwrap(),
            "{name}: n_points"
        );
        assert_eq!(
            mesh.n_cells() as u64,
            facts["n_cells"].as_u64().unwrap(),
            "{name}: n_cells"
        );

        let counts: BTreeMap<String, u64> = mesh
            .cells
            .type_counts()
            .into_iter()
            .map(|(t, n)| (t.0.to_string(), n as u64))
            .collect();
        let expected: BTreeMap<String, u64> = facts["cell_type_counts"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
            .collect();
        assert_eq!(counts, expected, "{name}: cell type counts");
        if let Some(n) = facts.get("n_triangles").and_then(Value::as_u64) {
            assert_eq!(
                counts.get("5").copied().unwrap_or(0),
                n,
                "{name}: triangles"
            );
        }
        if let Some(n) = facts.get("connectivity_length").and_then(Value::as_u64) {
            assert_eq!(
                mesh.cells.connectivity.len() as u64,
                n,
                "{name}: connectivity length"
            );
        }

        match facts.get("polyhedra") {
            Some(p) => {
                let poly = mesh.cells.polyhedra.as_ref().expect("polyhedra present");
                let ids: Vec<u64> = p["cell_ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap())
                    .collect();
                assert_eq!(ids.len() as u64, p["count"].as_u64().unwrap(), "{name}");
                let poly_cells: Vec<u64> = mesh
                    .cells
                    .types
                    .iter()
                    .enumerate()
                    .filter(|(_, &t)| t == CellType::POLYHEDRON)
                    .map(|(i, _)| i as u64)
                    .collect();
                assert_eq!(poly_cells, ids, "{name}: polyhedron cell ids");
                let faces: Vec<u64> = p["faces_per_polyhedron"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap())
                    .collect();
                for (&cell, &nf) in ids.iter().zip(&faces) {
                    let cell = cell as usize;
                    assert_eq!(
                        poly.faces_of(cell).count() as u64,
                        nf,
                        "{name}: faces of cell {cell}"
                    );
                    // The cell's points are exactly the distinct points of its faces.
                    let mut from_faces: Vec<u32> = poly.faces_of(cell).flatten().copied().collect();
                    from_faces.sort_unstable();
                    from_faces.dedup();
                    let mut pts = mesh.cells.cell(cell).to_vec();
                    let n = pts.len();
                    pts.sort_unstable();
                    pts.dedup();
                    assert_eq!(pts.len(), n, "{name}: cell {cell} lists a point twice");
                    assert_eq!(pts, from_faces, "{name}: points of polyhedron {cell}");
                }
                // Non-polyhedra have no faces.
                let total: usize = (0..mesh.n_cells()).map(|c| poly.faces_of(c).count()).sum();
                assert_eq!(
                    total as u64,
                    faces.iter().sum::<u64>(),
                    "{name}: face count"
                );
            }
            None => assert!(
                mesh.cells.polyhedra.is_none(),
                "{name}: unexpected polyhedra"
            ),
        }

        let bb = &facts["bounding_box"];
        let (lo, hi) = (f64s(&bb["min"]), f64s(&bb["max"]));
        for axis in 0..3 {
            let values = mesh.points.iter().map(|p| f64::from(p[axis]));
            let min = values.clone().fold(f64::INFINITY, f64::min);
            let max = values.fold(f64::NEG_INFINITY, f64::max);
            assert!(
                close(min, lo[axis], 0.0),
                "{name}: bbox min[{axis}] {min} vs {}",
                lo[axis]
            );
            assert!(
                close(max, hi[axis], 0.0),
                "{name}: bbox max[{axis}] {max} vs {}",
                hi[axis]
            );
        }

        let arrays = facts["arrays"].as_array().unwrap();
        let n_expected = |loc: &str| arrays.iter().filter(|a| a["association"] == loc).count();
        assert_eq!(
            mesh.point_data.len(),
            n_expected("PointData"),
            "{name}: point arrays"
        );
        assert_eq!(
            mesh.cell_data.len(),
            n_expected("CellData"),
            "{name}: cell arrays"
        );
        assert_eq!(
            mesh.field_data.len(),
            n_expected("FieldData"),
            "{name}: field arrays"
        );
        for a in arrays {
            let array_name = a["name"].as_str().unwrap();
            let fields = match a["association"].as_str().unwrap() {
                "PointData" => &mesh.point_data,
                "CellData" => &mesh.cell_data,
                "FieldData" => &mesh.field_data,
                other => panic!("{name}: unknown association {other}"),
            };
            let label = format!("{name}: {} {array_name}", a["association"]);
            let f = fields
                .iter()
                .find(|f| f.name == array_name)
                .unwrap_or_else(|| panic!("{label}: missing"));
            if a["association"] == "FieldData" {
                assert!(
                    matches!(f.values, Values::F64(_)),
                    "{label}: field data must be f64"
                );
            } else {
                assert!(
                    matches!(f.values, Values::F32(_)),
                    "{label}: point/cell data must be f32"
                );
            }
            let expected_type =
                ScalarType::from_vtk_name(a["data_type"].as_str().unwrap()).unwrap();
            assert_eq!(f.source_type, expected_type, "{label}: source type");
            assert_eq!(
                f.components as u64,
                a["n_components"].as_u64().unwrap(),
                "{label}: components"
            );
            assert_eq!(
                f.tuples() as u64,
                a["n_tuples"].as_u64().unwrap(),
                "{label}: tuples"
            );
            let stats = f.stats();
            let abs_sum: f64 = f.values.iter_f64().map(f64::abs).sum();
            let checks = [
                ("sum", stats.sum, abs_sum),
                ("min", stats.min, 0.0),
                ("max", stats.max, 0.0),
            ];
            for (what, actual, scale) in checks {
                let expected = a[what].as_f64().unwrap();
                assert!(
                    close(actual, expected, scale),
                    "{label}: {what} {actual} vs {expected}"
                );
            }
            let c = f.components;
            let n = f.values.len();
            for (key, start) in [("first_tuple", 0), ("last_tuple", n - c)] {
                let expected = f64s(&a[key]);
                assert_eq!(expected.len(), c, "{label}: {key} length");
                for (k, e) in expected.iter().enumerate() {
                    let actual = f.values.get(start + k).unwrap();
                    assert!(
                        close(actual, *e, 0.0),
                        "{label}: {key}[{k}] {actual} vs {e}"
                    );
                }
            }
        }
    }

    #[test]
    fn synthetic_legacy_fixtures_match_manifest() {
        let Some(dir) = fixtures() else { return };
        let dir = dir.join("synthetic");
        let text = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
        let manifest: Value = serde_json::from_str(&text).unwrap();
        let mut checked = 0;
        for (file, facts) in manifest["files"].as_object().unwrap() {
            if !facts["kind"].as_str().unwrap_or("").starts_with("legacy_") {
                continue;
            }
            check_file(&dir.join(file), facts);
            checked += 1;
        }
        assert!(checked >= 14, "only {checked} legacy fixtures checked");
    }

    #[test]
    fn empty_file_is_an_error() {
        let Some(dir) = fixtures() else { return };
        let path = dir.join("corrupt/empty.vtk");
        assert!(path.is_file());
        match read(&path) {
            Err(MeshError::Invalid { path: p, .. }) => assert_eq!(p, path),
            other => panic!("expected an Invalid error, got {other:?}"),
        }
        assert!(read(&dir.join("corrupt/does_not_exist.vtk")).is_err());
    }

    fn message(r: ParseResult<Mesh>) -> String {
        match r {
            Err(ParseError::Invalid(m)) | Err(ParseError::Unsupported(m)) => m,
            Err(ParseError::Io(e)) => e.to_string(),
            Ok(m) => panic!("expected an error, got a mesh with {} points", m.n_points()),
        }
    }

    const HEAD: &str = "# vtk DataFile Version 4.2\ntitle\nASCII\n";

    fn ascii(body: &str) -> Vec<u8> {
        format!("{HEAD}{body}").into_bytes()
    }

    #[test]
    fn polydata_sections_merge_in_vtk_order() {
        // Sections deliberately out of order: the cell list is verts, lines, polys, strips.
        let text = ascii(
            "DATASET POLYDATA\nPOINTS 6 double\n0 0 0 1 0 0 1 1 0\n0 1 0 0 0 1 1 0 1\n\
             TRIANGLE_STRIPS 1 5\n4 0 1 2 3\n\
             POLYGONS 3 15\n3 0 1 2\n4 0 1 2 3\n5 0 1 2 3 4\n\
             LINES 2 7\n2 0 1\n3 1 2 3\n\
             VERTICES 2 5\n1 5\n2 4 5\n\
             CELL_DATA 8\nSCALARS id int 1\nLOOKUP_TABLE default\n0 1 2 3 4 5 6 7\n",
        );
        let mesh = parse(&text).unwrap();
        let types: Vec<u8> = mesh.cells.types.iter().map(|t| t.0).collect();
        assert_eq!(types, vec![1, 2, 3, 4, 5, 9, 7, 6]);
        assert_eq!(mesh.cells.cell(0), &[5]);
        assert_eq!(mesh.cells.cell(1), &[4, 5]);
        assert_eq!(mesh.cells.cell(3), &[1, 2, 3]);
        assert_eq!(mesh.cells.cell(6), &[0, 1, 2, 3, 4]);
        assert_eq!(mesh.cells.cell(7), &[0, 1, 2, 3]);
        mesh.validate().unwrap();
        assert_eq!(mesh.cell_data[0].source_type, ScalarType::I32);
    }

    #[test]
    fn version5_layout_with_int32_arrays_and_metadata() {
        let text = "# vtk DataFile Version 5.1\nvtk output\nASCII\nDATASET UNSTRUCTURED_GRID\n\
            POINTS 5 float\n0 0 0 1 0 0 0 1 0 0 0 1 1 1 1\n\
            METADATA\nINFORMATION 0\n\n\
            CELLS 3 5\nOFFSETS vtktypeint32\n0 4 5\nCONNECTIVITY vtktypeint32\n0 1 2 3 4\n\
            CELL_TYPES 2\n10\n1\n\
            POINT_DATA 5\nVECTORS my%20velocity float\n1 2 3 1 2 3 1 2 3 1 2 3 1 2 3\n\
            METADATA\nCOMPONENT_NAMES\nu\n\nw\nINFORMATION 1\nNAME L2_NORM_RANGE LOCATION vtkDataArray\nDATA 2 0 1\n\n\
            FIELD FieldData 2\nNULL_ARRAY\nflags 1 5 bit\n1 0 1 1 0\n";
        let mesh = parse(text.as_bytes()).unwrap();
        mesh.validate().unwrap();
        assert_eq!(mesh.cells.types, vec![CellType::TETRA, CellType::VERTEX]);
        assert_eq!(mesh.cells.offsets, vec![0, 4, 5]);
        assert_eq!(mesh.point_data.len(), 2);
        assert_eq!(mesh.point_data[0].name, "my velocity");
        assert_eq!(mesh.point_data[0].components, 3);
        assert_eq!(mesh.point_data[1].name, "flags");
        assert_eq!(
            mesh.point_data[1].values,
            Values::F32(vec![1.0, 0.0, 1.0, 1.0, 0.0])
        );
        assert_eq!(mesh.point_data[1].source_type, ScalarType::U8);
    }

    #[test]
    fn all_attribute_kinds() {
        let text = ascii(
            "DATASET POLYDATA\nFIELD FieldData 2\nTime 1 1 double\n0.125\nnames 1 2 string\nfirst\nsecond%20one\n\
             POINTS 2 float\n0 0 0 1 1 1\nVERTICES 2 4\n1 0\n1 1\n\
             POINT_DATA 2\n\
             SCALARS s float 2\nLOOKUP_TABLE my_table\n1 2 3 4\n\
             LOOKUP_TABLE my_table 2\n0 0 0 1 1 1 1 1\n\
             COLOR_SCALARS rgb 3\n0 0.5 1 1 1 1\n\
             NORMALS n float\n0 0 1 0 1 0\n\
             TEXTURE_COORDINATES uv 2 float\n0 0 1 1\n\
             TENSORS t double\n1 0 0 0 1 0 0 0 1 2 0 0 0 2 0 0 0 2\n\
             TENSORS6 t6 float\n1 2 3 4 5 6 1 2 3 4 5 6\n\
             GLOBAL_IDS gid vtkIdType\n7 8\n\
             CELL_DATA 2\nFIELD FieldData 1\nq 1 2 unsigned_short\n3 65535\n",
        );
        let mesh = parse(&text).unwrap();
        mesh.validate().unwrap();
        let names: Vec<&str> = mesh.point_data.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["s", "rgb", "n", "uv", "t", "t6", "gid"]);
        let comps: Vec<usize> = mesh.point_data.iter().map(|f| f.components).collect();
        assert_eq!(comps, [2, 3, 3, 2, 9, 6, 1]);
        assert_eq!(
            mesh.point_data[1].values,
            Values::F32(vec![0.0, 128.0, 255.0, 255.0, 255.0, 255.0])
        );
        assert_eq!(mesh.point_data[1].source_type, ScalarType::U8);
        assert_eq!(mesh.point_data[6].source_type, ScalarType::I64);
        assert_eq!(mesh.cell_data[0].values, Values::F32(vec![3.0, 65535.0]));
        assert_eq!(mesh.field_data.len(), 1, "string arrays are skipped");
        assert_eq!(mesh.field_data[0].values, Values::F64(vec![0.125]));
    }

    /// A tiny big-endian writer for hand-made BINARY files.
    #[derive(Default)]
    struct Bin(Vec<u8>);
    impl Bin {
        fn text(mut self, s: &str) -> Self {
            self.0.extend_from_slice(s.as_bytes());
            self
        }
        fn i32s(mut self, v: &[i32]) -> Self {
            v.iter()
                .for_each(|x| self.0.extend_from_slice(&x.to_be_bytes()));
            self.text("\n")
        }
        fn i64s(mut self, v: &[i64]) -> Self {
            v.iter()
                .for_each(|x| self.0.extend_from_slice(&x.to_be_bytes()));
            self.text("\n")
        }
        fn f32s(mut self, v: &[f32]) -> Self {
            v.iter()
                .for_each(|x| self.0.extend_from_slice(&x.to_be_bytes()));
            self.text("\n")
        }
        fn bytes(mut self, v: &[u8]) -> Self {
            self.0.extend_from_slice(v);
            self.text("\n")
        }
    }

    /// A pyramid-shaped polyhedron (5 points, 5 faces) and a vertex, in binary with the 5.1 layout.
    fn binary_polyhedron() -> Vec<u8> {
        let stream: Vec<i64> = vec![
            5, 4, 0, 1, 2, 3, 3, 0, 1, 4, 3, 1, 2, 4, 3, 2, 3, 4, 3, 3, 0, 4, //
            0,
        ];
        let n = stream.len() as i64;
        Bin::default()
            .text("# vtk DataFile Version 5.1\nvtk output\nBINARY\nDATASET UNSTRUCTURED_GRID\n")
            .text("FIELD FieldData 2\nlabels 1 2 string\n")
            .bytes(&[0xc3, b'a', b'b', b'c', 0x80, 0x02, b'd', b'e'])
            .text("T 1 1 double\n")
            .bytes(&1.5f64.to_be_bytes())
            .text("POINTS 5 float\n")
            .f32s(&[0., 0., 0., 1., 0., 0., 1., 1., 0., 0., 1., 0., 0.5, 0.5, 1.])
            .text(&format!("CELLS 3 {n}\nOFFSETS vtktypeint64\n"))
            .i64s(&[0, n - 1, n])
            .text("CONNECTIVITY vtktypeint64\n")
            .i64s(&stream)
            .text("CELL_TYPES 2\n")
            .i32s(&[42, 1])
            .text("CELL_DATA 2\nSCALARS c unsigned_char\nLOOKUP_TABLE default\n")
            .bytes(&[7, 250])
            .text("POINT_DATA 5\nFIELD FieldData 1\nb 1 5 bit\n")
            .bytes(&[0b1010_1000])
            .0
    }

    #[test]
    fn binary_polyhedron_and_strings() {
        let mesh = parse(&binary_polyhedron()).unwrap();
        mesh.validate().unwrap();
        assert_eq!(
            mesh.cells.types,
            vec![CellType::POLYHEDRON, CellType::VERTEX]
        );
        assert_eq!(mesh.cells.cell(0), &[0, 1, 2, 3, 4]);
        assert_eq!(mesh.cells.cell(1), &[0]);
        let poly = mesh.cells.polyhedra.as_ref().unwrap();
        assert_eq!(poly.cell_faces, vec![0, 5, 5]);
        let faces: Vec<Vec<u32>> = poly.faces_of(0).map(<[u32]>::to_vec).collect();
        assert_eq!(faces[0], vec![0, 1, 2, 3]);
        assert_eq!(faces[4], vec![3, 0, 4]);
        assert_eq!(mesh.field_data.len(), 1);
        assert_eq!(mesh.field_data[0].values, Values::F64(vec![1.5]));
        assert_eq!(mesh.cell_data[0].values, Values::F32(vec![7.0, 250.0]));
        assert_eq!(
            mesh.point_data[0].values,
            Values::F32(vec![1.0, 0.0, 1.0, 0.0, 1.0])
        );
    }

    #[test]
    fn hand_made_errors() {
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("empty", Vec::new(), "empty"),
            ("not vtk", b"solid cube\nfacet normal 0 0 1\n".to_vec(), "not a legacy VTK"),
            ("header only", b"# vtk DataFile Version 4.2\n".to_vec(), "title"),
            ("no dataset", ascii(""), "DATASET"),
            ("bad encoding", b"# vtk DataFile Version 4.2\nt\nTEXT\n".to_vec(), "ASCII or BINARY"),
            ("structured points", ascii("DATASET STRUCTURED_POINTS\nDIMENSIONS 2 2 2\n"), "STRUCTURED_POINTS"),
            ("unknown dataset", ascii("DATASET BLOB\n"), "BLOB"),
            ("truncated points", ascii("DATASET POLYDATA\nPOINTS 3 float\n0 0 0 1 0 0 1 1\n"), "POINTS"),
            ("huge count", ascii("DATASET POLYDATA\nPOINTS 999999999999999 float\n0 0 0\n"), "POINTS"),
            ("overflowing count", ascii("DATASET POLYDATA\nPOINTS 9223372036854775807 float\n0 0 0\n"), "POINTS"),
            ("negative count", ascii("DATASET POLYDATA\nPOINTS -3 float\n0 0 0\n"), "bad count"),
            ("bad number", ascii("DATASET POLYDATA\nPOINTS 1 float\n0 zero 0\n"), "bad number 'zero' in POINTS"),
            ("nan point", ascii("DATASET POLYDATA\nPOINTS 2 float\n0 0 0 1 nan 0\n"), "point 1"),
            ("bad type", ascii("DATASET POLYDATA\nPOINTS 1 quaternion\n0 0 0\n"), "unknown data type"),
            ("id out of range", ascii("DATASET POLYDATA\nPOINTS 3 float\n0 0 0 1 0 0 0 1 0\nPOLYGONS 1 4\n3 0 1 3\n"), "point 3"),
            ("negative id", ascii("DATASET POLYDATA\nPOINTS 3 float\n0 0 0 1 0 0 0 1 0\nPOLYGONS 1 4\n3 0 -1 2\n"), "POLYGONS"),
            ("cell past list", ascii("DATASET POLYDATA\nPOINTS 3 float\n0 0 0 1 0 0 0 1 0\nPOLYGONS 1 4\n7 0 1 2\n"), "past the end"),
            ("cell list too long", ascii("DATASET POLYDATA\nPOINTS 3 float\n0 0 0 1 0 0 0 1 0\nPOLYGONS 1 5\n3 0 1 2 2\n"), "declares 5"),
            ("more cells than ints", ascii("DATASET POLYDATA\nPOINTS 1 float\n0 0 0\nVERTICES 5 2\n1 0\n"), "more cells"),
            ("bad id", ascii("DATASET POLYDATA\nPOINTS 3 float\n0 0 0 1 0 0 0 1 0\nPOLYGONS 1 4\n3 0 x 2\n"), "bad integer 'x' in POLYGONS"),
            ("missing cell types", ascii("DATASET UNSTRUCTURED_GRID\nPOINTS 1 float\n0 0 0\nCELLS 1 2\n1 0\n"), "CELL_TYPES"),
            ("cell type count", ascii("DATASET UNSTRUCTURED_GRID\nPOINTS 1 float\n0 0 0\nCELLS 1 2\n1 0\nCELL_TYPES 2\n1 1\n"), "CELL_TYPES"),
            ("bad cell type", ascii("DATASET UNSTRUCTURED_GRID\nPOINTS 1 float\n0 0 0\nCELLS 1 2\n1 0\nCELL_TYPES 1\n300\n"), "cell type 300"),
            ("wrong point count for type", ascii("DATASET UNSTRUCTURED_GRID\nPOINTS 3 float\n0 0 0 1 0 0 0 1 0\nCELLS 1 3\n2 0 1\nCELL_TYPES 1\n5\n"), "expected 3"),
            ("bad face stream", ascii("DATASET UNSTRUCTURED_GRID\nPOINTS 4 float\n0 0 0 1 0 0 0 1 0 0 0 1\nCELLS 1 6\n5 2 3 0 1 2\nCELL_TYPES 1\n42\n"), "polyhedron cell 0"),
            ("face stream too long", ascii("DATASET UNSTRUCTURED_GRID\nPOINTS 4 float\n0 0 0 1 0 0 0 1 0 0 0 1\nCELLS 1 7\n6 1 3 0 1 2 3\nCELL_TYPES 1\n42\n"), "polyhedron cell 0"),
            ("face id out of range", ascii("DATASET UNSTRUCTURED_GRID\nPOINTS 4 float\n0 0 0 1 0 0 0 1 0 0 0 1\nCELLS 1 6\n5 1 3 0 1 9\nCELL_TYPES 1\n42\n"), "point 9"),
            ("point data count", ascii("DATASET POLYDATA\nPOINTS 1 float\n0 0 0\nPOINT_DATA 2\n"), "POINT_DATA 2"),
            ("cell data count", ascii("DATASET POLYDATA\nPOINTS 1 float\n0 0 0\nVERTICES 1 2\n1 0\nCELL_DATA 3\n"), "CELL_DATA 3"),
            ("field tuples", ascii("DATASET POLYDATA\nPOINTS 1 float\n0 0 0\nPOINT_DATA 1\nFIELD FieldData 1\na 1 2 float\n1 2\n"), "tuples"),
            ("truncated scalars", ascii("DATASET POLYDATA\nPOINTS 2 float\n0 0 0 0 0 0\nPOINT_DATA 2\nSCALARS s float\nLOOKUP_TABLE default\n1\n"), "SCALARS 's'"),
            ("scalars without table", ascii("DATASET POLYDATA\nPOINTS 1 float\n0 0 0\nPOINT_DATA 1\nSCALARS s float\n1 2\n"), "LOOKUP_TABLE"),
            ("unknown attribute", ascii("DATASET POLYDATA\nPOINTS 1 float\n0 0 0\nPOINT_DATA 1\nBLOBS b float\n1\n"), "BLOBS"),
            ("unknown keyword", ascii("DATASET POLYDATA\nPOINTS 1 float\n0 0 0\nCELLS 1 2\n1 0\n"), "CELLS"),
            ("offsets not from 0", b"# vtk DataFile Version 5.1\nt\nASCII\nDATASET POLYDATA\nPOINTS 1 float\n0 0 0\nVERTICES 2 1\nOFFSETS vtktypeint64\n1 1\nCONNECTIVITY vtktypeint64\n0\n".to_vec(), "OFFSETS"),
            ("offsets decrease", b"# vtk DataFile Version 5.1\nt\nASCII\nDATASET POLYDATA\nPOINTS 1 float\n0 0 0\nVERTICES 3 1\nOFFSETS vtktypeint64\n0 1 0\nCONNECTIVITY vtktypeint64\n0\n".to_vec(), "decrease"),
            ("v5 without offsets", b"# vtk DataFile Version 5.1\nt\nASCII\nDATASET POLYDATA\nPOINTS 1 float\n0 0 0\nVERTICES 2 1\n0 1\n0\n".to_vec(), "OFFSETS"),
            ("float connectivity", b"# vtk DataFile Version 5.1\nt\nBINARY\nDATASET POLYDATA\nPOINTS 0 float\nVERTICES 1 0\nOFFSETS float\n\0\0\0\0\nCONNECTIVITY float\n".to_vec(), "integers"),
            ("variant", ascii("DATASET POLYDATA\nFIELD FieldData 1\nv 1 1 variant\n1 x\n"), "variant"),
        ];
        for (label, bytes, expected) in cases {
            let m = message(parse(&bytes));
            assert!(
                m.contains(expected),
                "{label}: message '{m}' should mention '{expected}'"
            );
        }
    }

    #[test]
    fn truncated_binary_is_an_error() {
        let full = binary_polyhedron();
        assert!(parse(&full).is_ok());
        // Every cut inside the header or a data block must fail; cuts between sections may leave a
        // valid (smaller) file, but nothing may panic.
        for cut in 0..full.len() {
            let _ = parse(&full[..cut]);
        }
        let points_at = full.windows(6).position(|w| w == b"POINTS").unwrap();
        for cut in [points_at + 20, points_at + 40, points_at + 70] {
            assert!(parse(&full[..cut]).is_err(), "cut at {cut}");
        }
        let Some(dir) = fixtures() else { return };
        for name in [
            "volume_f32_legacy_v51_binary.vtk",
            "surface_f32_legacy_v42_binary.vtk",
            "volume_f32_legacy_v42_ascii.vtk",
        ] {
            let bytes = std::fs::read(dir.join("synthetic").join(name)).unwrap();
            for frac in [0.01, 0.05, 0.1, 0.3, 0.45, 0.6] {
                let cut = (bytes.len() as f64 * frac) as usize;
                let r = parse(&bytes[..cut]);
                assert!(r.is_err(), "{name} cut at {cut} of {}", bytes.len());
            }
        }
    }

    #[test]
    fn garbage_never_panics() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        for len in [0usize, 1, 10, 100, 1000, 10000] {
            inputs.push((0..len).map(|_| next() as u8).collect());
            let mut with_header =
                b"# vtk DataFile Version 5.1\nx\nBINARY\nDATASET UNSTRUCTURED_GRID\n".to_vec();
            with_header.extend((0..len).map(|_| next() as u8));
            inputs.push(with_header);
        }
        // Byte flips in a valid binary file.
        let base = binary_polyhedron();
        for _ in 0..2000 {
            let mut b = base.clone();
            for _ in 0..1 + next() % 3 {
                let i = (next() as usize) % b.len();
                b[i] = next() as u8;
            }
            inputs.push(b);
        }
        // Byte flips in an ASCII polydata file.
        let text = ascii(
            "DATASET POLYDATA\nPOINTS 4 float\n0 0 0 1 0 0 1 1 0 0 1 0\nPOLYGONS 2 8\n3 0 1 2\n3 0 2 3\n\
             CELL_DATA 2\nSCALARS s float 1\nLOOKUP_TABLE default\n1 2\n",
        );
        assert!(parse(&text).is_ok());
        let alphabet = b"0123456789 -.\nxPOLYGONS";
        for _ in 0..2000 {
            let mut b = text.clone();
            let i = (next() as usize) % b.len();
            b[i] = alphabet[(next() as usize) % alphabet.len()];
            inputs.push(b);
        }
        for input in &inputs {
            if let Ok(mesh) = parse(input) {
                mesh.validate().unwrap();
            }
        }
    }
}
