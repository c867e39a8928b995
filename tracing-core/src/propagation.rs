//! Carrying a [`SpanContext`] across process boundaries in HTTP-style headers.
//!
//! ```
//! use steadfast_tracing_core::ids::{IdGenerator, SplitMix64};
//! use steadfast_tracing_core::{extract, inject};
//!
//! let incoming = [
//!     ("TraceParent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
//!     ("tracestate", "congo=t61rcWkgMzE"),
//! ];
//! let mut ids = IdGenerator::new(SplitMix64::new(1));
//! let parent = extract(&incoming[..]).expect("valid traceparent");
//! let outgoing_call = parent.child(&mut ids);
//! let mut headers: Vec<(String, String)> = Vec::new();
//! inject(&outgoing_call, &mut headers);
//! assert_eq!(headers[1], ("tracestate".into(), "congo=t61rcWkgMzE".into()));
//! assert!(headers[0].1.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::fmt;

use crate::error::Error;
use crate::ids::{IdGenerator, IdSource, SpanId, TraceFlags, TraceId};
use crate::traceparent::{TraceParent, encode_parts};
use crate::tracestate::{InvalidMember, KeyGrammar, MAX_HEADER_LEN, TraceState};

/// Header name of the trace parent.
pub const TRACEPARENT: &str = "traceparent";
/// Header name of the trace state.
pub const TRACESTATE: &str = "tracestate";

/// The identity of one span as seen by code that propagates it.
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::ids::{IdGenerator, SplitMix64};
/// use steadfast_tracing_core::SpanContext;
///
/// let mut ids = IdGenerator::new(SplitMix64::new(3));
/// let root = SpanContext::new_root(&mut ids, true);
/// let child = root.child(&mut ids);
/// assert_eq!(child.trace_id(), root.trace_id());
/// assert_ne!(child.span_id(), root.span_id());
/// assert!(root.flags().is_random());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SpanContext {
    trace_id: TraceId,
    span_id: SpanId,
    flags: FlagsWord,
    trace_state: TraceState,
}

/// The trace flags (low byte) and whether the context came from a request
/// ([`FlagsWord::REMOTE`]), in one word that is always written and read
/// whole: reading the flags right after a context is built then never waits
/// for two separate byte stores to be combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FlagsWord(u32);

impl FlagsWord {
    const REMOTE: u32 = 1 << 8;

    fn new(flags: TraceFlags, remote: bool) -> Self {
        FlagsWord(u32::from(flags.bits()) | if remote { Self::REMOTE } else { 0 })
    }

    fn flags(self) -> TraceFlags {
        // OK to truncate: the flags are the low byte.
        TraceFlags::from_bits(self.0 as u8)
    }

    fn is_remote(self) -> bool {
        self.0 & Self::REMOTE != 0
    }
}

impl fmt::Debug for SpanContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpanContext")
            .field("trace_id", &self.trace_id)
            .field("span_id", &self.span_id)
            .field("flags", &self.flags())
            .field("trace_state", &self.trace_state)
            .field("remote", &self.is_remote())
            .finish()
    }
}

impl SpanContext {
    /// A local context from its parts.
    pub fn new(
        trace_id: TraceId,
        span_id: SpanId,
        flags: TraceFlags,
        trace_state: TraceState,
    ) -> Self {
        SpanContext {
            trace_id,
            span_id,
            flags: FlagsWord::new(flags, false),
            trace_state,
        }
    }

