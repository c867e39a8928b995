//! `STEADFAST_MOCKNET_MODE`: one switch that runs a suite against its cassettes, records them
//! again, or checks them against the live service.

use std::ffi::{OsStr, OsString};

use crate::error::{Error, ErrorKind};

/// The environment variable that picks the [`Mode`].
pub const MODE_ENV: &str = "STEADFAST_MOCKNET_MODE";

/// What a [`Cassette`](crate::Cassette) does: read from `STEADFAST_MOCKNET_MODE` by
/// [`Mode::from_env`].
///
/// | value | mode |
/// | --- | --- |
/// | unset, `replay` | [`Replay`](Mode::Replay) |
/// | `record` | [`Record`](Mode::Record), refused when `CI` is set |
/// | `force-record` | [`Record`](Mode::Record), also when `CI` is set |
/// | `verify` | [`Verify`](Mode::Verify) |
///
/// `CI` counts as set when it is neither empty, `0` nor `false`: a CI run that records would
/// rewrite its cassettes from whatever the live service says that day.
///
/// # Example
///
/// ```
/// use std::ffi::OsString;
/// use steadfast_mocknet::Mode;
///
/// let env = |mode: &'static str| {
///     move |name: &str| match name {
///         "STEADFAST_MOCKNET_MODE" => Some(OsString::from(mode)),
///         "CI" => Some(OsString::from("true")),
///         _ => None,
///     }
/// };
/// assert_eq!(Mode::from_env_with(|_| None)?, Mode::Replay);
/// assert_eq!(Mode::from_env_with(env("force-record"))?, Mode::Record);
/// let err = Mode::from_env_with(env("record")).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     r#"environment variable STEADFAST_MOCKNET_MODE has invalid value "record": expected replay or verify while CI is set (force-record records anyway)"#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Mode {
    /// Serve the recorded scenario (the default).
    #[default]
    Replay,
    /// Proxy to the live service and write what it answers into the cassette.
    Record,
    /// Talk to the live service, then check the cassette against it.
    Verify,
}

impl Mode {
    /// The mode `STEADFAST_MOCKNET_MODE` asks for, `CI` taken into account.
    ///
    /// # Errors
    ///
    /// As [`from_env_with`](Self::from_env_with).
    pub fn from_env() -> Result<Mode, Error> {
        Mode::from_env_with(|name| std::env::var_os(name))
    }

    /// Like [`from_env`](Self::from_env), with the environment (`STEADFAST_MOCKNET_MODE` and
    /// `CI`) read through `lookup`, which answers as [`std::env::var_os`] does.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidEnv`] naming `STEADFAST_MOCKNET_MODE` when its value is none of
    /// `replay`, `record`, `force-record` and `verify`, or is `record` while `CI` is set.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Mode, Error> {
        let ci = lookup("CI");
        let Some(value) = lookup(MODE_ENV) else {
            return Ok(Mode::Replay);
        };
        let invalid = |expected: &str| {
            Error::new(ErrorKind::InvalidEnv)
                .with_variable(MODE_ENV)
                .with_value(value.to_string_lossy())
                .with_detail(expected.to_string())
        };
        let in_ci = ci
            .as_deref()
            .and_then(OsStr::to_str)
            .is_some_and(|ci| !matches!(ci.trim(), "" | "0" | "false"));
        match value.to_str() {
            Some("replay") => Ok(Mode::Replay),
            Some("verify") => Ok(Mode::Verify),
            Some("force-record") => Ok(Mode::Record),
            Some("record") if in_ci => Err(invalid(
                "replay or verify while CI is set (force-record records anyway)",
            )),
            Some("record") => Ok(Mode::Record),
            _ => Err(invalid("one of replay, record, force-record, verify")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(value: &str, ci: Option<&str>) -> Result<Mode, Error> {
        let value = value.to_string();
        let ci = ci.map(str::to_string);
        Mode::from_env_with(move |name| match name {
            MODE_ENV => Some(OsString::from(&value)),
            "CI" => ci.as_ref().map(OsString::from),
            _ => None,
        })
    }

    #[test]
    fn each_value_picks_its_mode_and_record_needs_no_ci() {
        assert_eq!(mode("replay", None).ok(), Some(Mode::Replay));
        assert_eq!(mode("verify", Some("true")).ok(), Some(Mode::Verify));
        assert_eq!(mode("record", None).ok(), Some(Mode::Record));
        assert_eq!(mode("record", Some("false")).ok(), Some(Mode::Record));
        assert_eq!(mode("force-record", Some("1")).ok(), Some(Mode::Record));
    }

    #[test]
    fn malformed_value_names_the_variable_and_the_values_that_would_do() {
        let err = mode("Record", None).expect_err("case matters");

        assert_eq!(err.kind(), ErrorKind::InvalidEnv);
        assert_eq!(
            (err.variable(), err.value()),
            (Some(MODE_ENV), Some("Record"))
        );
        assert_eq!(
            err.to_string(),
            "environment variable STEADFAST_MOCKNET_MODE has invalid value \"Record\": \
             expected one of replay, record, force-record, verify"
        );
    }

    #[test]
    fn record_in_ci_is_refused() {
        let err = mode("record", Some("1")).expect_err("CI is set");

        assert_eq!(err.kind(), ErrorKind::InvalidEnv);
        assert!(
            err.to_string().ends_with("(force-record records anyway)"),
            "{err}"
        );
    }
}
