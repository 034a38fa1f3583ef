//! The small subset of XML that VTK files use: start/end tags with quoted attributes.
//!
//! We scan tags ourselves instead of using a general XML parser because a VTK file is mostly array
//! data between a few hundred tags: the data must be decoded (or skipped) straight from the file,
//! never buffered as one multi-gigabyte XML text node.

use crate::mesh::error::{invalid, ParseResult};

/// A parsed tag.
#[derive(Debug, Clone, PartialEq)]
pub enum Tag {
    Start {
        name: String,
        attrs: Vec<(String, String)>,
        self_closing: bool,
    },
    End {
        name: String,
    },
    /// `<?...?>`, `<!-- ... -->`, `<!DOCTYPE ...>`: nothing VTK needs.
    Other,
}

impl Tag {
    /// Parses the bytes between `<` and `>` (exclusive).
    pub fn parse(raw: &[u8]) -> ParseResult<Tag> {
        let text = std::str::from_utf8(raw).map_err(|_| invalid!("tag is not valid UTF-8"))?;
        if text.starts_with('?') || text.starts_with('!') {
            return Ok(Tag::Other);
        }
        if let Some(rest) = text.strip_prefix('/') {
            let name = rest.trim();
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(invalid!("malformed end tag </{}>", shorten(text)));
            }
            return Ok(Tag::End {
                name: name.to_string(),
            });
        }
        let (body, self_closing) = match text.strip_suffix('/') {
            Some(b) => (b, true),
            None => (text, false),
        };
        let name_end = body.find(|c: char| c.is_whitespace()).unwrap_or(body.len());
        let name = &body[..name_end];
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || "_-:.".contains(c))
        {
            return Err(invalid!("malformed tag <{}>", shorten(text)));
        }
        let attrs = parse_attributes(&body[name_end..])?;
        Ok(Tag::Start {
            name: name.to_string(),
            attrs,
            self_closing,
        })
    }
}

fn parse_attributes(mut s: &str) -> ParseResult<Vec<(String, String)>> {
    let mut attrs = Vec::new();
    loop {
        s = s.trim_start();
        if s.is_empty() {
            return Ok(attrs);
        }
        let eq = s
            .find('=')
            .ok_or_else(|| invalid!("attribute without a value near '{}'", shorten(s)))?;
        let key = s[..eq].trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(invalid!("malformed attribute near '{}'", shorten(s)));
        }
        let rest = s[eq + 1..].trim_start();
        let quote = rest
            .chars()
            .next()
            .filter(|&c| c == '"' || c == '\'')
            .ok_or_else(|| invalid!("attribute {key} has an unquoted value"))?;
        let close = rest[1..]
            .find(quote)
            .ok_or_else(|| invalid!("attribute {key} has an unterminated value"))?;
        let value = unescape(&rest[1..1 + close])?;
        attrs.push((key.to_string(), value));
        s = &rest[close + 2..];
    }
}

fn unescape(s: &str) -> ParseResult<String> {
    if !s.contains('&') {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let semi = after
            .find(';')
            .ok_or_else(|| invalid!("unterminated character reference in '{}'", shorten(s)))?;
        let entity = &after[..semi];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = entity.strip_prefix("#x") {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = entity.strip_prefix('#') {
                    dec.parse().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32)
                    .ok_or_else(|| invalid!("unknown character reference &{entity};"))?
            }
        };
        out.push(c);
        rest = &after[semi + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Escapes text for an attribute value.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

fn shorten(s: &str) -> String {
    let mut t: String = s.chars().take(60).collect();
    if t.len() < s.len() {
        t.push('…');
    }
    t
}

/// Attribute lookup on a list of `(key, value)` pairs.
pub fn attr<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_start_end_and_attributes() {
        let t = Tag::parse(br#"DataArray type="Float32" Name="a&amp;b" NumberOfComponents='3' "#)
            .unwrap();
        match t {
            Tag::Start {
                name,
                attrs,
                self_closing,
            } => {
                assert_eq!(name, "DataArray");
                assert!(!self_closing);
                assert_eq!(attr(&attrs, "Name"), Some("a&b"));
                assert_eq!(attr(&attrs, "NumberOfComponents"), Some("3"));
            }
            _ => panic!("expected a start tag"),
        }
        assert_eq!(
            Tag::parse(b"/Piece").unwrap(),
            Tag::End {
                name: "Piece".into()
            }
        );
        assert!(matches!(
            Tag::parse(b"Verts/").unwrap(),
            Tag::Start {
                self_closing: true,
                ..
            }
        ));
        assert_eq!(Tag::parse(b"?xml version=\"1.0\"?").unwrap(), Tag::Other);
    }

    #[test]
    fn rejects_malformed_tags() {
        assert!(Tag::parse(b"DataArray type=Float32").is_err());
        assert!(Tag::parse(b"DataArray type=\"Float32").is_err());
        assert!(Tag::parse(b"").is_err());
        assert!(Tag::parse(b"Data Array&").is_err());
        assert!(Tag::parse(&[0xff, 0xfe]).is_err());
        assert!(Tag::parse(b"a x=\"&bogus;\"").is_err());
    }
}
