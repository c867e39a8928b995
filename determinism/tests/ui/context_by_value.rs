use steadfast_determinism::{TestContext, deterministic_test};

#[deterministic_test]
fn by_value(ctx: TestContext) {}

fn main() {}
