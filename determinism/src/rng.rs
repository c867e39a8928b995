//! `DetRng`: a seeded ChaCha8 generator with named, independent streams.
//!
//! ```
//! use steadfast_determinism::{DetRng, Seed};
//!
//! let mut rng = DetRng::from_seed(Seed::new(7));
//! let mut network = rng.fork("network");
//! let first = rng.next_u64();
//! // A fork depends only on the parent's seed and the label, never on how many draws the
//! // parent made, so adding a draw in one part of a test never shifts another part.
//! let mut again = DetRng::from_seed(Seed::new(7)).fork("network");
//! assert_eq!(network.next_u64(), again.next_u64());
//! assert_eq!(first, DetRng::from_seed(Seed::new(7)).next_u64());
//! ```

use std::convert::Infallible;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

#[cfg(feature = "proptest")]
use proptest::test_runner::{Config as ProptestConfig, RngAlgorithm, TestRng, TestRunner};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng as _, SeedableRng, TryRng};

use crate::seed::{Seed, mix64};

/// A deterministic random number generator: ChaCha8 keyed by a [`Seed`].
///
/// The same seed gives the same sequence on every platform and in every release of this crate
/// (the key schedule is documented on [`DetRng::from_seed`]). Use [`DetRng::fork`] to give each
/// part of a test (`"network"`, `"ids"`, …) its own stream.
///
/// `DetRng` implements [`rand_core::TryRng`] (and so `rand_core::Rng`) of the `rand_core` version
/// that proptest uses, so it plugs into `rand` distributions; the common draws are also inherent
/// methods, so no `rand` import is needed.
#[derive(Clone)]
pub struct DetRng {
    seed: Seed,
    inner: ChaCha8Rng,
    recorder: Option<Recorder>,
}

impl DetRng {
    /// A generator keyed by `seed`.
    ///
    /// The 32-byte ChaCha key is four outputs of SplitMix64 started at the seed's value
    /// (`state += 0x9e3779b97f4a7c15; output = mix(state)`, with the finaliser documented on
    /// [`Seed::derive`]), each written little-endian.
    pub fn from_seed(seed: Seed) -> Self {
        Self {
            seed,
            inner: ChaCha8Rng::from_seed(key_bytes(seed)),
            recorder: None,
        }
    }

    /// The seed this generator (or stream) was created from.
    pub fn seed(&self) -> Seed {
        self.seed
    }

    /// An independent stream for a named part of the test.
    ///
    /// The stream is keyed by `self.seed().derive(label)`: the same for the same seed and label
    /// however many values the parent has drawn. Forks of a recording generator record too.
    #[must_use]
    pub fn fork(&self, label: &str) -> DetRng {
        let mut child = DetRng::from_seed(self.seed.derive(label));
        child.recorder = self.recorder.clone();
        child
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let value = self.inner.next_u64();
        if self.recorder.is_some() {
            self.record(value);
        }
        value
    }

