//! Exports a trace to a real OpenTelemetry collector (rotel, installed from
//! PyPI with `pip install rotel`, whose wheel ships `rotel-agent`) and checks
//! that it printed every span with the right ids, names and kinds.
//!
//! Fails, saying how to install it, where `rotel-agent` is not on `PATH`:
//! a test that passed without its collector would prove nothing. `.ci/run`
//! installs it and puts it on `PATH`.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use steadfast_tracing_core::export::OtlpHttpExporter;
use steadfast_tracing_core::ids::SplitMix64;
use steadfast_tracing_core::otlp::Resource;
use steadfast_tracing_core::sink::InMemorySink;
use steadfast_tracing_core::span::SpanKind;
use steadfast_tracing_core::tracer::Tracer;

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the collector even when an assertion fails.
struct Collector(Child);

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One span as the collector printed it.
#[derive(Debug, Default, Clone, PartialEq)]
struct Printed {
    trace_id: String,
    parent_id: String,
    id: String,
    name: String,
    kind: String,
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn rotel_collector_accepts_and_prints_every_exported_span() {
    let agent = find_on_path("rotel-agent").unwrap_or_else(|| {
        panic!(
            "steadfast: rotel-agent is not on PATH, and this test needs a real collector; \
             install it with `python3 -m pip install rotel==0.0.1a15` and put the folder of \
             its rotel-agent on PATH: \
             PATH=\"$(python3 -c 'import os, rotel; print(os.path.dirname(rotel.__file__))'):$PATH\" \
             (as .ci/run does)"
        )
    });
    let (http, grpc) = (free_port(), free_port());
    let pid_file =
        std::env::temp_dir().join(format!("steadfast-rotel-{}-{http}.pid", std::process::id()));
    let mut child = Command::new(agent)
        .args([
            "start",
            "--otlp-http-endpoint",
            &format!("127.0.0.1:{http}"),
        ])
        .args(["--otlp-grpc-endpoint", &format!("127.0.0.1:{grpc}")])
        .args(["--pid-file", pid_file.to_str().unwrap()])
        .args([
            "--exporter",
            "blackhole",
            "--debug-log",
            "traces",
            "--debug-log-verbosity",
            "detailed",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("rotel-agent starts");
    let stdout = child.stdout.take().unwrap();
    let _guard = Collector(child);
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(strip_ansi(&line)).is_err() {
                return;
            }
        }
    });

    // rotel logs nothing once its HTTP listener is bound, so poll the port,
    // bounded, before exporting.
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", http)).is_err() {
        assert!(
            Instant::now() < deadline,
            "rotel-agent did not listen on 127.0.0.1:{http} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let sink = InMemorySink::new();
    let tracer = Tracer::builder()
        .ids(SplitMix64::new(2024))
        .clock(|| UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .sink(sink.clone())
        .build();
    {
        let server = tracer.start_root("GET /orders", SpanKind::Server);
        let client = tracer.start_child(server.context(), "GET inventory", SpanKind::Client);
        tracer
            .start_child(client.context(), "render", SpanKind::Internal)
            .end();
    }
    let spans = sink.spans();
    let exporter = OtlpHttpExporter::builder(format!("http://127.0.0.1:{http}"))
        .resource(Resource::new("steadfast-rotel-test"))
        .build()
        .unwrap();
    let report = exporter.export(&spans).expect("rotel accepts the export");
    assert_eq!(report.spans, 3);

    let expected: Vec<Printed> = spans
        .iter()
        .map(|s| Printed {
            trace_id: s.trace_id.to_string(),
            parent_id: s.parent_span_id.map(|p| p.to_string()).unwrap_or_default(),
            id: s.span_id.to_string(),
            name: s.name.clone(),
            kind: format!("SPAN_KIND_{}", s.kind.as_str().to_uppercase()),
        })
        .collect();
    let mut printed: Vec<Printed> = Vec::new();
    let mut current: Option<Printed> = None;
    let mut seen = Vec::new();
    while printed.len() < expected.len() {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                panic!(
                    "rotel printed only {printed:?}; output so far:\n{}",
                    seen.join("\n")
                )
            });
        seen.push(line.clone());
        let field = |label: &str| {
            line.trim()
                .strip_prefix(label)
                .and_then(|rest| rest.trim_start().strip_prefix(':'))
                .map(|v| v.trim().to_string())
        };
        if line.trim_start().starts_with("Span #") {
            current = Some(Printed::default());
        } else if let Some(p) = current.as_mut() {
            if let Some(v) = field("Trace ID") {
                p.trace_id = v;
            } else if let Some(v) = field("Parent ID") {
                p.parent_id = v;
            } else if let Some(v) = field("ID") {
                p.id = v;
            } else if let Some(v) = field("Name") {
                p.name = v;
            } else if let Some(v) = field("Kind") {
                p.kind = v;
                printed.push(current.take().unwrap());
            }
        }
    }
    for e in &expected {
        assert!(
            printed.contains(e),
            "rotel did not print {e:?}; printed {printed:?}"
        );
    }
}
