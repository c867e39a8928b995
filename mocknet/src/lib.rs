//! # steadfast-mocknet
//!
//! Named mock-network scenarios with seeded faults, served over real HTTP/1.1 on 127.0.0.1 and
//! running on the test's own tokio runtime, so that latencies and client timeouts follow the
//! test's virtual clock and the same seed always gives the same faults.
//!
//! In a test, `#[deterministic_test]` sets up the two things a server needs: the running
//! test's [`TestContext`](steadfast_determinism::TestContext), whose seed the faults are drawn
//! from, and a current-thread tokio runtime with its clock paused. Here they are made by hand,
//! as a benchmark or an example would:
//!
//! ```
//! use std::sync::Arc;
//! use steadfast_determinism::{Seed, TestContext};
//! use steadfast_mocknet::{Catalog, MockNet};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! const CATALOG: &str = r#"{"scenarios": {
//!     "happy-path": {"routes": [{"name": "charge", "method": "POST", "path": "/v1/charges",
//!                                "response": {"status": 201, "json": {"id": "ch_1"}}}]},
//!     "offline": {"extends": "happy-path", "overlays": ["offline"]}
//! }}"#;
//!
//! let ctx = Arc::new(TestContext::new("payments::offline_resets_the_charge", Seed::new(7)));
//! let _current = ctx.enter();
//! let runtime = tokio::runtime::Builder::new_current_thread()
//!     .enable_all()
//!     .start_paused(true)
//!     .build()?;
//! runtime.block_on(async {
//!     let catalog = Catalog::from_json("payments.json", CATALOG)?;
//!     let net = MockNet::builder().scenario(catalog.scenario("offline")?).start().await?;
//!
//!     let mut stream = tokio::net::TcpStream::connect(net.addr()).await?;
//!     stream.write_all(b"POST /v1/charges HTTP/1.1\r\ncontent-length: 0\r\n\r\n").await?;
//!     let err = stream.read(&mut [0; 64]).await.unwrap_err();
//!
//!     assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);
//!     assert_eq!(net.seed(), ctx.fork_rng("mocknet").seed());
//!     net.assert_called("charge", 1);
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Outside a deterministic test, give the seed yourself; on a paused runtime the scenario's
//! latency costs no wall time:
//!
//! ```
//! use std::time::Duration;
//! use steadfast_determinism::Seed;
//! use steadfast_mocknet::{Catalog, MockNet};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
//! let catalog = Catalog::from_json("c.json", r#"{"scenarios": {"slow": {"routes": [
//!     {"name": "quote", "path": "/quote", "response": {"json": {"eur": 1.08}},
//!      "faults": [{"kind": "latency", "ms": 3000}]}]}}}"#)?;
//! let net = MockNet::builder().scenario(catalog.scenario("slow")?).seed(Seed::new(7)).start().await?;
//!
//! let started = tokio::time::Instant::now();
//! let body = reqwest::get(format!("{}/quote", net.uri())).await?.text().await?;
//!
//! assert_eq!(body, r#"{"eur":1.08}"#);
//! assert_eq!(started.elapsed(), Duration::from_secs(3));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## What is here
//!
//! * [`Mock`] and [`MockNet::start`]: wiremock's builder and names (`Mock::given(..).and(..)
//!   .respond_with(..).expect(..).named(..).mount(&net)`), taking wiremock's matchers and any
//!   `wiremock::Respond`, with [faults](Fault) and [sequences](Step) on top; expectations are
//!   checked by [`MockNet::verify`] and when the server or a [`MockGuard`] drops. The
//!   [`matchers`] and [`ResponseTemplate`] here have wiremock's names too, and a scenario built
//!   from them is written out as catalog JSON by [`Scenario::to_catalog_json`]. The README's
//!   "Coming from wiremock" has a port side by side.
//! * [`MockNetBuilder::start_blocking`]: the server on a runtime of its own, for plain
//!   `#[test]`s with blocking clients.
//! * [`Catalog`]: scenarios and overlays as JSON (the format is in [`catalog`]), validated at
//!   load time; [`Catalog::selected`] picks one by `STEADFAST_SCENARIO`.
//! * [`Scenario`] and [`Overlay`]: routes matched with wiremock's matchers, responses,
//!   sequences, states and [faults](fault); [`Scenario::mount_on`] mounts the same routes on a
//!   plain `wiremock::MockServer`.
//! * [`MockNet`]: the server, with its [journal](JournalEntry) and assertions
//!   ([`assert_called`](MockNet::assert_called), [`assert_no_unmatched`](MockNet::assert_no_unmatched),
//!   [`assert_trace_propagated`](MockNet::assert_trace_propagated)), each with a `check_*` twin
//!   that returns an [`Error`] instead of panicking, and
//!   [`wait_for_requests`](MockNet::wait_for_requests).
//! * [`Error`]: the one error type; [`ErrorKind`] says what went wrong, accessors say where.
//! * [Webhook callbacks](callback): a route's `callback` is sent after its response, on the
//!   same runtime, continuing the request's trace, and recorded as a [`CallbackRecord`] in the
//!   journal ([`MockNetBuilder::callback_base`], [`MockNet::wait_for_callbacks`]).
//! * An OTLP/HTTP JSON collector at `/v1/traces` ([`MockNetBuilder::otlp_collector`]) that
//!   decodes exported spans into `steadfast_tracing_core::span::Span`s, so a test can check
//!   that the service under test exported a whole trace ([`MockNet::spans`]).
//! * [Recording](record): [`record::Recorder`] proxies to a live service and writes what it
//!   answers into a catalog scenario, secrets scrubbed, byte-identical for the same traffic;
//!   [`verify_live::Verifier`] sends the recorded requests again and reports drift (status,
//!   content type, JSON fields missing, added or retyped, with JSON pointers); a [`Cassette`]
//!   replays, records or verifies by [`Mode`] (`STEADFAST_MOCKNET_MODE`). The
//!   `steadfast-mocknet` binary has `record` and `verify` subcommands.
//! * [Links](link): [`Link`](link::Link), a TCP proxy on 127.0.0.1 in front of any
//!   upstream (HTTP, gRPC, PostgreSQL, a protocol of your own) with seeded faults per
//!   connection and direction, holds, partitions and a journal of [`NetEvent`](link::NetEvent)s.
//! * [Networks](network): [`Network`](network::Network), the user's own services as named
//!   nodes with a link for every ordered pair, [`Partition`](network::Partition)s (symmetric or
//!   one way) that heal when their guard drops, crashes and restarts at a stable address, and
//!   network scenarios from a catalog's `networks` section ([`Catalog::network`]).
//! * The `steadfast-mocknet` command: `steadfast-mocknet link --upstream HOST:PORT
//!   [--faults FILE]` puts a link in front of a service that runs as its own process, and
//!   `steadfast-mocknet serve CATALOG --scenario NAME` serves a scenario, both in real time,
//!   writing their journal as JSON lines on SIGINT or SIGTERM (`steadfast-mocknet help`).
//!
//! ## Faults at the transport level
//!
//! | fault | what the client sees |
//! | --- | --- |
//! | `latency`, `jitter-uniform`, `jitter-lognormal` | the response, later (virtual time under a paused clock) |
//! | `status` | the status, with `Retry-After` when configured |
//! | `reset` | a TCP RST: `io::ErrorKind::ConnectionReset` |
//! | `empty` | the connection closed before a byte of response |
//! | `malformed` | bytes that are not HTTP, then a close |
//! | `truncated` | a `Content-Length` longer than the body sent: an unexpected EOF |
//! | `dribble`, `bandwidth` | the body in paced chunks |
//! | `hang` | nothing, ever: only the client's timeout ends the wait |
//! | `refused` | for a period after the request, new connections meet a closed port: `io::ErrorKind::ConnectionRefused` |
//! | `close-on-accept` | the next connections are accepted and closed before a byte is read |
//!
//! ## Environment variables
//!
//! | variable | meaning |
//! | --- | --- |
//! | `STEADFAST_SCENARIO` | the scenario [`Catalog::selected`] returns (and the network scenario [`Catalog::selected_network`] returns); an empty, non-UTF-8 or unknown name is an error listing the known scenarios |
//! | `STEADFAST_SEED` | read by `steadfast-determinism`: the run seed the test's fault draws derive from |
//! | `STEADFAST_MOCKNET_MODE` | what a [`Cassette`] does ([`Mode::from_env`]): `replay` (the default), `record`, `force-record` or `verify`; `record` is refused while `CI` is set, and any other value is an error naming the variable |
//! | `CI` | when set (neither empty, `0` nor `false`), `STEADFAST_MOCKNET_MODE=record` is refused |
//!
//! ## Supported Rust versions
//!
//! The workspace's `rust-version` (1.88) and newer.

pub mod callback;
mod cassette;
pub mod catalog;
mod error;
pub mod fault;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzz;
mod http1;
mod journal;
pub mod link;
mod listener;
pub mod matchers;
mod mock;
mod mode;
pub mod network;
mod otlp;
pub mod record;
mod scenario;
mod server;
pub mod verify_live;

pub use callback::CallbackRecord;
pub use cassette::{Cassette, CassetteRun};
pub use catalog::{Catalog, SCENARIO_ENV};
pub use error::{Error, ErrorKind};
pub use fault::FaultKind;
pub use journal::JournalEntry;
pub use mock::{Fault, Mock, MockBuilder, MockGuard, ResponseTemplate, Step, Times};
pub use mode::{MODE_ENV, Mode};
pub use scenario::{Overlay, Scenario};
pub use server::{MockNet, MockNetBuilder, OTLP_COLLECTOR_ROUTE};

// The README's example runs as a doc-test too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
