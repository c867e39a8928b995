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

mod builder;
mod grammar;
mod scan;

use std::fmt;
use std::sync::Arc;

use crate::error::{Error, ErrorKind};
use builder::Builder;
pub use grammar::KeyGrammar;
pub(crate) use grammar::check_key;
use grammar::check_value;
use scan::from_canonical_header;

/// What parsing does with a malformed `tracestate` member (a bad key or
/// value, or junk between commas). Duplicate keys are not malformed: the
/// first member of each key is kept and later ones are dropped, whichever
/// is chosen here.
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::tracestate::InvalidMember;
/// use steadfast_tracing_core::{KeyGrammar, TraceState};
///
/// assert!(TraceState::parse("@foo=1,bar=2").is_err());
/// let kept = TraceState::parse_headers_lenient(["@foo=1,bar=2"], KeyGrammar::Level2)?;
/// assert_eq!(kept.to_string(), "bar=2");
/// assert_eq!(InvalidMember::default(), InvalidMember::DiscardAll);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum InvalidMember {
    /// The whole `tracestate` is invalid: parsing fails, and extraction
    /// keeps the `traceparent` with an empty trace state ("If the
    /// `tracestate` header cannot be parsed the vendor MAY discard the
    /// entire header"). The official W3C harness expects this at strict
    /// level 2.
    #[default]
    DiscardAll,
    /// Only the malformed member is dropped; the others are kept ("Invalid
    /// `tracestate` entries MAY also be discarded").
    DropMember,
}

/// Most members a `tracestate` may hold.
pub const MAX_MEMBERS: usize = 32;
/// Length a propagated `tracestate` is truncated to.
pub const MAX_HEADER_LEN: usize = 512;
/// Members longer than this are dropped first when truncating.
pub const LONG_MEMBER_LEN: usize = 128;

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
/// assert_eq!(TraceState::parse("foo=1,foo=2")?.to_string(), "foo=1", "one member per key");
/// assert!(TraceState::parse("FOO=1").is_err());
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
pub(crate) const INLINE_CAP: usize = 62;

/// Invariant: `Empty` for no members, `Inline` for 1 to [`INLINE_CAP`] bytes,
/// `Shared` for longer texts, so each text has exactly one representation.
#[derive(Clone, Default)]
pub(crate) enum Repr {
    #[default]
    Empty,
    Inline {
        len: u8,
        buf: [u8; INLINE_CAP],
    },
    Shared(Arc<str>),
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

