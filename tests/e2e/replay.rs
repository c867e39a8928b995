//! Replaying: the whole end-to-end flow twice with one seed gives the same journal, byte for
//! byte; another seed gives another.

use std::time::{Duration, UNIX_EPOCH};

use steadfast::determinism::{Seed, TestContext, TokioClock};
use steadfast::deterministic_test;

use crate::flow::{self, SCENARIOS};

/// Every scenario on a fresh paused runtime; the transcripts of all runs, joined.
fn replay(seed: Seed) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let clock = TokioClock::starting_at(UNIX_EPOCH + Duration::from_secs(1_767_225_600));
        let mut transcript = String::new();
        for scenario in SCENARIOS {
            let run = flow::run(scenario, seed.derive(scenario), 6, clock).await;
            transcript.push_str(&run.transcript());
        }
        transcript
    })
}

/// The first line where two transcripts differ, for the failure message.
fn first_difference(a: &str, b: &str) -> String {
    let (mut a_lines, mut b_lines) = (a.lines(), b.lines());
    for line in 1.. {
        match (a_lines.next(), b_lines.next()) {
            (None, None) => break,
            (x, y) if x != y => return format!("line {line}:\n  first:  {x:?}\n  second: {y:?}"),
            _ => {}
        }
    }
    "none".into()
}

#[deterministic_test]
fn same_seed_replays_the_whole_journal_and_another_seed_does_not(ctx: &TestContext) {
    let first = replay(ctx.seed());
    let second = replay(ctx.seed());
    let other = replay(ctx.seed().derive("another"));

    // The journal holds what the brief asks to compare, so equality means something.
    for needle in [
        "callback traceparent 00-",
        "[jitter",
        "otlp-collector 200",
        " at ",
    ] {
        assert!(
            first.contains(needle),
            "transcript lacks {needle:?}:\n{first}"
        );
    }
    assert!(
        first == second,
        "same seed {}, different runs; first difference at {}",
        ctx.seed(),
        first_difference(&first, &second)
    );
    assert_ne!(
        first,
        other,
        "seeds {} and another gave the same run",
        ctx.seed()
    );
}
