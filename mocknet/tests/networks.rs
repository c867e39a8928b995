//! Networks: nodes, links between every pair, partitions, crashes and restarts.

use std::io::ErrorKind as IoKind;
use std::net::SocketAddr;
use std::time::Duration;

use steadfast_determinism::{TestContext, deterministic_test};
use steadfast_mocknet::ErrorKind;
use steadfast_mocknet::link::{LinkFault, LinkFaults, NetEventKind, PartitionMode};
use steadfast_mocknet::network::{Network, Partition};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// A node that answers every line with its own name, keeping its connections in a JoinSet so
/// a crash aborts them with it.
async fn named(listener: TcpListener, name: &'static str) {
    let mut connections = JoinSet::new();
    while let Ok((mut stream, _)) = listener.accept().await {
        connections.spawn(async move {
            let mut buf = [0u8; 64];
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 || stream.write_all(name.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}

async fn ask(addr: SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr).await?;
    ask_on(&mut stream).await
}

async fn ask_on(stream: &mut TcpStream) -> std::io::Result<String> {
    stream.write_all(b"?").await?;
    let mut answer = [0u8; 1];
    stream.read_exact(&mut answer).await?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

async fn three_nodes() -> Network {
    let net = Network::builder()
        .nodes(["a", "b", "c"])
        .start()
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    for name in ["a", "b", "c"] {
        net.run(name, move |listener| named(listener, name))
            .expect("run");
    }
    net
}

#[deterministic_test]
async fn every_ordered_pair_has_its_own_link_to_the_right_node(_ctx: &TestContext) {
    let net = three_nodes().await;

    assert_eq!(
        ask(net.addr("a", "b").expect("a->b")).await.expect("b"),
        "b"
    );
    assert_eq!(
        ask(net.addr("b", "c").expect("b->c")).await.expect("c"),
        "c"
    );
    assert_ne!(
        net.addr("a", "b").expect("a->b"),
        net.addr("b", "a").expect("b->a")
    );
}

#[deterministic_test]
async fn a_one_way_partition_cuts_only_the_links_its_first_group_dials(_ctx: &TestContext) {
    let net = three_nodes().await;
    let _partition = net
        .partition(Partition::one_way(["a"], ["b"]))
        .expect("partition");

    let a_to_b = tokio::time::timeout(
        Duration::from_secs(5),
        ask(net.addr("a", "b").expect("addr")),
    )
    .await;
    let b_to_a = ask(net.addr("b", "a").expect("addr"))
        .await
        .expect("b reaches a");
    let a_to_c = ask(net.addr("a", "c").expect("addr"))
        .await
        .expect("a reaches c");

    assert!(a_to_b.is_err(), "a reached b: {a_to_b:?}");
    assert_eq!((b_to_a.as_str(), a_to_c.as_str()), ("a", "c"));
}

#[deterministic_test]
async fn a_resetting_partition_resets_open_connections_and_heals_on_drop(_ctx: &TestContext) {
    let net = three_nodes().await;
    let mut open = TcpStream::connect(net.addr("a", "b").expect("addr"))
        .await
        .expect("connect");
    assert_eq!(ask_on(&mut open).await.expect("before"), "b");

    let partition = net
        .partition(Partition::symmetric(["a"], ["b", "c"]).mode(PartitionMode::Reset))
        .expect("partition");
    let err = ask_on(&mut open).await.expect_err("reset");
    let during = ask(net.addr("c", "a").expect("addr"))
        .await
        .expect_err("refused");
    drop(partition);
    let after = ask(net.addr("a", "b").expect("addr"))
        .await
        .expect("healed");

    assert_eq!(err.kind(), IoKind::ConnectionReset);
    assert_eq!(during.kind(), IoKind::ConnectionReset);
    assert_eq!(after, "b");
    let kinds: Vec<_> = net.journal().iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&NetEventKind::Partition) && kinds.contains(&NetEventKind::Heal));
}

#[deterministic_test]
async fn a_crash_resets_connections_and_a_restart_serves_the_same_address(_ctx: &TestContext) {
    let net = three_nodes().await;
    let (node_addr, link_addr) = (
        net.node_addr("b").expect("b"),
        net.addr("a", "b").expect("a->b"),
    );
    let mut open = TcpStream::connect(link_addr).await.expect("connect");
    assert_eq!(ask_on(&mut open).await.expect("before"), "b");

    net.crash("b").expect("crash");
    let reset = ask_on(&mut open).await.expect_err("reset by the crash");
    let refused = ask(link_addr).await.expect_err("refused while down");
    let crashed_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    net.restart("b").expect("restart");
    let answer = ask(link_addr).await.expect("after restart");

    assert_eq!(
        (reset.kind(), refused.kind()),
        (IoKind::ConnectionReset, IoKind::ConnectionReset)
    );
    assert_eq!(answer, "b");
    assert_eq!(net.node_addr("b").expect("b"), node_addr);
    assert_eq!(ask(node_addr).await.expect("directly"), "b");
    let events = net.journal();
    let crash = events
        .iter()
        .find(|e| e.kind == NetEventKind::Crash)
        .expect("crash");
    let restart = events
        .iter()
        .find(|e| e.kind == NetEventKind::Restart)
        .expect("restart");
    assert_eq!(restart.at - crash.at, crashed_at.elapsed());
    assert_eq!(crash.node.as_deref(), Some("b"));
}

#[deterministic_test]
async fn unknown_names_and_self_links_list_the_known_nodes(_ctx: &TestContext) {
    let net = three_nodes().await;

    let unknown = net.addr("a", "d").expect_err("no d");
    let itself = net.addr("a", "a").expect_err("self link");
    let crash = net.crash("z").expect_err("no z");

    assert_eq!(unknown.kind(), ErrorKind::UnknownNode);
    assert_eq!(
        unknown.to_string(),
        "unknown node `d`; known nodes: a, b, c"
    );
    assert_eq!(
        (unknown.name(), unknown.known()),
        (Some("d"), &["a".into(), "b".into(), "c".into()][..])
    );
    assert_eq!(itself.kind(), ErrorKind::InvalidNetwork);
    assert_eq!(
        itself.to_string(),
        "invalid network: node `a` has no link to itself; known nodes: a, b, c"
    );
    assert_eq!(crash.kind(), ErrorKind::UnknownNode);
}

#[deterministic_test]
async fn a_node_named_twice_is_refused_at_start(_ctx: &TestContext) {
    let err = Network::builder()
        .nodes(["a", "b", "a"])
        .start()
        .await
        .expect_err("a twice");

    assert_eq!(err.kind(), ErrorKind::InvalidNetwork);
    assert_eq!(
        err.to_string(),
        "invalid network: node `a` is named twice; known nodes: a, b, a"
    );
}

async fn faulty_run() -> Vec<String> {
    let faults = LinkFaults::new()
        .with(LinkFault::jitter_uniform(
            Duration::from_millis(1),
            Duration::from_millis(30),
        ))
        .with(LinkFault::reset_after(1).probability(0.25));
    let net = Network::builder()
        .nodes(["a", "b", "c"])
        .faults(faults)
        .start()
        .await
        .expect("network");
    for name in ["a", "b", "c"] {
        net.run(name, move |listener| named(listener, name))
            .expect("run");
    }
    for round in 0..100 {
        let (from, to) = [("a", "b"), ("b", "c"), ("c", "a")][round % 3];
        let _ = ask(net.addr(from, to).expect("addr")).await;
        if round == 50 {
            net.crash("c").expect("crash");
        }
        if round == 70 {
            net.restart("c").expect("restart");
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    net.journal()
        .iter()
        .map(|e| e.to_json().to_string())
        .collect()
}

#[deterministic_test(check_determinism = true)]
async fn the_same_seed_gives_the_same_network_journal(_ctx: &TestContext) {
    let first = faulty_run().await;
    let second = faulty_run().await;

    assert!(first.iter().any(|line| line.contains("\"reset\"")));
    assert!(first.iter().any(|line| line.contains("\"crash\"")));
    assert_eq!(first, second);
}

#[deterministic_test]
async fn a_catalog_timeline_partitions_crashes_and_restarts_on_virtual_time(_ctx: &TestContext) {
    let catalog = crate::support::catalog(
        r#"{"networks": {"storm": {
            "nodes": ["a", "b"],
            "links": [{"from": "a", "to": "b", "faults": [{"kind": "latency", "ms": 10}]}],
            "timeline": [
                {"at_ms": 1000, "event": "partition", "a": ["a"], "b": ["b"], "mode": "reset"},
                {"at_ms": 2000, "event": "heal"},
                {"at_ms": 3000, "event": "crash", "node": "b"},
                {"at_ms": 4000, "event": "restart", "node": "b"}
            ]}}}"#,
    );
    let net = Network::builder()
        .scenario(catalog.network("storm").expect("storm"))
        .start()
        .await
        .expect("network");
    net.run("b", |listener| named(listener, "b")).expect("run");
    let a_to_b = net.addr("a", "b").expect("addr");
    let started = Instant::now();
    let mut answers = Vec::new();
    for at_ms in [500, 1500, 2500, 3500, 4500] {
        tokio::time::sleep_until(started + Duration::from_millis(at_ms)).await;
        answers.push(ask(a_to_b).await.map_err(|err| err.kind()));
    }

    let ok = || Ok("b".to_string());
    assert_eq!(
        answers,
        [
            ok(),
            Err(IoKind::ConnectionReset),
            ok(),
            Err(IoKind::ConnectionReset),
            ok()
        ]
    );
    let timeline: Vec<_> = net
        .journal()
        .into_iter()
        .filter(|e| e.link.is_none())
        .map(|e| (e.kind, e.at.as_millis()))
        .collect();
    assert_eq!(
        timeline,
        [
            (NetEventKind::Partition, 1000),
            (NetEventKind::Heal, 2000),
            (NetEventKind::Crash, 3000),
            (NetEventKind::Restart, 4000),
        ]
    );
}

#[test]
fn a_network_outside_a_deterministic_test_needs_a_seed() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let err = runtime
        .block_on(Network::builder().nodes(["a"]).start())
        .expect_err("no seed");

    assert_eq!(err.kind(), ErrorKind::LinkStart);
    assert_eq!(
        err.to_string(),
        "could not start the network: no seed for its fault draws: start it inside a \
         #[deterministic_test] or give one with NetworkBuilder::seed"
    );
}
