//! STL (stereolithography) triangle soups, binary and ASCII.
//!
//! Reading keeps the file's triangles exactly as stored: points are not merged, so triangle `t` uses
//! points `3t`, `3t + 1`, `3t + 2`. Facet normals in the file are ignored (many writers leave them zero
//! or wrong); the winding of the vertices is what defines orientation.
//!
//! Format detection follows the file size, not the first word: a file is binary iff its length is
//! `84 + 50 n` where `n` is the little-endian `u32` at byte 80 (binary headers may begin with
//! `solid`); otherwise it is ASCII if its first word is `solid`. ASCII files may hold several
//! solids, which become [`Parts`] named after them.
//!
//! Writing produces binary STL, fan-triangulating quads and polygons and skipping cells that are not
//! surfaces.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use super::cells::{CellType, Cells};
use super::error::{invalid, Context, ParseResult, Result};
use super::model::{Mesh, Parts};

/// Size of the binary header (80 bytes of free text and the triangle count).
const BINARY_HEADER: usize = 84;
/// Size of one binary facet record (normal, three vertices, attribute byte count).
const BINARY_RECORD: usize = 50;
/// The free-text header slipstream writes.
const WRITER_HEADER: &[u8] = b"slipstream binary STL";

/// Reads a binary or ASCII STL file.
pub fn read(path: &Path) -> Result<Mesh> {
    let bytes = super::SplitFile::open(path)?.read_all()?;
    parse(&bytes).at(path)
}

/// Parses the bytes of a binary or ASCII STL file (see the module documentation for the detection).
pub fn parse(bytes: &[u8]) -> ParseResult<Mesh> {
    if bytes.is_empty() {
        return Err(invalid!("empty file"));
    }
    let declared = binary_triangle_count(bytes);
    if let Some(n) = declared {
        if binary_size(n) == bytes.len() as u64 {
            return parse_binary(bytes, n);
        }
    }
    // A text file holds no NUL byte; a binary file practically always does (the high byte of a
    // triangle count below 2^24, zero attribute counts, padding).
    let solid = starts_with_solid(bytes);
    if solid && memchr::memchr(0, bytes).is_none() {
        return parse_ascii(bytes);
    }
    let not_ascii = if solid {
        "starts with 'solid' but holds binary data"
    } else {
        "not an ASCII STL (does not start with 'solid')"
    };
    match declared {
        Some(n) => Err(invalid!(
            "{not_ascii}, and not a complete binary STL: the binary header declares {n} triangles, \
             which need {} bytes, but the file has {} bytes (truncated?)",
            binary_size(n),
            bytes.len()
        )),
        None => Err(invalid!(
            "not an STL file: {} bytes, too short for a binary STL header ({BINARY_HEADER} bytes) and \
             not starting with 'solid'",
            bytes.len()
        )),
    }
}

/// Writes `mesh` as a binary STL: quads and polygons are fan-triangulated, cells that are not surfaces
/// (vertices, lines, solids) are skipped, point and cell arrays are not written. Facet normals are
/// computed from the vertices (unit length, or zero for degenerate triangles). The write is atomic.
pub fn write(path: &Path, mesh: &Mesh) -> Result<()> {
    let n_triangles = count_triangles(mesh).at(path)?;
    super::write_atomically(path, |w| write_binary(w, mesh, n_triangles))
}

// ----------------------------------------------------------------------------------------------
// Binary

fn binary_triangle_count(bytes: &[u8]) -> Option<u32> {
    let b = bytes.get(80..BINARY_HEADER)?;
    Some(u32::from_le_bytes(b.try_into().ok()?))
}

fn binary_size(n: u32) -> u64 {
    BINARY_HEADER as u64 + BINARY_RECORD as u64 * n as u64
}

