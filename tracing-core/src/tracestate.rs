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

/// Longest canonical text the builder keeps on the stack; longer texts move
/// to the heap. Propagated headers are truncated to this length, so most
/// incoming ones fit.
const STACK_CAP: usize = MAX_HEADER_LEN;

/// Validates header values into canonical text (`k=v,k=v`): repeated
/// headers, and the ones [`from_canonical_header`] refused (spaces, tabs,
/// empty members, errors).
///
/// Each header value is copied once, whole, behind the text built so far,
/// then validated member by member in place; a member moves down only when
/// spaces, tabs or empty members came before it.
#[derive(Debug)]
pub(crate) struct Builder {
    stack: [u8; STACK_CAP],
    heap: Option<Vec<u8>>,
    len: usize,
    count: usize,
    // Where each member's key sits in the text, as (start, length). Canonical
    // text is at most 32 * 514 bytes, so `u16` fits.
    keys: [(u16, u16); MAX_MEMBERS],
    // Each key's first 8 bytes (zero-padded): equal keys have equal prefixes,
    // and keys of up to 8 bytes are equal exactly when their prefixes are.
    prefixes: [u64; MAX_MEMBERS],
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            stack: [0; STACK_CAP],
            heap: None,
            len: 0,
            count: 0,
            keys: [(0, 0); MAX_MEMBERS],
            prefixes: [0; MAX_MEMBERS],
        }
    }
}

/// One well-formed member found by [`scan_member`], as offsets into the
/// bytes scanned.
struct Member {
    /// Offset of the `=`: the key ends here.
    eq: usize,
    /// End of the value, trailing spaces excluded.
    end: usize,
    /// Where scanning resumes: the `,` after the member, or the end.
    next: usize,
}

/// Scans the member starting at `at` (not a space, tab or comma) in one
/// pass: a Level 2 key, `=`, a value of 1 to 256 characters, optional
/// spaces and tabs, then `,` or the end. `None` when the member is not
/// exactly that; [`member_error`] then says why.
#[inline]
fn scan_member(bytes: &[u8], at: usize) -> Option<Member> {
    let class = |i: usize| CLASS[usize::from(bytes[i])];
    if class(at) & KEY_FIRST == 0 {
        return None;
    }
    let mut eq = at + 1;
    while eq < bytes.len() && class(eq) & (KEY_CHAR | KEY_AT) != 0 {
        eq += 1;
    }
    if eq == bytes.len() || bytes[eq] != b'=' || eq - at > 256 {
        return None;
    }
    let stop = value_run_end(bytes, eq + 1);
    let mut end = stop;
    while end > eq + 1 && bytes[end - 1] == b' ' {
        end -= 1;
    }
    if end == eq + 1 || end - eq - 1 > 256 {
        return None;
    }
    let mut next = stop;
    while next < bytes.len() && matches!(bytes[next], b' ' | b'\t') {
        next += 1;
    }
    if next < bytes.len() && bytes[next] != b',' {
        return None;
    }
    Some(Member { eq, end, next })
}

/// Where the run of value characters (printable ASCII but `,` and `=`)
/// starting at `from` ends: the offset of the first other byte, or the end.
/// Values are the long part of a member, so on x86_64 they are scanned 16
/// bytes at a time.
#[inline]
fn value_run_end(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    #[cfg(target_arch = "x86_64")]
    while let Some(block) = bytes.get(i..i + 16) {
        match sse2::first_non_value(block) {
            Some(k) => return i + k,
            None => i += 16,
        }
    }
    while i < bytes.len() && CLASS[usize::from(bytes[i])] & VALUE_CHAR != 0 {
        i += 1;
    }
    i
}

/// Value scanning with SSE2, part of every x86_64 CPU.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };

    /// The position of the first byte of `block` (16 bytes) that is not a
    /// value character, if any.
    #[inline(always)]
    pub(super) fn first_non_value(block: &[u8]) -> Option<usize> {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        let mask = unsafe { non_value_mask(block) };
        (mask != 0).then(|| mask.trailing_zeros() as usize)
    }

    /// One bit per byte of `block` that is not a value character. The signed
    /// compare below 0x20 also catches every byte from 0x80 up.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn non_value_mask(block: &[u8]) -> u32 {
        let block = &block[..16];
        // SAFETY: `block` holds 16 readable bytes; the load is unaligned.
        let c: __m128i = unsafe { _mm_loadu_si128(block.as_ptr().cast()) };
        let is = |b: u8| _mm_cmpeq_epi8(c, _mm_set1_epi8(b as i8));
        let control_or_high = _mm_cmplt_epi8(c, _mm_set1_epi8(0x20));
        let bad = _mm_or_si128(
            _mm_or_si128(control_or_high, is(0x7f)),
            _mm_or_si128(is(b','), is(b'=')),
        );
        // OK to cast: the mask of 16 bytes fits in 16 bits.
        _mm_movemask_epi8(bad) as u32
    }
}

