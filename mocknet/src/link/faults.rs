//! Link faults: what a [`Link`](super::Link) does to the bytes of a connection, and the draws
//! that decide it for each connection.

use std::fmt;
use std::time::Duration;

use steadfast_determinism::DetRng;

use crate::fault::{Effect, Fault};

/// The direction of the bytes a [`LinkFault`] applies to.
///
/// # Example
///
/// ```
/// use steadfast_mocknet::link::{Direction, LinkFault};
/// use std::time::Duration;
///
/// // Only the answers of the upstream are slow; the requests go through at once.
/// let fault = LinkFault::latency(Duration::from_millis(200)).direction(Direction::Downstream);
/// assert_eq!(fault.kind().as_str(), "latency");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Direction {
    /// Both ways (the default). A fault drawn once applies to both directions.
    #[default]
    Both,
    /// The bytes the client sends to the upstream.
    Upstream,
    /// The bytes the upstream sends back to the client.
    Downstream,
}

impl Direction {
    fn covers_upstream(self) -> bool {
        matches!(self, Direction::Both | Direction::Upstream)
    }

    fn covers_downstream(self) -> bool {
        matches!(self, Direction::Both | Direction::Downstream)
    }
}

/// The kind of a link fault, as recorded in the [network journal](super::NetEvent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LinkFaultKind {
    /// A fixed delay of every byte.
    Latency,
    /// A delay drawn for every chunk of bytes (uniform or lognormal).
    Jitter,
    /// No more than a number of bytes per second.
    Bandwidth,
    /// Bytes delivered in small writes, to expose framing bugs.
    Slice,
    /// The connection is reset, at once or after a number of bytes.
    Reset,
    /// The connection is reset as soon as it is accepted.
    Refuse,
    /// Bytes are read and never delivered.
    BlackHole,
}

impl LinkFaultKind {
    /// The name used in fault files, catalogs and the journal, such as `"black-hole"`.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkFaultKind::Latency => "latency",
            LinkFaultKind::Jitter => "jitter",
            LinkFaultKind::Bandwidth => "bandwidth",
            LinkFaultKind::Slice => "slice",
            LinkFaultKind::Reset => "reset",
            LinkFaultKind::Refuse => "refuse",
            LinkFaultKind::BlackHole => "black-hole",
        }
    }
}

impl fmt::Display for LinkFaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One fault of a link: an effect, the probability that a connection gets it (default 1) and
/// the [`Direction`] it applies to (default both).
///
/// Every fault is drawn once per connection from the connection's own stream of the seed, so
/// a connection's faults depend only on the seed and its position on the link.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use steadfast_mocknet::link::{LinkFault, LinkFaults};
///
/// let faults = LinkFaults::new()
///     .with(LinkFault::jitter_lognormal(Duration::from_millis(20), Duration::from_millis(400)))
///     .with(LinkFault::reset_after(4096).probability(0.1));
/// assert_eq!(faults.len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LinkFault {
    pub(crate) probability: f64,
    pub(crate) direction: Direction,
    pub(crate) effect: LinkEffect,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LinkEffect {
    Latency(Duration),
    UniformJitter {
        min: Duration,
        max: Duration,
    },
    LogNormalJitter {
        p50: Duration,
        p99: Duration,
    },
    Bandwidth(u64),
    Slice {
        bytes: usize,
        interval: Duration,
    },
    /// Reset once this many bytes went through in a covered direction (0: at once).
    Reset {
        after_bytes: u64,
    },
    Refuse,
    BlackHole,
}

impl LinkFault {
    fn new(effect: LinkEffect) -> Self {
        Self {
            probability: 1.0,
            direction: Direction::Both,
            effect,
        }
    }

    /// Every byte arrives `by` later (virtual time under a paused runtime).
    pub fn latency(by: Duration) -> Self {
        Self::new(LinkEffect::Latency(by))
    }

    /// A delay drawn for every chunk of bytes (what one write of the sender delivered),
    /// uniformly between `min` and `max`; bytes stay in order, so a chunk never overtakes
    /// the one before it.
    pub fn jitter_uniform(min: Duration, max: Duration) -> Self {
        Self::new(LinkEffect::UniformJitter { min, max })
    }

