//! Integration tests of steadfast-tower, one module per area.

// The axum tests use `FaultLayer::for_axum`.
#[cfg(feature = "axum")]
mod axum_service;
mod hyper_service;
mod share;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// What came back for one raw HTTP/1.1 request.
#[derive(Debug)]
pub(crate) enum Answer {
    /// The status code and the body text.
    Response(u16, String),
    /// The connection closed (or was reset) before any byte of a response.
    Closed,
    /// Nothing arrived within the (virtual) time limit, and the connection stayed open.
    Silent,
}

/// Sends `GET target` with `headers` and reads until the server closes the connection.
pub(crate) async fn get(addr: SocketAddr, target: &str, headers: &[(&str, &str)]) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut head = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut bytes)).await;
    match read {
        Err(_) if bytes.is_empty() => Answer::Silent,
        Err(_) => panic!(
            "a partial answer, then silence: {:?}",
            String::from_utf8_lossy(&bytes)
        ),
        Ok(_) if bytes.is_empty() => Answer::Closed,
        Ok(_) => {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let status = text[9..12].parse().unwrap();
            let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
            Answer::Response(status, body.to_owned())
        }
    }
}
