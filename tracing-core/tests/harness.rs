//! Drives the `tracecontext_service` example the way the W3C harness does:
//! `POST /test` on loopback with callback URLs served by this test, then
//! checks the headers of every callback.

use std::collections::HashSet;
use std::io::{BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use crate::tracecontext_service::{read_request, respond, serve};
use crate::w3c_cases::{Case, cases, check};

/// A callback received by the harness: the path and its headers.
type Callback = (String, Vec<(String, String)>);

struct Harness {
    service: String,
    callbacks: String,
    received: Receiver<Callback>,
}

impl Harness {
    fn start() -> Harness {
        let service = TcpListener::bind("127.0.0.1:0").unwrap();
        let service_addr = service.local_addr().unwrap();
        std::thread::spawn(move || serve(service));
        let callbacks = TcpListener::bind("127.0.0.1:0").unwrap();
        let callbacks_addr = callbacks.local_addr().unwrap();
        let (tx, received) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in callbacks.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Ok(request) = read_request(&mut BufReader::new(stream.try_clone().unwrap()))
                else {
                    continue;
                };
                // Record before answering: the service waits for this answer,
                // so the record exists before /test returns.
                if tx.send((request.target, request.headers)).is_err() {
                    return;
                }
                let _ = respond(&mut stream, "200 OK", "null");
            }
        });
        Harness {
            service: service_addr.to_string(),
            callbacks: callbacks_addr.to_string(),
            received,
        }
    }

    /// Sends one `/test` request asking for `count` callbacks; returns each
    /// callback's headers in order.
    fn run(
        &self,
        scope: &str,
        headers: &[(String, String)],
        count: usize,
    ) -> Vec<Vec<(String, String)>> {
        let actions: Vec<String> = (0..count)
            .map(|i| {
                format!(
                    r#"{{"url":"http://{}/{scope}.{i}","arguments":[]}}"#,
                    self.callbacks
                )
            })
            .collect();
        let body = format!("[{}]", actions.join(","));
        let mut stream = TcpStream::connect(&self.service).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut head = format!(
            "POST /test HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.service,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "service answered {response:?}"
        );
        (0..count)
            .map(|i| {
                let (path, headers) = self
                    .received
                    .recv_timeout(Duration::from_secs(10))
                    .expect("the service made no callback");
                assert_eq!(path, format!("/{scope}.{i}"), "callbacks arrive in order");
                headers
            })
            .collect()
    }
}

fn run_case(h: &Harness, n: usize, case: &Case) -> Result<(), String> {
    let callbacks = h.run(&format!("case{n}"), &case.headers, 1);
    check(case, &callbacks[0]).map(|_| ())
}

#[test]
fn service_passes_every_suite_header_case_over_http() {
    let h = Harness::start();
    let all = cases();
    let failures: Vec<String> = all
        .iter()
        .enumerate()
        .filter_map(|(n, case)| run_case(&h, n, case).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

fn trace_and_parent_ids(callbacks: &[Vec<(String, String)>]) -> (HashSet<String>, HashSet<String>) {
    let mut traces = HashSet::new();
    let mut parents = HashSet::new();
    for headers in callbacks {
        let tp = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("traceparent"))
            .map(|(_, v)| v.parse::<steadfast_tracing_core::TraceParent>().unwrap())
            .expect("a traceparent on every callback");
        traces.insert(tp.trace_id().to_string());
        parents.insert(tp.parent_id().to_string());
    }
    (traces, parents)
}

#[test]
fn multiple_callbacks_with_a_valid_traceparent_share_the_trace_with_fresh_span_ids() {
    let h = Harness::start();
    let tp = (
        "traceparent".to_string(),
        "00-12345678901234567890123456789012-1234567890123456-01".to_string(),
    );
    let (traces, parents) = trace_and_parent_ids(&h.run("valid", &[tp], 3));
    assert_eq!(
        traces,
        HashSet::from(["12345678901234567890123456789012".to_string()])
    );
    assert_eq!(parents.len(), 3);
}

#[test]
fn multiple_callbacks_without_a_traceparent_get_distinct_parent_ids() {
    let h = Harness::start();
    let (_, parents) = trace_and_parent_ids(&h.run("none", &[], 3));
    assert_eq!(parents.len(), 3);
}

#[test]
fn multiple_callbacks_with_an_illegal_traceparent_start_a_new_trace() {
    let h = Harness::start();
    let tp = (
        "traceparent".to_string(),
        "00-00000000000000000000000000000000-1234567890123456-01".to_string(),
    );
    let (traces, parents) = trace_and_parent_ids(&h.run("illegal", &[tp], 3));
    assert!(!traces.contains("00000000000000000000000000000000"));
    assert_eq!(parents.len(), 3);
}
