use steadfast_determinism::deterministic_test;

#[deterministic_test(tz = "Europe/Berlln")]
fn misspelled_zone() {}

fn main() {}
