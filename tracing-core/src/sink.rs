//! Where finished spans go, and an in-memory sink with trace-tree assertions.
//!
//! The assertions panic with the whole recorded tree drawn, so a failure
//! shows what the test saw, and point at the line that called them; each
//! has a `check_*` twin that returns the problem as an [`Error`] instead:
//!
//! ```should_panic
//! use steadfast_tracing_core::sink::{InMemorySink, SpanSink};
//! use steadfast_tracing_core::span::Span;
//! use steadfast_tracing_core::{SpanId, TraceId};
//!
//! let sink = InMemorySink::new();
//! sink.on_end(Span::new(TraceId::from_u128(1), SpanId::from_u64(2), "child").with_parent(SpanId::from_u64(9)));
//! sink.assert_well_formed(); // panics: the parent 0000000000000009 was never recorded
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::{Error, ErrorKind};
use crate::ids::{SpanId, TraceId};
use crate::span::{Span, SpanKind, Status};

/// Receives spans as they end.
pub trait SpanSink: Send + Sync {
    /// Called once per recorded span when it ends.
    fn on_end(&self, span: Span);
}

impl<T: SpanSink + ?Sized> SpanSink for Arc<T> {
    fn on_end(&self, span: Span) {
        (**self).on_end(span);
    }
}

/// Keeps every span in memory, in the order they ended. Clones share the
/// same storage.
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::sink::{InMemorySink, SpanSink};
/// use steadfast_tracing_core::span::Span;
/// use steadfast_tracing_core::{SpanId, TraceId};
///
/// let sink = InMemorySink::new();
/// sink.clone().on_end(Span::new(TraceId::from_u128(1), SpanId::from_u64(1), "root"));
/// assert_eq!(sink.spans().len(), 1);
/// sink.assert_well_formed();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct InMemorySink {
    spans: Arc<Mutex<Vec<Span>>>,
}

impl SpanSink for InMemorySink {
    fn on_end(&self, span: Span) {
        self.spans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(span);
    }
}

