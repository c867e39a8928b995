//! The `tracestate` header: an ordered list of vendor key/value members.
//!
//! ```
//! use steadfast_tracing_core::TraceState;
//!
//! let mut ts = TraceState::parse_headers(["rojo=00f067aa0ba902b7", "congo=t61rcWkgMzE"])?;
//! ts.insert("mine", "x")?;
//! assert_eq!(ts.to_string(), "mine=x,rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::Arc;

use crate::error::{Error, ErrorKind};

/// Most members a `tracestate` may hold.
pub const MAX_MEMBERS: usize = 32;
/// Length a propagated `tracestate` is truncated to.
pub const MAX_HEADER_LEN: usize = 512;
/// Members longer than this are dropped first when truncating.
pub const LONG_MEMBER_LEN: usize = 128;

/// Which key grammar to validate `tracestate` keys against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum KeyGrammar {
    /// Level 2: `[a-z0-9][a-z0-9_\-*/@]{0,255}` (`@` anywhere after the first
    /// character).
    #[default]
    Level2,
    /// Level 1: either a simple key `[a-z][a-z0-9_\-*/]{0,255}` or
    /// `tenant@system` with a tenant of `[a-z0-9][a-z0-9_\-*/]{0,240}` and a
    /// system of `[a-z][a-z0-9_\-*/]{0,13}`. The official W3C test harness
    /// still checks keys against this grammar.
    Level1,
}

/// Byte classes for one-lookup validation (bit flags, see `CLASS`).
const KEY_CHAR: u8 = 1; // a-z 0-9 _ - * /
const KEY_FIRST: u8 = 2; // a-z 0-9
const KEY_AT: u8 = 4; // @
const VALUE_CHAR: u8 = 8; // printable ASCII but ',' and '='

const CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut c = 0x20;
    while c <= 0x7e {
        if c != b',' as usize && c != b'=' as usize {
            table[c] |= VALUE_CHAR;
        }
        let keychar = matches!(c as u8, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'*' | b'/');
        if keychar {
            table[c] |= KEY_CHAR;
        }
        if matches!(c as u8, b'a'..=b'z' | b'0'..=b'9') {
            table[c] |= KEY_FIRST;
        }
        c += 1;
    }
    table[b'@' as usize] |= KEY_AT;
    table
};

/// Whether every byte of `s` is in one of the `classes`: one table lookup
/// and one AND per byte, no early exit, so the loop stays branch-free.
#[inline]
fn all_in(s: &[u8], classes: u8) -> bool {
    s.iter()
        .fold(true, |ok, &c| ok & (CLASS[usize::from(c)] & classes != 0))
}

fn is_keychar(c: u8) -> bool {
    CLASS[usize::from(c)] & KEY_CHAR != 0
}

/// Checks one key against `grammar`, returning what is wrong.
pub(crate) fn check_key(key: &str, grammar: KeyGrammar) -> Result<(), &'static str> {
    let k = key.as_bytes();
    if k.is_empty() {
        return Err("empty key");
    }
    if k.len() > 256 {
        return Err("key longer than 256 characters");
    }
    match grammar {
        KeyGrammar::Level2 => {
            if CLASS[usize::from(k[0])] & KEY_FIRST == 0 {
                return Err("key must start with a lowercase letter or digit");
            }
            if !all_in(&k[1..], KEY_CHAR | KEY_AT) {
                return Err("key holds a character outside a-z 0-9 _ - * / @");
            }
            Ok(())
        }
        KeyGrammar::Level1 => match key.split_once('@') {
            None => {
                if !k[0].is_ascii_lowercase() {
                    return Err("key must start with a lowercase letter");
                }
                if !k[1..].iter().all(|&c| is_keychar(c)) {
                    return Err("key holds a character outside a-z 0-9 _ - * /");
                }
                Ok(())
            }
            Some((tenant, system)) => {
                let (t, s) = (tenant.as_bytes(), system.as_bytes());
                if t.is_empty() || t.len() > 241 {
                    return Err("tenant must be 1 to 241 characters");
                }
                if !matches!(t[0], b'a'..=b'z' | b'0'..=b'9') || !t.iter().all(|&c| is_keychar(c)) {
                    return Err("tenant holds a character outside a-z 0-9 _ - * /");
                }
                if s.is_empty() || s.len() > 14 {
                    return Err("system must be 1 to 14 characters");
                }
                if !s[0].is_ascii_lowercase() || !s.iter().all(|&c| is_keychar(c)) {
                    return Err("system must be a lowercase letter then a-z 0-9 _ - * /");
                }
                Ok(())
            }
        },
    }
}

