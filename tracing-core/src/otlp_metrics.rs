//! OTLP/HTTP JSON encoding of `ExportMetricsServiceRequest`, by hand: sums
//! (counters and up-down counters), gauges and explicit-bucket histograms.
//!
//! Plain data in, one JSON body out, following the same OTLP JSON mapping as
//! [`otlp`](crate::otlp) for traces: lowerCamelCase field names, enums as
//! integers, times as decimal strings, doubles as JSON numbers (`"NaN"` and
//! `"Infinity"` as strings). POST the body to a collector's `/v1/metrics`.
//!
//! The integer values (`asInt`, `count`, `bucketCounts`) are JSON numbers,
//! not the strings the mapping writes for 64-bit integers: the mapping has
//! parsers accept both, and the rotel collector (0.0.1a15) reads only
//! numbers there, silently dropping a string `asInt` or `count`. Values
//! above 2^53 are exact for Rust and Go decoders, not for JavaScript ones.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use steadfast_tracing_core::otlp::Resource;
//! use steadfast_tracing_core::otlp_metrics::{
//!     HistogramPoint, Metric, NumberPoint, encode_metrics_request,
//! };
//!
//! let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let end = start + Duration::from_secs(10);
//! let metrics = [
//!     Metric::sum("sse.events.emitted", vec![NumberPoint::int(end, 10).with_start(start)], true),
//!     Metric::gauge("sse.active", vec![NumberPoint::double(end, 3.0)]),
//!     Metric::histogram(
//!         "catchup.duration",
//!         vec![HistogramPoint::from_samples(start, end, &[0.1, 0.2, 0.9], &[0.25, 0.5])],
//!     )
//!     .with_unit("s"),
//! ];
//! let json = encode_metrics_request(&Resource::new("sse"), &metrics);
//! assert!(json.starts_with(r#"{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name""#));
//! assert!(json.contains(r#""asInt":10"#));
//! assert!(json.contains(r#""bucketCounts":[2,0,1],"explicitBounds":[0.25,0.5]"#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt::Write as _;
use std::time::SystemTime;

use crate::otlp::{Resource, SCOPE_NAME, attributes, string};
use crate::span::{KeyValue, Value, unix_nanos};

/// How the points of a sum or histogram aggregate over time. The OTLP
/// numbers are in [`Temporality::otlp_code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Temporality {
    /// Each point covers the time since the previous point.
    Delta,
    /// Each point covers the time since a fixed start (default): what a
    /// counter read at the end of a test is.
    #[default]
    Cumulative,
}

impl Temporality {
    /// The OTLP `AggregationTemporality` enum number (delta 1, cumulative 2).
    pub const fn otlp_code(self) -> u8 {
        match self {
            Temporality::Delta => 1,
            Temporality::Cumulative => 2,
        }
    }
}

/// The value of a sum or gauge point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// An integer (`asInt`).
    Int(i64),
    /// A float (`asDouble`).
    Double(f64),
}

/// One point of a sum or a gauge.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberPoint {
    /// The point's attributes (a metric's labels).
    pub attributes: Vec<KeyValue>,
    /// Start of the aggregation (sums); `None` omits it.
    pub start: Option<SystemTime>,
    /// When the value was observed.
    pub time: SystemTime,
    /// The value.
    pub value: Number,
}

impl NumberPoint {
    /// An integer point at `time`.
    pub fn int(time: SystemTime, value: i64) -> Self {
        Self {
            attributes: Vec::new(),
            start: None,
            time,
            value: Number::Int(value),
        }
    }

    /// A float point at `time`.
    pub fn double(time: SystemTime, value: f64) -> Self {
        Self {
            value: Number::Double(value),
            ..Self::int(time, 0)
        }
    }

    /// Sets the start of the aggregation.
    #[must_use]
    pub fn with_start(mut self, start: SystemTime) -> Self {
        self.start = Some(start);
        self
    }

    /// Adds an attribute.
    #[must_use]
    pub fn with_attribute(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.attributes.push(KeyValue::new(key, value));
        self
    }
}