    /// The first span of a new trace, with fresh ids from `ids`. The
    /// `random` flag is set only when the ids come from a random source
    /// ([`IdGenerator::is_random`]).
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::ids::IdGenerator;
    /// use steadfast_tracing_core::SpanContext;
    ///
    /// let mut n = 0;
    /// let mut counter = IdGenerator::new(move || { n += 1; n });
    /// let root = SpanContext::new_root(&mut counter, true);
    /// assert!(root.flags().is_sampled() && !root.flags().is_random());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new_root<S: IdSource>(ids: &mut IdGenerator<S>, sampled: bool) -> Self {
        let trace_id = ids.trace_id();
        let span_id = ids.span_id();
        // Asked after drawing: a source given up on while drawing no longer
        // counts as random.
        let flags = TraceFlags::NONE
            .with_random(ids.is_random())
            .with_sampled(sampled);
        SpanContext::new(trace_id, span_id, flags, TraceState::new())
    }

    /// A context for a child span (or an outgoing call): same trace, flags
    /// and trace state, a fresh span id.
    #[must_use]
    pub fn child<S: IdSource>(&self, ids: &mut IdGenerator<S>) -> Self {
        SpanContext {
            trace_id: self.trace_id,
            span_id: ids.span_id(),
            flags: FlagsWord::new(self.flags(), false),
            trace_state: self.trace_state.clone(),
        }
    }

    /// The trace id.
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// The span id.
    pub fn span_id(&self) -> SpanId {
        self.span_id
    }

    /// The trace flags.
    pub fn flags(&self) -> TraceFlags {
        self.flags.flags()
    }

    /// The trace state.
    pub fn trace_state(&self) -> &TraceState {
        &self.trace_state
    }

    /// Mutable access to the trace state, e.g. to record a sampling threshold.
    pub fn trace_state_mut(&mut self) -> &mut TraceState {
        &mut self.trace_state
    }

    /// This context with different flags.
    #[must_use]
    pub fn with_flags(mut self, flags: TraceFlags) -> Self {
        self.flags = FlagsWord::new(flags, self.is_remote());
        self
    }

    /// This context with a different trace state.
    #[must_use]
    pub fn with_trace_state(mut self, trace_state: TraceState) -> Self {
        self.trace_state = trace_state;
        self
    }

    /// Whether the context was extracted from an incoming request.
    pub fn is_remote(&self) -> bool {
        self.flags.is_remote()
    }

    /// Whether both ids are valid.
    pub fn is_valid(&self) -> bool {
        self.trace_id.is_valid() && self.span_id.is_valid()
    }

    /// The `traceparent` this context propagates as.
    ///
    /// # Errors
    ///
    /// [`crate::ErrorKind::TraceParent`] if either id is all zeros.
    pub fn traceparent(&self) -> Result<TraceParent, Error> {
        TraceParent::new(self.trace_id, self.span_id, self.flags())
    }
}

/// Read access to incoming headers. Names are matched ASCII
/// case-insensitively and a header may repeat.
///
/// Implemented for slices, arrays and `Vec`s of `(name, value)` pairs and for
/// `HashMap<String, String>`.
pub trait Extractor {
    /// Calls `f` with each value of the header `name`, in order.
    fn for_each(&self, name: &str, f: &mut dyn FnMut(&str));
}

/// Write access to outgoing headers.
///
/// Implemented for `Vec<(String, String)>` (replacing any header of the same
/// name, ignoring case) and `HashMap<String, String>`.
pub trait Injector {
    /// Sets header `name` to `value`, replacing earlier values.
    fn set(&mut self, name: &str, value: &str);
}

/// Header names match ignoring ASCII case; the exact (usually lowercase)
/// spelling is tried first because it is a plain memory compare.
#[inline]
fn name_matches(candidate: &str, name: &str) -> bool {
    candidate.len() == name.len() && (candidate == name || candidate.eq_ignore_ascii_case(name))
}