fn parse_binary(bytes: &[u8], n: u32) -> ParseResult<Mesh> {
    if n == 0 {
        return Err(invalid!("binary STL with zero triangles"));
    }
    let n = n as usize;
    check_point_count(n)?;
    let body = bytes.get(BINARY_HEADER..).unwrap_or_default();
    // The caller checked that the file size holds exactly `n` records, so these reservations are
    // bounded by the input size.
    let mut points = Vec::with_capacity(3 * n);
    for (t, record) in body.chunks_exact(BINARY_RECORD).enumerate() {
        // Bytes 0..12 are the facet normal (ignored), 12..48 three vertices, 48..50 the attribute.
        let vertices = record.get(12..48).unwrap_or_default();
        for v in vertices.chunks_exact(12) {
            let mut p = [0f32; 3];
            for (c, b) in p.iter_mut().zip(v.chunks_exact(4)) {
                *c = b.try_into().map(f32::from_le_bytes).unwrap_or(f32::NAN);
            }
            if p.iter().any(|c| !c.is_finite()) {
                return Err(invalid!(
                    "triangle {t} has a non-finite vertex coordinate {p:?}"
                ));
            }
            points.push(p);
        }
    }
    if points.len() != 3 * n {
        return Err(invalid!(
            "binary STL declares {n} triangles but holds {}",
            points.len() / 3
        ));
    }
    Ok(Mesh {
        points,
        cells: triangle_soup(n),
        parts: None,
        ..Default::default()
    })
}

/// Cells for `n` triangles using points `3t..3t + 3`.
fn triangle_soup(n: usize) -> Cells {
    Cells {
        types: vec![CellType::TRIANGLE; n],
        offsets: (0..=n as u64).map(|i| 3 * i).collect(),
        connectivity: (0..3 * n as u64).map(|i| i as u32).collect(),
        polyhedra: None,
    }
}

/// Point ids are `u32`: refuse files with more points than that can address.
fn check_point_count(n_triangles: usize) -> ParseResult<()> {
    if n_triangles as u64 * 3 > u32::MAX as u64 + 1 {
        return Err(super::error::unsupported!(
            "{n_triangles} triangles need more than 2^32 points"
        ));
    }
    Ok(())
}

// ----------------------------------------------------------------------------------------------
// ASCII

/// Whether the first word (after whitespace and an optional UTF-8 byte order mark) is `solid`.
fn starts_with_solid(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut tokens = Tokens::new(bytes);
    matches!(tokens.next(), Some((t, _)) if t.eq_ignore_ascii_case(b"solid"))
}

/// Whitespace-separated words with their line numbers (1-based).
struct Tokens<'a> {
    data: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> Tokens<'a> {
    fn new(data: &'a [u8]) -> Self {
        Tokens {
            data,
            pos: 0,
            line: 1,
        }
    }

    fn next(&mut self) -> Option<(&'a [u8], usize)> {
        while let Some(&b) = self.data.get(self.pos) {
            if !b.is_ascii_whitespace() && b != 0x0b {
                break;
            }
            if b == b'\n' {
                self.line += 1;
            }
            self.pos += 1;
        }
        let start = self.pos;
        while let Some(&b) = self.data.get(self.pos) {
            if b.is_ascii_whitespace() || b == 0x0b {
                break;
            }
            self.pos += 1;
        }
        if self.pos == start {
            None
        } else {
            self.data.get(start..self.pos).map(|t| (t, self.line))
        }
    }

    /// The rest of the current line (trimmed), leaving the position before its newline.
    fn rest_of_line(&mut self) -> &'a [u8] {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        let len = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        self.pos += len;
        rest.get(..len).unwrap_or_default().trim_ascii()
    }

    /// The next word, or an error naming what was expected.
    fn expect_any(&mut self, what: &str) -> ParseResult<(&'a [u8], usize)> {
        self.next().ok_or_else(|| {
            invalid!(
                "line {}: unexpected end of file, expected {what}",
                self.line
            )
        })
    }

    /// The next word, which must be `keyword` (case-insensitive).
    fn expect(&mut self, keyword: &str) -> ParseResult<usize> {
        let (t, line) = self.expect_any(&format!("'{keyword}'"))?;
        if t.eq_ignore_ascii_case(keyword.as_bytes()) {
            Ok(line)
        } else {
            Err(invalid!(
                "line {line}: expected '{keyword}', found '{}'",
                show(t)
            ))
        }
    }
}

/// A word from the file, shortened for an error message.
fn show(token: &[u8]) -> String {
    let s = String::from_utf8_lossy(token);
    if s.chars().count() > 40 {
        format!("{}...", s.chars().take(40).collect::<String>())
    } else {
        s.into_owned()
    }
}