/// Checks one value: 1 to 256 printable ASCII characters other than `,` and
/// `=`, not ending in a space.
pub(crate) fn check_value(value: &str) -> Result<(), &'static str> {
    let v = value.as_bytes();
    if v.is_empty() {
        return Err("empty value");
    }
    if v.len() > 256 {
        return Err("value longer than 256 characters");
    }
    if !all_in(v, VALUE_CHAR) {
        return Err("value holds a character outside printable ascii or a ',' or '='");
    }
    if v[v.len() - 1] == b' ' {
        return Err("value ends with a space");
    }
    Ok(())
}

/// An ordered `tracestate`: at most 32 members, no duplicate keys, leftmost
/// is the most recently updated.
///
/// An empty value is never sent: [`crate::inject`] skips the header.
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::TraceState;
///
/// assert!(TraceState::parse("foo=1,foo=2").is_err());
/// let ts = TraceState::parse("foo=1 \t , \t bar=2,,")?;
/// assert_eq!(ts.get("bar"), Some("2"));
/// assert_eq!(ts.len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct TraceState {
    // The canonical header text (`k=v,k=v`): short texts live inline so that
    // extracting them never allocates, longer ones are shared so that the
    // clones made for child spans and outgoing calls never allocate.
    repr: Repr,
}

/// Longest canonical text kept inline (makes `TraceState` 64 bytes).
const INLINE_CAP: usize = 62;

/// Invariant: `Empty` for no members, `Inline` for 1 to [`INLINE_CAP`] bytes,
/// `Shared` for longer texts, so each text has exactly one representation.
#[derive(Clone, Default)]
enum Repr {
    #[default]
    Empty,
    Inline {
        len: u8,
        buf: [u8; INLINE_CAP],
    },
    Shared(Arc<str>),
}

/// Validates header values member by member into canonical text, kept on
/// the stack until it outgrows the inline capacity.
#[derive(Debug)]
pub(crate) struct Builder {
    small: [u8; INLINE_CAP],
    len: usize,
    big: Option<String>,
    count: usize,
    // Where each member's key sits in the text, as (start, length), so the
    // duplicate check compares lengths before bytes and never re-splits the
    // text. Canonical text is at most 32 * 514 bytes, so `u16` fits.
    keys: [(u16, u16); MAX_MEMBERS],
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            small: [0; INLINE_CAP],
            len: 0,
            big: None,
            count: 0,
            keys: [(0, 0); MAX_MEMBERS],
        }
    }
}

impl Builder {
    /// The canonical text built so far.
    fn text(&self) -> &str {
        match &self.big {
            Some(big) => big,
            // SAFETY: `small[..len]` only ever receives whole members that
            // passed `check_key` and `check_value` (ASCII only) and ASCII
            // commas, and ASCII is valid UTF-8.
            None => unsafe { std::str::from_utf8_unchecked(&self.small[..self.len]) },
        }
    }

    /// Length of the canonical text so far.
    fn len_of_text(&self) -> usize {
        self.big.as_ref().map_or(self.len, String::len)
    }

    /// Whether an earlier member has this key.
    fn is_duplicate(&self, key: &str) -> bool {
        let text = self.text().as_bytes();
        self.keys[..self.count].iter().any(|&(start, len)| {
            usize::from(len) == key.len()
                && &text[usize::from(start)..usize::from(start) + key.len()] == key.as_bytes()
        })
    }

