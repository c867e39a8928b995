//! Decoding OTLP/HTTP JSON metrics exports (`ExportMetricsServiceRequest`) into
//! steadfast-tracing-core [`Metric`]s: sums, gauges and explicit-bucket histograms.
//!
//! What the OTLP data model requires is checked, not only the JSON's shape: each metric has a
//! name and exactly one data kind, a sum or histogram says whether it is delta or cumulative, a
//! number point has exactly one of `asInt` and `asDouble`, and a histogram point has one bucket
//! count more than it has bounds, strictly increasing bounds, and bucket counts that add up to its
//! `count`. Exponential histograms and summaries are checked the same way (names, attributes,
//! times, counts and doubles) and accepted, but steadfast-tracing-core has no type for them, so
//! they are left out of the decoded list; the journal keeps the body as it came.

use serde_json::{Map, Value as Json};
use steadfast_tracing_core::otlp_metrics::{
    HistogramPoint, Metric, MetricData, Number, NumberPoint, Temporality,
};

use super::{
    attributes, double, each_item, integer, object_of, optional, optional_array, path, signed,
    text, time, unix_time,
};

/// The data kinds a metric may have, as the OTLP JSON names them.
const KINDS: [&str; 5] = [
    "sum",
    "gauge",
    "histogram",
    "exponentialHistogram",
    "summary",
];

/// Decodes an `ExportMetricsServiceRequest`: every sum, gauge and histogram, in order.
///
/// The error says what was wrong and where, as a JSON path such as
/// `resourceMetrics[0].scopeMetrics[0].metrics[1].sum.dataPoints[0].asInt`.
pub(crate) fn decode(body: &[u8]) -> Result<Vec<Metric>, String> {
    let mut metrics = Vec::new();
    each_item(
        body,
        ["resourceMetrics", "scopeMetrics", "metrics"],
        |metric, at| {
            metrics.extend(decode_metric(metric, at)?);
            Ok(())
        },
    )?;
    Ok(metrics)
}

/// One metric; `None` for a valid exponential histogram or summary, which has no type here.
fn decode_metric(json: &Json, at: &str) -> Result<Option<Metric>, String> {
    let object = object_of(json, at)?;
    let name = text(object, "name", at)?;
    if name.is_empty() {
        return Err(format!("{at}.name: a metric needs a name"));
    }
    let present: Vec<&str> = KINDS
        .into_iter()
        .filter(|kind| object.get(*kind).is_some_and(|v| !v.is_null()))
        .collect();
    let [kind] = present[..] else {
        return Err(format!(
            "{at}: a metric needs exactly one of {}, found {}",
            KINDS.join(", "),
            present.len()
        ));
    };
    let at = format!("{at}.{kind}");
    let data = object_of(&object[kind], &at)?;
    let points = optional_array(data, "dataPoints", &at)?;
    let point_at = |i: usize| format!("{at}.dataPoints[{i}]");
    let data = match kind {
        "sum" => MetricData::Sum {
            points: collect(points, point_at, number_point)?,
            temporality: temporality(data, &at)?,
            monotonic: match data.get("isMonotonic") {
                None | Some(Json::Null) => false,
                Some(Json::Bool(monotonic)) => *monotonic,
                Some(other) => return Err(format!("{at}.isMonotonic: not a boolean: {other}")),
            },
        },
        "gauge" => MetricData::Gauge {
            points: collect(points, point_at, number_point)?,
        },
        "histogram" => MetricData::Histogram {
            points: collect(points, point_at, histogram_point)?,
            temporality: temporality(data, &at)?,
        },
        _ => {
            collect(points, point_at, check_other_point)?;
            return Ok(None);
        }
    };
    Ok(Some(Metric {
        name: name.to_string(),
        description: text(object, "description", &at)?.to_string(),
        unit: text(object, "unit", &at)?.to_string(),
        data,
    }))
}

/// Decodes each point with `decode`, naming it by its index.
fn collect<T>(
    points: &[Json],
    at: impl Fn(usize) -> String,
    decode: impl Fn(&Map<String, Json>, &str) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    points
        .iter()
        .enumerate()
        .map(|(i, point)| {
            let at = at(i);
            decode(object_of(point, &at)?, &at)
        })
        .collect()
}

