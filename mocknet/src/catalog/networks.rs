//! The catalog's `networks` section and link fault files: their JSON shape and the checks
//! that turn them into [`NetworkScenario`]s and [`LinkFaults`].

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, ErrorKind};
use crate::link::timeline::{LinkAction, LinkEvent};
use crate::link::{Direction, LinkFault, LinkFaults, PartitionMode};
use crate::network::{NetAction, NetworkScenario, Partition, TimelineEvent};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNetwork {
    #[serde(default, rename = "description")]
    _description: Option<String>,
    #[serde(default)]
    nodes: Vec<String>,
    #[serde(default)]
    faults: Vec<RawLinkFault>,
    #[serde(default)]
    links: Vec<RawLink>,
    #[serde(default)]
    timeline: Vec<RawEvent>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLink {
    from: String,
    to: String,
    faults: Vec<RawLinkFault>,
}

/// A fault file of `steadfast-mocknet link`: the faults of one link and its timeline.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLinkFile {
    #[serde(default)]
    faults: Vec<RawLinkFault>,
    #[serde(default)]
    timeline: Vec<RawEvent>,
}

fn always() -> f64 {
    1.0
}

/// The route fault kinds that make sense for bytes, plus the link's own; `dribble` is
/// `slice` with an interval and `hang` a black hole, as routes name them.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
enum RawLinkFault {
    Latency {
        ms: u64,
        #[serde(default = "always")]
        probability: f64,
        #[serde(default)]
        direction: RawDirection,
    },
    JitterUniform {
        min_ms: u64,
        max_ms: u64,
        #[serde(default = "always")]
        probability: f64,
        #[serde(default)]
        direction: RawDirection,
    },
    JitterLognormal {
        p50_ms: u64,
        p99_ms: u64,
        #[serde(default = "always")]
        probability: f64,
        #[serde(default)]
        direction: RawDirection,
    },
    Bandwidth {
        bytes_per_second: u64,
        #[serde(default = "always")]
        probability: f64,
        #[serde(default)]
        direction: RawDirection,
    },
    Slice {
        bytes: usize,
        #[serde(default)]
        interval_ms: u64,
        #[serde(default = "always")]
        probability: f64,
        #[serde(default)]
        direction: RawDirection,
    },
    Dribble {
        chunk_bytes: usize,
        interval_ms: u64,
        #[serde(default = "always")]
        probability: f64,
        #[serde(default)]
        direction: RawDirection,
    },
    Reset {
        #[serde(default)]
        after_bytes: u64,
        #[serde(default = "always")]
        probability: f64,
        #[serde(default)]
        direction: RawDirection,
    },
    Refuse {
        #[serde(default = "always")]
        probability: f64,
    },
    #[serde(alias = "hang")]
    BlackHole {
        #[serde(default = "always")]
        probability: f64,
        #[serde(default)]
        direction: RawDirection,
    },
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RawDirection {
    #[default]
    Both,
    Upstream,
    Downstream,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RawEventKind {
    Partition,
    Heal,
    Hold,
    Release,
    Faults,
    Crash,
    Restart,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RawMode {
    #[default]
    Stall,
    Reset,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    at_ms: u64,
    event: RawEventKind,
    a: Option<Vec<String>>,
    b: Option<Vec<String>>,
    #[serde(default)]
    one_way: bool,
    #[serde(default)]
    mode: RawMode,
    node: Option<String>,
    from: Option<String>,
    to: Option<String>,
    faults: Option<Vec<RawLinkFault>>,
}

impl RawLinkFault {
    fn compile(&self) -> LinkFault {
        let ms = Duration::from_millis;
        let (fault, probability, direction) = match *self {
            RawLinkFault::Latency {
                ms: by,
                probability,
                direction,
            } => (LinkFault::latency(ms(by)), probability, direction),
            RawLinkFault::JitterUniform {
                min_ms,
                max_ms,
                probability,
                direction,
            } => (
                LinkFault::jitter_uniform(ms(min_ms), ms(max_ms)),
                probability,
                direction,
            ),
            RawLinkFault::JitterLognormal {
                p50_ms,
                p99_ms,
                probability,
                direction,
            } => (
                LinkFault::jitter_lognormal(ms(p50_ms), ms(p99_ms)),
                probability,
                direction,
            ),
            RawLinkFault::Bandwidth {
                bytes_per_second,
                probability,
                direction,
            } => (
                LinkFault::bandwidth(bytes_per_second),
                probability,
                direction,
            ),
            RawLinkFault::Slice {
                bytes,
                interval_ms,
                probability,
                direction,
            }
            | RawLinkFault::Dribble {
                chunk_bytes: bytes,
                interval_ms,
                probability,
                direction,
            } => (
                LinkFault::slice_every(bytes, ms(interval_ms)),
                probability,
                direction,
            ),
            RawLinkFault::Reset {
                after_bytes,
                probability,
                direction,
            } => (LinkFault::reset_after(after_bytes), probability, direction),
            RawLinkFault::Refuse { probability } => {
                (LinkFault::refuse(), probability, RawDirection::Both)
            }
            RawLinkFault::BlackHole {
                probability,
                direction,
            } => (LinkFault::black_hole(), probability, direction),
        };
        let direction = match direction {
            RawDirection::Both => Direction::Both,
            RawDirection::Upstream => Direction::Upstream,
            RawDirection::Downstream => Direction::Downstream,
        };
        fault.probability(probability).direction(direction)
    }
}

/// Compiles and checks `raw`; the error says which fault is wrong (`faults[2]: …`).
fn link_faults(raw: &[RawLinkFault]) -> Result<LinkFaults, String> {
    let faults = LinkFaults {
        faults: raw.iter().map(RawLinkFault::compile).collect(),
        timeline: Vec::new(),
    };
    faults.check()?;
    Ok(faults)
}

fn mode(raw: RawMode) -> PartitionMode {
    match raw {
        RawMode::Stall => PartitionMode::Stall,
        RawMode::Reset => PartitionMode::Reset,
    }
}

fn event_name(kind: RawEventKind) -> &'static str {
    match kind {
        RawEventKind::Partition => "partition",
        RawEventKind::Heal => "heal",
        RawEventKind::Hold => "hold",
        RawEventKind::Release => "release",
        RawEventKind::Faults => "faults",
        RawEventKind::Crash => "crash",
        RawEventKind::Restart => "restart",
    }
}

/// Rejects the fields of `event` that its kind does not use.
fn only_fields(event: &RawEvent, allowed: &[&str]) -> Result<(), String> {
    let given = [
        ("a", event.a.is_some()),
        ("b", event.b.is_some()),
        ("one_way", event.one_way),
        ("node", event.node.is_some()),
        ("from", event.from.is_some()),
        ("to", event.to.is_some()),
        ("faults", event.faults.is_some()),
    ];
    match given
        .iter()
        .find(|(name, set)| *set && !allowed.contains(name))
    {
        Some((name, _)) => Err(format!(
            "a {} event has no field `{name}`",
            event_name(event.event)
        )),
        None => Ok(()),
    }
}

fn link_event(raw: &RawEvent) -> Result<LinkEvent, String> {
    let action = match raw.event {
        RawEventKind::Partition => {
            only_fields(raw, &[])?;
            LinkAction::Partition(mode(raw.mode))
        }
        RawEventKind::Heal => {
            only_fields(raw, &[])?;
            LinkAction::Heal
        }
        RawEventKind::Hold => {
            only_fields(raw, &[])?;
            LinkAction::Hold
        }
        RawEventKind::Release => {
            only_fields(raw, &[])?;
            LinkAction::Release
        }
        RawEventKind::Faults => {
            only_fields(raw, &["faults"])?;
            let faults = link_faults(raw.faults.as_deref().unwrap_or_default())?;
            LinkAction::Faults(faults.faults)
        }
        RawEventKind::Crash | RawEventKind::Restart => {
            return Err(format!(
                "a link's timeline has no {} event (it has partition, heal, hold, release and faults)",
                event_name(raw.event)
            ));
        }
    };
    Ok(LinkEvent {
        at: Duration::from_millis(raw.at_ms),
        action,
    })
}

impl LinkFaults {
    /// Parses and checks a fault file: the `faults` of every connection (the catalog's fault
    /// objects, each with an optional `direction` of `both`, `upstream` or `downstream`) and a
    /// `timeline` of events at `at_ms` milliseconds after the link starts. `file` names it in
    /// errors.
    ///
    /// Fault kinds: `latency` (`ms`), `jitter-uniform` (`min_ms`, `max_ms`),
    /// `jitter-lognormal` (`p50_ms`, `p99_ms`), `bandwidth` (`bytes_per_second`), `slice`
    /// (`bytes`, optional `interval_ms`), `dribble` (`chunk_bytes`, `interval_ms`), `reset`
    /// (optional `after_bytes`), `refuse`, `black-hole` (or `hang`); each with an optional
    /// `probability` (default 1). Events: `partition` (optional `mode`: `stall` or `reset`),
    /// `heal`, `hold`, `release`, `faults` (with `faults`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidFaults`] naming the [file](Error::file), and the
    /// [field](Error::serde_path) for JSON of the wrong shape (the cause is serde's error) or
    /// the fault or event and its value otherwise.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_mocknet::link::LinkFaults;
    ///
    /// let faults = LinkFaults::from_json("faults.json", r#"{
    ///     "faults": [{"kind": "latency", "ms": 300}],
    ///     "timeline": [{"at_ms": 2000, "event": "partition"}, {"at_ms": 4000, "event": "heal"}]
    /// }"#)?;
    /// assert_eq!(faults.len(), 1);
    ///
    /// let err = LinkFaults::from_json("faults.json", r#"{"faults": [{"kind": "latency", "ms": "x"}]}"#)
    ///     .unwrap_err();
    /// assert_eq!(err.serde_path(), Some("faults[0]"));
    /// assert_eq!(
    ///     err.to_string(),
    ///     r#"invalid fault file faults.json at `faults[0]`: invalid type: string "x", expected u64"#
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_json(file: impl Into<String>, json: &str) -> Result<LinkFaults, Error> {
        let file = file.into();
        let deserializer = &mut serde_json::Deserializer::from_str(json);
        let raw: RawLinkFile = serde_path_to_error::deserialize(deserializer).map_err(|err| {
            let path = err.path().to_string();
            let inner = err.into_inner();
            Error::new(ErrorKind::InvalidFaults)
                .in_file(file.clone())
                .at_serde_path(path)
                .with_detail(super::without_position(&inner))
                .with_source(inner)
        })?;
        let invalid = |detail: String| {
            Error::new(ErrorKind::InvalidFaults)
                .in_file(file.clone())
                .with_detail(detail)
        };
        let mut faults = link_faults(&raw.faults).map_err(invalid)?;
        for (index, event) in raw.timeline.iter().enumerate() {
            let event =
                link_event(event).map_err(|why| invalid(format!("timeline[{index}]: {why}")))?;
            faults.timeline.push(event);
        }
        faults.timeline.sort_by_key(|event| event.at);
        Ok(faults)
    }

    /// Reads, parses and checks a fault file.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidFaults`] naming the file when it cannot be read (the cause is the
    /// I/O error), then as [`from_json`](Self::from_json).
    pub fn from_file(path: impl AsRef<Path>) -> Result<LinkFaults, Error> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let json = std::fs::read_to_string(path).map_err(|err| {
            Error::new(ErrorKind::InvalidFaults)
                .in_file(file.clone())
                .with_detail(format!("could not read it: {err}"))
                .with_source(err)
        })?;
        LinkFaults::from_json(file, &json)
    }
}

/// Compiles the catalog's `networks` section.
pub(super) fn compile(
    file: &str,
    raw: &BTreeMap<String, RawNetwork>,
) -> Result<BTreeMap<String, NetworkScenario>, Error> {
    raw.iter()
        .map(|(name, network)| Ok((name.clone(), scenario(file, name, network)?)))
        .collect()
}

fn scenario(file: &str, name: &str, raw: &RawNetwork) -> Result<NetworkScenario, Error> {
    let invalid = |detail: String| {
        Error::new(ErrorKind::InvalidNetwork)
            .in_file(file)
            .in_network(name)
            .with_detail(detail)
    };
    let known = || raw.nodes.clone();
    let check_node = |node: &str, at: &str| {
        if raw.nodes.iter().any(|known| known == node) {
            Ok(())
        } else {
            Err(Error::new(ErrorKind::UnknownNode)
                .in_file(file)
                .in_network(name)
                .looking_for(node)
                .with_known(known())
                .with_detail(at))
        }
    };
    for (index, node) in raw.nodes.iter().enumerate() {
        if raw.nodes[..index].contains(node) {
            return Err(invalid(format!("nodes: node `{node}` is named twice")).with_known(known()));
        }
    }
    let faults = link_faults(&raw.faults).map_err(&invalid)?;
    let mut links = Vec::new();
    for (index, link) in raw.links.iter().enumerate() {
        let at = format!("links[{index}]");
        check_node(&link.from, &at)?;
        check_node(&link.to, &at)?;
        if link.from == link.to {
            let detail = format!("{at}: node `{}` has no link to itself", link.from);
            return Err(invalid(detail).with_known(known()));
        }
        let faults = link_faults(&link.faults).map_err(|why| invalid(format!("{at}: {why}")))?;
        links.push((link.from.clone(), link.to.clone(), faults));
    }
    let mut timeline = Vec::new();
    for (index, event) in raw.timeline.iter().enumerate() {
        let at = format!("timeline[{index}]");
        let fail = |why: String| invalid(format!("{at}: {why}"));
        let action = match event.event {
            RawEventKind::Partition => {
                only_fields(event, &["a", "b", "one_way"]).map_err(fail)?;
                let (Some(a), Some(b)) = (&event.a, &event.b) else {
                    return Err(fail("a partition needs groups `a` and `b`".into()));
                };
                for node in a.iter().chain(b) {
                    check_node(node, &at)?;
                }
                let partition = if event.one_way {
                    Partition::one_way(a.clone(), b.clone())
                } else {
                    Partition::symmetric(a.clone(), b.clone())
                }
                .mode(mode(event.mode));
                if a.is_empty() || b.is_empty() {
                    return Err(fail(format!("partition {partition} has an empty group")));
                }
                if let Some(twice) = partition.named_twice() {
                    let why = format!("partition {partition} names node `{twice}` twice");
                    return Err(fail(why).with_known(known()));
                }
                NetAction::Partition(partition)
            }
            RawEventKind::Heal => {
                only_fields(event, &[]).map_err(fail)?;
                NetAction::Heal
            }
            RawEventKind::Crash | RawEventKind::Restart => {
                only_fields(event, &["node"]).map_err(fail)?;
                let Some(node) = &event.node else {
                    let kind = event_name(event.event);
                    return Err(fail(format!("a {kind} event needs a `node`")));
                };
                check_node(node, &at)?;
                if event.event == RawEventKind::Crash {
                    NetAction::Crash(node.clone())
                } else {
                    NetAction::Restart(node.clone())
                }
            }
            RawEventKind::Faults => {
                only_fields(event, &["from", "to", "faults"]).map_err(fail)?;
                let faults =
                    link_faults(event.faults.as_deref().unwrap_or_default()).map_err(&fail)?;
                let link = match (&event.from, &event.to) {
                    (Some(from), Some(to)) => {
                        check_node(from, &at)?;
                        check_node(to, &at)?;
                        Some((from.clone(), to.clone()))
                    }
                    (None, None) => None,
                    _ => return Err(fail("give both `from` and `to`, or neither".into())),
                };
                NetAction::Faults(link, faults)
            }
            RawEventKind::Hold | RawEventKind::Release => {
                let kind = event_name(event.event);
                return Err(fail(format!(
                    "a network's timeline has no {kind} event (it has partition, heal, crash, restart and faults)"
                )));
            }
        };
        timeline.push(TimelineEvent {
            at: Duration::from_millis(event.at_ms),
            action,
        });
    }
    timeline.sort_by_key(|event| event.at);
    Ok(NetworkScenario {
        name: name.to_string(),
        nodes: raw.nodes.clone(),
        faults,
        links,
        timeline,
    })
}

#[cfg(test)]
mod tests {
    use crate::ErrorKind;
    use crate::catalog::tests::{load, message};
    use crate::link::LinkFaults;

