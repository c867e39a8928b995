//! SQLite and PostgreSQL give the same figures for the same reports.

#[cfg(feature = "postgres")]
#[test]
fn both_backends_give_the_same_figures_for_the_same_reports() {
    use steadfast_flaky::history::{History, QuarantineRule, Query, to_json};

    use super::{NOW, TestDb, scenario};

    let (sqlite, postgres) = (
        TestDb::sqlite("same_figures"),
        TestDb::postgres("same_figures"),
    );
    let mut histories = [sqlite.url(), postgres.url()].map(|url| History::open(&url).unwrap());
    for history in &mut histories {
        // Part one by one, part in one batch, and one report twice.
        let mut runs = scenario();
        let batch = runs.split_off(12);
        for (info, report) in &runs {
            history.add(info, report).unwrap();
        }
        history.add_all(batch).unwrap();
        let (info, report) = &runs[3];
        assert!(!history.add(info, report).unwrap().is_new);
    }

    for query in [
        Query::new().now_ms(NOW),
        Query::new().now_ms(NOW).since_days(60).green_streak(5),
        Query::new().now_ms(NOW).since_days(2).rule(QuarantineRule {
            min_results: 3,
            max_disrupted: 0.1,
        }),
    ] {
        let [on_sqlite, on_postgres] = histories
            .each_mut()
            .map(|history| history.summary(&query).unwrap());
        assert!(
            on_sqlite.disrupted().count() >= 2 && on_sqlite.trend.len() >= 2,
            "the scenario exercises little: {on_sqlite:?}"
        );
        assert_eq!(on_sqlite, on_postgres, "{query:?}");
        assert_eq!(to_json(&on_sqlite), to_json(&on_postgres));
    }
}
