//! Routing: matching a request to a route, journaling it and planning the reply.

use std::fmt::Write as _;
use std::sync::Arc;

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use steadfast_determinism::DetRng;
use steadfast_tracing_core::{IdGenerator, TraceParent};
use wiremock::{Request, Respond};

use super::{OTLP_COLLECTOR_ROUTE, Shared, State};
use crate::callback::Callback;
use crate::fault::{self, Effect, Plan};
use crate::http1::RawRequest;
use crate::journal::JournalEntry;
use crate::otlp;
use crate::scenario::Response;

/// What to send back for one request, decided under the lock and carried out after it.
pub(super) struct Reply {
    pub(super) plan: Plan,
    pub(super) response: Arc<Response>,
    pub(super) rng: DetRng,
    pub(super) callback: Option<PendingCallback>,
    /// A wiremock responder's template, to render into `response` before sending; with the
    /// journal entry whose status it gives.
    pub(super) render: Option<(wiremock::ResponseTemplate, usize)>,
}

/// A request that matched no route: what it was, and which routes came nearest.
#[derive(Debug, Clone)]
pub(super) struct Stray {
    /// One line: the request, the scenario, its state and the seed.
    pub(super) headline: String,
    /// `nearest routes:` and a line per route saying what it wants.
    pub(super) nearest: String,
}

impl Stray {
    /// The text of the 404 sent back: `steadfast: ` and the whole story.
    pub(super) fn body(&self) -> String {
        format!("steadfast: {}; {}", self.headline, self.nearest)
    }
}

/// A route's callback, to be sent once its response is out.
pub(super) struct PendingCallback {
    /// The journal entry of the request it answers.
    pub(super) index: usize,
    pub(super) callback: Callback,
    pub(super) url: url::Url,
    pub(super) traceparent: Option<TraceParent>,
}

