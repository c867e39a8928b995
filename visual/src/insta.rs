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
/// In a test, set it as insta's comparator and assert binary snapshots as
/// usual: `settings.bind(|| insta::assert_binary_snapshot!(".png", png))`.
/// Here it answers what insta then asks it, for a stored snapshot and a new
/// one a pixel apart:
///
/// ```
/// use image::{Rgba, RgbaImage};
/// use insta::Comparator as _;
/// use steadfast_visual::{InstaComparator, Options};
///
/// let comparator = InstaComparator::new(Options::new().max_diff_pixels(1));
/// let mut settings = insta::Settings::clone_current();
/// settings.set_comparator(Box::new(comparator.clone()));
///
/// let dir = std::env::temp_dir().join(format!("steadfast-insta-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let stored = |name: &str, image: &RgbaImage| -> Result<insta::Snapshot, Box<dyn std::error::Error>> {
///     image.save(dir.join(format!("{name}.snap.png")))?;
///     let header = "---\nsource: doc\nexpression: png\nextension: png\nsnapshot_kind: binary\n---\n";
///     std::fs::write(dir.join(format!("{name}.snap")), header)?;
///     insta::Snapshot::from_file(&dir.join(format!("{name}.snap")))
/// };
/// let white = RgbaImage::from_pixel(8, 8, Rgba([255, 255, 255, 255]));
/// let mut dot = white.clone();
/// dot.put_pixel(3, 3, Rgba([0, 0, 0, 255]));
/// assert!(comparator.matches(&stored("old", &white)?, &stored("new", &dot)?));
/// dot.put_pixel(4, 4, Rgba([0, 0, 0, 255]));
/// assert!(!comparator.matches(&stored("old", &white)?, &stored("new", &dot)?));
/// # std::fs::remove_dir_all(&dir)?;
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
