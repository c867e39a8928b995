//! The captured metrics as OTLP JSON, read back by an independent decoder
//! (`opentelemetry-proto`'s serde mapping).

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as PValue;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as PNumber;
use steadfast_determinism::{Clock, Seed, TestContext};
use steadfast_metrics::Captured;
use steadfast_tracing_core::otlp::Resource;

use crate::install;

/// A test that records a counter, a gauge and a histogram on its manual clock.
pub(crate) fn recorded(name: &str) -> Arc<TestContext> {
    install();
    let ctx = Arc::new(TestContext::new(name, Seed::new(21)));
    ctx.scope(|| {
        metrics::describe_histogram!("catchup.duration", metrics::Unit::Seconds, "catch-up time");
        metrics::counter!("sse.events.emitted", "tenant" => "a").increment(7);
        metrics::counter!("sse.events.emitted", "tenant" => "b").increment(2);
        metrics::gauge!("sse.connections.active").set(3.0);
        for ms in [5, 20, 120] {
            ctx.clock().advance(Duration::from_millis(ms));
            metrics::histogram!("catchup.duration").record(Duration::from_millis(ms));
        }
    });
    ctx
}

fn nanos(time: std::time::SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

#[test]
fn an_independent_otlp_decoder_reads_back_sums_gauges_and_histograms() {
    let ctx = recorded("otlp::decode");
    let body = Captured::of(&ctx).otlp_json(&Resource::new("sse"));
    let request: ExportMetricsServiceRequest =
        serde_json::from_str(&body).expect("opentelemetry-proto decodes our JSON");
    let metrics = &request.resource_metrics[0].scope_metrics[0].metrics;
    let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "sse.events.emitted",
            "sse.connections.active",
            "catchup.duration"
        ]
    );
    let origin = nanos(ctx.clock().now()) - 145_000_000;

    let Some(Data::Sum(sum)) = &metrics[0].data else {
        panic!("counter decoded as {:?}", metrics[0].data)
    };
    assert!(sum.is_monotonic);
    assert_eq!(sum.aggregation_temporality, 2);
    let points: Vec<(String, Option<PNumber>, u64)> = sum
        .data_points
        .iter()
        .map(|p| {
            let label = match p.attributes[0].value.as_ref().and_then(|v| v.value.clone()) {
                Some(PValue::StringValue(s)) => format!("{}={s}", p.attributes[0].key),
                other => panic!("label decoded as {other:?}"),
            };
            (label, p.value, p.start_time_unix_nano)
        })
        .collect();
    assert_eq!(
        points,
        vec![
            ("tenant=a".into(), Some(PNumber::AsInt(7)), origin),
            ("tenant=b".into(), Some(PNumber::AsInt(2)), origin)
        ]
    );

    let Some(Data::Gauge(gauge)) = &metrics[1].data else {
        panic!("gauge decoded as {:?}", metrics[1].data)
    };
    assert_eq!(gauge.data_points[0].value, Some(PNumber::AsDouble(3.0)));
    assert_eq!(gauge.data_points[0].time_unix_nano, origin);

    let histogram = &metrics[2];
    assert_eq!(
        (histogram.unit.as_str(), histogram.description.as_str()),
        ("s", "catch-up time")
    );
    let Some(Data::Histogram(h)) = &histogram.data else {
        panic!("histogram decoded as {:?}", histogram.data)
    };
    let p = &h.data_points[0];
    assert_eq!((p.count, p.min, p.max), (3, Some(0.005), Some(0.12)));
    assert_eq!(p.sum, Some(0.005 + 0.02 + 0.12));
    assert_eq!(
        p.explicit_bounds,
        steadfast_metrics::otlp::DEFAULT_BOUNDS.to_vec()
    );
    // Seconds: all three fall at or below the bound 5.0… and above 0.0.
    assert_eq!(p.bucket_counts[..3], [0, 3, 0]);
    assert_eq!(p.bucket_counts.iter().sum::<u64>(), 3);
    assert_eq!(
        (p.start_time_unix_nano, p.time_unix_nano),
        (origin, origin + 145_000_000)
    );
}

#[test]
fn a_test_that_recorded_nothing_exports_no_metrics() {
    install();
    let ctx = Arc::new(TestContext::new("otlp::empty", Seed::new(1)));
    let body = Captured::of(&ctx).otlp_json(&Resource::new("empty"));
    let request: ExportMetricsServiceRequest = serde_json::from_str(&body).unwrap();
    assert!(
        request.resource_metrics[0].scope_metrics[0]
            .metrics
            .is_empty()
    );
}
