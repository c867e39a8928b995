//! Snapshot flow tests.
