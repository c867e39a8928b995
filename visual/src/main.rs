//! The `steadfast-visual` command line.
fn main() {}
