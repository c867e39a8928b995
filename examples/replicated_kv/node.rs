//! One node of a small replicated key-value store: a leader replicates every write to its
//! followers and acknowledges it once a majority holds it; followers that stop hearing the
//! leader's heartbeats elect a new one (Raft's election and log-matching rules, without
//! snapshots or membership changes).
//!
//! Everything goes over TCP with a line protocol of its own:
//!
//! ```text
//! PUT key value                                   -> OK | REDIRECT node | ERR why
//! APPEND term leader prev_len prev_term commit [entry_term key value]
//!                                                 -> ACK term len | NACK term len | STALE term
//! VOTE term candidate last_len last_term          -> GRANT term | DENY term
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout};

/// How often a leader tells an idle follower it is alive.
pub const HEARTBEAT: Duration = Duration::from_millis(100);
/// How long a replication or vote request waits for its answer.
const REPLY_TIMEOUT: Duration = Duration::from_millis(500);
/// How long a write waits for a majority before the client is told to retry.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(2);

/// One write in the log; `key` is empty for the no-op a new leader appends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub term: u64,
    pub key: String,
    pub value: String,
}

/// Whether a node leads, follows or is asking for votes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    #[default]
    Follower,
    Candidate,
    Leader,
}

/// A node's state. `term`, `voted_for` and `log` are its disk: they survive a crash. The rest
/// is memory, rebuilt by [`NodeState::boot`] when the node starts.
#[derive(Debug, Default)]
pub struct NodeState {
    pub term: u64,
    pub voted_for: Option<usize>,
    pub log: Vec<Entry>,
    pub role: Role,
    /// How many log entries are committed, and applied to `applied`.
    pub commit: usize,
    pub applied: BTreeMap<String, String>,
    /// The node believed to lead, for redirects.
    pub leader: Option<usize>,
    last_heard: Option<Instant>,
    /// Whether the node ran before, so its next start is a restart.
    started: bool,
    /// Per peer, how much of the log it is known to hold (leader only).
    matched: Vec<usize>,
}

impl NodeState {
    /// The state of node `id` of a fresh cluster: node 0 starts as the leader of term 1.
    pub fn new(id: usize, nodes: usize) -> Self {
        Self {
            term: 1,
            voted_for: Some(0),
            role: if id == 0 {
                Role::Leader
            } else {
                Role::Follower
            },
            leader: Some(0),
            matched: vec![0; nodes],
            ..Self::default()
        }
    }

    /// Forgets everything but the disk, as a restarted process does.
    fn boot(&mut self, nodes: usize) {
        self.role = Role::Follower;
        self.commit = 0;
        self.applied.clear();
        self.leader = None;
        self.last_heard = None;
        self.matched = vec![0; nodes];
    }

    fn is_leader_of(&self, term: u64) -> bool {
        self.role == Role::Leader && self.term == term
    }

    fn last_term(&self) -> u64 {
        self.log.last().map_or(0, |entry| entry.term)
    }

    /// Moves to a newer term as a follower.
    fn observe_term(&mut self, term: u64) {
        if term > self.term {
            self.term = term;
            self.voted_for = None;
            self.role = Role::Follower;
        }
    }

    fn apply_to(&mut self, commit: usize) {
        let commit = commit.min(self.log.len());
        while self.commit < commit {
            let entry = &self.log[self.commit];
            if !entry.key.is_empty() {
                self.applied.insert(entry.key.clone(), entry.value.clone());
            }
            self.commit += 1;
        }
    }
}

/// Who a node is and how it reaches its peers.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    pub id: usize,
    pub names: Vec<String>,
    /// By node id: the address this node dials to reach it (`None` for itself).
    pub peers: Vec<Option<SocketAddr>>,
    pub state: Arc<Mutex<NodeState>>,
    /// How long without a heartbeat before this node asks for votes.
    pub election_timeout: Duration,
}

struct Node {
    spec: NodeSpec,
    /// Woken on every change of role, term or commit. (Not a `watch` channel: it wakes its
    /// waiters in a random order, and a deterministic test needs one that follows the seed.)
    changed: Notify,
    appended: Notify,
}

