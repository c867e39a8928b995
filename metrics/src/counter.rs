//! Counter queries: the total of a counter, summed over the series its labels select.

use std::fmt::Write as _;

use crate::error::Error;
use crate::select::{Selector, key_text};

/// A query of a counter of the test, from [`counter`](crate::counter) or
/// [`Captured::counter`](crate::Captured::counter).
///
/// Reads every series of the name that carries all the labels given with
/// [`with_label`](Self::with_label) (others may be present) and sums their totals.
#[derive(Debug, Clone)]
#[must_use = "a query does nothing until it is read or asserted"]
pub struct CounterQuery {
    selector: Selector,
}

impl CounterQuery {
    pub(crate) fn new(selector: Selector) -> Self {
        Self { selector }
    }

    /// Keeps only the series that carry the label `key` = `value`.
    pub fn with_label(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            selector: self.selector.with_label(key.into(), value.into()),
        }
    }

    /// The total of the selected series.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotRecorded`](crate::ErrorKind::NotRecorded) when no selected series was
    /// recorded (the message lists those that were), or the errors of a query without the
    /// recorder or a test context.
    pub fn value(&self) -> Result<u64, Error> {
        Ok(self.totals()?.0)
    }

    /// Checks that the total is `expected`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Mismatch`](crate::ErrorKind::Mismatch) when it is not, with the series that
    /// were summed in the [`report`](Error::report); the errors of [`value`](Self::value).
    pub fn check_eq(&self, expected: u64) -> Result<(), Error> {
        let (total, report, matched) = self.totals()?;
        if total == expected {
            return Ok(());
        }
        Err(matched.error(
            &self.selector,
            format!(
                "counter `{}` is {total}, expected {expected}{}",
                self.selector,
                matched.where_()
            ),
            report,
        ))
    }

    /// Asserts that the total is `expected`.
    ///
    /// # Panics
    ///
    /// When [`check_eq`](Self::check_eq) fails, with its message and the series summed.
    #[track_caller]
    pub fn assert_eq(&self, expected: u64) {
        if let Err(err) = self.check_eq(expected) {
            panic!("{}", err.panic_message());
        }
    }

    fn totals(&self) -> Result<(u64, String, crate::select::Matched), Error> {
        let matched = self.selector.matched()?;
        let mut total = 0u64;
        let mut report = format!("  {} series summed:\n", matched.series.len());
        for (key, records) in &matched.series {
            let last = records.last().map_or(0.0, |r| r.value);
            total = total.saturating_add(last as u64);
            let _ = writeln!(
                report,
                "    {}: {last} ({} records, the last at {:?})",
                key_text(key),
                records.len(),
                records.last().map(|r| r.at).unwrap_or_default()
            );
        }
        Ok((total, report, matched))
    }
}