    #[test]
    fn the_issue_s_fault_file_form_is_accepted() {
        let faults = LinkFaults::from_json(
            "f.json",
            r#"{"faults": [{"kind": "latency", "ms": 300}], "timeline": [{"at_ms": 2000, "event":
            "partition"}, {"at_ms": 4000, "event": "heal"}]}"#,
        )
        .expect("valid");
        assert_eq!((faults.len(), faults.timeline.len()), (1, 2));
    }

    #[test]
    fn a_bad_value_in_a_fault_file_names_file_fault_and_value() {
        let err = LinkFaults::from_json(
            "f.json",
            r#"{"faults": [{"kind": "reset", "probability": 3}]}"#,
        )
        .expect_err("probability 3");
        assert_eq!(err.kind(), ErrorKind::InvalidFaults);
        assert_eq!(
            err.to_string(),
            "invalid fault file f.json: faults[0]: reset fault: probability 3 is outside 0..=1"
        );
        let err = LinkFaults::from_json(
            "f.json",
            r#"{"timeline": [{"at_ms": 1, "event": "crash", "node": "a"}]}"#,
        )
        .expect_err("crash on a link");
        assert_eq!(
            err.to_string(),
            "invalid fault file f.json: timeline[0]: a link's timeline has no crash event \
             (it has partition, heal, hold, release and faults)"
        );
    }

    #[test]
    fn an_unknown_fault_kind_is_rejected_at_its_path() {
        let err = LinkFaults::from_json(
            "f.json",
            r#"{"faults": [{"kind": "status", "status": 503}]}"#,
        )
        .expect_err("status is HTTP");
        assert_eq!(err.serde_path(), Some("faults[0].kind"));
        assert!(
            err.to_string().starts_with(
                "invalid fault file f.json at `faults[0].kind`: unknown variant `status`"
            ),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_node_in_a_timeline_lists_the_known_nodes() {
        let text = message(
            r#"{"networks": {"n": {"nodes": ["a", "b"], "timeline": [
                {"at_ms": 5, "event": "crash", "node": "c"}]}}}"#,
        );
        assert_eq!(
            text,
            "invalid catalog test.json: network `n`: timeline[0]: unknown node `c`; known nodes: a, b"
        );
    }

    #[test]
    fn self_links_and_nodes_named_twice_are_rejected() {
        let text = message(
            r#"{"networks": {"n": {"nodes": ["a", "b"], "links": [
                {"from": "a", "to": "a", "faults": []}]}}}"#,
        );
        assert_eq!(
            text,
            "invalid catalog test.json: network `n`: links[0]: node `a` has no link to itself; known nodes: a, b"
        );
        let text = message(
            r#"{"networks": {"n": {"nodes": ["a", "b"], "timeline": [
                {"at_ms": 5, "event": "partition", "a": ["a"], "b": ["a", "b"]}]}}}"#,
        );
        assert_eq!(
            text,
            "invalid catalog test.json: network `n`: timeline[0]: partition a | a, b names node `a` twice; known nodes: a, b"
        );
    }

    #[test]
    fn a_network_scenario_is_found_by_name_or_listed_as_known() {
        let catalog =
            load(r#"{"networks": {"calm": {}, "stormy": {"nodes": ["x"]}}}"#).expect("valid");
        assert_eq!(catalog.network("stormy").expect("there").nodes(), ["x"]);
        let err = catalog.network("windy").expect_err("not there");
        assert_eq!(err.kind(), ErrorKind::UnknownNetwork);
        assert_eq!(
            err.to_string(),
            "unknown network `windy` in catalog test.json; known networks: calm, stormy"
        );
    }
}
