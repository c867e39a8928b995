//! The PostgreSQL backend: the same tables, in the schema the connection's `search_path`
//! names; the tests' rows written with `COPY` and one set-based upsert.

use std::io::Write as _;

use postgres::fallible_iterator::FallibleIterator as _;
use postgres::types::ToSql;
use postgres::{Client, GenericClient, IsolationLevel, NoTls, Row, Transaction};

use super::LATEST_DISRUPTIONS;
use super::{Changes, DailyRow, DisruptionRow, RunRow, Snapshot, Store, Stored, TestRow};
use crate::Error;
use crate::history::daily;
use crate::history::schema::{Dialect, VERSION_TABLE, migration};

/// Serialises migrations of one schema across connections (`CREATE TABLE IF NOT EXISTS`
/// races otherwise); the key is the schema's name, so other schemas are not held up.
const MIGRATION_LOCK: &str =
    "SELECT pg_advisory_xact_lock(hashtext('steadfast-flaky history ' || current_schema()))";

pub(crate) struct Postgres {
    client: Client,
    /// The database as messages name it.
    shown: String,
}

impl Postgres {
    pub(crate) fn open(url: &str, shown: String, create: bool) -> Result<Self, Error> {
        let client = Client::connect(url, NoTls)
            .map_err(|err| Error::database_failed(&shown, "open", err))?;
        let mut store = Self { client, shown };
        store.migrate(create)?;
        Ok(store)
    }

    fn migrate(&mut self, create: bool) -> Result<(), Error> {
        let shown = self.shown.clone();
        let fail = |err| Error::database_failed(&shown, "migrate", err);
        let version = version_in(&mut self.client).map_err(fail)?;
        if version == 0 && !create {
            return Err(Error::no_history(&shown));
        }
        for from in super::pending_migrations(&shown, version)? {
            let mut tx = self.client.transaction().map_err(fail)?;
            tx.batch_execute(MIGRATION_LOCK).map_err(fail)?;
            tx.batch_execute(VERSION_TABLE).map_err(fail)?;
            // Another connection may have migrated since the version was read.
            if version_in(&mut tx).map_err(fail)? > i64::from(from) {
                continue;
            }
            for sql in migration(from, Dialect::Postgres) {
                tx.batch_execute(&sql).map_err(fail)?;
            }
            tx.batch_execute("DELETE FROM schema_version")
                .map_err(fail)?;
            tx.execute(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[&(i64::from(from) + 1)],
            )
            .map_err(fail)?;
            tx.commit().map_err(fail)?;
        }
        Ok(())
    }
}

/// The version in `schema_version` of the `search_path` schema, 0 without the table.
fn version_in(client: &mut impl GenericClient) -> Result<i64, postgres::Error> {
    let exists: bool = client
        .query_one("SELECT to_regclass('schema_version') IS NOT NULL", &[])?
        .try_get(0)?;
    if !exists {
        return Ok(0);
    }
    client
        .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])?
        .try_get(0)
}

/// Why a write failed: the server, or writing a `COPY` stream to it.
#[derive(Debug)]
enum WriteError {
    Postgres(postgres::Error),
    Copy(std::io::Error),
}

impl From<postgres::Error> for WriteError {
    fn from(err: postgres::Error) -> Self {
        WriteError::Postgres(err)
    }
}

impl From<std::io::Error> for WriteError {
    fn from(err: std::io::Error) -> Self {
        WriteError::Copy(err)
    }
}

impl Store for Postgres {
    fn write(
        &mut self,
        plan: &mut dyn FnMut(Stored) -> Result<Changes, Error>,
    ) -> Result<(), Error> {
        let shown = self.shown.clone();
        let fail = |err: WriteError| match err {
            WriteError::Postgres(err) => Error::database_failed(&shown, "write", err),
            WriteError::Copy(err) => Error::database_failed(&shown, "write", err),
        };
        let mut tx = self.client.transaction().map_err(|err| fail(err.into()))?;
        // Other writers wait; readers go on seeing the last commit.
        tx.batch_execute("LOCK TABLE runs IN EXCLUSIVE MODE")
            .map_err(|err| fail(err.into()))?;
        let stored = Stored {
            tests: read_tests(&mut tx).map_err(|err| fail(err.into()))?,
            runs: read_runs(&mut tx).map_err(|err| fail(err.into()))?,
        };
        let changes = plan(stored)?;
        apply(&mut tx, &changes).map_err(fail)?;
        add_daily(&mut tx, &changes.daily, &shown)?;
        tx.commit().map_err(|err| fail(err.into()))
    }

