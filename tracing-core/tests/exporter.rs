//! The std::net OTLP/HTTP exporter against a local test collector that
//! answers from a script (503/429 with Retry-After, then 200).

use std::io::{BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use steadfast_tracing_core::ErrorKind;
use steadfast_tracing_core::export::OtlpHttpExporter;
use steadfast_tracing_core::sink::SpanSink;
use steadfast_tracing_core::span::Span;
use steadfast_tracing_core::{SpanId, TraceId};

use crate::tracecontext_service::read_request;

/// A request the collector received: target, headers and body.
type Received = (String, Vec<(String, String)>, String);

struct Collector {
    url: String,
    requests: Receiver<Received>,
}

/// Answers each request with the next scripted status line and headers,
/// then 200 once the script runs out.
fn collector(script: &[&'static str]) -> Collector {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let script: Vec<&'static str> = script.to_vec();
    let (tx, requests) = mpsc::channel();
    std::thread::spawn(move || {
        let mut next = script.into_iter();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Ok(req) = read_request(&mut BufReader::new(stream.try_clone().unwrap())) else {
                continue;
            };
            let body = String::from_utf8(req.body).unwrap();
            if tx.send((req.target, req.headers, body)).is_err() {
                return;
            }
            let head = next.next().unwrap_or("HTTP/1.1 200 OK");
            let _ = write!(
                stream,
                "{head}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
            );
        }
    });
    Collector { url, requests }
}

fn spans(n: u64) -> Vec<Span> {
    (1..=n)
        .map(|i| {
            Span::new(
                TraceId::from_u128(7),
                SpanId::from_u64(i),
                format!("span {i}"),
            )
        })
        .collect()
}

type Delays = Arc<Mutex<Vec<Duration>>>;

fn recorder() -> (Delays, impl Fn(Duration) + Send + Sync + 'static) {
    let delays: Delays = Arc::default();
    let d = delays.clone();
    (delays, move |wait| d.lock().unwrap().push(wait))
}

fn span_count(body: &str) -> usize {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    v["resourceSpans"][0]["scopeSpans"][0]["spans"]
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn retries_503_and_429_honouring_retry_after_then_backing_off_exponentially() {
    let c = collector(&[
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2",
        "HTTP/1.1 429 Too Many Requests",
        "HTTP/1.1 502 Bad Gateway",
    ]);
    let (delays, sleep) = recorder();
    let exporter = OtlpHttpExporter::builder(&c.url)
        .initial_backoff(Duration::from_millis(100))
        .sleep_with(sleep)
        .build()
        .unwrap();
    let report = exporter.export(&spans(3)).unwrap();
    assert_eq!((report.requests, report.spans, report.retries), (1, 3, 3));
    assert_eq!(
        *delays.lock().unwrap(),
        vec![
            Duration::from_secs(2),
            Duration::from_millis(200),
            Duration::from_millis(400)
        ]
    );
    let all: Vec<_> = c.requests.try_iter().collect();
    assert_eq!(all.len(), 4, "three failures, one success");
    let (target, headers, body) = &all[3];
    assert_eq!(target, "/v1/traces");
    assert!(
        headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v == "application/json")
    );
    assert_eq!(span_count(body), 3);
}

#[test]
fn gives_up_after_max_retries_with_the_last_status() {
    let c = collector(&["HTTP/1.1 504 Gateway Timeout"; 10]);
    let (delays, sleep) = recorder();
    let exporter = OtlpHttpExporter::builder(&c.url)
        .max_retries(2)
        .initial_backoff(Duration::from_millis(10))
        .sleep_with(sleep)
        .build()
        .unwrap();
    let err = exporter.export(&spans(1)).unwrap_err();
    assert_eq!(
        (err.kind(), err.status()),
        (ErrorKind::HttpStatus, Some(504))
    );
    assert!(err.to_string().contains("after 3 attempt(s)"), "{err}");
    assert_eq!(delays.lock().unwrap().len(), 2);
    assert_eq!(c.requests.try_iter().count(), 3);
}

#[test]
fn non_retryable_status_fails_at_once() {
    let c = collector(&["HTTP/1.1 400 Bad Request"]);
    let (delays, sleep) = recorder();
    let exporter = OtlpHttpExporter::builder(&c.url)
        .sleep_with(sleep)
        .build()
        .unwrap();
    let err = exporter.export(&spans(1)).unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(delays.lock().unwrap().is_empty());
}

#[test]
fn retry_after_as_an_http_date_waits_until_then_on_the_exporters_clock() {
    let c = collector(&[
        // 7 s after the clock below, in the preferred form.
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: Sun, 06 Nov 1994 08:49:37 GMT",
        // 1 min after it, in the obsolete asctime form.
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: Sun Nov  6 08:50:30 1994",
        // Already past: retry at once.
        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: Sun, 06 Nov 1994 08:00:00 GMT",
        // Not a date: the exponential backoff (fourth retry: 100 ms doubled
        // three times).
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: soon",
    ]);
    let (delays, sleep) = recorder();
    let now = UNIX_EPOCH + Duration::from_secs(784_111_770); // 1994-11-06T08:49:30Z
    let exporter = OtlpHttpExporter::builder(&c.url)
        .initial_backoff(Duration::from_millis(100))
        .max_backoff(Duration::from_secs(120))
        .sleep_with(sleep)
        .now_with(move || now)
        .build()
        .unwrap();
    let report = exporter.export(&spans(1)).unwrap();
    assert_eq!(report.retries, 4);
    assert_eq!(
        *delays.lock().unwrap(),
        vec![
            Duration::from_secs(7),
            Duration::from_secs(60),
            Duration::ZERO,
            Duration::from_millis(800)
        ]
    );
}

#[test]
fn retry_after_is_capped_by_the_max_backoff() {
    let c = collector(&["HTTP/1.1 503 Service Unavailable\r\nRetry-After: 3600"]);
    let (delays, sleep) = recorder();
    let exporter = OtlpHttpExporter::builder(&c.url)
        .max_backoff(Duration::from_secs(5))
        .sleep_with(sleep)
        .build()
        .unwrap();
    exporter.export(&spans(1)).unwrap();
    assert_eq!(*delays.lock().unwrap(), vec![Duration::from_secs(5)]);
}

#[test]
fn spans_are_sent_in_batches_and_the_sink_flushes_the_rest() {
    let c = collector(&[]);
    let exporter = OtlpHttpExporter::builder(format!("{}/custom/path", c.url))
        .batch_size(2)
        .build()
        .unwrap();
    let report = exporter.export(&spans(5)).unwrap();
    assert_eq!((report.requests, report.spans), (3, 5));
    let sizes: Vec<usize> = c
        .requests
        .try_iter()
        .map(|(_, _, b)| span_count(&b))
        .collect();
    assert_eq!(sizes, vec![2, 2, 1]);

    for s in spans(3) {
        exporter.on_end(s);
    }
    let (target, _, body) = c.requests.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(
        (target.as_str(), span_count(&body)),
        ("/custom/path", 2),
        "a full batch goes out at once"
    );
    assert_eq!(exporter.flush().unwrap().spans, 1);
    assert_eq!(
        span_count(&c.requests.recv_timeout(Duration::from_secs(5)).unwrap().2),
        1
    );
}

#[test]
fn unreachable_collector_is_an_io_error() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let exporter = OtlpHttpExporter::builder(format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let err = exporter.export(&spans(1)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    assert!(
        std::error::Error::source(&err).is_some(),
        "the socket error is the source"
    );
}

#[test]
fn non_http_endpoints_are_rejected_up_front() {
    for bad in [
        "https://127.0.0.1:4318",
        "127.0.0.1:4318",
        "http://:4318",
        "http://h:port",
    ] {
        let err = OtlpHttpExporter::builder(bad).build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Endpoint, "{bad}");
    }
}
