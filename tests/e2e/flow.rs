//! The end-to-end flow as a plain function of a scenario and a seed: the payments client checks
//! out orders against a mock payments service, which calls a webhook receiver back; the client
//! records its spans on the given clock and exports them to the service's OTLP collector.

use std::fmt::Write as _;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use steadfast::determinism::{Clock, DetRng, Seed};
use steadfast::mocknet::{Catalog, JournalEntry, MockNet};
use steadfast::tracing_core::export::{ExportReport, OtlpHttpExporter};
use steadfast::tracing_core::otlp::Resource;
use steadfast::tracing_core::propagation::SpanContext;
use steadfast::tracing_core::sink::{InMemorySink, SpanSink};
use steadfast::tracing_core::span::{Span, SpanKind, Status};
use steadfast::tracing_core::tracer::Tracer;
use steadfast::tracing_core::{SpanId, TraceId};

use crate::client::{PaymentError, PaymentsClient};

/// The payments example's catalog; the suite adds webhooks to it rather than copying it.
const PAYMENTS_CATALOG: &str = include_str!("../../examples/payments/catalog.json");

/// The scenarios of the payments catalog, in the order the suite runs them.
pub const SCENARIOS: [&str; 3] = ["happy-path", "charge-failure", "degraded-network"];

/// The scenario the webhook receiver serves.
pub const RECEIVER: &str = "webhook-receiver";

/// How long after answering the service calls back.
pub const WEBHOOK_DELAY: Duration = Duration::from_millis(250);

/// Longest the flow waits (on virtual time) for the last webhook.
const WEBHOOK_WAIT: Duration = Duration::from_secs(120);

/// The payments catalog with a webhook on every route (`/webhooks/<route>`, after
/// [`WEBHOOK_DELAY`]) and a receiver scenario answering `204` to any webhook.
pub fn catalog() -> Catalog {
    let mut value: Value = serde_json::from_str(PAYMENTS_CATALOG).expect("the catalog is JSON");
    let scenarios = value["scenarios"]
        .as_object_mut()
        .expect("the catalog has scenarios");
    for scenario in scenarios.values_mut() {
        let Some(routes) = scenario.get_mut("routes").and_then(Value::as_array_mut) else {
            continue;
        };
        for route in routes {
            let name = route["name"]
                .as_str()
                .expect("routes are named")
                .to_string();
            route["callback"] = json!({
                "url": format!("/webhooks/{name}"),
                "json": {"event": format!("{name}.processed")},
                "delay_ms": WEBHOOK_DELAY.as_millis() as u64,
            });
        }
    }
    scenarios.insert(
        RECEIVER.into(),
        json!({"routes": [{"name": "webhook", "method": "POST", "path_prefix": "/webhooks/",
                           "response": {"status": 204}}]}),
    );
    Catalog::from_json(
        "examples/payments/catalog.json + webhooks",
        &value.to_string(),
    )
    .unwrap_or_else(|err| panic!("{err}"))
}

/// One client operation (a charge or a refund) and how long it took on the test clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub name: &'static str,
    pub result: Result<String, PaymentError>,
    pub latency: Duration,
}

/// Everything one run produced; the servers stay up until it is dropped.
#[derive(Debug)]
pub struct Run {
    pub scenario: String,
    pub operations: Vec<Operation>,
    pub service: MockNet,
    pub receiver: MockNet,
    /// The client's spans, as recorded (and exported).
    pub client_spans: Vec<Span>,
    pub export: ExportReport,
}

/// Span ids the payments client drew for its attempts, with the time of each draw (the start of
/// the attempt: the client draws an attempt's span id just before sending it).
type AttemptLog = Arc<Mutex<Vec<(SpanId, SystemTime)>>>;

/// Runs `checkouts` orders (charge, then refund when charged) under `scenario`.
///
/// Every random choice comes from `seed`: the services' faults, the client's trace and span
/// ids, the order amounts. Times come from `clock`, which must follow tokio's clock (the test
/// clock of an async `#[deterministic_test]`, or a `TokioClock` on a paused runtime).
pub async fn run<C: Clock + Clone + 'static>(
    scenario: &str,
    seed: Seed,
    checkouts: usize,
    clock: C,
) -> Run {
    let catalog = catalog();
    let receiver = MockNet::builder()
        .scenario(catalog.scenario(RECEIVER).expect("receiver scenario"))
        .seed(seed.derive("receiver"))
        .start()
        .await
        .expect("receiver starts");
    let service = MockNet::builder()
        .scenario(catalog.scenario(scenario).expect("payments scenario"))
        .seed(seed.derive("service"))
        .callback_base(receiver.uri())
        .otlp_collector(true)
        .start()
        .await
        .expect("service starts");

    let sink = InMemorySink::new();
    let mut span_ids = DetRng::from_seed(seed.derive("client spans"));
    let tracer_clock = clock.clone();
    let tracer = Tracer::builder()
        .ids(move || span_ids.next_u64())
        .clock(move || tracer_clock.now())
        .sink(sink.clone())
        .build();
    let root = tracer.start_root("checkout", SpanKind::Internal);
    let attempts = AttemptLog::default();
    let mut client = PaymentsClient::new(
        service.uri(),
        client_ids(root.context().trace_id(), seed, &attempts, clock.clone()),
    )
    .expect("client builds");

    let mut amounts = DetRng::from_seed(seed.derive("amounts"));
    let traced = Traced {
        tracer: &tracer,
        parent: root.context(),
        sink: &sink,
        attempts: &attempts,
        clock: &clock,
    };
    let mut operations = Vec::new();
    for _ in 0..checkouts {
        let amount = amounts.in_range(100..100_000);
        let charge = traced
            .operation("charge", "POST /v1/charges", client.charge(amount))
            .await;
        let charged = charge.result.clone();
        operations.push(charge);
        if let Ok(id) = charged {
            let refund = traced
                .operation(
                    "refund",
                    "POST /v1/charges/{id}/refunds",
                    client.refund(&id),
                )
                .await;
            operations.push(refund);
        }
    }
    root.end();

    // A route's webhook goes out when its response went out unbroken.
    let webhooks = service
        .journal()
        .iter()
        .filter(|entry| entry.route.is_some() && entry.replacing_fault().is_none())
        .count();
    service
        .wait_for_callbacks(webhooks, WEBHOOK_WAIT)
        .await
        .unwrap_or_else(|err| panic!("{err}"));

    let client_spans = sink.spans();
    let exporter = OtlpHttpExporter::builder(format!("{}/v1/traces", service.uri()))
        .resource(Resource::new("payments-client"))
        .build()
        .expect("exporter builds");
    let to_export = client_spans.clone();
    // The exporter is blocking std::net; the service answers it from this runtime meanwhile.
    let export = tokio::task::spawn_blocking(move || exporter.export(&to_export))
        .await
        .expect("export task")
        .unwrap_or_else(|err| panic!("export failed: {err}"));

    Run {
        scenario: scenario.into(),
        operations,
        service,
        receiver,
        client_spans,
        export,
    }
}

