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
