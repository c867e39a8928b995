//! `attempts.jsonl` under concurrency: many threads and many processes append at once, and
//! every line arrives whole.

use std::collections::HashSet;
use std::path::Path;

use steadfast_flaky::attempts::{
    AttemptOutcome, AttemptRecord, append_to, flaky_dir, read_attempts,
};

use crate::support::{clean_command, fresh_dir};

const THREADS: usize = 8;
const PER_THREAD: usize = 150;
const PROCESSES: usize = 4;

/// A record big enough (about 1.7 KiB) that interleaved writes would corrupt lines.
fn record(writer: &str, index: usize) -> AttemptRecord {
    AttemptRecord {
        test: format!("concurrency {writer}"),
        invocation: writer.to_owned(),
        attempt: u32::try_from(index).unwrap() + 1,
        max_attempts: 1,
        outcome: AttemptOutcome::Failed,
        duration_ms: 0.5,
        message: Some(format!("{writer}/{index} ").repeat(1 + 1600 / (writer.len() + 8))),
        seed: Some("0x0000000000000001".into()),
        run_seed: None,
        same_seed_as_first: true,
        replay: None,
        at_ms: 0,
    }
}

fn append_from_threads(dir: &Path, prefix: &str) {
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            scope.spawn(move || {
                let writer = format!("{prefix}-t{thread}");
                for index in 0..PER_THREAD {
                    append_to(dir, &record(&writer, index)).unwrap();
                }
            });
        }
    });
}

fn assert_every_line_whole(dir: &Path, writers: &[String]) {
    let text = std::fs::read_to_string(dir.join("attempts.jsonl")).unwrap();
    assert_eq!(text.lines().count(), writers.len() * PER_THREAD);
    let records = read_attempts(&dir.join("attempts.jsonl")).unwrap();
    let mut seen = HashSet::new();
    for record in &records {
        let index = usize::try_from(record.attempt).unwrap() - 1;
        assert_eq!(record, &self::record(&record.invocation, index));
        assert!(seen.insert((record.invocation.clone(), record.attempt)));
    }
    for writer in writers {
        for attempt in 1..=PER_THREAD {
            let attempt = u32::try_from(attempt).unwrap();
            assert!(
                seen.contains(&(writer.clone(), attempt)),
                "{writer} #{attempt} lost"
            );
        }
    }
}

#[test]
fn many_threads_append_without_losing_or_interleaving_lines() {
    let dir = fresh_dir("threads");

    append_from_threads(&dir, "main");

    let writers: Vec<String> = (0..THREADS).map(|t| format!("main-t{t}")).collect();
    assert_every_line_whole(&dir, &writers);
}

#[test]
#[ignore = "run in child processes by many_processes_append_..."]
fn child_appends_from_threads() {
    let dir = flaky_dir().unwrap();
    let prefix = std::env::var("FLAKY_TEST_WRITER").unwrap();
    append_from_threads(&dir, &prefix);
}

#[test]
fn many_processes_append_without_losing_or_interleaving_lines() {
    let dir = fresh_dir("processes");

    let children: Vec<_> = (0..PROCESSES)
        .map(|process| {
            clean_command(std::env::current_exe().unwrap())
                .args([
                    "--ignored",
                    "--exact",
                    "attempts_log::child_appends_from_threads",
                ])
                .env("STEADFAST_FLAKY_DIR", &dir)
                .env("FLAKY_TEST_WRITER", format!("p{process}"))
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }

    let writers: Vec<String> = (0..PROCESSES)
        .flat_map(|p| (0..THREADS).map(move |t| format!("p{p}-t{t}")))
        .collect();
    assert_every_line_whole(&dir, &writers);
}
