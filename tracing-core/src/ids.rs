//! Trace ids, span ids, trace flags and id generation.
//!
//! Ids are generated from a caller-supplied [`IdSource`], so a seeded RNG
//! makes every id of a test run reproducible. Any `FnMut() -> u64` is an
//! id source; [`RandomSource`] is the built-in default.
//!
//! A source also says whether its bits are random ([`IdSource::is_random`]):
//! only then do new traces get the W3C `random` flag, which promises that
//! "at least the right-most 7 bytes of the trace-id" were "selected
//! randomly … with uniform distribution". [`SplitMix64`] and
//! [`RandomSource`] are; a plain closure is not assumed to be (it may be a
//! counter), so wrap a random one in [`RandomBits`].
//!
//! ```
//! use steadfast_tracing_core::ids::{IdGenerator, RandomBits, SplitMix64};
//!
//! let mut a = IdGenerator::new(SplitMix64::new(42));
//! let mut b = IdGenerator::new(SplitMix64::new(42));
//! assert_eq!(a.trace_id(), b.trace_id());
//! assert!(a.span_id().is_valid() && a.is_random());
//!
//! let mut n = 0;
//! let counter = IdGenerator::new(move || { n += 1; n });
//! assert!(!counter.is_random());
//! let mut rng = SplitMix64::new(7);
//! assert!(IdGenerator::new(RandomBits(move || rng.next_u64())).is_random());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, ErrorKind};
use crate::hex::{decode_hex, encode_hex};

fn parse_id<const N: usize>(s: &str) -> Result<[u8; N], Error> {
    if s.len() != 2 * N {
        return Err(Error::new(ErrorKind::Id, "wrong number of hex digits").found(s.len()));
    }
    let bytes: [u8; N] = decode_hex(s.as_bytes())
        .map_err(|at| Error::new(ErrorKind::Id, "expected a lowercase hex digit").at(at))?;
    if bytes == [0u8; N] {
        return Err(Error::new(ErrorKind::Id, "an all-zero id is invalid"));
    }
    Ok(bytes)
}

/// A 16-byte trace id. The all-zero value is [`TraceId::INVALID`].
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::TraceId;
///
/// let id: TraceId = "4bf92f3577b34da6a3ce929d0e0e4736".parse()?;
/// assert_eq!(id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert!("4BF92F3577B34DA6A3CE929D0E0E4736".parse::<TraceId>().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
// Aligned so that ids (and the structs holding them) move as whole machine
// words rather than byte by byte.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(align(8))]
pub struct TraceId([u8; 16]);

impl TraceId {
    /// The all-zero id, which the spec forbids on the wire.
    pub const INVALID: TraceId = TraceId([0; 16]);

    /// Wraps raw bytes (big-endian, as on the wire).
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        TraceId(bytes)
    }

    /// The raw bytes.
    pub const fn to_bytes(self) -> [u8; 16] {
        self.0
    }

    /// Builds an id from a number, most significant byte first.
    pub const fn from_u128(value: u128) -> Self {
        TraceId(value.to_be_bytes())
    }

    /// The id as a number, most significant byte first.
    pub const fn to_u128(self) -> u128 {
        u128::from_be_bytes(self.0)
    }

    /// Parses exactly 32 lowercase hex digits.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Id`] for a wrong length, a non-lowercase-hex character or the
    /// all-zero id.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::TraceId;
    ///
    /// assert_eq!(TraceId::from_hex("00000000000000000000000000000001")?, TraceId::from_u128(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_hex(s: &str) -> Result<Self, Error> {
        parse_id::<16>(s).map(TraceId)
    }

    /// Whether the id is not all zeros.
    pub const fn is_valid(self) -> bool {
        self.to_u128() != 0
    }

    /// The 32 lowercase hex digits, without allocating.
    pub fn to_hex(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        encode_hex(&self.0, &mut out);
        out
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.to_hex();
        // SAFETY: `to_hex` fills every byte with an ASCII hex digit, and
        // ASCII is valid UTF-8.
        f.write_str(unsafe { std::str::from_utf8_unchecked(&hex) })
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}

impl FromStr for TraceId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::from_hex(s)
    }
}

