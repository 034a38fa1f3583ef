//! First pass over a VTK XML file: its structure and where each array's data lies, without decoding
//! any data.
//!
//! Inline arrays are remembered as byte ranges of the file, appended arrays as offsets into the
//! `<AppendedData>` block. Readers then decode only the arrays they need, in the order they need them
//! (for example offsets and connectivity side by side to compute cell centres), which is what lets a
//! 40 GB DrivAerML volume be mined for two arrays with bounded memory.

use std::io::{BufRead, BufReader, Read};

use crate::mesh::cells::CellType;
use crate::mesh::error::{invalid, unsupported, ParseResult};
use crate::mesh::field::ScalarType;

use super::tag::{attr, Tag};

/// `<VTKFile type=...>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataSetType {
    PolyData,
    UnstructuredGrid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compressor {
    Zlib,
    Lz4,
    Lzma,
}

/// File-wide settings that every binary array shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoding {
    pub header_u64: bool,
    pub big_endian: bool,
    pub compressor: Option<Compressor>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendedEncoding {
    Raw,
    Base64,
}

/// Where an array's data is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataLocation {
    /// Text between the tags (ASCII numbers), byte range `[start, end)` of the file.
    InlineAscii { start: u64, end: u64 },
    /// Base64 between the tags, byte range `[start, end)` of the file.
    InlineBinary { start: u64, end: u64 },
    /// `offset` bytes (raw) or characters (base64) after the `_` that opens `<AppendedData>`.
    Appended { offset: u64 },
}

/// One `<DataArray>`.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayDesc {
    pub name: String,
    pub scalar: ScalarType,
    pub components: usize,
    /// `NumberOfTuples`, where the file states it (field data).
    pub declared_tuples: Option<u64>,
    pub location: DataLocation,
}

/// The section an array belongs to inside a piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    PointData,
    CellData,
    Points,
    Cells,
    Verts,
    Lines,
    Strips,
    Polys,
}

impl Section {
    /// VTK's cell type for a PolyData cell of `n_points` points stored in this section.
    pub fn poly_cell_type(self, n_points: usize) -> CellType {
        match (self, n_points) {
            (Section::Verts, 1) => CellType::VERTEX,
            (Section::Verts, _) => CellType::POLY_VERTEX,
            (Section::Lines, 2) => CellType::LINE,
            (Section::Lines, _) => CellType::POLY_LINE,
            (Section::Polys, 3) => CellType::TRIANGLE,
            (Section::Polys, 4) => CellType::QUAD,
            (Section::Polys, _) => CellType::POLYGON,
            _ => CellType::TRIANGLE_STRIP,
        }
    }

    fn from_element(name: &str) -> Option<Section> {
        Some(match name {
            "PointData" => Section::PointData,
            "CellData" => Section::CellData,
            "Points" => Section::Points,
            "Cells" => Section::Cells,
            "Verts" => Section::Verts,
            "Lines" => Section::Lines,
            "Strips" => Section::Strips,
            "Polys" => Section::Polys,
            _ => return None,
        })
    }
}

/// One `<Piece>`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PieceIndex {
    pub n_points: u64,
    /// Cells of an unstructured grid.
    pub n_cells: u64,
    /// PolyData cell counts.
    pub n_verts: u64,
    pub n_lines: u64,
    pub n_strips: u64,
    pub n_polys: u64,
    pub arrays: Vec<(Section, ArrayDesc)>,
}

impl PieceIndex {
    /// The PolyData cell sections with their cell counts, in the order VTK numbers their cells.
    pub fn poly_sections(&self) -> [(Section, u64); 4] {
        [
            (Section::Verts, self.n_verts),
            (Section::Lines, self.n_lines),
            (Section::Polys, self.n_polys),
            (Section::Strips, self.n_strips),
        ]
    }

    pub fn total_cells(&self, kind: DataSetType) -> u64 {
        match kind {
            DataSetType::UnstructuredGrid => self.n_cells,
            // Saturating: a corrupt count must give an error later, not an overflow here.
            DataSetType::PolyData => self
                .n_verts
                .saturating_add(self.n_lines)
                .saturating_add(self.n_strips)
                .saturating_add(self.n_polys),
        }
    }

    pub fn array(&self, section: Section, name: &str) -> Option<&ArrayDesc> {
        self.arrays
            .iter()
            .find(|(s, a)| *s == section && a.name == name)
            .map(|(_, a)| a)
    }

    /// The single array of a section that has one (`<Points>`).
    pub fn first_in(&self, section: Section) -> Option<&ArrayDesc> {
        self.arrays
            .iter()
            .find(|(s, _)| *s == section)
            .map(|(_, a)| a)
    }

