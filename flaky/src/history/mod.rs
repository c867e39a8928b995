//! Flaky history across CI runs: each run's report added to a database, and per test the flake
//! rate over weeks, when it turned flaky, what to quarantine and what has recovered.
//!
//! ```
//! use steadfast_flaky::history::{History, Query, RunInfo};
//! use steadfast_flaky::{Failure, Observation, Outcome, Report};
//!
//! let dir = std::env::temp_dir().join(format!("steadfast-history-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let mut history = History::open(dir.join("history.db").to_str().unwrap())?;
//! let day = 86_400_000;
//! for run in 0..12_i64 {
//!     // `checkout` passes only on retry in every third run.
//!     let mut checkout = Observation::new("app checkout", Outcome::Passed);
//!     if run % 3 == 0 {
//!         checkout.failures.push(Failure { seed: Some("0x000000000000002a".into()), ..Failure::default() });
//!     }
//!     let mut report = Report::new();
//!     report.observe(checkout);
//!     report.observe(Observation::new("app login", Outcome::Passed));
//!     // Without timestamps in the reports, only a run id tells identical reports apart.
//!     let info = RunInfo::new()
//!         .run_id(format!("ci-{run}"))
//!         .commit(format!("c{run}"))
//!         .at_ms(20_000 * day + run * 3_600_000);
//!     history.add(&info, &report)?;
//! }
//! let summary = history.summary(&Query::new().now_ms(20_000 * day))?;
//! let checkout = summary.get("app checkout").unwrap();
//! assert_eq!((checkout.runs, checkout.flaky_runs), (12, 4));
//! assert_eq!(checkout.turned_flaky.as_ref().unwrap().commit.as_deref(), Some("c0"));
//! assert!(checkout.quarantine); // 4 of 12 results disrupted: more than 30 %
//! assert_eq!(checkout.green_streak, 2); // runs 11 and 12 were clean
//! assert!(!summary.get("app login").unwrap().quarantine);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Runs and run ids
//!
//! One [`History::add`] is one run: its report may merge many shards (`Report::merge`). Runs
//! are numbered in the order they are added, and "in a row" and "first" follow that order:
//! backfill old reports oldest first. A run's time ([`RunInfo::at_ms`]) is the earliest
//! first-seen time in its report, or the time of the add when the report has none; the
//! window of [`Query::since_days`] goes by it.
//!
//! A run id names a run once: adding a run whose id the history has changes nothing and says
//! so ([`Added::is_new`]). The id is [`RunInfo::run_id`] when given, else
//! [`content_run_id`] of the report (see there for what it hashes).
//!
//! # Figures
//!
//! A test's *results* in a run are its report's runs; a result that failed every attempt is a
//! *failed run*, one that passed only on a retry a *flaky run*, and both are *disruptions*. Per
//! test over the window: results, failed and flaky runs, the flake rate (disruptions /
//! results) with its Wilson 95 % interval, the run and commit in which it was first disrupted
//! ("turned flaky"), its latest disruption (whatever the window), and its *green streak*: the runs in a row, up to the
//! latest it ran in, without a failed attempt.
//!
//! * **Quarantine**: the [`QuarantineRule`] holds (default: at least 10 results, more than
//!   30 % disrupted) and the test has not passed the victory gate since.
//! * **Green** (the victory gate): disrupted in the window, and green for at least
//!   [`Query::green_streak`] runs (default 3) since.
//!
//! # Storage
//!
//! [`History::open`] takes `sqlite:PATH`, `sqlite://PATH` or a plain path (an SQLite file,
//! created when missing) or, with the `postgres` feature, a `postgres://…` URL (the tables go
//! in the schema its `search_path` names, e.g. `?options=-csearch_path%3Dflaky`). Both hold the
//! same tables ([`SCHEMA_VERSION`], migrations in a `schema_version` table):
//!
//! | table | one row per | holds |
//! | --- | --- | --- |
//! | `runs` | run | number, run id, time and UTC day, commit, branch, tests, disrupted tests |
//! | `tests` | test | id, name, first and last run, green streak, first and last disrupted run |
//! | `daily` | UTC day | each test's results, failed runs and flaky runs that day, packed |
//! | `disruptions` | test and run that was not a clean pass | its counts, seed and message |
//!
//! A summary decodes the `daily` rows of the window's days (tests × days figures, never one
//! row per result) and reads the `tests` and `runs` rows and each test's latest disruption.

mod daily;
mod ingest;
mod location;
mod render;
mod run_id;
mod schema;
mod store;
mod summary;

use std::fmt;

pub use ingest::Added;
pub use render::{HistoryFormat, render, to_html, to_json, to_markdown, trend_svg};
pub use run_id::content_run_id;
pub use schema::SCHEMA_VERSION;
pub use summary::{Disruption, QuarantineRule, Query, RunRef, Summary, TestHistory, TrendPoint};

use crate::{Error, Report};
use ingest::Plan;
use location::{Location, masked};
use store::Store;
use summary::Tally;

