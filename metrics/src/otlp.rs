//! A test's captured metrics as OTLP metrics, ready for
//! `steadfast_tracing_core::otlp_metrics::encode_metrics_request`.
//!
//! Counters become monotonic cumulative sums with integer points, gauges gauges with their
//! current value, histograms cumulative explicit-bucket histograms over
//! [`DEFAULT_BOUNDS`] (or the bounds given). Each series is one point whose attributes are its
//! labels; times are the test clock's wall time, the start being the clock's origin, so the
//! same seed exports the same body.

use std::time::SystemTime;

use metrics::Unit;
use steadfast_tracing_core::otlp_metrics::{HistogramPoint, Metric, NumberPoint};

use crate::store::{Description, Kind, Record, Store};

/// OpenTelemetry's default explicit bucket bounds for histograms.
pub const DEFAULT_BOUNDS: [f64; 15] = [
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

/// The metrics of `store` in OTLP's shape: one [`Metric`] per name and kind, sorted by name.
pub(crate) fn metrics_of(store: &Store, bounds: &[f64]) -> Vec<Metric> {
    let mut out = Vec::new();
    for kind in [Kind::Counter, Kind::Gauge, Kind::Histogram] {
        let series: Vec<(metrics::Key, Vec<Record>)> = store
            .all(kind)
            .into_iter()
            .map(|(key, series)| (key, series.records()))
            .filter(|(_, records)| !records.is_empty())
            .collect();
        // `all` sorts by name first, so each name's series are adjacent; no group is empty.
        for group in series.chunk_by(|a, b| a.0.name() == b.0.name()) {
            out.push(metric(store, kind, group[0].0.name(), group, bounds));
        }
    }
    out
}

fn metric(
    store: &Store,
    kind: Kind,
    name: &str,
    group: &[(metrics::Key, Vec<Record>)],
    bounds: &[f64],
) -> Metric {
    let labelled = |key: &metrics::Key| {
        key.labels()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect::<Vec<_>>()
    };
    let metric = match kind {
        Kind::Counter => Metric::sum(
            name,
            group
                .iter()
                .map(|(key, records)| {
                    let (start, end) = span(records);
                    let total = records.last().map_or(0.0, |r| r.value);
                    let point = NumberPoint::int(end, total as i64).with_start(start);
                    with_labels(point, labelled(key), NumberPoint::with_attribute)
                })
                .collect(),
            true,
        ),
        Kind::Gauge => Metric::gauge(
            name,
            group
                .iter()
                .map(|(key, records)| {
                    let (_, end) = span(records);
                    let value = records.last().map_or(0.0, |r| r.value);
                    with_labels(
                        NumberPoint::double(end, value),
                        labelled(key),
                        NumberPoint::with_attribute,
                    )
                })
                .collect(),
        ),
        Kind::Histogram => Metric::histogram(
            name,
            group
                .iter()
                .map(|(key, records)| {
                    let (start, end) = span(records);
                    let samples: Vec<f64> = records.iter().map(|r| r.value).collect();
                    with_labels(
                        HistogramPoint::from_samples(start, end, &samples, bounds),
                        labelled(key),
                        HistogramPoint::with_attribute,
                    )
                })
                .collect(),
        ),
    };
    let Description { unit, text } = store.description(kind, name);
    metric
        .with_description(text)
        .with_unit(unit.map(ucum).unwrap_or_default())
}

fn with_labels<P>(point: P, labels: Vec<(String, String)>, add: fn(P, String, String) -> P) -> P {
    labels.into_iter().fold(point, |p, (k, v)| add(p, k, v))
}

/// The clock's origin (the cumulative start) and the time of the last record, as wall times.
fn span(records: &[Record]) -> (SystemTime, SystemTime) {
    let last = records.last().map_or(SystemTime::UNIX_EPOCH, |r| r.wall);
    let start = records
        .first()
        .and_then(|r| r.wall.checked_sub(r.at))
        .unwrap_or(last);
    (start, last)
}

/// The UCUM spelling OTLP expects for a `metrics` unit.
fn ucum(unit: Unit) -> String {
    match unit {
        Unit::Count => "1",
        Unit::Percent => "%",
        Unit::Seconds => "s",
        Unit::Milliseconds => "ms",
        Unit::Microseconds => "us",
        Unit::Nanoseconds => "ns",
        Unit::Tebibytes => "TiBy",
        Unit::Gibibytes => "GiBy",
        Unit::Mebibytes => "MiBy",
        Unit::Kibibytes => "KiBy",
        Unit::Bytes => "By",
        Unit::TerabitsPerSecond => "Tbit/s",
        Unit::GigabitsPerSecond => "Gbit/s",
        Unit::MegabitsPerSecond => "Mbit/s",
        Unit::KilobitsPerSecond => "kbit/s",
        Unit::BitsPerSecond => "bit/s",
        Unit::CountPerSecond => "1/s",
    }
    .to_owned()
}
