//! A service for the W3C trace-context test harness.
//!
//! ```text
//! cargo run --example tracecontext_service -- --port 5055
//! ```
//!
//! It listens on 127.0.0.1 for `POST /test` with a JSON array of
//! `{"url": ..., "arguments": ...}`; for each element, one after another, it
//! POSTs `arguments` as JSON to `url` carrying the propagated `traceparent`
//! and `tracestate` (a fresh span id per call), then answers 200.
//!
//! It propagates with the library's defaults: W3C Trace Context Level 2,
//! the current `tracestate` key grammar (`@` anywhere after the first
//! character), duplicate keys reduced to their first member, and a header
//! with a malformed member discarded whole (what the official harness
//! expects at strict level 2).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use steadfast_tracing_core::Propagator;
use steadfast_tracing_core::ids::{IdGenerator, RandomSource};

fn main() {
    let mut args = std::env::args().skip(1);
    let mut port: u16 = 5055;
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--port", Some(p)) => match p.parse() {
                Ok(p) => port = p,
                Err(_) => exit_with(&format!(
                    "--port expects a number from 0 to 65535, got {p:?}"
                )),
            },
            _ => exit_with("usage: tracecontext_service [--port PORT]"),
        }
    }
    let listener = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(l) => l,
        Err(e) => exit_with(&format!("cannot listen on 127.0.0.1:{port}: {e}")),
    };
    eprintln!("tracecontext_service listening on http://127.0.0.1:{port}/test");
    serve(listener);
}

fn exit_with(message: &str) -> ! {
    eprintln!("tracecontext_service: {message}");
    std::process::exit(2);
}

/// Accepts connections forever, one thread each.
pub fn serve(listener: TcpListener) {
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                std::thread::spawn(move || {
                    if let Err(e) = handle(stream) {
                        eprintln!("tracecontext_service: {e}");
                    }
                });
            }
            Err(e) => eprintln!("tracecontext_service: accept failed: {e}"),
        }
    }
}

/// An HTTP/1.1 request: method, target, headers in order, body.
#[derive(Debug)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request target, e.g. `/test`.
    pub target: String,
    /// Headers in the order received, repeats kept.
    pub headers: Vec<(String, String)>,
    /// The body (content-length or chunked).
    pub body: Vec<u8>,
}

fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// Reads one request from `reader`.
pub fn read_request(reader: &mut impl BufRead) -> io::Result<Request> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(invalid(format!("malformed request line {line:?}")));
    };
    let (method, target) = (method.to_string(), target.to_string());
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let header = line.trim_end_matches(['\r', '\n']);
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            // Header values lose optional whitespace (RFC 9110); traceparent
            // parsing trims spaces and tabs again anyway.
            headers.push((
                name.to_string(),
                value.trim_matches([' ', '\t']).to_string(),
            ));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| invalid(format!("malformed chunk size {line:?}")))?;
            if size == 0 {
                // Trailers, then the blank line.
                loop {
                    line.clear();
                    if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            line.clear();
            reader.read_line(&mut line)?;
        }
    } else if let Some(len) = header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| invalid(format!("malformed content-length {len:?}")))?;
        body.resize(len, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(Request {
        method,
        target,
        headers,
        body,
    })
}

/// Writes a JSON response and asks the peer to close.
pub fn respond(stream: &mut TcpStream, status: &str, body: &str) -> io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

fn handle(mut stream: TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let request = read_request(&mut BufReader::new(stream.try_clone()?))?;
    if request.method != "POST" || request.target.split('?').next() != Some("/test") {
        return respond(&mut stream, "404 Not Found", "{}");
    }
    let actions: serde_json::Value = match serde_json::from_slice(&request.body) {
        Ok(v) => v,
        Err(e) => {
            return respond(
                &mut stream,
                "400 Bad Request",
                &serde_json::json!({ "error": e.to_string() }).to_string(),
            );
        }
    };
    let actions = match actions {
        serde_json::Value::Array(list) => list,
        serde_json::Value::Null => Vec::new(),
        single => vec![single],
    };
    let propagator = Propagator::new();
    let mut ids = IdGenerator::new(RandomSource::new());
    // The span that handles this request: a child of the caller's span, or
    // the root of a new trace when the caller sent no valid traceparent.
    let server = propagator.extract_or_start(&request.headers, &mut ids);
    for action in &actions {
        let Some(url) = action.get("url").and_then(serde_json::Value::as_str) else {
            continue;
        };
        let arguments = action
            .get("arguments")
            .cloned()
            .unwrap_or(serde_json::Value::Array(Vec::new()));
        let call = server.child(&mut ids);
        let mut headers: Vec<(String, String)> = Vec::new();
        propagator.inject(&call, &mut headers);
        if let Err(e) = post(url, &headers, arguments.to_string().as_bytes()) {
            eprintln!("tracecontext_service: POST {url} failed: {e}");
        }
    }
    respond(&mut stream, "200 OK", "{}")
}

/// POSTs `body` to a plain `http://HOST:PORT/PATH` URL and waits for the
/// response status line.
fn post(url: &str, headers: &[(String, String)], body: &[u8]) -> io::Result<u16> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| invalid(format!("only http:// URLs are supported, got {url:?}")))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = TcpStream::connect(authority)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: application/json\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()?;
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status)?;
    let code = status
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| invalid(format!("malformed status line {status:?}")))?;
    // Skip the headers and a declared body; without a length, read to the close.
    let mut length = None;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<u64>().ok();
        }
    }
    match length {
        Some(n) => io::copy(&mut reader.take(n), &mut io::sink())?,
        None => io::copy(&mut reader, &mut io::sink())?,
    };
    Ok(code)
}
