//! `Report::merge` is associative and order-independent, so CI shards and runs can be merged
//! in any grouping and order.

use proptest::prelude::*;
use steadfast_flaky::{Failure, Observation, Outcome, Report};

fn failure() -> impl Strategy<Value = Failure> {
    (
        proptest::option::of(0i64..5),
        proptest::option::of(prop::sample::select(vec!["0x01", "0x02", "0x03"])),
        proptest::option::of(prop::sample::select(vec!["boom", "bang"])),
        proptest::option::of(prop::sample::select(vec!["replay a", "replay b"])),
    )
        .prop_map(|(at_ms, seed, message, replay)| Failure {
            at_ms,
            seed: seed.map(str::to_owned),
            message: message.map(str::to_owned),
            replay: replay.map(str::to_owned),
        })
}

fn observation() -> impl Strategy<Value = Observation> {
    (
        prop::sample::select(vec!["a x", "a y", "b x", "b z"]),
        prop::sample::select(vec![Outcome::Passed, Outcome::Failed, Outcome::Skipped]),
        proptest::option::of(0i64..1_000),
        prop::collection::vec(failure(), 0..3),
        any::<bool>(),
    )
        .prop_map(
            |(test, outcome, at_ms, failures, same_seed_retry)| Observation {
                test: test.to_owned(),
                outcome,
                at_ms,
                failures,
                same_seed_retry,
            },
        )
}

fn report_of(observations: &[Observation]) -> Report {
    let mut report = Report::new();
    for observation in observations {
        report.observe(observation.clone());
    }
    report
}

fn report() -> impl Strategy<Value = Report> {
    prop::collection::vec(observation(), 0..8).prop_map(|list| report_of(&list))
}

fn merged(mut a: Report, b: Report) -> Report {
    a.merge(b);
    a
}

proptest! {
    #[test]
    fn merge_is_associative(a in report(), b in report(), c in report()) {
        let left = merged(merged(a.clone(), b.clone()), c.clone());
        let right = merged(a, merged(b, c));
        prop_assert_eq!(left, right);
    }

    #[test]
    fn merge_is_commutative(a in report(), b in report()) {
        prop_assert_eq!(merged(a.clone(), b.clone()), merged(b, a));
    }

    #[test]
    fn merging_per_run_reports_equals_observing_every_run_in_any_order(
        observations in prop::collection::vec(observation(), 0..12),
        seed in any::<u64>(),
    ) {
        let whole = report_of(&observations);
        let mut shuffled = observations.clone();
        // A seeded Fisher-Yates shuffle: any order must give the same report.
        let mut state = seed;
        for i in (1..shuffled.len()).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let j = usize::try_from((state >> 33) % (i as u64 + 1)).unwrap();
            shuffled.swap(i, j);
        }
        let mut by_parts = Report::new();
        for observation in shuffled {
            by_parts.merge(report_of(&[observation]));
        }
        prop_assert_eq!(by_parts, whole);
    }

    #[test]
    fn merge_is_neutral_with_an_empty_report(a in report()) {
        prop_assert_eq!(merged(a.clone(), Report::new()), a.clone());
        prop_assert_eq!(merged(Report::new(), a.clone()), a);
    }
}
