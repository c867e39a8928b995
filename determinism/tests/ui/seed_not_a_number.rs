use steadfast_determinism::deterministic_test;

#[deterministic_test(seed = "0x2a")]
fn quoted_seed() {}

fn main() {}