    fn read(&mut self, first_day: i64, daily: &mut dyn FnMut(DailyRow)) -> Result<Snapshot, Error> {
        let shown = self.shown.clone();
        let fail = |err| Error::database_failed(&shown, "read", err);
        // One snapshot for every query, as SQLite's read transaction gives.
        let mut tx = self
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(fail)?;
        let snapshot = Snapshot {
            tests: read_tests(&mut tx).map_err(fail)?,
            runs: read_runs(&mut tx).map_err(fail)?,
            disruptions: read_disruptions(&mut tx).map_err(fail)?,
        };
        let params: [&(dyn ToSql + Sync); 1] = [&first_day];
        let mut rows = tx
            .query_raw("SELECT day, counts FROM daily WHERE day >= $1", params)
            .map_err(fail)?;
        while let Some(row) = rows.next().map_err(fail)? {
            let day: i64 = row.try_get(0).map_err(fail)?;
            let counts: &[u8] = row.try_get(1).map_err(fail)?;
            daily::decode(day, counts, daily).map_err(|_| super::corrupt(&shown, "read", day))?;
        }
        drop(rows);
        tx.commit().map_err(fail)?;
        Ok(snapshot)
    }
}

fn read_tests(tx: &mut Transaction<'_>) -> Result<Vec<TestRow>, postgres::Error> {
    let rows = tx.query(
        "SELECT id, name, first_run, last_run, green_streak, first_disrupted_run, \
         last_disrupted_run FROM tests",
        &[],
    )?;
    rows.iter()
        .map(|row| {
            Ok(TestRow {
                id: row.try_get(0)?,
                name: row.try_get(1)?,
                first_run: row.try_get(2)?,
                last_run: row.try_get(3)?,
                green_streak: row.try_get(4)?,
                first_disrupted_run: row.try_get(5)?,
                last_disrupted_run: row.try_get(6)?,
            })
        })
        .collect()
}

fn read_runs(tx: &mut Transaction<'_>) -> Result<Vec<RunRow>, postgres::Error> {
    let rows = tx.query(
        "SELECT id, run_key, at_ms, day, commit_sha, branch, tests, disrupted \
         FROM runs ORDER BY id",
        &[],
    )?;
    rows.iter().map(run_row).collect()
}

fn run_row(row: &Row) -> Result<RunRow, postgres::Error> {
    Ok(RunRow {
        id: row.try_get(0)?,
        run_key: row.try_get(1)?,
        at_ms: row.try_get(2)?,
        day: row.try_get(3)?,
        commit: row.try_get(4)?,
        branch: row.try_get(5)?,
        tests: row.try_get(6)?,
        disrupted: row.try_get(7)?,
    })
}

fn read_disruptions(tx: &mut Transaction<'_>) -> Result<Vec<DisruptionRow>, postgres::Error> {
    let rows = tx.query(LATEST_DISRUPTIONS, &[])?;
    rows.iter()
        .map(|row| {
            Ok(DisruptionRow {
                run_id: row.try_get(0)?,
                test_id: row.try_get(1)?,
                runs: row.try_get(2)?,
                failed: row.try_get(3)?,
                flaky: row.try_get(4)?,
                seed: row.try_get(5)?,
                message: row.try_get(6)?,
            })
        })
        .collect()
}

