//! Decoding one `<DataArray>` as a stream of typed chunks, whatever its encoding: ASCII, inline
//! base64, appended raw or base64, each optionally zlib/LZ4/LZMA-compressed in blocks, little- or
//! big-endian, with UInt32 or UInt64 headers.
//!
//! Every size the file declares is checked against what the data can hold before anything is
//! allocated from it, so a corrupt header gives an error, not a terabyte allocation.

use std::io::{BufRead, BufReader, Read};

use crate::mesh::error::{invalid, ParseResult};
use crate::mesh::field::ScalarType;

use super::base64::Base64Reader;
use super::index::{AppendedEncoding, ArrayDesc, Compressor, DataLocation, FileIndex};
use super::source::Source;

/// Values handed out by [`ArrayReader::next_chunk`]: floats keep their precision, integers widen to i64.
pub enum Chunk<'a> {
    F32(&'a [f32]),
    F64(&'a [f64]),
    Int(&'a [i64]),
}

impl Chunk<'_> {
    pub fn len(&self) -> usize {
        match self {
            Chunk::F32(v) => v.len(),
            Chunk::F64(v) => v.len(),
            Chunk::Int(v) => v.len(),
        }
    }
}

const CHUNK_VALUES: usize = 1 << 16;

/// Bytes of a binary array before decompression: raw file bytes or decoded base64.
enum ByteStream<'a> {
    Raw {
        r: BufReader<Box<dyn Read + 'a>>,
        left: u64,
    },
    Base64(Base64Reader<BufReader<Box<dyn Read + 'a>>>),
}

impl ByteStream<'_> {
    fn read_exact(&mut self, out: &mut [u8]) -> ParseResult<()> {
        match self {
            ByteStream::Raw { r, left } => {
                if out.len() as u64 > *left {
                    return Err(invalid!(
                        "array data runs past the end of the file (truncated?)"
                    ));
                }
                r.read_exact(out)?;
                *left -= out.len() as u64;
                Ok(())
            }
            ByteStream::Base64(b) => b.read_exact(out),
        }
    }

    fn max_remaining(&self) -> u64 {
        match self {
            ByteStream::Raw { left, .. } => *left,
            ByteStream::Base64(b) => b.max_remaining_bytes(),
        }
    }
}

/// Typed output buffers, reused across chunks.
#[derive(Default)]
struct Buffers {
    f32: Vec<f32>,
    f64: Vec<f64>,
    int: Vec<i64>,
}

enum Kind<'a> {
    Ascii {
        r: BufReader<Box<dyn Read + 'a>>,
        left: u64,
        carry: Vec<u8>,
        done: bool,
    },
    Plain {
        bytes: ByteStream<'a>,
        left: u64,
    },
    Compressed {
        bytes: ByteStream<'a>,
        compressor: Compressor,
        compressed_sizes: Vec<u64>,
        next: usize,
        block_size: u64,
        last_block_size: u64,
        compressed: Vec<u8>,
    },
}

/// Streams the values of one array.
pub struct ArrayReader<'a> {
    kind: Kind<'a>,
    scalar: ScalarType,
    big_endian: bool,
    /// Total number of values the data holds, when the encoding says so up front (binary).
    declared_values: Option<u64>,
    /// A safe initial capacity for a caller's output vector.
    capacity_hint: u64,
    raw: Vec<u8>,
    carry: Vec<u8>,
    out: Buffers,
    name: String,
}

