//! Which series a query reads: a metric's kind and name, the labels every matching series must
//! carry, and the test whose store is read.

use std::fmt::Write as _;
use std::sync::Arc;

use metrics::Key;
use steadfast_determinism::TestContext;

use crate::error::{Error, ErrorKind};
use crate::recorder::{existing_store_of, is_installed, records_outside_tests};
use crate::store::{Kind, Record, Store};

/// A metric name plus a label filter, bound to one test.
#[derive(Debug, Clone)]
pub(crate) struct Selector {
    kind: Kind,
    name: String,
    labels: Vec<(String, String)>,
    /// The test whose metrics are read; `None` when no context was current.
    ctx: Option<Arc<TestContext>>,
}

/// The series a selector matched, with their records, and the store they came from.
pub(crate) struct Matched {
    pub(crate) store: Arc<Store>,
    pub(crate) series: Vec<(Key, Vec<Record>)>,
}

impl Matched {
    /// Error details naming the test and its seed.
    pub(crate) fn error(&self, selector: &Selector, headline: String, report: String) -> Error {
        Error::new(ErrorKind::Mismatch, headline)
            .with_metric(selector.to_string())
            .with_test(self.store.test(), self.store.seed())
            .with_report(report)
    }

    /// ` in test NAME (seed S)`, for headlines.
    pub(crate) fn where_(&self) -> String {
        format!(
            " in test {} (seed {})",
            self.store.test(),
            self.store.seed()
        )
    }
}

impl Selector {
    pub(crate) fn new(kind: Kind, name: String, ctx: Option<Arc<TestContext>>) -> Self {
        Self {
            kind,
            name,
            labels: Vec::new(),
            ctx,
        }
    }

    pub(crate) fn with_label(mut self, key: String, value: String) -> Self {
        self.labels.push((key, value));
        self
    }

    fn matches(&self, key: &Key) -> bool {
        key.name() == self.name
            && self.labels.iter().all(|(k, v)| {
                key.labels()
                    .any(|label| label.key() == k && label.value() == v)
            })
    }

    /// The matching series, or an error saying why there are none.
    pub(crate) fn matched(&self) -> Result<Matched, Error> {
        let metric = self.to_string();
        let kind = self.kind.as_str();
        let Some(ctx) = &self.ctx else {
            return Err(Error::new(
                ErrorKind::NoTestContext,
                format!(
                    "{kind} `{metric}` cannot be read: no test context is current on this \
                     thread; query from the test (a #[deterministic_test] or a \
                     TestContext::scope) or use Captured::of(ctx)"
                ),
            )
            .with_metric(metric));
        };
        let store = existing_store_of(ctx);
        // Nothing recorded and no global recorder: say why, rather than "never recorded". (A
        // store without `install` is fine: TestRecorder may be a thread's local recorder.)
        if store.is_none() && !is_installed() {
            return Err(Error::new(
                ErrorKind::NotInstalled,
                format!(
                    "{kind} `{metric}` cannot be read: the steadfast metrics recorder is not \
                     installed; call steadfast_metrics::install() at the start of the test"
                ),
            )
            .with_metric(metric));
        }
        let series: Vec<(Key, Vec<Record>)> = store
            .as_ref()
            .map(|store| {
                store
                    .all(self.kind)
                    .into_iter()
                    .filter(|(key, _)| self.matches(key))
                    .map(|(key, series)| (key, series.records()))
                    .filter(|(_, records)| !records.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        match store {
            Some(store) if !series.is_empty() => Ok(Matched { store, series }),
            store => {
                let mut headline = format!(
                    "{kind} `{metric}` was never recorded in test {} (seed {})",
                    ctx.name(),
                    ctx.seed()
                );
                headline.push_str(&recorded_list(store.as_deref()));
                let outside = records_outside_tests();
                if outside > 0 {
                    let _ = write!(
                        headline,
                        "; {outside} record(s) in this process were made where no test context \
                         was current (another thread?)"
                    );
                }
                Err(Error::new(ErrorKind::NotRecorded, headline)
                    .with_metric(metric)
                    .with_test(ctx.name(), ctx.seed()))
            }
        }
    }
}

/// `; recorded: counter `a`, gauge `b{x=1}`` or `; nothing was recorded in this test`.
fn recorded_list(store: Option<&Store>) -> String {
    let recorded: Vec<String> = store
        .map(|store| {
            [Kind::Counter, Kind::Gauge, Kind::Histogram]
                .into_iter()
                .flat_map(|kind| {
                    store
                        .all(kind)
                        .into_iter()
                        .map(move |(key, _)| format!("{} `{}`", kind.as_str(), key_text(&key)))
                })
                .collect()
        })
        .unwrap_or_default();
    if recorded.is_empty() {
        "; nothing was recorded in this test".to_owned()
    } else {
        format!("; recorded: {}", recorded.join(", "))
    }
}

/// `name{key=value,key=value}`, labels in recorded order; just `name` without labels.
pub(crate) fn key_text(key: &Key) -> String {
    let labels: Vec<(&str, &str)> = key.labels().map(|l| (l.key(), l.value())).collect();
    name_with_labels(key.name(), labels)
}

fn name_with_labels<'a>(
    name: &str,
    labels: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut out = name.to_owned();
    for (i, (k, v)) in labels.into_iter().enumerate() {
        out.push(if i == 0 { '{' } else { ',' });
        let _ = write!(out, "{k}={v}");
    }
    if out.len() > name.len() {
        out.push('}');
    }
    out
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&name_with_labels(
            &self.name,
            self.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics::Label;
    use steadfast_determinism::Seed;

    // No unit test of this crate calls `install`, so these see no global recorder.

    #[test]
    fn a_query_before_install_says_to_install() {
        let ctx = Arc::new(TestContext::new("select::not_installed", Seed::new(1)));
        let selector = Selector::new(Kind::Counter, "x".into(), Some(ctx));
        let Err(err) = selector.matched() else {
            panic!("nothing was recorded")
        };
        assert_eq!(err.kind(), ErrorKind::NotInstalled);
        assert!(
            err.to_string()
                .ends_with("call steadfast_metrics::install() at the start of the test"),
            "{err}"
        );
    }

    #[test]
    fn a_local_test_recorder_needs_no_install() {
        let ctx = Arc::new(TestContext::new("select::local", Seed::new(2)));
        metrics::with_local_recorder(&crate::TestRecorder, || {
            ctx.scope(|| metrics::counter!("local.hits").increment(2));
        });
        let Ok(matched) = Selector::new(Kind::Counter, "local.hits".into(), Some(ctx)).matched()
        else {
            panic!("recorded through the local recorder, so readable without install")
        };
        assert_eq!(matched.series[0].1.last().map(|r| r.value), Some(2.0));
    }

    #[test]
    fn a_label_filter_matches_series_that_carry_every_label() {
        let selector = Selector::new(Kind::Counter, "req".into(), None)
            .with_label("tenant".into(), "a".into());
        let key = |labels: Vec<Label>| Key::from_parts("req", labels);
        assert!(selector.matches(&key(vec![
            Label::new("route", "/"),
            Label::new("tenant", "a")
        ])));
        assert!(!selector.matches(&key(vec![Label::new("tenant", "b")])));
        assert!(!selector.matches(&key(vec![])));
        assert!(!selector.matches(&Key::from_parts("other", vec![Label::new("tenant", "a")])));
        assert_eq!(selector.to_string(), "req{tenant=a}");
    }
}
