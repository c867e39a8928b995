//! Faults: what can go wrong between a client and a route, and how often.
//!
//! A fault has an effect and a probability. For each request, every fault of the route and of
//! the scenario is drawn in order from the request's own stream of the seed (see
//! [`MockNet`](crate::MockNet)), so the same seed and the same requests give the same faults.
//! Delays (latency, jitter, dribble, bandwidth) add up; of the faults that replace the answer
//! (status, reset, empty, malformed, truncated, hang), the first one drawn wins. Two act on the
//! connections after the request instead: `refused` (the listener closes for a period, so new
//! connections meet a real `ECONNREFUSED`) and `close-on-accept` (the next connections are
//! closed before a byte is read); the longest refusal and the sum of the closes apply.

use std::fmt;
use std::time::Duration;

use steadfast_determinism::DetRng;

/// The kind of a fault, as recorded in the [journal](crate::JournalEntry).
///
/// # Example
///
/// ```
/// use steadfast_mocknet::FaultKind;
///
/// assert_eq!(FaultKind::Reset.as_str(), "reset");
/// assert_eq!(FaultKind::Truncated.to_string(), "truncated");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FaultKind {
    /// A fixed delay before the response.
    Latency,
    /// A random delay before the response (uniform or lognormal).
    Jitter,
    /// An error status (such as 503) instead of the route's response, maybe with `Retry-After`.
    Status,
    /// The connection is reset (a TCP RST): the client sees `ConnectionReset`.
    Reset,
    /// The connection is closed without a byte of response.
    Empty,
    /// Bytes that are not HTTP are sent, then the connection is closed.
    Malformed,
    /// `Content-Length` promises more body than is sent before the connection closes.
    Truncated,
    /// The body is sent in small chunks with a delay between them.
    Dribble,
    /// The response is sent no faster than a number of bytes per second.
    Bandwidth,
    /// The request is never answered.
    Hang,
    /// The server stops listening for a while: new connections are refused
    /// (`io::ErrorKind::ConnectionRefused`), then it listens again on the same port.
    Refused,
    /// The next connections are closed as soon as they are accepted, before a byte is read.
    CloseOnAccept,
}

