//! Named mock-network scenarios with seeded faults on the test's own clock.
