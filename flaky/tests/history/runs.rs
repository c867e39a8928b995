//! Runs and run ids: a run counted once, explicit ids, and many runs added at once.

use steadfast_flaky::history::{History, Query, RunInfo, content_run_id};

use super::{NOW, Ran, TestDb, on_each_backend, report, run, scenario};

on_each_backend! {
    fn a_report_added_twice_is_counted_once(db) {
        let mut history = History::open(&db.url()).unwrap();
        let first = report(NOW, &[("app t", Ran::Retry), ("app u", Ran::Pass)]);

        let added = history.add(&run("c1", NOW), &first).unwrap();
        let again = history.add(&run("c2", NOW), &first).unwrap();
        let in_a_batch = history
            .add_all([(RunInfo::new(), first.clone()), (RunInfo::new(), first.clone())])
            .unwrap();
        let summary = history.summary(&Query::new().now_ms(NOW)).unwrap();

        assert!(added.is_new);
        assert_eq!(added.run_id, content_run_id(&first));
        assert_eq!((added.tests, added.disrupted), (2, 1));
        assert!(!again.is_new);
        assert_eq!((again.run, &again.run_id), (added.run, &added.run_id));
        assert!(in_a_batch.iter().all(|added| !added.is_new && added.run == 1));
        assert_eq!(summary.runs, 1);
        let test = summary.get("app t").unwrap();
        assert_eq!((test.runs, test.flaky_runs), (1, 1));
        assert_eq!(test.turned_flaky.as_ref().unwrap().commit.as_deref(), Some("c1"));
        assert_eq!(db.number("SELECT COUNT(*) FROM disruptions"), 1);
    }

    fn an_explicit_run_id_tells_identical_reports_apart(db) {
        let mut history = History::open(&db.url()).unwrap();
        let same = report(NOW, &[("app t", Ran::Pass)]);

        let one = history.add(&RunInfo::new().run_id("1001.1"), &same).unwrap();
        let two = history.add(&RunInfo::new().run_id("1001.2"), &same).unwrap();
        let one_again = history.add(&RunInfo::new().run_id("1001.1"), &same).unwrap();
        let summary = history.summary(&Query::new().now_ms(NOW)).unwrap();

        assert_eq!((one.run, one.is_new, one.run_id.as_str()), (1, true, "1001.1"));
        assert_eq!((two.run, two.is_new), (2, true));
        assert_eq!((one_again.run, one_again.is_new), (1, false));
        assert_eq!(summary.get("app t").unwrap().runs, 2);
        assert_eq!(summary.get("app t").unwrap().green_streak, 2);
    }

    fn runners_adding_at_once_each_get_their_own_run_numbers(db) {
        let url = db.url();
        let runners: Vec<_> = (0..4_i64)
            .map(|runner| {
                let url = url.clone();
                std::thread::spawn(move || {
                    let mut history = History::open(&url).unwrap();
                    (0..5_i64)
                        .map(|i| {
                            let at = NOW - (runner * 5 + i) * 60_000;
                            let ran = if i == 0 { Ran::Retry } else { Ran::Pass };
                            history.add(&run(&format!("r{runner}"), at), &report(at, &[("app t", ran)])).unwrap().run
                        })
                        .collect::<Vec<i64>>()
                })
            })
            .collect();

        let mut numbers: Vec<i64> = runners.into_iter().flat_map(|runner| runner.join().unwrap()).collect();
        numbers.sort_unstable();
        let summary = History::open(&url).unwrap().summary(&Query::new().now_ms(NOW)).unwrap();

        assert_eq!(numbers, (1..=20).collect::<Vec<i64>>());
        let test = summary.get("app t").unwrap();
        assert_eq!((summary.runs, test.runs, test.flaky_runs), (20, 20, 4));
    }

    fn many_runs_added_at_once_give_the_figures_of_one_add_each(db) {
        let one_by_one = TestDb::sqlite("one_by_one");
        let mut reference = History::open(&one_by_one.url()).unwrap();
        for (info, report) in scenario() {
            reference.add(&info, &report).unwrap();
        }
        let mut history = History::open(&db.url()).unwrap();
        let mut first = scenario();
        let rest = first.split_off(7);

        let mut added = history.add_all(first).unwrap();
        added.extend(history.add_all(rest).unwrap());

        assert_eq!(added.len(), scenario().len());
        assert!(added.iter().enumerate().all(|(i, added)| added.is_new && added.run == i as i64 + 1));
        for days in [1, 6, 28, 60] {
            let query = Query::new().now_ms(NOW).since_days(days);
            assert_eq!(history.summary(&query).unwrap(), reference.summary(&query).unwrap(), "{days} days");
        }
    }
}

#[test]
fn the_run_id_of_merged_shards_does_not_depend_on_their_order() {
    let a = report(NOW, &[("app a", Ran::Retry)]);
    let b = report(NOW + 1, &[("app b", Ran::Pass)]);
    let mut ab = a.clone();
    ab.merge(b.clone());
    let mut ba = b;
    ba.merge(a.clone());

    assert_eq!(content_run_id(&ab), content_run_id(&ba));
    assert_ne!(content_run_id(&ab), content_run_id(&a));
}
