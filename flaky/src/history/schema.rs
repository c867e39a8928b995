//! The history schema and its migrations, one list for both backends.
//!
//! Version `n` of the schema is what the first `n` migrations make; `schema_version` holds the
//! version a database has. Opening a database applies the missing migrations in order, each in
//! its own transaction with its version; a database of a newer version than
//! [`SCHEMA_VERSION`] is refused. Migrations are only ever appended.
//!
//! The SQL is written once; the spellings that differ are tokens: `{id}` is the integer
//! primary key (SQLite's rowid alias, PostgreSQL's `BIGINT`), `{blob}` a byte string (`BLOB`,
//! `BYTEA`), and `{without_rowid}` clusters a table on its primary key in SQLite and is nothing
//! in PostgreSQL.

/// The schema version this steadfast-flaky writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// The SQL dialects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Postgres,
}

/// Creates the version table; run before anything else, in every dialect.
pub(crate) const VERSION_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)";

/// The migrations: `MIGRATIONS[i]` takes a database from version `i` to `i + 1`.
const MIGRATIONS: [&[&str]; SCHEMA_VERSION as usize] = [&[
    // One row per added report, numbered in the order they were added.
    "CREATE TABLE runs (
        id {id},
        run_key TEXT NOT NULL UNIQUE,
        at_ms BIGINT NOT NULL,
        day BIGINT NOT NULL,
        commit_sha TEXT,
        branch TEXT,
        tests BIGINT NOT NULL,
        disrupted BIGINT NOT NULL
    )",
    "CREATE INDEX runs_by_day ON runs (day)",
    // One row per test, its state kept up to date by every add.
    "CREATE TABLE tests (
        id {id},
        name TEXT NOT NULL UNIQUE,
        first_run BIGINT NOT NULL,
        last_run BIGINT NOT NULL,
        green_streak BIGINT NOT NULL,
        first_disrupted_run BIGINT,
        last_disrupted_run BIGINT
    )",
    // Per UTC day: every test's results, failed runs and passes on retry that day, packed
    // (`daily.rs` says how).
    "CREATE TABLE daily (
        day BIGINT PRIMARY KEY,
        counts {blob} NOT NULL
    )",
    // One row per test and run that was not a clean pass.
    "CREATE TABLE disruptions (
        run_id BIGINT NOT NULL,
        test_id BIGINT NOT NULL,
        runs BIGINT NOT NULL,
        failed BIGINT NOT NULL,
        flaky BIGINT NOT NULL,
        seed TEXT,
        message TEXT,
        PRIMARY KEY (run_id, test_id)
    ){without_rowid}",
]];

/// The statements of the migration from version `from` to `from + 1`, in `dialect`.
pub(crate) fn migration(from: u32, dialect: Dialect) -> Vec<String> {
    let (id, blob, without_rowid) = match dialect {
        Dialect::Sqlite => ("INTEGER PRIMARY KEY", "BLOB", " WITHOUT ROWID"),
        Dialect::Postgres => ("BIGINT PRIMARY KEY", "BYTEA", ""),
    };
    MIGRATIONS[from as usize]
        .iter()
        .map(|sql| {
            sql.replace("{id}", id)
                .replace("{blob}", blob)
                .replace("{without_rowid}", without_rowid)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_token_is_replaced_in_both_dialects() {
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            for from in 0..SCHEMA_VERSION {
                for sql in migration(from, dialect) {
                    assert!(!sql.contains('{'), "{dialect:?}: {sql}");
                }
            }
        }
    }
}