fn parse_ascii(bytes: &[u8]) -> ParseResult<Mesh> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut tokens = Tokens::new(bytes);
    let mut points: Vec<[f32; 3]> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut part_of_name: HashMap<String, u32> = HashMap::new();
    let mut cell_part: Vec<u32> = Vec::new();
    let mut n_solids = 0usize;

    while let Some((word, line)) = tokens.next() {
        if !word.eq_ignore_ascii_case(b"solid") {
            return Err(invalid!(
                "line {line}: expected 'solid', found '{}'",
                show(word)
            ));
        }
        let mut name = String::from_utf8_lossy(tokens.rest_of_line()).into_owned();
        if name.is_empty() {
            name = format!("solid{n_solids}");
        }
        n_solids += 1;
        let next_part = names.len() as u32;
        let part = *part_of_name.entry(name.clone()).or_insert_with(|| {
            names.push(name.clone());
            next_part
        });
        let solid_line = line;

        loop {
            let (word, line) = tokens.next().ok_or_else(|| {
                invalid!(
                    "line {}: unexpected end of file in solid '{name}' (opened on line {solid_line}): \
                     missing 'endsolid'",
                    tokens.line
                )
            })?;
            if word.eq_ignore_ascii_case(b"endsolid") {
                // The name after `endsolid` may be absent or differ from the solid's: ignore it.
                tokens.rest_of_line();
                break;
            }
            if !word.eq_ignore_ascii_case(b"facet") {
                return Err(invalid!(
                    "line {line}: expected 'facet' or 'endsolid', found '{}'",
                    show(word)
                ));
            }
            let triangle = cell_part.len();
            let (mut word, mut line) = tokens.expect_any("'normal' or 'outer'")?;
            if word.eq_ignore_ascii_case(b"normal") {
                // The normal's values are not used (and not checked: old writers print NaN oddly).
                for _ in 0..3 {
                    tokens.expect_any("a facet normal component")?;
                }
                (word, line) = tokens.expect_any("'outer'")?;
            }
            if !word.eq_ignore_ascii_case(b"outer") {
                return Err(invalid!(
                    "line {line}: expected 'outer', found '{}'",
                    show(word)
                ));
            }
            tokens.expect("loop")?;
            for _ in 0..3 {
                let (word, line) = tokens.expect_any("'vertex'")?;
                if !word.eq_ignore_ascii_case(b"vertex") {
                    return Err(invalid!(
                        "line {line}: expected 'vertex', found '{}' (a facet needs 3 vertices)",
                        show(word)
                    ));
                }
                let mut p = [0f32; 3];
                for c in &mut p {
                    let (word, line) = tokens.expect_any("a vertex coordinate")?;
                    *c = parse_f32(word)
                        .ok_or_else(|| invalid!("line {line}: invalid number '{}'", show(word)))?;
                }
                if p.iter().any(|c| !c.is_finite()) {
                    return Err(invalid!(
                        "triangle {triangle} (line {line}) has a non-finite vertex coordinate {p:?}"
                    ));
                }
                points.push(p);
            }
            let (word, line) = tokens.expect_any("'endloop'")?;
            if word.eq_ignore_ascii_case(b"vertex") {
                return Err(invalid!(
                    "line {line}: facet with more than 3 vertices (STL facets are triangles)"
                ));
            }
            if !word.eq_ignore_ascii_case(b"endloop") {
                return Err(invalid!(
                    "line {line}: expected 'endloop', found '{}'",
                    show(word)
                ));
            }
            tokens.expect("endfacet")?;
            cell_part.push(part);
        }
    }

    let n = cell_part.len();
    if n == 0 {
        return Err(invalid!("ASCII STL with zero triangles"));
    }
    check_point_count(n)?;
    Ok(Mesh {
        points,
        cells: triangle_soup(n),
        parts: Some(Parts { names, cell_part }),
        ..Default::default()
    })
}

fn parse_f32(token: &[u8]) -> Option<f32> {
    std::str::from_utf8(token).ok()?.parse().ok()
}

// ----------------------------------------------------------------------------------------------
// Writing

/// Fills `out` with the triangles of a surface cell (nothing for other cells).
fn triangulate(cell_type: CellType, ids: &[u32], out: &mut Vec<[u32; 3]>) {
    out.clear();
    let mut fan = |corners: &[u32]| {
        if let Some((&first, rest)) = corners.split_first() {
            out.extend(
                rest.iter()
                    .zip(rest.iter().skip(1))
                    .map(|(&b, &c)| [first, b, c]),
            );
        }
    };
    match cell_type {
        CellType::TRIANGLE | CellType::QUAD | CellType::POLYGON => fan(ids),
        // Quadratic triangle and quad: their corners come first.
        CellType(22) => fan(ids.get(..3).unwrap_or_default()),
        CellType(23) => fan(ids.get(..4).unwrap_or_default()),
        // A pixel's points are ordered like a voxel's face: 0 1 3 2 around.
        CellType::PIXEL => {
            if let [a, b, c, d] = *ids {
                fan(&[a, b, d, c]);
            }
        }
        // Every other triangle of a strip is flipped to keep the winding consistent.
        CellType::TRIANGLE_STRIP => out.extend(
            ids.iter()
                .zip(ids.iter().skip(1))
                .zip(ids.iter().skip(2))
                .enumerate()
                .map(|(i, ((&a, &b), &c))| if i % 2 == 0 { [a, b, c] } else { [b, a, c] }),
        ),
        _ => {}
    }
}

