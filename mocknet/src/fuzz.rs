//! Entry points for the fuzz targets in `fuzz/` (built only with `--cfg fuzzing`, which
//! `cargo fuzz` sets): the HTTP/1.1 request reader and the OTLP JSON decoders are private, and
//! the targets must reach them as the server does.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use steadfast_tracing_core::otlp_metrics::Metric;
use steadfast_tracing_core::span::Span;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::http1::{self, ReadError};

/// What reading one request from a byte stream gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// A whole request: its method, target and body length.
    Request {
        /// The method as sent.
        method: String,
        /// The request target as sent.
        target: String,
        /// The decoded body's length.
        body_len: usize,
    },
    /// The stream ended before a request began.
    Closed,
    /// The request was refused with this status and reason.
    Bad(u16, &'static str),
    /// Reading failed.
    Io,
}

/// Reads requests from `input` the way a connection of the server does, until the stream ends
/// or a request is refused, in chunks of `chunk` bytes (at least one) so that every split of a
/// request across reads is tried.
pub fn read_requests(input: &[u8], chunk: usize) -> Vec<Read> {
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(runtime) => runtime,
        Err(_) => return Vec::new(),
    };
    runtime.block_on(async {
        let mut stream = Chunked {
            input,
            chunk: chunk.max(1),
        };
        let mut buf = Vec::new();
        let mut reads = Vec::new();
        loop {
            let read = match http1::read_request(&mut stream, &mut buf).await {
                Ok(request) => Read::Request {
                    method: request.method,
                    target: request.target,
                    body_len: request.body.len(),
                },
                Err(ReadError::Closed) => Read::Closed,
                Err(ReadError::Bad(status, why)) => Read::Bad(status, why),
                Err(ReadError::Io) => Read::Io,
            };
            let last = !matches!(read, Read::Request { .. });
            reads.push(read);
            if last {
                return reads;
            }
        }
    })
}

/// Decodes an OTLP/HTTP JSON trace export as the collector route does.
///
/// # Errors
///
/// What was wrong and where, as the collector's 400 says it.
pub fn decode_otlp(body: &[u8]) -> Result<Vec<Span>, String> {
    crate::otlp::decode_spans(body)
}

/// Decodes an OTLP/HTTP JSON metrics export as the collector route does.
///
/// # Errors
///
/// What was wrong and where, as the collector's 400 says it.
pub fn decode_otlp_metrics(body: &[u8]) -> Result<Vec<Metric>, String> {
    crate::otlp::decode_metrics(body)
}

/// A client that sends `input` a chunk at a time and swallows what the server writes.
struct Chunked<'a> {
    input: &'a [u8],
    chunk: usize,
}

impl AsyncRead for Chunked<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self.chunk.min(self.input.len()).min(buf.remaining());
        let (head, rest) = self.input.split_at(n);
        buf.put_slice(head);
        self.input = rest;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Chunked<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
