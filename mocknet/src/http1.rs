//! Just enough HTTP/1.1 to serve a mock: reading requests (with `Content-Length` or chunked
//! bodies) and writing responses byte by byte, so that faults can break them on purpose.
//!
//! Why not hyper's server: a fault must reach the client exactly as configured (a
//! `Content-Length` that lies, bytes that are not HTTP, a body that dribbles), and hyper's
//! server writes well-formed messages only. `httparse` (hyper's own parser) reads the head.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Longest request head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Most headers accepted.
const MAX_HEADERS: usize = 96;
/// Largest request body accepted.
const MAX_BODY: usize = 16 * 1024 * 1024;

#[derive(Debug)]
pub(crate) struct RawRequest {
    pub(crate) method: String,
    pub(crate) target: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// The client asked to close (or spoke HTTP/1.0 without keep-alive).
    pub(crate) close: bool,
}

/// The interim response a client sending `Expect: 100-continue` waits for before its body.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer closed or failed before a request began.
    Closed,
    /// The request is not one this server can read; answer with the status (400, or 413, 414
    /// and 431 for a body, request line or header section over the limits) and close.
    Bad(u16, &'static str),
    /// Reading failed; the connection is gone.
    Io,
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> Self {
        ReadError::Io
    }
}

/// Reads one request; `buf` carries bytes already read past the previous request.
///
/// Writes only the `100 Continue` a client asks for with `Expect: 100-continue`.
pub(crate) async fn read_request<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> Result<RawRequest, ReadError> {
    let (head_len, mut request, framing, expects_continue) = loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(buf) {
            Ok(httparse::Status::Complete(len)) => break head(&parsed, len)?,
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => {}
            // Refused before any more of it is read: a request line that has not ended within
            // the limit is 414, a header section that has not is 431.
            Ok(httparse::Status::Partial) if !buf.windows(2).any(|pair| pair == b"\r\n") => {
                return Err(ReadError::Bad(414, "request line too long"));
            }
            Ok(httparse::Status::Partial) => {
                return Err(ReadError::Bad(431, "request header section too large"));
            }
            Err(httparse::Error::TooManyHeaders) => {
                return Err(ReadError::Bad(431, "too many request headers"));
            }
            Err(_) => return Err(ReadError::Bad(400, "malformed request head")),
        }
        if stream.read_buf(buf).await? == 0 {
            return Err(if buf.is_empty() {
                ReadError::Closed
            } else {
                ReadError::Bad(400, "connection closed inside the request head")
            });
        }
    };
    buf.drain(..head_len);
    let has_body = !matches!(framing, Framing::Length(0));
    if expects_continue && has_body && buf.is_empty() {
        stream.write_all(CONTINUE).await?;
    }
    request.body = match framing {
        Framing::Length(len) => {
            while buf.len() < len {
                if stream.read_buf(buf).await? == 0 {
                    return Err(ReadError::Bad(
                        400,
                        "connection closed inside the request body",
                    ));
                }
            }
            buf.drain(..len).collect()
        }
        Framing::Chunked => read_chunked(stream, buf).await?,
    };
    Ok(request)
}

enum Framing {
    Length(usize),
    Chunked,
}

fn head(
    parsed: &httparse::Request<'_, '_>,
    len: usize,
) -> Result<(usize, RawRequest, Framing, bool), ReadError> {
    let method = parsed.method.unwrap_or_default().to_string();
    let target = parsed.path.unwrap_or_default().to_string();
    let mut headers = Vec::with_capacity(parsed.headers.len());
    let mut framing = Framing::Length(0);
    let mut close = parsed.version == Some(0);
    let mut expects_continue = false;
    for header in parsed.headers.iter() {
        let name = header.name.to_ascii_lowercase();
        let value = String::from_utf8_lossy(header.value).into_owned();
        match name.as_str() {
            "content-length" => {
                let len = value
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| ReadError::Bad(400, "invalid content-length"))?;
                // Refused from the header, before a byte of the body is read.
                if len > MAX_BODY {
                    return Err(ReadError::Bad(413, "request body too large"));
                }
                framing = Framing::Length(len);
            }
            "transfer-encoding" if value.to_ascii_lowercase().contains("chunked") => {
                framing = Framing::Chunked;
            }
            "expect" if value.eq_ignore_ascii_case("100-continue") => expects_continue = true,
            "connection" => {
                let value = value.to_ascii_lowercase();
                if value.contains("close") {
                    close = true;
                } else if value.contains("keep-alive") {
                    close = false;
                }
            }
            _ => {}
        }
        headers.push((name, value));
    }
    let request = RawRequest {
        method,
        target,
        headers,
        body: Vec::new(),
        close,
    };
    Ok((len, request, framing, expects_continue))
}

