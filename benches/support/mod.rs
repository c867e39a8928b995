//! Setup shared by the benches: generated images.

pub mod screens;