impl Shared {
    /// Matches, journals and plans the reply to one request.
    pub(super) fn handle(&self, raw: RawRequest) -> Reply {
        let at = self.started.elapsed();
        let request = to_wiremock(&raw);
        let traceparent = raw
            .headers
            .iter()
            .find(|(name, _)| name == "traceparent")
            .and_then(|(_, value)| TraceParent::parse(value).ok());
        let mut state = self.lock();
        let index = state.journal.len();
        let mut rng = self.rng.fork(&format!("request {index}"));
        let collected = (self.otlp_collector && raw.method == "POST")
            .then(|| otlp::collect(request.url.path(), &raw.body))
            .flatten();
        let matched = if collected.is_some() {
            None
        } else {
            state.matching(&request)
        };
        let mut callback = None;
        let mut render = None;
        let (route_name, response, plan) = match (collected, matched) {
            (Some(decoded), _) => {
                let response = match decoded {
                    Ok(collected) => {
                        match collected {
                            otlp::Collected::Spans(spans) => state.spans.extend(spans),
                            otlp::Collected::Metrics(metrics) => state.metrics.extend(metrics),
                        }
                        text_response(200, "application/json", "{}".into())
                    }
                    Err(message) => text_response(
                        400,
                        "text/plain; charset=utf-8",
                        format!("invalid OTLP JSON export: {message}"),
                    ),
                };
                (
                    Some(OTLP_COLLECTOR_ROUTE.to_string()),
                    response,
                    Plan::default(),
                )
            }
            (None, Some(i)) => {
                let call = state.calls[i];
                state.calls[i] += 1;
                let route = &state.scenario.routes[i];
                let next_state = route.set_state.clone();
                let step = route
                    .sequence
                    .get(call.min(route.sequence.len().saturating_sub(1)));
                let own = step.and_then(|step| step.response.clone());
                let response = match (own, &route.responder) {
                    (Some(response), _) => response,
                    (None, Some(responder)) => {
                        render = Some((responder.respond(&request), index));
                        // Replaced by the rendered template before anything is sent.
                        text_response(500, "text/plain; charset=utf-8", String::new())
                    }
                    (None, None) => route.responses[call.min(route.responses.len() - 1)].clone(),
                };
                let step_faults = step.map(|step| step.faults.as_slice()).unwrap_or_default();
                let faults = step_faults
                    .iter()
                    .chain(&route.faults)
                    .chain(&state.scenario.faults);
                let plan = fault::plan(faults, &mut rng);
                // A fault that replaces or breaks the response also keeps the callback back.
                if plan.outcome.is_none() {
                    callback = route
                        .callback
                        .as_ref()
                        .and_then(|cb| self.pending_callback(index, cb, traceparent));
                }
                let name = route.name.clone();
                if let Some(next) = next_state {
                    state.current = next;
                }
                (Some(name), response, plan)
            }
            (None, None) => {
                let stray = self.stray(&state, &raw, &request);
                let response = text_response(404, "text/plain; charset=utf-8", stray.body());
                if self.fail_on_unmatched {
                    state.unmatched_failures.push(stray);
                }
                let plan = fault::plan(&state.scenario.faults, &mut rng);
                (None, response, plan)
            }
        };
        // A fault that replaces the response leaves nothing to render.
        if plan
            .outcome
            .as_ref()
            .is_some_and(|outcome| *outcome != Effect::Truncated)
        {
            render = None;
        }
        state.close_on_accept += plan.close_on_accept;
        if let Some(period) = plan.refuse {
            let until = tokio::time::Instant::now() + period;
            self.refuse_until
                .send_modify(|current| *current = Some(current.map_or(until, |c| c.max(until))));
        }
        let status = match &plan.outcome {
            None => Some(response.status),
            Some(Effect::Status { status, .. }) => Some(*status),
            // The truncated response has its status line; the others never get one.
            Some(Effect::Truncated) => Some(response.status),
            Some(_) => None,
        };
        let (path, query) = match raw.target.split_once('?') {
            Some((path, query)) => (path.to_string(), Some(query.to_string())),
            None => (raw.target.clone(), None),
        };
        state.journal.push(JournalEntry {
            index,
            method: raw.method,
            path,
            query,
            headers: raw.headers,
            body: raw.body,
            at,
            route: route_name,
            faults: plan.applied.clone(),
            status,
            traceparent,
            callback: None,
        });
        let arrived = state.journal.len();
        drop(state);
        self.arrived.send_replace(arrived);
        Reply {
            plan,
            response,
            rng,
            callback,
            render,
        }
    }

    /// Resolves a route's callback for request `index`, continuing the request's trace with a
    /// span id from the request's own stream of the seed.
    fn pending_callback(
        &self,
        index: usize,
        callback: &Callback,
        incoming: Option<TraceParent>,
    ) -> Option<PendingCallback> {
        // `start` checked that every target resolves.
        let url = callback.target.resolve(self.callback_base.as_ref())?;
        let traceparent = incoming.and_then(|parent| {
            let mut rng = self.rng.fork(&format!("request {index} callback"));
            let mut ids = IdGenerator::new(move || rng.next_u64());
            TraceParent::new(parent.trace_id(), ids.span_id(), parent.flags()).ok()
        });
        Some(PendingCallback {
            index,
            callback: callback.clone(),
            url,
            traceparent,
        })
    }

    /// Says which request matched nothing and which routes came nearest.
    fn stray(&self, state: &State, raw: &RawRequest, request: &Request) -> Stray {
        let current = &state.current;
        let mut nearest: Vec<(usize, usize)> = (0..state.scenario.routes.len())
            .filter(|&i| !state.retired[i])
            .map(|i| {
                let hits = state
                    .matchers
                    .route(i)
                    .iter()
                    .filter(|m| m.matches(request));
                (i, hits.count())
            })
            .collect();
        // Most matchers satisfied first; ties keep catalog order.
        nearest.sort_by_key(|&(i, hits)| (std::cmp::Reverse(hits), i));
        let headline = format!(
            "{} {} matched no route of scenario `{}` in state `{current}` (seed {})",
            raw.method,
            raw.target,
            self.name,
            self.rng.seed()
        );
        let mut message = String::from("nearest routes:");
        for &(i, hits) in nearest.iter().take(3) {
            let _ = write!(message, "\n  {}", state.why_not(i, request, hits));
        }
        if nearest.is_empty() {
            message.push_str(" (the scenario has no routes)");
        }
        Stray {
            headline,
            nearest: message,
        }
    }
}