/// Why the member of `value` starting at `at` is malformed: the member runs
/// to the next comma, spaces and tabs around it are dropped, and its key and
/// value are checked in that order. Only called when [`scan_member`] refused
/// the member, so it always finds a problem.
#[cold]
#[inline(never)]
fn member_error(value: &str, at: usize, grammar: KeyGrammar) -> Error {
    let end = value[at..].find(',').map_or(value.len(), |i| at + i);
    let member = value[at..end].trim_end_matches([' ', '\t']);
    let Some((key, val)) = member.split_once('=') else {
        return Error::new(ErrorKind::TraceState, "member has no '='").at(at);
    };
    if let Err(what) = check_key(key, grammar) {
        return Error::new(ErrorKind::TraceState, what).at(at);
    }
    let what = check_value(val).err().unwrap_or("malformed member");
    Error::new(ErrorKind::TraceState, what).at(at + key.len() + 1)
}

/// The first 8 bytes of `key` (zero-padded), from one load when 8 bytes
/// can be read.
#[inline]
fn key_prefix(bytes: &[u8], at: usize, len: usize) -> u64 {
    let keep = len.min(8);
    let mask = u64::MAX >> (64 - 8 * keep);
    match bytes.get(at..at + 8) {
        Some(eight) => {
            let mut word = [0u8; 8];
            word.copy_from_slice(eight);
            u64::from_le_bytes(word) & mask
        }
        None => {
            let mut word = [0u8; 8];
            word[..keep].copy_from_slice(&bytes[at..at + keep]);
            u64::from_le_bytes(word)
        }
    }
}

/// The state for one header value that is already canonical and valid:
/// members separated by single commas, without spaces, tabs or empty members
/// around them. `None` for anything else, which [`Builder`] then handles,
/// naming the problem when there is one.
fn from_canonical_header(value: &str, grammar: KeyGrammar) -> Option<TraceState> {
    let src = value.as_bytes();
    if src.len() > usize::from(u16::MAX) {
        return None;
    }
    // Offsets fit in `u16`: the value is no longer than that.
    let mut starts = [0u16; MAX_MEMBERS];
    let mut lens = [0u16; MAX_MEMBERS];
    let mut prefixes = [0u64; MAX_MEMBERS];
    let mut count = 0;
    let mut at = 0;
    while at < src.len() {
        if count == MAX_MEMBERS {
            return None;
        }
        let member = scan_member(src, at)?;
        // Spaces or tabs after the value, or a comma ending the header.
        if member.end != member.next || member.next + 1 == src.len() {
            return None;
        }
        let key_len = member.eq - at;
        if grammar == KeyGrammar::Level1 && check_key(&value[at..member.eq], grammar).is_err() {
            return None;
        }
        let prefix = key_prefix(src, at, key_len);
        let duplicate = (0..count).any(|j| {
            let start = usize::from(starts[j]);
            usize::from(lens[j]) == key_len
                && prefixes[j] == prefix
                && (key_len <= 8 || src[start..start + key_len] == src[at..member.eq])
        });
        if duplicate {
            return None;
        }
        // OK to truncate: both are below the value's length.
        (starts[count], lens[count], prefixes[count]) = (at as u16, key_len as u16, prefix);
        count += 1;
        at = member.next + 1;
    }
    Some(TraceState::from_text(value))
}

