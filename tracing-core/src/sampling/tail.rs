//! Tail decisions: record every span, then keep whole traces that matter.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use super::{Decision, Sampler, SamplingParams, SamplingResult};
use crate::sink::{SpanSink, group_by_trace};
use crate::span::Span;

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