/// What is known about a run besides its report: `--run-id`, `--commit`, `--branch`, and
/// its time.
///
/// # Example
///
/// ```
/// use steadfast_flaky::history::RunInfo;
///
/// let info = RunInfo::new().commit("4f2c1e9").branch("main").run_id("1234.1");
/// # let _ = info;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct RunInfo {
    run_id: Option<String>,
    commit: Option<String>,
    branch: Option<String>,
    at_ms: Option<i64>,
}

impl RunInfo {
    /// Nothing known: the run id comes from the report's content, the time from the report.
    pub fn new() -> Self {
        Self::default()
    }

    /// The run id (e.g. `$GITHUB_RUN_ID.$GITHUB_RUN_ATTEMPT`); default [`content_run_id`].
    pub fn run_id(mut self, run_id: impl Into<String>) -> Self {
        self.run_id = Some(run_id.into());
        self
    }

    /// The commit the run tested.
    pub fn commit(mut self, commit: impl Into<String>) -> Self {
        self.commit = Some(commit.into());
        self
    }

    /// The branch the run tested.
    pub fn branch(mut self, branch: impl Into<String>) -> Self {
        self.branch = Some(branch.into());
        self
    }

    /// When the run started, in milliseconds since the Unix epoch; default the earliest
    /// first-seen time in the report, else the time of the add.
    pub fn at_ms(mut self, at_ms: i64) -> Self {
        self.at_ms = Some(at_ms);
        self
    }
}

/// A flaky history database (see the module docs).
pub struct History {
    /// The database as messages name it (any password masked).
    shown: String,
    store: Box<dyn Store>,
}

impl fmt::Debug for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("History")
            .field("database", &self.shown)
            .finish_non_exhaustive()
    }
}

impl History {
    /// Opens the history at `db`, creating it (an SQLite file, or the tables in PostgreSQL)
    /// when it has none, and bringing an older schema up to date.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Database`](crate::ErrorKind::Database) when `db` is no URL or path this
    /// opens, or the database cannot be opened or migrated;
    /// [`ErrorKind::SchemaVersion`](crate::ErrorKind::SchemaVersion) when its schema is newer
    /// than [`SCHEMA_VERSION`], naming both versions.
    pub fn open(db: &str) -> Result<Self, Error> {
        Self::open_with(db, true)
    }

    /// Like [`History::open`], for a history that must exist already (`history show`).
    ///
    /// # Errors
    ///
    /// Those of [`History::open`], and [`ErrorKind::NoHistory`](crate::ErrorKind::NoHistory)
    /// when the SQLite file is missing or the database has no history tables.
    pub fn open_existing(db: &str) -> Result<Self, Error> {
        Self::open_with(db, false)
    }

    fn open_with(db: &str, create: bool) -> Result<Self, Error> {
        let location = Location::parse(db)?;
        Ok(Self {
            shown: masked(db),
            store: store::open(db, &location, create)?,
        })
    }

    /// The database's URL or path, any password masked as `***`.
    pub fn database(&self) -> &str {
        &self.shown
    }

    /// Adds one run (see the module docs for run ids and what is counted).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Database`](crate::ErrorKind::Database) when the write fails; nothing of
    /// the run is stored then.
    pub fn add(&mut self, info: &RunInfo, report: &Report) -> Result<Added, Error> {
        let added =
            self.plan_and_write(&mut |plan, now_ms| vec![plan.add(info, report, now_ms)])?;
        // OK because the plan added exactly one run.
        Ok(added.into_iter().next().expect("one run added"))
    }

    /// Adds many runs in one transaction, in order, as one [`History::add`] each would (the
    /// same planning, summed per day and test before it is written): the fast way to backfill.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Database`](crate::ErrorKind::Database) when the write fails; none of the
    /// runs is stored then.
    pub fn add_all(
        &mut self,
        runs: impl IntoIterator<Item = (RunInfo, Report)>,
    ) -> Result<Vec<Added>, Error> {
        let mut runs = runs.into_iter();
        self.plan_and_write(&mut |plan, now_ms| {
            runs.by_ref()
                .map(|(info, report)| plan.add(&info, &report, now_ms))
                .collect()
        })
    }

    fn plan_and_write(
        &mut self,
        fill: &mut dyn FnMut(&mut Plan, i64) -> Vec<Added>,
    ) -> Result<Vec<Added>, Error> {
        let now_ms = now_ms();
        let mut added = Vec::new();
        self.store.write(&mut |stored| {
            let mut plan = Plan::new(stored);
            added = fill(&mut plan, now_ms);
            Ok(plan.into_changes())
        })?;
        Ok(added)
    }

    /// The figures of the window `query` asks for (see the module docs).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Database`](crate::ErrorKind::Database) when the read fails.
    pub fn summary(&mut self, query: &Query) -> Result<Summary, Error> {
        let window = summary::window(query, now_ms());
        let mut tally = Tally::default();
        let snapshot = self.store.read(window.0, &mut |row| tally.add(row))?;
        Ok(tally.summarise(snapshot, query, window))
    }
}

/// The system clock, in milliseconds since the Unix epoch.
fn now_ms() -> i64 {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
}
