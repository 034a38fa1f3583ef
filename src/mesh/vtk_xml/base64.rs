//! Streaming base64 decoding as VTK writes it.
//!
//! VTK encodes an uncompressed array's header and data as one base64 stream, but a compressed array's
//! header and data as two, so padding (`=`) may appear in the middle. Decoding quad by quad, where a
//! padded quad simply yields fewer bytes, handles both. Decoding is lazy: it consumes only the
//! characters needed, so an appended base64 block can be read array by array.

use std::io::BufRead;

use crate::mesh::error::{invalid, ParseResult};

const INVALID: u8 = 0xff;
const WHITESPACE: u8 = 0xfe;
const PAD: u8 = 0xfd;

const fn decode_table() -> [u8; 256] {
    let mut t = [INVALID; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t[b' ' as usize] = WHITESPACE;
    t[b'\n' as usize] = WHITESPACE;
    t[b'\r' as usize] = WHITESPACE;
    t[b'\t' as usize] = WHITESPACE;
    t[b'=' as usize] = PAD;
    t
}

static TABLE: [u8; 256] = decode_table();

/// Decodes base64 text from `inner` on demand.
pub struct Base64Reader<R> {
    inner: R,
    quad: [u8; 4],
    quad_len: usize,
    pad: usize,
    /// Decoded bytes not yet handed out.
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
            quad: [0; 4],
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
        let mut filled = 0;
        while filled < out.len() {
            if self.pending_pos < self.pending_len {
                let n = (self.pending_len - self.pending_pos).min(out.len() - filled);
                out[filled..filled + n]
                    .copy_from_slice(&self.pending[self.pending_pos..self.pending_pos + n]);
                self.pending_pos += n;
                filled += n;
                continue;
            }
            filled += self.decode_fast(&mut out[filled..])?;
            if filled < out.len() {
                filled += self.decode_into(&mut out[filled..])?;
            }
        }
        Ok(())
    }

    /// The careful path: decodes quad by quad (skipping whitespace, honouring padding) until at least
    /// one byte was produced; bytes beyond `out` wait in `pending`. Returns the bytes written to `out`.
    fn decode_into(&mut self, out: &mut [u8]) -> ParseResult<usize> {
        let mut written = 0;
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
            let mut stop = false;
            for &c in buf {
                used += 1;
                let v = TABLE[c as usize];
                match v {
                    WHITESPACE => continue,
                    INVALID => {
                        return Err(invalid!(
                            "'{}' in base64 data (truncated or corrupt array)",
                            (c as char).escape_default()
                        ))
                    }
                    PAD => {
                        if self.quad_len < 2 {
                            return Err(invalid!("misplaced '=' in base64 data"));
                        }
                        self.pad += 1;
                        self.quad[self.quad_len] = 0;
                    }
                    _ => {
                        if self.pad > 0 {
                            return Err(invalid!("base64 data continues after '=' inside a group"));
                        }
                        self.quad[self.quad_len] = v;
                    }
                }
                self.quad_len += 1;
                if self.quad_len == 4 {
                    let q = self.quad;
                    let bytes = [
                        (q[0] << 2) | (q[1] >> 4),
                        (q[1] << 4) | (q[2] >> 2),
                        (q[2] << 6) | q[3],
                    ];
                    let n = 3 - self.pad;
                    self.quad_len = 0;
                    self.pad = 0;
                    let room = out.len() - written;
                    if n <= room {
                        out[written..written + n].copy_from_slice(&bytes[..n]);
                        written += n;
                    } else {
                        out[written..].copy_from_slice(&bytes[..room]);
                        self.pending[..n - room].copy_from_slice(&bytes[room..n]);
                        self.pending_len = n - room;
                        self.pending_pos = 0;
                        written = out.len();
                    }
                    // Hand back after each quad so that the fast path can take over again.
                    if written > 0 {
                        stop = true;
                        break;
                    }
                }
            }
            self.inner.consume(used);
            self.chars_left = self.chars_left.saturating_sub(used as u64);
            if stop {
                return Ok(written);
            }
        }
    }
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
            match engine.decode_slice(&buf[..n_chars], &mut out[..]) {
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