impl<'a> ArrayReader<'a> {
    /// Opens `desc` for reading.
    pub fn open(source: &'a dyn Source, index: &FileIndex, desc: &ArrayDesc) -> ParseResult<Self> {
        let enc = index.encoding;
        let name = desc.name.clone();
        let size = desc.scalar.size_bytes() as u64;
        let ctx = |e: crate::mesh::error::ParseError| prefix(e, &name);
        let (kind, declared_values, capacity_hint) = match desc.location {
            DataLocation::InlineAscii { start, end } => {
                let left = end.saturating_sub(start);
                let r = BufReader::with_capacity(1 << 16, source.reader_at(start)?);
                (
                    Kind::Ascii {
                        r,
                        left,
                        carry: Vec::new(),
                        done: false,
                    },
                    None,
                    left.div_ceil(2),
                )
            }
            DataLocation::InlineBinary { start, end } => {
                let chars = end.saturating_sub(start);
                let limited: Box<dyn Read + 'a> = Box::new(source.reader_at(start)?.take(chars));
                let r = BufReader::with_capacity(1 << 16, limited);
                let bytes = ByteStream::Base64(Base64Reader::new(r, chars));
                open_binary(bytes, enc, size).map_err(ctx)?
            }
            DataLocation::Appended { offset } => {
                let (app_enc, data_start) = index.appended.ok_or_else(|| {
                    invalid!("array '{name}' is appended but the file has no <AppendedData>")
                })?;
                let pos = data_start
                    .checked_add(offset)
                    .filter(|&p| p <= source.len())
                    .ok_or_else(|| {
                        invalid!("array '{name}' starts past the end of the file (truncated?)")
                    })?;
                let left = source.len() - pos;
                let r = BufReader::with_capacity(1 << 16, source.reader_at(pos)?);
                let bytes = match app_enc {
                    AppendedEncoding::Raw => ByteStream::Raw { r, left },
                    AppendedEncoding::Base64 => ByteStream::Base64(Base64Reader::new(r, left)),
                };
                open_binary(bytes, enc, size).map_err(ctx)?
            }
        };
        Ok(ArrayReader {
            kind,
            scalar: desc.scalar,
            big_endian: enc.big_endian,
            declared_values,
            capacity_hint,
            raw: Vec::new(),
            carry: Vec::new(),
            out: Buffers::default(),
            name: desc.name.clone(),
        })
    }

    /// The number of values, when the encoding declares it before the data (binary arrays).
    pub fn declared_values(&self) -> Option<u64> {
        self.declared_values
    }

    /// A capacity that is safe to reserve: never more than the data can hold.
    pub fn capacity_hint(&self, expected: Option<u64>) -> usize {
        let hint = match expected {
            Some(e) => e.min(self.capacity_hint),
            None => self.capacity_hint,
        };
        hint.min(1 << 32) as usize
    }

    /// The next chunk of values, or `None` at the end of the array.
    pub fn next_chunk(&mut self) -> ParseResult<Option<Chunk<'_>>> {
        let got = match self.fill() {
            Ok(got) => got,
            Err(e) => return Err(prefix(e, &self.name)),
        };
        if !got {
            return Ok(None);
        }
        let chunk = match self.scalar {
            ScalarType::F32 => Chunk::F32(&self.out.f32),
            ScalarType::F64 => Chunk::F64(&self.out.f64),
            _ => Chunk::Int(&self.out.int),
        };
        Ok(Some(chunk))
    }

    /// Decodes the next chunk into `self.out`; false at the end.
    fn fill(&mut self) -> ParseResult<bool> {
        self.out.f32.clear();
        self.out.f64.clear();
        self.out.int.clear();
        let size = self.scalar.size_bytes();
        match &mut self.kind {
            Kind::Ascii {
                r,
                left,
                carry,
                done,
            } => {
                if *done {
                    return Ok(false);
                }
                parse_ascii_chunk(r, left, carry, done, self.scalar, &mut self.out)?;
                let produced = !self.out.f32.is_empty()
                    || !self.out.f64.is_empty()
                    || !self.out.int.is_empty();
                return Ok(produced || !*done);
            }
            Kind::Plain { bytes, left } => {
                if *left == 0 {
                    return self.end_of_binary();
                }
                let n = (*left).min((CHUNK_VALUES * size) as u64) as usize;
                self.raw.resize(n, 0);
                bytes.read_exact(&mut self.raw)?;
                *left -= n as u64;
            }
            Kind::Compressed {
                bytes,
                compressor,
                compressed_sizes,
                next,
                block_size,
                last_block_size,
                compressed,
            } => {
                let Some(&csize) = compressed_sizes.get(*next) else {
                    return self.end_of_binary();
                };
                let expected = if *next + 1 == compressed_sizes.len() {
                    *last_block_size
                } else {
                    *block_size
                };
                *next += 1;
                compressed.resize(csize as usize, 0);
                bytes.read_exact(compressed)?;
                decompress(*compressor, compressed, expected as usize, &mut self.raw)?;
            }
        }
        // Binary arrays: the raw bytes of this chunk are in `self.raw`.
        convert(
            &self.raw,
            &mut self.carry,
            self.scalar,
            self.big_endian,
            &mut self.out,
        );
        Ok(true)
    }

    /// The end of a binary array: bytes left over from an incomplete value mean a corrupt count.
    fn end_of_binary(&self) -> ParseResult<bool> {
        if !self.carry.is_empty() {
            return Err(invalid!("byte count is not a multiple of the value size"));
        }
        Ok(false)
    }
}

