//! Runs the replicated key-value store on a steadfast `Network` under one of the scenarios
//! of `network.json`: a client writes at a steady pace over the scenario's span while the
//! timeline crashes or partitions nodes, then waits for the nodes to converge.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};
use steadfast::determinism::Seed;
use steadfast::determinism::budget::LatencyBudget;
use steadfast::mocknet::link::{NetEvent, NetEventKind};
use steadfast::mocknet::network::{Network, NetworkScenario};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

use crate::node::{self, NodeSpec, NodeState, Role};

/// The scenarios, as a steadfast catalog with a `networks` section.
pub const CATALOG: &str = include_str!("network.json");
/// The store's nodes; `leader` leads at first.
pub const NODES: [&str; 3] = ["leader", "follower-1", "follower-2"];
/// The node the client writes from (the test itself: it never runs a server).
pub const CLIENT: &str = "client";
/// The client spreads its writes evenly over this much virtual time.
pub const SPAN: Duration = Duration::from_secs(16);
/// How long a client request waits before trying another node.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long the run waits for the nodes to converge after the last write.
const SETTLE: Duration = Duration::from_secs(30);
/// How often the run looks at the nodes' states.
const POLL: Duration = Duration::from_millis(10);

/// What a run measured.
#[derive(Debug)]
pub struct Summary {
    pub seed: Seed,
    pub scenario: String,
    pub writes: usize,
    /// Client-observed latency of each acknowledged write (majority replication).
    pub replication: LatencyBudget,
    /// From the leader's crash to the first write acknowledged after it.
    pub failover: Option<Duration>,
    /// From the heal to every node holding every write acknowledged before it.
    pub reconcile: Option<Duration>,
    pub converged: bool,
    pub lost_acknowledged_writes: usize,
}

fn ms(duration: Duration) -> f64 {
    duration.as_micros() as f64 / 1e3
}

impl Summary {
    /// The summary line of the example, its fields in a fixed order.
    pub fn to_json_line(&self) -> String {
        let number = |value: Option<Duration>| value.map_or(Value::Null, |d| json!(ms(d)));
        let percentile = |p| number(self.replication.percentile(p));
        format!(
            "{{\"summary\": true, \"seed\": {}, \"scenario\": {}, \"writes\": {}, \
             \"replication_p50_ms\": {}, \"replication_p99_ms\": {}, \"failover_ms\": {}, \
             \"reconcile_ms\": {}, \"converged\": {}, \"lost_acknowledged_writes\": {}}}",
            json!(self.seed.to_string()),
            json!(self.scenario),
            self.writes,
            percentile(50.0),
            percentile(99.0),
            number(self.failover),
            number(self.reconcile),
            self.converged,
            self.lost_acknowledged_writes,
        )
    }
}

