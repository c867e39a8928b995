use steadfast_determinism::deterministic_test;

#[deterministic_test(seed = 1, seed = 2)]
fn twice() {}

fn main() {}
