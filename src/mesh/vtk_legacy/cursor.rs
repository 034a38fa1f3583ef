//! The tokenizer: a position in the file's bytes, giving tokens, lines and raw byte runs without
//! allocating.

use super::grammar::is_space;
use crate::mesh::error::{invalid, ParseResult};

/// A position in the file's bytes.
pub(super) struct Cursor<'a> {
    pub(super) buf: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    pub(super) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// The next whitespace-separated token, or `None` at the end of the file.
    pub(super) fn token(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest();
        let start = rest.iter().position(|&b| !is_space(b))?;
        let tail = rest.get(start..)?;
        let len = tail.iter().position(|&b| is_space(b)).unwrap_or(tail.len());
        self.pos += start + len;
        tail.get(..len)
    }

    /// The next token without consuming it.
    pub(super) fn peek_token(&self) -> Option<&'a [u8]> {
        let mut copy = Cursor {
            buf: self.buf,
            pos: self.pos,
        };
        copy.token()
    }

    /// The rest of the current line (without `\r\n`), consuming the newline; `None` at the end of the file.
    pub(super) fn line(&mut self) -> Option<&'a [u8]> {
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
    pub(super) fn end_line(&mut self) {
        let rest = self.rest();
        self.pos += match memchr::memchr(b'\n', rest) {
            Some(i) => i + 1,
            None => rest.len(),
        };
    }

    pub(super) fn take(&mut self, n: usize, what: &str) -> ParseResult<&'a [u8]> {
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
