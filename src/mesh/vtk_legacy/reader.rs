//! The whole-file reader's state and its primitives: the header, counts checked against the bytes
//! left, binary blocks, numbers in either encoding, strings and metadata skipped. The dataset's
//! structure (`structure`) and its attributes (`attributes`) are read by further methods.

use super::cursor::Cursor;
use super::grammar::{be, parse_int, show, skip_metadata, DataType};
use crate::mesh::error::{invalid, unsupported, ParseResult};
use crate::mesh::field::ScalarType;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dataset {
    PolyData,
    UnstructuredGrid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Attributes {
    Point,
    Cell,
}

pub(super) struct Reader<'a> {
    pub(super) cur: Cursor<'a>,
    pub(super) binary: bool,
    pub(super) major_version: u32,
}

/// Destination value type of numeric arrays (`f32` for coordinates and point/cell data, `f64` for
/// field data).
pub(super) trait Real: Copy {
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

impl<'a> Reader<'a> {
    /// Reads the three header lines: version, title, `ASCII` / `BINARY`.
    pub(super) fn new(bytes: &'a [u8]) -> ParseResult<Self> {
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

    pub(super) fn dataset_type(&mut self) -> ParseResult<Dataset> {
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

    pub(super) fn token(&mut self, what: &str) -> ParseResult<&'a [u8]> {
        self.cur
            .token()
            .ok_or_else(|| invalid!("unexpected end of file in {what} (truncated?)"))
    }

    /// A non-negative count from the header of a section.
    pub(super) fn count(&mut self, what: &str) -> ParseResult<usize> {
        let token = self.token(what)?;
        parse_int(token)
            .and_then(|v| usize::try_from(v).ok())
            .ok_or_else(|| invalid!("bad count '{}' in {what}", show(token)))
    }

    /// Checks that `count` values of `dt` can fit in the rest of the file, before anything is allocated.
    pub(super) fn plausible(&self, dt: DataType, count: usize, what: &str) -> ParseResult<()> {
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
    pub(super) fn binary_block(
        &mut self,
        count: usize,
        size: usize,
        what: &str,
    ) -> ParseResult<&'a [u8]> {
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
    pub(super) fn for_each_real<R: Real>(
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

    pub(super) fn read_reals<R: Real>(
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
    pub(super) fn for_each_int(
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
    pub(super) fn skip_strings(&mut self, count: usize, what: &str) -> ParseResult<()> {
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

    /// Skips a `METADATA` block if one comes next ([`skip_metadata`]).
    pub(super) fn skip_metadata(&mut self, components: usize) -> ParseResult<()> {
        match self.cur.peek_token() {
            Some(t) if t.eq_ignore_ascii_case(b"METADATA") => {}
            _ => return Ok(()),
        }
        self.cur.token();
        self.cur.end_line();
        let cur = &mut self.cur;
        match skip_metadata(components, || ParseResult::Ok(cur.line()))? {
            true => Ok(()),
            false => Err(invalid!(
                "unexpected end of file in METADATA COMPONENT_NAMES"
            )),
        }
    }
}
