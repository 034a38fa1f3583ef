//! Wavefront OBJ polygon meshes (read only).
//!
//! Read: vertices (`v x y z [w]`, `w` ignored), faces (`f`) with any of the `a`, `a/b`, `a//c`,
//! `a/b/c` index forms and negative (relative) indices, lines (`l`) and points (`p`). Faces with 3
//! vertices become `VTK_TRIANGLE`, 4 `VTK_QUAD`, more `VTK_POLYGON`; lines of 2 vertices `VTK_LINE`,
//! more `VTK_POLY_LINE`. Group and object names (`g`, `o`) become [`Parts`] (cells before the first
//! one go to a part named `default`); `parts` is set only when the file names a group. Normals,
//! texture coordinates, materials and smoothing groups are ignored; a `\` at the end of a line joins
//! it with the next. Free-form geometry (curves, surfaces) is refused.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use super::cells::{CellType, Cells};
use super::error::{invalid, unsupported, Context, MeshError, ParseResult, Result};
use super::model::{Mesh, Parts};

/// Name of the part holding the cells that precede every `g`/`o` statement.
const DEFAULT_PART: &str = "default";

/// Reads an OBJ file.
pub fn read(path: &Path) -> Result<Mesh> {
    let bytes = std::fs::read(path).map_err(|e| MeshError::io(path, e))?;
    parse(&bytes).at(path)
}

/// Parses the bytes of an OBJ file.
pub fn parse(bytes: &[u8]) -> ParseResult<Mesh> {
    let mut reader = Reader::default();
    let mut lines = LogicalLines {
        rest: bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes),
        next_line: 1,
    };
    while let Some((line, text)) = lines.next() {
        reader.statement(line, &text)?;
    }
    reader.finish()
}

/// Lines of the file with `\`-continuations joined, each with the number of its first line.
struct LogicalLines<'a> {
    rest: &'a [u8],
    next_line: usize,
}

impl<'a> LogicalLines<'a> {
    fn next_physical(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let (line, rest) = match memchr::memchr(b'\n', self.rest) {
            Some(i) => (
                self.rest.get(..i).unwrap_or_default(),
                self.rest.get(i + 1..).unwrap_or_default(),
            ),
            None => (self.rest, &[][..]),
        };
        self.rest = rest;
        self.next_line += 1;
        Some(line)
    }

    fn next(&mut self) -> Option<(usize, Cow<'a, [u8]>)> {
        let first = self.next_line;
        let mut text: Cow<'a, [u8]> = Cow::Borrowed(self.next_physical()?);
        while let Some(joined) = text.trim_ascii_end().strip_suffix(b"\\") {
            let mut owned = joined.to_vec();
            owned.push(b' ');
            if let Some(more) = self.next_physical() {
                owned.extend_from_slice(more);
            }
            text = Cow::Owned(owned);
        }
        Some((first, text))
    }
}

/// Accumulates the mesh statement by statement.
#[derive(Default)]
struct Reader {
    points: Vec<[f32; 3]>,
    cells: Cells,
    /// Part names in order of first appearance, and their index.
    names: Vec<String>,
    part_of_name: HashMap<String, u32>,
    /// The part of the `g`/`o` statement in effect (`None` before the first one).
    current_part: Option<u32>,
    cell_part: Vec<u32>,
    named_group: bool,
    /// Largest positive (absolute) point id referenced, and the line that referenced it; checked at
    /// the end, since a few writers refer to vertices defined later in the file.
    max_id: Option<(u64, usize)>,
    /// Reused buffer for a statement's point ids.
    ids: Vec<u32>,
}

impl Reader {
    fn statement(&mut self, line: usize, text: &[u8]) -> ParseResult<()> {
        let text = match memchr::memchr(b'#', text) {
            Some(i) => text.get(..i).unwrap_or_default(),
            None => text,
        };
        let mut words = text
            .split(|b| b.is_ascii_whitespace() || *b == 0x0b)
            .filter(|w| !w.is_empty());
        let Some(keyword) = words.next() else {
            return Ok(());
        };
        match keyword {
            b"v" => self.vertex(line, words),
            b"f" => self.element(line, words, 3, "face"),
            b"l" => self.element(line, words, 2, "line"),
            b"p" => self.element(line, words, 1, "point"),
            b"g" | b"o" => {
                let name = words
                    .map(String::from_utf8_lossy)
                    .collect::<Vec<_>>()
                    .join(" ");
                let name = if name.is_empty() {
                    DEFAULT_PART.to_string()
                } else {
                    name
                };
                self.named_group = true;
                self.current_part = Some(self.part(name));
                Ok(())
            }
            // Vertex attributes, materials, smoothing groups, display and render attributes.
            b"vn" | b"vt" | b"vp" | b"mtllib" | b"usemtl" | b"s" | b"mg" | b"lod" | b"maplib"
            | b"usemap" | b"bevel" | b"c_interp" | b"d_interp" | b"shadow_obj" | b"trace_obj"
            | b"ctech" | b"stech" => Ok(()),
            b"cstype" | b"deg" | b"bmat" | b"step" | b"curv" | b"curv2" | b"surf" | b"parm"
            | b"trim" | b"hole" | b"scrv" | b"sp" | b"end" | b"con" => Err(unsupported!(
                "line {line}: free-form geometry ('{}') is not supported",
                show(keyword)
            )),
            _ => Err(invalid!(
                "line {line}: unknown statement '{}'",
                show(keyword)
            )),
        }
    }

