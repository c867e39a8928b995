//! The two backends behind one interface: what is stored, and what a write or a read moves.
//!
//! A backend knows SQL and transactions, nothing about flakiness: [`ingest`](super::ingest)
//! decides what an add changes and [`summary`](super::summary) what the rows mean. Both
//! backends store the same rows in the same tables ([`schema`](super::schema)).

#[cfg(feature = "postgres")]
mod postgres;
mod sqlite;

use super::location::{Location, masked};
use crate::Error;

/// One `runs` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunRow {
    pub id: i64,
    pub run_key: String,
    pub at_ms: i64,
    pub day: i64,
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub tests: i64,
    pub disrupted: i64,
}

/// One `tests` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TestRow {
    pub id: i64,
    pub name: String,
    pub first_run: i64,
    pub last_run: i64,
    pub green_streak: i64,
    pub first_disrupted_run: Option<i64>,
    pub last_disrupted_run: Option<i64>,
}

/// One test's figures of one day (packed into the day's `daily` row, see
/// [`daily`](super::daily)), or the amounts an add adds to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DailyRow {
    pub day: i64,
    pub test_id: i64,
    pub runs: i64,
    pub failed: i64,
    pub flaky: i64,
}

/// One `disruptions` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DisruptionRow {
    pub run_id: i64,
    pub test_id: i64,
    pub runs: i64,
    pub failed: i64,
    pub flaky: i64,
    pub seed: Option<String>,
    pub message: Option<String>,
}

/// What a write starts from: every test and every run.
#[derive(Debug, Default)]
pub(crate) struct Stored {
    pub tests: Vec<TestRow>,
    pub runs: Vec<RunRow>,
}

/// What a write stores: new runs, new or changed tests (upserted by id), amounts added to
/// the days' counts (in increasing day, then test id), and new disruptions.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    pub runs: Vec<RunRow>,
    pub tests: Vec<TestRow>,
    pub daily: Vec<DailyRow>,
    pub disruptions: Vec<DisruptionRow>,
}

/// What a read gives besides the daily rows: every test, every run, and each test's latest
/// disruption.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    pub tests: Vec<TestRow>,
    pub runs: Vec<RunRow>,
    pub disruptions: Vec<DisruptionRow>,
}

/// A history backend.
pub(crate) trait Store {
    /// Runs `plan` on what is stored and writes the changes it returns, all in one
    /// transaction that no other writer interleaves with.
    fn write(
        &mut self,
        plan: &mut dyn FnMut(Stored) -> Result<Changes, Error>,
    ) -> Result<(), Error>;

    /// Every test and run, each test's latest disruption, and the figures of every test on
    /// `first_day` and later given to `daily`, in one consistent read.
    fn read(&mut self, first_day: i64, daily: &mut dyn FnMut(DailyRow)) -> Result<Snapshot, Error>;
}

/// Opens the backend for `location`, creating the database (an SQLite file) when `create`,
/// and brings its schema up to date.
///
/// # Errors
///
/// [`ErrorKind::Database`](crate::ErrorKind::Database) when it cannot be opened or migrated,
/// [`ErrorKind::SchemaVersion`](crate::ErrorKind::SchemaVersion) when its schema is newer,
/// [`ErrorKind::NoHistory`](crate::ErrorKind::NoHistory) when `create` is false and there is
/// no history there.
pub(crate) fn open(db: &str, location: &Location, create: bool) -> Result<Box<dyn Store>, Error> {
    let shown = masked(db);
    match location {
        Location::Sqlite(path) => Ok(Box::new(sqlite::Sqlite::open(path, shown, create)?)),
        #[cfg(feature = "postgres")]
        Location::Postgres(url) => Ok(Box::new(postgres::Postgres::open(url, shown, create)?)),
        #[cfg(not(feature = "postgres"))]
        Location::Postgres(_) => Err(Error::database_refused(
            &shown,
            "open",
            "this steadfast-flaky was built without its `postgres` feature".into(),
        )),
    }
}

/// Each test's latest disruption: the `disruptions` row of its `last_disrupted_run`.
const LATEST_DISRUPTIONS: &str = "SELECT d.run_id, d.test_id, d.runs, d.failed, d.flaky, d.seed, \
     d.message FROM tests t JOIN disruptions d ON d.run_id = t.last_disrupted_run AND d.test_id = t.id";

/// The `daily` amounts of `changes`, one day at a time.
pub(crate) fn by_day(daily: &[DailyRow]) -> impl Iterator<Item = (i64, &[DailyRow])> {
    daily
        .chunk_by(|a, b| a.day == b.day)
        .map(|rows| (rows[0].day, rows))
}

/// The error of counts that cannot be decoded.
pub(crate) fn corrupt(shown: &str, action: &'static str, day: i64) -> Error {
    Error::database_refused(
        shown,
        action,
        format!(
            "the daily counts of {} are corrupt",
            crate::time::Date::from_days(day)
        ),
    )
}

/// The migrations to apply to a database at `version`, or the error that refuses it.
pub(crate) fn pending_migrations(shown: &str, version: i64) -> Result<std::ops::Range<u32>, Error> {
    let latest = super::schema::SCHEMA_VERSION;
    match u32::try_from(version) {
        Ok(version) if version <= latest => Ok(version..latest),
        _ => Err(Error::schema_version(shown, version, latest)),
    }
}
