//! The SQLite backend: one file, in WAL mode, written one transaction at a time.

use std::path::Path;
use std::time::Duration;

use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};

use super::LATEST_DISRUPTIONS;
use super::{Changes, DailyRow, DisruptionRow, RunRow, Snapshot, Store, Stored, TestRow};
use crate::Error;
use crate::history::daily;
use crate::history::schema::{Dialect, VERSION_TABLE, migration};

/// How long a writer waits for another one (a CI job on the same file) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) struct Sqlite {
    conn: Connection,
    /// The database as messages name it.
    shown: String,
}

impl Sqlite {
    pub(crate) fn open(path: &Path, shown: String, create: bool) -> Result<Self, Error> {
        if !create && !path.exists() {
            return Err(Error::no_history(&shown));
        }
        let mut flags = OpenFlags::default();
        if !create {
            flags.remove(OpenFlags::SQLITE_OPEN_CREATE);
        }
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|err| Error::database_failed(&shown, "open", err))?;
        let mut store = Self { conn, shown };
        store.configure()?;
        store.migrate(create)?;
        Ok(store)
    }

    fn configure(&mut self) -> Result<(), Error> {
        let shown = &self.shown;
        let fail = |err| Error::database_failed(shown, "open", err);
        self.conn.busy_timeout(BUSY_TIMEOUT).map_err(fail)?;
        // WAL: readers never wait for the writer; NORMAL is durable across process crashes
        // (a power loss may lose the last add, never corrupt the file). The page cache holds
        // the daily rows of a few weeks of a large suite.
        self.conn
            .query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .map_err(fail)?;
        self.conn
            .execute_batch("PRAGMA synchronous = NORMAL; PRAGMA cache_size = -131072;")
            .map_err(fail)
    }

    fn migrate(&mut self, create: bool) -> Result<(), Error> {
        let version = version_in(&self.conn)
            .map_err(|err| Error::database_failed(&self.shown, "read", err))?;
        if version == 0 && !create {
            return Err(Error::no_history(&self.shown));
        }
        let pending = super::pending_migrations(&self.shown, version)?;
        let shown = self.shown.clone();
        let fail = |err| Error::database_failed(&shown, "migrate", err);
        for from in pending {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(fail)?;
            tx.execute_batch(VERSION_TABLE).map_err(fail)?;
            // Another process may have migrated since the version was read.
            if version_in(&tx).map_err(fail)? > i64::from(from) {
                continue;
            }
            for sql in migration(from, Dialect::Sqlite) {
                tx.execute_batch(&sql).map_err(fail)?;
            }
            tx.execute_batch("DELETE FROM schema_version")
                .map_err(fail)?;
            tx.execute(
                "INSERT INTO schema_version (version) VALUES (?1)",
                [i64::from(from) + 1],
            )
            .map_err(fail)?;
            tx.commit().map_err(fail)?;
        }
        Ok(())
    }
}

/// The version in `schema_version`, 0 without the table.
fn version_in(conn: &Connection) -> rusqlite::Result<i64> {
    let table: Option<String> = conn
        .query_row(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    if table.is_none() {
        return Ok(0);
    }
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |row| row.get(0),
    )
}

impl Store for Sqlite {
    fn write(
        &mut self,
        plan: &mut dyn FnMut(Stored) -> Result<Changes, Error>,
    ) -> Result<(), Error> {
        let shown = self.shown.clone();
        let fail = |err| Error::database_failed(&shown, "write", err);
        // IMMEDIATE takes the write lock first, so what `plan` reads stays true until commit.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let stored = Stored {
            tests: read_tests(&tx).map_err(fail)?,
            runs: read_runs(&tx).map_err(fail)?,
        };
        let changes = plan(stored)?;
        apply(&tx, &changes).map_err(fail)?;
        add_daily(&tx, &changes.daily, &shown)?;
        tx.commit().map_err(fail)
    }

    fn read(&mut self, first_day: i64, daily: &mut dyn FnMut(DailyRow)) -> Result<Snapshot, Error> {
        let shown = self.shown.clone();
        let fail = |err| Error::database_failed(&shown, "read", err);
        let tx = self.conn.transaction().map_err(fail)?;
        let snapshot = Snapshot {
            tests: read_tests(&tx).map_err(fail)?,
            runs: read_runs(&tx).map_err(fail)?,
            disruptions: read_disruptions(&tx).map_err(fail)?,
        };
        let mut statement = tx
            .prepare("SELECT day, counts FROM daily WHERE day >= ?1")
            .map_err(fail)?;
        let mut rows = statement.query([first_day]).map_err(fail)?;
        while let Some(row) = rows.next().map_err(fail)? {
            let day: i64 = row.get(0).map_err(fail)?;
            let counts = row
                .get_ref(1)
                .and_then(|value| Ok(value.as_blob()?))
                .map_err(fail)?;
            daily::decode(day, counts, daily).map_err(|_| super::corrupt(&shown, "read", day))?;
        }
        Ok(snapshot)
    }
}

