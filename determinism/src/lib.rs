//! Seeded randomness and clocks.