/// The surface cells of `mesh` with their triangles, one cell at a time.
fn for_each_surface_cell<E>(
    mesh: &Mesh,
    mut f: impl FnMut(usize, &[[u32; 3]]) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    let mut triangles = Vec::new();
    for (i, &cell_type) in mesh.cells.types.iter().enumerate() {
        if cell_type.dimension() == Some(2) {
            triangulate(cell_type, mesh.cells.cell(i), &mut triangles);
            f(i, &triangles)?;
        }
    }
    Ok(())
}

/// Number of triangles the writer emits, checking the point ids on the way.
fn count_triangles(mesh: &Mesh) -> ParseResult<u32> {
    let n_points = mesh.points.len();
    let mut n_surface_cells = 0usize;
    let mut n_triangles = 0u64;
    for_each_surface_cell(mesh, |i, triangles| {
        n_surface_cells += 1;
        n_triangles += triangles.len() as u64;
        match triangles
            .iter()
            .flatten()
            .find(|&&id| id as usize >= n_points)
        {
            Some(id) => Err(invalid!(
                "cell {i} refers to point {id} but there are only {n_points} points"
            )),
            None => Ok(()),
        }
    })?;
    if n_surface_cells == 0 {
        return Err(invalid!(
            "no surface cells (triangles, quads, polygons) to write as STL"
        ));
    }
    if n_triangles == 0 {
        return Err(invalid!(
            "the surface cells hold no triangles (all degenerate)"
        ));
    }
    u32::try_from(n_triangles).map_err(|_| {
        invalid!("{n_triangles} triangles do not fit in a binary STL (at most 2^32 - 1)")
    })
}

fn write_binary(w: &mut impl Write, mesh: &Mesh, n_triangles: u32) -> std::io::Result<()> {
    let mut header = [0u8; 80];
    if let Some(slot) = header.get_mut(..WRITER_HEADER.len()) {
        slot.copy_from_slice(WRITER_HEADER);
    }
    w.write_all(&header)?;
    w.write_all(&n_triangles.to_le_bytes())?;
    for_each_surface_cell(mesh, |_, triangles| {
        triangles.iter().try_for_each(|&t| write_facet(w, mesh, t))
    })
}

fn write_facet(w: &mut impl Write, mesh: &Mesh, triangle: [u32; 3]) -> std::io::Result<()> {
    let mut corners = [[0f32; 3]; 3];
    for (corner, id) in corners.iter_mut().zip(triangle) {
        *corner = *mesh.points.get(id as usize).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("point id {id} out of range"),
            )
        })?;
    }
    let mut record = [0u8; BINARY_RECORD];
    let normal = unit_normal(&corners);
    let values = normal.iter().chain(corners.iter().flatten());
    for (slot, value) in record.chunks_exact_mut(4).zip(values) {
        slot.copy_from_slice(&value.to_le_bytes());
    }
    w.write_all(&record)
}

