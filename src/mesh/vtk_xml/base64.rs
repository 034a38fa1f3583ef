//! Streaming base64 decoding as VTK writes it.
//!
//! VTK encodes an uncompressed array's header and data as one base64 stream, but a compressed array's
//! header and data as two, so padding (`=`) may appear in the middle. Decoding quad by quad, where a
//! padded quad simply yields fewer bytes, handles both. Decoding is lazy: it consumes only the
//! characters needed, so an appended base64 block can be read array by array.

use std::io::BufRead;

use crate::mesh::error::{invalid, ParseResult};

/// What one character of base64 text means.
enum Sym {
    /// A 6-bit value of the alphabet.
    Value(u8),
    Whitespace,
    Pad,
    Invalid,
}

/// Classifies a character of base64 text (the careful path only; the fast path is the `base64` crate).
#[inline]
fn classify(c: u8) -> Sym {
    match c {
        b'A'..=b'Z' => Sym::Value(c - b'A'),
        b'a'..=b'z' => Sym::Value(c - b'a' + 26),
        b'0'..=b'9' => Sym::Value(c - b'0' + 52),
        b'+' => Sym::Value(62),
        b'/' => Sym::Value(63),
        b' ' | b'\n' | b'\r' | b'\t' => Sym::Whitespace,
        b'=' => Sym::Pad,
        _ => Sym::Invalid,
    }
}

/// Decodes base64 text from `inner` on demand.
pub struct Base64Reader<R> {
    inner: R,
    /// The 6-bit values of the current group, most significant first.
    acc: u32,
    quad_len: usize,
    pad: usize,
    /// Decoded bytes not yet handed out: `pending[pending_pos..pending_len]`.
    pending: [u8; 3],
    pending_len: usize,
    pending_pos: usize,
    /// Characters still available in the region (an upper bound on what can be decoded).
    chars_left: u64,
}

impl<R: BufRead> Base64Reader<R> {
    pub fn new(inner: R, region_chars: u64) -> Self {
        Base64Reader {
            inner,
            acc: 0,
            quad_len: 0,
            pad: 0,
            pending: [0; 3],
            pending_len: 0,
            pending_pos: 0,
            chars_left: region_chars,
        }
    }

    /// An upper bound on the bytes this reader can still produce.
    pub fn max_remaining_bytes(&self) -> u64 {
        (self.chars_left / 4 + 1) * 3 + (self.pending_len - self.pending_pos) as u64
    }

    /// Fills `out` completely or fails (the text ended or was not base64).
    pub fn read_exact(&mut self, out: &mut [u8]) -> ParseResult<()> {
        let mut rest = out;
        while !rest.is_empty() {
            let n = if self.pending_pos < self.pending_len {
                self.take_pending(rest)
            } else {
                let n = self.decode_fast(rest)?;
                rest = advance(rest, n)?;
                if rest.is_empty() {
                    break;
                }
                self.decode_into(rest)?
            };
            rest = advance(rest, n)?;
        }
        Ok(())
    }

    /// Moves as many pending bytes as fit into `out`; returns how many.
    fn take_pending(&mut self, out: &mut [u8]) -> usize {
        let pending = self
            .pending
            .iter()
            .take(self.pending_len)
            .skip(self.pending_pos);
        let mut n = 0;
        for (dst, &b) in out.iter_mut().zip(pending) {
            *dst = b;
            n += 1;
        }
        self.pending_pos += n;
        n
    }

    /// The careful path: decodes one quad (skipping whitespace, honouring padding) into `pending` and
    /// hands out what fits in `out`; the rest waits in `pending`. Returns the bytes written to `out`.
    fn decode_into(&mut self, out: &mut [u8]) -> ParseResult<usize> {
        loop {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                return Err(if self.quad_len > 0 {
                    invalid!("base64 data ends in the middle of a 4-character group (truncated?)")
                } else {
                    invalid!("base64 data ends before the number of bytes its header declares (truncated?)")
                });
            }
            let mut used = 0;
            let mut decoded = None;
            for &c in buf {
                used += 1;
                let v = match classify(c) {
                    Sym::Whitespace => continue,
                    Sym::Invalid => {
                        return Err(invalid!(
                            "'{}' in base64 data (truncated or corrupt array)",
                            (c as char).escape_default()
                        ))
                    }
                    Sym::Pad => {
                        if self.quad_len < 2 {
                            return Err(invalid!("misplaced '=' in base64 data"));
                        }
                        self.pad += 1;
                        0
                    }
                    Sym::Value(v) => {
                        if self.pad > 0 {
                            return Err(invalid!("base64 data continues after '=' inside a group"));
                        }
                        v
                    }
                };
                self.acc = (self.acc << 6) | u32::from(v);
                self.quad_len += 1;
                if self.quad_len == 4 {
                    // The group's 24 bits are the low three bytes; padding drops the last ones.
                    let [_, b0, b1, b2] = self.acc.to_be_bytes();
                    decoded = Some(([b0, b1, b2], 3 - self.pad));
                    self.acc = 0;
                    self.quad_len = 0;
                    self.pad = 0;
                    // Hand back after each quad so that the fast path can take over again.
                    break;
                }
            }
            self.inner.consume(used);
            self.chars_left = self.chars_left.saturating_sub(used as u64);
            if let Some((bytes, n)) = decoded {
                self.pending = bytes;
                self.pending_len = n;
                self.pending_pos = 0;
                return Ok(self.take_pending(out));
            }
        }
    }
}

