//! The flaky history: figures, runs and run ids, schema versions and the CLI, each test run
//! against SQLite and against a real PostgreSQL server (`STEADFAST_TEST_POSTGRES`, which
//! `.ci/run` starts), and the two compared.

mod backends;
mod cli;
mod figures;
mod runs;
mod schema;

use std::path::PathBuf;
#[cfg(feature = "postgres")]
use std::sync::atomic::{AtomicU32, Ordering};

use steadfast_flaky::history::RunInfo;
use steadfast_flaky::{Failure, Observation, Outcome, Report};

use crate::support::fresh_dir;

/// Milliseconds in a day.
pub const DAY: i64 = 86_400_000;
/// "Now" of the library tests: 2026-01-01T12:00:00Z.
pub const NOW: i64 = 1_767_225_600_000 + DAY / 2;

/// How one test ended in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ran {
    Pass,
    Fail,
    /// Passed on a retry.
    Retry,
    Skip,
}

/// A report of one run at `at_ms`: each test once, failures with a seed and a message.
pub fn report(at_ms: i64, results: &[(&str, Ran)]) -> Report {
    let mut report = Report::new();
    for (test, result) in results {
        let outcome = match result {
            Ran::Pass | Ran::Retry => Outcome::Passed,
            Ran::Fail => Outcome::Failed,
            Ran::Skip => Outcome::Skipped,
        };
        let mut observation = Observation::new(*test, outcome);
        observation.at_ms = Some(at_ms);
        if matches!(result, Ran::Fail | Ran::Retry) {
            observation.failures.push(Failure {
                at_ms: Some(at_ms),
                seed: Some(format!("0x{:016x}", at_ms % 997)),
                message: Some(format!("{test} timed out")),
                replay: None,
            });
        }
        report.observe(observation);
    }
    report
}

/// A run of commit `commit` at `at_ms`.
pub fn run(commit: &str, at_ms: i64) -> RunInfo {
    RunInfo::new().commit(commit).branch("main").at_ms(at_ms)
}

/// A history of 30 runs over 6 days and 40 days before, with every kind of test: stable,
/// failing every time, flaky at 40 %, flaky then recovered, new half-way, sometimes skipped,
/// disrupted only before the window.
pub fn scenario() -> Vec<(RunInfo, Report)> {
    let mut runs = Vec::new();
    for i in 0..5_i64 {
        let at = NOW - 40 * DAY + i * 3_600_000;
        runs.push((
            run(&format!("old{i}"), at),
            report(
                at,
                &[("app stable", Ran::Pass), ("app long_ago", Ran::Fail)],
            ),
        ));
    }
    for i in 0..25_i64 {
        let at = NOW - 5 * DAY + i * 4 * 3_600_000;
        let flaky = if i % 5 < 2 { Ran::Retry } else { Ran::Pass };
        let recovered = match i {
            0..12 if i % 2 == 0 => Ran::Fail,
            _ => Ran::Pass,
        };
        let mut results = vec![
            ("app stable", Ran::Pass),
            ("app broken", Ran::Fail),
            ("app flaky", flaky),
            ("app recovered", recovered),
            ("app long_ago", Ran::Pass),
            (
                "app sometimes",
                if i % 3 == 0 { Ran::Skip } else { Ran::Pass },
            ),
        ];
        if i >= 12 {
            results.push(("app new", if i == 13 { Ran::Retry } else { Ran::Pass }));
        }
        runs.push((run(&format!("c{i}"), at), report(at, &results)));
    }
    runs
}

/// A database for one test: an SQLite file in a fresh directory, or a fresh schema on the
/// PostgreSQL server of `STEADFAST_TEST_POSTGRES`, dropped at the end.
pub enum TestDb {
    Sqlite(PathBuf),
    #[cfg(feature = "postgres")]
    Postgres(postgres_db::Schema),
}

impl TestDb {
    pub fn sqlite(name: &str) -> Self {
        TestDb::Sqlite(fresh_dir(&format!("history-{name}")).join("history.db"))
    }

    #[cfg(feature = "postgres")]
    pub fn postgres(name: &str) -> Self {
        TestDb::Postgres(postgres_db::Schema::new(name))
    }

    /// The `--db` value.
    pub fn url(&self) -> String {
        match self {
            TestDb::Sqlite(path) => format!("sqlite:{}", path.display()),
            #[cfg(feature = "postgres")]
            TestDb::Postgres(schema) => schema.url(),
        }
    }

    /// Runs SQL on the database behind the history's back.
    pub fn execute(&self, sql: &str) {
        match self {
            TestDb::Sqlite(path) => rusqlite::Connection::open(path)
                .unwrap()
                .execute_batch(sql)
                .unwrap(),
            #[cfg(feature = "postgres")]
            TestDb::Postgres(schema) => schema.execute(sql),
        }
    }