/// Runs `scenario` with `writes` writes; without `seed` the network's seed comes from the
/// running deterministic test.
pub async fn run(
    scenario: NetworkScenario,
    writes: usize,
    seed: Option<Seed>,
) -> Result<(Vec<NetEvent>, Summary), Box<dyn std::error::Error>> {
    let name = scenario.name().to_string();
    let crash_at = scenario.event_times(NetEventKind::Crash).first().copied();
    let heal_at = scenario.event_times(NetEventKind::Heal).first().copied();
    let mut builder = Network::builder()
        .nodes(NODES)
        .node(CLIENT)
        .scenario(scenario);
    if let Some(seed) = seed {
        builder = builder.seed(seed);
    }
    let net = builder.start().await?;
    let states: Vec<_> = (0..NODES.len())
        .map(|id| Arc::new(Mutex::new(NodeState::new(id, NODES.len()))))
        .collect();
    for (id, me) in NODES.iter().enumerate() {
        let peers = NODES
            .iter()
            .map(|peer| (peer != me).then(|| net.addr(me, peer)).transpose())
            .collect::<Result<_, _>>()?;
        let spec = NodeSpec {
            id,
            names: NODES.iter().map(|name| name.to_string()).collect(),
            peers,
            state: Arc::clone(&states[id]),
            // Staggered, so one follower asks for votes well before the other.
            election_timeout: Duration::from_millis(1000 + 500 * id as u64),
        };
        net.run(me, move |listener| node::serve(listener, spec.clone()))?;
    }
    let targets = NODES
        .iter()
        .map(|to| net.addr(CLIENT, to))
        .collect::<Result<Vec<_>, _>>()?;

    let started = Instant::now();
    let acked: Arc<Mutex<Vec<(Duration, usize)>>> = Arc::default();
    let reconciled = tokio::spawn(watch_reconcile(
        heal_at,
        started,
        Arc::clone(&acked),
        states.clone(),
    ));
    let replication = LatencyBudget::new(format!("replicated_kv {name} replication"));
    let mut client = Client::new(targets);
    let interval = (SPAN / u32::try_from(writes.max(1)).unwrap_or(u32::MAX)).max(POLL / 10);
    for i in 0..writes {
        let due = started + interval * u32::try_from(i).unwrap_or(u32::MAX);
        tokio::time::sleep_until(due).await;
        let sent = Instant::now();
        client.put(&format!("k{i}"), &format!("v{i}")).await;
        replication.record(sent.elapsed());
        lock(&acked).push((started.elapsed(), i));
    }
    let acked = lock(&acked).clone();
    let converged = settle(&states, &acked).await;
    let reconcile = reconciled.await?;
    let failover = crash_at.and_then(|crash| {
        acked
            .iter()
            .find(|(at, _)| *at > crash)
            .map(|(at, _)| *at - crash)
    });
    let lost = lost_writes(&states, &acked);
    let summary = Summary {
        seed: net.seed(),
        scenario: name,
        writes,
        replication,
        failover,
        reconcile,
        converged,
        lost_acknowledged_writes: lost,
    };
    Ok((net.journal(), summary))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn holds_all(state: &NodeState, writes: &[(Duration, usize)]) -> bool {
    writes
        .iter()
        .all(|(_, i)| state.applied.get(&format!("k{i}")) == Some(&format!("v{i}")))
}

/// From the heal on, the time until every node holds every write acknowledged before it.
async fn watch_reconcile(
    heal_at: Option<Duration>,
    started: Instant,
    acked: Arc<Mutex<Vec<(Duration, usize)>>>,
    states: Vec<Arc<Mutex<NodeState>>>,
) -> Option<Duration> {
    let heal_at = heal_at?;
    tokio::time::sleep_until(started + heal_at).await;
    let before: Vec<_> = lock(&acked)
        .iter()
        .copied()
        .filter(|(at, _)| *at <= heal_at)
        .collect();
    let deadline = Instant::now() + SETTLE;
    while Instant::now() < deadline {
        if states.iter().all(|state| holds_all(&lock(state), &before)) {
            return Some(started.elapsed() - heal_at);
        }
        tokio::time::sleep(POLL).await;
    }
    None
}

/// Waits until every node has applied the same state holding every acknowledged write.
async fn settle(states: &[Arc<Mutex<NodeState>>], acked: &[(Duration, usize)]) -> bool {
    let deadline = Instant::now() + SETTLE;
    while Instant::now() < deadline {
        let applied: Vec<BTreeMap<String, String>> = states
            .iter()
            .map(|state| lock(state).applied.clone())
            .collect();
        let same = applied.windows(2).all(|pair| pair[0] == pair[1]);
        if same && states.iter().all(|state| holds_all(&lock(state), acked)) {
            return true;
        }
        tokio::time::sleep(POLL).await;
    }
    false
}

/// Acknowledged writes missing from the leader of the highest term (or, without one, from
/// the node with the most committed entries).
fn lost_writes(states: &[Arc<Mutex<NodeState>>], acked: &[(Duration, usize)]) -> usize {
    let guards: Vec<_> = states.iter().map(|state| lock(state)).collect();
    let authority = guards
        .iter()
        .filter(|state| state.role == Role::Leader)
        .max_by_key(|state| state.term)
        .or_else(|| guards.iter().max_by_key(|state| state.commit));
    let Some(authority) = authority else {
        return acked.len();
    };
    acked
        .iter()
        .filter(|(_, i)| authority.applied.get(&format!("k{i}")) != Some(&format!("v{i}")))
        .count()
}

/// The store's client: one connection per node, following redirects, trying the next node
/// after an error or a timeout.
struct Client {
    targets: Vec<SocketAddr>,
    connections: Vec<Option<BufReader<TcpStream>>>,
    current: usize,
}

impl Client {
    fn new(targets: Vec<SocketAddr>) -> Self {
        let connections = targets.iter().map(|_| None).collect();
        Self {
            targets,
            connections,
            current: 0,
        }
    }

    /// Writes until some node acknowledges the write.
    async fn put(&mut self, key: &str, value: &str) {
        loop {
            let answer = timeout(ATTEMPT_TIMEOUT, self.attempt(key, value)).await;
            match answer.ok().flatten().as_deref() {
                Some("OK") => return,
                Some(redirect) if redirect.starts_with("REDIRECT ") => {
                    let leader = &redirect["REDIRECT ".len()..];
                    match NODES.iter().position(|name| *name == leader) {
                        Some(index) => self.current = index,
                        None => self.next(),
                    }
                }
                _ => {
                    self.connections[self.current] = None;
                    self.next();
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn next(&mut self) {
        self.current = (self.current + 1) % self.targets.len();
    }

    async fn attempt(&mut self, key: &str, value: &str) -> Option<String> {
        let slot = &mut self.connections[self.current];
        if slot.is_none() {
            let stream = TcpStream::connect(self.targets[self.current]).await.ok()?;
            let _ = stream.set_nodelay(true);
            *slot = Some(BufReader::new(stream));
        }
        let stream = slot.as_mut()?;
        let request = format!("PUT {key} {value}\n");
        let mut line = String::new();
        let exchange = async {
            stream.get_mut().write_all(request.as_bytes()).await?;
            stream.read_line(&mut line).await
        };
        match exchange.await {
            Ok(n) if n > 0 => Some(line.trim_end().to_string()),
            _ => {
                *slot = None;
                None
            }
        }
    }
}
