//! The `#[deterministic_test]` attribute.
