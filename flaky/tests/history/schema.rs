//! Schema versions: a fresh database is migrated, a newer one refused, an empty one has no
//! history to show.

use steadfast_flaky::ErrorKind;
use steadfast_flaky::history::{History, Query, SCHEMA_VERSION};

use super::{NOW, Ran, on_each_backend, report, run};

on_each_backend! {
    fn a_new_database_gets_the_current_schema_and_keeps_its_runs(db) {
        History::open(&db.url())
            .unwrap()
            .add(&run("c1", NOW), &report(NOW, &[("app t", Ran::Pass)]))
            .unwrap();

        let mut reopened = History::open_existing(&db.url()).unwrap();

        assert_eq!(
            db.number("SELECT MAX(version) FROM schema_version"),
            i64::from(SCHEMA_VERSION)
        );
        assert_eq!(db.number("SELECT COUNT(*) FROM schema_version"), 1);
        let summary = reopened.summary(&Query::new().now_ms(NOW)).unwrap();
        assert_eq!(summary.runs, 1);
    }

    fn a_database_of_a_newer_schema_is_refused_naming_both_versions(db) {
        History::open(&db.url()).unwrap();
        let newer = i64::from(SCHEMA_VERSION) + 7;
        db.execute(&format!("UPDATE schema_version SET version = {newer}"));

        let err = History::open(&db.url()).unwrap_err();
        let err_existing = History::open_existing(&db.url()).unwrap_err();

        assert_eq!(err.kind(), ErrorKind::SchemaVersion);
        assert_eq!(err.schema_versions(), Some((newer, SCHEMA_VERSION)));
        assert_eq!(
            err.to_string(),
            format!(
                "the history database {} has schema version {newer}, newer than version \
                 {SCHEMA_VERSION}, the newest this steadfast-flaky reads: upgrade \
                 steadfast-flaky to use it",
                err.database().unwrap()
            )
        );
        assert_eq!(err_existing.kind(), ErrorKind::SchemaVersion);
        assert_eq!(db.number("SELECT MAX(version) FROM schema_version"), newer);
    }

    fn a_database_without_history_has_none_to_show(db) {
        let err = History::open_existing(&db.url()).unwrap_err();

        assert_eq!(err.kind(), ErrorKind::NoHistory);
        assert!(err.to_string().ends_with(
            "holds no history yet: record a run with `steadfast-flaky history add` first"
        ));
    }
}

#[test]
fn counts_that_cannot_be_decoded_are_an_error_naming_the_day() {
    let db = super::TestDb::sqlite("corrupt");
    let mut history = History::open(&db.url()).unwrap();
    history
        .add(&run("c1", NOW), &report(NOW, &[("app t", Ran::Pass)]))
        .unwrap();
    db.execute("UPDATE daily SET counts = X'ff'");

    let err = history.summary(&Query::new().now_ms(NOW)).unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Database);
    assert_eq!(
        err.to_string(),
        format!(
            "could not read the history database {}: the daily counts of 2026-01-01 are corrupt",
            db.url()
        )
    );
}
