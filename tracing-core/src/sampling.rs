//! Head sampling (which spans to record) and an error-keeping tail decision.
//!
//! [`ConsistentProbability`] implements OpenTelemetry consistent probability
//! sampling: a 56-bit randomness value `R` (the `rv` sub-key of the `ot`
//! tracestate entry, or the trace id's low 56 bits) is compared with a
//! rejection threshold `T`; the span is sampled iff `R >= T`, and `T` is
//! recorded as `ot=th:…` so downstream services can count the sample.
//!
//! ```
//! use steadfast_tracing_core::sampling::{threshold_for_probability, ConsistentProbability};
//!
//! assert_eq!(threshold_for_probability(0.1, 4)?, "e666");
//! assert_eq!(threshold_for_probability(0.001, 5)?, "ffbe76d");
//! let one_in_ten = ConsistentProbability::new(0.1)?;
//! assert_eq!(one_in_ten.threshold_hex(), "e666");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use crate::error::{Error, ErrorKind};
use crate::hex::hex_val;
use crate::ids::TraceId;
use crate::propagation::SpanContext;
use crate::sink::{SpanSink, group_by_trace};
use crate::span::{Span, SpanKind};
use crate::tracestate::TraceState;

/// What a sampler sees when a span starts.
#[derive(Debug, Clone, Copy)]
pub struct SamplingParams<'a> {
    /// The parent context; `None` for a root span.
    pub parent: Option<&'a SpanContext>,
    /// The span's trace id (the parent's, or a fresh one).
    pub trace_id: TraceId,
    /// The span name.
    pub name: &'a str,
    /// The span kind.
    pub kind: SpanKind,
}

/// Whether a span is recorded and whether it is sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Not recorded, not sampled.
    Drop,
    /// Recorded (e.g. for a tail decision) but not sampled.
    RecordOnly,
    /// Recorded and sampled.
    RecordAndSample,
}

/// A sampler's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamplingResult {
    /// The decision.
    pub decision: Decision,
    /// A new trace state for the span, or `None` to keep the parent's.
    pub trace_state: Option<TraceState>,
}

impl SamplingResult {
    fn of(sampled: bool) -> Self {
        SamplingResult {
            decision: if sampled {
                Decision::RecordAndSample
            } else {
                Decision::Drop
            },
            trace_state: None,
        }
    }
}

/// Decides at span start whether to record and sample it.
pub trait Sampler: Send + Sync {
    /// The decision for a span starting with `params`.
    fn should_sample(&self, params: &SamplingParams<'_>) -> SamplingResult;
}

impl<S: Sampler + ?Sized> Sampler for Box<S> {
    fn should_sample(&self, params: &SamplingParams<'_>) -> SamplingResult {
        (**self).should_sample(params)
    }
}

/// Samples every span.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysOn;

impl Sampler for AlwaysOn {
    fn should_sample(&self, _: &SamplingParams<'_>) -> SamplingResult {
        SamplingResult::of(true)
    }
}

/// Drops every span.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysOff;

impl Sampler for AlwaysOff {
    fn should_sample(&self, _: &SamplingParams<'_>) -> SamplingResult {
        SamplingResult::of(false)
    }
}

const MAX_THRESHOLD: u64 = 1 << 56;
const MASK_56: u64 = MAX_THRESHOLD - 1;

/// The low 56 bits of a trace id: its randomness under Level 2.
pub fn trace_id_randomness(trace_id: TraceId) -> u64 {
    // OK to truncate: only the low 56 bits are wanted.
    (trace_id.to_u128() as u64) & MASK_56
}

fn check_probability(p: f64) -> Result<(), Error> {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return Err(Error::new(
            ErrorKind::Sampling,
            "probability must be within 0 and 1",
        ));
    }
    Ok(())
}

/// Samples a fixed fraction of traces, deciding from the trace id's low 56
/// bits so every service in a trace agrees. Tracestate is left alone.
#[derive(Debug, Clone, Copy)]
pub struct TraceIdRatio {
    threshold: u64,
}

impl TraceIdRatio {
    /// Samples `ratio` (0 to 1) of traces.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Sampling`] when `ratio` is not within 0 and 1.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::sampling::TraceIdRatio;
    ///
    /// assert!(TraceIdRatio::new(1.5).is_err());
    /// assert!(TraceIdRatio::new(0.25).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(ratio: f64) -> Result<Self, Error> {
        check_probability(ratio)?;
        // OK to cast: the product is within 0..=2^56, exactly representable.
        let keep = (ratio * MAX_THRESHOLD as f64).round() as u64;
        Ok(TraceIdRatio {
            threshold: MAX_THRESHOLD - keep.min(MAX_THRESHOLD),
        })
    }

    fn sampled(&self, trace_id: TraceId) -> bool {
        trace_id_randomness(trace_id) >= self.threshold
    }
}

impl Sampler for TraceIdRatio {
    fn should_sample(&self, p: &SamplingParams<'_>) -> SamplingResult {
        SamplingResult::of(self.sampled(p.trace_id))
    }
}