impl InMemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the recorded spans.
    pub fn spans(&self) -> Vec<Span> {
        self.spans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Removes and returns the recorded spans.
    pub fn take(&self) -> Vec<Span> {
        std::mem::take(&mut *self.spans.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The recorded spans as trees.
    pub fn forest(&self) -> Forest {
        Forest::new(self.spans())
    }

    /// Checks that all spans share one trace id: the non-panicking twin of
    /// [`InMemorySink::assert_single_trace`].
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TraceShape`] if no span was recorded or there is more
    /// than one trace id.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::sink::{InMemorySink, SpanSink};
    /// use steadfast_tracing_core::span::Span;
    /// use steadfast_tracing_core::{SpanId, TraceId};
    ///
    /// let sink = InMemorySink::new();
    /// assert!(sink.check_single_trace().is_err(), "nothing recorded yet");
    /// sink.on_end(Span::new(TraceId::from_u128(1), SpanId::from_u64(1), "root"));
    /// sink.check_single_trace()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_single_trace(&self) -> Result<(), Error> {
        self.forest().check_single_trace()
    }

    /// Checks one trace id, exactly one root, and that every span's parent
    /// was recorded: the non-panicking twin of
    /// [`InMemorySink::assert_well_formed`].
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TraceShape`] naming the first rule broken.
    pub fn check_well_formed(&self) -> Result<(), Error> {
        self.forest().check_well_formed()
    }

    /// Checks a well-formed trace whose spans, walked depth first with
    /// siblings by start time, have exactly these names and kinds: the
    /// non-panicking twin of [`InMemorySink::assert_shape`].
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TraceShape`] naming the first rule broken, or listing
    /// both walks when they differ.
    pub fn check_shape(&self, expected: &[(&str, SpanKind)]) -> Result<(), Error> {
        self.forest().check_shape(expected)
    }

    /// Asserts that all spans share one trace id.
    ///
    /// # Panics
    ///
    /// If no span was recorded or there is more than one trace id; the message
    /// (prefixed `steadfast:`, located at the caller) draws every recorded
    /// trace.
    #[track_caller]
    pub fn assert_single_trace(&self) {
        let forest = self.forest();
        if let Err(problem) = forest.check_single_trace() {
            fail(&problem, &forest);
        }
    }

    /// Asserts one trace id, exactly one root, and that every span's parent
    /// was recorded.
    ///
    /// # Panics
    ///
    /// On the first rule broken; the message (prefixed `steadfast:`, located
    /// at the caller) names it and draws the trees.
    #[track_caller]
    pub fn assert_well_formed(&self) {
        let forest = self.forest();
        if let Err(problem) = forest.check_well_formed() {
            fail(&problem, &forest);
        }
    }

    /// Asserts a well-formed trace whose spans, walked depth first with
    /// siblings by start time, have exactly these names and kinds.
    ///
    /// # Panics
    ///
    /// If the trace is not well formed or the walk differs; the message
    /// (prefixed `steadfast:`, located at the caller) shows the expected
    /// and the actual walk and draws the tree.
    #[track_caller]
    pub fn assert_shape(&self, expected: &[(&str, SpanKind)]) {
        let forest = self.forest();
        if let Err(problem) = forest.check_shape(expected) {
            fail(&problem, &forest);
        }
    }
}

#[track_caller]
fn fail(problem: &Error, forest: &Forest) -> ! {
    panic!("steadfast: {problem}\nrecorded spans:\n{forest}");
}

/// `name [kind], name [kind]` for a failure message.
fn walk_text<'a>(walk: impl IntoIterator<Item = (&'a str, SpanKind)>) -> String {
    let items: Vec<String> = walk
        .into_iter()
        .map(|(name, kind)| format!("{name} [{kind}]"))
        .collect();
    items.join(", ")
}

/// Recorded spans grouped by trace and drawn as trees.
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::sink::Forest;
/// use steadfast_tracing_core::span::{Span, SpanKind};
/// use steadfast_tracing_core::{SpanId, TraceId};
///
/// let t = TraceId::from_u128(1);
/// let forest = Forest::new(vec![
///     Span::new(t, SpanId::from_u64(1), "GET /").with_kind(SpanKind::Server),
///     Span::new(t, SpanId::from_u64(2), "db").with_parent(SpanId::from_u64(1)),
/// ]);
/// assert_eq!(
///     forest.to_string(),
///     "trace 00000000000000000000000000000001 (2 spans)\n\
///      └── GET / [server] 0000000000000001\n    \
///          └── db [internal] 0000000000000002\n"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Forest {
    spans: Vec<Span>,
}

impl Forest {
    /// Groups `spans`.
    pub fn new(spans: Vec<Span>) -> Self {
        Forest { spans }
    }

    /// The spans, in recording order.
    pub fn spans(&self) -> &[Span] {
        &self.spans
    }

    fn trace_ids(&self) -> BTreeSet<TraceId> {
        self.spans.iter().map(|s| s.trace_id).collect()
    }

    fn ids(&self) -> BTreeSet<(TraceId, SpanId)> {
        self.spans.iter().map(|s| (s.trace_id, s.span_id)).collect()
    }

    /// Spans whose parent is missing are treated as roots here.
    fn roots(&self, trace: TraceId) -> Vec<&Span> {
        let ids = self.ids();
        let mut roots: Vec<&Span> = self
            .spans
            .iter()
            .filter(|s| s.trace_id == trace)
            .filter(|s| match s.parent_span_id {
                None => true,
                Some(p) => !ids.contains(&(trace, p)),
            })
            .collect();
        roots.sort_by_key(|s| (s.start, s.span_id));
        roots
    }

    fn children(&self, trace: TraceId, parent: SpanId) -> Vec<&Span> {
        let mut kids: Vec<&Span> = self
            .spans
            .iter()
            .filter(|s| s.trace_id == trace && s.parent_span_id == Some(parent))
            .collect();
        kids.sort_by_key(|s| (s.start, s.span_id));
        kids
    }

    /// Every span with its depth, depth first, siblings by start time then id.
    pub fn walk(&self) -> Vec<(usize, &Span)> {
        let mut out = Vec::new();
        for trace in self.trace_ids() {
            for root in self.roots(trace) {
                self.walk_from(root, 0, &mut out);
            }
        }
        out
    }

    fn walk_from<'a>(&'a self, span: &'a Span, depth: usize, out: &mut Vec<(usize, &'a Span)>) {
        // A span listed as its own parent would recurse forever.
        if out.iter().any(|(_, s)| std::ptr::eq(*s, span)) {
            return;
        }
        out.push((depth, span));
        for kid in self.children(span.trace_id, span.span_id) {
            self.walk_from(kid, depth + 1, out);
        }
    }

    /// `Ok` if every span has the same trace id.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TraceShape`] if no span was recorded or there is more
    /// than one trace id.
    pub fn check_single_trace(&self) -> Result<(), Error> {
        match self.trace_ids().len() {
            0 => Err(Error::new(
                ErrorKind::TraceShape,
                "expected one trace, but no span was recorded",
            )),
            1 => Ok(()),
            n => Err(Error::new(ErrorKind::TraceShape, "expected one trace id").found(n)),
        }
    }

    /// `Ok` for one trace id, exactly one root and every parent present.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TraceShape`] naming the first rule broken.
    pub fn check_well_formed(&self) -> Result<(), Error> {
        self.check_single_trace()?;
        let ids = self.ids();
        if ids.len() != self.spans.len() {
            return Err(Error::new(
                ErrorKind::TraceShape,
                "a span id was recorded more than once",
            ));
        }
        for s in &self.spans {
            if let Some(p) = s.parent_span_id
                && !ids.contains(&(s.trace_id, p))
            {
                return Err(
                    Error::new(ErrorKind::TraceShape, "a parent was never recorded")
                        .detail(format!("span {:?} ({}) has parent {p}", s.name, s.span_id)),
                );
            }
        }
        let roots = self
            .spans
            .iter()
            .filter(|s| s.parent_span_id.is_none())
            .count();
        if roots != 1 {
            return Err(
                Error::new(ErrorKind::TraceShape, "expected exactly one root span").found(roots),
            );
        }
        if self.walk().len() != self.spans.len() {
            return Err(Error::new(
                ErrorKind::TraceShape,
                "the parent links form a cycle",
            ));
        }
        Ok(())
    }

    /// `Ok` for a well-formed trace whose walk ([`Forest::walk`]) has
    /// exactly these names and kinds.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TraceShape`] naming the first rule broken, or listing
    /// both walks when they differ.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::sink::Forest;
    /// use steadfast_tracing_core::span::{Span, SpanKind};
    /// use steadfast_tracing_core::{SpanId, TraceId};
    ///
    /// let t = TraceId::from_u128(1);
    /// let forest = Forest::new(vec![Span::new(t, SpanId::from_u64(1), "GET /").with_kind(SpanKind::Server)]);
    /// forest.check_shape(&[("GET /", SpanKind::Server)])?;
    /// let err = forest.check_shape(&[("GET /", SpanKind::Client)]).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "unexpected trace: span names and kinds differ (expected GET / [client]; recorded GET / [server])"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_shape(&self, expected: &[(&str, SpanKind)]) -> Result<(), Error> {
        self.check_well_formed()?;
        let actual: Vec<(&str, SpanKind)> = self
            .walk()
            .into_iter()
            .map(|(_, s)| (s.name.as_str(), s.kind))
            .collect();
        if actual.as_slice() == expected {
            return Ok(());
        }
        Err(
            Error::new(ErrorKind::TraceShape, "span names and kinds differ").detail(format!(
                "expected {}; recorded {}",
                walk_text(expected.iter().copied()),
                walk_text(actual)
            )),
        )
    }
}

