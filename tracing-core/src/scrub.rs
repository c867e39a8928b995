//! PII scrubbing of spans before export.
//!
//! Two layers: attributes whose key is on the deny list are replaced whole
//! (unless the key is on the allow list), and value detectors replace the
//! matching part of any string (attribute values, event and link attributes,
//! span names and status messages): email addresses, card numbers (13–19
//! digits passing the Luhn check), `Bearer` tokens, JWTs, credentials in
//! URLs and signature query parameters. Ids are never touched.
//!
//! ```
//! use steadfast_tracing_core::scrub::Scrubber;
//! use steadfast_tracing_core::span::{Span, Value};
//! use steadfast_tracing_core::{SpanId, TraceId};
//!
//! let mut span = Span::new(TraceId::from_u128(1), SpanId::from_u64(2), "login")
//!     .with_attribute("http.request.header.authorization", "Basic dXNlcjpwYXNz")
//!     .with_attribute("note", "mail ann@example.com, card 4111 1111 1111 1111");
//! let redactions = Scrubber::new().scrub_span(&mut span);
//! assert_eq!(redactions, 3);
//! assert_eq!(span.attributes[0].value, Value::from("[REDACTED]"));
//! assert_eq!(span.attributes[1].value, Value::from("mail [REDACTED], card [REDACTED]"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::span::{KeyValue, Span, Status, Value};

/// Key fragments denied by default (matched case-insensitively as substrings).
pub const DEFAULT_DENIED_KEYS: &[&str] = &[
    "authorization",
    "cookie",
    "password",
    "passwd",
    "token",
    "secret",
    "api-key",
    "api_key",
    "apikey",
    "session",
    "credential",
    "private-key",
    "private_key",
];

/// Query parameters whose values are signatures or keys.
const SIGNATURE_PARAMS: &[&str] = &[
    "sig",
    "signature",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "x-goog-signature",
    "x-goog-credential",
    "access_token",
    "token",
    "api_key",
    "apikey",
    "key",
    "code",
];

/// What replaces scrubbed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replacement {
    /// Fixed text, `[REDACTED]` by default.
    Text(String),
    /// `[hash:<16 hex digits>]`, a SipHash-2-4 of the secret under a 128-bit
    /// key: equal secrets give equal text, so spans can still be correlated.
    KeyedHash([u8; 16]),
}

/// Scrubs spans. Build with [`Scrubber::new`] and the setters.
#[derive(Debug, Clone)]
pub struct Scrubber {
    denied: Vec<String>,
    allowed: Vec<String>,
    replacement: Replacement,
    detect_values: bool,
}

impl Default for Scrubber {
    fn default() -> Self {
        Self::new()
    }
}

impl Scrubber {
    /// The default deny list, an empty allow list, `[REDACTED]`, and every
    /// value detector on.
    pub fn new() -> Self {
        Scrubber {
            denied: DEFAULT_DENIED_KEYS
                .iter()
                .map(|s| (*s).to_string())
                .collect(),
            allowed: Vec::new(),
            replacement: Replacement::Text("[REDACTED]".into()),
            detect_values: true,
        }
    }

    /// Also denies keys containing `fragment` (case-insensitive).
    #[must_use]
    pub fn deny_key(mut self, fragment: impl Into<String>) -> Self {
        self.denied.push(fragment.into().to_ascii_lowercase());
        self
    }

    /// Never replaces the attribute named exactly `key` whole (value
    /// detectors still apply to it).
    #[must_use]
    pub fn allow_key(mut self, key: impl Into<String>) -> Self {
        self.allowed.push(key.into());
        self
    }

    /// Uses `replacement` for scrubbed text.
    #[must_use]
    pub fn replacement(mut self, replacement: Replacement) -> Self {
        self.replacement = replacement;
        self
    }

    /// Turns the value detectors on or off (default on).
    #[must_use]
    pub fn detect_values(mut self, on: bool) -> Self {
        self.detect_values = on;
        self
    }

    /// Whether the attribute `key` is replaced whole.
    pub fn is_denied(&self, key: &str) -> bool {
        if self.allowed.iter().any(|a| a == key) {
            return false;
        }
        let lower = key.to_ascii_lowercase();
        self.denied.iter().any(|d| lower.contains(d.as_str()))
    }

    fn replace(&self, secret: &str) -> String {
        match &self.replacement {
            Replacement::Text(t) => t.clone(),
            Replacement::KeyedHash(key) => {
                format!("[hash:{:016x}]", siphash24(key, secret.as_bytes()))
            }
        }
    }