/// Follows the parent's sampled flag, using `root` for spans without one.
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::sampling::{AlwaysOff, AlwaysOn, ParentBased};
///
/// let sampler = ParentBased::new(AlwaysOff).remote_not_sampled(AlwaysOn);
/// # let _ = sampler;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ParentBased {
    root: Box<dyn Sampler>,
    remote_sampled: Box<dyn Sampler>,
    remote_not_sampled: Box<dyn Sampler>,
    local_sampled: Box<dyn Sampler>,
    local_not_sampled: Box<dyn Sampler>,
}

impl fmt::Debug for ParentBased {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParentBased").finish_non_exhaustive()
    }
}

impl ParentBased {
    /// `root` decides for root spans; children follow their parent
    /// (sampled parent: [`AlwaysOn`], unsampled: [`AlwaysOff`]).
    pub fn new(root: impl Sampler + 'static) -> Self {
        ParentBased {
            root: Box::new(root),
            remote_sampled: Box::new(AlwaysOn),
            remote_not_sampled: Box::new(AlwaysOff),
            local_sampled: Box::new(AlwaysOn),
            local_not_sampled: Box::new(AlwaysOff),
        }
    }

    /// Decides for children of a sampled remote parent.
    #[must_use]
    pub fn remote_sampled(mut self, s: impl Sampler + 'static) -> Self {
        self.remote_sampled = Box::new(s);
        self
    }

    /// Decides for children of an unsampled remote parent.
    #[must_use]
    pub fn remote_not_sampled(mut self, s: impl Sampler + 'static) -> Self {
        self.remote_not_sampled = Box::new(s);
        self
    }

    /// Decides for children of a sampled local parent.
    #[must_use]
    pub fn local_sampled(mut self, s: impl Sampler + 'static) -> Self {
        self.local_sampled = Box::new(s);
        self
    }

    /// Decides for children of an unsampled local parent.
    #[must_use]
    pub fn local_not_sampled(mut self, s: impl Sampler + 'static) -> Self {
        self.local_not_sampled = Box::new(s);
        self
    }
}

impl Sampler for ParentBased {
    fn should_sample(&self, p: &SamplingParams<'_>) -> SamplingResult {
        let delegate = match p.parent {
            None => &self.root,
            Some(cx) => match (cx.is_remote(), cx.flags().is_sampled()) {
                (true, true) => &self.remote_sampled,
                (true, false) => &self.remote_not_sampled,
                (false, true) => &self.local_sampled,
                (false, false) => &self.local_not_sampled,
            },
        };
        delegate.should_sample(p)
    }
}

/// A rule of [`RuleBased`]: a span-name pattern (`*` matches any run of
/// characters), an optional kind, and the ratio of matching traces to sample.
#[derive(Debug, Clone)]
pub struct Rule {
    pattern: String,
    kind: Option<SpanKind>,
    ratio: TraceIdRatio,
}

impl Rule {
    /// Samples `ratio` of spans whose name matches `pattern`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Sampling`] when `ratio` is not within 0 and 1.
    pub fn new(pattern: impl Into<String>, ratio: f64) -> Result<Self, Error> {
        Ok(Rule {
            pattern: pattern.into(),
            kind: None,
            ratio: TraceIdRatio::new(ratio)?,
        })
    }

    /// Applies the rule only to spans of `kind`.
    #[must_use]
    pub fn kind(mut self, kind: SpanKind) -> Self {
        self.kind = Some(kind);
        self
    }

    fn matches(&self, p: &SamplingParams<'_>) -> bool {
        self.kind.is_none_or(|k| k == p.kind) && glob(&self.pattern, p.name)
    }
}

/// Matches `text` against `pattern` where `*` stands for any run of
/// characters (including none).
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// Per-route sampling: the first matching [`Rule`] decides by trace-id
/// ratio; spans no rule matches go to the fallback sampler.
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::sampling::{AlwaysOn, Rule, RuleBased};
/// use steadfast_tracing_core::span::SpanKind;
///
/// let sampler = RuleBased::new(AlwaysOn)
///     .rule(Rule::new("GET /health*", 0.0)?.kind(SpanKind::Server))
///     .rule(Rule::new("* /checkout", 1.0)?);
/// # let _ = sampler;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RuleBased {
    rules: Vec<Rule>,
    fallback: Box<dyn Sampler>,
}

impl fmt::Debug for RuleBased {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuleBased")
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

impl RuleBased {
    /// No rules yet; unmatched spans go to `fallback`.
    pub fn new(fallback: impl Sampler + 'static) -> Self {
        RuleBased {
            rules: Vec::new(),
            fallback: Box::new(fallback),
        }
    }

    /// Appends a rule (earlier rules win).
    #[must_use]
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }
}

impl Sampler for RuleBased {
    fn should_sample(&self, p: &SamplingParams<'_>) -> SamplingResult {
        match self.rules.iter().find(|r| r.matches(p)) {
            Some(rule) => SamplingResult::of(rule.ratio.sampled(p.trace_id)),
            None => self.fallback.should_sample(p),
        }
    }
}

