//! # steadfast
//!
//! Test-support crates that make Rust test suites deterministic, observable and honest about
//! flakiness. One seed drives the RNG, the clock, the mock network's faults and the trace ids of a
//! test; a failing test prints that seed, and the same seed replays the same run.
//!
//! This facade re-exports each member crate as a module behind a cargo feature of the same name:
//!
//! | feature | module | crate |
//! | --- | --- | --- |
//! | `determinism` (default) | [`determinism`] and [`deterministic_test`] | `steadfast-determinism` |
//! | `mocknet` | `mocknet` | `steadfast-mocknet` |
//! | `visual` | `visual` | `steadfast-visual` |
//! | `insta` | `visual::InstaComparator` (turns on `visual`) | `steadfast-visual` with its `insta` feature |
//! | `flaky` | `flaky` | `steadfast-flaky` |
//! | `tracing-core` | `tracing_core` | `steadfast-tracing-core` |
//! | `tracing` | `tracing_bridge` | `steadfast-tracing-bridge`: a `tracing-subscriber` layer recording `tracing` spans as steadfast spans |
//! | `metrics` | `metrics` | `steadfast-metrics`: a `metrics` recorder scoped to the current test, with counter, gauge and percentile assertions |
//! | `tower` | `tower` | `steadfast-tower`: a tower layer injecting seeded faults into the service under test |
//! | `axum` | `tower::FaultLayer::for_axum` (turns on `tower`) | `steadfast-tower` with its `axum` feature: responses that keep axum's own `Body` |
//! | `full` | every feature above | |
//!
//! ## Example
//!
//! ```
//! use steadfast::determinism::{Clock, DetRng, ManualClock, Seed};
//! use std::time::Duration;
//!
//! let seed: Seed = "0x2a".parse()?;
//! let mut a = DetRng::from_seed(seed);
//! let mut b = DetRng::from_seed(seed);
//! assert_eq!(a.next_u64(), b.next_u64());
//!
//! let clock = ManualClock::default();
//! let before = clock.now();
//! clock.advance(Duration::from_secs(3600));
//! assert_eq!(clock.now().duration_since(before)?, Duration::from_secs(3600));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Supported Rust versions
//!
//! The minimum supported Rust version is the `rust-version` of the workspace (1.95); raising it
//! is a minor-version change.

// Shows which feature enables each re-export on docs.rs.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "determinism")]
#[cfg_attr(docsrs, doc(cfg(feature = "determinism")))]
#[doc(inline)]
pub use steadfast_determinism as determinism;

#[cfg(feature = "determinism")]
#[cfg_attr(docsrs, doc(cfg(feature = "determinism")))]
#[doc(inline)]
pub use steadfast_determinism::deterministic_test;

#[cfg(feature = "mocknet")]
#[cfg_attr(docsrs, doc(cfg(feature = "mocknet")))]
#[doc(inline)]
pub use steadfast_mocknet as mocknet;

#[cfg(feature = "visual")]
#[cfg_attr(docsrs, doc(cfg(feature = "visual")))]
#[doc(inline)]
pub use steadfast_visual as visual;

#[cfg(feature = "flaky")]
#[cfg_attr(docsrs, doc(cfg(feature = "flaky")))]
#[doc(inline)]
pub use steadfast_flaky as flaky;

#[cfg(feature = "tracing-core")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing-core")))]
#[doc(inline)]
pub use steadfast_tracing_core as tracing_core;

#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
#[doc(inline)]
pub use steadfast_tracing_bridge as tracing_bridge;

#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
#[doc(inline)]
pub use steadfast_metrics as metrics;

#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
#[doc(inline)]
pub use steadfast_tower as tower;

// The README's examples are doc-tests too (they use every member, so only with `full`).
#[cfg(all(doctest, feature = "full"))]
#[doc = include_str!("../README.md")]
mod readme {}
