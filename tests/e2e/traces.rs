//! The trace is whole from the client through the mock service to the webhook receiver, and
//! the collector received every client span.

use std::collections::{HashMap, HashSet};

use steadfast::determinism::TestContext;
use steadfast::deterministic_test;
use steadfast::mocknet::OTLP_COLLECTOR_ROUTE;
use steadfast::tracing_core::SpanId;
use steadfast::tracing_core::sink::Forest;
use steadfast::tracing_core::span::{Span, SpanKind};

use crate::flow::{self, Run, SCENARIOS};

/// Follows every webhook back to the client's checkout: receiver request → the service request
/// whose callback sent it → the client attempt that sent that → its operation → the root.
#[track_caller]
fn assert_whole_trace(run: &Run) {
    let forest = Forest::new(run.client_spans.clone());
    if let Err(problem) = forest.check_well_formed() {
        panic!("client spans of `{}`: {problem}\n{forest}", run.scenario);
    }
    let by_id: HashMap<SpanId, &Span> = run.client_spans.iter().map(|s| (s.span_id, s)).collect();
    let trace_id = run.client_spans[0].trace_id;

    let requests: Vec<_> = run
        .service
        .journal()
        .into_iter()
        .filter(|e| e.route.as_deref() != Some(OTLP_COLLECTOR_ROUTE))
        .collect();
    let attempts = run
        .client_spans
        .iter()
        .filter(|s| s.kind == SpanKind::Client)
        .count();
    assert_eq!(
        requests.len(),
        attempts,
        "every client attempt reached the service"
    );
    let mut parents = HashSet::new();
    let mut callbacks = HashMap::new();
    for entry in &requests {
        let parent = entry
            .traceparent
            .unwrap_or_else(|| panic!("no traceparent: {entry}"));
        assert_eq!(parent.trace_id(), trace_id, "{entry}");
        assert!(
            parents.insert(parent.parent_id()),
            "parent id reused: {entry}"
        );
        let attempt = by_id
            .get(&parent.parent_id())
            .unwrap_or_else(|| panic!("not a client span: {entry}"));
        assert_eq!(attempt.kind, SpanKind::Client, "{entry}");
        if let Some(callback) = &entry.callback {
            let sent = callback
                .traceparent
                .unwrap_or_else(|| panic!("callback without traceparent: {entry}"));
            assert_eq!(sent.trace_id(), trace_id, "{entry}");
            assert_eq!(sent.flags(), parent.flags(), "{entry}");
            assert!(
                !by_id.contains_key(&sent.parent_id()),
                "callback reused a client span id: {entry}"
            );
            assert!(
                parents.insert(sent.parent_id()),
                "callback span id reused: {entry}"
            );
            callbacks.insert(sent, parent);
        }
    }
    assert!(!callbacks.is_empty(), "`{}` sent no webhook", run.scenario);

    let delivered = run.receiver.journal();
    assert_eq!(
        delivered.len(),
        callbacks.len(),
        "every webhook was delivered once"
    );
    run.receiver.assert_trace_propagated();
    for webhook in &delivered {
        let sent = webhook
            .traceparent
            .expect("checked by assert_trace_propagated");
        let request = callbacks
            .get(&sent)
            .unwrap_or_else(|| panic!("no service request sent {webhook}"));
        let mut chain = vec![webhook.path.clone()];
        let mut span = by_id.get(&request.parent_id()).copied();
        while let Some(current) = span {
            chain.push(current.name.clone());
            span = current
                .parent_span_id
                .and_then(|id| by_id.get(&id).copied());
        }
        assert_eq!(
            chain.last().map(String::as_str),
            Some("checkout"),
            "{chain:?}"
        );
        assert_eq!(
            chain.len(),
            4,
            "webhook → attempt → operation → checkout: {chain:?}"
        );
    }
}

#[deterministic_test]
async fn trace_is_whole_from_client_through_service_to_webhook_in_every_scenario(
    ctx: &TestContext,
) {
    for scenario in SCENARIOS {
        let run = flow::run(
            scenario,
            ctx.seed().derive(scenario),
            5,
            ctx.clock().clone(),
        )
        .await;

        assert_whole_trace(&run);
    }
}

#[deterministic_test]
async fn collector_received_every_client_span(ctx: &TestContext) {
    for scenario in SCENARIOS {
        let run = flow::run(
            scenario,
            ctx.seed().derive(scenario),
            5,
            ctx.clock().clone(),
        )
        .await;

        let mut sent = run.client_spans.clone();
        let mut received = run.service.spans();
        sent.sort_by_key(|span| span.span_id);
        received.sort_by_key(|span| span.span_id);
        assert_eq!(run.export.spans, sent.len(), "{scenario}");
        assert_eq!(
            received, sent,
            "{scenario}: the collector decoded what the client sent"
        );
        run.service
            .assert_called(OTLP_COLLECTOR_ROUTE, run.export.requests);
    }
}

#[test]
#[should_panic(expected = "webhook → attempt → operation → checkout")]
fn whole_trace_check_fails_when_a_webhook_leads_elsewhere() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let clock = steadfast::determinism::TokioClock::starting_at(std::time::UNIX_EPOCH);
        let mut run = flow::run("happy-path", steadfast::determinism::Seed::new(1), 1, clock).await;
        // Cut the operation spans from the tree: attempts now hang off the root directly.
        let root = run
            .client_spans
            .iter()
            .find(|s| s.parent_span_id.is_none())
            .expect("root")
            .span_id;
        run.client_spans
            .retain(|s| s.kind != SpanKind::Internal || s.span_id == root);
        for span in &mut run.client_spans {
            if span.kind == SpanKind::Client {
                span.parent_span_id = Some(root);
            }
        }
        assert_whole_trace(&run);
    });
}