    /// Scrubs one string with the value detectors; returns the number of
    /// redactions.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::scrub::Scrubber;
    ///
    /// let mut s = String::from("GET https://u:pw@h/x?sig=abc&x=1");
    /// assert_eq!(Scrubber::new().scrub_str(&mut s), 2);
    /// assert_eq!(s, "GET https://[REDACTED]@h/x?sig=[REDACTED]&x=1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn scrub_str(&self, s: &mut String) -> usize {
        if !self.detect_values {
            return 0;
        }
        let mut ranges = find_secrets(s);
        if ranges.is_empty() {
            return 0;
        }
        ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (a, b) in ranges {
            match merged.last_mut() {
                Some(last) if a < last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        let mut out = String::with_capacity(s.len());
        let mut at = 0;
        for &(a, b) in &merged {
            out.push_str(&s[at..a]);
            out.push_str(&self.replace(&s[a..b]));
            at = b;
        }
        out.push_str(&s[at..]);
        *s = out;
        merged.len()
    }

    fn scrub_value(&self, v: &mut Value) -> usize {
        match v {
            Value::String(s) => self.scrub_str(s),
            Value::Array(items) => items.iter_mut().map(|i| self.scrub_value(i)).sum(),
            _ => 0,
        }
    }

    fn scrub_attributes(&self, attrs: &mut [KeyValue]) -> usize {
        let mut n = 0;
        for kv in attrs {
            if self.is_denied(&kv.key) {
                let text = match &kv.value {
                    Value::String(s) => s.clone(),
                    other => format!("{other:?}"),
                };
                kv.value = Value::String(self.replace(&text));
                n += 1;
            } else {
                n += self.scrub_value(&mut kv.value);
            }
        }
        n
    }

    /// Scrubs a span in place; returns the number of redactions. Ids, times,
    /// kinds and keys are left alone.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::scrub::{Replacement, Scrubber};
    /// use steadfast_tracing_core::span::{Span, Status};
    /// use steadfast_tracing_core::{SpanId, TraceId};
    ///
    /// let mut span = Span::new(TraceId::from_u128(1), SpanId::from_u64(1), "charge")
    ///     .with_status(Status::error("card 4111 1111 1111 1111 declined"));
    /// let scrubber = Scrubber::new().replacement(Replacement::Text("***".into()));
    /// assert_eq!(scrubber.scrub_span(&mut span), 1);
    /// assert_eq!(span.status, Status::error("card *** declined"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn scrub_span(&self, span: &mut Span) -> usize {
        let mut n = self.scrub_str(&mut span.name);
        n += self.scrub_attributes(&mut span.attributes);
        for e in &mut span.events {
            n += self.scrub_str(&mut e.name);
            n += self.scrub_attributes(&mut e.attributes);
        }
        for l in &mut span.links {
            n += self.scrub_attributes(&mut l.attributes);
        }
        if let Status::Error(msg) = &mut span.status {
            n += self.scrub_str(msg);
        }
        n
    }

    /// Scrubs every span; returns the total number of redactions.
    pub fn scrub_spans(&self, spans: &mut [Span]) -> usize {
        spans.iter_mut().map(|s| self.scrub_span(s)).sum()
    }
}

/// Byte ranges of secrets found by all detectors (may overlap).
fn find_secrets(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    emails(s, &mut out);
    cards(s, &mut out);
    bearer(s, &mut out);
    jwts(s, &mut out);
    url_credentials(s, &mut out);
    signature_params(s, &mut out);
    out
}

fn emails(s: &str, out: &mut Vec<(usize, usize)>) {
    let b = s.as_bytes();
    let local = |c: u8| c.is_ascii_alphanumeric() || b"._%+-".contains(&c);
    let domain = |c: u8| c.is_ascii_alphanumeric() || c == b'.' || c == b'-';
    for (at, _) in s.match_indices('@') {
        let mut start = at;
        while start > 0 && local(b[start - 1]) {
            start -= 1;
        }
        let mut end = at + 1;
        while end < b.len() && domain(b[end]) {
            end += 1;
        }
        // Trailing dots end a sentence, not the domain.
        while end > at + 1 && b[end - 1] == b'.' {
            end -= 1;
        }
        let dom = &s[at + 1..end];
        let tld_ok = dom.rsplit_once('.').is_some_and(|(head, tld)| {
            !head.is_empty() && tld.len() >= 2 && tld.bytes().all(|c| c.is_ascii_alphabetic())
        });
        if start < at && tld_ok {
            out.push((start, end));
        }
    }
}

/// The Luhn checksum test over ASCII digits.
pub(crate) fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