impl State {
    /// The route that answers `request`: the first, in priority order, that is mounted, not
    /// used up, in its state and whose matchers all hold.
    fn matching(&self, request: &Request) -> Option<usize> {
        self.order.iter().copied().find(|&i| {
            let route = &self.scenario.routes[i];
            !self.retired[i]
                && route
                    .max_calls
                    .is_none_or(|max| (self.calls[i] as u64) < max)
                && route
                    .when_state
                    .as_ref()
                    .is_none_or(|wanted| *wanted == self.current)
                && self
                    .matchers
                    .route(i)
                    .iter()
                    .all(|matcher| matcher.matches(request))
        })
    }

    /// Sorts the routes by priority, keeping their order within one priority.
    pub(super) fn reorder(&mut self) {
        let routes = &self.scenario.routes;
        self.order.clear();
        self.order.extend(0..routes.len());
        self.order.sort_by_key(|&i| routes[i].priority);
    }

    /// One line on why route `i` did not match `request`, `hits` of its matchers holding:
    /// `charge: 1 of 2 matchers hold; wants path /v1/charges; only in state `paid``.
    pub(super) fn why_not(&self, i: usize, request: &Request, hits: usize) -> String {
        let route = &self.scenario.routes[i];
        let mut line = format!(
            "{}: {hits} of {} matchers hold",
            route.name,
            route.matchers.len()
        );
        let differs: Vec<String> = route
            .matchers
            .iter()
            .zip(self.matchers.route(i))
            .filter(|(_, matcher)| !matcher.matches(request))
            .map(|(spec, _)| spec.to_string())
            .collect();
        if !differs.is_empty() {
            let _ = write!(line, "; wants {}", differs.join(", "));
        }
        if let Some(wanted) = route
            .when_state
            .as_ref()
            .filter(|wanted| **wanted != self.current)
        {
            let _ = write!(line, "; only in state `{wanted}`");
        }
        if route
            .max_calls
            .is_some_and(|max| self.calls[i] as u64 >= max)
        {
            let _ = write!(line, "; used up after {} requests", self.calls[i]);
        }
        line
    }
}

fn text_response(status: u16, content_type: &'static str, body: String) -> Arc<Response> {
    Arc::new(Response {
        status,
        headers: vec![(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(content_type),
        )],
        body: body.into_bytes(),
    })
}

/// Builds wiremock's request type so its matchers apply unchanged.
pub(crate) fn to_wiremock(raw: &RawRequest) -> Request {
    // An absolute-form target keeps its own authority; an origin-form one gets a placeholder.
    let url = if raw.target.starts_with('/') {
        url::Url::parse(&format!("http://localhost{}", raw.target))
    } else {
        url::Url::parse(&raw.target)
    };
    // A target that is not a URL (`*`, garbage) can only match path-agnostic routes.
    let url = url.unwrap_or_else(|_| localhost_root());
    let mut headers = HeaderMap::with_capacity(raw.headers.len());
    for (name, value) in &raw.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }
    Request {
        url,
        method: Method::from_bytes(raw.method.as_bytes()).unwrap_or(Method::GET),
        headers,
        body: raw.body.clone(),
    }
}

fn localhost_root() -> url::Url {
    // OK because the literal is a valid URL; `Url` has no const constructor.
    url::Url::parse("http://localhost/").expect("a valid literal URL")
}