    /// A delay drawn for every chunk of bytes from the lognormal distribution with median `p50`
    /// and 99th percentile `p99`; bytes stay in order, as with
    /// [`jitter_uniform`](Self::jitter_uniform).
    pub fn jitter_lognormal(p50: Duration, p99: Duration) -> Self {
        Self::new(LinkEffect::LogNormalJitter { p50, p99 })
    }

    /// No more than `bytes_per_second` bytes a second.
    pub fn bandwidth(bytes_per_second: u64) -> Self {
        Self::new(LinkEffect::Bandwidth(bytes_per_second))
    }

    /// Bytes are written `bytes` at a time, each slice a write of its own, so a reader sees
    /// messages split at every boundary.
    pub fn slice(bytes: usize) -> Self {
        Self::slice_every(bytes, Duration::ZERO)
    }

    /// Like [`slice`](Self::slice), with `interval` between slices.
    pub fn slice_every(bytes: usize, interval: Duration) -> Self {
        Self::new(LinkEffect::Slice { bytes, interval })
    }

    /// The connection is reset (a TCP RST both ways) as soon as it is accepted.
    pub fn reset() -> Self {
        Self::reset_after(0)
    }

    /// The connection is reset once `bytes` bytes went through in the fault's direction.
    pub fn reset_after(bytes: u64) -> Self {
        Self::new(LinkEffect::Reset { after_bytes: bytes })
    }

    /// New connections are reset as soon as they are accepted, before the upstream is dialled:
    /// the client's connect may succeed, its first read sees `ConnectionReset`.
    pub fn refuse() -> Self {
        Self::new(LinkEffect::Refuse)
    }

    /// Bytes are read and dropped: nothing arrives, not even the end of the stream.
    pub fn black_hole() -> Self {
        Self::new(LinkEffect::BlackHole)
    }

    /// The probability that a connection gets this fault, in 0..=1 (checked when the faults
    /// are given to a link).
    pub fn probability(mut self, probability: f64) -> Self {
        self.probability = probability;
        self
    }

    /// The direction the fault applies to.
    pub fn direction(mut self, direction: Direction) -> Self {
        self.direction = direction;
        self
    }

    /// The fault's kind.
    pub fn kind(&self) -> LinkFaultKind {
        match self.effect {
            LinkEffect::Latency(_) => LinkFaultKind::Latency,
            LinkEffect::UniformJitter { .. } | LinkEffect::LogNormalJitter { .. } => {
                LinkFaultKind::Jitter
            }
            LinkEffect::Bandwidth(_) => LinkFaultKind::Bandwidth,
            LinkEffect::Slice { .. } => LinkFaultKind::Slice,
            LinkEffect::Reset { .. } => LinkFaultKind::Reset,
            LinkEffect::Refuse => LinkFaultKind::Refuse,
            LinkEffect::BlackHole => LinkFaultKind::BlackHole,
        }
    }

    /// Says what is wrong with the fault's values, if anything.
    pub(crate) fn check(&self) -> Result<(), String> {
        let kind = self.kind();
        if !(0.0..=1.0).contains(&self.probability) {
            return Err(format!(
                "{kind} fault: probability {} is outside 0..=1",
                self.probability
            ));
        }
        match self.effect {
            LinkEffect::UniformJitter { min, max } if max < min => Err(format!(
                "jitter-uniform needs min_ms <= max_ms, got {} and {}",
                min.as_millis(),
                max.as_millis()
            )),
            LinkEffect::LogNormalJitter { p50, p99 } => Effect::lognormal(p50, p99).map(drop),
            LinkEffect::Bandwidth(0) => Err("bandwidth needs bytes_per_second >= 1".into()),
            LinkEffect::Slice { bytes: 0, .. } => Err("slice needs bytes >= 1".into()),
            _ => Ok(()),
        }
    }

    /// A jitter fault as one of the crate's route faults that always applies, to draw its
    /// delays the same way routes do.
    fn as_jitter(&self) -> Option<Fault> {
        let effect = match self.effect {
            LinkEffect::UniformJitter { min, max } => Effect::UniformJitter { min, max },
            // OK because `check` ran when the faults were given to the link.
            LinkEffect::LogNormalJitter { p50, p99 } => Effect::lognormal(p50, p99).ok()?,
            _ => return None,
        };
        Some(Fault {
            probability: 1.0,
            effect,
        })
    }
}