    #[inline]
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
    /// Of members sharing a key, the first is kept and the others dropped:
    /// keeping keys unique is the sender's duty, and a receiver "MAY also
    /// discard duplicate keys"; it never discards the whole header for them.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TraceState`] for a malformed member or more than 32
    /// members (after dropping duplicates).
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
    /// As [`TraceState::parse`].
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::TraceState;
    ///
    /// let ts = TraceState::parse_headers(["foo=1,bar=2", "foo=3,baz=4"])?;
    /// assert_eq!(ts.to_string(), "foo=1,bar=2,baz=4", "duplicates across headers go too");
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
        let mut state = TraceState::new();
        for value in values {
            state.extend_from_header(value, grammar, InvalidMember::DiscardAll)?;
        }
        Ok(state)
    }

    /// Parses repeated header values with the given key grammar, dropping
    /// each malformed member instead of failing ([`InvalidMember::DropMember`]).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TraceState`] for more than 32 well-formed members with
    /// distinct keys.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::{KeyGrammar, TraceState};
    ///
    /// let ts = TraceState::parse_headers_lenient(["a=1,B=2, c = 3 ,d=4", "e=,f=6"], KeyGrammar::Level2)?;
    /// assert_eq!(ts.to_string(), "a=1,d=4,f=6");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse_headers_lenient<'a>(
        values: impl IntoIterator<Item = &'a str>,
        grammar: KeyGrammar,
    ) -> Result<Self, Error> {
        let mut state = TraceState::new();
        for value in values {
            state.extend_from_header(value, grammar, InvalidMember::DropMember)?;
        }
        Ok(state)
    }

    /// Appends the members of one more header value, as when a `tracestate`
    /// header repeats.
    ///
    /// The usual first header is already canonical and is validated in one
    /// pass without copying ([`from_canonical_header`]). Anything else goes
    /// through a [`Builder`] that lives only in this call (so it is built in
    /// place, never moved) and re-reads the members kept so far, at most 32.
    ///
    /// # Errors
    ///
    /// As [`TraceState::parse`], or with `invalid` as
    /// [`TraceState::parse_headers_lenient`]; the state is then unchanged.
    pub(crate) fn extend_from_header(
        &mut self,
        value: &str,
        grammar: KeyGrammar,
        invalid: InvalidMember,
    ) -> Result<(), Error> {
        if self.is_empty()
            && let Some(state) = from_canonical_header(value, grammar)
        {
            *self = state;
            return Ok(());
        }
        if value.bytes().all(|c| matches!(c, b' ' | b'\t' | b',')) {
            return Ok(());
        }
        let mut builder = Builder::default();
        builder.push(self.as_str(), grammar, invalid)?;
        builder.push(value, grammar, invalid)?;
        *self = builder.finish();
        Ok(())
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
    fn keys_sharing_their_first_eight_bytes_are_told_apart() {
        let ts = TraceState::parse("abcdefgh1=1,abcdefgh2=2,abcdefgh=3").unwrap();
        assert_eq!(ts.len(), 3);
        let dup = TraceState::parse("abcdefghij=1,x=2,abcdefghij=3").unwrap();
        assert_eq!(dup.as_str(), "abcdefghij=1,x=2");
        let across = TraceState::parse_headers(["abcdefghij=1", "abcdefghij=2"]).unwrap();
        assert_eq!(across.as_str(), "abcdefghij=1");
    }

    #[test]
    fn duplicates_keep_the_first_member_inline_shared_and_at_the_member_limit() {
        // Inline (short), shared (past 62 bytes), and 32 distinct keys with
        // a duplicate of each after them: the limit counts kept members.
        let long = "v".repeat(100);
        let distinct: Vec<String> = (0..32).map(|i| format!("k{i}={i}")).collect();
        let again: Vec<String> = (0..32).map(|i| format!("k{i}=x")).collect();
        let cases = [
            (vec!["a=1,b=2,a=3".to_owned()], "a=1,b=2".to_owned()),
            (vec![format!("a={long},a=2,b=3")], format!("a={long},b=3")),
            (
                vec![distinct.join(","), again.join(" , ")],
                distinct.join(","),
            ),
        ];
        for (headers, expected) in cases {
            let ts = TraceState::parse_headers(headers.iter().map(String::as_str)).unwrap();
            assert_eq!(ts.as_str(), expected, "{headers:?}");
        }
    }

    #[test]
    fn lenient_parsing_drops_only_malformed_members() {
        let ts = TraceState::parse_headers_lenient(
            ["@x=1,a=1,a=2, b=2 ,c=,d=e=f", "Z=1,e=5"],
            KeyGrammar::Level2,
        )
        .unwrap();
        assert_eq!(ts.as_str(), "a=1,b=2,e=5");
        let l1 = TraceState::parse_headers_lenient(["foo@=1,bar=2"], KeyGrammar::Level1).unwrap();
        assert_eq!(l1.as_str(), "bar=2");
        let too_many: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
        assert!(
            TraceState::parse_headers_lenient([too_many.join(",").as_str()], KeyGrammar::Level2)
                .is_err()
        );
    }

    #[test]
    fn short_text_from_a_long_padded_header_is_kept_inline() {
        let padded = format!("{}a=1,{}", " ,".repeat(300), "\t".repeat(300));
        let ts = TraceState::parse(&padded).unwrap();
        assert_eq!(ts.as_str(), "a=1");
        assert!(matches!(ts.repr, Repr::Inline { len: 3, .. }));
    }

    #[test]
    fn errors_name_the_member_offset_within_its_header() {
        let err = TraceState::parse_headers(["a=1", "b=2, c=x=y"]).unwrap_err();
        assert!(err.to_string().contains("at byte 7"), "{err}");
        let err = TraceState::parse("a=1,  B=2").unwrap_err();
        assert!(err.to_string().contains("at byte 6"), "{err}");
    }

    #[test]
    fn value_may_start_with_a_space_but_not_end_with_one() {
        assert_eq!(TraceState::parse("a= 1").unwrap().get("a"), Some(" 1"));
        assert!(check_value("1 ").is_err());
    }
}
