use steadfast_determinism::deterministic_test;

#[deterministic_test(retries = 2)]
fn retried() {}

fn main() {}