impl fmt::Display for Forest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.spans.is_empty() {
            return f.write_str("(no spans)\n");
        }
        for trace in self.trace_ids() {
            let count = self.spans.iter().filter(|s| s.trace_id == trace).count();
            writeln!(f, "trace {trace} ({count} spans)")?;
            let roots = self.roots(trace);
            for (i, root) in roots.iter().enumerate() {
                self.draw(f, root, "", i + 1 == roots.len())?;
            }
        }
        Ok(())
    }
}

impl Forest {
    fn draw(
        &self,
        f: &mut fmt::Formatter<'_>,
        span: &Span,
        prefix: &str,
        last: bool,
    ) -> fmt::Result {
        let branch = if last { "└── " } else { "├── " };
        write!(
            f,
            "{prefix}{branch}{} [{}] {}",
            span.name, span.kind, span.span_id
        )?;
        if let Some(p) = span.parent_span_id
            && !self.ids().contains(&(span.trace_id, p))
        {
            write!(f, " (missing parent {p})")?;
        }
        if let Status::Error(msg) = &span.status {
            write!(f, " ERROR: {msg}")?;
        }
        writeln!(f)?;
        let next = format!("{prefix}{}", if last { "    " } else { "│   " });
        let kids = self.children(span.trace_id, span.span_id);
        for (i, kid) in kids.iter().enumerate() {
            if std::ptr::eq(*kid, span) {
                continue;
            }
            self.draw(f, kid, &next, i + 1 == kids.len())?;
        }
        Ok(())
    }
}

/// Spans grouped per trace, used by tail decisions.
pub(crate) fn group_by_trace(spans: Vec<Span>) -> BTreeMap<TraceId, Vec<Span>> {
    let mut map: BTreeMap<TraceId, Vec<Span>> = BTreeMap::new();
    for s in spans {
        map.entry(s.trace_id).or_default().push(s);
    }
    map
}