/// An 8-byte span id. The all-zero value is [`SpanId::INVALID`].
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::SpanId;
///
/// let id: SpanId = "00f067aa0ba902b7".parse()?;
/// assert_eq!(id, SpanId::from_u64(0x00f0_67aa_0ba9_02b7));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
// Aligned like `TraceId`, for the same reason.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(align(8))]
pub struct SpanId([u8; 8]);

impl SpanId {
    /// The all-zero id, which the spec forbids on the wire.
    pub const INVALID: SpanId = SpanId([0; 8]);

    /// Wraps raw bytes (big-endian, as on the wire).
    pub const fn from_bytes(bytes: [u8; 8]) -> Self {
        SpanId(bytes)
    }

    /// The raw bytes.
    pub const fn to_bytes(self) -> [u8; 8] {
        self.0
    }

    /// Builds an id from a number, most significant byte first.
    pub const fn from_u64(value: u64) -> Self {
        SpanId(value.to_be_bytes())
    }

    /// The id as a number, most significant byte first.
    pub const fn to_u64(self) -> u64 {
        u64::from_be_bytes(self.0)
    }

    /// Parses exactly 16 lowercase hex digits.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Id`] for a wrong length, a non-lowercase-hex character or the
    /// all-zero id.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::SpanId;
    ///
    /// assert!(SpanId::from_hex("0000000000000000").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_hex(s: &str) -> Result<Self, Error> {
        parse_id::<8>(s).map(SpanId)
    }

    /// Whether the id is not all zeros.
    pub const fn is_valid(self) -> bool {
        self.to_u64() != 0
    }

    /// The 16 lowercase hex digits, without allocating.
    pub fn to_hex(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        encode_hex(&self.0, &mut out);
        out
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.to_hex();
        // SAFETY: `to_hex` fills every byte with an ASCII hex digit, and
        // ASCII is valid UTF-8.
        f.write_str(unsafe { std::str::from_utf8_unchecked(&hex) })
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({self})")
    }
}

impl FromStr for SpanId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::from_hex(s)
    }
}

/// The trace flags byte. Only the flags this crate knows survive: `sampled`
/// (0x01) and Level 2's `random` (0x02); every other bit is zeroed, as the
/// spec requires when propagating.
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::TraceFlags;
///
/// let flags = TraceFlags::from_bits(0xff);
/// assert_eq!(flags.bits(), 0x03);
/// assert!(flags.is_sampled() && flags.is_random());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TraceFlags(u8);

impl TraceFlags {
    /// No flag set.
    pub const NONE: TraceFlags = TraceFlags(0);
    /// The caller may have recorded this trace.
    pub const SAMPLED: TraceFlags = TraceFlags(0x01);
    /// The rightmost 7 bytes of the trace id are random (Level 2).
    pub const RANDOM: TraceFlags = TraceFlags(0x02);

    /// Keeps the known bits of `bits`, zeroing the others.
    pub const fn from_bits(bits: u8) -> Self {
        TraceFlags(bits & 0x03)
    }

    /// The flags byte.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether the sampled flag is set.
    pub const fn is_sampled(self) -> bool {
        self.0 & 0x01 != 0
    }

    /// Whether the random flag is set.
    pub const fn is_random(self) -> bool {
        self.0 & 0x02 != 0
    }

    /// These flags with `sampled` set to `on`.
    #[must_use]
    pub const fn with_sampled(self, on: bool) -> Self {
        if on {
            TraceFlags(self.0 | 0x01)
        } else {
            TraceFlags(self.0 & !0x01)
        }
    }

    /// These flags with `random` set to `on`.
    #[must_use]
    pub const fn with_random(self, on: bool) -> Self {
        if on {
            TraceFlags(self.0 | 0x02)
        } else {
            TraceFlags(self.0 & !0x02)
        }
    }
}

impl fmt::Debug for TraceFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceFlags({:02x})", self.0)
    }
}

impl fmt::Display for TraceFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02x}", self.0)
    }
}