impl<K: AsRef<str>, V: AsRef<str>> Extractor for [(K, V)] {
    fn for_each(&self, name: &str, f: &mut dyn FnMut(&str)) {
        for (k, v) in self {
            if name_matches(k.as_ref(), name) {
                f(v.as_ref());
            }
        }
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> Extractor for [(K, V); N] {
    fn for_each(&self, name: &str, f: &mut dyn FnMut(&str)) {
        self[..].for_each(name, f);
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Extractor for Vec<(K, V)> {
    fn for_each(&self, name: &str, f: &mut dyn FnMut(&str)) {
        self[..].for_each(name, f);
    }
}

impl<S: std::hash::BuildHasher> Extractor for HashMap<String, String, S> {
    fn for_each(&self, name: &str, f: &mut dyn FnMut(&str)) {
        for (k, v) in self {
            if name_matches(k, name) {
                f(v);
            }
        }
    }
}

impl Injector for Vec<(String, String)> {
    fn set(&mut self, name: &str, value: &str) {
        self.retain(|(k, _)| !name_matches(k, name));
        self.push((name.to_owned(), value.to_owned()));
    }
}

impl<S: std::hash::BuildHasher> Injector for HashMap<String, String, S> {
    fn set(&mut self, name: &str, value: &str) {
        // Other spellings of the name go; the exact one is updated in place,
        // reusing its strings, so re-injecting into a map does not allocate.
        // Finding other spellings means visiting every key anyway, so the
        // same pass finds the exact one and the name is never hashed then.
        let mut exact = None;
        let mut other_spellings = false;
        for (k, v) in self.iter_mut() {
            if name_matches(k, name) {
                if k == name {
                    exact = Some(v);
                } else {
                    other_spellings = true;
                }
            }
        }
        match exact {
            Some(old) if !other_spellings => {
                old.clear();
                old.push_str(value);
            }
            _ => {
                self.retain(|k, _| !name_matches(k, name));
                self.insert(name.to_owned(), value.to_owned());
            }
        }
    }
}

/// Which Trace Context level's rules to follow where Level 1 and 2 differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Level {
    /// Level 1: the `random` flag is unknown (zeroed) and keys use
    /// [`KeyGrammar::Level1`].
    One,
    /// Level 2 (default): the `random` flag is kept and keys use
    /// [`KeyGrammar::Level2`].
    #[default]
    Two,
}

/// W3C Trace Context extraction and injection with configurable strictness.
///
/// The free functions [`extract`] and [`inject`] use the default (Level 2).
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::{KeyGrammar, Propagator};
///
/// let headers = [
///     ("traceparent", "00-12345678901234567890123456789012-1234567890123456-00"),
///     ("tracestate", "foo@=1,bar=2"),
/// ];
/// let cx = Propagator::new().extract(&headers).expect("traceparent is valid");
/// assert_eq!(cx.trace_state().to_string(), "foo@=1,bar=2");
/// let p = Propagator::new().key_grammar(KeyGrammar::Level1);
/// let cx = p.extract(&headers).expect("traceparent is valid");
/// assert!(cx.trace_state().is_empty(), "bad tracestate is dropped, traceparent kept");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Propagator {
    level: Level,
    grammar: KeyGrammar,
    invalid: InvalidMember,
}

impl Propagator {
    /// Level 2 rules.
    pub const fn new() -> Self {
        Propagator {
            level: Level::Two,
            grammar: KeyGrammar::Level2,
            invalid: InvalidMember::DiscardAll,
        }
    }

    /// Follows `level`, including its key grammar.
    #[must_use]
    pub const fn level(mut self, level: Level) -> Self {
        self.level = level;
        self.grammar = match level {
            Level::One => KeyGrammar::Level1,
            Level::Two => KeyGrammar::Level2,
        };
        self
    }

    /// Validates `tracestate` keys against `grammar` (after [`Propagator::level`]).
    #[must_use]
    pub const fn key_grammar(mut self, grammar: KeyGrammar) -> Self {
        self.grammar = grammar;
        self
    }

    /// What extraction does with a malformed `tracestate` member (default
    /// [`InvalidMember::DiscardAll`], what the W3C harness expects).
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::{InvalidMember, Propagator};
    ///
    /// let headers = [
    ///     ("traceparent", "00-12345678901234567890123456789012-1234567890123456-00"),
    ///     ("tracestate", "@foo=1,bar=2"),
    /// ];
    /// let lenient = Propagator::new().invalid_member(InvalidMember::DropMember);
    /// assert_eq!(lenient.extract(&headers).expect("valid").trace_state().to_string(), "bar=2");
    /// assert!(Propagator::new().extract(&headers).expect("valid").trace_state().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub const fn invalid_member(mut self, invalid: InvalidMember) -> Self {
        self.invalid = invalid;
        self
    }

    /// Reads the remote parent from `carrier`.
    ///
    /// Returns `None` (start a new trace) when `traceparent` is missing,
    /// invalid or repeated; the `tracestate` is then ignored. With a valid
    /// `traceparent` and an invalid `tracestate` the parent is kept and the
    /// trace state is empty (or, with [`InvalidMember::DropMember`], holds
    /// the well-formed members). Of members sharing a key only the first is
    /// kept. Without a `tracestate`, nothing is allocated.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::Propagator;
    ///
    /// let headers = [("TRACEPARENT", "00-12345678901234567890123456789012-1234567890123456-01")];
    /// let cx = Propagator::new().extract(&headers).expect("valid");
    /// assert!(cx.is_remote() && cx.flags().is_sampled());
    /// assert!(Propagator::new().extract(&[("traceparent", "00-xyz")]).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn extract<E: Extractor + ?Sized>(&self, carrier: &E) -> Option<SpanContext> {
        let mut count = 0usize;
        let mut parsed = None;
        carrier.for_each(TRACEPARENT, &mut |value| {
            count += 1;
            if count == 1 {
                parsed = TraceParent::parse_lean(value).ok();
            }
        });
        let parent = match (count, parsed) {
            (1, Some(tp)) => tp,
            _ => return None,
        };
        let mut state = TraceState::new();
        let (mut seen, mut ok) = (false, true);
        carrier.for_each(TRACESTATE, &mut |value| {
            seen = true;
            ok = ok
                && state
                    .extend_from_header(value, self.grammar, self.invalid)
                    .is_ok();
        });
        // Without a header the state is built fresh rather than copied out
        // of the closure's reach: cheaper, and the usual case.
        let state = if seen && ok { state } else { TraceState::new() };
        let mut flags = parent.flags();
        if self.level == Level::One {
            flags = flags.with_random(false);
        }
        Some(SpanContext {
            trace_id: parent.trace_id(),
            span_id: parent.parent_id(),
            flags: FlagsWord::new(flags, true),
            trace_state: state,
        })
    }