impl Node {
    fn lock(&self) -> MutexGuard<'_, NodeState> {
        self.spec
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn publish(&self) {
        self.changed.notify_waiters();
    }

    /// Waits until `done` holds for the node's state.
    async fn until(&self, done: impl Fn(&NodeState) -> bool) {
        loop {
            let mut notified = std::pin::pin!(self.changed.notified());
            notified.as_mut().enable();
            if done(&self.lock()) {
                return;
            }
            notified.await;
        }
    }

    fn majority(&self) -> usize {
        self.spec.names.len() / 2 + 1
    }
}

/// Runs node `spec.id` on `listener` until aborted.
pub async fn serve(listener: TcpListener, spec: NodeSpec) {
    let nodes = spec.names.len();
    {
        let mut state = spec.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.started {
            state.boot(nodes);
        }
        state.started = true;
        state.last_heard = Some(Instant::now());
    }
    let node = Arc::new(Node {
        spec,
        changed: Notify::new(),
        appended: Notify::new(),
    });
    // Owned by this future, so a crash (aborting it) aborts every task of the node.
    let mut tasks = JoinSet::new();
    tasks.spawn(election_timer(Arc::clone(&node)));
    for peer in 0..nodes {
        if peer != node.spec.id {
            tasks.spawn(replicate(Arc::clone(&node), peer));
        }
    }
    loop {
        tokio::select! {
            // Biased: tokio's random branch order would make runs differ.
            biased;
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    tasks.spawn(handle(Arc::clone(&node), stream));
                }
            }
            Some(_) = tasks.join_next() => {}
        }
    }
}

