//! How many requests a mock expects: a count or a range, as wiremock's `Times` takes them.

use std::fmt;
use std::ops::{Range, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive};

/// The number of requests a [`Mock`](crate::Mock) expects to match, given to
/// [`Mock::expect`](crate::Mock::expect) as a count (`2`) or a range (`1..`, `..=3`, `2..4`), as
/// in wiremock.
///
/// A range no count can fall in, such as `2..1`, is accepted here and rejected when the mock
/// is mounted.
///
/// # Example
///
/// ```
/// use steadfast_mocknet::Times;
///
/// assert_eq!(Times::from(2).to_string(), "exactly 2");
/// assert_eq!(Times::from(1..).to_string(), "at least 1");
/// assert_eq!(Times::from(1..=3).to_string(), "between 1 and 3");
/// assert!(Times::from(1..=3).contains(3) && !Times::from(1..3).contains(3));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Times {
    /// The fewest requests allowed.
    min: u64,
    /// The most requests allowed, inclusive; `None` for no bound. Below `min` when no count
    /// can meet the expectation.
    max: Option<u64>,
}

impl Times {
    /// From `min` to `max` inclusive (no bound without `max`).
    pub(crate) fn between(min: u64, max: Option<u64>) -> Times {
        Times { min, max }
    }

    /// Whether `count` requests meet the expectation.
    pub fn contains(&self, count: u64) -> bool {
        count >= self.min && self.max.is_none_or(|max| count <= max)
    }

    /// Whether no count meets the expectation, as for `2..1` or `..0`.
    pub fn is_empty(&self) -> bool {
        self.max.is_some_and(|max| max < self.min)
    }

    /// The fewest requests allowed.
    pub(crate) fn min(&self) -> u64 {
        self.min
    }

    /// The most requests allowed, inclusive, if bounded.
    pub(crate) fn max(&self) -> Option<u64> {
        self.max
    }

    /// The same expectation for a plain wiremock mock.
    pub(crate) fn to_wiremock(self) -> wiremock::Times {
        match self.max {
            Some(max) if max == self.min => max.into(),
            Some(max) => (self.min..=max).into(),
            None => (self.min..).into(),
        }
    }
}

impl fmt::Display for Times {
    /// `exactly 2`, `at least 1`, `at most 3`, `between 1 and 3`, `any number`, or `an empty
    /// range (2..=0)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.min, self.max) {
            (min, Some(max)) if max < min => write!(f, "an empty range ({min}..={max})"),
            (min, Some(max)) if min == max => write!(f, "exactly {min}"),
            (0, Some(max)) => write!(f, "at most {max}"),
            (min, Some(max)) => write!(f, "between {min} and {max}"),
            (0, None) => f.write_str("any number"),
            (min, None) => write!(f, "at least {min}"),
        }
    }
}

impl From<u64> for Times {
    fn from(count: u64) -> Times {
        Times::between(count, Some(count))
    }
}

impl From<RangeFull> for Times {
    fn from(_: RangeFull) -> Times {
        Times::between(0, None)
    }
}

impl From<Range<u64>> for Times {
    fn from(range: Range<u64>) -> Times {
        match range.end.checked_sub(1) {
            Some(max) => Times::between(range.start, Some(max)),
            // No count is below 0: the empty range 1..=0.
            None => Times::between(1, Some(0)),
        }
    }
}

impl From<RangeFrom<u64>> for Times {
    fn from(range: RangeFrom<u64>) -> Times {
        Times::between(range.start, None)
    }
}

impl From<RangeTo<u64>> for Times {
    fn from(range: RangeTo<u64>) -> Times {
        match range.end.checked_sub(1) {
            Some(max) => Times::between(0, Some(max)),
            None => Times::between(1, Some(0)),
        }
    }
}

impl From<RangeInclusive<u64>> for Times {
    fn from(range: RangeInclusive<u64>) -> Times {
        Times::between(*range.start(), Some(*range.end()))
    }
}

impl From<RangeToInclusive<u64>> for Times {
    fn from(range: RangeToInclusive<u64>) -> Times {
        Times::between(0, Some(range.end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[expect(
        clippy::reversed_empty_ranges,
        reason = "empty ranges are what is tested"
    )]
    fn empty_ranges_are_empty_and_contain_nothing() {
        for times in [Times::from(2..1), Times::from(..0), Times::from(3..3)] {
            assert!(times.is_empty(), "{times}");
            assert!(!(0..5).any(|count| times.contains(count)), "{times}");
        }
        assert_eq!(Times::from(2..1).to_string(), "an empty range (2..=0)");
    }

    #[test]
    fn ranges_keep_their_bounds() {
        assert!(Times::from(..=2).contains(0) && Times::from(..=2).contains(2));
        assert!(!Times::from(..2).contains(2));
        assert!(Times::from(..).contains(u64::MAX));
        assert_eq!(Times::from(..3).to_string(), "at most 2");
    }
}
