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
use super::error::{invalid, unsupported, Context, ParseResult, Result};
use super::model::{Mesh, Parts};

/// Name of the part holding the cells that precede every `g`/`o` statement.
const DEFAULT_PART: &str = "default";

/// Reads an OBJ file.
pub fn read(path: &Path) -> Result<Mesh> {
    let bytes = super::SplitFile::open(path)?.read_all()?;
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

#[cfg(test)]
mod tests {
    use super::super::error::ParseError;
    use super::*;
    use crate::test_fixtures::{fixtures, manifest};
    use serde_json::Value;

    fn check_entry(dir: &Path, name: &str, entry: &Value) -> bool {
        if entry["kind"] != "obj" {
            return false;
        }
        let mesh = read(&dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        mesh.validate().unwrap();
        let n_points = entry["n_points"].as_u64().or(entry["n_vertices"].as_u64());
        assert_eq!(mesh.n_points() as u64, n_points.unwrap(), "{name}: points");
        let n_cells = entry["n_cells"].as_u64().or(entry["n_faces"].as_u64());
        assert_eq!(mesh.n_cells() as u64, n_cells.unwrap(), "{name}: cells");
        if let Some(n) = entry["n_triangles"].as_u64() {
            let triangles = mesh
                .cells
                .types
                .iter()
                .filter(|&&t| t == CellType::TRIANGLE);
            assert_eq!(triangles.count() as u64, n, "{name}: triangles");
        }
        if let Some(counts) = entry["cell_type_counts"].as_object() {
            let got = mesh.cells.type_counts();
            assert_eq!(got.len(), counts.len(), "{name}: cell types");
            for (t, n) in counts {
                let t = CellType(t.parse().unwrap());
                assert_eq!(
                    got.get(&t).copied(),
                    n.as_u64().map(|n| n as usize),
                    "{name}"
                );
            }
        }
        if let Some(sizes) = entry["face_vertex_counts"].as_array() {
            let sizes: Vec<usize> = sizes.iter().map(|s| s.as_u64().unwrap() as usize).collect();
            for i in 0..mesh.n_cells() {
                assert!(
                    sizes.contains(&mesh.cells.cell(i).len()),
                    "{name}: cell {i}"
                );
            }
        }
        if let Some(b) = entry.get("bounding_box") {
            for (key, pick) in [("min", f32::min as fn(f32, f32) -> f32), ("max", f32::max)] {
                for k in 0..3 {
                    let got = mesh.points.iter().map(|p| p[k]).reduce(pick).unwrap() as f64;
                    let want = b[key][k].as_f64().unwrap();
                    assert!(
                        (got - want).abs() <= 1e-6 * want.abs().max(1.0),
                        "{name}: bounding box {key}[{k}] = {got}, expected {want}"
                    );
                }
            }
        }
        true
    }

    #[test]
    fn fixtures_match_manifests() {
        let Some(dir) = fixtures() else { return };
        let mut checked = Vec::new();
        for set in ["synthetic", "real"] {
            let m = manifest(&dir, set);
            for (name, entry) in m["files"].as_object().unwrap() {
                if check_entry(&dir.join(set), name, entry) {
                    checked.push(format!("{set}/{name}"));
                }
            }
        }
        checked.sort();
        assert_eq!(
            checked,
            [
                "real/bag_open_openfoam.obj",
                "synthetic/surface.obj",
                "synthetic/surface_with_normals.obj"
            ]
        );
    }

    #[test]
    fn synthetic_obj_files_agree() {
        let Some(dir) = fixtures() else { return };
        let plain = read(&dir.join("synthetic/surface.obj")).unwrap();
        let with_normals = read(&dir.join("synthetic/surface_with_normals.obj")).unwrap();
        assert_eq!(plain.points, with_normals.points);
        assert_eq!(plain.cells, with_normals.cells);
        assert!(plain.parts.is_none());
    }

    #[test]
    fn openfoam_bag() {
        let Some(dir) = fixtures() else { return };
        let mesh = read(&dir.join("real/bag_open_openfoam.obj")).unwrap();
        assert_eq!(mesh.n_points(), 42);
        assert_eq!(mesh.n_cells(), 78);
        assert!(mesh.cells.types.iter().all(|&t| t == CellType::TRIANGLE));
        // `o bag_open` is immediately followed by `g bag`: only the part holding cells remains.
        let parts = mesh.parts.unwrap();
        assert_eq!(parts.names, ["bag"]);
        assert_eq!(parts.cell_part, vec![0; 78]);
        assert_eq!(mesh.cells.cell(0), &[1, 0, 3]);
    }

    const SQUARE: &str = "v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0 1.0\nv 0.5 1.5 0\n";

    #[test]
    fn index_forms_and_cell_types() {
        let text = format!(
            "# comment\nmtllib a.mtl\n{SQUARE}vt 0 0\nvn 0 0 1\nusemtl red\ns off\n\
             f 1 2 3\nf 1/1 2/1 3/1 4/1\nf 1//1 2//1 3//1 5//1 4//1 # trailing comment\n\
             f -5/1/1 -4/1/1 -3/1/1\nl 1 2\nl 1/1 2/1 3/1\np 5\np 1 2\n"
        );
        let mesh = parse(text.as_bytes()).unwrap();
        mesh.validate().unwrap();
        assert_eq!(mesh.n_points(), 5);
        assert_eq!(mesh.points[3], [0.0, 1.0, 0.0]);
        let t = |i: u8| CellType(i);
        assert_eq!(
            mesh.cells.types,
            [t(5), t(9), t(7), t(5), t(3), t(4), t(1), t(2)]
        );
        assert_eq!(mesh.cells.cell(0), &[0, 1, 2]);
        assert_eq!(mesh.cells.cell(1), &[0, 1, 2, 3]);
        assert_eq!(mesh.cells.cell(2), &[0, 1, 2, 4, 3]);
        assert_eq!(mesh.cells.cell(3), &[0, 1, 2]);
        assert_eq!(mesh.cells.cell(5), &[0, 1, 2]);
        assert_eq!(mesh.cells.cell(6), &[4]);
        assert!(mesh.parts.is_none());
    }

    #[test]
    fn relative_indices_follow_the_vertices_so_far() {
        let text = "v 0 0 0\nv 1 0 0\nv 0 1 0\nf -3 -2 -1\nv 5 5 5\nf -1 -2 -3\n";
        let mesh = parse(text.as_bytes()).unwrap();
        assert_eq!(mesh.cells.cell(0), &[0, 1, 2]);
        assert_eq!(mesh.cells.cell(1), &[3, 2, 1]);
    }

    #[test]
    fn groups_become_parts() {
        let text = format!(
            "{SQUARE}f 1 2 3\ng wheel\nf 1 2 3\no body\ng\nf 2 3 4\ng wheel\nf 1 3 4\n\
             g unused\ng  front   left \nf 1 2 5\n"
        );
        let mesh = parse(text.as_bytes()).unwrap();
        mesh.validate().unwrap();
        let parts = mesh.parts.unwrap();
        assert_eq!(parts.names, ["default", "wheel", "front left"]);
        assert_eq!(parts.cell_part, [0, 1, 0, 1, 2]);
        // Without a group statement there are no parts; with one before any cell, no "default".
        let mesh = parse(format!("g only\n{SQUARE}f 1 2 3\n").as_bytes()).unwrap();
        assert_eq!(mesh.parts.unwrap().names, ["only"]);
    }

    #[test]
    fn continuation_lines_and_crlf() {
        let text = "v 0 0 0\r\nv 1 \\\r\n 0 0\r\nv 0 1 0\r\nv 1 1 0\r\nf 1 2 \\\n 4 \\  \r\n3\r\nf 1 2 3\r\n";
        let mesh = parse(text.as_bytes()).unwrap();
        assert_eq!(mesh.points[1], [1.0, 0.0, 0.0]);
        assert_eq!(mesh.cells.cell(0), &[0, 1, 3, 2]);
        assert_eq!(mesh.cells.cell(1), &[0, 1, 2]);
        assert_eq!(mesh.n_cells(), 2);
        // The statement after a continuation keeps its own line number.
        let e = error("v 0 0 \\\n0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n");
        assert!(e.contains("line 5"), "{e}");
    }

    fn error(text: &str) -> String {
        match parse(text.as_bytes()) {
            Err(ParseError::Invalid(m)) | Err(ParseError::Unsupported(m)) => m,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_line() {
        let e = error(&format!("{SQUARE}f 1 2 6\n"));
        assert!(e.contains("line 6") && e.contains("index 6"), "{e}");
        let e = error(&format!("{SQUARE}f 1 2 3\nf 9 1 2\nf 7 1 2\n"));
        assert!(e.contains("line 7") && e.contains("index 9"), "{e}");
        let e = error(&format!("{SQUARE}f 1 2 -6\n"));
        assert!(e.contains("line 6") && e.contains("-6"), "{e}");
        let e = error(&format!("{SQUARE}f 1 2 0\n"));
        assert!(e.contains("line 6") && e.contains("0"), "{e}");
        let e = error(&format!("{SQUARE}f 1 2 x\n"));
        assert!(e.contains("line 6") && e.contains("'x'"), "{e}");
        let e = error(&format!("{SQUARE}f 1/a/1 2 3\n"));
        assert!(e.contains("line 6"), "{e}");
        let e = error(&format!("{SQUARE}f 1/1/1/1 2 3\n"));
        assert!(e.contains("line 6"), "{e}");
        let e = error(&format!("{SQUARE}f 1 2\n"));
        assert!(e.contains("line 6") && e.contains("at least 3"), "{e}");
        let e = error(&format!("{SQUARE}l 1\n"));
        assert!(e.contains("line 6"), "{e}");
        let e = error("v 0 0 0\nv 1 0.5.5 0\n");
        assert!(e.contains("line 2") && e.contains("0.5.5"), "{e}");
        let e = error("v 0 0 0\nv 1 0\n");
        assert!(e.contains("line 2") && e.contains("3 coordinates"), "{e}");
        let e = error("v 0 0 0\nv 1 nan 0\n");
        assert!(e.contains("line 2") && e.contains("non-finite"), "{e}");
        let e = error("v 0 0 0\nv 1 1e39 0\n");
        assert!(e.contains("line 2") && e.contains("non-finite"), "{e}");
        let e = error("v 0 0 0\nfoo 1 2\n");
        assert!(e.contains("line 2") && e.contains("foo"), "{e}");
        assert!(matches!(
            parse(b"v 0 0 0\ncstype bspline\n"),
            Err(ParseError::Unsupported(_))
        ));
        assert!(error("# only a comment\n").contains("no vertices"));
        assert!(error("").contains("no vertices"));
    }

    #[test]
    fn garbage_and_truncations_never_panic() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for len in [0usize, 1, 2, 10, 100, 1000] {
            for _ in 0..20 {
                let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                let _ = parse(&bytes);
            }
        }
        // Random text over the OBJ alphabet.
        let alphabet = b"vfglo/ -0123456789.e\n\\#";
        for _ in 0..2000 {
            let len = (next() % 60) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            if let Ok(mesh) = parse(&bytes) {
                mesh.validate().unwrap();
            }
        }
        let text = format!("{SQUARE}g a\nf 1/1/1 2//2 -1\nl 1 2 3\n");
        for cut in 0..text.len() {
            if let Ok(mesh) = parse(&text.as_bytes()[..cut]) {
                mesh.validate().unwrap();
            }
        }
    }
}