    /// Writes `cx` into `carrier`: a version-00 `traceparent` and, when not
    /// empty, the `tracestate` truncated to 512 characters. A context with an
    /// all-zero id is not injected.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::{Level, Propagator, SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    ///
    /// let flags = TraceFlags::SAMPLED.with_random(true);
    /// let cx = SpanContext::new(TraceId::from_u128(1), SpanId::from_u64(2), flags, TraceState::parse("a=1")?);
    /// let mut headers: Vec<(String, String)> = Vec::new();
    /// Propagator::new().level(Level::One).inject(&cx, &mut headers);
    /// assert_eq!(headers[0].1, "00-00000000000000000000000000000001-0000000000000002-01");
    /// assert_eq!(headers[1].1, "a=1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn inject<I: Injector + ?Sized>(&self, cx: &SpanContext, carrier: &mut I) {
        let mut flags = cx.flags();
        if self.level == Level::One {
            flags = flags.with_random(false);
        }
        if !cx.is_valid() {
            return;
        }
        let bytes = encode_parts(cx.trace_id, cx.span_id, flags);
        // SAFETY: `encode` starts from all '-' and writes only ASCII hex
        // digits, and ASCII is valid UTF-8.
        carrier.set(TRACEPARENT, unsafe {
            std::str::from_utf8_unchecked(&bytes)
        });
        if cx.trace_state.is_empty() {
            return;
        }
        if cx.trace_state.header_len() <= MAX_HEADER_LEN {
            carrier.set(TRACESTATE, cx.trace_state.as_str());
        } else {
            let mut state = cx.trace_state.clone();
            state.truncate_to(MAX_HEADER_LEN);
            if !state.is_empty() {
                carrier.set(TRACESTATE, state.as_str());
            }
        }
    }

    /// The context for work done on behalf of a request: a child of the
    /// extracted parent, or a new sampled root when there is none.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::ids::{IdGenerator, SplitMix64};
    /// use steadfast_tracing_core::Propagator;
    ///
    /// let mut ids = IdGenerator::new(SplitMix64::new(9));
    /// let none: [(&str, &str); 0] = [];
    /// let root = Propagator::new().extract_or_start(&none, &mut ids);
    /// assert!(root.flags().is_sampled() && root.flags().is_random());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn extract_or_start<E: Extractor + ?Sized, S: IdSource>(
        &self,
        carrier: &E,
        ids: &mut IdGenerator<S>,
    ) -> SpanContext {
        match self.extract(carrier) {
            Some(parent) => parent.child(ids),
            None => {
                let root = SpanContext::new_root(ids, true);
                if self.level == Level::One {
                    root.with_flags(TraceFlags::SAMPLED)
                } else {
                    root
                }
            }
        }
    }
}