    pub fn section(&self, section: Section) -> impl Iterator<Item = &ArrayDesc> {
        self.arrays
            .iter()
            .filter(move |(s, _)| *s == section)
            .map(|(_, a)| a)
    }
}

/// The sum of the pieces' counts of `what` (an error where corrupt counts overflow).
pub fn total(counts: impl Iterator<Item = u64>, what: &str) -> ParseResult<u64> {
    let mut sum = 0u64;
    for n in counts {
        sum = sum
            .checked_add(n)
            .ok_or_else(|| invalid!("the pieces declare more than 2^64 {what}"))?;
    }
    Ok(sum)
}

/// Everything the first pass learns.
#[derive(Debug, Clone, PartialEq)]
pub struct FileIndex {
    pub kind: DataSetType,
    pub encoding: Encoding,
    pub field_data: Vec<ArrayDesc>,
    pub pieces: Vec<PieceIndex>,
    /// Encoding and file position of the first data byte after `_`.
    pub appended: Option<(AppendedEncoding, u64)>,
    pub file_len: u64,
}

/// Byte reader that tracks its position.
struct Scanner<R> {
    r: R,
    pos: u64,
}

/// Longest tag we accept; real VTK tags are a few hundred bytes.
const MAX_TAG_BYTES: usize = 1 << 16;

impl<R: BufRead> Scanner<R> {
    fn peek(&mut self) -> ParseResult<Option<u8>> {
        Ok(self.r.fill_buf()?.first().copied())
    }

    fn bump(&mut self, n: usize) {
        self.r.consume(n);
        self.pos += n as u64;
    }

    /// Advances to the next `<` (or the end of the file); returns whether non-whitespace text was passed.
    fn skip_text(&mut self) -> ParseResult<bool> {
        let mut saw_text = false;
        loop {
            let buf = self.r.fill_buf()?;
            if buf.is_empty() {
                return Ok(saw_text);
            }
            let (n, found) = match memchr::memchr(b'<', buf) {
                Some(i) => (i, true),
                None => (buf.len(), false),
            };
            if !saw_text {
                saw_text = buf.iter().take(n).any(|b| !b.is_ascii_whitespace());
            }
            self.bump(n);
            if found {
                return Ok(saw_text);
            }
        }
    }

    fn skip_whitespace(&mut self) -> ParseResult<()> {
        loop {
            let buf = self.r.fill_buf()?;
            if buf.is_empty() {
                return Ok(());
            }
            let n = buf
                .iter()
                .position(|b| !b.is_ascii_whitespace())
                .unwrap_or(buf.len());
            let all = n == buf.len();
            self.bump(n);
            if !all {
                return Ok(());
            }
        }
    }

    /// Reads a tag; the scanner must be at `<`. Comments may contain `>` and are read to `-->`.
    fn read_tag(&mut self) -> ParseResult<Tag> {
        let mut raw = Vec::new();
        self.bump(1); // '<'
        let mut quote: Option<u8> = None;
        loop {
            let buf = self.r.fill_buf()?;
            if buf.is_empty() {
                return Err(invalid!("file ends inside a tag (truncated?)"));
            }
            let mut consumed = 0;
            let mut done = false;
            for &b in buf {
                consumed += 1;
                // Inside a comment neither quotes nor '>' count until the closing "-->".
                let in_comment = raw.starts_with(b"!--");
                match quote {
                    Some(q) if b == q => quote = None,
                    Some(_) => {}
                    None if (b == b'"' || b == b'\'') && !in_comment => quote = Some(b),
                    None if b == b'>' && (!in_comment || raw.ends_with(b"--")) => {
                        done = true;
                        break;
                    }
                    None => {}
                }
                raw.push(b);
            }
            self.bump(consumed);
            if done {
                return Tag::parse(&raw);
            }
            if raw.len() > MAX_TAG_BYTES {
                return Err(invalid!(
                    "a tag longer than {MAX_TAG_BYTES} bytes: not a VTK XML file"
                ));
            }
        }
    }
}