fn apply(tx: &mut Transaction<'_>, changes: &Changes) -> Result<(), WriteError> {
    for run in &changes.runs {
        tx.execute(
            "INSERT INTO runs (id, run_key, at_ms, day, commit_sha, branch, tests, disrupted) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &run.id,
                &run.run_key,
                &run.at_ms,
                &run.day,
                &run.commit,
                &run.branch,
                &run.tests,
                &run.disrupted,
            ],
        )?;
    }
    tx.batch_execute("CREATE TEMP TABLE stage_tests (LIKE tests) ON COMMIT DROP")?;
    let mut text = String::new();
    for test in &changes.tests {
        copy_row(
            &mut text,
            &[
                Some(&test.id.to_string()),
                Some(&test.name),
                Some(&test.first_run.to_string()),
                Some(&test.last_run.to_string()),
                Some(&test.green_streak.to_string()),
                test.first_disrupted_run
                    .map(|run| run.to_string())
                    .as_deref(),
                test.last_disrupted_run
                    .map(|run| run.to_string())
                    .as_deref(),
            ],
        );
    }
    copy_in(
        tx,
        "COPY stage_tests (id, name, first_run, last_run, green_streak, first_disrupted_run, \
         last_disrupted_run) FROM STDIN",
        &text,
    )?;
    tx.batch_execute(
        "INSERT INTO tests SELECT * FROM stage_tests ON CONFLICT (id) DO UPDATE SET \
         last_run = EXCLUDED.last_run, green_streak = EXCLUDED.green_streak, \
         first_disrupted_run = EXCLUDED.first_disrupted_run, \
         last_disrupted_run = EXCLUDED.last_disrupted_run",
    )?;
    text.clear();
    for row in &changes.disruptions {
        let numbers =
            [row.run_id, row.test_id, row.runs, row.failed, row.flaky].map(|n| n.to_string());
        let [run_id, test_id, runs, failed, flaky] = numbers.each_ref().map(|n| Some(n.as_str()));
        copy_row(
            &mut text,
            &[
                run_id,
                test_id,
                runs,
                failed,
                flaky,
                row.seed.as_deref(),
                row.message.as_deref(),
            ],
        );
    }
    copy_in(
        tx,
        "COPY disruptions (run_id, test_id, runs, failed, flaky, seed, message) FROM STDIN",
        &text,
    )
}

/// Adds `daily` (in increasing day and test id) to the counts of their days.
fn add_daily(tx: &mut Transaction<'_>, daily: &[DailyRow], shown: &str) -> Result<(), Error> {
    let fail = |err| Error::database_failed(shown, "write", err);
    for (day, rows) in super::by_day(daily) {
        let stored: Option<Vec<u8>> = tx
            .query_opt("SELECT counts FROM daily WHERE day = $1", &[&day])
            .map_err(fail)?
            .map(|row| row.try_get(0))
            .transpose()
            .map_err(fail)?;
        let counts = daily::merge(day, stored.as_deref(), rows)
            .map_err(|_| super::corrupt(shown, "write", day))?;
        tx.execute(
            "INSERT INTO daily (day, counts) VALUES ($1, $2) \
             ON CONFLICT (day) DO UPDATE SET counts = EXCLUDED.counts",
            &[&day, &counts],
        )
        .map_err(fail)?;
    }
    Ok(())
}

fn copy_in(tx: &mut Transaction<'_>, sql: &str, text: &str) -> Result<(), WriteError> {
    let mut writer = tx.copy_in(sql)?;
    writer.write_all(text.as_bytes())?;
    writer.finish()?;
    Ok(())
}

/// One row of `COPY`'s text format: tab-separated, `\N` for NULL, and backslash, tab,
/// newline and carriage return escaped.
fn copy_row(out: &mut String, fields: &[Option<&str>]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        match field {
            None => out.push_str("\\N"),
            Some(text) => {
                for ch in text.chars() {
                    match ch {
                        '\\' => out.push_str("\\\\"),
                        '\t' => out.push_str("\\t"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        _ => out.push(ch),
                    }
                }
            }
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_rows_escape_what_the_text_format_reserves() {
        let mut out = String::new();
        copy_row(&mut out, &[Some("a\tb\\c\nd\re"), None, Some("")]);
        assert_eq!(out, "a\\tb\\\\c\\nd\\re\t\\N\t\n");
    }
}
