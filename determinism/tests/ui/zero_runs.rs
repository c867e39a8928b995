use steadfast_determinism::deterministic_test;

#[deterministic_test(runs = 0)]
fn never_runs() {}

fn main() {}