/// A source of 64 bits per id, such as a seeded test RNG.
///
/// Every `FnMut() -> u64` is one, so an RNG with a `next_u64` method plugs in
/// as `|| rng.next_u64()` (wrapped in [`RandomBits`] to say it is random).
///
/// ```
/// use steadfast_tracing_core::ids::{IdGenerator, RandomBits, SplitMix64};
///
/// let mut rng = SplitMix64::new(7);
/// let mut ids = IdGenerator::new(RandomBits(|| rng.next_u64()));
/// assert!(ids.trace_id().is_valid());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait IdSource {
    /// Returns the next 64 bits.
    fn next_u64(&mut self) -> u64;

    /// Whether every output is drawn uniformly at random (a true or a
    /// pseudo-random generator), so that trace ids made from it meet W3C
    /// Trace Context Level 2's randomness requirement and new traces carry
    /// the `random` flag. A static property of the source; `false` unless
    /// the source says otherwise.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::ids::{IdSource, SplitMix64};
    ///
    /// struct Counter(u64);
    /// impl IdSource for Counter {
    ///     fn next_u64(&mut self) -> u64 { self.0 += 1; self.0 }
    /// }
    /// assert!(!Counter(0).is_random());
    /// assert!(SplitMix64::new(1).is_random());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn is_random(&self) -> bool {
        false
    }
}

impl<F: FnMut() -> u64> IdSource for F {
    fn next_u64(&mut self) -> u64 {
        self()
    }
}

/// A closure whose outputs the caller vouches are uniformly random, such as
/// `|| rng.next_u64()` over a seeded RNG: an [`IdSource`] whose
/// [`is_random`](IdSource::is_random) is `true`.
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::ids::{IdGenerator, RandomBits, SplitMix64};
/// use steadfast_tracing_core::SpanContext;
///
/// let mut rng = SplitMix64::new(3);
/// let mut ids = IdGenerator::new(RandomBits(move || rng.next_u64()));
/// assert!(SpanContext::new_root(&mut ids, true).flags().is_random());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RandomBits<F>(pub F);

impl<F: FnMut() -> u64> IdSource for RandomBits<F> {
    fn next_u64(&mut self) -> u64 {
        (self.0)()
    }

    fn is_random(&self) -> bool {
        true
    }
}

/// The SplitMix64 generator: tiny, seedable and good enough for ids.
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::ids::SplitMix64;
///
/// // First output for seed 0, from the reference implementation by Vigna.
/// assert_eq!(SplitMix64::new(0).next_u64(), 0xe220a8397b1dcdaf);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose outputs are fixed by `seed`.
    pub const fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl IdSource for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        SplitMix64::next_u64(self)
    }

    /// Pseudo-random with uniform 64-bit outputs.
    fn is_random(&self) -> bool {
        true
    }
}

/// The default id source: [`SplitMix64`] seeded from the process's
/// randomly-keyed hasher (`std`'s `RandomState`), so ids differ between runs.
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::ids::{IdSource, RandomSource};
///
/// let mut a = RandomSource::new();
/// let mut b = RandomSource::new();
/// assert_ne!(a.next_u64(), b.next_u64());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct RandomSource(SplitMix64);

impl RandomSource {
    /// A new source with a fresh random seed.
    pub fn new() -> Self {
        use std::hash::{BuildHasher, Hasher};
        // Each RandomState gets fresh keys (per-thread random base plus a
        // counter), so two sources never share a seed.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(0x5354_4541_4446_4153);
        RandomSource(SplitMix64::new(hasher.finish()))
    }
}

impl Default for RandomSource {
    fn default() -> Self {
        Self::new()
    }
}

impl IdSource for RandomSource {
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn is_random(&self) -> bool {
        true
    }
}

/// How many all-zero ids in a row [`IdGenerator`] draws before it stops
/// trusting its source. A uniformly random source makes even one all-zero
/// span id with probability 2⁻⁶⁴.
const ZERO_DRAWS_BEFORE_FALLBACK: usize = 8;

/// Makes valid (never all-zero) trace and span ids from an [`IdSource`].
///
/// An all-zero id is drawn again. A source that gives 8 all-zero ids in a
/// row (a broken source,
/// such as one that always returns 0) is not asked again: from then on ids
/// come from a counter, 1, 2, 3, … (distinct, never zero), and
/// [`IdGenerator::is_random`] is `false`, so new traces are no longer
/// flagged random. The generator never loops forever.
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::ids::{IdGenerator, SplitMix64};
/// use steadfast_tracing_core::{SpanId, TraceId};
///
/// let mut ids = IdGenerator::new(SplitMix64::new(1));
/// let (a, b) = (ids.span_id(), ids.span_id());
/// assert_ne!(a, b);
///
/// let mut broken = IdGenerator::new(|| 0);
/// assert_eq!(broken.trace_id(), TraceId::from_u128(1));
/// assert_eq!(broken.span_id(), SpanId::from_u64(2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct IdGenerator<S> {
    source: S,
    // The last id handed out after the source was given up on; 0 while
    // the source is trusted.
    fallback: u64,
}

