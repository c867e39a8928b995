//! OpenTelemetry consistent probability sampling: thresholds (`th`),
//! randomness (`rv` or the trace id) and the sampler that records them.

use super::{
    Decision, MASK_56, MAX_THRESHOLD, Sampler, SamplingParams, SamplingResult, check_probability,
    trace_id_randomness,
};
use crate::error::{Error, ErrorKind};
use crate::hex::hex_val;
use crate::ids::TraceId;
use crate::tracestate::TraceState;

/// The `th` value (trailing zeros removed) for sampling `probability` with
/// `precision` significant hex digits, 1 to 14.
///
/// The threshold is computed exactly, `2^56 - round(probability * 2^56)`,
/// then rounded half up to the digits kept. Leading digits that carry no
/// information do not count towards the precision: the `f`s of a small
/// probability (as the specification's algorithm does, by the exponent of
/// `probability`) and the `0`s of one near 1 (as the collector's
/// `pkg/sampling` does, by the exponent of `1 - probability`). So 97 % with
/// precision 1 is `08` (96.875 %), not `0` (100 %), and 14 digits is the
/// exact threshold. Probability 1 is `0`.
///
/// # Errors
///
/// [`ErrorKind::Sampling`] when `probability` is not within 2⁻⁵⁶ and 1 or
/// `precision` is not within 1 and 14.
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::sampling::threshold_for_probability;
///
/// assert_eq!(threshold_for_probability(1.0, 4)?, "0");
/// assert_eq!(threshold_for_probability(0.5, 4)?, "8");
/// assert_eq!(threshold_for_probability(1.0 / 3.0, 4)?, "aaab");
/// assert_eq!(threshold_for_probability(0.97, 1)?, "08");
/// assert_eq!(threshold_for_probability(1.0 / 3.0, 14)?, "aaaaaaaaaaaaac");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn threshold_for_probability(probability: f64, precision: u32) -> Result<String, Error> {
    check_probability(probability)?;
    if probability < f64::powi(2.0, -56) {
        return Err(Error::new(
            ErrorKind::Sampling,
            "probability below 2^-56 cannot be sampled consistently",
        ));
    }
    if !(1..=14).contains(&precision) {
        return Err(Error::new(
            ErrorKind::Sampling,
            "precision must be within 1 and 14 hex digits",
        ));
    }
    if probability == 1.0 {
        return Ok("0".into());
    }
    // At most one of the two is not zero: a probability below 1/16 has
    // leading `f`s, one above 15/16 leading `0`s.
    let leading = leading_hex_digits(probability).max(leading_hex_digits(1.0 - probability));
    let digits = (precision + leading).min(14);
    // Scaling by a power of two is exact, and the product lies within
    // [1, 2^56 - 8] (the largest probability below 1 is 1 - 2^-53), so the
    // cast neither truncates nor wraps.
    let scaled = (probability * MAX_THRESHOLD as f64).round() as u64;
    let exact = MAX_THRESHOLD - scaled;
    let shift = 4 * (14 - digits);
    let rounded = if shift == 0 {
        exact
    } else {
        ((exact + (1 << (shift - 1))) >> shift) << shift
    };
    // Rounding cannot carry into bit 56: a threshold that close to 2^56
    // comes from a probability with more leading `f`s than digits dropped.
    Ok(format_threshold(rounded.min(MASK_56)))
}

/// How many leading hex digits of a fraction `x` in (0, 1) are zero: the
/// exponent of `x = m * 2^exp`, `m` in [0.5, 1) (C's `frexp`), divided by
/// -4. `x` is at least 2^-56 here, a normal float, so the exponent comes
/// straight from the bits.
fn leading_hex_digits(x: f64) -> u32 {
    let biased = (x.to_bits() >> 52) & 0x7ff;
    // OK to cast: an 11-bit field.
    let exp = biased as i64 - 1022;
    u32::try_from(-exp / 4).unwrap_or(0)
}

