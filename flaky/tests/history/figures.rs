//! What `summary` says per test: flake rate, turned flaky, quarantine, victory gate, trend.

use steadfast_flaky::history::{History, QuarantineRule, Query};
use steadfast_flaky::report::wilson_interval;

use super::{DAY, NOW, Ran, on_each_backend, report, run};

const HOUR: i64 = 3_600_000;

/// Adds one run of test `app t` per entry of `results`, an hour apart, the last one at `end`.
fn add_runs(history: &mut History, end: i64, results: &[Ran]) {
    for (i, ran) in results.iter().enumerate() {
        let at = end - (results.len() - 1 - i) as i64 * HOUR;
        history
            .add(&run(&format!("c{i}"), at), &report(at, &[("app t", *ran)]))
            .unwrap();
    }
}

on_each_backend! {
    fn the_flake_rate_counts_the_windows_results_with_a_wilson_interval(db) {
        let mut history = History::open(&db.url()).unwrap();
        add_runs(&mut history, NOW - 40 * DAY, &[Ran::Fail; 5]);
        let mut today = vec![Ran::Fail; 3];
        today.extend([Ran::Retry; 2]);
        today.extend([Ran::Pass; 7]);
        add_runs(&mut history, NOW, &today);

        let summary = history.summary(&Query::new().now_ms(NOW)).unwrap();
        let wide = history.summary(&Query::new().now_ms(NOW).since_days(41)).unwrap();

        let test = summary.get("app t").unwrap();
        assert_eq!((test.runs, test.failed_runs, test.flaky_runs), (12, 3, 2));
        let (rate, low, high) = test.flake_rate();
        assert_eq!(rate, 5.0 / 12.0);
        assert_eq!((low, high), wilson_interval(5, 12));
        assert_eq!(summary.runs, 12);
        let test = wide.get("app t").unwrap();
        assert_eq!((test.runs, test.failed_runs, test.flaky_runs), (17, 8, 2));
        assert_eq!(wide.runs, 17);
    }

    fn turned_flaky_names_the_first_disrupted_run_and_its_commit(db) {
        let mut history = History::open(&db.url()).unwrap();

        add_runs(&mut history, NOW, &[Ran::Pass, Ran::Pass, Ran::Retry, Ran::Fail, Ran::Pass]);
        let summary = history.summary(&Query::new().now_ms(NOW)).unwrap();

        let test = summary.get("app t").unwrap();
        let turned = test.turned_flaky.as_ref().unwrap();
        assert_eq!((turned.run, turned.commit.as_deref()), (3, Some("c2")));
        assert_eq!(turned.branch.as_deref(), Some("main"));
        assert_eq!(turned.at_ms, NOW - 2 * HOUR);
        let last = test.last_disruption.as_ref().unwrap();
        assert_eq!((last.run.run, last.run.commit.as_deref()), (4, Some("c3")));
        assert_eq!(last.message.as_deref(), Some("app t timed out"));
        assert_eq!(last.seed, Some(format!("0x{:016x}", (NOW - HOUR) % 997)));
        assert_eq!(test.green_streak, 1);
    }

    fn the_quarantine_rule_needs_enough_results_and_more_than_the_share(db) {
        let mut history = History::open(&db.url()).unwrap();
        // Over 10 runs: `a` is disrupted 4 times (40 %), `b` 3 times (30 %); `c` in 9 runs,
        // disrupted in every one. The last run is a failure for all, so none is green.
        for i in 0..10_i64 {
            let at = NOW - (9 - i) * HOUR;
            let disrupted = |times: i64| if i >= 10 - times { Ran::Retry } else { Ran::Pass };
            let mut results = vec![("app a", disrupted(4)), ("app b", disrupted(3))];
            if i > 0 {
                results.push(("app c", Ran::Fail));
            }
            history.add(&run(&format!("c{i}"), at), &report(at, &results)).unwrap();
        }

        let default = history.summary(&Query::new().now_ms(NOW)).unwrap();
        let loose = history
            .summary(&Query::new().now_ms(NOW).rule(QuarantineRule { min_results: 9, max_disrupted: 0.25 }))
            .unwrap();

        let quarantined = |summary: &steadfast_flaky::history::Summary| -> Vec<String> {
            summary.quarantine().map(|test| test.test.clone()).collect()
        };
        assert_eq!(quarantined(&default), ["app a"]);
        assert_eq!(quarantined(&loose), ["app a", "app b", "app c"]);
    }

    fn a_test_green_n_runs_in_a_row_passes_the_victory_gate_and_leaves_quarantine(db) {
        let mut history = History::open(&db.url()).unwrap();
        // 5 of 13 results disrupted (38 %), then 3 clean runs in a row.
        let mut results = vec![Ran::Pass; 5];
        results.extend([Ran::Retry, Ran::Fail, Ran::Retry, Ran::Fail, Ran::Retry]);
        results.extend([Ran::Pass; 3]);
        add_runs(&mut history, NOW, &results);

        let gate_3 = history.summary(&Query::new().now_ms(NOW)).unwrap();
        let gate_4 = history.summary(&Query::new().now_ms(NOW).green_streak(4)).unwrap();

        let test = gate_3.get("app t").unwrap();
        assert_eq!(test.green_streak, 3);
        assert!(test.green && !test.quarantine);
        assert_eq!(gate_3.green().count(), 1);
        let test = gate_4.get("app t").unwrap();
        assert!(!test.green && test.quarantine);
    }

    fn skipped_tests_have_no_results_and_keep_their_streak(db) {
        let mut history = History::open(&db.url()).unwrap();

        add_runs(&mut history, NOW, &[Ran::Pass, Ran::Skip, Ran::Pass]);
        history.add(&run("only-skips", NOW), &report(NOW, &[("app skipped", Ran::Skip)])).unwrap();
        let summary = history.summary(&Query::new().now_ms(NOW)).unwrap();

        let test = summary.get("app t").unwrap();
        assert_eq!((test.runs, test.green_streak), (2, 2));
        assert!(summary.get("app skipped").is_none());
    }

    fn the_trend_has_a_point_per_day_and_the_window_whole_days(db) {
        let mut history = History::open(&db.url()).unwrap();
        let today = NOW.div_euclid(DAY) * DAY;
        // Two days ago: one run; yesterday's last millisecond: one run; today's first: one.
        for (commit, at, ran) in [
            ("a", today - 2 * DAY, Ran::Retry),
            ("b", today - 1, Ran::Fail),
            ("c", today, Ran::Pass),
        ] {
            let results = [("app t", ran), ("app u", Ran::Pass)];
            history.add(&run(commit, at), &report(at, &results)).unwrap();
        }

        let three_days = history.summary(&Query::new().now_ms(NOW).since_days(3)).unwrap();
        let one_day = history.summary(&Query::new().now_ms(NOW).since_days(1)).unwrap();

        let points: Vec<(String, u64, u64, u64, u64)> = three_days
            .trend
            .iter()
            .map(|p| (p.day.to_string(), p.runs, p.results, p.disrupted_results, p.disrupted_tests))
            .collect();
        assert_eq!(
            points,
            [
                ("2025-12-30".to_owned(), 1, 2, 1, 1),
                ("2025-12-31".to_owned(), 1, 2, 1, 1),
                ("2026-01-01".to_owned(), 1, 2, 0, 0),
            ]
        );
        assert_eq!(one_day.runs, 1);
        assert_eq!(one_day.get("app t").unwrap().runs, 1);
        assert_eq!(one_day.first_day.to_string(), "2026-01-01");
        assert_eq!(one_day.disrupted().count(), 0);
    }
}