    /// The next 32 random bits.
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        let value = self.inner.next_u32();
        if self.recorder.is_some() {
            self.record(u64::from(value));
        }
        value
    }

    /// Logs a draw for `check_determinism`. Kept out of line so the draw itself stays as small
    /// as a bare ChaCha8 draw when nothing records.
    #[cold]
    #[inline(never)]
    fn record(&self, value: u64) {
        if let Some(recorder) = &self.recorder {
            recorder.record(self.seed.value(), value);
        }
    }

    /// Fills `dest` with random bytes.
    #[inline]
    pub fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.inner.fill_bytes(dest);
        if let Some(recorder) = &self.recorder {
            let digest = dest
                .iter()
                .fold(dest.len() as u64, |acc, &b| mix64(acc ^ u64::from(b)));
            recorder.record(self.seed.value(), digest);
        }
    }

    /// A uniformly distributed value in `0..bound`, without modulo bias.
    ///
    /// Returns 0 when `bound` is 0, so callers need no special case for empty ranges.
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        // Lemire's multiply-shift with rejection of the biased low zone.
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(bound);
            if (product as u64) >= threshold {
                return (product >> 64) as u64;
            }
        }
    }

    /// A uniformly distributed value in `low..high` (empty ranges give `low`).
    pub fn in_range(&mut self, range: std::ops::Range<u64>) -> u64 {
        range.start + self.below(range.end.saturating_sub(range.start))
    }

    /// A uniformly distributed `f64` in `[0, 1)` with 53 bits of precision.
    pub fn unit_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p` (clamped to `0..=1`; NaN counts as 0).
    pub fn chance(&mut self, p: f64) -> bool {
        if p.is_nan() || p <= 0.0 {
            return false;
        }
        self.unit_f64() < p
    }

    /// Shuffles `items` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }

    /// A uniformly chosen element, or `None` for an empty slice.
    pub fn choose<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            return None;
        }
        items.get(self.below(items.len() as u64) as usize)
    }

    /// A proptest RNG keyed by this generator's `"proptest"` stream, so property cases follow
    /// the test seed (feature `proptest`, on by default).
    #[cfg(feature = "proptest")]
    #[cfg_attr(docsrs, doc(cfg(feature = "proptest")))]
    pub fn proptest_rng(&self) -> TestRng {
        let seed = self.seed.derive("proptest");
        TestRng::from_seed(RngAlgorithm::ChaCha, &key_bytes(seed))
    }

    /// A proptest [`TestRunner`] whose cases are decided by this generator's seed (feature
    /// `proptest`, on by default).
    ///
    /// ```
    /// use proptest::strategy::{Strategy, ValueTree};
    /// use steadfast_determinism::{DetRng, Seed};
    ///
    /// let rng = DetRng::from_seed(Seed::new(1));
    /// let mut a = rng.proptest_runner(Default::default());
    /// let mut b = rng.proptest_runner(Default::default());
    /// let strategy = 0u32..1000;
    /// let first = strategy.new_tree(&mut a).expect("a range always has values").current();
    /// let again = strategy.new_tree(&mut b).expect("a range always has values").current();
    /// assert_eq!(first, again);
    /// ```
    #[cfg(feature = "proptest")]
    #[cfg_attr(docsrs, doc(cfg(feature = "proptest")))]
    pub fn proptest_runner(&self, config: ProptestConfig) -> TestRunner {
        TestRunner::new_with_rng(config, self.proptest_rng())
    }

    pub(crate) fn with_recorder(mut self, recorder: Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }
}

/// The ChaCha key for a seed: four SplitMix64 outputs, little-endian.
fn key_bytes(seed: Seed) -> [u8; 32] {
    let mut state = seed.value();
    let mut key = [0u8; 32];
    for chunk in key.chunks_exact_mut(8) {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        chunk.copy_from_slice(&mix64(state).to_le_bytes());
    }
    key
}

impl fmt::Debug for DetRng {
    // The ChaCha state is noise to a reader; the seed is what reproduces it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DetRng")
            .field("seed", &self.seed)
            .field("recording", &self.recorder.is_some())
            .finish()
    }
}

impl TryRng for DetRng {
    type Error = Infallible;

    #[inline]
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(DetRng::next_u32(self))
    }

    #[inline]
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(DetRng::next_u64(self))
    }

    #[inline]
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        DetRng::fill_bytes(self, dst);
        Ok(())
    }
}

/// One observation of a recorded run: which stream or clock produced which value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Observation {
    pub(crate) source: u64,
    pub(crate) value: u64,
}

/// How many observations are kept verbatim to name the first divergence; later ones only feed
/// the digest.
const KEPT_OBSERVATIONS: usize = 65_536;

#[derive(Debug, Default)]
pub(crate) struct Trace {
    pub(crate) digest: u64,
    pub(crate) count: u64,
    pub(crate) kept: Vec<Observation>,
}