    /// Appends `member` (already validated), with a separating comma.
    fn append(&mut self, member: &str, spare: usize) {
        let comma = usize::from(self.count > 0);
        if self.big.is_none() && self.len + comma + member.len() <= INLINE_CAP {
            if comma == 1 {
                self.small[self.len] = b',';
            }
            let at = self.len + comma;
            self.small[at..at + member.len()].copy_from_slice(member.as_bytes());
            self.len = at + member.len();
            return;
        }
        let big = self.big.get_or_insert_with(|| {
            // Canonical text is never longer than the rest of this header.
            let mut big = String::with_capacity(self.len + comma + member.len() + spare);
            // SAFETY: as in `text`, `small[..len]` holds only ASCII.
            big.push_str(unsafe { std::str::from_utf8_unchecked(&self.small[..self.len]) });
            big
        });
        if comma == 1 {
            big.push(',');
        }
        big.push_str(member);
    }

    /// Appends the members of one more header value. On error the builder
    /// may hold part of the header; callers drop it.
    pub(crate) fn push(&mut self, value: &str, grammar: KeyGrammar) -> Result<(), Error> {
        let bytes = value.as_bytes();
        let mut start = 0;
        while start <= bytes.len() {
            let end = bytes[start..]
                .iter()
                .position(|&c| c == b',')
                .map_or(bytes.len(), |i| start + i);
            let at = start;
            start = end + 1;
            // What may follow this member: its comma and the rest.
            let spare = bytes.len() - end;
            // `start..end` lies between ASCII commas (or the ends), so it is
            // on character boundaries.
            let mut raw = &bytes[at..end];
            let mut lead = 0;
            while let [b' ' | b'\t', rest @ ..] = raw {
                raw = rest;
                lead += 1;
            }
            while let [rest @ .., b' ' | b'\t'] = raw {
                raw = rest;
            }
            if raw.is_empty() {
                continue;
            }
            let at = at + lead;
            let member = &value[at..at + raw.len()];
            let Some(eq) = raw.iter().position(|&c| c == b'=') else {
                return Err(Error::new(ErrorKind::TraceState, "member has no '='").at(at));
            };
            let (key, val) = (&member[..eq], &member[eq + 1..]);
            check_key(key, grammar)
                .map_err(|what| Error::new(ErrorKind::TraceState, what).at(at))?;
            check_value(val)
                .map_err(|what| Error::new(ErrorKind::TraceState, what).at(at + key.len() + 1))?;
            if self.is_duplicate(key) {
                return Err(Error::new(ErrorKind::TraceState, "duplicate key").at(at));
            }
            if self.count == MAX_MEMBERS {
                return Err(Error::new(ErrorKind::TraceState, "more than 32 members").at(at));
            }
            let key_start = self.len_of_text() + usize::from(self.count > 0);
            self.append(member, spare);
            // OK to truncate: canonical text of 32 members of at most
            // 256 + 1 + 256 bytes, with commas, stays below 65536.
            self.keys[self.count] = (key_start as u16, key.len() as u16);
            self.count += 1;
        }
        Ok(())
    }

    /// The state built so far. Empty (and free) when no member was pushed;
    /// inline (also free: the buffer moves as is) when the text is short.
    #[inline]
    pub(crate) fn finish(self) -> TraceState {
        let repr = match self.big {
            Some(big) => Repr::Shared(Arc::from(big)),
            None if self.len == 0 => Repr::Empty,
            None => Repr::Inline {
                // OK to truncate: `len` is at most INLINE_CAP (62).
                len: self.len as u8,
                buf: self.small,
            },
        };
        TraceState { repr }
    }
}

/// The members of canonical text (keys and values never hold `,` or `=`).
fn members_of(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.split(',')
        .filter(|m| !m.is_empty())
        .map(|m| m.split_once('=').unwrap_or((m, "")))
}

impl PartialEq for TraceState {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for TraceState {}

impl std::hash::Hash for TraceState {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for TraceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TraceState").field(&self.as_str()).finish()
    }
}

impl TraceState {
    /// An empty state.
    pub const fn new() -> Self {
        TraceState { repr: Repr::Empty }
    }