/// The payments client's id source: the checkout's trace id first (so the client's requests
/// join the checkout trace), then seeded span ids, each logged with the time it was drawn.
fn client_ids<C: Clock + 'static>(
    trace: TraceId,
    seed: Seed,
    attempts: &AttemptLog,
    clock: C,
) -> impl FnMut() -> u64 + Send + 'static {
    let trace = trace.to_u128();
    let mut prefix = vec![trace as u64, (trace >> 64) as u64];
    let mut rng = DetRng::from_seed(seed.derive("client ids"));
    let attempts = Arc::clone(attempts);
    move || {
        if let Some(half) = prefix.pop() {
            return half;
        }
        let id = rng.next_u64();
        // The client skips the invalid all-zero span id, so the log does too.
        if id != 0 {
            lock(&attempts).push((SpanId::from_u64(id), clock.now()));
        }
        id
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the client side needs to trace an operation and its attempts.
struct Traced<'a, C> {
    tracer: &'a Tracer,
    parent: &'a SpanContext,
    sink: &'a InMemorySink,
    attempts: &'a AttemptLog,
    clock: &'a C,
}

impl<C: Clock> Traced<'_, C> {
    /// Runs one client operation in an `Internal` span with a `Client` span per attempt. An
    /// attempt's span lasts until the next attempt starts (its backoff included) or the
    /// operation returns.
    async fn operation(
        &self,
        name: &'static str,
        route: &str,
        work: impl Future<Output = Result<String, PaymentError>>,
    ) -> Operation {
        let mut span = self
            .tracer
            .start_child(self.parent, name, SpanKind::Internal);
        let first = lock(self.attempts).len();
        let started = self.clock.monotonic();
        let result = work.await;
        let latency = self.clock.monotonic() - started;
        let ended = self.clock.now();
        let drawn = lock(self.attempts)[first..].to_vec();
        for (i, &(id, start)) in drawn.iter().enumerate() {
            let end = drawn.get(i + 1).map_or(ended, |&(_, next)| next);
            let attempt = i64::try_from(i + 1).unwrap_or(i64::MAX);
            self.sink.on_end(
                Span::new(span.context().trace_id(), id, route)
                    .with_parent(span.context().span_id())
                    .with_kind(SpanKind::Client)
                    .with_flags(span.context().flags())
                    .with_times(start, end)
                    .with_attribute("payments.attempt", attempt),
            );
        }
        if let Err(err) = &result {
            span.set_status(Status::error(err.to_string()));
        }
        span.end();
        Operation {
            name,
            result,
            latency,
        }
    }
}

impl Run {
    /// The whole run as text, one line per request, webhook and operation, with everything the
    /// seed decides (requests, faults, virtual times, trace ids, callbacks, exported spans) and
    /// nothing it does not (the servers' ports).
    pub fn transcript(&self) -> String {
        let mut out = format!("scenario {}\n", self.scenario);
        for operation in &self.operations {
            let _ = writeln!(
                out,
                "operation {} -> {:?} in {:?}",
                operation.name, operation.result, operation.latency
            );
        }
        let ports = [self.service.uri(), self.receiver.uri()];
        let strip = |text: &str| {
            ports
                .iter()
                .fold(text.to_string(), |text, uri| text.replace(uri.as_str(), ""))
        };
        for (who, journal) in [
            ("service", self.service.journal()),
            ("receiver", self.receiver.journal()),
        ] {
            for entry in &journal {
                let _ = writeln!(out, "{who} {}", strip(&describe(entry)));
            }
        }
        out
    }
}

/// One journal entry with every field but the `host` header (it holds a port).
fn describe(entry: &JournalEntry) -> String {
    let headers: Vec<String> = entry
        .headers
        .iter()
        .filter(|(name, _)| name != "host")
        .map(|(name, value)| format!("{name}: {value}"))
        .collect();
    let traceparent = entry
        .traceparent
        .map_or_else(|| "-".to_string(), |parent| parent.to_string());
    let mut line = format!(
        "{entry} traceparent {traceparent} headers [{}] body {}",
        headers.join("; "),
        String::from_utf8_lossy(&entry.body)
    );
    if let Some(callback) = &entry.callback {
        let parent = callback
            .traceparent
            .map_or_else(|| "-".to_string(), |parent| parent.to_string());
        let _ = write!(line, " callback traceparent {parent}");
    }
    line
}