fn prefix(e: crate::mesh::error::ParseError, name: &str) -> crate::mesh::error::ParseError {
    use crate::mesh::error::ParseError;
    match e {
        ParseError::Invalid(m) if !m.starts_with("array '") => {
            ParseError::Invalid(format!("array '{name}': {m}"))
        }
        other => other,
    }
}

fn read_header_uint(
    bytes: &mut ByteStream<'_>,
    u64_header: bool,
    big_endian: bool,
) -> ParseResult<u64> {
    if u64_header {
        let mut b = [0u8; 8];
        bytes.read_exact(&mut b)?;
        Ok(if big_endian {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        })
    } else {
        let mut b = [0u8; 4];
        bytes.read_exact(&mut b)?;
        Ok(if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        } as u64)
    }
}

/// Reads a binary array's header and sets up streaming of its body.
fn open_binary<'a>(
    mut bytes: ByteStream<'a>,
    enc: super::index::Encoding,
    value_size: u64,
) -> ParseResult<(Kind<'a>, Option<u64>, u64)> {
    let header_size = if enc.header_u64 { 8 } else { 4 };
    match enc.compressor {
        None => {
            let n_bytes = read_header_uint(&mut bytes, enc.header_u64, enc.big_endian)?;
            if n_bytes > bytes.max_remaining() {
                return Err(invalid!(
                    "header declares {n_bytes} bytes but the data holds at most {} (truncated?)",
                    bytes.max_remaining()
                ));
            }
            if n_bytes % value_size != 0 {
                return Err(invalid!(
                    "{n_bytes} bytes is not a whole number of {value_size}-byte values"
                ));
            }
            let n = n_bytes / value_size;
            Ok((
                Kind::Plain {
                    bytes,
                    left: n_bytes,
                },
                Some(n),
                n,
            ))
        }
        Some(compressor) => {
            let n_blocks = read_header_uint(&mut bytes, enc.header_u64, enc.big_endian)?;
            let block_size = read_header_uint(&mut bytes, enc.header_u64, enc.big_endian)?;
            let last = read_header_uint(&mut bytes, enc.header_u64, enc.big_endian)?;
            if n_blocks.saturating_mul(header_size) > bytes.max_remaining() {
                return Err(invalid!(
                    "compression header declares {n_blocks} blocks, more than the data can hold"
                ));
            }
            if n_blocks > 0 && block_size == 0 {
                return Err(invalid!("compression header declares a block size of 0"));
            }
            if last > block_size {
                return Err(invalid!(
                    "last block ({last} bytes) larger than the block size ({block_size})"
                ));
            }
            let mut sizes = Vec::with_capacity(n_blocks as usize);
            let mut total_compressed = 0u64;
            for _ in 0..n_blocks {
                let c = read_header_uint(&mut bytes, enc.header_u64, enc.big_endian)?;
                total_compressed = total_compressed.saturating_add(c);
                sizes.push(c);
            }
            if total_compressed > bytes.max_remaining() {
                return Err(invalid!(
                    "compressed blocks declare {total_compressed} bytes but the data holds at most {} (truncated?)",
                    bytes.max_remaining()
                ));
            }
            let last_block_size = if last == 0 { block_size } else { last };
            let total = if n_blocks == 0 {
                0
            } else {
                (n_blocks - 1)
                    .checked_mul(block_size)
                    .and_then(|t| t.checked_add(last_block_size))
                    .ok_or_else(|| {
                        invalid!(
                            "compression header declares {n_blocks} blocks of {block_size} bytes: more than 2^64 bytes"
                        )
                    })?
            };
            if total % value_size != 0 {
                return Err(invalid!(
                    "{total} bytes is not a whole number of {value_size}-byte values"
                ));
            }
            let n = total / value_size;
            // Generous but bounded: typical CFD arrays compress 2-10x.
            let hint = n.min(total_compressed.saturating_mul(64) / value_size + 1);
            Ok((
                Kind::Compressed {
                    bytes,
                    compressor,
                    compressed_sizes: sizes,
                    next: 0,
                    block_size,
                    last_block_size,
                    compressed: Vec::new(),
                },
                Some(n),
                hint,
            ))
        }
    }
}