    /// The first column of the first row of `sql`, a number.
    pub fn number(&self, sql: &str) -> i64 {
        match self {
            TestDb::Sqlite(path) => rusqlite::Connection::open(path)
                .unwrap()
                .query_row(sql, [], |row| row.get(0))
                .unwrap(),
            #[cfg(feature = "postgres")]
            TestDb::Postgres(schema) => schema.number(sql),
        }
    }
}

/// A unique suffix for names made by this test process.
#[cfg(feature = "postgres")]
pub fn unique(name: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{name}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Defines each test once per backend: `sqlite::NAME` and `postgres::NAME`, with `db` a
/// fresh [`TestDb`].
macro_rules! on_each_backend {
    ($($(#[$meta:meta])* fn $name:ident($db:ident) $body:block)*) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                $(#[$meta])*
                #[test]
                fn $name() {
                    let $db = $crate::history::TestDb::sqlite(stringify!($name));
                    $body
                }
            )*
        }
        #[cfg(feature = "postgres")]
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                $(#[$meta])*
                #[test]
                fn $name() {
                    let $db = $crate::history::TestDb::postgres(stringify!($name));
                    $body
                }
            )*
        }
    };
}
pub(crate) use on_each_backend;

#[cfg(feature = "postgres")]
mod postgres_db {
    //! A fresh schema per test on the server `STEADFAST_TEST_POSTGRES` names.

    use postgres::config::Host;
    use postgres::{Client, Config, NoTls};

    const POSTGRES_ENV: &str = "STEADFAST_TEST_POSTGRES";

    pub struct Schema {
        config: String,
        name: String,
    }

    fn config() -> String {
        std::env::var(POSTGRES_ENV).unwrap_or_else(|_| {
            panic!(
                "steadfast: set {POSTGRES_ENV} to a PostgreSQL connection string such as \
                 \"host=127.0.0.1 port=54329 user=postgres dbname=postgres\" (.ci/run starts \
                 that server); the history tests run against it"
            )
        })
    }

    fn connect(config: &str) -> Client {
        Client::connect(config, NoTls)
            .unwrap_or_else(|err| panic!("steadfast: cannot connect to {config:?}: {err}"))
    }

    /// `%`-escapes everything but unreserved characters, for a URL part.
    fn escape(text: &str) -> String {
        text.bytes()
            .map(|byte| match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (byte as char).to_string()
                }
                _ => format!("%{byte:02X}"),
            })
            .collect()
    }

    impl Schema {
        pub fn new(test: &str) -> Self {
            let config = config();
            let name = super::unique(&format!("history_{test}")).to_lowercase();
            // PostgreSQL cuts identifiers at 63 bytes; keep the unique end.
            let name = name[name.len().saturating_sub(63)..]
                .trim_start_matches('_')
                .to_owned();
            connect(&config)
                .batch_execute(&format!("CREATE SCHEMA \"{name}\""))
                .unwrap();
            Self { config, name }
        }

        /// A `postgres://` URL of the same server whose `search_path` is this schema.
        pub fn url(&self) -> String {
            let config: Config = self.config.parse().unwrap();
            let user = config.get_user().unwrap_or("postgres");
            let password = config
                .get_password()
                .map(|password| format!(":{}", escape(&String::from_utf8_lossy(password))))
                .unwrap_or_default();
            let host = match config.get_hosts().first() {
                Some(Host::Tcp(host)) => host.clone(),
                Some(Host::Unix(dir)) => escape(&dir.display().to_string()),
                None => "127.0.0.1".to_owned(),
            };
            let port = config.get_ports().first().copied().unwrap_or(5432);
            let dbname = config.get_dbname().unwrap_or(user);
            format!(
                "postgres://{}{password}@{host}:{port}/{}?options={}",
                escape(user),
                escape(dbname),
                escape(&format!("-c search_path={}", self.name))
            )
        }

        fn client(&self) -> Client {
            let mut client = connect(&self.config);
            client
                .batch_execute(&format!("SET search_path TO \"{}\"", self.name))
                .unwrap();
            client
        }

        pub fn execute(&self, sql: &str) {
            self.client().batch_execute(sql).unwrap();
        }

        pub fn number(&self, sql: &str) -> i64 {
            self.client().query_one(sql, &[]).unwrap().get(0)
        }
    }

    impl Drop for Schema {
        fn drop(&mut self) {
            if let Ok(mut client) = Client::connect(&self.config, NoTls) {
                let _ = client.batch_execute(&format!("DROP SCHEMA \"{}\" CASCADE", self.name));
            }
        }
    }
}