/// Parses a `th` value (1 to 14 lowercase hex digits, right-padded with zeros
/// to 56 bits) into the threshold.
///
/// # Errors
///
/// [`ErrorKind::Sampling`] for an empty, too long or non-hex value.
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::sampling::parse_threshold;
///
/// assert_eq!(parse_threshold("8")?, 1 << 55);
/// assert_eq!(parse_threshold("0")?, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_threshold(th: &str) -> Result<u64, Error> {
    parse_hex56(th, 1)
        .map_err(|what| Error::new(ErrorKind::Sampling, what).detail(format!("th:{th}")))
}

fn parse_hex56(s: &str, min_len: usize) -> Result<u64, &'static str> {
    if s.len() < min_len || s.len() > 14 {
        return Err("expected 1 to 14 hex digits");
    }
    let mut v = 0u64;
    for c in s.bytes() {
        v = (v << 4) | u64::from(hex_val(c).ok_or("expected lowercase hex digits")?);
    }
    Ok(v << (4 * (14 - s.len())))
}

/// Formats a 56-bit threshold as a `th` value with trailing zeros removed.
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::sampling::format_threshold;
///
/// assert_eq!(format_threshold(1 << 55), "8");
/// assert_eq!(format_threshold(0), "0");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn format_threshold(threshold: u64) -> String {
    if threshold == 0 {
        return "0".into();
    }
    let s = format!("{:014x}", threshold & MASK_56);
    s.trim_end_matches('0').to_string()
}

/// Reads sub-key `key` of an `ot` tracestate value (`k1:v1;k2:v2`).
fn ot_get<'a>(ot: &'a str, key: &str) -> Option<&'a str> {
    ot.split(';')
        .filter_map(|kv| kv.split_once(':'))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// Sets (or with `None` removes) sub-key `key`, keeping the others in order.
fn ot_set(ot: &str, key: &str, value: Option<&str>) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(v) = value {
        parts.push(format!("{key}:{v}"));
    }
    for kv in ot.split(';').filter(|kv| !kv.is_empty()) {
        if kv.split_once(':').map(|(k, _)| k) != Some(key) {
            parts.push(kv.to_string());
        }
    }
    parts.join(";")
}

/// The 56-bit randomness of a span: the `rv` sub-key of the `ot`
/// tracestate entry when present and valid, else the trace id's low 56 bits.
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::sampling::randomness;
/// use steadfast_tracing_core::{TraceId, TraceState};
///
/// let ts = TraceState::parse("ot=rv:00000000000001")?;
/// assert_eq!(randomness(TraceId::from_u128(u128::MAX), &ts), 1);
/// assert_eq!(randomness(TraceId::from_u128(u128::MAX), &TraceState::new()), (1 << 56) - 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn randomness(trace_id: TraceId, trace_state: &TraceState) -> u64 {
    trace_state
        .get("ot")
        .and_then(|ot| ot_get(ot, "rv"))
        .filter(|rv| rv.len() == 14)
        .and_then(|rv| parse_hex56(rv, 14).ok())
        .unwrap_or_else(|| trace_id_randomness(trace_id))
}

/// OpenTelemetry consistent probability sampling for root spans (wrap it
/// in [`ParentBased`](super::ParentBased) so children honour their parent's
/// decision).
///
/// A sampled span gets `th:<threshold>` in its `ot` tracestate entry; an
/// unsampled one has any `th` removed. When the `ot` entry cannot hold the
/// new `th` (it would pass 256 characters), the setting is aborted: the
/// parent's `th` is erased rather than left to misstate the probability,
/// and [`SamplingResult::error`] says so.
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::sampling::{ConsistentProbability, Decision, Sampler, SamplingParams};
/// use steadfast_tracing_core::span::SpanKind;
/// use steadfast_tracing_core::TraceId;
///
/// let one_in_ten = ConsistentProbability::new(0.1)?;
/// let trace_id = TraceId::from_u128(0xffff_ffff_ffff_ffff); // randomness ff…ff
/// let params = SamplingParams { parent: None, trace_id, name: "GET /", kind: SpanKind::Server };
/// let result = one_in_ten.should_sample(&params);
/// assert_eq!(result.decision, Decision::RecordAndSample);
/// assert_eq!(result.trace_state.expect("set").to_string(), "ot=th:e666");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ConsistentProbability {
    threshold: u64,
    th: String,
}