fn decompress(
    compressor: Compressor,
    input: &[u8],
    expected: usize,
    out: &mut Vec<u8>,
) -> ParseResult<()> {
    out.clear();
    match compressor {
        Compressor::Zlib => {
            let mut d =
                flate2::read::ZlibDecoder::new(input).take((expected as u64).saturating_add(1));
            // Deflate expands at most 1032:1, so a block cannot honestly need more; a header
            // claiming terabytes must not make us reserve them.
            out.reserve(expected.min(input.len().saturating_mul(1032).saturating_add(1024)));
            d.read_to_end(out)
                .map_err(|e| invalid!("zlib block does not decompress: {e}"))?;
        }
        Compressor::Lz4 => {
            // LZ4 expands at most 255:1: a larger claim cannot be met, and we do not allocate it.
            out.resize(
                expected.min(input.len().saturating_mul(255).saturating_add(16)),
                0,
            );
            let n = lz4_flex::block::decompress_into(input, out)
                .map_err(|e| invalid!("LZ4 block does not decompress: {e}"))?;
            out.truncate(n);
        }
        Compressor::Lzma => {
            let mut r = input;
            let mut w = LimitedWriter {
                out,
                limit: expected.saturating_add(1),
            };
            lzma_rs::xz_decompress(&mut r, &mut w)
                .map_err(|e| invalid!("LZMA block does not decompress: {e}"))?;
        }
    }
    if out.len() != expected {
        return Err(invalid!(
            "a compressed block decompresses to {}{} bytes, the header says {expected}",
            out.len().min(expected.saturating_add(1)),
            if out.len() > expected { "+" } else { "" }
        ));
    }
    Ok(())
}

/// A writer that refuses to grow beyond `limit` bytes (guards against decompression bombs).
struct LimitedWriter<'a> {
    out: &'a mut Vec<u8>,
    limit: usize,
}

