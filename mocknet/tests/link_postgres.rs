//! The `steadfast-mocknet link` command in front of a real PostgreSQL server
//! (`STEADFAST_TEST_POSTGRES`, which `.ci/run` starts), in real time: its latency reaches the
//! database's own client, and its timeline partitions and heals at the times the fault file
//! gives, counted from the command's start.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::time::timeout;
use tokio_postgres::config::Host;
use tokio_postgres::{Client, Config, NoTls};

use crate::binary::{signal, spawn, temp};

const POSTGRES_ENV: &str = "STEADFAST_TEST_POSTGRES";

/// Latency each way, a partition that resets open connections at 1.5 s and its heal at 3 s.
const FAULTS: &str = r#"{"faults": [{"kind": "latency", "ms": 20}], "timeline": [
    {"at_ms": 1500, "event": "partition", "mode": "reset"},
    {"at_ms": 3000, "event": "heal"}]}"#;

/// How long the test waits for the partition, then for the heal, before it fails.
const DEADLINE: Duration = Duration::from_secs(15);

fn postgres_config() -> Config {
    let text = std::env::var(POSTGRES_ENV).unwrap_or_else(|_| {
        panic!(
            "steadfast: set {POSTGRES_ENV} to a PostgreSQL connection string such as \
             \"host=127.0.0.1 port=54329 user=postgres dbname=postgres\" (.ci/run starts that \
             server)"
        )
    });
    text.parse()
        .unwrap_or_else(|err| panic!("steadfast: {POSTGRES_ENV}={text:?} does not parse: {err}"))
}

/// The server's TCP address from the configuration.
fn upstream(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        other => panic!("steadfast: {POSTGRES_ENV} must name a TCP host, got {other:?}"),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}")
}

/// The same user and database, reached through the link on `port`.
fn through_link(config: &Config, port: u16) -> Config {
    let mut through = Config::new();
    through.host("127.0.0.1").port(port);
    if let Some(user) = config.get_user() {
        through.user(user);
    }
    if let Some(dbname) = config.get_dbname() {
        through.dbname(dbname);
    }
    through
}

async fn connect(config: &Config) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// Whether a fresh connection answers a query within half a second.
async fn answers(config: &Config) -> bool {
    let exchange = async {
        let client = connect(config).await.ok()?;
        client.query_one("SELECT 1", &[]).await.ok()
    };
    matches!(
        timeout(Duration::from_millis(500), exchange).await,
        Ok(Some(_))
    )
}

#[test]
fn link_command_in_front_of_postgres_partitions_and_heals_on_its_real_time_timeline() {
    let config = postgres_config();
    let faults = temp("postgres-faults.json", Some(FAULTS));
    let journal = temp("postgres-journal.jsonl", None);
    let upstream = upstream(&config);
    let spawned = Instant::now();
    let (mut child, _stdout, first) = spawn(&[
        "link",
        "--upstream",
        &upstream,
        "--faults",
        faults.to_str().expect("utf-8"),
        "--seed",
        "1",
        "--journal",
        journal.to_str().expect("utf-8"),
    ]);
    let port: u16 = first
        .strip_prefix("listening on 127.0.0.1:")
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("first line {first:?}"));
    let through = through_link(&config, port);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (answer, round_trip, cut_at, healed_at) = runtime.block_on(async {
        let client = connect(&through).await.expect("connects through the link");
        let asked = Instant::now();
        let answer: i32 = client
            .query_one("SELECT 41 + 1", &[])
            .await
            .expect("query through the link")
            .get(0);
        let round_trip = asked.elapsed();
        // The open connection works until the partition resets it. A reset fails the query at
        // once; the timeout is only there so that a stalled link cannot hang the test, and is
        // long enough that a slow moment of a loaded machine is not taken for the cut.
        let mut pace = tokio::time::interval(Duration::from_millis(20));
        let cut_at = loop {
            pace.tick().await;
            let query = timeout(Duration::from_secs(5), client.query_one("SELECT 1", &[]));
            if !matches!(query.await, Ok(Ok(_))) {
                break spawned.elapsed();
            }
            assert!(
                spawned.elapsed() < DEADLINE,
                "steadfast: the partition never came"
            );
        };
        // New connections get through again once the partition heals.
        let healed_at = loop {
            pace.tick().await;
            if answers(&through).await {
                break spawned.elapsed();
            }
            assert!(
                spawned.elapsed() < DEADLINE,
                "steadfast: the partition never healed"
            );
        };
        (answer, round_trip, cut_at, healed_at)
    });
    let status = signal(&mut child, libc::SIGTERM);

    assert_eq!(answer, 42);
    // 20 ms each way, in real time.
    assert!(round_trip >= Duration::from_millis(40), "{round_trip:?}");
    // The link started after `spawned`: its 1.5 s and 3 s come later still.
    assert!(cut_at >= Duration::from_millis(1500), "cut at {cut_at:?}");
    assert!(
        healed_at >= Duration::from_millis(3000),
        "healed at {healed_at:?}"
    );
    assert!(status.success(), "{status:?}");

    let events: Vec<Value> = std::fs::read_to_string(&journal)
        .expect("journal written")
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON line"))
        .collect();
    let at = |kind: &str| {
        events
            .iter()
            .find(|event| event["event"] == kind)
            .and_then(|event| event["at_ms"].as_f64())
            .unwrap_or_else(|| panic!("no {kind} event in {events:#?}"))
    };
    assert!((1500.0..2500.0).contains(&at("partition")), "{events:#?}");
    assert!((3000.0..4000.0).contains(&at("heal")), "{events:#?}");
    // The first connection was reset by the partition.
    let first_connection = &events
        .iter()
        .find(|event| event["event"] == "opened")
        .unwrap_or_else(|| panic!("no opened event in {events:#?}"))["connection"];
    assert!(
        events
            .iter()
            .any(|event| event["event"] == "reset" && &event["connection"] == first_connection),
        "{events:#?}"
    );
}