/// The faults of a link, in the order they are drawn.
///
/// Load them from a fault file with [`LinkFaults::from_json`], or build them in code.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use steadfast_mocknet::link::{LinkFault, LinkFaults};
///
/// let faults = LinkFaults::new().with(LinkFault::latency(Duration::from_millis(300)));
/// assert!(!faults.is_empty());
/// assert!(LinkFaults::new().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkFaults {
    pub(crate) faults: Vec<LinkFault>,
    pub(crate) timeline: Vec<super::timeline::LinkEvent>,
}

impl LinkFaults {
    /// No faults: bytes pass unchanged.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a fault after those already there.
    #[must_use]
    pub fn with(mut self, fault: LinkFault) -> Self {
        self.faults.push(fault);
        self
    }

    /// How many faults there are.
    pub fn len(&self) -> usize {
        self.faults.len()
    }

    /// Whether there are no faults.
    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }

    /// The faults, in drawing order.
    pub fn faults(&self) -> &[LinkFault] {
        &self.faults
    }

    /// Says which fault is wrong and why, if any is.
    pub(crate) fn check(&self) -> Result<(), String> {
        for (index, fault) in self.faults.iter().enumerate() {
            fault
                .check()
                .map_err(|why| format!("faults[{index}]: {why}"))?;
        }
        Ok(())
    }

    /// Draws every fault for one connection.
    ///
    /// Each fault costs one draw for its probability whether or not it applies, so a fault's
    /// outcome never shifts the draws of the faults after it.
    pub(crate) fn plan(&self, rng: &mut DetRng) -> ConnectionPlan {
        let mut plan = ConnectionPlan::default();
        for link_fault in &self.faults {
            if rng.unit_f64() >= link_fault.probability {
                continue;
            }
            // Jitter is drawn again for every chunk, from the direction's own stream.
            let jitter = link_fault.as_jitter();
            let direction = link_fault.direction;
            match link_fault.effect {
                LinkEffect::Refuse => plan.refuse = true,
                LinkEffect::Reset { after_bytes: 0 } => plan.reset_at_open = true,
                _ => {}
            }
            for (covered, side) in [
                (direction.covers_upstream(), &mut plan.upstream),
                (direction.covers_downstream(), &mut plan.downstream),
            ] {
                if covered {
                    side.apply(&link_fault.effect, jitter.clone());
                }
            }
            plan.applied.push(link_fault.kind());
        }
        plan
    }
}

/// What the faults drawn for one connection do to it.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ConnectionPlan {
    pub(crate) refuse: bool,
    pub(crate) reset_at_open: bool,
    /// Client to upstream.
    pub(crate) upstream: DirectionPlan,
    /// Upstream to client.
    pub(crate) downstream: DirectionPlan,
    pub(crate) applied: Vec<LinkFaultKind>,
}

/// What happens to the bytes of one direction of a connection.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct DirectionPlan {
    /// Fixed latency.
    pub(crate) delay: Duration,
    /// Jitter drawn for every chunk, added to `delay`.
    pub(crate) jitter: Vec<Fault>,
    pub(crate) bytes_per_second: Option<u64>,
    pub(crate) slice: Option<(usize, Duration)>,
    pub(crate) reset_after: Option<u64>,
    pub(crate) black_hole: bool,
}

impl DirectionPlan {
    fn apply(&mut self, effect: &LinkEffect, jitter: Option<Fault>) {
        match *effect {
            LinkEffect::Latency(by) => self.delay += by,
            LinkEffect::UniformJitter { .. } | LinkEffect::LogNormalJitter { .. } => {
                self.jitter.extend(jitter);
            }
            LinkEffect::Bandwidth(rate) => {
                self.bytes_per_second = Some(self.bytes_per_second.map_or(rate, |r| r.min(rate)));
            }
            LinkEffect::Slice { bytes, interval } => self.slice = Some((bytes, interval)),
            LinkEffect::Reset { after_bytes } if after_bytes > 0 => {
                self.reset_after =
                    Some(self.reset_after.map_or(after_bytes, |n| n.min(after_bytes)));
            }
            LinkEffect::BlackHole => self.black_hole = true,
            LinkEffect::Reset { .. } | LinkEffect::Refuse => {}
        }
    }