/// Extracts the remote parent with Level 2 rules; see [`Propagator::extract`].
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::extract;
///
/// let dup = [
///     ("traceparent", "00-12345678901234567890123456789011-1234567890123456-01"),
///     ("traceparent", "00-12345678901234567890123456789012-1234567890123456-01"),
/// ];
/// assert!(extract(&dup).is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn extract<E: Extractor + ?Sized>(carrier: &E) -> Option<SpanContext> {
    Propagator::new().extract(carrier)
}

/// Injects `cx` with Level 2 rules; see [`Propagator::inject`].
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::{inject, SpanContext, SpanId, TraceFlags, TraceId, TraceState};
///
/// let cx = SpanContext::new(TraceId::from_u128(1), SpanId::from_u64(2), TraceFlags::SAMPLED, TraceState::new());
/// let mut headers: Vec<(String, String)> = Vec::new();
/// inject(&cx, &mut headers);
/// assert_eq!(headers.len(), 1, "an empty tracestate is never sent");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn inject<I: Injector + ?Sized>(cx: &SpanContext, carrier: &mut I) {
    Propagator::new().inject(cx, carrier);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashmap_injector_replaces_every_spelling_and_keeps_one_entry() {
        let mut map: HashMap<String, String> = HashMap::from([
            ("TraceParent".to_owned(), "old-1".to_owned()),
            ("TRACEPARENT".to_owned(), "old-2".to_owned()),
            ("traceparent".to_owned(), "old-3".to_owned()),
            ("traceparents".to_owned(), "other".to_owned()),
        ]);
        map.set(TRACEPARENT, "new");
        let mut entries: Vec<_> = map.iter().collect();
        entries.sort();
        assert_eq!(
            entries,
            [
                (&"traceparent".to_owned(), &"new".to_owned()),
                (&"traceparents".to_owned(), &"other".to_owned()),
            ]
        );
        map.set(TRACESTATE, "a=1");
        map.set(TRACEPARENT, "newer");
        assert_eq!(map.len(), 3);
        assert_eq!(map[TRACEPARENT], "newer");
        assert_eq!(map[TRACESTATE], "a=1");
    }

    #[test]
    fn hashmap_injector_replaces_a_differently_cased_name_alone() {
        let mut map: HashMap<String, String> =
            HashMap::from([("TraceState".to_owned(), "x=1".to_owned())]);
        map.set(TRACESTATE, "y=2");
        assert_eq!(map.len(), 1);
        assert_eq!(map[TRACESTATE], "y=2");
    }
}
