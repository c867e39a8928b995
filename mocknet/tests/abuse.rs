//! The server under load and abuse, in real time and bounded: many concurrent keep-alive
//! clients lose and duplicate no journal entry and leak no descriptor; idle and slow
//! connections (slowloris) do not stop another client being served, and a request timeout
//! closes them; oversized request lines, header sections and bodies are refused with 414, 431
//! and 413 before they are buffered; pipelined and half-closed requests are answered.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use steadfast_determinism::wait::eventually;
use steadfast_mocknet::matchers::path;
use steadfast_mocknet::{Mock, MockNet, ResponseTemplate};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{dial_out_of_descriptors, open_descriptors, run_alone};

const CLIENTS: usize = 1_000;
const REQUESTS_PER_CLIENT: usize = 100;
/// The bound on every wait of these tests, in real time.
const DEADLINE: Duration = Duration::from_secs(60);

async fn server(request_timeout: Option<Duration>) -> MockNet {
    let builder = MockNet::builder().seed(1);
    let builder = match request_timeout {
        Some(timeout) => builder.request_timeout(timeout),
        None => builder,
    };
    let net = builder.start().await.expect("server starts");
    Mock::given(path("/load"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .named("load")
        .mount(&net)
        .await;
    net
}

/// Reads one response from `stream`: its status and body (`Content-Length` framed), keeping
/// bytes of the next one in `buf`.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> (u16, Vec<u8>) {
    let head_end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.expect("read");
        assert!(n > 0, "closed before a response head: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status: u16 = head[9..12].parse().expect("a status code");
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .map_or(0, |value| value.trim().parse().expect("a length"));
    while buf.len() < head_end + length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.expect("read");
        assert!(n > 0, "closed inside a response body");
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[head_end..head_end + length].to_vec();
    buf.drain(..head_end + length);
    (status, body)
}

/// Everything the server sends until it closes the connection.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    // A reset after the answer (the server closes with unread input) still ends the read.
    let _ = tokio::time::timeout(DEADLINE, stream.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_thousand_keep_alive_clients_lose_no_request_and_leak_no_descriptor() {
    let before = open_descriptors();
    let net = server(None).await;
    let addr = net.addr();
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.expect("connect");
                let mut buf = Vec::new();
                let mut latencies = Vec::with_capacity(REQUESTS_PER_CLIENT);
                for n in 0..REQUESTS_PER_CLIENT {
                    let sent = Instant::now();
                    let request = format!("GET /load?c={client}&n={n} HTTP/1.1\r\nhost: x\r\n\r\n");
                    stream.write_all(request.as_bytes()).await.expect("write");
                    let (status, body) = read_response(&mut stream, &mut buf).await;
                    assert_eq!((status, body.as_slice()), (200, &b"ok"[..]));
                    latencies.push(sent.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(CLIENTS * REQUESTS_PER_CLIENT);
    for client in clients {
        latencies.extend(client.await.expect("client finished"));
    }
    let elapsed = started.elapsed();

    let journal = net.journal();
    assert_eq!(journal.len(), CLIENTS * REQUESTS_PER_CLIENT);
    let seen: HashSet<&str> = journal
        .iter()
        .map(|entry| entry.query.as_deref().expect("a query"))
        .collect();
    assert_eq!(
        seen.len(),
        CLIENTS * REQUESTS_PER_CLIENT,
        "a request was journaled twice"
    );
    net.assert_called("load", CLIENTS * REQUESTS_PER_CLIENT);
    latencies.sort();
    eprintln!(
        "steadfast: {} requests in {elapsed:?} ({:.0}/s), p50 {:?}, p99 {:?}",
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        latencies[latencies.len() / 2],
        latencies[latencies.len() * 99 / 100],
    );

    drop(net);
    eventually(DEADLINE, || async { open_descriptors() <= before })
        .await
        .unwrap_or_else(|err| {
            panic!(
                "{err}: {} descriptors open, {before} before",
                open_descriptors()
            )
        });
}

#[tokio::test]
async fn a_thousand_slow_connections_do_not_stop_another_client_being_served() {
    let net = server(None).await;
    let mut slow = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let mut stream = TcpStream::connect(net.addr()).await.expect("connect");
        stream
            .write_all(b"GET /load HTTP/1.1\r\nhost: x\r\n")
            .await
            .expect("write");
        slow.push(stream);
    }

    let mut stream = TcpStream::connect(net.addr()).await.expect("connect");
    stream
        .write_all(b"GET /load HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("write");
    let (status, body) = tokio::time::timeout(
        Duration::from_secs(5),
        read_response(&mut stream, &mut Vec::new()),
    )
    .await
    .expect("served within its deadline while a thousand connections stall");

    assert_eq!((status, body.as_slice()), (200, &b"ok"[..]));
    assert_eq!(net.journal().len(), 1);
}

#[tokio::test]
async fn the_request_timeout_answers_slow_connections_408_and_closes_idle_ones() {
    let net = server(Some(Duration::from_millis(300))).await;
    let mut slow = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let mut stream = TcpStream::connect(net.addr()).await.expect("connect");
        stream
            .write_all(b"GET /load HTTP/1.1\r\nhost: x\r\n")
            .await
            .expect("write");
        slow.push(stream);
    }
    let mut idle = TcpStream::connect(net.addr()).await.expect("connect");

    for stream in &mut slow {
        let answer = read_to_close(stream).await;
        assert!(answer.starts_with("HTTP/1.1 408 "), "{answer:?}");
    }
    assert_eq!(read_to_close(&mut idle).await, "");
    assert!(net.journal().is_empty());
}

#[tokio::test]
async fn an_overlong_request_line_is_414_before_it_ends() {
    let net = server(None).await;
    let mut stream = TcpStream::connect(net.addr()).await.expect("connect");
    let line = format!("GET /{}", "a".repeat(70 * 1024));
    stream.write_all(line.as_bytes()).await.expect("write");

    let answer = read_to_close(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 414 "), "{answer:?}");
    assert!(answer.ends_with("request line too long"), "{answer:?}");
}

#[tokio::test]
async fn too_many_or_too_large_headers_are_431() {
    let net = server(None).await;
    let many: String = (0..200).map(|i| format!("x-h{i}: v\r\n")).collect();
    let large = format!("x-large: {}\r\n", "v".repeat(70 * 1024));
    for (headers, why) in [
        (many, "too many request headers"),
        (large, "request header section too large"),
    ] {
        let mut stream = TcpStream::connect(net.addr()).await.expect("connect");
        let request = format!("GET /load HTTP/1.1\r\nhost: x\r\n{headers}");
        stream.write_all(request.as_bytes()).await.expect("write");

        let answer = read_to_close(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 431 "), "{answer:?}");
        assert!(answer.ends_with(why), "{answer:?}");
    }
}

#[tokio::test]
async fn an_oversized_body_is_413_before_a_byte_of_it_is_sent() {
    let net = server(None).await;
    for head in [
        "POST /load HTTP/1.1\r\nhost: x\r\ncontent-length: 1073741824\r\n\r\n",
        "POST /load HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n40000000\r\n",
    ] {
        let mut stream = TcpStream::connect(net.addr()).await.expect("connect");
        stream.write_all(head.as_bytes()).await.expect("write");

        // Nothing of the body was sent: the answer can only come from the head.
        let answer = read_to_close(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 413 "), "{answer:?}");
        assert!(answer.ends_with("request body too large"), "{answer:?}");
    }
    assert!(net.journal().is_empty());
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order_and_a_half_closed_one_still_is() {
    let net = server(None).await;
    let mut stream = TcpStream::connect(net.addr()).await.expect("connect");
    let pipelined: String = (0..3)
        .map(|n| format!("GET /load?n={n} HTTP/1.1\r\nhost: x\r\n\r\n"))
        .collect();
    stream.write_all(pipelined.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    for _ in 0..3 {
        assert_eq!(read_response(&mut stream, &mut buf).await.0, 200);
    }
    let order: Vec<_> = net
        .journal()
        .iter()
        .map(|entry| entry.query.clone().unwrap_or_default())
        .collect();
    assert_eq!(order, ["n=0", "n=1", "n=2"]);

    let mut half = TcpStream::connect(net.addr()).await.expect("connect");
    half.write_all(b"GET /load?n=half HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("write");
    half.shutdown().await.expect("close the write half");
    let answer = read_to_close(&mut half).await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer:?}");
    assert!(answer.ends_with("ok"), "{answer:?}");
}

#[test]
fn a_server_out_of_descriptors_waits_instead_of_spinning() {
    run_alone(
        "abuse::server_out_of_descriptors_in_a_process_of_its_own",
        DEADLINE,
        "out of descriptors, the server kept the runtime busy: virtual time never moved",
    );
}

#[test]
#[ignore = "lowers its process's descriptor limit: run by a_server_out_of_descriptors_waits_instead_of_spinning"]
fn server_out_of_descriptors_in_a_process_of_its_own() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let net = server(None).await;
        let mut streams = dial_out_of_descriptors(net.addr()).await;

        for stream in &mut streams {
            stream
                .write_all(b"GET /load HTTP/1.1\r\nhost: x\r\n\r\n")
                .await
                .expect("write");
            let (status, body) = read_response(stream, &mut Vec::new()).await;
            assert_eq!((status, body.as_slice()), (200, &b"ok"[..]));
        }
        net.assert_called("load", 3);
    });
}
