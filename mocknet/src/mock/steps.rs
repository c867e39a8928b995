//! [`Fault`] and [`Step`]: the faults of a [`Mock`](crate::Mock) and its sequences, as the
//! catalog's `faults` and `sequence` describe them.

use std::time::Duration;

use super::ResponseTemplate;
use crate::fault::{self, Effect};
use crate::scenario;

/// A fault of a [`Mock`](crate::Mock): every kind the catalog has (see [`crate::fault`]), drawn
/// from the server's seed with the same probabilities.
///
/// A fault applies to every request by default; [`probability`](Self::probability) makes it
/// apply to a share of them. Bad values (a probability outside 0..=1, a zero chunk size, a
/// status that is not final) are an [`ErrorKind::InvalidMock`](crate::ErrorKind::InvalidMock)
/// when the mock is mounted, worded as the catalog's errors are.
///
/// # Example
///
/// ```
/// use steadfast_mocknet::matchers::path;
/// use steadfast_mocknet::{Fault, Mock, MockNet, ResponseTemplate};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
/// let net = MockNet::builder().seed(1).start().await?;
/// Mock::given(path("/quote"))
///     .respond_with(ResponseTemplate::new(200))
///     .fault(Fault::status(503).retry_after(2).probability(1.0))
///     .mount(&net)
///     .await;
///
/// let response = reqwest::get(format!("{}/quote", net.uri())).await?;
/// assert_eq!(response.status(), 503);
/// assert_eq!(response.headers()["retry-after"], "2");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct Fault {
    effect: Result<Effect, String>,
    probability: f64,
}

impl Fault {
    fn always(effect: Effect) -> Fault {
        Fault {
            effect: Ok(effect),
            probability: 1.0,
        }
    }

    /// A fixed delay before the response (catalog kind `latency`).
    pub fn latency(delay: Duration) -> Fault {
        Fault::always(Effect::Latency(delay))
    }

    /// A delay drawn uniformly from `min..=max` (catalog kind `jitter-uniform`).
    pub fn jitter_uniform(min: Duration, max: Duration) -> Fault {
        Fault::always(Effect::UniformJitter { min, max })
    }

    /// A lognormal delay with median `p50` and 99th percentile `p99` (catalog kind
    /// `jitter-lognormal`).
    pub fn jitter_lognormal(p50: Duration, p99: Duration) -> Fault {
        Fault {
            effect: Effect::lognormal(p50, p99),
            probability: 1.0,
        }
    }

    /// An error status instead of the response (catalog kind `status`); add
    /// [`retry_after`](Self::retry_after) for a `Retry-After` header.
    pub fn status(status: u16) -> Fault {
        Fault::always(Effect::Status {
            status,
            retry_after: None,
        })
    }

    /// For a [`status`](Self::status) fault, the `Retry-After` header in seconds; other faults
    /// are left as they are.
    pub fn retry_after(mut self, seconds: u64) -> Fault {
        if let Ok(Effect::Status { retry_after, .. }) = &mut self.effect {
            *retry_after = Some(seconds);
        }
        self
    }

    /// A TCP RST: the client sees `io::ErrorKind::ConnectionReset` (catalog kind `reset`).
    pub fn reset() -> Fault {
        Fault::always(Effect::Reset)
    }

    /// The connection closed after the request is read, before a byte of response (catalog
    /// kind `empty`).
    pub fn empty() -> Fault {
        Fault::always(Effect::Empty)
    }

    /// Bytes that are not HTTP, then a close (catalog kind `malformed`).
    pub fn malformed() -> Fault {
        Fault::always(Effect::Malformed)
    }

    /// A `Content-Length` longer than the body sent (catalog kind `truncated`).
    pub fn truncated() -> Fault {
        Fault::always(Effect::Truncated)
    }

    /// The body in chunks of `chunk` bytes, `interval` apart (catalog kind `dribble`).
    pub fn dribble(chunk: usize, interval: Duration) -> Fault {
        Fault::always(Effect::Dribble { chunk, interval })
    }