/// Reads the structure of a VTK XML file.
pub fn index_file<R: Read>(reader: R, file_len: u64) -> ParseResult<FileIndex> {
    let mut s = Scanner {
        r: BufReader::with_capacity(1 << 20, reader),
        pos: 0,
    };
    let mut stack: Vec<String> = Vec::new();
    let mut kind: Option<DataSetType> = None;
    let mut encoding = Encoding {
        header_u64: false,
        big_endian: false,
        compressor: None,
    };
    let mut field_data = Vec::new();
    let mut pieces: Vec<PieceIndex> = Vec::new();
    let mut appended = None;
    let mut saw_root = false;

    loop {
        if s.skip_text()? && stack.is_empty() {
            return Err(invalid!(
                "text outside the <VTKFile> element: not a VTK XML file"
            ));
        }
        if s.peek()?.is_none() {
            break;
        }
        let tag_pos = s.pos;
        let tag = s.read_tag()?;
        match tag {
            Tag::Other => {}
            Tag::End { name } => match stack.pop() {
                Some(open) if open == name => {}
                Some(open) => return Err(invalid!("</{name}> closes <{open}> (byte {tag_pos})")),
                None => return Err(invalid!("unexpected </{name}> at byte {tag_pos}")),
            },
            Tag::Start {
                name,
                attrs,
                self_closing,
            } => {
                if stack.is_empty() {
                    if saw_root || name != "VTKFile" {
                        return Err(invalid!(
                            "expected <VTKFile> as the root element, found <{name}>"
                        ));
                    }
                    saw_root = true;
                    kind = Some(parse_root(&attrs, &mut encoding)?);
                } else if name == "DataArray" {
                    let section = stack.last().and_then(|p| Section::from_element(p));
                    let in_field_data = stack.last().map(String::as_str) == Some("FieldData");
                    let desc = read_data_array(&mut s, &attrs, self_closing)?;
                    match (section, in_field_data) {
                        (_, true) => {
                            if let Some(d) = desc {
                                field_data.push(d);
                            }
                        }
                        (Some(sec), false) => {
                            let piece = pieces
                                .last_mut()
                                .ok_or_else(|| invalid!("<DataArray> outside a <Piece>"))?;
                            let d = desc.ok_or_else(|| {
                                invalid!("array of an unsupported type (String?) in <{:?}>", sec)
                            })?;
                            piece.arrays.push((sec, d));
                        }
                        (None, false) => {
                            return Err(invalid!(
                                "<DataArray> inside <{}>, where VTK puts none",
                                stack.last().map(String::as_str).unwrap_or("")
                            ))
                        }
                    }
                    continue; // read_data_array consumed the closing tag
                } else if name == "Piece" {
                    if stack.len() != 2 {
                        return Err(invalid!("<Piece> at an unexpected depth"));
                    }
                    pieces.push(parse_piece(&attrs)?);
                } else if name == "AppendedData" {
                    let enc = match attr(&attrs, "encoding") {
                        Some("raw") => AppendedEncoding::Raw,
                        Some("base64") => AppendedEncoding::Base64,
                        other => {
                            return Err(invalid!(
                                "<AppendedData> with unknown encoding {:?}",
                                other.unwrap_or("(none)")
                            ))
                        }
                    };
                    s.skip_whitespace()?;
                    if s.peek()? != Some(b'_') {
                        return Err(invalid!("<AppendedData> does not start with '_'"));
                    }
                    s.bump(1);
                    appended = Some((enc, s.pos));
                    // Raw appended data is binary: the XML structure ends here. VTK writes nothing
                    // after it but the closing tags.
                    stack.clear();
                    break;
                }
                if !self_closing {
                    stack.push(name);
                }
            }
        }
    }
    if let Some(open) = stack.last() {
        return Err(invalid!("file ends inside <{open}> (truncated?)"));
    }
    let kind = kind.ok_or_else(|| invalid!("no <VTKFile> element: not a VTK XML file"))?;
    if pieces.is_empty() {
        return Err(invalid!("the file holds no <Piece>"));
    }
    Ok(FileIndex {
        kind,
        encoding,
        field_data,
        pieces,
        appended,
        file_len,
    })
}

fn parse_root(attrs: &[(String, String)], enc: &mut Encoding) -> ParseResult<DataSetType> {
    let kind = match attr(attrs, "type") {
        Some("PolyData") => DataSetType::PolyData,
        Some("UnstructuredGrid") => DataSetType::UnstructuredGrid,
        Some(other) => {
            return Err(unsupported!(
                "VTK XML dataset type {other} (slipstream reads PolyData .vtp and UnstructuredGrid .vtu)"
            ))
        }
        None => return Err(invalid!("<VTKFile> has no type attribute")),
    };
    enc.big_endian = match attr(attrs, "byte_order") {
        None | Some("LittleEndian") => false,
        Some("BigEndian") => true,
        Some(other) => return Err(invalid!("unknown byte_order {other}")),
    };
    enc.header_u64 = match attr(attrs, "header_type") {
        None | Some("UInt32") => false,
        Some("UInt64") => true,
        Some(other) => return Err(invalid!("unknown header_type {other}")),
    };
    enc.compressor = match attr(attrs, "compressor") {
        None | Some("") => None,
        Some("vtkZLibDataCompressor") => Some(Compressor::Zlib),
        Some("vtkLZ4DataCompressor") => Some(Compressor::Lz4),
        Some("vtkLZMADataCompressor") => Some(Compressor::Lzma),
        Some(other) => {
            return Err(unsupported!(
                "compressor {other} (slipstream reads vtkZLibDataCompressor, vtkLZ4DataCompressor, vtkLZMADataCompressor)"
            ))
        }
    };
    Ok(kind)
}