    fn vertex<'b>(
        &mut self,
        line: usize,
        words: impl Iterator<Item = &'b [u8]>,
    ) -> ParseResult<()> {
        let mut p = [0f32; 3];
        let mut n = 0usize;
        // x y z, then w (or, in a common extension, r g b): checked as numbers, not used.
        for word in words {
            let value: f32 = std::str::from_utf8(word)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| invalid!("line {line}: invalid number '{}'", show(word)))?;
            if let Some(c) = p.get_mut(n) {
                if !value.is_finite() {
                    return Err(invalid!(
                        "line {line}: vertex {} has a non-finite coordinate '{}'",
                        self.points.len() + 1,
                        show(word)
                    ));
                }
                *c = value;
            }
            n += 1;
        }
        if n < 3 {
            return Err(invalid!(
                "line {line}: a vertex needs 3 coordinates, found {n}"
            ));
        }
        if self.points.len() > u32::MAX as usize {
            return Err(unsupported!("line {line}: more than 2^32 vertices"));
        }
        self.points.push(p);
        Ok(())
    }

    /// A face (`f`), line (`l`) or point (`p`) statement with at least `min` vertices.
    fn element<'b>(
        &mut self,
        line: usize,
        words: impl Iterator<Item = &'b [u8]>,
        min: usize,
        what: &str,
    ) -> ParseResult<()> {
        let mut ids = std::mem::take(&mut self.ids);
        ids.clear();
        for word in words {
            ids.push(self.point_id(line, word)?);
        }
        let n = ids.len();
        if n < min {
            self.ids = ids;
            return Err(invalid!(
                "line {line}: a {what} needs at least {min} vertices, found {n}"
            ));
        }
        let cell_type = match (what, n) {
            ("face", 3) => CellType::TRIANGLE,
            ("face", 4) => CellType::QUAD,
            ("face", _) => CellType::POLYGON,
            ("line", 2) => CellType::LINE,
            ("line", _) => CellType::POLY_LINE,
            (_, 1) => CellType::VERTEX,
            _ => CellType::POLY_VERTEX,
        };
        self.cells.push(cell_type, &ids);
        self.ids = ids;
        let part = match self.current_part {
            Some(part) => part,
            None => self.part(DEFAULT_PART.to_string()),
        };
        self.cell_part.push(part);
        Ok(())
    }

    /// Resolves one `v`, `v/t`, `v//n` or `v/t/n` reference to a 0-based point id.
    fn point_id(&mut self, line: usize, word: &[u8]) -> ParseResult<u32> {
        let mut fields = word.split(|&b| b == b'/');
        let parse_index = |field: &[u8]| -> ParseResult<i64> {
            std::str::from_utf8(field)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or_else(|| invalid!("line {line}: invalid index '{}'", show(word)))
        };
        let vertex = parse_index(fields.next().unwrap_or_default())?;
        // Texture and normal indices: may be empty, must be numbers otherwise; not used.
        let mut n_fields = 1;
        for field in fields {
            n_fields += 1;
            if n_fields > 3 {
                return Err(invalid!("line {line}: invalid index '{}'", show(word)));
            }
            if !field.is_empty() {
                parse_index(field)?;
            }
        }
        let n_points = self.points.len() as i64;
        let id = match vertex {
            0 => {
                return Err(invalid!(
                    "line {line}: vertex index 0 is invalid (OBJ indices start at 1)"
                ))
            }
            v if v > 0 => v - 1,
            v => {
                let id = n_points + v;
                if id < 0 {
                    return Err(invalid!(
                        "line {line}: relative vertex index {v} is out of range ({n_points} vertices \
                         defined so far)"
                    ));
                }
                id
            }
        };
        let id = u32::try_from(id).map_err(|_| {
            invalid!("line {line}: vertex index {vertex} is out of range (more than 2^32)")
        })?;
        if id as i64 >= n_points && self.max_id.is_none_or(|(max, _)| id as u64 > max) {
            self.max_id = Some((id as u64, line));
        }
        Ok(id)
    }

    fn part(&mut self, name: String) -> u32 {
        let next = self.names.len() as u32;
        *self.part_of_name.entry(name).or_insert_with_key(|name| {
            self.names.push(name.clone());
            next
        })
    }

    fn finish(self) -> ParseResult<Mesh> {
        let n_points = self.points.len();
        if n_points == 0 {
            return Err(invalid!("no vertices (not an OBJ file?)"));
        }
        if let Some((max, line)) = self.max_id {
            if max >= n_points as u64 {
                return Err(invalid!(
                    "line {line}: vertex index {} is out of range (the file has {n_points} vertices)",
                    max + 1
                ));
            }
        }
        let parts = self
            .named_group
            .then(|| used_parts(self.names, self.cell_part));
        Ok(Mesh {
            points: self.points,
            cells: self.cells,
            parts,
            ..Default::default()
        })
    }
}

/// Drops the parts no cell belongs to (an `o` immediately followed by a `g`, say), renumbering the
/// others in their order of appearance.
fn used_parts(names: Vec<String>, mut cell_part: Vec<u32>) -> Parts {
    let mut used = vec![false; names.len()];
    for &p in &cell_part {
        if let Some(u) = used.get_mut(p as usize) {
            *u = true;
        }
    }
    let mut new_index = Vec::with_capacity(names.len());
    let mut kept = Vec::new();
    for (name, used) in names.into_iter().zip(&used) {
        new_index.push(kept.len() as u32);
        if *used {
            kept.push(name);
        }
    }
    for p in &mut cell_part {
        *p = new_index.get(*p as usize).copied().unwrap_or(0);
    }
    Parts {
        names: kept,
        cell_part,
    }
}

/// A word from the file, shortened for an error message.
fn show(word: &[u8]) -> String {
    let s = String::from_utf8_lossy(word);
    if s.chars().count() > 40 {
        format!("{}...", s.chars().take(40).collect::<String>())
    } else {
        s.into_owned()
    }
}