/// The part of `buf` after the `n` bytes just written to it.
fn advance(buf: &mut [u8], n: usize) -> ParseResult<&mut [u8]> {
    buf.get_mut(n..)
        .ok_or_else(|| invalid!("internal: base64 decoder wrote past its output"))
}

impl<R: BufRead> Base64Reader<R> {
    /// Fast path for the common case, long runs of base64 without whitespace or padding (VTK writes
    /// each array on one line): whole quads decoded by the `base64` crate straight into `out`. Stops at
    /// the first character it cannot take whole (whitespace, `=`, the end of the buffer); the careful
    /// quad-by-quad path handles the rest.
    fn decode_fast(&mut self, out: &mut [u8]) -> ParseResult<usize> {
        use ::base64::Engine;
        if self.quad_len != 0 || self.pending_pos < self.pending_len || out.len() < 3 {
            return Ok(0);
        }
        let buf = self.inner.fill_buf()?;
        let max_quads = out.len() / 3;
        let mut n_chars = (buf.len() / 4).min(max_quads) * 4;
        if n_chars == 0 {
            return Ok(0);
        }
        let engine = &::base64::engine::general_purpose::STANDARD_NO_PAD;
        let written = loop {
            let Some(text) = buf.get(..n_chars) else {
                return Err(invalid!("internal: base64 fast path past its buffer"));
            };
            match engine.decode_slice(text, &mut *out) {
                Ok(n) => break n,
                Err(::base64::DecodeSliceError::DecodeError(
                    ::base64::DecodeError::InvalidByte(at, _),
                )) => {
                    n_chars = at / 4 * 4;
                    if n_chars == 0 {
                        return Ok(0);
                    }
                }
                Err(_) => return Ok(0),
            }
        };
        self.inner.consume(n_chars);
        self.chars_left = self.chars_left.saturating_sub(n_chars as u64);
        Ok(written)
    }
}

/// Encodes bytes as base64 (the tests' reference encoder).
#[cfg(test)]
pub fn encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let idx = [
            b[0] >> 2,
            ((b[0] & 3) << 4) | (b[1] >> 4),
            ((b[1] & 15) << 2) | (b[2] >> 6),
            b[2] & 63,
        ];
        for (i, &k) in idx.iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[k as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(text: &str, n: usize) -> ParseResult<Vec<u8>> {
        let mut r = Base64Reader::new(text.as_bytes(), text.len() as u64);
        let mut out = vec![0; n];
        r.read_exact(&mut out)?;
        Ok(out)
    }

    #[test]
    fn round_trips_every_length() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let text = encode(&bytes);
            assert_eq!(decode_all(&text, len).unwrap(), bytes);
        }
    }

    #[test]
    fn decodes_two_padded_streams_and_whitespace() {
        let a = encode(&[1, 2, 3, 4]);
        let b = encode(&[5, 6]);
        let text = format!("  {a}\n {b}  ");
        assert_eq!(decode_all(&text, 6).unwrap(), vec![1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn reads_lazily_in_small_pieces() {
        let bytes: Vec<u8> = (0..100u8).collect();
        let text = encode(&bytes) + "<not base64";
        let mut r = Base64Reader::new(text.as_bytes(), text.len() as u64);
        let mut got = Vec::new();
        for step in [1usize, 2, 5, 7, 85] {
            let mut buf = vec![0; step];
            r.read_exact(&mut buf).unwrap();
            got.extend(buf);
        }
        assert_eq!(got, bytes);
    }

    #[test]
    fn rejects_truncated_and_garbage() {
        assert!(decode_all("QUJD", 4).is_err());
        assert!(decode_all("QUJDRA", 4).is_err());
        assert!(decode_all("QU*D", 3).is_err());
        assert!(decode_all("Q===", 1).is_err());
    }
}