fn cards(s: &str, out: &mut Vec<(usize, usize)>) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || (i > 0 && b[i - 1].is_ascii_digit()) {
            i += 1;
            continue;
        }
        // A run of digits with single spaces or dashes between groups.
        let start = i;
        let mut digits = Vec::new();
        let mut end = i;
        let mut j = i;
        while j < b.len() {
            if b[j].is_ascii_digit() {
                digits.push(b[j]);
                j += 1;
                end = j;
            } else if (b[j] == b' ' || b[j] == b'-')
                && j + 1 < b.len()
                && b[j + 1].is_ascii_digit()
                && !digits.is_empty()
            {
                j += 1;
            } else {
                break;
            }
        }
        if (13..=19).contains(&digits.len()) && luhn(&digits) {
            out.push((start, end));
        }
        i = end.max(i + 1);
    }
}

fn find_ci(hay: &str, needle: &str, from: usize) -> Option<usize> {
    hay.get(from..)?
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
        .map(|p| p + from)
}

fn bearer(s: &str, out: &mut Vec<(usize, usize)>) {
    let b = s.as_bytes();
    let token = |c: u8| c.is_ascii_alphanumeric() || b"-._~+/=".contains(&c);
    let mut from = 0;
    while let Some(i) = find_ci(s, "bearer ", from) {
        let start = i + 7;
        let mut end = start;
        while end < b.len() && token(b[end]) {
            end += 1;
        }
        if end > start {
            out.push((start, end));
        }
        from = start;
    }
}

fn jwts(s: &str, out: &mut Vec<(usize, usize)>) {
    let b = s.as_bytes();
    let b64 = |c: u8| c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
    for (i, _) in s.match_indices("eyJ") {
        if i > 0 && b64(b[i - 1]) {
            continue;
        }
        let mut end = i;
        let mut dots = 0;
        let mut seg_len = 0;
        while end < b.len() {
            if b64(b[end]) {
                seg_len += 1;
            } else if b[end] == b'.' && seg_len > 0 && dots < 2 {
                dots += 1;
                seg_len = 0;
            } else {
                break;
            }
            end += 1;
        }
        if dots == 2 && seg_len > 0 {
            out.push((i, end));
        }
    }
}

fn url_credentials(s: &str, out: &mut Vec<(usize, usize)>) {
    for (i, _) in s.match_indices("://") {
        let start = i + 3;
        let rest = &s[start..];
        let stop = rest
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace())
            .unwrap_or(rest.len());
        if let Some(at) = rest[..stop].rfind('@')
            && rest[..at].contains(':')
        {
            out.push((start, start + at));
        }
    }
}

fn signature_params(s: &str, out: &mut Vec<(usize, usize)>) {
    let b = s.as_bytes();
    for (i, c) in s.char_indices() {
        if c != '?' && c != '&' {
            continue;
        }
        let rest = &s[i + 1..];
        let Some(eq) = rest.find('=') else { continue };
        let name = &rest[..eq];
        if name.contains(['&', '?', ' ']) {
            continue;
        }
        if SIGNATURE_PARAMS
            .iter()
            .any(|p| p.eq_ignore_ascii_case(name))
        {
            let start = i + 1 + eq + 1;
            let mut end = start;
            while end < b.len() && !matches!(b[end], b'&' | b'#' | b' ' | b'"' | b'\'') {
                end += 1;
            }
            if end > start {
                out.push((start, end));
            }
        }
    }
}

/// SipHash-2-4 of `data` under `key` (Aumasson and Bernstein).
pub(crate) fn siphash24(key: &[u8; 16], data: &[u8]) -> u64 {
    let mut k = [0u8; 8];
    k.copy_from_slice(&key[..8]);
    let k0 = u64::from_le_bytes(k);
    k.copy_from_slice(&key[8..]);
    let k1 = u64::from_le_bytes(k);
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }
    let chunks = data.chunks_exact(8);
    let tail = chunks.remainder();
    for chunk in chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let m = u64::from_le_bytes(w);
        v[3] ^= m;
        round(&mut v);
        round(&mut v);
        v[0] ^= m;
    }
    let mut last = [0u8; 8];
    last[..tail.len()].copy_from_slice(tail);
    // OK to truncate: the length byte is defined as len mod 256.
    last[7] = data.len() as u8;
    let m = u64::from_le_bytes(last);
    v[3] ^= m;
    round(&mut v);
    round(&mut v);
    v[0] ^= m;
    v[2] ^= 0xff;
    for _ in 0..4 {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siphash_matches_the_paper_vector() {
        // Appendix A of the SipHash paper: key 00..0f, message 00..0e.
        let key: [u8; 16] = std::array::from_fn(|i| i as u8);
        let msg: Vec<u8> = (0u8..15).collect();
        assert_eq!(siphash24(&key, &msg), 0xa129_ca61_49be_45e5);
    }

    #[test]
    fn luhn_accepts_known_test_cards_and_rejects_a_changed_digit() {
        assert!(luhn(b"4111111111111111"));
        assert!(luhn(b"79927398713"));
        assert!(!luhn(b"4111111111111112"));
    }
}
