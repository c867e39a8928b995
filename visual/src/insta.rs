//! A tolerant comparator for insta's binary image snapshots.

use insta::internals::SnapshotContents;
use insta::{Comparator, DefaultComparator, Snapshot};

use crate::diff::compare;
use crate::load::decode;
use crate::options::Options;

/// An [`insta::Comparator`] that decodes binary snapshots as images and
/// compares them with [`compare`](crate::compare) and the given
/// [`Options`], so `insta::assert_binary_snapshot!(".png", …)` tolerates
/// anti-aliasing wobble and passes within the options' tolerances.
///
/// Snapshots of different sizes never match. Text snapshots, and binary
/// ones that are not decodable images, fall back to insta's default
/// comparison.
///
/// # Example
///
/// ```
/// use steadfast_visual::{InstaComparator, Options};
///
/// let mut settings = insta::Settings::clone_current();
/// settings.set_comparator(Box::new(InstaComparator::new(
///     Options::new().max_diff_ratio(0.001),
/// )));
/// settings.bind(|| {
///     // insta::assert_binary_snapshot!(".png", png_bytes);
/// });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct InstaComparator {
    options: Options,
}

impl InstaComparator {
    /// A comparator using `options` (the diff image is never produced).
    pub fn new(options: Options) -> Self {
        Self {
            options: options.diff_image(false),
        }
    }

    fn images_match(&self, reference: &[u8], test: &[u8]) -> Option<bool> {
        if reference == test {
            return Some(true);
        }
        let (a, b) = (decode(reference).ok()?, decode(test).ok()?);
        if a.dimensions() != b.dimensions() {
            return Some(false);
        }
        Some(compare(&a, &b, &self.options).is_ok_and(|c| c.is_passed()))
    }
}

impl Comparator for InstaComparator {
    fn matches(&self, reference: &Snapshot, test: &Snapshot) -> bool {
        match (reference.contents(), test.contents()) {
            (SnapshotContents::Binary(Some(r)), SnapshotContents::Binary(Some(t))) => self
                .images_match(r, t)
                .unwrap_or_else(|| DefaultComparator.matches(reference, test)),
            _ => DefaultComparator.matches(reference, test),
        }
    }

    fn matches_fully(&self, reference: &Snapshot, test: &Snapshot) -> bool {
        match (reference.contents(), test.contents()) {
            (SnapshotContents::Binary(_), SnapshotContents::Binary(_)) => {
                self.matches(reference, test)
            }
            _ => DefaultComparator.matches_fully(reference, test),
        }
    }

    fn dyn_clone(&self) -> Box<dyn Comparator> {
        Box::new(self.clone())
    }
}