    /// The response no faster than `bytes_per_second` (catalog kind `bandwidth`).
    pub fn bandwidth(bytes_per_second: u64) -> Fault {
        Fault::always(Effect::Bandwidth { bytes_per_second })
    }

    /// No answer, ever (catalog kind `hang`).
    pub fn hang() -> Fault {
        Fault::always(Effect::Hang)
    }

    /// After this request, the server stops listening for `period` on the test's clock: new
    /// connections are refused with a real `ECONNREFUSED` (`io::ErrorKind::ConnectionRefused`),
    /// then it listens on the same port again (catalog kind `refused`, `for_ms`). The request
    /// itself is answered, unless another fault says otherwise.
    pub fn refused(period: Duration) -> Fault {
        Fault::always(Effect::Refuse(period))
    }

    /// After this request, the next `connections` connections are closed as soon as they are
    /// accepted, before a byte is read (catalog kind `close-on-accept`, `connections`). The
    /// request itself is answered, unless another fault says otherwise.
    pub fn close_on_accept(connections: usize) -> Fault {
        Fault::always(Effect::CloseOnAccept(connections))
    }

    /// Applies the fault to this share of requests, from 0 to 1 (1 by default).
    pub fn probability(mut self, probability: f64) -> Fault {
        self.probability = probability;
        self
    }

    /// The checked fault, or what is wrong with it in the catalog's words.
    pub(crate) fn compile(&self) -> Result<fault::Fault, String> {
        fault::Fault::checked(self.probability, self.effect.clone()?)
    }
}

/// One step of a mock's [sequence](crate::Mock::sequence): what its `n`-th matching request
/// gets. A step is the mock's response, another response, or faults (or both); the last step
/// repeats.
///
/// # Example
///
/// "Reset, reset, then 201":
///
/// ```
/// use steadfast_mocknet::matchers::{method, path};
/// use steadfast_mocknet::{Fault, Mock, MockNet, ResponseTemplate, Step};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
/// let net = MockNet::builder().seed(1).start().await?;
/// Mock::given(method("POST"))
///     .and(path("/v1/charges"))
///     .respond_with(ResponseTemplate::new(201))
///     .sequence([Step::fault(Fault::reset()), Step::fault(Fault::reset()), Step::respond()])
///     .expect(3)
///     .mount(&net)
///     .await;
///
/// let client = reqwest::Client::new();
/// let url = format!("{}/v1/charges", net.uri());
/// for _ in 0..2 {
///     let err = client.post(&url).send().await.unwrap_err();
///     assert!(err.is_request(), "{err}");
/// }
/// assert_eq!(client.post(&url).send().await?.status(), 201);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Step {
    faults: Vec<Fault>,
    response: Option<ResponseTemplate>,
}

impl Step {
    /// The mock's own response, unchanged.
    pub fn respond() -> Step {
        Step {
            faults: Vec::new(),
            response: None,
        }
    }

    /// Another response for this call.
    pub fn respond_with(response: ResponseTemplate) -> Step {
        Step {
            faults: Vec::new(),
            response: Some(response),
        }
    }

    /// The mock's response with `fault` applied to it.
    pub fn fault(fault: Fault) -> Step {
        Step::respond().and_fault(fault)
    }

    /// Adds a fault to the step, drawn before the mock's own faults.
    pub fn and_fault(mut self, fault: Fault) -> Step {
        self.faults.push(fault);
        self
    }

    /// The checked step: its faults (the latency of its response's delay first) and response.
    pub(crate) fn compile(&self) -> Result<scenario::Step, String> {
        let mut faults = Vec::new();
        let response = match &self.response {
            Some(template) => {
                let (response, latency) = template.compile()?;
                faults.extend(latency);
                Some(response)
            }
            None => None,
        };
        for (index, fault) in self.faults.iter().enumerate() {
            faults.push(
                fault
                    .compile()
                    .map_err(|why| format!("faults[{index}]: {why}"))?,
            );
        }
        Ok(scenario::Step { faults, response })
    }
}
