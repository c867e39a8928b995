//! A live service of the tests' own: a hyper server whose answers the recorder records and the
//! verifier checks, and which can change its shape to show drift.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::{Request, Response};
use tokio::net::TcpListener;

/// What the user endpoint answers before and after [`Upstream::change`].
pub const USER_V1: &str = r#"{"id":1,"name":"ann","plan":"pro"}"#;
pub const USER_V2: &str = r#"{"full_name":"ann","id":"1","plan":"pro"}"#;
/// The bytes of the binary endpoint: not UTF-8.
pub const BINARY: &[u8] = &[0, 159, 146, 150, 255, 10];

/// The running upstream; it stops when its runtime does.
pub struct Upstream {
    pub addr: SocketAddr,
    state: Arc<State>,
}

#[derive(Default)]
struct State {
    changed: AtomicBool,
    charges: AtomicUsize,
}

impl Upstream {
    /// Serves on an ephemeral port of 127.0.0.1, on the current runtime.
    pub async fn start() -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("bound address");
        let state = Arc::new(State::default());
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, Infallible>(answer(&state, request).await) }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
        });
        Upstream { addr, state }
    }

    /// Starts an upstream on a runtime of its own thread, for tests of the binary.
    pub fn start_on_thread() -> Upstream {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let upstream = Upstream::start().await;
                sender.send(upstream).expect("test waits for the upstream");
                std::future::pending::<()>().await;
            });
        });
        receiver.recv().expect("upstream started")
    }

    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Renames `name` to `full_name` and makes `id` a string.
    pub fn change(&self) {
        self.state.changed.store(true, Ordering::SeqCst);
    }

    /// Starts the charge sequence (503, then 201) over, for the next recording.
    pub fn reset(&self) {
        self.state.charges.store(0, Ordering::SeqCst);
    }
}

type Reply = Response<BoxBody<Bytes, Infallible>>;

fn reply(status: u16, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Reply {
    let mut builder = Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder
        .body(Full::new(body.into()).boxed())
        .expect("valid response")
}

async fn answer(state: &State, request: Request<Incoming>) -> Reply {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let json = [("content-type", "application/json")];
    let query = parts.uri.query().unwrap_or_default();
    match (parts.method.as_str(), parts.uri.path()) {
        ("GET", "/v1/users/1") if state.changed.load(Ordering::SeqCst) => {
            reply(200, &json, USER_V2)
        }
        ("GET", "/v1/users/1") => reply(200, &json, USER_V1),
        ("GET", "/v1/users") if query == "page=2" => reply(200, &json, r#"{"page":2}"#),
        ("GET", "/v1/users") => reply(200, &json, r#"{"page":1}"#),
        ("POST", "/v1/charges") => match state.charges.fetch_add(1, Ordering::SeqCst) {
            0 => reply(
                503,
                &[("content-type", "text/plain"), ("retry-after", "1")],
                "busy",
            ),
            _ => reply(201, &json, r#"{"id":"ch_1","status":"pending"}"#),
        },
        ("POST", "/v1/login") => {
            let user = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("user").cloned())
                .unwrap_or_default();
            let text = serde_json::json!({"token": "tok_live_abcdef", "user": user}).to_string();
            reply(
                200,
                &[
                    ("content-type", "application/json"),
                    ("set-cookie", "sid=cookie-from-server-77; Path=/; HttpOnly"),
                ],
                text,
            )
        }
        ("GET", "/pretty") => reply(200, &json, "{\n  \"b\": 2,\n  \"a\": 1\n}\n"),
        ("GET", "/chunked") => {
            let chunks: [&'static [u8]; 3] = [b"hello ", b"chunked ", b"world"];
            let chunks = chunks.map(Bytes::from_static);
            Response::builder()
                .header("content-type", "text/plain; charset=utf-8")
                .body(Chunks(chunks.into()).boxed())
                .expect("valid response")
        }
        ("GET", "/gzip") => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder
                .write_all(br#"{"compressed":true}"#)
                .expect("in memory");
            let bytes = encoder.finish().expect("in memory");
            reply(
                200,
                &[
                    ("content-type", "application/json"),
                    ("content-encoding", "gzip"),
                ],
                bytes,
            )
        }
        ("GET", "/binary") => reply(200, &[("content-type", "application/octet-stream")], BINARY),
        ("GET", "/echo-tenant") => {
            let tenant = parts
                .headers
                .get("x-tenant")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            reply(
                200,
                &json,
                serde_json::json!({"tenant": tenant}).to_string(),
            )
        }
        _ => reply(404, &[("content-type", "text/plain")], "no such endpoint"),
    }
}

/// A body of unknown length, so hyper sends it chunked.
struct Chunks(VecDeque<Bytes>);

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(
            self.get_mut()
                .0
                .pop_front()
                .map(|chunk| Ok(Frame::data(chunk))),
        )
    }
}
