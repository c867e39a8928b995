//! The `traceparent` header: strict parsing and version-00 formatting.
//!
//! ```
//! use steadfast_tracing_core::TraceParent;
//!
//! let tp: TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse()?;
//! assert!(tp.flags().is_sampled());
//! assert_eq!(tp.to_string(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, ErrorKind};
use crate::ids::{SpanId, TraceFlags, TraceId, decode_hex, encode_hex, hex_val};

/// Length of a version-00 `traceparent` value.
pub const TRACEPARENT_LEN: usize = 55;

/// A parsed `traceparent`: trace id, parent span id and flags.
///
/// Parsing follows W3C Trace Context Level 2 strictly: lowercase hex only,
/// version `ff` is invalid, version `00` is exactly 55 characters, a future
/// version is read through its version-00-shaped prefix when the 56th character
/// is `-` or the value ends there, all-zero ids are invalid, and surrounding
/// spaces and tabs are trimmed. Parsing and formatting never allocate.
/// Formatting always emits version `00` with unknown flag bits zeroed.
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::TraceParent;
///
/// let future: TraceParent =
///     "cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like"
///         .parse()?;
/// assert_eq!(future.to_string(), "00-12345678901234567890123456789012-1234567890123456-01");
/// assert!("ff-12345678901234567890123456789012-1234567890123456-01".parse::<TraceParent>().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceParent {
    trace_id: TraceId,
    parent_id: SpanId,
    flags: TraceFlags,
}

/// Why a value was rejected: what, and where (or the length found).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reject {
    what: &'static str,
    at: usize,
    found: Option<usize>,
}

fn err(what: &'static str, at: usize) -> Reject {
    Reject {
        what,
        at,
        found: None,
    }
}

impl TraceParent {
    /// Builds a value from its parts.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TraceParent`] if either id is all zeros.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::{SpanId, TraceFlags, TraceId, TraceParent};
    ///
    /// let tp = TraceParent::new(TraceId::from_u128(1), SpanId::from_u64(2), TraceFlags::SAMPLED)?;
    /// assert_eq!(tp.to_string(), "00-00000000000000000000000000000001-0000000000000002-01");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(trace_id: TraceId, parent_id: SpanId, flags: TraceFlags) -> Result<Self, Error> {
        if !trace_id.is_valid() {
            return Err(Error::new(ErrorKind::TraceParent, "trace id is all zeros"));
        }
        if !parent_id.is_valid() {
            return Err(Error::new(ErrorKind::TraceParent, "parent id is all zeros"));
        }
        Ok(TraceParent {
            trace_id,
            parent_id,
            flags,
        })
    }

    /// Parses a header value strictly (see the type docs for the rules).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TraceParent`] naming the first problem and its byte offset
    /// (counted after trimming).
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::TraceParent;
    ///
    /// let tp = TraceParent::parse("\t 00-12345678901234567890123456789012-1234567890123456-01 ")?;
    /// assert_eq!(tp.trace_id().to_string(), "12345678901234567890123456789012");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse(value: &str) -> Result<Self, Error> {
        Self::parse_lean(value).map_err(|r| {
            let e = Error::new(ErrorKind::TraceParent, r.what);
            match r.found {
                Some(found) => e.found(found),
                None => e.at(r.at),
            }
        })
    }

    /// The parser behind [`TraceParent::parse`], with a small error so the
    /// hot path (and `extract`, which only needs yes or no) moves little data.
    #[inline]
    pub(crate) fn parse_lean(value: &str) -> Result<Self, Reject> {
        let mut s = value.as_bytes();
        while let [b' ' | b'\t', rest @ ..] = s {
            s = rest;
        }
        while let [rest @ .., b' ' | b'\t'] = s {
            s = rest;
        }
        if s.len() < TRACEPARENT_LEN {
            return Err(Reject {
                what: "expected at least 55 characters",
                at: 0,
                found: Some(s.len()),
            });
        }
        let (Some(v_hi), Some(v_lo)) = (hex_val(s[0]), hex_val(s[1])) else {
            return Err(err("version is not two lowercase hex digits", 0));
        };
        let version = (v_hi << 4) | v_lo;
        if version == 0xff {
            return Err(err("version ff is forbidden", 0));
        }
        if version == 0 {
            if s.len() != TRACEPARENT_LEN {
                return Err(err("version 00 must be exactly 55 characters", 55));
            }
        } else if s.len() > TRACEPARENT_LEN && s[TRACEPARENT_LEN] != b'-' {
            return Err(err("expected '-' after the flags of a future version", 55));
        }
        for at in [2, 35, 52] {
            if s[at] != b'-' {
                return Err(err("expected '-'", at));
            }
        }
        let trace: [u8; 16] =
            decode_hex(&s[3..35]).map_err(|i| err("trace id is not lowercase hex", 3 + i))?;
        let parent: [u8; 8] =
            decode_hex(&s[36..52]).map_err(|i| err("parent id is not lowercase hex", 36 + i))?;
        let flags: [u8; 1] =
            decode_hex(&s[53..55]).map_err(|i| err("flags are not lowercase hex", 53 + i))?;
        let trace_id = TraceId::from_bytes(trace);
        if !trace_id.is_valid() {
            return Err(err("trace id is all zeros", 3));
        }
        let parent_id = SpanId::from_bytes(parent);
        if !parent_id.is_valid() {
            return Err(err("parent id is all zeros", 36));
        }
        Ok(TraceParent {
            trace_id,
            parent_id,
            flags: TraceFlags::from_bits(flags[0]),
        })
    }

    /// The trace id.
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// The parent (caller's) span id.
    pub fn parent_id(&self) -> SpanId {
        self.parent_id
    }

    /// The flags, with unknown bits zeroed.
    pub fn flags(&self) -> TraceFlags {
        self.flags
    }

    /// The version-00 header value as bytes, without allocating.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::TraceParent;
    ///
    /// let text = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    /// let tp: TraceParent = text.parse()?;
    /// assert_eq!(&tp.encode()[..], text.as_bytes());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn encode(&self) -> [u8; TRACEPARENT_LEN] {
        encode_parts(self.trace_id, self.parent_id, self.flags)
    }
}

/// The version-00 value for these parts; callers check the ids are valid.
#[inline]
pub(crate) fn encode_parts(
    trace_id: TraceId,
    parent_id: SpanId,
    flags: TraceFlags,
) -> [u8; TRACEPARENT_LEN] {
    let mut out = [b'-'; TRACEPARENT_LEN];
    out[0] = b'0';
    out[1] = b'0';
    encode_hex(&trace_id.to_bytes(), &mut out[3..35]);
    encode_hex(&parent_id.to_bytes(), &mut out[36..52]);
    encode_hex(&[flags.bits()], &mut out[53..55]);
    out
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.encode();
        // SAFETY: `encode` starts from all '-' and writes only ASCII hex
        // digits, and ASCII is valid UTF-8.
        f.write_str(unsafe { std::str::from_utf8_unchecked(&bytes) })
    }
}

impl FromStr for TraceParent {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        TraceParent::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_flag_bits_are_zeroed_on_output() {
        let tp: TraceParent = "00-12345678901234567890123456789012-1234567890123456-ff"
            .parse()
            .unwrap();
        assert_eq!(
            tp.to_string(),
            "00-12345678901234567890123456789012-1234567890123456-03"
        );
    }

    #[test]
    fn error_names_the_offset_of_the_first_bad_character() {
        let e = TraceParent::parse("00-12345678901234567890123456789012-123456789012345.-01")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid traceparent: parent id is not lowercase hex at byte 51"
        );
    }
}
