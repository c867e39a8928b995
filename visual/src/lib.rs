#![doc = include_str!("../README.md")]
// Every public item is documented (also denied workspace-wide).
#![deny(missing_docs)]
// Public types should be debuggable in test failures.
#![warn(missing_debug_implementations)]
// Show which items need a feature on docs.rs.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod diff;
mod error;
mod load;
mod options;

pub use diff::{Comparison, compare, compare_raw};
pub use error::{Error, ErrorKind};
pub use load::{DecodeLimits, decode, decode_with_limits, open};
pub use options::{Background, Options, Rect, SizeMismatch};