impl Builder {
    /// Appends the members of one more header value. On error the builder
    /// may hold part of the header; callers drop it.
    pub(crate) fn push(&mut self, value: &str, grammar: KeyGrammar) -> Result<(), Error> {
        let Builder {
            stack,
            heap,
            len,
            count,
            keys,
            prefixes,
        } = self;
        // The value goes one byte past the text, leaving room for a comma.
        let origin = *len + 1;
        let end = origin + value.len();
        let text: &mut [u8] = match heap {
            None if end <= STACK_CAP => {
                stack[origin..end].copy_from_slice(value.as_bytes());
                &mut stack[..end]
            }
            _ => {
                let heap = heap.get_or_insert_with(|| stack[..*len].to_vec());
                heap.truncate(*len);
                heap.push(b',');
                heap.extend_from_slice(value.as_bytes());
                &mut heap[..]
            }
        };
        let mut i = origin;
        loop {
            while i < end && matches!(text[i], b' ' | b'\t' | b',') {
                i += 1;
            }
            if i == end {
                return Ok(());
            }
            let at = i;
            let Some(member) = scan_member(&text[..end], at) else {
                return Err(member_error(value, at - origin, grammar));
            };
            let key_len = member.eq - at;
            if grammar == KeyGrammar::Level1 {
                let key = &value[at - origin..member.eq - origin];
                check_key(key, grammar)
                    .map_err(|what| Error::new(ErrorKind::TraceState, what).at(at - origin))?;
            }
            let prefix = key_prefix(text, at, key_len);
            let duplicate = (0..*count).any(|j| {
                let (start, l) = (usize::from(keys[j].0), usize::from(keys[j].1));
                l == key_len
                    && prefixes[j] == prefix
                    && (key_len <= 8 || text[start..start + l] == text[at..at + key_len])
            });
            if duplicate {
                return Err(Error::new(ErrorKind::TraceState, "duplicate key").at(at - origin));
            }
            if *count == MAX_MEMBERS {
                return Err(
                    Error::new(ErrorKind::TraceState, "more than 32 members").at(at - origin)
                );
            }
            // Canonical position: right after the text, behind a comma.
            let comma = usize::from(*count > 0);
            let target = *len + comma;
            if comma == 1 {
                text[*len] = b',';
            }
            if target != at {
                text.copy_within(at..member.end, target);
            }
            // OK to truncate: canonical text of 32 members of at most
            // 256 + 1 + 256 bytes, with commas, stays below 65536.
            keys[*count] = (target as u16, key_len as u16);
            prefixes[*count] = prefix;
            *count += 1;
            *len = target + (member.end - at);
            i = member.next;
        }
    }

    /// The state built so far. Empty (and free) when no member was pushed;
    /// inline (also free) when the text is short; otherwise one shared
    /// allocation.
    #[inline]
    pub(crate) fn finish(&self) -> TraceState {
        let text = match &self.heap {
            Some(heap) => &heap[..self.len],
            None => &self.stack[..self.len],
        };
        let repr = match text.len() {
            0 => Repr::Empty,
            len @ 1..=INLINE_CAP => {
                let mut buf = [0; INLINE_CAP];
                match &self.heap {
                    // One fixed-size copy; the bytes past `len` are never read.
                    None => buf.copy_from_slice(&self.stack[..INLINE_CAP]),
                    Some(_) => buf[..len].copy_from_slice(text),
                }
                Repr::Inline {
                    // OK to truncate: `len` is at most INLINE_CAP (62).
                    len: len as u8,
                    buf,
                }
            }
            // SAFETY: the text holds only members that passed `scan_member`
            // (ASCII classes only) and ASCII commas; ASCII is valid UTF-8.
            _ => Repr::Shared(Arc::from(unsafe { std::str::from_utf8_unchecked(text) })),
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
        let mut state = TraceState::new();
        for value in values {
            state.extend_from_header(value, grammar)?;
        }
        Ok(state)
    }

    /// Appends the members of one more header value, as when a `tracestate`
    /// header repeats.
    ///
    /// The usual first header is already canonical and is validated in one
    /// pass without copying ([`from_canonical_header`]). Anything else goes
    /// through a [`Builder`] that lives only in this call (so it is built in
    /// place, never moved) and re-reads the members kept so far: at most 32,
    /// because a header without members returns early and every other one
    /// adds a member or fails.
    ///
    /// # Errors
    ///
    /// As [`TraceState::parse`]; the state is then unchanged.
    pub(crate) fn extend_from_header(
        &mut self,
        value: &str,
        grammar: KeyGrammar,
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
        builder.push(self.as_str(), grammar)?;
        builder.push(value, grammar)?;
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
    fn value_runs_end_where_the_table_says_for_every_byte_at_every_position() {
        let base = *b"opaque value ~!@#$%^&*()[]{}<>?/|;:'\"` 0123456789-value";
        for pos in 0..base.len() {
            for b in 0..=255u8 {
                let mut bytes = base;
                bytes[pos] = b;
                for from in [0, 1, pos.saturating_sub(3), pos] {
                    let expected = (from..bytes.len())
                        .find(|&i| CLASS[usize::from(bytes[i])] & VALUE_CHAR == 0)
                        .unwrap_or(bytes.len());
                    assert_eq!(
                        value_run_end(&bytes, from),
                        expected,
                        "{b:#04x} at {pos}, from {from}"
                    );
                }
            }
        }
    }

    #[test]
    fn keys_sharing_their_first_eight_bytes_are_told_apart() {
        let ts = TraceState::parse("abcdefgh1=1,abcdefgh2=2,abcdefgh=3").unwrap();
        assert_eq!(ts.len(), 3);
        assert!(TraceState::parse("abcdefghij=1,x=2,abcdefghij=3").is_err());
        assert!(TraceState::parse_headers(["abcdefghij=1", "abcdefghij=1"]).is_err());
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
