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

mod consistent;
mod tail;

use std::fmt;

use crate::error::{Error, ErrorKind};
use crate::ids::TraceId;
use crate::propagation::SpanContext;
use crate::span::SpanKind;
use crate::tracestate::TraceState;

pub use consistent::{
    ConsistentProbability, format_threshold, parse_threshold, randomness, threshold_for_probability,
};
pub use tail::{KeepErrorTraces, RecordAll};

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
#[derive(Debug, Clone)]
pub struct SamplingResult {
    /// The decision.
    pub decision: Decision,
    /// A new trace state for the span, or `None` to keep the parent's.
    pub trace_state: Option<TraceState>,
    /// A problem the sampler met and worked around, e.g. a threshold it
    /// could not record ([`ConsistentProbability`]); `decision` and
    /// `trace_state` are what it did instead. [`crate::tracer::Tracer`]
    /// keeps it on the span ([`crate::tracer::ActiveSpan::sampling_error`]).
    pub error: Option<Error>,
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
            error: None,
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

pub(crate) const MAX_THRESHOLD: u64 = 1 << 56;
pub(crate) const MASK_56: u64 = MAX_THRESHOLD - 1;

/// The low 56 bits of a trace id: its randomness under Level 2.
pub fn trace_id_randomness(trace_id: TraceId) -> u64 {
    // OK to truncate: only the low 56 bits are wanted.
    (trace_id.to_u128() as u64) & MASK_56
}

pub(crate) fn check_probability(p: f64) -> Result<(), Error> {
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
/// It also keeps the OpenTelemetry sampling threshold (`th` in the `ot`
/// tracestate entry) honest, as `tracestate-probability-sampling.md` asks
/// of parent-based samplers: a child that is not sampled carries no `th`,
/// and a parent's `th` is propagated only when the parent is sampled and
/// its randomness reaches the threshold (`rv >= th`); otherwise it is
/// erased, because the child's sampling probability is then unknown.
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::sampling::{AlwaysOff, AlwaysOn, ParentBased, Sampler, SamplingParams};
/// use steadfast_tracing_core::span::SpanKind;
/// use steadfast_tracing_core::Propagator;
///
/// let sampler = ParentBased::new(AlwaysOff).remote_not_sampled(AlwaysOn);
/// // Sampled, but randomness 0x12345678901234 is below th:c (0xc0000000000000).
/// let parent = Propagator::new()
///     .extract(&[
///         ("traceparent", "00-12345678901234567890123456789012-1234567890123456-01"),
///         ("tracestate", "ot=th:c,other=1"),
///     ])
///     .expect("valid");
/// let params = SamplingParams { parent: Some(&parent), trace_id: parent.trace_id(), name: "GET /", kind: SpanKind::Server };
/// let result = sampler.should_sample(&params);
/// assert_eq!(result.trace_state.expect("rewritten").to_string(), "other=1");
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
        consistent::check_propagated_threshold(p, delegate.should_sample(p))
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