impl FaultKind {
    /// The name used in catalogs and in the journal, such as `"reset"`.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Latency => "latency",
            FaultKind::Jitter => "jitter",
            FaultKind::Status => "status",
            FaultKind::Reset => "reset",
            FaultKind::Empty => "empty",
            FaultKind::Malformed => "malformed",
            FaultKind::Truncated => "truncated",
            FaultKind::Dribble => "dribble",
            FaultKind::Bandwidth => "bandwidth",
            FaultKind::Hang => "hang",
            FaultKind::Refused => "refused",
            FaultKind::CloseOnAccept => "close-on-accept",
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated fault: an effect and the probability that it applies to a request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fault {
    pub(crate) probability: f64,
    pub(crate) effect: Effect,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Effect {
    Latency(Duration),
    UniformJitter {
        min: Duration,
        max: Duration,
    },
    /// `exp(mu + sigma * z)` milliseconds for a standard normal `z`.
    LogNormalJitter {
        mu: f64,
        sigma: f64,
    },
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    Reset,
    Empty,
    Malformed,
    Truncated,
    Dribble {
        chunk: usize,
        interval: Duration,
    },
    Bandwidth {
        bytes_per_second: u64,
    },
    Hang,
    /// Stop listening for this long (a side effect: the request itself is answered).
    Refuse(Duration),
    /// Close this many of the next accepted connections before reading (a side effect too).
    CloseOnAccept(usize),
}

/// The 0.99 quantile of the standard normal distribution.
const Z_99: f64 = 2.326_347_874_040_840_8;

/// Longest jitter drawn; a lognormal tail beyond this would only stall tests.
const MAX_JITTER: Duration = Duration::from_secs(3600);

impl Effect {
    pub(crate) fn kind(&self) -> FaultKind {
        match self {
            Effect::Latency(_) => FaultKind::Latency,
            Effect::UniformJitter { .. } | Effect::LogNormalJitter { .. } => FaultKind::Jitter,
            Effect::Status { .. } => FaultKind::Status,
            Effect::Reset => FaultKind::Reset,
            Effect::Empty => FaultKind::Empty,
            Effect::Malformed => FaultKind::Malformed,
            Effect::Truncated => FaultKind::Truncated,
            Effect::Dribble { .. } => FaultKind::Dribble,
            Effect::Bandwidth { .. } => FaultKind::Bandwidth,
            Effect::Hang => FaultKind::Hang,
            Effect::Refuse(_) => FaultKind::Refused,
            Effect::CloseOnAccept(_) => FaultKind::CloseOnAccept,
        }
    }

    /// Checks the effect's values, saying what is wrong as the catalog words it.
    pub(crate) fn check(&self) -> Result<(), String> {
        match self {
            Effect::UniformJitter { min, max } if max < min => Err(format!(
                "jitter-uniform needs min_ms <= max_ms, got {} and {}",
                min.as_millis(),
                max.as_millis()
            )),
            Effect::Status { status, .. } => check_status(*status),
            Effect::Dribble { chunk: 0, .. } => Err("dribble needs chunk_bytes >= 1".into()),
            Effect::Bandwidth {
                bytes_per_second: 0,
            } => Err("bandwidth needs bytes_per_second >= 1".into()),
            Effect::CloseOnAccept(0) => Err("close-on-accept needs connections >= 1".into()),
            _ => Ok(()),
        }
    }

    /// The lognormal jitter whose median is `p50` and whose 99th percentile is `p99`.
    pub(crate) fn lognormal(p50: Duration, p99: Duration) -> Result<Effect, String> {
        let (p50_ms, p99_ms) = (p50.as_secs_f64() * 1e3, p99.as_secs_f64() * 1e3);
        if p50_ms <= 0.0 || p99_ms < p50_ms {
            return Err(format!(
                "lognormal jitter needs 0 < p50_ms <= p99_ms, got p50_ms {p50_ms} and p99_ms {p99_ms}"
            ));
        }
        let mu = p50_ms.ln();
        Ok(Effect::LogNormalJitter {
            mu,
            sigma: (p99_ms.ln() - mu) / Z_99,
        })
    }
}

/// Checks that `status` can end an exchange.
pub(crate) fn check_status(status: u16) -> Result<(), String> {
    // 1xx responses are interim and cannot end an exchange.
    if (200..=999).contains(&status) {
        Ok(())
    } else {
        Err(format!(
            "status {status} is not a final HTTP status (200 to 999)"
        ))
    }
}

impl Fault {
    /// A fault whose effect and probability were checked.
    pub(crate) fn checked(probability: f64, effect: Effect) -> Result<Fault, String> {
        effect.check()?;
        if !(0.0..=1.0).contains(&probability) {
            return Err(format!(
                "{} fault: probability {probability} is outside 0..=1",
                effect.kind()
            ));
        }
        Ok(Fault {
            probability,
            effect,
        })
    }
}

/// What the faults drawn for one request do to it.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Plan {
    /// Total delay before the response starts.
    pub(crate) delay: Duration,
    /// The fault that replaces the answer, if any.
    pub(crate) outcome: Option<Effect>,
    pub(crate) dribble: Option<(usize, Duration)>,
    pub(crate) bandwidth: Option<u64>,
    /// Stop listening for this long once the request is handled.
    pub(crate) refuse: Option<Duration>,
    /// Close this many of the next accepted connections before reading.
    pub(crate) close_on_accept: usize,
    /// Every fault that applied, in order.
    pub(crate) applied: Vec<FaultKind>,
}

/// Draws every fault in `faults` for one request from `rng`.
///
/// Each fault costs one draw for its probability whether or not it applies (jitter one or two
/// more), so a fault's outcome never shifts the draws of the faults after it.
pub(crate) fn plan<'a>(faults: impl IntoIterator<Item = &'a Fault>, rng: &mut DetRng) -> Plan {
    let mut plan = Plan::default();
    for fault in faults {
        let hit = rng.unit_f64() < fault.probability;
        let delay = match &fault.effect {
            Effect::UniformJitter { min, max } => {
                Some(*min + (*max - *min).mul_f64(rng.unit_f64()))
            }
            Effect::LogNormalJitter { mu, sigma } => {
                let z = standard_normal(rng);
                let ms = (mu + sigma * z).exp();
                Some(
                    Duration::try_from_secs_f64(ms / 1e3).map_or(MAX_JITTER, |d| d.min(MAX_JITTER)),
                )
            }
            _ => None,
        };
        if !hit {
            continue;
        }
        match &fault.effect {
            Effect::Latency(by) => plan.delay += *by,
            Effect::UniformJitter { .. } | Effect::LogNormalJitter { .. } => {
                plan.delay += delay.unwrap_or_default();
            }
            Effect::Dribble { chunk, interval } => plan.dribble = Some((*chunk, *interval)),
            Effect::Bandwidth { bytes_per_second } => plan.bandwidth = Some(*bytes_per_second),
            Effect::Refuse(period) => {
                plan.refuse = Some(plan.refuse.map_or(*period, |longest| longest.max(*period)));
            }
            Effect::CloseOnAccept(connections) => plan.close_on_accept += connections,
            replacing => {
                if plan.outcome.is_some() {
                    continue;
                }
                plan.outcome = Some(replacing.clone());
            }
        }
        plan.applied.push(fault.effect.kind());
    }
    plan
}