impl std::io::Write for LimitedWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.out.len() + buf.len() > self.limit {
            return Err(std::io::Error::other(
                "block decompresses to more bytes than declared",
            ));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Converts bytes (plus the tail of the previous call in `carry`) to typed values.
fn convert(
    bytes: &[u8],
    carry: &mut Vec<u8>,
    scalar: ScalarType,
    big_endian: bool,
    out: &mut Buffers,
) {
    let size = scalar.size_bytes();
    let mut data = bytes;
    if !carry.is_empty() {
        let need = size - carry.len();
        let Some((head, tail)) = data.split_at_checked(need) else {
            carry.extend_from_slice(data);
            return;
        };
        carry.extend_from_slice(head);
        convert_whole(carry, scalar, big_endian, out);
        carry.clear();
        data = tail;
    }
    // `convert_whole` takes the whole values; the bytes of a partial one wait for the next call.
    convert_whole(data, scalar, big_endian, out);
    carry.extend_from_slice(data.chunks_exact(size).remainder());
}

macro_rules! decode_as {
    ($bytes:expr, $t:ty, $n:literal, $be:expr, $dst:expr, $map:expr) => {{
        let it = $bytes.chunks_exact($n).map(|c| {
            let mut a = [0u8; $n];
            a.copy_from_slice(c);
            if $be {
                <$t>::from_be_bytes(a)
            } else {
                <$t>::from_le_bytes(a)
            }
        });
        $dst.extend(it.map($map));
    }};
}

fn convert_whole(bytes: &[u8], scalar: ScalarType, be: bool, out: &mut Buffers) {
    match scalar {
        ScalarType::F32 => decode_as!(bytes, f32, 4, be, out.f32, |x| x),
        ScalarType::F64 => decode_as!(bytes, f64, 8, be, out.f64, |x| x),
        ScalarType::I8 => decode_as!(bytes, i8, 1, be, out.int, |x| x as i64),
        ScalarType::U8 => decode_as!(bytes, u8, 1, be, out.int, |x| x as i64),
        ScalarType::I16 => decode_as!(bytes, i16, 2, be, out.int, |x| x as i64),
        ScalarType::U16 => decode_as!(bytes, u16, 2, be, out.int, |x| x as i64),
        ScalarType::I32 => decode_as!(bytes, i32, 4, be, out.int, |x| x as i64),
        ScalarType::U32 => decode_as!(bytes, u32, 4, be, out.int, |x| x as i64),
        ScalarType::I64 => decode_as!(bytes, i64, 8, be, out.int, |x| x),
        // Ids beyond i64::MAX do not occur in meshes; saturate rather than wrap.
        ScalarType::U64 => decode_as!(bytes, u64, 8, be, out.int, |x| i64::try_from(x)
            .unwrap_or(i64::MAX)),
    }
}

/// Parses whitespace-separated numbers from the next piece of ASCII text.
fn parse_ascii_chunk(
    r: &mut BufReader<Box<dyn Read + '_>>,
    left: &mut u64,
    carry: &mut Vec<u8>,
    done: &mut bool,
    scalar: ScalarType,
    out: &mut Buffers,
) -> ParseResult<()> {
    let buf = if *left == 0 { &[][..] } else { r.fill_buf()? };
    // At most `left` bytes of the buffer belong to the array.
    let text = usize::try_from(*left).map_or(buf, |l| buf.get(..l).unwrap_or(buf));
    let take = text.len();
    if take == 0 {
        if *left > 0 {
            return Err(invalid!("ASCII data ends early (truncated?)"));
        }
        *done = true;
        if !carry.is_empty() {
            let tok = std::mem::take(carry);
            push_token(&tok, scalar, out)?;
        }
        return Ok(());
    }
    let is_ws = |b: &u8| b.is_ascii_whitespace();
    let mut rest = text;
    if !carry.is_empty() {
        // The text may continue the number the previous buffer ended with.
        let (head, tail) = text
            .iter()
            .position(is_ws)
            .and_then(|end| text.split_at_checked(end))
            .unwrap_or((text, &[]));
        carry.extend_from_slice(head);
        if !tail.is_empty() {
            let tok = std::mem::take(carry);
            push_token(&tok, scalar, out)?;
        }
        rest = tail;
    }
    // Whole tokens end at the last whitespace; what follows may continue in the next buffer.
    let (whole, partial) = rest
        .iter()
        .rposition(is_ws)
        .and_then(|i| rest.split_at_checked(i + 1))
        .unwrap_or((&[], rest));
    for tok in whole.split(|b| b.is_ascii_whitespace()) {
        if !tok.is_empty() {
            push_token(tok, scalar, out)?;
        }
    }
    carry.extend_from_slice(partial);
    if carry.len() > 4096 {
        return Err(invalid!(
            "a number longer than 4096 characters in ASCII data"
        ));
    }
    r.consume(take);
    *left -= take as u64;
    Ok(())
}

fn push_token(tok: &[u8], scalar: ScalarType, out: &mut Buffers) -> ParseResult<()> {
    let s = std::str::from_utf8(tok).map_err(|_| invalid!("non-text bytes in ASCII data"))?;
    let bad = || {
        invalid!(
            "'{}' is not a number",
            s.chars().take(40).collect::<String>()
        )
    };
    match scalar {
        ScalarType::F32 => out.f32.push(s.parse().map_err(|_| bad())?),
        ScalarType::F64 => out.f64.push(s.parse().map_err(|_| bad())?),
        _ => out.int.push(match s.parse::<i64>() {
            Ok(v) => v,
            Err(_) => {
                // Some writers emit integers as "3.0".
                let f: f64 = s.parse().map_err(|_| bad())?;
                if f.fract() != 0.0 || !f.is_finite() {
                    return Err(bad());
                }
                f as i64
            }
        }),
    }
    Ok(())
}