fn count_attr(attrs: &[(String, String)], key: &str) -> ParseResult<u64> {
    match attr(attrs, key) {
        None => Ok(0),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| invalid!("{key}=\"{v}\" is not a count")),
    }
}

fn parse_piece(attrs: &[(String, String)]) -> ParseResult<PieceIndex> {
    Ok(PieceIndex {
        n_points: count_attr(attrs, "NumberOfPoints")?,
        n_cells: count_attr(attrs, "NumberOfCells")?,
        n_verts: count_attr(attrs, "NumberOfVerts")?,
        n_lines: count_attr(attrs, "NumberOfLines")?,
        n_strips: count_attr(attrs, "NumberOfStrips")?,
        n_polys: count_attr(attrs, "NumberOfPolys")?,
        arrays: Vec::new(),
    })
}

/// Reads a `<DataArray>` up to and including `</DataArray>`, recording where its data lies.
/// Returns `None` for arrays that are not numeric (String arrays in FieldData), which are skipped.
fn read_data_array<R: BufRead>(
    s: &mut Scanner<R>,
    attrs: &[(String, String)],
    self_closing: bool,
) -> ParseResult<Option<ArrayDesc>> {
    let name = attr(attrs, "Name").unwrap_or("").to_string();
    let type_name =
        attr(attrs, "type").ok_or_else(|| invalid!("DataArray '{name}' has no type"))?;
    let scalar = ScalarType::from_vtk_name(type_name);
    let components: usize = match attr(attrs, "NumberOfComponents") {
        None => 1,
        Some(v) => v
            .trim()
            .parse()
            .ok()
            .filter(|&c| (1..=1024).contains(&c))
            .ok_or_else(|| invalid!("DataArray '{name}' has NumberOfComponents=\"{v}\""))?,
    };
    let declared_tuples = match attr(attrs, "NumberOfTuples") {
        None => None,
        Some(v) => Some(
            v.trim()
                .parse()
                .map_err(|_| invalid!("DataArray '{name}' has NumberOfTuples=\"{v}\""))?,
        ),
    };
    let format = attr(attrs, "format").unwrap_or("ascii");
    let mut location = match format {
        "appended" => {
            let offset = attr(attrs, "offset")
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| invalid!("appended DataArray '{name}' has no valid offset"))?;
            Some(DataLocation::Appended { offset })
        }
        "ascii" | "binary" => None,
        other => {
            return Err(invalid!(
                "DataArray '{name}' has unknown format \"{other}\""
            ))
        }
    };
    if !self_closing {
        // Content: whitespace, at most one run of data text, and nested elements (InformationKey).
        loop {
            s.skip_whitespace()?;
            match s.peek()? {
                None => return Err(invalid!("file ends inside DataArray '{name}' (truncated?)")),
                Some(b'<') => match s.read_tag()? {
                    Tag::End { name: end } if end == "DataArray" => break,
                    Tag::End { name: end } => {
                        return Err(invalid!("</{end}> inside DataArray '{name}'"))
                    }
                    Tag::Start {
                        name: inner,
                        self_closing: inner_closed,
                        ..
                    } => {
                        if !inner_closed {
                            skip_element(s, &inner)?;
                        }
                    }
                    Tag::Other => {}
                },
                Some(_) => {
                    let start = s.pos;
                    s.skip_text()?;
                    let end = s.pos;
                    if location.is_some() {
                        return Err(invalid!(
                            "DataArray '{name}' has data text besides its {format} data"
                        ));
                    }
                    location = Some(if format == "ascii" {
                        DataLocation::InlineAscii { start, end }
                    } else {
                        DataLocation::InlineBinary { start, end }
                    });
                }
            }
        }
    }
    let location = match location {
        Some(l) => l,
        // An empty array written without text.
        None if format == "ascii" => DataLocation::InlineAscii { start: 0, end: 0 },
        None => DataLocation::InlineBinary { start: 0, end: 0 },
    };
    Ok(scalar.map(|scalar| ArrayDesc {
        name,
        scalar,
        components,
        declared_tuples,
        location,
    }))
}

/// Skips the content of an element whose start tag was just read.
fn skip_element<R: BufRead>(s: &mut Scanner<R>, name: &str) -> ParseResult<()> {
    let mut depth = 1usize;
    while depth > 0 {
        s.skip_text()?;
        if s.peek()?.is_none() {
            return Err(invalid!("file ends inside <{name}> (truncated?)"));
        }
        match s.read_tag()? {
            Tag::Start {
                self_closing: false,
                ..
            } => depth += 1,
            Tag::End { .. } => depth -= 1,
            _ => {}
        }
    }
    Ok(())
}