fn read_tests(tx: &Transaction<'_>) -> rusqlite::Result<Vec<TestRow>> {
    let mut statement = tx.prepare(
        "SELECT id, name, first_run, last_run, green_streak, first_disrupted_run, \
         last_disrupted_run FROM tests",
    )?;
    let rows = statement.query_map([], |row| {
        Ok(TestRow {
            id: row.get(0)?,
            name: row.get(1)?,
            first_run: row.get(2)?,
            last_run: row.get(3)?,
            green_streak: row.get(4)?,
            first_disrupted_run: row.get(5)?,
            last_disrupted_run: row.get(6)?,
        })
    })?;
    rows.collect()
}

fn read_runs(tx: &Transaction<'_>) -> rusqlite::Result<Vec<RunRow>> {
    let mut statement = tx.prepare(
        "SELECT id, run_key, at_ms, day, commit_sha, branch, tests, disrupted \
         FROM runs ORDER BY id",
    )?;
    let rows = statement.query_map([], |row| {
        Ok(RunRow {
            id: row.get(0)?,
            run_key: row.get(1)?,
            at_ms: row.get(2)?,
            day: row.get(3)?,
            commit: row.get(4)?,
            branch: row.get(5)?,
            tests: row.get(6)?,
            disrupted: row.get(7)?,
        })
    })?;
    rows.collect()
}

fn read_disruptions(tx: &Transaction<'_>) -> rusqlite::Result<Vec<DisruptionRow>> {
    let mut statement = tx.prepare(LATEST_DISRUPTIONS)?;
    let rows = statement.query_map([], |row| {
        Ok(DisruptionRow {
            run_id: row.get(0)?,
            test_id: row.get(1)?,
            runs: row.get(2)?,
            failed: row.get(3)?,
            flaky: row.get(4)?,
            seed: row.get(5)?,
            message: row.get(6)?,
        })
    })?;
    rows.collect()
}

/// Adds `daily` (in increasing day and test id) to the counts of their days.
fn add_daily(tx: &Transaction<'_>, daily: &[DailyRow], shown: &str) -> Result<(), Error> {
    let fail = |err| Error::database_failed(shown, "write", err);
    let mut select = tx
        .prepare("SELECT counts FROM daily WHERE day = ?1")
        .map_err(fail)?;
    let mut upsert = tx
        .prepare(
            "INSERT INTO daily (day, counts) VALUES (?1, ?2) \
             ON CONFLICT (day) DO UPDATE SET counts = excluded.counts",
        )
        .map_err(fail)?;
    for (day, rows) in super::by_day(daily) {
        let stored: Option<Vec<u8>> = select
            .query_row([day], |row| row.get(0))
            .optional()
            .map_err(fail)?;
        let counts = daily::merge(day, stored.as_deref(), rows)
            .map_err(|_| super::corrupt(shown, "write", day))?;
        upsert.execute(params![day, counts]).map_err(fail)?;
    }
    Ok(())
}

fn apply(tx: &Transaction<'_>, changes: &Changes) -> rusqlite::Result<()> {
    let mut insert_run = tx.prepare(
        "INSERT INTO runs (id, run_key, at_ms, day, commit_sha, branch, tests, disrupted) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for run in &changes.runs {
        insert_run.execute(params![
            run.id,
            run.run_key,
            run.at_ms,
            run.day,
            run.commit,
            run.branch,
            run.tests,
            run.disrupted
        ])?;
    }
    let mut upsert_test = tx.prepare(
        "INSERT INTO tests (id, name, first_run, last_run, green_streak, first_disrupted_run, \
         last_disrupted_run) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
         ON CONFLICT (id) DO UPDATE SET last_run = excluded.last_run, \
         green_streak = excluded.green_streak, \
         first_disrupted_run = excluded.first_disrupted_run, \
         last_disrupted_run = excluded.last_disrupted_run",
    )?;
    for test in &changes.tests {
        upsert_test.execute(params![
            test.id,
            test.name,
            test.first_run,
            test.last_run,
            test.green_streak,
            test.first_disrupted_run,
            test.last_disrupted_run
        ])?;
    }
    let mut insert_disruption = tx.prepare(
        "INSERT INTO disruptions (run_id, test_id, runs, failed, flaky, seed, message) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for row in &changes.disruptions {
        insert_disruption.execute(params![
            row.run_id,
            row.test_id,
            row.runs,
            row.failed,
            row.flaky,
            row.seed,
            row.message
        ])?;
    }
    Ok(())
}