/// The triangle's unit normal by the right-hand rule, or zero if it is degenerate.
fn unit_normal(t: &[[f32; 3]; 3]) -> [f32; 3] {
    let d = |a: [f32; 3], b: [f32; 3]| {
        [
            b[0] as f64 - a[0] as f64,
            b[1] as f64 - a[1] as f64,
            b[2] as f64 - a[2] as f64,
        ]
    };
    let u = d(t[0], t[1]);
    let v = d(t[0], t[2]);
    let n = [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ];
    let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    if len > 0.0 && len.is_finite() {
        [
            (n[0] / len) as f32,
            (n[1] / len) as f32,
            (n[2] / len) as f32,
        ]
    } else {
        [0.0; 3]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::{fixtures, manifest};
    use serde_json::Value;

    fn bounds(mesh: &Mesh) -> ([f32; 3], [f32; 3]) {
        let mut lo = [f32::INFINITY; 3];
        let mut hi = [f32::NEG_INFINITY; 3];
        for p in &mesh.points {
            for k in 0..3 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
        }
        (lo, hi)
    }

    fn assert_bounds(name: &str, mesh: &Mesh, expected: &Value) {
        let (lo, hi) = bounds(mesh);
        for (got, key) in [(lo, "min"), (hi, "max")] {
            for k in 0..3 {
                let want = expected[key][k].as_f64().unwrap();
                let tol = 1e-6 * want.abs().max(1.0);
                assert!(
                    (got[k] as f64 - want).abs() <= tol,
                    "{name}: bounding box {key}[{k}] = {} expected {want}",
                    got[k]
                );
            }
        }
    }

    fn triangles_per_part(mesh: &Mesh) -> Vec<(String, usize)> {
        let parts = mesh.parts.as_ref().expect("parts");
        let mut counts = vec![0usize; parts.names.len()];
        for &p in &parts.cell_part {
            counts[p as usize] += 1;
        }
        parts.names.iter().cloned().zip(counts).collect()
    }

    /// Checks a mesh against one manifest entry; returns whether the entry was an STL.
    fn check_entry(dir: &Path, name: &str, entry: &Value) -> bool {
        if entry["kind"] != "stl" {
            return false;
        }
        let path = dir.join(name);
        let mesh = read(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        mesh.validate().unwrap();
        let n_triangles = entry["n_triangles"].as_u64().unwrap() as usize;
        assert_eq!(mesh.n_cells(), n_triangles, "{name}: triangles");
        assert_eq!(mesh.n_points(), 3 * n_triangles, "{name}: points");
        if let Some(n) = entry["n_points"].as_u64() {
            assert_eq!(mesh.n_points(), n as usize, "{name}: n_points");
        }
        if let Some(n) = entry["n_cells"].as_u64() {
            assert_eq!(mesh.n_cells(), n as usize, "{name}: n_cells");
        }
        assert!(mesh.cells.types.iter().all(|&t| t == CellType::TRIANGLE));
        if let Some(b) = entry.get("bounding_box") {
            assert_bounds(name, &mesh, b);
        }
        match entry["stl_type"].as_str().unwrap() {
            "binary" => assert!(mesh.parts.is_none(), "{name}: binary STL has no parts"),
            "ascii" => assert!(mesh.parts.is_some(), "{name}: ASCII STL has parts"),
            other => panic!("{name}: unknown stl_type {other}"),
        }
        if let Some(solids) = entry.get("solids").and_then(Value::as_array) {
            let got = triangles_per_part(&mesh);
            let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
            let expected: Vec<&str> = solids
                .iter()
                .map(|s| s.as_str().or_else(|| s["name"].as_str()).unwrap())
                .collect();
            assert_eq!(names, expected, "{name}: solid names");
            for (solid, (_, count)) in solids.iter().zip(&got) {
                if let Some(n) = solid["n_triangles"].as_u64() {
                    assert_eq!(*count, n as usize, "{name}: triangles of {solid}");
                }
            }
        }
        true
    }

    #[test]
    fn synthetic_and_real_fixtures_match_manifests() {
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
        for expected in [
            "synthetic/surface_ascii.stl",
            "synthetic/surface_binary.stl",
            "synthetic/surface_binary_header_starts_with_solid.stl",
            "synthetic/surface_multisolid_ascii.stl",
            "real/motorBike.stl",
            "real/simpleCar.stl",
            "real/simpleCar_openfoam_ascii_multisolid.stl",
        ] {
            assert!(
                checked.iter().any(|c| c == expected),
                "{expected} not checked"
            );
        }
    }

    #[test]
    fn motorbike_has_its_triangles() {
        let Some(dir) = fixtures() else { return };
        let mesh = read(&dir.join("real/motorBike.stl")).unwrap();
        assert_eq!(mesh.n_cells(), 331_653);
        assert_eq!(mesh.n_points(), 3 * 331_653);
    }

    #[test]
    fn simple_car_ascii_and_binary_agree() {
        let Some(dir) = fixtures() else { return };
        let ascii = read(&dir.join("real/simpleCar_openfoam_ascii_multisolid.stl")).unwrap();
        let binary = read(&dir.join("real/simpleCar.stl")).unwrap();
        assert_eq!(ascii.n_cells(), 3154);
        assert_eq!(binary.n_cells(), 3154);
        // OpenFOAM's `endsolid` lines carry no name: the parts are named by the `solid` lines.
        let parts = ascii.parts.as_ref().unwrap();
        assert_eq!(parts.names[0], "body_bottom");
        assert_eq!(parts.names.len(), 6);
        for (a, b) in ascii.points.iter().zip(&binary.points) {
            for k in 0..3 {
                assert!(
                    (a[k] - b[k]).abs() <= 1e-6 * a[k].abs().max(1.0),
                    "{a:?} vs {b:?}"
                );
            }
        }
    }

    #[test]
    fn synthetic_ascii_and_binary_hold_the_same_points() {
        let Some(dir) = fixtures() else { return };
        let ascii = read(&dir.join("synthetic/surface_ascii.stl")).unwrap();
        let binary = read(&dir.join("synthetic/surface_binary.stl")).unwrap();
        let solid_header = read(&dir.join("synthetic/surface_binary_header_starts_with_solid.stl"));
        assert_eq!(ascii.points, binary.points);
        assert_eq!(solid_header.unwrap().points, binary.points);
        let parts = ascii.parts.unwrap();
        assert_eq!(parts.names, ["Visualization Toolkit generated SLA File"]);
    }

    #[test]
    fn every_corrupt_stl_is_an_error() {
        let Some(dir) = fixtures() else { return };
        let m = manifest(&dir, "corrupt");
        let mut n = 0;
        for (name, entry) in m["files"].as_object().unwrap() {
            if !name.ends_with(".stl") {
                continue;
            }
            assert_eq!(entry["expected"], "error");
            let path = dir.join("corrupt").join(name);
            let err = read(&path).expect_err(name).to_string();
            assert!(
                err.contains(name.as_str()),
                "{name}: error names the file: {err}"
            );
            n += 1;
        }
        assert_eq!(n, 5);
        let msg = |name: &str| {
            read(&dir.join("corrupt").join(name))
                .unwrap_err()
                .to_string()
        };
        let truncated = msg("truncated_binary.stl");
        assert!(
            truncated.contains("153684") && truncated.contains("76901"),
            "{truncated}"
        );
        for name in ["nan_vertices_ascii.stl", "nan_vertices_binary.stl"] {
            let e = msg(name);
            assert!(e.contains("triangle") && e.contains("non-finite"), "{e}");
        }
        assert!(msg("nan_vertices_ascii.stl").contains("line "));
        assert!(msg("empty.stl").contains("empty"));
    }

    fn binary(n_declared: u32, triangles: &[[[f32; 3]; 3]]) -> Vec<u8> {
        let mut b = vec![b' '; 80];
        b.extend_from_slice(&n_declared.to_le_bytes());
        for t in triangles {
            b.extend_from_slice(&[0u8; 12]);
            for v in t.iter().flatten() {
                b.extend_from_slice(&v.to_le_bytes());
            }
            b.extend_from_slice(&[0u8; 2]);
        }
        b
    }

    const TRI: [[f32; 3]; 3] = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]];

    #[test]
    fn binary_in_memory() {
        let mesh = parse(&binary(2, &[TRI, TRI])).unwrap();
        assert_eq!(mesh.n_cells(), 2);
        assert_eq!(mesh.points[4], [1.0, 0.0, 0.0]);
        assert_eq!(mesh.cells.cell(1), &[3, 4, 5]);
        assert!(mesh.parts.is_none());
        // A header that starts with "solid" does not make it ASCII.
        let mut b = binary(1, &[TRI]);
        b[..12].copy_from_slice(b"solid thing ");
        assert_eq!(parse(&b).unwrap().n_cells(), 1);
    }

    #[test]
    fn binary_errors() {
        let zero = parse(&binary(0, &[])).unwrap_err();
        assert!(format!("{zero:?}").contains("zero triangles"));
        // A huge declared count in a small file: an error, not an allocation.
        let huge = parse(&binary(u32::MAX, &[TRI])).unwrap_err();
        assert!(format!("{huge:?}").contains("4294967295"), "{huge:?}");
        let mut nan = TRI;
        nan[2][1] = f32::NAN;
        let e = format!("{:?}", parse(&binary(2, &[TRI, nan])).unwrap_err());
        assert!(e.contains("triangle 1"), "{e}");
        let inf = [[f32::INFINITY; 3]; 3];
        assert!(parse(&binary(1, &[inf])).is_err());
        assert!(parse(b"").is_err());
        assert!(parse(b"short").is_err());
        // Starts with "solid" but holds binary data of the wrong size: reported as binary.
        let mut b = binary(3, &[TRI, TRI]);
        b[..5].copy_from_slice(b"solid");
        let e = format!("{:?}", parse(&b).unwrap_err());
        assert!(e.contains("declares 3 triangles"), "{e}");
    }

    #[test]
    fn ascii_is_tolerant() {
        let text = "  \r\n\tSOLID  my part \r\n facet NORMAL 0 0 0\r\n  OUTER   LOOP\r\n\
            vertex 0 0 0\r\n vertex 1e0 0 0\r\n VERTEX 0 +1.0 0\r\n endloop\r\n ENDFACET\r\n\
            endsolid other_name\r\nsolid\nfacet normal nan -1.#IND 0\nouter loop\nvertex 1 1 1\n\
            vertex 2 2 2\nvertex 3 3 3\nendloop endfacet facet outer loop vertex 0 0 0 vertex 0 0 1 \
            vertex 0 1 0 endloop endfacet\nendsolid\n\nsolid my part\nendsolid\n";
        let mesh = parse(text.as_bytes()).unwrap();
        mesh.validate().unwrap();
        assert_eq!(mesh.n_cells(), 3);
        assert_eq!(mesh.points[2], [0.0, 1.0, 0.0]);
        assert_eq!(mesh.points[5], [3.0, 3.0, 3.0]);
        let parts = mesh.parts.unwrap();
        assert_eq!(parts.names, ["my part", "solid1"]);
        assert_eq!(parts.cell_part, [0, 1, 1]);
    }

    fn ascii_error(text: &str) -> String {
        match parse(text.as_bytes()) {
            Err(ParseError::Invalid(m)) => m,
            other => panic!("expected an invalid-file error, got {other:?}"),
        }
    }

    use super::super::error::ParseError;

    #[test]
    fn ascii_errors_name_the_line() {
        let facet = "facet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\nvertex 0 1 0\nendloop\nendfacet\n";
        assert!(ascii_error("solid a\nendsolid a\n").contains("zero triangles"));
        let bad_number = format!("solid a\n{}", facet.replace("vertex 1 0 0", "vertex 1 x 0"));
        let e = ascii_error(&bad_number);
        assert!(e.contains("line 5") && e.contains("'x'"), "{e}");
        let e = ascii_error(&format!("solid a\n{facet}"));
        assert!(e.contains("endsolid"), "{e}");
        let e = ascii_error(&format!("solid a\n{facet}endsolid\njunk\n"));
        assert!(e.contains("line 10") && e.contains("junk"), "{e}");
        let four = facet.replace("endloop", "vertex 1 1 1\nendloop");
        let e = ascii_error(&format!("solid a\n{four}endsolid\n"));
        assert!(e.contains("line 7") && e.contains("more than 3"), "{e}");
        let two = facet.replace("vertex 0 1 0\n", "");
        let e = ascii_error(&format!("solid a\n{two}endsolid\n"));
        assert!(e.contains("line 6"), "{e}");
        let e = ascii_error(&format!(
            "solid a\n{}endsolid\n",
            facet.replace("0 1 0", "0 inf 0")
        ));
        assert!(e.contains("triangle 0") && e.contains("line 6"), "{e}");
        let e = ascii_error(&format!(
            "solid a\n{}endsolid\n",
            facet.replace("0 1 0", "0 1")
        ));
        assert!(e.contains("line 7"), "{e}");
        assert!(ascii_error("solid a\nfacet normal 0 0 1\nouter").contains("end of file"));
        // Not STL at all.
        assert!(parse(b"hello world, this is not an STL file").is_err());
    }

    #[test]
    fn garbage_and_truncations_never_panic() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for len in [0usize, 1, 5, 83, 84, 85, 134, 200, 1000] {
            for _ in 0..20 {
                let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                let _ = parse(&bytes);
            }
        }
        let text = b"solid a\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\n\
            vertex 0 1 0\nendloop\nendfacet\nendsolid a\n";
        // Every prefix that cuts before the end of `endsolid` is an error; the rest are complete.
        let complete = text.len() - " a\n".len();
        for cut in 0..text.len() {
            let result = parse(&text[..cut]);
            assert_eq!(result.is_ok(), cut >= complete, "prefix of {cut} bytes");
        }
        let bin = binary(2, &[TRI, TRI]);
        for cut in 0..bin.len() {
            assert!(parse(&bin[..cut]).is_err());
        }
    }

    fn mixed_mesh() -> Mesh {
        let points = vec![
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [1.0, 1.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.5, 1.5, 0.0],
            [0.0, 0.0, 2.0],
        ];
        let mut cells = Cells::default();
        cells.push(CellType::VERTEX, &[0]);
        cells.push(CellType::TRIANGLE, &[0, 1, 2]);
        cells.push(CellType::LINE, &[0, 5]);
        cells.push(CellType::QUAD, &[0, 1, 2, 3]);
        cells.push(CellType::POLYGON, &[0, 1, 2, 4, 3]);
        cells.push(CellType::TETRA, &[0, 1, 3, 5]);
        cells.push(CellType::TRIANGLE, &[0, 0, 1]); // degenerate: zero normal
        Mesh {
            points,
            cells,
            ..Default::default()
        }
    }

    #[test]
    fn write_then_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mixed.stl");
        let mesh = mixed_mesh();
        write(&path, &mesh).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.starts_with(WRITER_HEADER));
        // 1 + 2 + 3 + 1 triangles.
        assert_eq!(bytes.len(), 84 + 50 * 7);
        let back = read(&path).unwrap();
        assert_eq!(back.n_cells(), 7);
        assert!(back.parts.is_none());
        let p = &mesh.points;
        let expected: Vec<[f32; 3]> = [
            [0, 1, 2],
            [0, 1, 2],
            [0, 2, 3],
            [0, 1, 2],
            [0, 2, 4],
            [0, 4, 3],
            [0, 0, 1],
        ]
        .iter()
        .flatten()
        .map(|&i| p[i])
        .collect();
        assert_eq!(back.points, expected);
        // Normals: +z for the counter-clockwise triangles, zero for the degenerate one.
        let normal = |t: usize| -> [f32; 3] {
            let r = &bytes[84 + 50 * t..];
            [0, 4, 8].map(|o| f32::from_le_bytes(r[o..o + 4].try_into().unwrap()))
        };
        for t in 0..6 {
            assert_eq!(normal(t), [0.0, 0.0, 1.0]);
        }
        assert_eq!(normal(6), [0.0, 0.0, 0.0]);
        // No leftover temporary file.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn write_round_trips_a_fixture() {
        let Some(fixtures) = fixtures() else { return };
        let mesh = read(&fixtures.join("synthetic/surface_multisolid_ascii.stl")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.stl");
        write(&path, &mesh).unwrap();
        let back = read(&path).unwrap();
        assert_eq!(back.points, mesh.points);
        assert_eq!(back.cells, mesh.cells);
    }

    #[test]
    fn write_refuses_meshes_without_surfaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lines.stl");
        let mut mesh = Mesh::point_cloud(vec![[0.0; 3], [1.0, 0.0, 0.0]]);
        mesh.cells.push(CellType::LINE, &[0, 1]);
        let e = write(&path, &mesh).unwrap_err().to_string();
        assert!(e.contains("no surface cells"), "{e}");
        assert!(!path.exists());
        let mut bad = mixed_mesh();
        bad.cells.push(CellType::TRIANGLE, &[0, 1, 99]);
        let e = write(&path, &bad).unwrap_err().to_string();
        assert!(e.contains("99"), "{e}");
        assert!(!path.exists());
    }

    #[test]
    fn triangulates_fans_strips_and_short_cells() {
        let tri = |t: CellType, ids: &[u32]| {
            let mut out = vec![[9; 3]];
            triangulate(t, ids, &mut out);
            out
        };
        assert_eq!(
            tri(CellType::POLYGON, &[0, 1, 2, 3, 4]),
            [[0, 1, 2], [0, 2, 3], [0, 3, 4]]
        );
        assert_eq!(
            tri(CellType::TRIANGLE_STRIP, &[0, 1, 2, 3, 4]),
            [[0, 1, 2], [2, 1, 3], [2, 3, 4]]
        );
        assert_eq!(tri(CellType::PIXEL, &[0, 1, 2, 3]), [[0, 1, 3], [0, 3, 2]]);
        assert_eq!(tri(CellType(22), &[0, 1, 2, 3, 4, 5]), [[0, 1, 2]]);
        assert_eq!(
            tri(CellType(23), &[0, 1, 2, 3, 4, 5]),
            [[0, 1, 2], [0, 2, 3]]
        );
        for t in [
            CellType::TRIANGLE,
            CellType::TRIANGLE_STRIP,
            CellType::PIXEL,
            CellType(22),
        ] {
            for ids in [&[][..], &[0], &[0, 1]] {
                assert!(tri(t, ids).is_empty(), "{t:?} {ids:?}");
            }
        }
    }
}