/// A sum's or histogram's `aggregationTemporality`: delta (1) or cumulative (2), as a number or
/// its enum name. Unspecified (0, or left out as proto3 omits zeros) is an error: the data
/// model says it must not be used.
fn temporality(data: &Map<String, Json>, at: &str) -> Result<Temporality, String> {
    let at = path(at, "aggregationTemporality");
    let code = match data.get("aggregationTemporality") {
        None | Some(Json::Null) => 0,
        Some(Json::String(name)) => match name.as_str() {
            "AGGREGATION_TEMPORALITY_UNSPECIFIED" => 0,
            "AGGREGATION_TEMPORALITY_DELTA" => 1,
            "AGGREGATION_TEMPORALITY_CUMULATIVE" => 2,
            _ => return Err(format!("{at}: unknown temporality {name:?}")),
        },
        Some(code) => integer(code, &at)?,
    };
    match code {
        1 => Ok(Temporality::Delta),
        2 => Ok(Temporality::Cumulative),
        0 => Err(format!(
            "{at}: unspecified; a sum or histogram is delta (1) or cumulative (2)"
        )),
        other => Err(format!("{at}: unknown temporality {other}")),
    }
}

/// A sum or gauge point: its value in exactly one of `asInt` and `asDouble`. A start time that
/// is there, even zero, is kept; one left out is `None`.
fn number_point(object: &Map<String, Json>, at: &str) -> Result<NumberPoint, String> {
    let value = match (object.get("asInt"), object.get("asDouble")) {
        (Some(int), None) => Number::Int(signed(int, &path(at, "asInt"))?),
        (None, Some(value)) => Number::Double(double(value, &path(at, "asDouble"))?),
        _ => {
            return Err(format!(
                "{at}: a point needs exactly one of asInt and asDouble"
            ));
        }
    };
    Ok(NumberPoint {
        attributes: attributes(object, at)?,
        start: optional(object, "startTimeUnixNano", at, unix_time)?,
        time: time(object, "timeUnixNano", at)?,
        value,
    })
}

fn histogram_point(object: &Map<String, Json>, at: &str) -> Result<HistogramPoint, String> {
    let count = optional(object, "count", at, integer)?.unwrap_or(0);
    let bucket_counts = optional_array(object, "bucketCounts", at)?
        .iter()
        .enumerate()
        .map(|(b, count)| integer(count, &format!("{at}.bucketCounts[{b}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let explicit_bounds = optional_array(object, "explicitBounds", at)?
        .iter()
        .enumerate()
        .map(|(b, bound)| double(bound, &format!("{at}.explicitBounds[{b}]")))
        .collect::<Result<Vec<_>, _>>()?;
    check_buckets(count, &bucket_counts, &explicit_bounds, at)?;
    Ok(HistogramPoint {
        attributes: attributes(object, at)?,
        start: time(object, "startTimeUnixNano", at)?,
        time: time(object, "timeUnixNano", at)?,
        count,
        sum: optional(object, "sum", at, double)?.unwrap_or(0.0),
        bucket_counts,
        explicit_bounds,
        min: optional(object, "min", at, double)?,
        max: optional(object, "max", at, double)?,
    })
}

/// The data model's rules for explicit buckets: none at all, or one count more than there are
/// bounds; bounds strictly increasing; counts adding up to the point's `count`.
fn check_buckets(count: u64, counts: &[u64], bounds: &[f64], at: &str) -> Result<(), String> {
    if counts.is_empty() {
        return if bounds.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{at}: {} explicitBounds but no bucketCounts",
                bounds.len()
            ))
        };
    }
    if counts.len() != bounds.len() + 1 {
        return Err(format!(
            "{at}: {} bucketCounts for {} explicitBounds; there must be one more count than bounds",
            counts.len(),
            bounds.len()
        ));
    }
    if let Some(b) = bounds.iter().position(|bound| bound.is_nan()) {
        return Err(format!("{at}.explicitBounds[{b}]: NaN is no bound"));
    }
    if let Some(b) = bounds.windows(2).position(|pair| pair[0] >= pair[1]) {
        return Err(format!(
            "{at}.explicitBounds[{}]: {} does not follow {}; bounds must strictly increase",
            b + 1,
            bounds[b + 1],
            bounds[b]
        ));
    }
    let total = counts
        .iter()
        .try_fold(0u64, |total, &count| total.checked_add(count));
    if total != Some(count) {
        return Err(format!(
            "{at}: the bucketCounts add up to {}, not to count {count}",
            total.map_or_else(|| "more than 2^64".to_string(), |total| total.to_string())
        ));
    }
    Ok(())
}

