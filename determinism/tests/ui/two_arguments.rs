use steadfast_determinism::{TestContext, deterministic_test};

#[deterministic_test]
fn too_many(ctx: &TestContext, extra: u32) {}

fn main() {}