/// One point of an explicit-bucket histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramPoint {
    /// The point's attributes (a metric's labels).
    pub attributes: Vec<KeyValue>,
    /// Start of the aggregation.
    pub start: SystemTime,
    /// When the point was taken.
    pub time: SystemTime,
    /// How many values were recorded.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// Values per bucket: one more entry than `explicit_bounds`; bucket `i`
    /// holds values in `(bounds[i-1], bounds[i]]`, the last one those above
    /// every bound.
    pub bucket_counts: Vec<u64>,
    /// Upper bounds of the buckets, ascending.
    pub explicit_bounds: Vec<f64>,
    /// The smallest value, if known.
    pub min: Option<f64>,
    /// The largest value, if known.
    pub max: Option<f64>,
}

impl HistogramPoint {
    /// The point of `samples` over `bounds` (ascending upper bounds), with
    /// count, sum, min and max computed from the samples. NaN samples are
    /// left out, as they fall in no bucket.
    pub fn from_samples(
        start: SystemTime,
        time: SystemTime,
        samples: &[f64],
        bounds: &[f64],
    ) -> Self {
        let mut bucket_counts = vec![0; bounds.len() + 1];
        let (mut count, mut sum) = (0, 0.0);
        let (mut min, mut max): (Option<f64>, Option<f64>) = (None, None);
        for &v in samples.iter().filter(|v| !v.is_nan()) {
            // The first bound at or above the value; past every bound, the overflow bucket.
            let bucket = bounds.partition_point(|&bound| bound < v);
            bucket_counts[bucket] += 1;
            count += 1;
            sum += v;
            min = Some(min.map_or(v, |m| m.min(v)));
            max = Some(max.map_or(v, |m| m.max(v)));
        }
        Self {
            attributes: Vec::new(),
            start,
            time,
            count,
            sum,
            bucket_counts,
            explicit_bounds: bounds.to_vec(),
            min,
            max,
        }
    }

    /// Adds an attribute.
    #[must_use]
    pub fn with_attribute(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.attributes.push(KeyValue::new(key, value));
        self
    }
}

/// What a metric carries: one of the OTLP data kinds.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MetricData {
    /// A sum: counters (`monotonic`) and up-down counters.
    Sum {
        /// The points, one per attribute set.
        points: Vec<NumberPoint>,
        /// Delta or cumulative.
        temporality: Temporality,
        /// True for a sum that only grows (a counter).
        monotonic: bool,
    },
    /// The last observed values.
    Gauge {
        /// The points.
        points: Vec<NumberPoint>,
    },
    /// Explicit-bucket histograms.
    Histogram {
        /// The points, one per attribute set.
        points: Vec<HistogramPoint>,
        /// Delta or cumulative.
        temporality: Temporality,
    },
}

/// One metric: a name, its description and unit, and its points.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// The metric's name, such as `http.server.request.duration`.
    pub name: String,
    /// What it measures; empty for none.
    pub description: String,
    /// Its unit (UCUM, such as `s` or `By`); empty for none.
    pub unit: String,
    /// The points.
    pub data: MetricData,
}

impl Metric {
    fn new(name: impl Into<String>, data: MetricData) -> Self {
        Self {
            name: name.into(),
            description: String::new(),
            unit: String::new(),
            data,
        }
    }

    /// A cumulative sum; `monotonic` for a counter, not for an up-down counter.
    pub fn sum(name: impl Into<String>, points: Vec<NumberPoint>, monotonic: bool) -> Self {
        Self::new(
            name,
            MetricData::Sum {
                points,
                temporality: Temporality::Cumulative,
                monotonic,
            },
        )
    }

    /// A gauge.
    pub fn gauge(name: impl Into<String>, points: Vec<NumberPoint>) -> Self {
        Self::new(name, MetricData::Gauge { points })
    }

    /// A cumulative histogram.
    pub fn histogram(name: impl Into<String>, points: Vec<HistogramPoint>) -> Self {
        Self::new(
            name,
            MetricData::Histogram {
                points,
                temporality: Temporality::Cumulative,
            },
        )
    }

    /// Sets the description.
    #[must_use]
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Sets the unit.
    #[must_use]
    pub fn with_unit(mut self, unit: impl Into<String>) -> Self {
        self.unit = unit.into();
        self
    }
}