/// An exponential histogram or summary point: attributes, times, `count` and the doubles
/// `sum`, `min` and `max` are checked.
fn check_other_point(object: &Map<String, Json>, at: &str) -> Result<(), String> {
    attributes(object, at)?;
    time(object, "startTimeUnixNano", at)?;
    time(object, "timeUnixNano", at)?;
    optional(object, "count", at, integer)?;
    for field in ["sum", "min", "max"] {
        optional(object, field, at, double)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::{Duration, SystemTime};
    use steadfast_tracing_core::otlp::Resource;
    use steadfast_tracing_core::otlp_metrics::encode_metrics_request;
    use steadfast_tracing_core::span::{KeyValue, Value, system_time_from_unix_nanos};

    fn at(nanos: u64) -> SystemTime {
        system_time_from_unix_nanos(nanos)
    }

    #[test]
    fn every_kind_tracing_core_encodes_decodes_to_the_same_metric() {
        let start = at(1_700_000_000_000_000_000);
        let end = start + Duration::from_secs(10);
        let metrics = vec![
            Metric::sum(
                "requests",
                vec![
                    NumberPoint::int(end, 3)
                        .with_start(start)
                        .with_attribute("route", "/"),
                ],
                true,
            )
            .with_description("requests served")
            .with_unit("{request}"),
            Metric::sum("in.flight", vec![NumberPoint::int(end, -2)], false),
            Metric::gauge("open", vec![NumberPoint::double(end, f64::INFINITY)]),
            Metric::histogram(
                "latency",
                vec![HistogramPoint::from_samples(
                    start,
                    end,
                    &[0.1, 2.0, 0.7],
                    &[0.5, 1.0],
                )],
            )
            .with_unit("s"),
        ];
        let body = encode_metrics_request(&Resource::new("svc"), &metrics);

        assert_eq!(decode(body.as_bytes()), Ok(metrics));
    }

    #[test]
    fn names_strings_and_left_out_fields_decode_as_the_mapping_says() {
        let body = r#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[
            {"name":"c","sum":{"aggregationTemporality":"AGGREGATION_TEMPORALITY_DELTA",
              "dataPoints":[{"asInt":"-9","timeUnixNano":"5","startTimeUnixNano":"0"}]}},
            {"name":"h","histogram":{"aggregationTemporality":2,
              "dataPoints":[{"count":"3","bucketCounts":["1",2],"explicitBounds":["2.5"]}]}},
            {"name":"e","exponentialHistogram":{"aggregationTemporality":2,
              "dataPoints":[{"count":4,"sum":"NaN","scale":1}]}}]}]}]}"#;

        let metrics = decode(body.as_bytes()).unwrap();

        assert_eq!(metrics.len(), 2, "the exponential histogram is left out");
        let MetricData::Sum {
            points,
            temporality,
            monotonic,
        } = &metrics[0].data
        else {
            panic!("not a sum: {:?}", metrics[0]);
        };
        assert_eq!((*temporality, *monotonic), (Temporality::Delta, false));
        assert_eq!(points[0].value, Number::Int(-9));
        assert_eq!((points[0].start, points[0].time), (Some(at(0)), at(5)));
        let MetricData::Histogram { points, .. } = &metrics[1].data else {
            panic!("not a histogram: {:?}", metrics[1]);
        };
        assert_eq!((points[0].count, points[0].sum), (3, 0.0));
        assert_eq!(points[0].bucket_counts, [1, 2]);
        assert_eq!(points[0].explicit_bounds, [2.5]);
        assert_eq!((points[0].min, points[0].max), (None, None));
    }

    #[test]
    fn what_the_data_model_forbids_is_an_error_naming_its_json_path() {
        let decode_one = |metric: &str| {
            let body =
                format!(r#"{{"resourceMetrics":[{{"scopeMetrics":[{{"metrics":[{metric}]}}]}}]}}"#);
            decode(body.as_bytes()).unwrap_err()
        };
        let at = "resourceMetrics[0].scopeMetrics[0].metrics[0]";
        let histogram = |point: &str| {
            decode_one(&format!(
                r#"{{"name":"h","histogram":{{"aggregationTemporality":2,"dataPoints":[{point}]}}}}"#
            ))
        };
        assert_eq!(
            decode_one(r#"{"name":"x","gauge":{"dataPoints":[{"asInt":"ten"}]}}"#),
            format!("{at}.gauge.dataPoints[0].asInt: not a 64-bit integer: \"ten\"")
        );
        assert_eq!(
            decode_one(r#"{"name":"x","sum":{"dataPoints":[]}}"#),
            format!(
                "{at}.sum.aggregationTemporality: unspecified; a sum or histogram is delta (1) or cumulative (2)"
            )
        );
        assert!(decode_one(r#"{"name":"x"}"#).ends_with("found 0"));
        assert!(decode_one(r#"{"name":"x","sum":{},"gauge":{}}"#).ends_with("found 2"));
        assert_eq!(
            decode_one(r#"{"sum":{}}"#),
            format!("{at}.name: a metric needs a name")
        );
        assert_eq!(
            decode_one(r#"{"name":"g","gauge":{"dataPoints":[{"asInt":1,"asDouble":1}]}}"#),
            format!("{at}.gauge.dataPoints[0]: a point needs exactly one of asInt and asDouble")
        );
        assert_eq!(
            histogram(r#"{"count":1,"bucketCounts":[1,"x"],"explicitBounds":[1]}"#),
            format!(
                "{at}.histogram.dataPoints[0].bucketCounts[1]: not a non-negative integer: \"x\""
            )
        );
        assert_eq!(
            histogram(r#"{"count":1,"bucketCounts":[1],"explicitBounds":[1]}"#),
            format!(
                "{at}.histogram.dataPoints[0]: 1 bucketCounts for 1 explicitBounds; there must be one more count than bounds"
            )
        );
        assert_eq!(
            histogram(r#"{"count":0,"bucketCounts":[0,0,0],"explicitBounds":[2,2]}"#),
            format!(
                "{at}.histogram.dataPoints[0].explicitBounds[1]: 2 does not follow 2; bounds must strictly increase"
            )
        );
        assert_eq!(
            histogram(r#"{"count":0,"bucketCounts":[0,0],"explicitBounds":["NaN"]}"#),
            format!("{at}.histogram.dataPoints[0].explicitBounds[0]: NaN is no bound")
        );
        assert_eq!(
            histogram(r#"{"count":4,"bucketCounts":[1,2],"explicitBounds":[1]}"#),
            format!("{at}.histogram.dataPoints[0]: the bucketCounts add up to 3, not to count 4")
        );
        assert_eq!(
            histogram(r#"{"count":1,"explicitBounds":[1]}"#),
            format!("{at}.histogram.dataPoints[0]: 1 explicitBounds but no bucketCounts")
        );
        assert_eq!(
            histogram(&format!(
                r#"{{"count":1,"bucketCounts":[{max},1],"explicitBounds":[1]}}"#,
                max = u64::MAX
            )),
            format!(
                "{at}.histogram.dataPoints[0]: the bucketCounts add up to more than 2^64, not to count 1"
            )
        );
    }

    fn arb_attributes() -> impl Strategy<Value = Vec<KeyValue>> {
        proptest::collection::vec(
            (any::<String>(), any::<i64>()).prop_map(|(key, value)| KeyValue {
                key,
                value: Value::Int(value),
            }),
            0..3,
        )
    }

    prop_compose! {
        fn arb_number_point()(attributes in arb_attributes(),
                              start in proptest::option::of(0u64..4_000_000_000_000_000_000),
                              time in 0u64..4_000_000_000_000_000_000,
                              int in proptest::option::of(any::<i64>()),
                              float in any::<f64>()) -> NumberPoint {
            NumberPoint {
                attributes,
                start: start.map(at),
                time: at(time),
                value: int.map_or(Number::Double(float), Number::Int),
            }
        }
    }

    prop_compose! {
        fn arb_histogram_point()(attributes in arb_attributes(),
                                 start in 0u64..4_000_000_000_000_000_000,
                                 length in 0u64..1_000_000_000_000,
                                 samples in proptest::collection::vec(-1e9f64..1e9, 0..20),
                                 mut bounds in proptest::collection::btree_set(-1_000_000i64..1_000_000, 0..5),
                                 keep_min_max in any::<bool>()) -> HistogramPoint {
            let bounds: Vec<f64> = std::mem::take(&mut bounds).into_iter().map(|b| b as f64 / 8.0).collect();
            let mut point = HistogramPoint::from_samples(at(start), at(start) + Duration::from_nanos(length), &samples, &bounds);
            point.attributes = attributes;
            if !keep_min_max {
                (point.min, point.max) = (None, None);
            }
            point
        }
    }

    fn arb_metric() -> impl Strategy<Value = Metric> {
        let name = "[a-z][a-z.]{0,12}";
        prop_oneof![
            (
                name,
                proptest::collection::vec(arb_number_point(), 0..3),
                any::<bool>()
            )
                .prop_map(|(name, points, monotonic)| Metric::sum(name, points, monotonic)),
            (name, proptest::collection::vec(arb_number_point(), 0..3))
                .prop_map(|(name, points)| Metric::gauge(name, points)),
            (
                name,
                proptest::collection::vec(arb_histogram_point(), 0..3),
                any::<String>()
            )
                .prop_map(|(name, points, unit)| Metric::histogram(name, points).with_unit(unit)),
        ]
    }

    /// NaN is not equal to itself: compare the encodings, which spell it `"NaN"`.
    fn encoded(metrics: &[Metric]) -> String {
        encode_metrics_request(&Resource::new("svc"), metrics)
    }

    proptest! {
        #[test]
        fn decoding_inverts_tracing_core_encoding(metrics in proptest::collection::vec(arb_metric(), 0..4)) {
            let body = encoded(&metrics);
            let decoded = decode(body.as_bytes()).map_err(TestCaseError::fail)?;
            prop_assert_eq!(encoded(&decoded), body);
            prop_assert_eq!(decoded.len(), metrics.len());
        }
    }
}
