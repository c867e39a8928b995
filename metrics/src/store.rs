//! What one test recorded: every series of counters, gauges and histograms, keyed by name and
//! labels, each record stamped with the test clock.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use metrics::{CounterFn, GaugeFn, HistogramFn, Key, KeyName, SharedString, Unit};
use steadfast_determinism::{Clock, Seed, TestClock};

/// The three kinds of metric the `metrics` facade knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// One record: when it was made on the test clock, and the value it left.
///
/// For a counter the value is its total after the record, for a gauge its value after the
/// record, for a histogram the sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Record {
    /// Time since the test clock's origin.
    pub(crate) at: Duration,
    /// The test clock's wall time.
    pub(crate) wall: SystemTime,
    pub(crate) value: f64,
}

/// One series: the records of one metric with one label set.
#[derive(Debug)]
pub(crate) struct Series {
    clock: TestClock,
    records: Mutex<Vec<Record>>,
}

impl Series {
    fn new(clock: TestClock) -> Self {
        Self {
            clock,
            records: Mutex::new(Vec::new()),
        }
    }

    /// Appends the value `next` computes from the previous one (0 for the first record).
    fn push(&self, next: impl FnOnce(f64) -> f64) {
        let reading = self.clock.read();
        let mut records = self.lock();
        let previous = records.last().map_or(0.0, |r| r.value);
        records.push(Record {
            at: reading.monotonic,
            wall: reading.wall,
            value: next(previous),
        });
    }

    pub(crate) fn records(&self) -> Vec<Record> {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Record>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

// Counter totals are kept as f64 like every record; exact up to 2^53, far beyond what a test
// counts.
impl CounterFn for Series {
    fn increment(&self, value: u64) {
        self.push(|total| total + value as f64);
    }

    fn absolute(&self, value: u64) {
        self.push(|total| total.max(value as f64));
    }
}

impl GaugeFn for Series {
    fn increment(&self, value: f64) {
        self.push(|current| current + value);
    }

    fn decrement(&self, value: f64) {
        self.push(|current| current - value);
    }

    fn set(&self, value: f64) {
        self.push(|_| value);
    }
}

impl HistogramFn for Series {
    fn record(&self, value: f64) {
        self.push(|_| value);
    }
}

/// Hashes a [`Key`] by the hash it already caches (`Key`'s `Hash` writes one `u64`), so a
/// lookup does not run SipHash over it again.
#[derive(Debug, Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only reached by keys hashed some other way; fold the bytes in.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

type SeriesMap = HashMap<Key, Arc<Series>, BuildHasherDefault<KeyHasher>>;

/// A metric's unit and description, from the `describe_*!` macros.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Description {
    pub(crate) unit: Option<Unit>,
    pub(crate) text: String,
}

/// Everything one test recorded.
#[derive(Debug)]
pub(crate) struct Store {
    test: String,
    seed: Seed,
    clock: TestClock,
    /// One map per [`Kind`], indexed by `Kind as usize`.
    series: [Mutex<SeriesMap>; 3],
    descriptions: Mutex<HashMap<(Kind, String), Description>>,
}

impl Store {
    pub(crate) fn new(test: &str, seed: Seed, clock: TestClock) -> Self {
        Self {
            test: test.to_owned(),
            seed,
            clock,
            series: Default::default(),
            descriptions: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn test(&self) -> &str {
        &self.test
    }

    pub(crate) fn seed(&self) -> Seed {
        self.seed
    }

    /// The series of `key`, created on first use.
    pub(crate) fn series(&self, kind: Kind, key: &Key) -> Arc<Series> {
        let mut series = self.map(kind);
        // Two steps, so a hit clones nothing but the Arc: `entry` would need an owned key.
        if let Some(found) = series.get(key) {
            return Arc::clone(found);
        }
        let created = Arc::new(Series::new(self.clock.clone()));
        series.insert(key.clone(), Arc::clone(&created));
        created
    }

    pub(crate) fn describe(
        &self,
        kind: Kind,
        name: KeyName,
        unit: Option<Unit>,
        text: SharedString,
    ) {
        self.descriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                (kind, name.as_str().to_owned()),
                Description {
                    unit,
                    text: text.into_owned(),
                },
            );
    }

    pub(crate) fn description(&self, kind: Kind, name: &str) -> Description {
        self.descriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(kind, name.to_owned()))
            .cloned()
            .unwrap_or_default()
    }

    /// Every series of `kind`, sorted by name and labels.
    pub(crate) fn all(&self, kind: Kind) -> Vec<(Key, Arc<Series>)> {
        let mut all: Vec<(Key, Arc<Series>)> = self
            .map(kind)
            .iter()
            .map(|(key, s)| (key.clone(), Arc::clone(s)))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    fn map(&self, kind: Kind) -> MutexGuard<'_, SeriesMap> {
        self.series[kind as usize]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use steadfast_determinism::ManualClock;

    #[test]
    fn records_carry_the_test_clock_and_the_running_value() {
        let clock = ManualClock::default();
        let store = Store::new("t", Seed::new(1), TestClock::manual(clock.clone()));
        let gauge = store.series(Kind::Gauge, &Key::from_name("active"));
        GaugeFn::increment(&*gauge, 2.0);
        clock.advance(Duration::from_secs(5));
        GaugeFn::decrement(&*gauge, 1.0);
        let values: Vec<(Duration, f64)> =
            gauge.records().iter().map(|r| (r.at, r.value)).collect();
        assert_eq!(
            values,
            vec![(Duration::ZERO, 2.0), (Duration::from_secs(5), 1.0)]
        );
    }

    #[test]
    fn one_key_is_one_series_per_kind() {
        let store = Store::new("t", Seed::new(1), TestClock::default());
        let key = Key::from_parts("requests", vec![metrics::Label::new("route", "/")]);
        let a = store.series(Kind::Counter, &key);
        let b = store.series(Kind::Counter, &key);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &store.series(Kind::Gauge, &key)));
        CounterFn::absolute(&*a, 7);
        CounterFn::absolute(&*a, 3);
        assert_eq!(b.records().last().map(|r| r.value), Some(7.0));
    }
}
