//! What a test function returns, as the harness reads it.

use std::fmt::Debug;

/// A test function's return value: `()`, or a `Result` whose `Err` fails the test.
///
/// `#[deterministic_test]` and steadfast-flaky's `retry` read every attempt's outcome through
/// this trait, so a test may return whatever libtest accepts from tests: `()` or
/// `Result<T, E: Debug>`. Implement it for your own type to let a harness built on these
/// crates tell a pass from a failure.
///
/// ```
/// use steadfast_determinism::TestOutcome;
///
/// assert_eq!(().failure(), None);
/// assert_eq!(Ok::<u8, String>(1).failure(), None);
/// assert_eq!(Err::<(), _>("boom").failure().as_deref(), Some("\"boom\""));
/// ```
pub trait TestOutcome {
    /// A description of the failure, if the test failed by returning it (the `Debug` text of
    /// the error, as libtest prints it).
    fn failure(&self) -> Option<String>;
}

impl TestOutcome for () {
    fn failure(&self) -> Option<String> {
        None
    }
}

impl<T, E: Debug> TestOutcome for Result<T, E> {
    fn failure(&self) -> Option<String> {
        self.as_ref().err().map(|err| format!("{err:?}"))
    }
}