impl<S: IdSource> IdGenerator<S> {
    /// Generates ids from `source`.
    pub fn new(source: S) -> Self {
        IdGenerator {
            source,
            fallback: 0,
        }
    }

    /// A new trace id; all 16 bytes come from the source (see the type's
    /// docs for a source that only gives zeros).
    pub fn trace_id(&mut self) -> TraceId {
        if self.fallback == 0 {
            for _ in 0..ZERO_DRAWS_BEFORE_FALLBACK {
                let hi = u128::from(self.source.next_u64());
                let lo = u128::from(self.source.next_u64());
                let id = TraceId::from_u128((hi << 64) | lo);
                if id.is_valid() {
                    return id;
                }
            }
        }
        TraceId::from_u128(u128::from(self.next_fallback()))
    }

    /// A new span id (see the type's docs for a source that only gives
    /// zeros).
    pub fn span_id(&mut self) -> SpanId {
        if self.fallback == 0 {
            for _ in 0..ZERO_DRAWS_BEFORE_FALLBACK {
                let id = SpanId::from_u64(self.source.next_u64());
                if id.is_valid() {
                    return id;
                }
            }
        }
        SpanId::from_u64(self.next_fallback())
    }

    fn next_fallback(&mut self) -> u64 {
        // Wrapping past u64::MAX would give the invalid 0; 2^64 ids are
        // never drawn, but skip it all the same.
        self.fallback = self.fallback.checked_add(1).unwrap_or(1);
        self.fallback
    }

    /// Whether ids come from a random source ([`IdSource::is_random`]) and
    /// the source has not been given up on.
    pub fn is_random(&self) -> bool {
        self.fallback == 0 && self.source.is_random()
    }

    /// The underlying source.
    pub fn source_mut(&mut self) -> &mut S {
        &mut self.source
    }
}

impl Default for IdGenerator<RandomSource> {
    fn default() -> Self {
        IdGenerator::new(RandomSource::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_reference_vector_for_seed_1234567() {
        // Reference outputs of Vigna's splitmix64.c for seed 1234567.
        let mut g = SplitMix64::new(1234567);
        assert_eq!(g.next_u64(), 6457827717110365317);
        assert_eq!(g.next_u64(), 3203168211198807973);
    }

    #[test]
    fn a_source_of_only_zeros_falls_back_to_a_counter_instead_of_hanging() {
        let calls = std::cell::Cell::new(0);
        let mut ids = IdGenerator::new(RandomBits(|| {
            calls.set(calls.get() + 1);
            0
        }));
        assert_eq!(ids.span_id(), SpanId::from_u64(1));
        assert_eq!(ids.trace_id(), TraceId::from_u128(2));
        assert_eq!(ids.span_id(), SpanId::from_u64(3));
        assert!(!ids.is_random(), "a counter's ids are not random");
        assert_eq!(
            calls.get(),
            ZERO_DRAWS_BEFORE_FALLBACK,
            "given up after one span id"
        );
    }

    #[test]
    fn seven_zero_draws_in_a_row_are_still_retried() {
        let mut outputs = [0u64; ZERO_DRAWS_BEFORE_FALLBACK - 1].into_iter();
        let mut ids = IdGenerator::new(RandomBits(move || outputs.next().unwrap_or(42)));
        assert_eq!(ids.span_id(), SpanId::from_u64(42));
        assert!(ids.is_random());
    }

    #[test]
    fn generator_skips_all_zero_ids() {
        let mut outputs = [0u64, 0, 0, 5, 0, 9].into_iter();
        let mut ids = IdGenerator::new(move || outputs.next().unwrap_or(1));
        assert_eq!(ids.trace_id(), TraceId::from_u128(5));
        assert_eq!(ids.span_id(), SpanId::from_u64(9));
    }

    #[test]
    fn uppercase_and_wrong_length_ids_are_rejected() {
        assert!(TraceId::from_hex("4BF92F3577B34DA6A3CE929D0E0E4736").is_err());
        assert!(TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e473").is_err());
        assert!(SpanId::from_hex("00f067aa0ba902b").is_err());
    }
}
