#![doc = include_str!("../README.md")]
// Every public item is documented (also denied workspace-wide).
#![deny(missing_docs)]
// Public types should be debuggable in test failures.
#![warn(missing_debug_implementations)]
// Show which items need a feature on docs.rs.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod diff;
mod dir;
mod error;
mod fast_png;
#[cfg(feature = "insta")]
mod insta;
mod load;
mod options;
mod review;
mod snapshot;

pub use config::UpdateMode;
pub use diff::{Comparison, compare, compare_into, compare_raw};
pub use dir::{DirEntry, DirOptions, DirReport, DirStatus, diff_dir};
pub use error::{Error, ErrorKind};
#[cfg(feature = "insta")]
#[cfg_attr(docsrs, doc(cfg(feature = "insta")))]
pub use insta::InstaComparator;
pub use load::{DecodeLimits, decode, decode_with_limits, open, open_with_limits, save_png};
pub use options::{Background, Options, Rect, SizeMismatch};
pub use review::{LastRun, Pending, UnusedBaseline, VisualDir};
pub use snapshot::{Outcome, Snapshot, Status};
