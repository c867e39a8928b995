//! Gauge queries: one series' value over the test clock's time.

use std::fmt::Write as _;
use std::time::Duration;

use crate::error::{Error, ErrorKind};
use crate::select::{Matched, Selector, key_text};
use crate::store::Record;

/// A query of a gauge of the test, from [`gauge`](crate::gauge) or
/// [`Captured::gauge`](crate::Captured::gauge).
///
/// A gauge query reads exactly one series: the labels given with
/// [`with_label`](Self::with_label) must select one (it is an
/// [`ErrorKind::Ambiguous`] error otherwise, listing them). Its history holds the value after
/// every `set`, `increment` and `decrement`, at the test clock's time of the call, so "at most
/// 3 connections open at once" and "back to 0 at the end" are both exact assertions.
#[derive(Debug, Clone)]
#[must_use = "a query does nothing until it is read or asserted"]
pub struct GaugeQuery {
    selector: Selector,
}

impl GaugeQuery {
    pub(crate) fn new(selector: Selector) -> Self {
        Self { selector }
    }

    /// Keeps only the series that carry the label `key` = `value`.
    pub fn with_label(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            selector: self.selector.with_label(key.into(), value.into()),
        }
    }

    /// The value after each change, with the test clock's time since its origin.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotRecorded`] when the gauge was never recorded (the message lists what
    /// was), [`ErrorKind::Ambiguous`] when the labels select more than one series, or the
    /// errors of a query without the recorder or a test context.
    pub fn history(&self) -> Result<Vec<(Duration, f64)>, Error> {
        let (_, records) = self.one()?;
        Ok(records.iter().map(|r| (r.at, r.value)).collect())
    }

    /// The current value: the one after the last change.
    ///
    /// # Errors
    ///
    /// As [`history`](Self::history).
    pub fn value(&self) -> Result<f64, Error> {
        let (_, records) = self.one()?;
        Ok(records.last().map_or(0.0, |r| r.value))
    }

    /// The value the gauge had at `at` on the test clock: the one after the last change at or
    /// before `at`, or `None` before the first change.
    ///
    /// # Errors
    ///
    /// As [`history`](Self::history).
    pub fn value_at(&self, at: Duration) -> Result<Option<f64>, Error> {
        let (_, records) = self.one()?;
        Ok(value_at(&records, at))
    }

    /// The highest value the gauge ever had.
    ///
    /// # Errors
    ///
    /// As [`history`](Self::history).
    pub fn max(&self) -> Result<f64, Error> {
        let (_, records) = self.one()?;
        Ok(records.iter().map(|r| r.value).fold(f64::MIN, f64::max))
    }

    /// Checks that the current value is `expected`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Mismatch`] when it is not, with the history in the
    /// [`report`](Error::report); the errors of [`history`](Self::history).
    pub fn check_eq(&self, expected: f64) -> Result<(), Error> {
        let (matched, records) = self.one()?;
        let actual = records.last().map_or(0.0, |r| r.value);
        self.expect(actual == expected, &matched, &records, || {
            format!("gauge `{}` is {actual}, expected {expected}", self.selector)
        })
    }

    /// Checks that the gauge had the value `expected` at `at` on the test clock.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Mismatch`] when it had another value or none yet, with the history in the
    /// [`report`](Error::report); the errors of [`history`](Self::history).
    pub fn check_at(&self, at: Duration, expected: f64) -> Result<(), Error> {
        let (matched, records) = self.one()?;
        let actual = value_at(&records, at);
        self.expect(
            actual == Some(expected),
            &matched,
            &records,
            || match actual {
                Some(actual) => format!(
                    "gauge `{}` was {actual} at {at:?}, expected {expected}",
                    self.selector
                ),
                None => format!(
                    "gauge `{}` had no value yet at {at:?}, expected {expected}",
                    self.selector
                ),
            },
        )
    }

    /// Checks that the gauge was never above `limit`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Mismatch`] naming the first time it was, with the history in the
    /// [`report`](Error::report); the errors of [`history`](Self::history).
    pub fn check_never_above(&self, limit: f64) -> Result<(), Error> {
        let (matched, records) = self.one()?;
        let first = records.iter().find(|r| r.value > limit).copied();
        self.expect(first.is_none(), &matched, &records, || {
            let first = first.map(|r| (r.value, r.at)).unwrap_or_default();
            format!(
                "gauge `{}` went above {limit}: {} at {:?}",
                self.selector, first.0, first.1
            )
        })
    }

    /// Asserts that the current value is `expected`.
    ///
    /// # Panics
    ///
    /// When [`check_eq`](Self::check_eq) fails, with its message and the history.
    #[track_caller]
    pub fn assert_eq(&self, expected: f64) {
        if let Err(err) = self.check_eq(expected) {
            panic!("{}", err.panic_message());
        }
    }

    /// Asserts that the gauge had the value `expected` at `at` on the test clock.
    ///
    /// # Panics
    ///
    /// When [`check_at`](Self::check_at) fails, with its message and the history.
    #[track_caller]
    pub fn assert_at(&self, at: Duration, expected: f64) {
        if let Err(err) = self.check_at(at, expected) {
            panic!("{}", err.panic_message());
        }
    }

    /// Asserts that the gauge was never above `limit`.
    ///
    /// # Panics
    ///
    /// When [`check_never_above`](Self::check_never_above) fails, with its message and the
    /// history.
    #[track_caller]
    pub fn assert_never_above(&self, limit: f64) {
        if let Err(err) = self.check_never_above(limit) {
            panic!("{}", err.panic_message());
        }
    }

    fn expect(
        &self,
        holds: bool,
        matched: &Matched,
        records: &[Record],
        headline: impl FnOnce() -> String,
    ) -> Result<(), Error> {
        if holds {
            return Ok(());
        }
        let mut report = format!("  history ({} changes):\n", records.len());
        for r in records {
            let _ = writeln!(report, "    at {:>12?}: {}", r.at, r.value);
        }
        Err(matched.error(
            &self.selector,
            format!("{}{}", headline(), matched.where_()),
            report,
        ))
    }

    /// The one selected series.
    fn one(&self) -> Result<(Matched, Vec<Record>), Error> {
        let mut matched = self.selector.matched()?;
        if matched.series.len() > 1 {
            let names: Vec<String> = matched.series.iter().map(|(k, _)| key_text(k)).collect();
            return Err(Error::new(
                ErrorKind::Ambiguous,
                format!(
                    "gauge `{}` selects {} series{}: {}; add labels with with_label to pick one",
                    self.selector,
                    names.len(),
                    matched.where_(),
                    names.join(", ")
                ),
            )
            .with_metric(self.selector.to_string())
            .with_test(matched.store.test(), matched.store.seed()));
        }
        // OK because `matched` returns at least one series, and here exactly one.
        let (_, records) = matched.series.remove(0);
        Ok((matched, records))
    }
}

fn value_at(records: &[Record], at: Duration) -> Option<f64> {
    records.iter().rev().find(|r| r.at <= at).map(|r| r.value)
}