/// The `th` value (trailing zeros removed) for sampling `probability` with
/// `precision` significant hex digits, by the OpenTelemetry algorithm:
/// leading `f` digits do not count towards the precision, so small
/// probabilities keep their significant digits.
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
    // frexp: probability = m * 2^exp with m in [0.5, 1). Probabilities here
    // are normal floats, so the exponent comes straight from the bits.
    let biased = i64::try_from((probability.to_bits() >> 52) & 0x7ff).unwrap_or(0);
    let exp = biased - 1022;
    let extra = (-exp).max(0) / 4;
    let precision = (i64::from(precision) + extra).clamp(1, 12);
    // 1 + rejection probability lies in [1, 2); its 13 mantissa hex digits
    // are the threshold's digits. Add half of the last kept digit to round.
    let rejection =
        2.0 - probability + 0.5 * f64::powi(2.0, -4 * i32::try_from(precision).unwrap_or(12));
    let digits = if rejection >= 2.0 {
        "fffffffffffff".to_string()
    } else {
        format!("{:013x}", rejection.to_bits() & ((1u64 << 52) - 1))
    };
    let kept = digits[..usize::try_from(precision).unwrap_or(12)].trim_end_matches('0');
    Ok(if kept.is_empty() {
        "0".into()
    } else {
        kept.into()
    })
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
/// in [`ParentBased`] so children honour their parent's decision).
///
/// A sampled span gets `th:<threshold>` in its `ot` tracestate entry; an
/// unsampled one has any `th` removed.
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

    /// Samples with `probability`, encoded with `precision` hex digits.
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
        let mut state = p
            .parent
            .map(|cx| cx.trace_state().clone())
            .unwrap_or_default();
        let sampled = randomness(p.trace_id, &state) >= self.threshold;
        let ot = state.get("ot").unwrap_or("");
        let new_ot = ot_set(ot, "th", sampled.then_some(self.th.as_str()));
        if new_ot.is_empty() {
            state.remove("ot");
        } else if state.insert("ot", &new_ot).is_err() {
            // A value we built from valid parts cannot fail; keep the old state.
            state = p
                .parent
                .map(|cx| cx.trace_state().clone())
                .unwrap_or_default();
        }
        SamplingResult {
            decision: if sampled {
                Decision::RecordAndSample
            } else {
                Decision::Drop
            },
            trace_state: Some(state),
        }
    }
}

/// Turns every [`Decision::Drop`] of the inner sampler into
/// [`Decision::RecordOnly`], so a tail decision such as [`KeepErrorTraces`]
/// sees unsampled spans too.
#[derive(Debug, Clone)]
pub struct RecordAll<S>(pub S);

impl<S: Sampler> Sampler for RecordAll<S> {
    fn should_sample(&self, p: &SamplingParams<'_>) -> SamplingResult {
        let mut r = self.0.should_sample(p);
        if r.decision == Decision::Drop {
            r.decision = Decision::RecordOnly;
        }
        r
    }
}

/// A tail decision: buffers spans until [`KeepErrorTraces::flush`], then
/// forwards every trace that was sampled or has a span whose status is an
/// error — whole, so kept traces stay complete — and discards the rest.
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::sampling::KeepErrorTraces;
/// use steadfast_tracing_core::sink::{InMemorySink, SpanSink};
/// use steadfast_tracing_core::span::{Span, Status};
/// use steadfast_tracing_core::{SpanId, TraceId};
///
/// let out = InMemorySink::new();
/// let tail = KeepErrorTraces::new(out.clone());
/// let (ok, bad) = (TraceId::from_u128(1), TraceId::from_u128(2));
/// tail.on_end(Span::new(ok, SpanId::from_u64(1), "fine"));
/// tail.on_end(Span::new(bad, SpanId::from_u64(2), "root"));
/// tail.on_end(Span::new(bad, SpanId::from_u64(3), "db").with_parent(SpanId::from_u64(2)).with_status(Status::error("timeout")));
/// tail.flush();
/// assert_eq!(out.spans().len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct KeepErrorTraces<K> {
    next: K,
    buffer: Mutex<Vec<Span>>,
}

impl<K> fmt::Debug for KeepErrorTraces<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeepErrorTraces").finish_non_exhaustive()
    }
}

impl<K: SpanSink> KeepErrorTraces<K> {
    /// Forwards kept traces to `next`.
    pub fn new(next: K) -> Self {
        KeepErrorTraces {
            next,
            buffer: Mutex::new(Vec::new()),
        }
    }

    /// Decides for every buffered trace; returns how many traces were kept.
    pub fn flush(&self) -> usize {
        let spans =
            std::mem::take(&mut *self.buffer.lock().unwrap_or_else(PoisonError::into_inner));
        let mut kept = BTreeSet::new();
        for (trace, spans) in group_by_trace(spans) {
            let keep = spans
                .iter()
                .any(|s| s.status.is_error() || s.flags.is_sampled());
            if keep {
                kept.insert(trace);
                for s in spans {
                    self.next.on_end(s);
                }
            }
        }
        kept.len()
    }
}

impl<K: SpanSink> SpanSink for KeepErrorTraces<K> {
    fn on_end(&self, span: Span) {
        self.buffer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(span);
    }
}