/// A shared log of every draw and clock reading of a test, for `check_determinism`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Recorder(Arc<Mutex<Trace>>);

impl Recorder {
    pub(crate) fn record(&self, source: u64, value: u64) {
        let mut trace = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        trace.digest = mix64(trace.digest.rotate_left(7) ^ source ^ value.rotate_left(32));
        trace.count += 1;
        if trace.kept.len() < KEPT_OBSERVATIONS {
            trace.kept.push(Observation { source, value });
        }
    }

    pub(crate) fn take(&self) -> Trace {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn same_seed_gives_same_sequence_and_different_seeds_differ() {
        let draw = |seed| {
            let mut rng = DetRng::from_seed(Seed::new(seed));
            (0..64).map(|_| rng.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(9), draw(9));
        assert_ne!(draw(9), draw(10));
    }

    #[test]
    fn key_schedule_matches_documented_splitmix64() {
        // First SplitMix64 output for state 0, from the reference C implementation by Vigna.
        assert_eq!(
            key_bytes(Seed::new(0))[..8],
            0xe220a8397b1dcdafu64.to_le_bytes()
        );
    }

    #[test]
    fn fork_is_independent_of_parent_draws() {
        let mut parent = DetRng::from_seed(Seed::new(3));
        let early = parent.fork("ids").next_u64();
        for _ in 0..1000 {
            parent.next_u64();
        }
        assert_eq!(parent.fork("ids").next_u64(), early);
        assert_ne!(
            parent.fork("ids").next_u64(),
            parent.fork("network").next_u64()
        );
    }

    #[test]
    fn inherent_and_trait_draws_are_the_same_stream() {
        let mut a = DetRng::from_seed(Seed::new(5));
        let mut b = DetRng::from_seed(Seed::new(5));
        assert_eq!(a.next_u64(), rand_core::Rng::next_u64(&mut b));
        let mut buf_a = [0u8; 37];
        let mut buf_b = [0u8; 37];
        a.fill_bytes(&mut buf_a);
        rand_core::Rng::fill_bytes(&mut b, &mut buf_b);
        assert_eq!(buf_a, buf_b);
    }

    #[test]
    fn below_is_roughly_uniform() {
        let mut rng = DetRng::from_seed(Seed::new(11));
        let mut counts = [0u32; 6];
        for _ in 0..60_000 {
            counts[rng.below(6) as usize] += 1;
        }
        for count in counts {
            assert!((9_000..11_000).contains(&count), "{counts:?}");
        }
    }

    #[test]
    fn recording_captures_draws_of_forks_in_order() {
        let recorder = Recorder::default();
        let mut rng = DetRng::from_seed(Seed::new(1)).with_recorder(recorder.clone());
        let a = rng.next_u64();
        let b = rng.fork("x").next_u64();
        let trace = recorder.take();
        assert_eq!(trace.count, 2);
        assert_eq!(trace.kept[0].value, a);
        assert_eq!(trace.kept[1].value, b);
        assert_eq!(trace.kept[1].source, Seed::new(1).derive("x").value());
    }

    proptest! {
        #[test]
        fn below_stays_below_bound(seed in any::<u64>(), bound in 1u64..) {
            let mut rng = DetRng::from_seed(Seed::new(seed));
            prop_assert!(rng.below(bound) < bound);
        }

        #[test]
        fn unit_f64_is_in_unit_interval(seed in any::<u64>()) {
            let mut rng = DetRng::from_seed(Seed::new(seed));
            let x = rng.unit_f64();
            prop_assert!((0.0..1.0).contains(&x));
        }

        #[test]
        fn shuffle_is_a_permutation(seed in any::<u64>(), mut items in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut rng = DetRng::from_seed(Seed::new(seed));
            let mut sorted = items.clone();
            rng.shuffle(&mut items);
            items.sort_unstable();
            sorted.sort_unstable();
            prop_assert_eq!(items, sorted);
        }
    }
}
