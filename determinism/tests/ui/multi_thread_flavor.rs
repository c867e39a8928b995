use steadfast_determinism::deterministic_test;

#[deterministic_test(flavor = "multi_thread")]
async fn on_worker_threads() {}

fn main() {}
