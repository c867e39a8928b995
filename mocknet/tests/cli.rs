//! The `steadfast-mocknet record` and `verify` subcommands, run as a user runs them.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::record::{BEARER, scratch};
use crate::upstream::{USER_V1, Upstream};

const BIN: &str = env!("CARGO_BIN_EXE_steadfast-mocknet");

/// A hand-written recording of the user endpoint as `USER_V1` answers it.
const CASSETTE: &str = r#"{"scenarios": {"users": {"routes": [
    {"name": "get-v1-users-1", "method": "GET", "path": "/v1/users/1",
     "response": {"headers": {"content-type": "application/json"},
                  "json": {"id": 1, "name": "ann", "plan": "pro"}}}]}}}"#;

fn verify(catalog: &std::path::Path, against: &str) -> Output {
    Command::new(BIN)
        .arg("verify")
        .arg(catalog)
        .args([
            "--scenario",
            "users",
            "--against",
            against,
            "--format",
            "json",
        ])
        .output()
        .expect("steadfast-mocknet runs")
}

/// `GET path` over a fresh connection with a bearer token; the whole response.
fn get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("proxy listening");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {BEARER}\r\nconnection: close\r\n\r\n"
    )
    .expect("request sent");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response read");
    response
}

#[test]
fn record_prints_its_address_first_and_writes_the_catalog_on_sigterm_and_sigint() {
    let upstream = Upstream::start_on_thread();
    for signal in ["-TERM", "-INT"] {
        let out = scratch(&format!("cli-record{signal}"));
        let mut child = Command::new(BIN)
            .args([
                "record",
                "--upstream",
                &upstream.uri(),
                "--scenario",
                "cli",
                "--mode",
                "all",
            ])
            .arg("--out")
            .arg(&out)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("steadfast-mocknet runs");
        let mut first = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        BufReader::new(stdout)
            .read_line(&mut first)
            .expect("a first line");

        let addr = first
            .strip_prefix("listening on http://127.0.0.1:")
            .map(|port| format!("127.0.0.1:{}", port.trim()))
            .unwrap_or_else(|| panic!("first line was {first:?}"));
        let response = get(&addr, "/v1/users/1");
        let killed = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("kill runs");
        let status = child.wait().expect("recorder exits");

        assert!(response.ends_with(USER_V1), "{response}");
        assert!(killed.success());
        assert_eq!(status.code(), Some(0), "after SIG{}", &signal[1..]);
        let text = std::fs::read_to_string(&out).expect("catalog written");
        let catalog: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(
            catalog["scenarios"]["cli"]["routes"][0]["name"],
            "get-v1-users-1"
        );
        assert!(!text.contains(BEARER));
        let _ = std::fs::remove_file(out);
    }
}

#[test]
fn verify_exits_0_without_drift_then_1_naming_the_pointers() {
    let upstream = Upstream::start_on_thread();
    let catalog = scratch("cli-verify");
    std::fs::write(&catalog, CASSETTE).expect("cassette written");

    let clean = verify(&catalog, &upstream.uri());
    upstream.change();
    let drifted = verify(&catalog, &upstream.uri());

    assert_eq!(clean.status.code(), Some(0), "{clean:?}");
    let report: Value = serde_json::from_slice(&drifted.stdout).expect("a JSON report");
    let pointers: Vec<(&str, &str)> = report["drifts"]
        .as_array()
        .expect("drifts")
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().expect("kind"),
                d["pointer"].as_str().expect("pointer"),
            )
        })
        .collect();
    assert_eq!(
        pointers,
        [
            ("type-changed", "/id"),
            ("field-missing", "/name"),
            ("field-added", "/full_name")
        ]
    );
    assert_eq!(drifted.status.code(), Some(1));
    let _ = std::fs::remove_file(catalog);
}

#[test]
fn record_and_verify_exit_2_naming_an_upstream_that_is_down() {
    let catalog = scratch("cli-down");
    std::fs::write(&catalog, CASSETTE).expect("cassette written");

    let verified = verify(&catalog, "http://127.0.0.1:1");
    let recorded = Command::new(BIN)
        .args([
            "record",
            "--upstream",
            "http://127.0.0.1:1",
            "--scenario",
            "s",
            "--out",
        ])
        .arg(&catalog)
        .output()
        .expect("steadfast-mocknet runs");

    for output in [verified, recorded] {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.starts_with("steadfast-mocknet: upstream http://127.0.0.1:1 is unreachable: "),
            "{stderr}"
        );
    }
    assert_eq!(std::fs::read_to_string(&catalog).expect("kept"), CASSETTE);
    let _ = std::fs::remove_file(catalog);
}
