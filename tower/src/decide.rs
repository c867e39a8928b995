//! What an enabled layer does with a request: read its switch, draw its share, decide.

use std::sync::{Mutex, PoisonError};

use http::Request;
use steadfast_determinism::DetRng;

use crate::error::ErrorKind;
use crate::fault::{Fault, KNOWN_FAULTS};
use crate::journal::{Journal, Trigger};

/// The request header that switches a fault on: `x-steadfast-fault: delay:250`.
pub const FAULT_HEADER: &str = "x-steadfast-fault";

/// The query parameter that switches a fault on: `?steadfast_fault=fail`.
pub const FAULT_QUERY: &str = "steadfast_fault";

/// The state an enabled layer shares with every service it made.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) share: Option<(f64, Fault)>,
    pub(crate) rng: Mutex<DetRng>,
    pub(crate) journal: Journal,
}

/// What a request asked for.
pub(crate) enum Decision {
    Pass,
    Inject(Fault, Trigger),
    /// A 400 with this text: the switch named no known fault.
    Reject(String),
}

impl Shared {
    pub(crate) fn decide<B>(&self, req: &Request<B>) -> Decision {
        // Drawn for every request, so an explicit switch does not shift the sequence.
        let drawn = self.share.and_then(|(share, fault)| {
            let draw = self
                .rng
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .unit_f64();
            (draw < share).then_some(fault)
        });
        let (asked, trigger, place) = if let Some(value) = req.headers().get(FAULT_HEADER) {
            let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (Some(text), Trigger::Header, "the x-steadfast-fault header")
        } else if let Some(text) = query_value(req.uri().query().unwrap_or(""), FAULT_QUERY) {
            (
                Some(text),
                Trigger::Query,
                "the steadfast_fault query parameter",
            )
        } else {
            (None, Trigger::Share, "")
        };
        match (asked, drawn) {
            (Some(text), _) => match text.parse::<Fault>() {
                Ok(fault) => Decision::Inject(fault, trigger),
                Err(err) if err.kind() == ErrorKind::UnknownFault => {
                    Decision::Reject(format!("steadfast: {err} (from {place})\n"))
                }
                Err(err) => Decision::Reject(format!(
                    "steadfast: {err} (from {place}); known faults: {KNOWN_FAULTS}\n"
                )),
            },
            (None, Some(fault)) => Decision::Inject(fault, Trigger::Share),
            (None, None) => Decision::Pass,
        }
    }
}

/// The percent-decoded value of `name` in a query string (`+` is a space).
fn query_value(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| percent_decode(value))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes
            .get(i + 1..i + 3)
            .filter(|hex| bytes[i] == b'%' && hex.iter().all(u8::is_ascii_hexdigit))
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (escaped, bytes[i]) {
            (Some(byte), _) => {
                out.push(byte);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, byte) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_decoded() {
        assert_eq!(
            query_value("a=1&steadfast_fault=delay%3A250", FAULT_QUERY).as_deref(),
            Some("delay:250")
        );
        assert_eq!(
            query_value("steadfast_fault=fail", FAULT_QUERY).as_deref(),
            Some("fail")
        );
        assert_eq!(query_value("steadfast_faults=fail", FAULT_QUERY), None);
        assert_eq!(
            query_value("steadfast_fault", FAULT_QUERY).as_deref(),
            Some("")
        );
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz+x"), "%zz x");
    }
}