impl ConsistentProbability {
    /// Samples with `probability`, encoded with 4 significant hex digits
    /// (the SDK default).
    ///
    /// # Errors
    ///
    /// As [`threshold_for_probability`].
    pub fn new(probability: f64) -> Result<Self, Error> {
        Self::with_precision(probability, 4)
    }

    /// Samples with `probability`, encoded with `precision` significant hex
    /// digits (see [`threshold_for_probability`]).
    ///
    /// # Errors
    ///
    /// As [`threshold_for_probability`].
    pub fn with_precision(probability: f64, precision: u32) -> Result<Self, Error> {
        let th = threshold_for_probability(probability, precision)?;
        let threshold = parse_threshold(&th)?;
        Ok(ConsistentProbability { threshold, th })
    }

    /// The rejection threshold as a 56-bit number.
    pub fn threshold(&self) -> u64 {
        self.threshold
    }

    /// The `th` value recorded in tracestate.
    pub fn threshold_hex(&self) -> &str {
        &self.th
    }
}

impl Sampler for ConsistentProbability {
    fn should_sample(&self, p: &SamplingParams<'_>) -> SamplingResult {
        let parent = p
            .parent
            .map(|cx| cx.trace_state().clone())
            .unwrap_or_default();
        let sampled = randomness(p.trace_id, &parent) >= self.threshold;
        let mut error = None;
        let state = if sampled {
            let mut state = parent.clone();
            let ot = ot_set(parent.get("ot").unwrap_or(""), "th", Some(&self.th));
            match state.insert("ot", &ot) {
                Ok(()) => state,
                Err(cause) => {
                    error = Some(
                        Error::new(
                            ErrorKind::TraceState,
                            "the ot entry cannot hold the new threshold; the old one was erased",
                        )
                        .detail(format!("th:{}", self.th))
                        .source(cause),
                    );
                    without_threshold(&parent)
                }
            }
        } else {
            without_threshold(&parent)
        };
        SamplingResult {
            decision: if sampled {
                Decision::RecordAndSample
            } else {
                Decision::Drop
            },
            trace_state: Some(state),
            error,
        }
    }
}

/// `state` without the `th` sub-key of its `ot` entry; the `ot` entry goes
/// when nothing else is left in it.
fn without_threshold(state: &TraceState) -> TraceState {
    let mut out = state.clone();
    let Some(ot) = state.get("ot").filter(|ot| ot_get(ot, "th").is_some()) else {
        return out;
    };
    let rest = ot_set(ot, "th", None);
    // `rest` is part of a valid value and shorter, so it is refused only
    // when it now ends in a space (not valid OpenTelemetry anyway): the
    // whole entry goes then.
    if rest.is_empty() || out.insert("ot", &rest).is_err() {
        out.remove("ot");
    }
    out
}

/// The parent-based rules for the threshold a child propagates
/// (`tracestate-probability-sampling.md`, "General requirements"):
///
/// - "In case of negative sampling decision, it removes the th value".
/// - "a parent-based sampler that receives and propagates a sampled context
///   with threshold should check that the sampled flag matches the
///   expression rv >= th, otherwise it should erase the threshold".
///
/// A threshold the delegate set itself is checked against `rv >= th` only;
/// one that cannot be parsed is erased.
pub(super) fn check_propagated_threshold(
    p: &SamplingParams<'_>,
    mut result: SamplingResult,
) -> SamplingResult {
    let Some(parent) = p.parent else {
        return result;
    };
    let own = result.trace_state.is_some();
    let state = result.trace_state.as_ref().unwrap_or(parent.trace_state());
    let Some(th) = state.get("ot").and_then(|ot| ot_get(ot, "th")) else {
        return result;
    };
    let consistent = result.decision == Decision::RecordAndSample
        && (own || parent.flags().is_sampled())
        && parse_hex56(th, 1).is_ok_and(|t| randomness(p.trace_id, state) >= t);
    if !consistent {
        result.trace_state = Some(without_threshold(state));
    }
    result
}