    fn from_text(text: &str) -> Self {
        let repr = match text.len() {
            0 => Repr::Empty,
            len @ 1..=INLINE_CAP => {
                let mut buf = [0; INLINE_CAP];
                buf[..len].copy_from_slice(text.as_bytes());
                Repr::Inline {
                    // OK to truncate: `len` is at most INLINE_CAP (62).
                    len: len as u8,
                    buf,
                }
            }
            _ => Repr::Shared(Arc::from(text)),
        };
        TraceState { repr }
    }

    fn from_members<'a>(members: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut text = String::new();
        for (i, (k, v)) in members.into_iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(k);
            text.push('=');
            text.push_str(v);
        }
        Self::from_text(&text)
    }

    /// The header value, `""` when empty.
    pub fn as_str(&self) -> &str {
        match &self.repr {
            Repr::Empty => "",
            // SAFETY: `from_text` copies a whole `&str` into `buf[..len]`, so
            // those bytes are valid UTF-8.
            Repr::Inline { len, buf } => unsafe {
                std::str::from_utf8_unchecked(&buf[..usize::from(*len)])
            },
            Repr::Shared(text) => text,
        }
    }

    /// Parses one header value with the Level 2 key grammar.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TraceState`] for a malformed member, a duplicate key or
    /// more than 32 members.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::TraceState;
    ///
    /// assert_eq!(TraceState::parse("")?.len(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse(value: &str) -> Result<Self, Error> {
        Self::parse_headers_with([value], KeyGrammar::Level2)
    }

    /// Parses repeated header values, joined in order, with the Level 2 grammar.
    ///
    /// # Errors
    ///
    /// As [`TraceState::parse`]; duplicates across headers count too.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::TraceState;
    ///
    /// assert!(TraceState::parse_headers(["foo=1", "foo=1"]).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse_headers<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Self, Error> {
        Self::parse_headers_with(values, KeyGrammar::Level2)
    }

    /// Parses repeated header values with the given key grammar.
    ///
    /// Members are separated by `,` with optional spaces and tabs around them;
    /// empty members are skipped.
    ///
    /// # Errors
    ///
    /// As [`TraceState::parse`]. The offset counts from the start of the
    /// header value in which the problem was found.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::{KeyGrammar, TraceState};
    ///
    /// assert!(TraceState::parse_headers_with(["foo@=1"], KeyGrammar::Level2).is_ok());
    /// assert!(TraceState::parse_headers_with(["foo@=1"], KeyGrammar::Level1).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse_headers_with<'a>(
        values: impl IntoIterator<Item = &'a str>,
        grammar: KeyGrammar,
    ) -> Result<Self, Error> {
        let mut builder = Builder::default();
        for value in values {
            builder.push(value, grammar)?;
        }
        Ok(builder.finish())
    }

    /// The value for `key`, if present.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::TraceState;
    ///
    /// let ts = TraceState::parse("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")?;
    /// assert_eq!(ts.get("congo"), Some("t61rcWkgMzE"));
    /// assert_eq!(ts.get("verde"), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        matches!(self.repr, Repr::Empty)
    }

    /// The members in order, leftmost first.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        members_of(self.as_str())
    }

    /// Inserts or updates `key` and moves it to the front; at 32 members the
    /// rightmost one is evicted. Keys use the Level 2 grammar.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TraceState`] if the key or value is malformed; the state
    /// is then unchanged.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::TraceState;
    ///
    /// let mut ts = TraceState::parse("a=1,b=2")?;
    /// ts.insert("b", "3")?;
    /// assert_eq!(ts.to_string(), "b=3,a=1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn insert(&mut self, key: &str, value: &str) -> Result<(), Error> {
        self.insert_with(key, value, KeyGrammar::Level2)
    }

    /// [`TraceState::insert`] with an explicit key grammar.
    ///
    /// # Errors
    ///
    /// As [`TraceState::insert`].
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::{KeyGrammar, TraceState};
    ///
    /// let mut ts = TraceState::new();
    /// assert!(ts.insert_with("0abc", "1", KeyGrammar::Level1).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn insert_with(
        &mut self,
        key: &str,
        value: &str,
        grammar: KeyGrammar,
    ) -> Result<(), Error> {
        check_key(key, grammar).map_err(|what| {
            Error::new(ErrorKind::TraceState, what).detail(format!("key {key:?}"))
        })?;
        check_value(value).map_err(|what| {
            Error::new(ErrorKind::TraceState, what).detail(format!("value for key {key:?}"))
        })?;
        let rest = self.iter().filter(|(k, _)| *k != key).take(MAX_MEMBERS - 1);
        *self = Self::from_members(std::iter::once((key, value)).chain(rest));
        Ok(())
    }

    /// Removes `key`, returning its value.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::TraceState;
    ///
    /// let mut ts = TraceState::parse("a=1,b=2")?;
    /// assert_eq!(ts.remove("a").as_deref(), Some("1"));
    /// assert_eq!(ts.to_string(), "b=2");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let value = self.get(key)?.to_string();
        *self = Self::from_members(self.iter().filter(|(k, _)| *k != key));
        Some(value)
    }

    /// Length of the header value this state formats to.
    pub fn header_len(&self) -> usize {
        self.as_str().len()
    }

    /// Drops members until the header fits in `max_len` characters: first
    /// members longer than 128 characters (rightmost first), then members
    /// from the right, as the spec recommends.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::TraceState;
    ///
    /// let long = "x".repeat(200);
    /// let mut ts = TraceState::parse(&format!("a=1,big={long},b=2"))?;
    /// ts.truncate_to(100);
    /// assert_eq!(ts.to_string(), "a=1,b=2");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn truncate_to(&mut self, max_len: usize) {
        if self.header_len() <= max_len {
            return;
        }
        let mut members: Vec<(&str, &str)> = self.iter().collect();
        let len = |m: &[(&str, &str)]| {
            m.iter().map(|(k, v)| k.len() + 1 + v.len()).sum::<usize>() + m.len().saturating_sub(1)
        };
        while len(&members) > max_len {
            let long = members
                .iter()
                .rposition(|(k, v)| k.len() + 1 + v.len() > LONG_MEMBER_LEN);
            match long {
                Some(i) => {
                    members.remove(i);
                }
                None => {
                    members.pop();
                }
            }
        }
        *self = Self::from_members(members);
    }
}

