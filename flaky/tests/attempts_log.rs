//! `attempts.jsonl` under concurrency: many threads and many processes append at once, and
//! every line arrives whole, also when the writers are killed with SIGKILL mid-stream.

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

/// Records each killed writer appends at most (a bound in case its parent dies first).
const KILLED_MAX: usize = 20_000;
/// Appends every killed writer reports before the parent kills them all.
const KILLED_AFTER: usize = 50;
const KILLED_PROCESSES: usize = 8;

#[test]
#[ignore = "run in child processes by killed_writers_..."]
fn child_appends_until_killed() {
    use std::io::Write as _;
    let dir = flaky_dir().unwrap();
    let writer = std::env::var("FLAKY_TEST_WRITER").unwrap();
    let mut out = std::io::stdout().lock();
    for index in 0..KILLED_MAX {
        append_to(&dir, &record(&writer, index)).unwrap();
        // Reported only once `append_to` returned: the attempt is complete.
        writeln!(out, "appended {index}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn killed_writers_leave_only_whole_lines_and_every_completed_attempt() {
    use std::io::BufRead as _;
    let dir = fresh_dir("killed");
    let mut children: Vec<_> = (0..KILLED_PROCESSES)
        .map(|process| {
            clean_command(std::env::current_exe().unwrap())
                .args([
                    "--ignored",
                    "--exact",
                    "--nocapture",
                    "attempts_log::child_appends_until_killed",
                ])
                .env("STEADFAST_FLAKY_DIR", &dir)
                .env("FLAKY_TEST_WRITER", format!("k{process}"))
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut outputs: Vec<_> = children
        .iter_mut()
        .map(|child| std::io::BufReader::new(child.stdout.take().unwrap()).lines())
        .collect();
    // The last index each writer reported complete.
    let next_report = |lines: &mut std::io::Lines<_>| -> Option<usize> {
        lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line: String| line.strip_prefix("appended ")?.parse().ok())
    };
    let mut completed = [0usize; KILLED_PROCESSES];
    for (writer, lines) in outputs.iter_mut().enumerate() {
        while completed[writer] < KILLED_AFTER {
            completed[writer] = next_report(lines).expect("the writer reports its appends");
        }
    }
    // Every writer is mid-stream: SIGKILL lands wherever each one is.
    for child in &mut children {
        child.kill().unwrap();
    }
    for child in &mut children {
        assert!(!child.wait().unwrap().success());
    }
    // What a writer reported before it died was complete; the pipe still holds it.
    for (writer, lines) in outputs.iter_mut().enumerate() {
        while let Some(index) = next_report(lines) {
            completed[writer] = index;
        }
    }

    // A writer killed inside its write may leave an unterminated last line, which is no
    // attempt; every terminated line must be a whole record (read_attempts fails otherwise).
    let bytes = std::fs::read(dir.join("attempts.jsonl")).unwrap();
    let terminated = bytes.iter().filter(|&&byte| byte == b'\n').count();
    let records = read_attempts(&dir.join("attempts.jsonl")).unwrap();
    assert_eq!(records.len(), terminated);
    let mut seen = HashSet::new();
    for record in &records {
        let index = usize::try_from(record.attempt).unwrap() - 1;
        assert_eq!(record, &self::record(&record.invocation, index));
        assert!(seen.insert((record.invocation.clone(), record.attempt)));
    }
    for (writer, &last) in completed.iter().enumerate() {
        for index in 0..=last {
            let attempt = u32::try_from(index).unwrap() + 1;
            assert!(
                seen.contains(&(format!("k{writer}"), attempt)),
                "k{writer} #{attempt} was reported complete and is lost"
            );
        }
    }
}

#[test]
fn an_append_after_a_killed_writer_cuts_its_unfinished_line_first() {
    let dir = fresh_dir("torn");
    append_to(&dir, &record("whole", 0)).unwrap();
    // What a writer killed inside its write leaves: part of a line, cut inside a character.
    let torn = serde_json::to_vec(&record("torn-é", 0)).unwrap();
    let cut = torn.iter().position(|&byte| byte >= 0x80).unwrap() + 1;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("attempts.jsonl"))
        .unwrap();
    std::io::Write::write_all(&mut file, &torn[..cut]).unwrap();
    drop(file);

    // Readers leave the unfinished line out, though it is not even valid UTF-8.
    assert_eq!(read_attempts(&dir.join("attempts.jsonl")).unwrap().len(), 1);
    append_to(&dir, &record("after", 0)).unwrap();

    let text = std::fs::read_to_string(dir.join("attempts.jsonl")).unwrap();
    let writers: Vec<_> = read_attempts(&dir.join("attempts.jsonl"))
        .unwrap()
        .into_iter()
        .map(|record| record.invocation)
        .collect();
    assert_eq!(writers, ["whole", "after"]);
    assert_eq!(text.lines().count(), 2);
}
