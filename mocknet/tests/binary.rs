//! The `steadfast-mocknet` command, spawned as a user would: its first line, its journal on
//! SIGTERM or SIGINT, and exit code 2 for bad flags and files.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub(crate) const BINARY: &str = env!("CARGO_BIN_EXE_steadfast-mocknet");

/// A file path of this test under the temp directory, removed first.
pub(crate) fn temp(name: &str, contents: Option<&str>) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("steadfast-mocknet-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    if let Some(contents) = contents {
        std::fs::write(&path, contents).expect("write temp file");
    }
    path
}

/// Spawns the command and reads its first line.
pub(crate) fn spawn(args: &[&str]) -> (Child, BufReader<ChildStdout>, String) {
    let mut child = Command::new(BINARY)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn steadfast-mocknet");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("first line");
    (child, stdout, first.trim_end().to_string())
}

pub(crate) fn signal(child: &mut Child, signal: i32) -> ExitStatus {
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    // SAFETY: kill has no memory effects; the pid is our own child, not yet reaped.
    let sent = unsafe { libc::kill(pid, signal) };
    assert_eq!(sent, 0, "kill failed");
    child.wait().expect("wait")
}

/// An echo server on a thread, for one connection.
fn echo_once() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut buf = [0u8; 1024];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 || stream.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    });
    addr
}

fn failure(args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(BINARY).args(args).output().expect("run");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn link_prints_its_address_applies_the_fault_file_and_writes_the_journal_on_sigterm() {
    let faults = temp(
        "faults.json",
        Some(
            r#"{"faults": [{"kind": "latency", "ms": 300}], "timeline": [{"at_ms": 2000, "event":
            "partition"}, {"at_ms": 4000, "event": "heal"}]}"#,
        ),
    );
    let journal = temp("link-journal.jsonl", None);
    let upstream = echo_once().to_string();
    let (mut child, _stdout, first) = spawn(&[
        "link",
        "--upstream",
        &upstream,
        "--faults",
        faults.to_str().expect("utf-8"),
        "--seed",
        "7",
        "--journal",
        journal.to_str().expect("utf-8"),
    ]);

    let addr = first
        .strip_prefix("listening on 127.0.0.1:")
        .map(|port| format!("127.0.0.1:{port}"))
        .unwrap_or_else(|| panic!("first line {first:?}"));
    let mut stream = TcpStream::connect(&addr).expect("connect");
    let started = Instant::now();
    stream.write_all(b"ping").expect("write");
    let mut answer = [0u8; 4];
    stream.read_exact(&mut answer).expect("echo");
    let round_trip = started.elapsed();
    drop(stream);
    let status = signal(&mut child, libc::SIGTERM);

    assert_eq!(&answer, b"ping");
    // 300 ms each way, in real time.
    assert!(round_trip >= Duration::from_millis(600), "{round_trip:?}");
    assert!(status.success(), "{status:?}");
    let lines = std::fs::read_to_string(&journal).expect("journal written");
    let first_event: serde_json::Value =
        serde_json::from_str(lines.lines().next().expect("an event")).expect("JSON line");
    assert_eq!(first_event["event"], "opened");
    assert_eq!(first_event["faults"], serde_json::json!(["latency"]));
}

#[test]
fn serve_prints_its_uri_answers_and_writes_the_journal_on_sigint() {
    let catalog = temp(
        "catalog.json",
        Some(
            r#"{"scenarios": {"up": {"routes": [{"name": "health", "path": "/health", "response": {"text": "ok"}}]}}}"#,
        ),
    );
    let journal = temp("serve-journal.jsonl", None);
    let (mut child, _stdout, first) = spawn(&[
        "serve",
        catalog.to_str().expect("utf-8"),
        "--scenario",
        "up",
        "--journal",
        journal.to_str().expect("utf-8"),
    ]);

    let addr = first
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("first line {first:?}"))
        .to_string();
    let mut stream = TcpStream::connect(&addr).expect("connect");
    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    let status = signal(&mut child, libc::SIGINT);

    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(status.success(), "{status:?}");
    let lines = std::fs::read_to_string(&journal).expect("journal written");
    let entry: serde_json::Value = serde_json::from_str(lines.trim_end()).expect("one JSON line");
    assert_eq!(
        (entry["route"].as_str(), entry["status"].as_u64()),
        (Some("health"), Some(200))
    );
}

#[test]
fn serve_listens_where_told_and_exits_1_when_it_cannot() {
    let catalog = temp(
        "listen-catalog.json",
        Some(
            r#"{"scenarios": {"up": {"routes": [{"name": "health", "path": "/health", "response": {"text": "ok"}}]}}}"#,
        ),
    );
    let catalog = catalog.to_str().expect("utf-8");
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = {
        let probe = TcpListener::bind("127.0.0.1:0").expect("bind");
        probe.local_addr().expect("addr").port()
    };
    let listen = format!("127.0.0.1:{port}");
    let (mut child, _stdout, first) =
        spawn(&["serve", catalog, "--scenario", "up", "--listen", &listen]);
    let mut stream = TcpStream::connect(&listen).expect("connect");
    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    let status = signal(&mut child, libc::SIGTERM);
    let busy = taken.local_addr().expect("addr").to_string();
    let (code, stderr) = failure(&["serve", catalog, "--scenario", "up", "--listen", &busy]);

    assert_eq!(first, format!("listening on http://{listen}"));
    assert!(response.ends_with("\r\n\r\nok"), "{response}");
    assert!(status.success(), "{status:?}");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("could not listen on {busy}")),
        "{stderr}"
    );
}

#[test]
fn bad_flags_and_files_exit_2_with_a_message() {
    let bad_faults = temp(
        "bad-faults.json",
        Some(r#"{"faults": [{"kind": "reset", "probability": 3}]}"#),
    );
    let bad_faults = bad_faults.to_str().expect("utf-8");

    let cases: [(&[&str], &str); 5] = [
        (&["link"], "--upstream is required"),
        (
            &["link", "--upstream", "127.0.0.1:1", "--speed", "9"],
            "unknown option --speed",
        ),
        (
            &["link", "--upstream", "127.0.0.1:1", "--faults", bad_faults],
            "faults[0]: reset fault: probability 3 is outside 0..=1",
        ),
        (
            &["serve", "/no/such/catalog.json", "--scenario", "up"],
            "could not read catalog /no/such/catalog.json",
        ),
        (&["teleport"], "unknown subcommand \"teleport\""),
    ];
    for (args, message) in cases {
        let (code, stderr) = failure(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(stderr.contains("usage:"), "{args:?}: {stderr}");
    }
}
