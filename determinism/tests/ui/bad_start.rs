use steadfast_determinism::deterministic_test;

#[deterministic_test(start = "2026-02-30T00:00:00Z")]
fn no_such_day() {}

fn main() {}
