//! The faults the layer injects and their names.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use http::StatusCode;

use crate::error::{Error, ErrorKind};

/// The fault names a request may ask for, as listed in a 400 answer.
pub const KNOWN_FAULTS: &str = "fail, status:CODE, delay:MS, drop, abort";

/// One fault to inject into a request.
///
/// | name | what the client sees |
/// | --- | --- |
/// | `fail` | a `503 Service Unavailable` at once; the service is not called |
/// | `status:CODE` | that status (400–599) at once; the service is not called |
/// | `delay:MS` | the service's own response, MS milliseconds late (on tokio's clock, so virtual time in a paused test) |
/// | `drop` | nothing: the request is never answered and the connection stays open until the client gives up |
/// | `abort` | the connection is closed without a response |
///
/// ```
/// use std::time::Duration;
/// use steadfast_tower::Fault;
///
/// assert_eq!("delay:250".parse::<Fault>()?, Fault::delay(Duration::from_millis(250)));
/// assert_eq!(Fault::fail().to_string(), "fail");
/// assert_eq!("status:429".parse::<Fault>()?.to_string(), "status:429");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fault(pub(crate) Kind);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Status(StatusCode),
    Delay(Duration),
    Drop,
    Abort,
}

impl Fault {
    /// `fail`: a 503.
    pub fn fail() -> Self {
        Self(Kind::Status(StatusCode::SERVICE_UNAVAILABLE))
    }

    /// `status:CODE`: answer with `status` instead of calling the service.
    pub fn status(status: StatusCode) -> Self {
        Self(Kind::Status(status))
    }

    /// `delay:MS`: the service's response, `by` late.
    pub fn delay(by: Duration) -> Self {
        Self(Kind::Delay(by))
    }

    /// `drop`: never answer.
    pub fn drop_response() -> Self {
        Self(Kind::Drop)
    }

    /// `abort`: close the connection without a response.
    pub fn abort() -> Self {
        Self(Kind::Abort)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Kind::Status(StatusCode::SERVICE_UNAVAILABLE) => f.write_str("fail"),
            Kind::Status(status) => write!(f, "status:{}", status.as_u16()),
            Kind::Delay(by) => write!(f, "delay:{}", by.as_millis()),
            Kind::Drop => f.write_str("drop"),
            Kind::Abort => f.write_str("abort"),
        }
    }
}

impl FromStr for Fault {
    type Err = Error;

    /// Parses a fault name: `fail`, `status:CODE`, `delay:MS`, `drop` or `abort`
    /// (ASCII case-insensitive, surrounding whitespace ignored).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnknownFault`] for any other name, [`ErrorKind::InvalidFault`] for a
    /// malformed argument.
    fn from_str(input: &str) -> Result<Self, Error> {
        let text = input.trim();
        let (name, argument) = match text.split_once(':') {
            Some((name, argument)) => (name, Some(argument)),
            None => (text, None),
        };
        let name = name.to_ascii_lowercase();
        match (name.as_str(), argument) {
            ("fail", None) => Ok(Self::fail()),
            ("drop", None) => Ok(Self::drop_response()),
            ("abort", None) => Ok(Self::abort()),
            ("delay", Some(ms)) => ms
                .parse::<u64>()
                .map(|ms| Self::delay(Duration::from_millis(ms)))
                .map_err(|_| {
                    Error::new(
                        ErrorKind::InvalidFault,
                        input,
                        "delay:MS with MS a whole number of milliseconds",
                    )
                }),
            ("status", Some(code)) => code
                .parse::<u16>()
                .ok()
                .filter(|code| (400..600).contains(code))
                .and_then(|code| StatusCode::from_u16(code).ok())
                .map(Self::status)
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidFault,
                        input,
                        "status:CODE with CODE an error status from 400 to 599",
                    )
                }),
            ("fail" | "drop" | "abort", Some(_)) => Err(Error::new(
                ErrorKind::InvalidFault,
                input,
                "fail, drop and abort take no argument",
            )),
            ("delay" | "status", None) => Err(Error::new(
                ErrorKind::InvalidFault,
                input,
                "delay:MS or status:CODE, with the argument after a colon",
            )),
            _ => Err(Error::new(ErrorKind::UnknownFault, input, KNOWN_FAULTS)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_name_round_trips_through_display() {
        for name in [
            "fail",
            "status:429",
            "delay:0",
            "delay:1500",
            "drop",
            "abort",
        ] {
            assert_eq!(name.parse::<Fault>().unwrap().to_string(), name);
        }
        assert_eq!(" FAIL ".parse::<Fault>().unwrap(), Fault::fail());
        assert_eq!("status:503".parse::<Fault>().unwrap(), Fault::fail());
    }

    #[test]
    fn malformed_arguments_are_invalid_not_unknown() {
        for bad in [
            "delay:soon",
            "delay",
            "status:200",
            "status:99999",
            "abort:now",
        ] {
            let err = bad.parse::<Fault>().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidFault, "{bad}");
            assert!(err.to_string().starts_with("invalid fault"), "{err}");
        }
        assert_eq!(
            "".parse::<Fault>().unwrap_err().kind(),
            ErrorKind::UnknownFault
        );
    }
}
