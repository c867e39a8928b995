use steadfast_determinism::deterministic_test;

#[deterministic_test(sead = 1)]
fn misspelled() {}

fn main() {}
