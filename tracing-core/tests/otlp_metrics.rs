//! OTLP JSON metrics: our encoding read back by an independent decoder
//! (`opentelemetry-proto`'s serde mapping), field by field.

use std::time::{Duration, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as PNumber;
use steadfast_tracing_core::otlp::Resource;
use steadfast_tracing_core::otlp_metrics::{
    HistogramPoint, Metric, MetricData, NumberPoint, Temporality, encode_metrics_request,
};

#[test]
fn an_independent_decoder_reads_back_every_metric_field() {
    let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let end = start + Duration::from_millis(1500);
    let mut delta = Metric::histogram(
        "rpc.duration",
        vec![
            HistogramPoint::from_samples(start, end, &[3.0, 30.0, 300.0], &[10.0, 100.0])
                .with_attribute("rpc.method", "Get"),
        ],
    )
    .with_unit("ms")
    .with_description("quote \" and newline \n");
    if let MetricData::Histogram { temporality, .. } = &mut delta.data {
        *temporality = Temporality::Delta;
    }
    let metrics = [
        Metric::sum(
            "queue.depth",
            vec![NumberPoint::int(end, -4).with_start(start)],
            false,
        ),
        Metric::gauge(
            "cpu.ratio",
            vec![
                NumberPoint::double(end, 0.25).with_attribute("core", 1),
                // Not NaN: protobuf JSON spells it "NaN", which opentelemetry-proto's serde
                // mapping skips (the unit tests pin our spelling).
                NumberPoint::double(end, -1.5e-3),
            ],
        ),
        delta,
    ];
    let json = encode_metrics_request(&Resource::new("svc"), &metrics);
    let request: ExportMetricsServiceRequest =
        serde_json::from_str(&json).expect("opentelemetry-proto decodes our JSON");
    let scope = &request.resource_metrics[0].scope_metrics[0];
    assert_eq!(
        scope.scope.as_ref().map(|s| s.name.as_str()),
        Some("steadfast-tracing-core")
    );
    let decoded = &scope.metrics;

    let Some(Data::Sum(sum)) = &decoded[0].data else {
        panic!("{:?}", decoded[0].data)
    };
    assert!(!sum.is_monotonic);
    assert_eq!(sum.aggregation_temporality, 2);
    let point = &sum.data_points[0];
    assert_eq!(point.value, Some(PNumber::AsInt(-4)));
    assert_eq!(
        (point.start_time_unix_nano, point.time_unix_nano),
        (1_700_000_000_000_000_000, 1_700_000_001_500_000_000)
    );

    let Some(Data::Gauge(gauge)) = &decoded[1].data else {
        panic!("{:?}", decoded[1].data)
    };
    assert_eq!(gauge.data_points[0].value, Some(PNumber::AsDouble(0.25)));
    assert_eq!(gauge.data_points[0].attributes[0].key, "core");
    assert_eq!(gauge.data_points[1].value, Some(PNumber::AsDouble(-1.5e-3)));

    let histogram = &decoded[2];
    assert_eq!(histogram.unit, "ms");
    assert_eq!(histogram.description, "quote \" and newline \n");
    let Some(Data::Histogram(h)) = &histogram.data else {
        panic!("{:?}", histogram.data)
    };
    assert_eq!(h.aggregation_temporality, 1);
    let p = &h.data_points[0];
    assert_eq!(p.count, 3);
    assert_eq!(p.sum, Some(333.0));
    assert_eq!(p.bucket_counts, vec![1, 1, 1]);
    assert_eq!(p.explicit_bounds, vec![10.0, 100.0]);
    assert_eq!((p.min, p.max), (Some(3.0), Some(300.0)));
    assert_eq!(p.attributes[0].key, "rpc.method");
}
