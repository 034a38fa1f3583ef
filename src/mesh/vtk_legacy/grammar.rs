//! The legacy VTK grammar both readers share (the whole reader here and the streaming one in
//! `stream`): data type names and their binary sizes and decoding, escaped names, integer tokens,
//! and the rule that skips `METADATA` blocks.

use crate::mesh::error::{invalid, unsupported, ParseResult};
use crate::mesh::field::ScalarType;

/// Whitespace between tokens.
pub(super) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// A token for an error message: at most 40 bytes of it.
pub(super) fn show(token: &[u8]) -> String {
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
pub(super) fn parse_int(token: &[u8]) -> Option<i64> {
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

/// A legacy data type name as it appears after an array header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DataType {
    /// Packed bits in binary files (most significant bit first), `0`/`1` in ASCII.
    Bit,
    Num(ScalarType),
    /// `vtkIdType`: the legacy writer stores it as a 32-bit int in binary files.
    IdType,
    /// `string` / `utf8_string` arrays: skipped.
    Str,
}

impl DataType {
    pub(super) fn parse(token: &[u8], what: &str) -> ParseResult<Self> {
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

    pub(super) fn source_type(self) -> ScalarType {
        match self {
            DataType::Bit => ScalarType::U8,
            DataType::Num(t) => t,
            DataType::IdType | DataType::Str => ScalarType::I64,
        }
    }

    pub(super) fn is_f32(self) -> bool {
        self == DataType::Num(ScalarType::F32)
    }

    /// Bytes one value takes in a BINARY block: `None` for bit arrays (packed) and strings (each
    /// sized by its own length prefix). The legacy writer stores `vtkIdType` as a 32-bit int.
    pub(super) fn binary_size(self) -> Option<usize> {
        match self {
            DataType::Num(t) => Some(t.size_bytes()),
            DataType::IdType => Some(4),
            DataType::Bit | DataType::Str => None,
        }
    }

    /// One big-endian value of a BINARY block (`b` is [`DataType::binary_size`] bytes long; bit
    /// and string arrays decode as 0).
    pub(super) fn decode_be(self, b: &[u8]) -> f64 {
        let first = b.first().copied().unwrap_or(0);
        match self {
            DataType::IdType => f64::from(i32::from_be_bytes(be(b))),
            DataType::Bit | DataType::Str => 0.0,
            DataType::Num(t) => match t {
                ScalarType::I8 => f64::from(first as i8),
                ScalarType::U8 => f64::from(first),
                ScalarType::I16 => f64::from(i16::from_be_bytes(be(b))),
                ScalarType::U16 => f64::from(u16::from_be_bytes(be(b))),
                ScalarType::I32 => f64::from(i32::from_be_bytes(be(b))),
                ScalarType::U32 => f64::from(u32::from_be_bytes(be(b))),
                ScalarType::I64 => i64::from_be_bytes(be(b)) as f64,
                ScalarType::U64 => u64::from_be_bytes(be(b)) as f64,
                ScalarType::F32 => f64::from(f32::from_be_bytes(be(b))),
                ScalarType::F64 => f64::from_be_bytes(be(b)),
            },
        }
    }
}

/// The value type of a BINARY block that can be sized and decoded value by value (what the
/// streaming reader walks): any [`DataType`] but bit and string arrays.
#[derive(Debug, Clone, Copy)]
pub(super) struct BlockType {
    data: DataType,
    size: usize,
}

impl BlockType {
    /// The 32-bit ints of cell types and legacy cell records.
    pub(super) const INT32: BlockType = BlockType {
        data: DataType::Num(ScalarType::I32),
        size: 4,
    };

    /// `None` for bit and string arrays, whose blocks this walk does not size, and for names the
    /// grammar refuses (the whole reader reports those).
    pub(super) fn parse(name: &str) -> Option<BlockType> {
        let data = DataType::parse(name.as_bytes(), "an array header").ok()?;
        Some(BlockType {
            data,
            size: data.binary_size()?,
        })
    }

    pub(super) fn size(self) -> usize {
        self.size
    }

    pub(super) fn source(self) -> ScalarType {
        self.data.source_type()
    }

    /// One big-endian value of this type (`bytes` is exactly `size()` long).
    pub(super) fn decode(self, b: &[u8]) -> f64 {
        self.data.decode_be(b)
    }
}

/// The first `N` bytes of `chunk` as an array (zeros where it is shorter).
pub(super) fn be<const N: usize>(chunk: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    for (o, v) in out.iter_mut().zip(chunk) {
        *o = *v;
    }
    out
}

/// Skips the lines of a `METADATA` block (VTK ≥ 8 writes one after arrays with component names or
/// information keys) whose keyword line was read: the block ends at a blank line, and
/// `COMPONENT_NAMES` is followed by one line per component (a name may be empty, so lines are
/// counted rather than searched for the blank one). `next_line` gives the following lines (`None`
/// at the end of the file). `Ok(false)`: the file ends inside the component names (truncated).
/// Both the whole reader and the streaming one skip metadata through this one rule.
pub(super) fn skip_metadata<L: AsRef<[u8]>, E>(
    components: usize,
    mut next_line: impl FnMut() -> Result<Option<L>, E>,
) -> Result<bool, E> {
    while let Some(line) = next_line()? {
        let word = line
            .as_ref()
            .split(|&b| is_space(b))
            .find(|w| !w.is_empty())
            .unwrap_or(&[]);
        if word.is_empty() {
            break;
        }
        if word.eq_ignore_ascii_case(b"COMPONENT_NAMES") {
            for _ in 0..components {
                if next_line()?.is_none() {
                    return Ok(false);
                }
            }
        }
    }
    Ok(true)
}

/// The faces of a polyhedron's face stream `nFaces, (nPts, id…)…`, as legacy files store
/// polyhedra; both readers walk it through this.
pub(super) fn polyhedron_faces(stream: &[u32]) -> ParseResult<Vec<&[u32]>> {
    let (&n_faces, mut rest) = stream
        .split_first()
        .ok_or_else(|| invalid!("empty face stream"))?;
    // Each face takes at least its count: a face count beyond the stream's length is found out
    // below, never allocated for.
    let mut faces = Vec::with_capacity((n_faces as usize).min(rest.len()));
    for face in 0..n_faces {
        let (&n, tail) = rest
            .split_first()
            .ok_or_else(|| invalid!("face stream ends before face {face} of {n_faces}"))?;
        let (ids, tail) = tail.split_at_checked(n as usize).ok_or_else(|| {
            invalid!("face {face} declares {n} points past the end of its face stream")
        })?;
        faces.push(ids);
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(invalid!(
            "its {n_faces} faces leave {} of the {} face-stream values unused",
            rest.len(),
            stream.len()
        ));
    }
    Ok(faces)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the metadata rule over `lines`; returns whether the block ended well and how many
    /// lines it took.
    fn skip(components: usize, lines: &[&str]) -> (bool, usize) {
        let mut it = lines.iter();
        let mut taken = 0;
        let ok = skip_metadata(components, || {
            let line = it.next().map(|l| l.as_bytes());
            taken += usize::from(line.is_some());
            Ok::<_, ()>(line)
        })
        .unwrap();
        (ok, taken)
    }

    #[test]
    fn metadata_ends_at_a_blank_line_and_counts_component_names() {
        let info = ["INFORMATION 0", "", "SCALARS next float"];
        assert_eq!(skip(1, &info), (true, 2));
        // An empty component name is a name, not the end of the block.
        let names = ["COMPONENT_NAMES", "x", "", "z", "", "SCALARS next float"];
        assert_eq!(skip(3, &names), (true, 5));
        // The file ending inside the names is a truncation; ending after them is not.
        assert_eq!(skip(3, &["COMPONENT_NAMES", "x"]), (false, 2));
        assert_eq!(skip(1, &["COMPONENT_NAMES", "x"]), (true, 2));
    }

    #[test]
    fn data_types_size_and_decode_binary_values() {
        let id = DataType::parse(b"vtkIdType", "test").unwrap();
        assert_eq!(id.binary_size(), Some(4));
        assert_eq!(id.decode_be(&(-7i32).to_be_bytes()), -7.0);
        let f = DataType::parse(b"double", "test").unwrap();
        assert_eq!(f.decode_be(&1.5f64.to_be_bytes()), 1.5);
        assert_eq!(DataType::parse(b"bit", "test").unwrap().binary_size(), None);
        assert!(DataType::parse(b"variant", "test").is_err());
        assert!(DataType::parse(b"quaternion", "test").is_err());
    }

    #[test]
    fn face_streams_give_their_faces_or_say_what_is_wrong() {
        let tetra_side = [2, 3, 0, 1, 2, 3, 0, 1, 3];
        let faces = polyhedron_faces(&tetra_side).unwrap();
        assert_eq!(faces, vec![&[0, 1, 2][..], &[0, 1, 3][..]]);
        assert!(polyhedron_faces(&[])
            .unwrap_err()
            .to_string()
            .contains("empty"));
        assert!(polyhedron_faces(&[2, 3, 0, 1, 2])
            .unwrap_err()
            .to_string()
            .contains("before face 1"));
        assert!(polyhedron_faces(&[1, 4, 0, 1])
            .unwrap_err()
            .to_string()
            .contains("past the end"));
        assert!(polyhedron_faces(&[1, 1, 0, 7])
            .unwrap_err()
            .to_string()
            .contains("unused"));
    }
}