/// Decodes a chunked body (RFC 9112 §7.1), discarding extensions and trailers.
async fn read_chunked<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    loop {
        let line = read_line(stream, buf).await?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| ReadError::Bad(400, "invalid chunk size"))?;
        if size == 0 {
            // Trailers end with an empty line.
            while !read_line(stream, buf).await?.is_empty() {}
            return Ok(body);
        }
        if body.len().saturating_add(size) > MAX_BODY {
            return Err(ReadError::Bad(413, "request body too large"));
        }
        while buf.len() < size + 2 {
            if stream.read_buf(buf).await? == 0 {
                return Err(ReadError::Bad(400, "connection closed inside a chunk"));
            }
        }
        body.extend(buf.drain(..size));
        if buf.drain(..2).as_slice() != b"\r\n" {
            return Err(ReadError::Bad(400, "chunk not followed by CRLF"));
        }
    }
}

async fn read_line<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> Result<String, ReadError> {
    loop {
        if let Some(end) = buf.windows(2).position(|pair| pair == b"\r\n") {
            let line = String::from_utf8_lossy(&buf[..end]).into_owned();
            buf.drain(..end + 2);
            return Ok(line);
        }
        if buf.len() > MAX_HEAD {
            return Err(ReadError::Bad(400, "chunk line too long"));
        }
        if stream.read_buf(buf).await? == 0 {
            return Err(ReadError::Bad(
                400,
                "connection closed inside a chunked body",
            ));
        }
    }
}

/// The whole response refusing a request that cannot be read: `status`, `why` as the body,
/// and `connection: close`.
pub(crate) fn refusal(status: u16, why: &str) -> Vec<u8> {
    let mut out = response_head(status, [], why.len(), true);
    out.extend_from_slice(why.as_bytes());
    out
}

/// The status line and headers of a response, ending with the blank line.
pub(crate) fn response_head<'a>(
    status: u16,
    headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    content_length: usize,
    close: bool,
) -> Vec<u8> {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .unwrap_or("Unknown");
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(format!("HTTP/1.1 {status} {reason}\r\n").as_bytes());
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    // RFC 9110 §8.6: no Content-Length on a 204.
    if status != 204 {
        out.extend_from_slice(format!("content-length: {content_length}\r\n").as_bytes());
    }
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read_all(bytes: &[u8]) -> Result<Vec<RawRequest>, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|err| err.to_string())?;
        runtime.block_on(async {
            let mut stream = tokio::io::join(bytes, tokio::io::sink());
            let mut buf = Vec::new();
            let mut out = Vec::new();
            loop {
                match read_request(&mut stream, &mut buf).await {
                    Ok(request) => out.push(request),
                    Err(ReadError::Closed) => return Ok(out),
                    Err(ReadError::Bad(_, why)) => return Err(why.to_string()),
                    Err(ReadError::Io) => return Err("io error".into()),
                }
            }
        })
    }

    #[test]
    fn pipelined_requests_are_read_in_order_with_their_bodies() {
        let requests = read_all(
            b"POST /a?x=1 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\nConnection: close\r\n\r\n",
        )
        .expect("valid requests");
        assert_eq!(requests.len(), 2);
        assert_eq!(
            (requests[0].method.as_str(), requests[0].target.as_str()),
            ("POST", "/a?x=1")
        );
        assert_eq!(requests[0].body, b"abc");
        assert!(!requests[0].close);
        assert!(requests[1].close);
    }

    #[test]
    fn chunked_body_from_rfc_9112_example_is_decoded() {
        let requests = read_all(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nExpires: never\r\n\r\n",
        )
        .expect("valid chunked request");
        assert_eq!(requests[0].body, b"Wikipedia");
    }

    #[test]
    fn truncated_body_is_a_bad_request() {
        let err = read_all(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc").expect_err("short");
        assert_eq!(err, "connection closed inside the request body");
    }

    #[test]
    fn response_head_has_reason_length_and_close() {
        let head = response_head(503, [("retry-after", b"1".as_slice())], 0, true);
        assert_eq!(
            head,
            b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        );
    }

    proptest! {
        #[test]
        fn chunked_encoding_round_trips(body in proptest::collection::vec(any::<u8>(), 0..300),
                                        split in 1usize..64) {
            let mut wire = b"PUT /x HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
            for chunk in body.chunks(split) {
                wire.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                wire.extend_from_slice(chunk);
                wire.extend_from_slice(b"\r\n");
            }
            wire.extend_from_slice(b"0\r\n\r\n");
            let requests = read_all(&wire).map_err(TestCaseError::fail)?;
            prop_assert_eq!(&requests[0].body, &body);
        }

        #[test]
        fn arbitrary_bytes_never_panic_the_reader(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = read_all(&bytes);
        }
    }
}
