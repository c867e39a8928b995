//! Rendering the `ResponseTemplate`s of wiremock responders through wiremock's own server.
//!
//! wiremock shows nothing of a `ResponseTemplate` (no getters; the conversion to an HTTP
//! response is private to its server), so the only faithful way to learn what a template
//! sends is to have wiremock send it. The first mock with a wiremock responder starts a
//! private `wiremock::MockServer` with one mock that answers a request naming a slot with the
//! template parked in that slot. For each request a mocknet route answers with a wiremock
//! responder, mocknet calls `respond` itself, parks the template, fetches it from the renderer
//! over loopback, and serves what came back: status, headers (less the framing headers and
//! `date`, which mocknet writes itself or leaves out) and body. The template's `set_delay` is
//! wiremock's, in real time; the fetch runs on tokio's blocking pool, which keeps a paused
//! clock from jumping ahead meanwhile.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers};

use super::Shared;
use crate::scenario::Response;

/// The header naming the slot a render request fetches.
const SLOT_HEADER: &str = "x-steadfast-render-slot";

/// The longest a render may take, a template's delay included.
const RENDER_TIMEOUT: Duration = Duration::from_secs(120);

/// Headers of the renderer's response that mocknet does not pass on.
const DROPPED: [&str; 4] = ["content-length", "transfer-encoding", "connection", "date"];

type Slots = Arc<Mutex<HashMap<u64, ResponseTemplate>>>;

pub(crate) struct Renderer {
    /// Kept so the server lives as long as the renderer.
    _server: MockServer,
    addr: SocketAddr,
    slots: Slots,
    next_slot: AtomicU64,
    /// Keep-alive connections to the renderer not in use.
    idle: Mutex<Vec<TcpStream>>,
}

/// The renderer's one mock: answers with the template parked in the slot the request names.
struct Relay(Slots);

impl Respond for Relay {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let slot = request
            .headers
            .get(SLOT_HEADER)
            .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
        let template = slot.and_then(|slot| {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&slot)
        });
        template.unwrap_or_else(|| {
            ResponseTemplate::new(500).set_body_string("steadfast: no template in this slot")
        })
    }
}

impl Renderer {
    pub(crate) async fn start() -> Renderer {
        let server = MockServer::builder()
            .disable_request_recording()
            .start()
            .await;
        let slots = Slots::default();
        server
            .register(Mock::given(matchers::any()).respond_with(Relay(Arc::clone(&slots))))
            .await;
        Renderer {
            addr: *server.address(),
            _server: server,
            slots,
            next_slot: AtomicU64::new(0),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Has wiremock send `template` and reads what it sent. Blocking.
    fn render(&self, template: ResponseTemplate) -> std::io::Result<Response> {
        let slot = self.next_slot.fetch_add(1, Ordering::Relaxed);
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(slot, template);
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut stream = match idle {
            Some(stream) => stream,
            None => {
                let stream = TcpStream::connect(self.addr)?;
                stream.set_nodelay(true)?;
                stream.set_read_timeout(Some(RENDER_TIMEOUT))?;
                stream
            }
        };
        let request = format!(
            "GET / HTTP/1.1\r\nhost: {}\r\n{SLOT_HEADER}: {slot}\r\n\r\n",
            self.addr
        );
        stream.write_all(request.as_bytes())?;
        let response = read_response(&mut stream)?;
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(stream);
        Ok(response)
    }
}

/// Reads one HTTP/1.1 response with a `Content-Length` body (or none), as hyper sends it.
fn read_response(stream: &mut TcpStream) -> std::io::Result<Response> {
    let invalid = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_string());
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let (status, headers, length, head_len) = loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(invalid("the renderer closed before a whole response head"));
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut parsed = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut parsed);
        match response.parse(&buf) {
            Ok(httparse::Status::Complete(head_len)) => {
                let status = response.code.ok_or_else(|| invalid("no status code"))?;
                let mut length = 0;
                let mut headers = Vec::new();
                for header in response.headers.iter() {
                    if header.name.eq_ignore_ascii_case("content-length") {
                        length = std::str::from_utf8(header.value)
                            .ok()
                            .and_then(|value| value.trim().parse::<usize>().ok())
                            .ok_or_else(|| invalid("a content-length that is not a number"))?;
                    }
                    if DROPPED
                        .iter()
                        .any(|name| header.name.eq_ignore_ascii_case(name))
                    {
                        continue;
                    }
                    let name = HeaderName::from_bytes(header.name.as_bytes())
                        .map_err(|_| invalid("an invalid header name"))?;
                    let value = HeaderValue::from_bytes(header.value)
                        .map_err(|_| invalid("an invalid header value"))?;
                    headers.push((name, value));
                }
                break (status, headers, length, head_len);
            }
            Ok(httparse::Status::Partial) => {}
            Err(_) => return Err(invalid("the renderer's response is not HTTP/1.1")),
        }
    };
    let mut body = buf.split_off(head_len);
    while body.len() < length {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(invalid("the renderer closed before the whole body"));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(Response {
        status,
        headers,
        body,
    })
}

impl Shared {
    /// The renderer, started on first use.
    pub(super) async fn renderer(&self) -> Arc<Renderer> {
        Arc::clone(
            self.renderer
                .get_or_init(|| async { Arc::new(Renderer::start().await) })
                .await,
        )
    }

    /// Renders the template of request `index` and records its status in the journal; a
    /// render that fails becomes a 500 saying why.
    pub(super) async fn render(&self, template: ResponseTemplate, index: usize) -> Response {
        let renderer = self.renderer().await;
        let rendered = tokio::task::spawn_blocking(move || renderer.render(template)).await;
        let response = match rendered {
            Ok(Ok(response)) => response,
            Ok(Err(err)) => failed(&err.to_string()),
            Err(err) => failed(&err.to_string()),
        };
        let mut state = self.lock();
        if let Some(entry) = state.journal.get_mut(index)
            && entry.status.is_some()
        {
            entry.status = Some(response.status);
        }
        response
    }
}

fn failed(why: &str) -> Response {
    Response {
        status: 500,
        headers: vec![(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        body: format!("steadfast: could not render the wiremock ResponseTemplate: {why}")
            .into_bytes(),
    }
}