/// Encodes one `ExportMetricsServiceRequest` holding `metrics` under one
/// resource and one scope.
pub fn encode_metrics_request(resource: &Resource, metrics: &[Metric]) -> String {
    let mut out = String::with_capacity(256 + metrics.len() * 256);
    out.push_str(r#"{"resourceMetrics":[{"resource":{"attributes":"#);
    attributes(&resource.attributes, &mut out);
    out.push_str(r#"},"scopeMetrics":[{"scope":{"name":"#);
    string(SCOPE_NAME, &mut out);
    out.push_str(r#","version":"#);
    string(env!("CARGO_PKG_VERSION"), &mut out);
    out.push_str(r#"},"metrics":["#);
    for (i, m) in metrics.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        metric(m, &mut out);
    }
    out.push_str("]}]}]}");
    out
}

fn metric(m: &Metric, out: &mut String) {
    out.push_str(r#"{"name":"#);
    string(&m.name, out);
    out.push_str(r#","description":"#);
    string(&m.description, out);
    out.push_str(r#","unit":"#);
    string(&m.unit, out);
    match &m.data {
        MetricData::Sum {
            points,
            temporality,
            monotonic,
        } => {
            out.push_str(r#","sum":{"dataPoints":["#);
            number_points(points, out);
            let _ = write!(
                out,
                r#"],"aggregationTemporality":{},"isMonotonic":{monotonic}}}"#,
                temporality.otlp_code()
            );
        }
        MetricData::Gauge { points } => {
            out.push_str(r#","gauge":{"dataPoints":["#);
            number_points(points, out);
            out.push_str("]}");
        }
        MetricData::Histogram {
            points,
            temporality,
        } => {
            out.push_str(r#","histogram":{"dataPoints":["#);
            for (i, p) in points.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                histogram_point(p, out);
            }
            let _ = write!(
                out,
                r#"],"aggregationTemporality":{}}}"#,
                temporality.otlp_code()
            );
        }
    }
    out.push('}');
}

fn number_points(points: &[NumberPoint], out: &mut String) {
    for (i, p) in points.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r#"{"attributes":"#);
        attributes(&p.attributes, out);
        if let Some(start) = p.start {
            let _ = write!(out, r#","startTimeUnixNano":"{}""#, unix_nanos(start));
        }
        let _ = write!(out, r#","timeUnixNano":"{}","#, unix_nanos(p.time));
        match p.value {
            Number::Int(v) => {
                let _ = write!(out, r#""asInt":{v}"#);
            }
            Number::Double(v) => {
                out.push_str(r#""asDouble":"#);
                double(v, out);
            }
        }
        out.push('}');
    }
}

fn histogram_point(p: &HistogramPoint, out: &mut String) {
    out.push_str(r#"{"attributes":"#);
    attributes(&p.attributes, out);
    let _ = write!(
        out,
        r#","startTimeUnixNano":"{}","timeUnixNano":"{}","count":{},"sum":"#,
        unix_nanos(p.start),
        unix_nanos(p.time),
        p.count
    );
    double(p.sum, out);
    out.push_str(r#","bucketCounts":["#);
    for (i, c) in p.bucket_counts.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{c}");
    }
    out.push_str(r#"],"explicitBounds":["#);
    for (i, &b) in p.explicit_bounds.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        double(b, out);
    }
    out.push(']');
    if let Some(min) = p.min {
        out.push_str(r#","min":"#);
        double(min, out);
    }
    if let Some(max) = p.max {
        out.push_str(r#","max":"#);
        double(max, out);
    }
    out.push('}');
}

/// A double as protobuf JSON spells it: a number, or a string for NaN and
/// the infinities.
fn double(v: f64, out: &mut String) {
    if v.is_nan() {
        out.push_str(r#""NaN""#);
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 {
            r#""Infinity""#
        } else {
            r#""-Infinity""#
        });
    } else {
        let _ = write!(out, "{v:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn samples_fall_in_the_first_bucket_whose_bound_is_at_or_above_them() {
        let p = HistogramPoint::from_samples(
            UNIX_EPOCH,
            UNIX_EPOCH,
            &[0.5, 1.0, 1.5, 7.0, f64::NAN],
            &[1.0, 5.0],
        );
        assert_eq!(p.bucket_counts, vec![2, 1, 1]);
        assert_eq!((p.count, p.sum), (4, 10.0));
        assert_eq!((p.min, p.max), (Some(0.5), Some(7.0)));
    }

    #[test]
    fn non_finite_doubles_are_strings() {
        let mut out = String::new();
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 2.0] {
            double(v, &mut out);
            out.push(' ');
        }
        assert_eq!(out, r#""NaN" "Infinity" "-Infinity" 2.0 "#);
    }
}
