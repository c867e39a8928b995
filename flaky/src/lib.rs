//! Retry-aware flaky-test detection, stability gates and reports that name the seed.
