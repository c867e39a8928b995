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
use crate::hex::{HEX_DECODE, decode_hex, decode_hex_flagged, encode_hex, hex_val};
use crate::ids::{SpanId, TraceFlags, TraceId};

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

impl Reject {
    /// The public error for this rejection (kept out of line: only failures
    /// pay for building it).
    #[cold]
    #[inline(never)]
    fn into_error(self) -> Error {
        let e = Error::new(ErrorKind::TraceParent, self.what);
        match self.found {
            Some(found) => e.found(found),
            None => e.at(self.at),
        }
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
        Self::parse_lean(value).map_err(Reject::into_error)
    }

    /// The parser behind [`TraceParent::parse`], with a small error so the
    /// hot path (and `extract`, which only needs yes or no) moves little data.
    ///
    /// The common case (a well-formed value) is decided by one branch over
    /// straight-line checks; anything else goes to
    /// [`TraceParent::parse_checked`], which runs the same checks one by one
    /// to name the first problem.
    #[inline]
    pub(crate) fn parse_lean(value: &str) -> Result<Self, Reject> {
        let s = trim(value.as_bytes());
        if s.len() >= TRACEPARENT_LEN {
            let (v_hi, v_lo) = (HEX_DECODE[usize::from(s[0])], HEX_DECODE[usize::from(s[1])]);
            // Invalid digits are 0xff in the table, so the OR is below 0x10
            // only when both are hex digits.
            let version_ok = (v_hi | v_lo) < 0x10;
            let version = (v_hi << 4) | (v_lo & 0x0f);
            let (trace, trace_ok) = decode_hex_flagged::<16>(&s[3..35]);
            let (parent, parent_ok) = decode_hex_flagged::<8>(&s[36..52]);
            let (flags, flags_ok) = decode_hex_flagged::<1>(&s[53..55]);
            let shape_ok = if version == 0 {
                s.len() == TRACEPARENT_LEN
            } else {
                s.len() == TRACEPARENT_LEN || s[TRACEPARENT_LEN] == b'-'
            };
            let ok = version_ok
                & (version != 0xff)
                & shape_ok
                & (s[2] == b'-')
                & (s[35] == b'-')
                & (s[52] == b'-')
                & trace_ok
                & parent_ok
                & flags_ok
                & (trace != [0; 16])
                & (parent != [0; 8]);
            if ok {
                return Ok(TraceParent {
                    trace_id: TraceId::from_bytes(trace),
                    parent_id: SpanId::from_bytes(parent),
                    flags: TraceFlags::from_bits(flags[0]),
                });
            }
        }
        Self::parse_checked(s)
    }

    /// Parses a trimmed value check by check, in order (length, version,
    /// shape, dashes, ids, flags, zeros), so an error names the first
    /// problem. Only values the fast path refused come here.
    #[cold]
    #[inline(never)]
    fn parse_checked(s: &[u8]) -> Result<Self, Reject> {
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

/// `s` without leading and trailing spaces and tabs.
#[inline]
fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
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
    fn fast_path_agrees_with_the_check_by_check_parser_on_every_single_byte_change() {
        let bases: [&[u8]; 4] = [
            b"00-12345678901234567890123456789012-1234567890123456-01",
            b"cc-12345678901234567890123456789012-1234567890123456-01-x",
            b"01-00000000000000000000000000000001-0000000000000001-ff",
            b"00-abcdef0123456789abcdef0123456789-fedcba9876543210-02",
        ];
        for base in bases {
            for pos in 0..base.len() {
                for b in 0..=255u8 {
                    let mut v = base.to_vec();
                    v[pos] = b;
                    let Ok(text) = std::str::from_utf8(&v) else {
                        continue;
                    };
                    let fast = TraceParent::parse_lean(text).map_err(|r| (r.what, r.at, r.found));
                    let slow = TraceParent::parse_checked(trim(text.as_bytes()))
                        .map_err(|r| (r.what, r.at, r.found));
                    assert_eq!(fast, slow, "{text:?}");
                }
            }
            for len in 0..base.len() {
                let text = std::str::from_utf8(&base[..len]).unwrap();
                let fast = TraceParent::parse_lean(text).map_err(|r| (r.what, r.at, r.found));
                let slow = TraceParent::parse_checked(text.as_bytes())
                    .map_err(|r| (r.what, r.at, r.found));
                assert_eq!(fast, slow, "{text:?}");
                assert_eq!(
                    fast.is_ok(),
                    len >= TRACEPARENT_LEN && base[0] != b'0',
                    "{text:?}"
                );
            }
        }
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
