//! Integration tests of steadfast-mocknet, one module per area.
