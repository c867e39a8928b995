//! The recording proxy: reads requests with mocknet's own HTTP/1.1 reader, forwards them to the
//! upstream with reqwest, answers with the upstream's response and keeps each exchange.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::http1::{self, RawRequest, ReadError};

/// Headers of one hop only (RFC 9110 §7.6.1), and the framing the proxy redoes itself.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "host",
];

/// One request and the upstream's answer, as they went through the proxy.
#[derive(Debug, Clone)]
pub(crate) struct Exchange {
    /// The order the request arrived in.
    pub(crate) index: usize,
    pub(crate) method: String,
    /// Path and query, as the client sent them.
    pub(crate) target: String,
    pub(crate) request_headers: Vec<(String, String)>,
    pub(crate) request_body: Vec<u8>,
    pub(crate) status: u16,
    pub(crate) response_headers: Vec<(String, String)>,
    /// De-chunked, still compressed if the upstream compressed it.
    pub(crate) response_body: Vec<u8>,
}

/// What the accept loop and its connections share with the [`Recording`](super::Recording).
#[derive(Debug)]
pub(crate) struct ProxyState {
    pub(crate) upstream: url::Url,
    pub(crate) client: reqwest::Client,
    pub(crate) log: Mutex<Log>,
}

#[derive(Debug, Default)]
pub(crate) struct Log {
    pub(crate) arrived: usize,
    pub(crate) exchanges: Vec<Exchange>,
    /// `METHOD target: error` for each request the upstream did not answer.
    pub(crate) failures: Vec<String>,
}

impl ProxyState {
    pub(crate) fn log(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(crate) async fn accept_loop(listener: TcpListener, state: Arc<ProxyState>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    let _ = stream.set_nodelay(true);
                    connections.spawn(serve(stream, Arc::clone(&state)));
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve(mut stream: TcpStream, state: Arc<ProxyState>) {
    let mut buf = Vec::with_capacity(4096);
    loop {
        let raw = match http1::read_request(&mut stream, &mut buf).await {
            Ok(raw) => raw,
            Err(ReadError::Closed | ReadError::Io) => return,
            Err(ReadError::Bad(status, why)) => {
                let _ = stream.write_all(&http1::refusal(status, why)).await;
                return;
            }
        };
        let close = raw.close;
        let head_only = raw.method == "HEAD";
        let index = {
            let mut log = state.log();
            log.arrived += 1;
            log.arrived - 1
        };
        let out = match forward(&state, raw, index).await {
            Ok(exchange) => {
                let headers = exchange
                    .response_headers
                    .iter()
                    .filter(|(name, _)| !HOP_BY_HOP.contains(&name.as_str()))
                    .map(|(name, value)| (name.as_str(), value.as_bytes()));
                let body: &[u8] = if head_only {
                    &[]
                } else {
                    &exchange.response_body
                };
                let mut out = http1::response_head(exchange.status, headers, body.len(), close);
                out.extend_from_slice(body);
                state.log().exchanges.push(exchange);
                out
            }
            Err(failure) => {
                let body = format!("steadfast: upstream {} failed: {failure}", state.upstream);
                state.log().failures.push(failure);
                let mut out = http1::response_head(502, [], body.len(), true);
                out.extend_from_slice(body.as_bytes());
                let _ = stream.write_all(&out).await;
                return;
            }
        };
        if stream.write_all(&out).await.is_err() || close {
            return;
        }
    }
}

/// Sends the request to the upstream and reads its whole response.
async fn forward(state: &ProxyState, raw: RawRequest, index: usize) -> Result<Exchange, String> {
    let describe = |err: &dyn std::error::Error| {
        let mut text = format!("{} {}: {err}", raw.method, raw.target);
        let mut source = err.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    };
    let url = upstream_url(&state.upstream, &raw.target);
    let method = http::Method::from_bytes(raw.method.as_bytes()).map_err(|err| describe(&err))?;
    let mut request = state.client.request(method, url);
    for (name, value) in &raw.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            request = request.header(name.as_str(), value.as_str());
        }
    }
    let response = request
        .body(raw.body.clone())
        .send()
        .await
        .map_err(|err| describe(&err))?;
    let status = response.status().as_u16();
    let response_headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_string(), value)
        })
        .collect();
    let body = response.bytes().await.map_err(|err| describe(&err))?;
    Ok(Exchange {
        index,
        method: raw.method,
        target: raw.target,
        request_headers: raw.headers,
        request_body: raw.body,
        status,
        response_headers,
        response_body: body.to_vec(),
    })
}

/// The upstream URL for a request target: the upstream's path as a prefix, then the target.
pub(crate) fn upstream_url(upstream: &url::Url, target: &str) -> String {
    let base = upstream.as_str().trim_end_matches('/');
    if target.starts_with('/') {
        format!("{base}{target}")
    } else {
        format!("{base}/{target}")
    }
}

/// The client both the recorder and the verifier send with: no proxy from the environment, no
/// redirects followed (a redirect is part of the recorded traffic) and no decompression.
pub(crate) fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
}
