//! Posts a test's captured metrics to a real OpenTelemetry collector (rotel, installed from
//! PyPI with `pip install rotel`, whose wheel ships `rotel-agent`) and checks that it printed
//! every metric with its kind and values.
//!
//! Fails, saying how to install it, where `rotel-agent` is not on `PATH`: a test that passed
//! without its collector would prove nothing. `.ci/run` installs it and puts it on `PATH`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use steadfast_metrics::Captured;
use steadfast_tracing_core::otlp::Resource;

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
        } else if c != '\0' {
            out.push(c);
        }
    }
    out
}

/// POSTs `body` as JSON and returns the response's status line and body.
fn post(port: u16, path: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn rotel_collector_accepts_and_prints_every_exported_metric() {
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
    let pid_file = std::env::temp_dir().join(format!(
        "steadfast-rotel-metrics-{}-{http}.pid",
        std::process::id()
    ));
    let mut child = Command::new(agent)
        .args([
            "start",
            "--otlp-http-endpoint",
            &format!("127.0.0.1:{http}"),
        ])
        .args(["--otlp-grpc-endpoint", &format!("127.0.0.1:{grpc}")])
        .args(["--pid-file", pid_file.to_str().unwrap()])
        .args(["--exporter", "blackhole", "--debug-log", "metrics"])
        .args(["--debug-log-verbosity", "detailed"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("rotel-agent starts");
    let stdout = child.stdout.take().unwrap();
    let _guard = Collector(child);
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(strip_ansi(&line).trim().to_owned()).is_err() {
                return;
            }
        }
    });
    // rotel logs nothing once its HTTP listener is bound, so poll the port, bounded.
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", http)).is_err() {
        assert!(
            Instant::now() < deadline,
            "rotel-agent did not listen on 127.0.0.1:{http} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let ctx = crate::otlp::recorded("rotel::export");
    let body = Captured::of(&ctx).otlp_json(&Resource::new("steadfast-rotel-metrics-test"));
    let response = post(http, "/v1/metrics", &body);
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "rotel answered {response}"
    );

    // What rotel's debug log prints for each metric, in order; values only print when rotel
    // decoded them.
    let expected = [
        "-> Name: sse.events.emitted",
        "-> DataType: Sum",
        "-> IsMonotonic: true",
        "-> tenant: Str(a)",
        "Value: 7",
        "-> tenant: Str(b)",
        "Value: 2",
        "-> Name: sse.connections.active",
        "-> DataType: Gauge",
        "Value: 3",
        "-> Name: catchup.duration",
        "-> Unit: s",
        "-> DataType: Histogram",
        "Count: 3",
        "Min: 0.005",
        "Max: 0.12",
        "Buckets #1, Count: 3",
    ];
    let mut seen = Vec::new();
    let mut next = 0;
    while next < expected.len() {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                panic!(
                    "rotel never printed {:?}; output so far:\n{}",
                    expected[next],
                    seen.join("\n")
                )
            });
        if line == expected[next] {
            next += 1;
        }
        seen.push(line);
    }
}
