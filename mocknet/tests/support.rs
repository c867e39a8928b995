//! Shared setup: catalogs from JSON, servers, and a reqwest client with a timeout.

use std::time::Duration;

use steadfast_mocknet::{Catalog, MockNet};

/// Client timeout used by the tests that need one.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// Loads an inline catalog, failing the test with the catalog error.
pub fn catalog(json: &str) -> Catalog {
    Catalog::from_json("test.json", json).unwrap_or_else(|err| panic!("{err}"))
}

/// A catalog with one scenario `s` holding one route `r` on `GET /r` answering `text`, with
/// `faults` (a JSON array) on the route.
pub fn one_route(text: &str, faults: &str) -> Catalog {
    catalog(&format!(
        r#"{{"scenarios": {{"s": {{"routes": [{{"name": "r", "method": "GET", "path": "/r",
            "response": {{"text": "{text}"}}, "faults": {faults}}}]}}}}}}"#
    ))
}

/// Starts scenario `s` of `catalog` inside the running deterministic test.
pub async fn start(catalog: &Catalog) -> MockNet {
    MockNet::builder()
        .scenario(catalog.scenario("s").expect("scenario s"))
        .start()
        .await
        .expect("server starts")
}

/// A reqwest client with [`CLIENT_TIMEOUT`] and no connection reuse between tests.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(CLIENT_TIMEOUT)
        .build()
        .expect("client builds")
}

/// `GET /r` on `net` with [`client`], returning the whole body; panics on any error.
pub async fn get_route_text(net: &MockNet) -> String {
    client()
        .get(format!("{}/r", net.uri()))
        .send()
        .await
        .expect("response")
        .text()
        .await
        .expect("whole body")
}

/// The kind of the first I/O error in a source chain, as the payments client reads it.
pub use crate::client::io_kind;

/// Every message in the source chain of `err`, joined.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(current) = source {
        out.push_str(": ");
        out.push_str(&current.to_string());
        source = current.source();
    }
    out
}

/// Sends raw bytes and reads until the server closes, returning what arrived (or the error).
pub async fn raw_exchange(net: &MockNet, request: &[u8]) -> std::io::Result<Vec<u8>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(net.addr()).await?;
    stream.write_all(request).await?;
    let mut received = Vec::new();
    stream.read_to_end(&mut received).await?;
    Ok(received)
}

/// How many file descriptors this process has open (the one reading `/proc/self/fd` aside).
pub fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
        - 1
}

/// Runs the ignored test `name` of this test binary in a process of its own (for a test that
/// changes what the whole process has, such as its descriptor limit), and fails saying
/// `hang` when it has not finished within `deadline`.
#[track_caller]
pub fn run_alone(name: &str, deadline: std::time::Duration, hang: &str) {
    let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([name, "--exact", "--ignored", "--nocapture"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn the test binary");
    let mut status = None;
    let finished = steadfast_determinism::wait::wait_until(deadline, || {
        status = child.try_wait().expect("try_wait");
        status.is_some()
    });
    if finished.is_err() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("steadfast: {hang} in {deadline:?} (run `{name}` with --ignored to see it)");
    }
    let output = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        status.is_some_and(|status| status.success())
            && stdout.contains("test result: ok. 1 passed"),
        "steadfast: {name} failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Lowers this process's descriptor limit and opens descriptors up to it, so that no other
/// can be opened; the old limit, and the descriptors that fill the gap.
fn no_more_descriptors() -> (libc::rlimit, Vec<std::fs::File>) {
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `old` is a valid rlimit to write to.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut old) }, 0);
    let highest = std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|entry| {
            entry
                .ok()?
                .file_name()
                .to_str()?
                .parse::<libc::rlim_t>()
                .ok()
        })
        .max()
        .expect("open descriptors");
    let limit = libc::rlimit {
        rlim_cur: highest + 1,
        rlim_max: old.rlim_max,
    };
    // SAFETY: `limit` is a valid rlimit.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    let mut fillers = Vec::new();
    // Ends with EMFILE, once every number below the limit is taken.
    while let Ok(file) = std::fs::File::open("/dev/null") {
        fillers.push(file);
    }
    (old, fillers)
}

/// Puts back the descriptor limit [`no_more_descriptors`] lowered, and closes its fillers.
fn restore_descriptors((old, fillers): (libc::rlimit, Vec<std::fs::File>)) {
    // SAFETY: `old` is the limit getrlimit gave.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &old) }, 0);
    drop(fillers);
}

/// Three connections to `addr`, dialled while this process has no descriptor left and kept
/// waiting in the listener's queue for a virtual second before the limit is put back. The
/// sockets are made before the limit, so the dials need no new descriptor; the listener's
/// accepts would. Time moves on only when the runtime has nothing to do, so a listener
/// retrying its failing accepts at once keeps that second from ever passing.
pub async fn dial_out_of_descriptors(addr: std::net::SocketAddr) -> Vec<tokio::net::TcpStream> {
    let sockets: Vec<_> = (0..3)
        .map(|_| tokio::net::TcpSocket::new_v4().expect("socket"))
        .collect();
    let limit = no_more_descriptors();
    let mut streams = Vec::new();
    for socket in sockets {
        streams.push(socket.connect(addr).await.expect("queued by the kernel"));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    restore_descriptors(limit);
    streams
}
