//! pixelmatch-compatible, tolerance-based image diffing and snapshots.