async fn handle(node: Arc<Node>, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let words: Vec<&str> = line.split(' ').collect();
        let reply = match words.as_slice() {
            ["PUT", key, value] => put(&node, key, value).await,
            ["APPEND", rest @ ..] => append(&node, rest),
            ["VOTE", term, candidate, last_len, last_term] => {
                vote(&node, [term, candidate, last_len, last_term])
            }
            _ => "ERR unknown request".to_string(),
        };
        if write
            .write_all(format!("{reply}\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

async fn put(node: &Node, key: &str, value: &str) -> String {
    let (index, term) = {
        let mut state = node.lock();
        if state.role != Role::Leader {
            return match state.leader {
                Some(leader) if leader != node.spec.id => {
                    format!("REDIRECT {}", node.spec.names[leader])
                }
                _ => "ERR no leader".into(),
            };
        }
        let term = state.term;
        state.log.push(Entry {
            term,
            key: key.into(),
            value: value.into(),
        });
        (state.log.len(), term)
    };
    node.appended.notify_waiters();
    let committed = timeout(COMMIT_TIMEOUT, node.until(|state| state.commit >= index)).await;
    let state = node.lock();
    // The entry at `index` may have been replaced by another leader's: check it is ours.
    let ours = state
        .log
        .get(index - 1)
        .is_some_and(|entry| entry.term == term);
    match committed {
        Ok(()) if ours => "OK".into(),
        _ => "ERR not committed".into(),
    }
}

fn number<T: std::str::FromStr>(word: &str) -> Option<T> {
    word.parse().ok()
}

fn append(node: &Node, words: &[&str]) -> String {
    let parsed = match words {
        [term, leader, prev_len, prev_term, commit, entry @ ..] => (|| {
            let entry = match entry {
                [] => None,
                [entry_term, key, value] => Some(Entry {
                    term: number(entry_term)?,
                    // The no-op's empty key travels as `_`.
                    key: if *key == "_" {
                        String::new()
                    } else {
                        (*key).to_string()
                    },
                    value: (*value).to_string(),
                }),
                _ => return None,
            };
            Some((
                number::<u64>(term)?,
                number::<usize>(leader)?,
                number::<usize>(prev_len)?,
                number::<u64>(prev_term)?,
                number::<usize>(commit)?,
                entry,
            ))
        })(),
        _ => None,
    };
    let Some((term, leader, prev_len, prev_term, leader_commit, entry)) = parsed else {
        return "ERR bad append".into();
    };
    let mut state = node.lock();
    if term < state.term {
        return format!("STALE {}", state.term);
    }
    state.observe_term(term);
    state.role = Role::Follower;
    state.leader = Some(leader);
    state.last_heard = Some(Instant::now());
    let reply = if state.log.len() < prev_len {
        format!("NACK {} {}", state.term, state.log.len())
    } else if prev_len > 0 && state.log[prev_len - 1].term != prev_term {
        state.log.truncate(prev_len - 1);
        format!("NACK {} {}", state.term, state.log.len())
    } else {
        let mut matched = prev_len;
        if let Some(entry) = entry {
            if state
                .log
                .get(prev_len)
                .is_some_and(|have| have.term != entry.term)
            {
                state.log.truncate(prev_len);
            }
            if state.log.len() == prev_len {
                state.log.push(entry);
            }
            matched += 1;
        }
        state.apply_to(leader_commit.min(matched));
        format!("ACK {} {matched}", state.term)
    };
    node.publish();
    reply
}

fn vote(node: &Node, words: [&str; 4]) -> String {
    let [term, candidate, last_len, last_term] = words;
    let (Some(term), Some(candidate), Some(last_len), Some(last_term)) = (
        number::<u64>(term),
        number::<usize>(candidate),
        number::<usize>(last_len),
        number::<u64>(last_term),
    ) else {
        return "ERR bad vote".into();
    };
    let mut state = node.lock();
    state.observe_term(term);
    let up_to_date = (last_term, last_len) >= (state.last_term(), state.log.len());
    let free = state.voted_for.is_none_or(|voted| voted == candidate);
    let reply = if term == state.term && free && up_to_date {
        state.voted_for = Some(candidate);
        state.last_heard = Some(Instant::now());
        format!("GRANT {}", state.term)
    } else {
        format!("DENY {}", state.term)
    };
    node.publish();
    reply
}

/// One request and its one-line answer on `stream`, split into words.
async fn ask(stream: &mut BufReader<TcpStream>, request: &str) -> Option<Vec<String>> {
    let exchange = async {
        stream
            .get_mut()
            .write_all(format!("{request}\n").as_bytes())
            .await
            .ok()?;
        let mut line = String::new();
        match stream.read_line(&mut line).await {
            Ok(n) if n > 0 => Some(line.split_whitespace().map(str::to_string).collect()),
            _ => None,
        }
    };
    timeout(REPLY_TIMEOUT, exchange).await.ok().flatten()
}

async fn connect(addr: SocketAddr) -> Option<BufReader<TcpStream>> {
    let stream = timeout(REPLY_TIMEOUT, TcpStream::connect(addr))
        .await
        .ok()?
        .ok()?;
    let _ = stream.set_nodelay(true);
    Some(BufReader::new(stream))
}

/// While this node leads, keeps `peer`'s log in line with its own, one entry at a time.
async fn replicate(node: Arc<Node>, peer: usize) {
    let Some(addr) = node.spec.peers[peer] else {
        return;
    };
    loop {
        node.until(|state| state.role == Role::Leader).await;
        let term = node.lock().term;
        // What the peer holds is unknown: start from the end of our log and back up.
        let mut next = node.lock().log.len();
        let mut stream = None;
        while node.lock().is_leader_of(term) {
            let Some(connection) = stream.as_mut() else {
                stream = connect(addr).await;
                if stream.is_none() {
                    tokio::time::sleep(HEARTBEAT).await;
                }
                continue;
            };
            let request = {
                let state = node.lock();
                next = next.min(state.log.len());
                let prev_term = if next > 0 {
                    state.log[next - 1].term
                } else {
                    0
                };
                let me = node.spec.id;
                let commit = state.commit;
                let mut request = format!("APPEND {term} {me} {next} {prev_term} {commit}");
                let entry = state.log.get(next);
                if let Some(entry) = entry {
                    let key = if entry.key.is_empty() {
                        "_"
                    } else {
                        &entry.key
                    };
                    request.push_str(&format!(" {} {key} {}", entry.term, entry.value));
                }
                request
            };
            let Some(reply) = ask(connection, &request).await else {
                // The peer is down or cut off: try again a heartbeat later.
                stream = None;
                tokio::time::sleep(HEARTBEAT).await;
                continue;
            };
            let answer: Vec<&str> = reply.iter().map(String::as_str).collect();
            match answer.as_slice() {
                ["ACK", _, matched] => {
                    let matched: usize = number(matched).unwrap_or(0);
                    next = matched;
                    advance_commit(&node, peer, matched, term);
                }
                ["NACK", _, len] => next = number(len).unwrap_or(0),
                ["STALE", newer] => {
                    let mut state = node.lock();
                    state.observe_term(number(newer).unwrap_or(term));
                    node.publish();
                }
                _ => stream = None,
            }
            if next >= node.lock().log.len() {
                // Caught up: wait for a new entry or the next heartbeat, which also carries
                // the commit index on to the follower.
                let _ = timeout(HEARTBEAT, node.appended.notified()).await;
            }
        }
    }
}

fn advance_commit(node: &Node, peer: usize, matched: usize, term: u64) {
    let mut state = node.lock();
    if state.role != Role::Leader || state.term != term {
        return;
    }
    state.matched[peer] = state.matched[peer].max(matched);
    let me = node.spec.id;
    let len = state.log.len();
    for candidate in (state.commit + 1..=len).rev() {
        let holders = 1
            + (0..state.matched.len())
                .filter(|&other| other != me && state.matched[other] >= candidate)
                .count();
        // Only an entry of the leader's own term commits by counting (Raft §5.4.2).
        if holders >= node.majority() && state.log[candidate - 1].term == term {
            state.apply_to(candidate);
            break;
        }
    }
    node.publish();
}

/// Asks for votes when the leader has been silent for the election timeout.
async fn election_timer(node: Arc<Node>) {
    loop {
        let wake = {
            let state = node.lock();
            let heard = state.last_heard.unwrap_or_else(Instant::now);
            heard + node.spec.election_timeout
        };
        tokio::time::sleep_until(wake.max(Instant::now() + HEARTBEAT)).await;
        let due = {
            let state = node.lock();
            state.role != Role::Leader
                && state
                    .last_heard
                    .is_none_or(|heard| heard.elapsed() >= node.spec.election_timeout)
        };
        if due {
            elect(&node).await;
        }
    }
}

async fn elect(node: &Node) {
    let me = node.spec.id;
    let request = {
        let mut state = node.lock();
        state.term += 1;
        state.voted_for = Some(me);
        state.role = Role::Candidate;
        state.leader = None;
        state.last_heard = Some(Instant::now());
        node.publish();
        format!(
            "VOTE {} {me} {} {}",
            state.term,
            state.log.len(),
            state.last_term()
        )
    };
    let term = node.lock().term;
    let mut ballots = JoinSet::new();
    for addr in node.spec.peers.iter().flatten().copied() {
        let request = request.clone();
        ballots.spawn(async move {
            let mut stream = connect(addr).await?;
            ask(&mut stream, &request).await
        });
    }
    let mut votes = 1;
    while let Some(ballot) = ballots.join_next().await {
        let Ok(Some(answer)) = ballot else { continue };
        let mut state = node.lock();
        match answer
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["GRANT", granted] if number::<u64>(granted) == Some(term) => votes += 1,
            ["DENY", newer] => state.observe_term(number(newer).unwrap_or(term)),
            _ => {}
        }
        if votes >= node.majority() && state.role == Role::Candidate && state.term == term {
            state.role = Role::Leader;
            state.leader = Some(me);
            state.matched = vec![0; node.spec.names.len()];
            // A no-op of the new term lets the entries of earlier terms commit.
            state.log.push(Entry {
                term,
                key: String::new(),
                value: "noop".into(),
            });
            node.publish();
            drop(state);
            node.appended.notify_waiters();
            return;
        }
        node.publish();
    }
}
