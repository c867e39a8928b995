//! W3C Baggage: the `baggage` header carrying user key/value pairs.
//!
//! Values are percent-decoded when parsed and percent-encoded when
//! formatted. A header may hold at most 64 members and 8192 bytes.
//!
//! ```
//! use steadfast_tracing_core::baggage::Baggage;
//!
//! let mut bag = Baggage::parse("userId=alice, serverNode = DF%2028 ; meta")?;
//! assert_eq!(bag.get("serverNode"), Some("DF 28"));
//! bag.insert("isProduction", "false")?;
//! assert_eq!(bag.to_string(), "userId=alice,serverNode=DF%2028;meta,isProduction=false");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use crate::error::{Error, ErrorKind};
use crate::propagation::{Extractor, Injector};

/// Header name of W3C Baggage.
pub const BAGGAGE: &str = "baggage";
/// Most list members a header may carry.
pub const MAX_MEMBERS: usize = 64;
/// Most bytes a header may carry.
pub const MAX_BYTES: usize = 8192;

/// One baggage entry: key, decoded value and raw properties.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Entry {
    /// The key (an RFC 7230 token).
    pub key: String,
    /// The decoded value.
    pub value: String,
    /// Properties as written after `;` (e.g. `meta` or `k=v`), trimmed.
    pub properties: Vec<String>,
}

/// An ordered set of baggage entries.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Baggage {
    entries: Vec<Entry>,
}

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

fn is_value_octet(c: u8) -> bool {
    matches!(c, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e)
}

fn bad(what: &'static str) -> Error {
    Error::new(ErrorKind::Baggage, what)
}

fn check_key(key: &str) -> Result<(), Error> {
    if key.is_empty() || !key.bytes().all(is_tchar) {
        return Err(bad("key is not a non-empty token").detail(format!("{key:?}")));
    }
    Ok(())
}

fn percent_decode(raw: &str) -> Result<String, Error> {
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if !is_value_octet(b[i]) {
            return Err(bad("value holds a character that must be percent-encoded").at(i));
        }
        if b[i] == b'%' {
            let hex = |c: u8| (c as char).to_digit(16);
            match (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            ) {
                (Some(h), Some(l)) => {
                    // OK to cast: two hex digits are at most 255.
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => return Err(bad("'%' is not followed by two hex digits").at(i)),
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad("percent-decoded value is not utf-8"))
}

fn percent_encode(value: &str, out: &mut String) {
    for &c in value.as_bytes() {
        if is_value_octet(c) && c != b'%' {
            out.push(char::from(c));
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
}

impl Baggage {
    /// Empty baggage.
    pub const fn new() -> Self {
        Baggage {
            entries: Vec::new(),
        }
    }

    /// Parses one header value.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Baggage`] for a malformed member, or more than 64 members
    /// or 8192 bytes.
    pub fn parse(value: &str) -> Result<Self, Error> {
        Self::parse_headers([value])
    }

    /// Parses repeated header values, joined in order. A later duplicate key
    /// replaces the earlier value.
    ///
    /// # Errors
    ///
    /// As [`Baggage::parse`]; the limits apply to all headers together.
    pub fn parse_headers<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Self, Error> {
        let mut bag = Baggage::new();
        let mut bytes = 0;
        let mut members = 0;
        for value in values {
            bytes += value.len();
            if bytes > MAX_BYTES {
                return Err(bad("header is longer than 8192 bytes").found(bytes));
            }
            for member in value.split(',') {
                let member = member.trim_matches([' ', '\t']);
                if member.is_empty() {
                    continue;
                }
                members += 1;
                if members > MAX_MEMBERS {
                    return Err(bad("more than 64 members"));
                }
                let mut parts = member.split(';');
                let kv = parts.next().unwrap_or("");
                let (key, raw) = kv
                    .split_once('=')
                    .ok_or_else(|| bad("member has no '='").detail(format!("{member:?}")))?;
                let key = key.trim_matches([' ', '\t']);
                check_key(key)?;
                let value = percent_decode(raw.trim_matches([' ', '\t']))?;
                let mut properties = Vec::new();
                for p in parts {
                    let p = p.trim_matches([' ', '\t']);
                    let pkey = p
                        .split_once('=')
                        .map_or(p, |(k, _)| k)
                        .trim_matches([' ', '\t']);
                    check_key(pkey)?;
                    properties.push(p.to_string());
                }
                bag.entries.retain(|e| e.key != key);
                bag.entries.push(Entry {
                    key: key.to_string(),
                    value,
                    properties,
                });
            }
        }
        Ok(bag)
    }

    /// Reads the `baggage` headers of `carrier`; invalid baggage is an error.
    ///
    /// # Errors
    ///
    /// As [`Baggage::parse_headers`].
    pub fn extract<E: Extractor + ?Sized>(carrier: &E) -> Result<Self, Error> {
        let mut values: Vec<String> = Vec::new();
        carrier.for_each(BAGGAGE, &mut |v| values.push(v.to_string()));
        Self::parse_headers(values.iter().map(String::as_str))
    }

    /// Writes the `baggage` header into `carrier` unless empty.
    pub fn inject<I: Injector + ?Sized>(&self, carrier: &mut I) {
        if !self.entries.is_empty() {
            carrier.set(BAGGAGE, &self.to_string());
        }
    }

    /// The decoded value for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.value.as_str())
    }

    /// The entries in order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sets `key` to `value` (appended, or replaced in place).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Baggage`] if `key` is not a token or the baggage would
    /// exceed 64 members or 8192 bytes.
    pub fn insert(&mut self, key: &str, value: &str) -> Result<(), Error> {
        check_key(key)?;
        let mut next = self.clone();
        match next.entries.iter_mut().find(|e| e.key == key) {
            Some(e) => e.value = value.to_string(),
            None => next.entries.push(Entry {
                key: key.to_string(),
                value: value.to_string(),
                properties: Vec::new(),
            }),
        }
        if next.entries.len() > MAX_MEMBERS {
            return Err(bad("more than 64 members"));
        }
        let len = next.to_string().len();
        if len > MAX_BYTES {
            return Err(bad("header would be longer than 8192 bytes").found(len));
        }
        *self = next;
        Ok(())
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.entries.iter().position(|e| e.key == key)?;
        Some(self.entries.remove(i).value)
    }
}

impl fmt::Display for Baggage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&e.key);
            out.push('=');
            percent_encode(&e.value, &mut out);
            for p in &e.properties {
                out.push(';');
                out.push_str(p);
            }
        }
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixty_five_members_are_rejected() {
        let header: Vec<String> = (0..65).map(|i| format!("k{i}=v")).collect();
        assert!(Baggage::parse(&header.join(",")).is_err());
        assert_eq!(Baggage::parse(&header[..64].join(",")).unwrap().len(), 64);
    }

    #[test]
    fn unicode_values_round_trip_through_percent_encoding() {
        let mut bag = Baggage::new();
        bag.insert("city", "Zürich, CH").unwrap();
        let text = bag.to_string();
        assert_eq!(text, "city=Z%C3%BCrich%2C%20CH");
        assert_eq!(Baggage::parse(&text).unwrap(), bag);
    }
}