impl fmt::Display for TraceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insertion_at_capacity_evicts_the_rightmost_member() {
        let header: Vec<String> = (1..=32).map(|i| format!("k{i}=v")).collect();
        let mut ts = TraceState::parse(&header.join(",")).unwrap();
        ts.insert("new", "1").unwrap();
        assert_eq!(ts.len(), 32);
        assert_eq!(ts.iter().next(), Some(("new", "1")));
        assert_eq!(ts.get("k32"), None);
        assert_eq!(ts.get("k31"), Some("v"));
    }

    #[test]
    fn text_survives_every_storage_size_and_split_across_headers() {
        // Lengths around the inline capacity and the builder's stack buffer.
        for len in [1usize, 61, 62, 63, 64, 300, 511, 512, 513, 514, 2000] {
            let mut members = Vec::new();
            let mut total = 0;
            let mut i = 0;
            while total < len && members.len() < MAX_MEMBERS {
                let key = format!("k{i}");
                let room = (len - total).saturating_sub(usize::from(total > 0) + key.len() + 1);
                let value = "v".repeat(room.clamp(1, 256));
                total += usize::from(total > 0) + key.len() + 1 + value.len();
                members.push(format!("{key}={value}"));
                i += 1;
            }
            let text = members.join(",");
            let one = TraceState::parse(&text).unwrap();
            assert_eq!(one.as_str(), text, "len {len}");
            assert_eq!(one.len(), members.len());
            let (left, right) = members.split_at(members.len() / 2);
            let spaced = format!(" {} ,\t", left.join(" , "));
            let split = TraceState::parse_headers([spaced.as_str(), &right.join(",")]).unwrap();
            assert_eq!(split, one, "len {len}");
            assert_eq!(split.clone().as_str(), text);
        }
    }

    #[test]
    fn value_may_start_with_a_space_but_not_end_with_one() {
        assert_eq!(TraceState::parse("a= 1").unwrap().get("a"), Some(" 1"));
        assert!(check_value("1 ").is_err());
    }
}