    /// Whether the bytes pass unchanged, so the fast copy loop can move them.
    pub(crate) fn is_plain(&self) -> bool {
        *self == DirectionPlan::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use steadfast_determinism::Seed;

    #[test]
    fn a_fault_for_both_directions_is_drawn_once_and_applies_to_both() {
        let faults = LinkFaults::new()
            .with(LinkFault::latency(Duration::from_millis(5)).probability(0.5))
            .with(LinkFault::jitter_uniform(
                Duration::from_millis(10),
                Duration::from_millis(90),
            ));
        let mut rng = DetRng::from_seed(Seed::new(3));
        let plans: Vec<_> = (0..100).map(|_| faults.plan(&mut rng)).collect();

        assert!(plans.iter().all(|plan| plan.upstream == plan.downstream));
        assert!(plans.iter().all(|plan| plan.upstream.jitter.len() == 1));
        let delayed = plans
            .iter()
            .filter(|plan| !plan.upstream.delay.is_zero())
            .count();
        assert!((30..70).contains(&delayed), "{delayed} of 100");
    }

    #[test]
    fn a_directed_fault_leaves_the_other_direction_plain() {
        let faults = LinkFaults::new()
            .with(LinkFault::bandwidth(1000).direction(Direction::Downstream))
            .with(LinkFault::reset_after(10).direction(Direction::Upstream));
        let plan = faults.plan(&mut DetRng::from_seed(Seed::new(1)));

        assert_eq!(plan.downstream.bytes_per_second, Some(1000));
        assert_eq!(plan.downstream.reset_after, None);
        assert_eq!(plan.upstream.reset_after, Some(10));
        assert!(!plan.upstream.is_plain() && !plan.downstream.is_plain());
    }

    #[test]
    fn share_of_refused_connections_follows_the_probability() {
        let faults = LinkFaults::new().with(LinkFault::refuse().probability(0.3));
        let mut rng = DetRng::from_seed(Seed::new(9));
        let refused = (0..10_000).filter(|_| faults.plan(&mut rng).refuse).count();

        assert!((2700..3300).contains(&refused), "{refused} of 10000");
    }

    proptest::proptest! {
        #[test]
        fn the_same_seed_draws_the_same_plans(
            seed in proptest::prelude::any::<u64>(),
            latency_ms in 0u64..500,
            p_reset in 0.0f64..=1.0,
            p_refuse in 0.0f64..=1.0,
            after in 1u64..10_000,
        ) {
            let faults = LinkFaults::new()
                .with(LinkFault::latency(Duration::from_millis(latency_ms)).probability(0.5))
                .with(LinkFault::reset_after(after).probability(p_reset).direction(Direction::Upstream))
                .with(LinkFault::jitter_lognormal(Duration::from_millis(5), Duration::from_millis(50)))
                .with(LinkFault::refuse().probability(p_refuse));
            let draw = || {
                let mut rng = DetRng::from_seed(Seed::new(seed));
                (0..20).map(|_| faults.plan(&mut rng)).collect::<Vec<_>>()
            };
            let plans = draw();

            proptest::prop_assert_eq!(&plans, &draw());
            for plan in &plans {
                proptest::prop_assert!(plan.downstream.reset_after.is_none());
                proptest::prop_assert!(plan.upstream.reset_after.is_none_or(|n| n == after));
                proptest::prop_assert_eq!(plan.upstream.jitter.len(), 1);
            }
        }
    }

    #[test]
    fn check_names_the_fault_and_the_value() {
        let faults = LinkFaults::new()
            .with(LinkFault::latency(Duration::from_millis(1)))
            .with(LinkFault::slice(0));
        assert_eq!(
            faults.check(),
            Err("faults[1]: slice needs bytes >= 1".into())
        );
        let faults = LinkFaults::new().with(LinkFault::black_hole().probability(1.5));
        assert_eq!(
            faults.check(),
            Err("faults[0]: black-hole fault: probability 1.5 is outside 0..=1".into())
        );
    }
}
