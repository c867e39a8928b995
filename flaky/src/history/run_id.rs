//! The run id of a report that comes without one: a hash of what the report says.
//!
//! Reports carry no run id, so `history add` derives one unless `--run-id` names it:
//! `content:` and 32 hex digits, the 128-bit FNV-1a hash of the merged report's content in
//! test-id order. Every field of every test goes in (counts, first and last seen, failing
//! seeds, the last failure), each string with its length before it, so the same report read
//! again, re-rendered, or merged from the same shards in another order, has the same id, and
//! a report that differs in any figure has another one.
//!
//! Two runs whose reports say exactly the same thing, timestamps included, get the same id;
//! only inputs without timestamps (libtest output, some JUnit writers) can do that, and
//! `--run-id` (e.g. `$GITHUB_RUN_ID.$GITHUB_RUN_ATTEMPT`) keeps those apart.

use crate::report::{Report, TestStats};

/// The prefix of a content-derived run id.
pub const CONTENT_PREFIX: &str = "content:";

/// The run id of `report`: `content:` and the 128-bit FNV-1a hash of its content, in hex.
///
/// # Example
///
/// ```
/// use steadfast_flaky::{Observation, Outcome, Report};
/// use steadfast_flaky::history::content_run_id;
///
/// let mut report = Report::new();
/// report.observe(Observation::new("app login", Outcome::Passed));
/// let id = content_run_id(&report);
/// assert!(id.starts_with("content:") && id.len() == "content:".len() + 32);
/// assert_eq!(content_run_id(&report.clone()), id);
/// report.observe(Observation::new("app login", Outcome::Failed));
/// assert_ne!(content_run_id(&report), id);
/// ```
pub fn content_run_id(report: &Report) -> String {
    let mut hash = Fnv128::new();
    hash.number(report.len() as u64);
    for (test, stats) in report.tests() {
        hash.text(test);
        hash_stats(&mut hash, stats);
    }
    format!("{CONTENT_PREFIX}{:032x}", hash.0)
}

fn hash_stats(hash: &mut Fnv128, stats: &TestStats) {
    for count in [
        stats.runs,
        stats.passes,
        stats.failures,
        stats.passed_on_retry,
        stats.attempts,
        stats.same_seed_retries,
        stats.skipped,
    ] {
        hash.number(u64::from(count));
    }
    hash.millis(stats.first_seen_ms);
    hash.millis(stats.last_seen_ms);
    hash.number(stats.failing_seeds.len() as u64);
    for seed in &stats.failing_seeds {
        hash.text(seed);
    }
    match stats.last_failure.as_deref() {
        None => hash.number(0),
        Some(failure) => {
            hash.number(1);
            hash.millis(failure.at_ms);
            for text in [&failure.seed, &failure.message, &failure.replay] {
                match text {
                    None => hash.number(0),
                    Some(text) => {
                        hash.number(1);
                        hash.text(text);
                    }
                }
            }
        }
    }
}

/// FNV-1a with 128-bit state (the FNV authors' published offset basis and prime).
struct Fnv128(u128);

impl Fnv128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;

    fn new() -> Self {
        Self(Self::OFFSET)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u128::from(byte)).wrapping_mul(Self::PRIME);
        }
    }

    fn number(&mut self, value: u64) {
        self.bytes(&value.to_le_bytes());
    }

    fn text(&mut self, text: &str) {
        self.number(text.len() as u64);
        self.bytes(text.as_bytes());
    }

    fn millis(&mut self, millis: Option<i64>) {
        match millis {
            None => self.number(0),
            Some(millis) => {
                self.number(1);
                self.bytes(&millis.to_le_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Failure, Observation, Outcome};

    #[test]
    fn fnv128_matches_the_published_test_vectors() {
        // From the FNV authors' test suite (draft-eastlake-fnv): FNV-1a 128 of "" and "a".
        let mut empty = Fnv128::new();
        empty.bytes(b"");
        assert_eq!(empty.0, 0x6c62272e07bb014262b821756295c58d);
        let mut a = Fnv128::new();
        a.bytes(b"a");
        assert_eq!(a.0, 0xd228cb696f1a8caf78912b704e4a8964);
    }

    #[test]
    fn the_id_of_a_report_stays_what_it_was() {
        // Pinned: a changed hash would count reports added before the change a second time.
        let mut report = Report::new();
        let mut observation = Observation::new("app login", Outcome::Passed);
        observation.at_ms = Some(1_767_225_600_000);
        observation.failures.push(Failure {
            at_ms: Some(1_767_225_600_000),
            seed: Some("0x000000000000002a".into()),
            message: Some("timed out".into()),
            replay: None,
        });
        report.observe(observation);
        assert_eq!(
            content_run_id(&report),
            "content:ff4dca00b2f660f79db86c7165ee55e5"
        );
    }

    #[test]
    fn field_boundaries_cannot_shift_into_each_other() {
        let mut ab = Report::new();
        ab.observe(Observation::new("ab", Outcome::Passed));
        let mut a_b = Report::new();
        a_b.observe(Observation::new("a", Outcome::Passed));
        a_b.observe(Observation::new("b", Outcome::Passed));
        assert_ne!(content_run_id(&ab), content_run_id(&a_b));
    }
}