/// A standard normal draw by the Box–Muller transform.
fn standard_normal(rng: &mut DetRng) -> f64 {
    // 1 - u is in (0, 1], so the logarithm is finite.
    let u1 = 1.0 - rng.unit_f64();
    let u2 = rng.unit_f64();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use steadfast_determinism::Seed;

    fn always(effect: Effect) -> Fault {
        Fault {
            probability: 1.0,
            effect,
        }
    }

    #[test]
    fn lognormal_jitter_has_the_requested_median_and_99th_percentile() {
        let fault = always(
            Effect::lognormal(Duration::from_millis(80), Duration::from_millis(1200))
                .expect("valid quantiles"),
        );
        let mut rng = DetRng::from_seed(Seed::new(7));
        let mut delays: Vec<Duration> = (0..20_000)
            .map(|_| plan([&fault], &mut rng).delay)
            .collect();
        delays.sort_unstable();
        let p50 = delays[delays.len() / 2].as_secs_f64() * 1e3;
        let p99 = delays[delays.len() * 99 / 100].as_secs_f64() * 1e3;
        assert!(
            (72.0..88.0).contains(&p50),
            "median {p50} ms, wanted about 80"
        );
        assert!(
            (1000.0..1450.0).contains(&p99),
            "p99 {p99} ms, wanted about 1200"
        );
    }

    #[test]
    fn uniform_jitter_stays_within_bounds() {
        let fault = always(Effect::UniformJitter {
            min: Duration::from_millis(10),
            max: Duration::from_millis(20),
        });
        let mut rng = DetRng::from_seed(Seed::new(1));
        for _ in 0..1000 {
            let delay = plan([&fault], &mut rng).delay;
            assert!((Duration::from_millis(10)..=Duration::from_millis(20)).contains(&delay));
        }
    }

    #[test]
    fn first_replacing_fault_wins_and_delays_add_up() {
        let faults = [
            always(Effect::Latency(Duration::from_millis(5))),
            always(Effect::Reset),
            always(Effect::Latency(Duration::from_millis(7))),
            always(Effect::Empty),
        ];
        let planned = plan(&faults, &mut DetRng::from_seed(Seed::new(0)));
        assert_eq!(planned.delay, Duration::from_millis(12));
        assert_eq!(planned.outcome, Some(Effect::Reset));
        assert_eq!(
            planned.applied,
            [FaultKind::Latency, FaultKind::Reset, FaultKind::Latency]
        );
    }

    #[test]
    fn share_of_faults_follows_the_probability() {
        let fault = Fault {
            probability: 0.25,
            effect: Effect::Reset,
        };
        let mut rng = DetRng::from_seed(Seed::new(3));
        let hits = (0..10_000)
            .filter(|_| plan([&fault], &mut rng).outcome.is_some())
            .count();
        assert!((2300..2700).contains(&hits), "{hits} of 10000");
    }

    #[test]
    fn lognormal_rejects_p99_below_p50() {
        let err = Effect::lognormal(Duration::from_millis(100), Duration::from_millis(10))
            .expect_err("p99 < p50");
        assert!(err.contains("p50_ms <= p99_ms"), "{err}");
    }
}
