//! The `#[deterministic_test]` attribute of steadfast.
//!
//! Use it through `steadfast` (`steadfast::deterministic_test`) or `steadfast-determinism`
//! (`steadfast_determinism::deterministic_test`); its documentation lives there with runnable
//! examples. This crate only parses the attribute ([`attr`](crate)) and writes the test
//! function ([`expand`](crate)).

use proc_macro::TokenStream;

mod attr;
mod expand;

/// Turns a `fn` or `async fn` into a deterministic test: a seed from `STEADFAST_SEED` (or
/// pinned), a seeded RNG and a test clock in a [`TestContext`], a replay line on failure.
///
/// Replaces `#[test]` and `#[tokio::test]`. Async tests run on a current-thread tokio runtime
/// with paused time, so an hour of `tokio::time::sleep` takes milliseconds of wall time.
///
/// The function may take `ctx: &TestContext` as its only argument and may return `()` or a
/// `Result`.
///
/// # Arguments
///
/// | argument | meaning |
/// | --- | --- |
/// | `seed = 0x2a` | pin the test's seed (ignores `STEADFAST_SEED`) |
/// | `runs = N` | run N times with N derived seeds; a failure names the run and its seed |
/// | `start = "2026-01-01T00:00:00Z"` | the wall time the test clock starts at (RFC 3339) |
/// | `check_determinism = true` | run twice with the same seed and fail if the RNG draws or clock readings differ |
/// | `retries = N` | retry a failing test up to N times, recording every attempt (needs `steadfast-flaky`) |
/// | `tz = "Europe/Berlin"` | the time zone code on the test's thread sees (an IANA name, checked here; needs the `seal` feature) |
/// | `clock = "virtual"` | async tests: `"virtual"` (paused time, the default), `"real-peers"` (paused, but waits up to a grace for real peers' answers; needs `seal`) or `"real"` |
/// | `grace_ms = N` | with `clock = "real-peers"`: how long an idle runtime waits for a real peer |
/// | `flavor = "current_thread"` | accepted for ports from `#[tokio::test]`; `"multi_thread"` is refused because paused time needs the current-thread runtime |
///
/// Errors in the arguments are compile errors pointing at the argument.
///
/// # Coupling to steadfast-flaky
///
/// `retries = N` is the one argument served by another crate: the expansion calls
/// `steadfast_flaky::__macro_support::retry_test` (or `steadfast::flaky::…` through the facade),
/// which records each attempt in `attempts.jsonl` and applies `STEADFAST_FAIL_ON_FLAKY`. The
/// attribute finds that crate in the test crate's `Cargo.toml`; without it, `retries` is a
/// compile error saying which dependency to add. No other argument needs steadfast-flaky.
///
/// [`TestContext`]: https://docs.rs/steadfast-determinism/latest/steadfast_determinism/struct.TestContext.html
#[proc_macro_attribute]
pub fn deterministic_test(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    match attr::Args::parse(args.into()).and_then(|args| expand::expand(&args, item.clone())) {
        Ok(tokens) => tokens.into(),
        // Keep the function in the output so a bad argument gives one error, not a cascade of
        // "cannot find function" errors at its call sites.
        Err(err) => {
            let mut tokens = err.to_compile_error();
            tokens.extend(item);
            tokens.into()
        }
    }
}
