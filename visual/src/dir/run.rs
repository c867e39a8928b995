//! Comparing the pairs of two folders on a pool of threads.

use std::ffi::OsString;
use std::mem::take;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use image::RgbaImage;

use super::{DirEntry, DirOptions, DirStatus, Measure};
use crate::diff::{compare, compare_into};
use crate::error::Error;
use crate::load::{decode_reusing, dimensions, save_png};

/// One comparison job: a relative path present in both folders.
pub(super) struct Pair {
    pub(super) path: PathBuf,
    /// Both files' sizes together, to start the largest pairs first.
    pub(super) bytes: u64,
}

/// Pixel buffers a worker reuses from pair to pair: allocating fresh ones
/// for every image faulted about a thousand pages in per 1280×720 image,
/// and the kernel then spent more time in the system than decoding.
#[derive(Default)]
struct Buffers {
    a: Vec<u8>,
    b: Vec<u8>,
    diff: Vec<u8>,
}

/// Compare every pair on `threads` threads (at least one); the result
/// holds one entry per pair, in the order of `pairs`.
pub(super) fn compare_all(
    expected: &Path,
    actual: &Path,
    options: &DirOptions,
    pairs: &[Pair],
    threads: usize,
) -> Vec<DirEntry> {
    // Largest first, so that one big pair does not start last and run alone.
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(pairs[i].bytes));
    let workers = threads.min(pairs.len()).max(1);
    // Fewer pairs than threads: the spare threads go into each pair
    // (parallel decoding and a banded diff).
    let per_pair = (threads / pairs.len().max(1)).max(1);
    let next = AtomicUsize::new(0);
    let job = |_| {
        let mut done = Vec::new();
        let mut buffers = Buffers::default();
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let Some(&i) = order.get(k) else { break };
            let path = &pairs[i].path;
            let entry = compare_pair(expected, actual, path, options, per_pair, &mut buffers)
                .unwrap_or_else(|e| DirEntry::failed(path.clone(), e));
            done.push((i, entry));
        }
        done
    };
    let mut slots: Vec<Option<DirEntry>> = (0..pairs.len()).map(|_| None).collect();
    let finished: Vec<Vec<(usize, DirEntry)>> = if workers == 1 {
        vec![job(0)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers).map(|w| scope.spawn(move || job(w))).collect();
            handles
                .into_iter()
                // OK because a job turns every error into an entry; a panic is a bug worth surfacing.
                .map(|h| h.join().expect("diff-dir worker panicked"))
                .collect()
        })
    };
    for (i, entry) in finished.into_iter().flatten() {
        slots[i] = Some(entry);
    }
    slots
        .into_iter()
        // OK because the shared counter hands every index to exactly one worker.
        .map(|slot| slot.expect("every pair compared"))
        .collect()
}

/// Compare the files at `path` under both roots, writing the diff image
/// when pixels differ and an output folder is set.
fn compare_pair(
    expected: &Path,
    actual: &Path,
    path: &Path,
    options: &DirOptions,
    threads: usize,
    buffers: &mut Buffers,
) -> Result<DirEntry, Error> {
    let (file_a, file_b) = (expected.join(path), actual.join(path));
    let bytes_a = std::fs::read(&file_a).map_err(|e| Error::io("read image", &file_a, e))?;
    let bytes_b = std::fs::read(&file_b).map_err(|e| Error::io("read image", &file_b, e))?;
    if bytes_a == bytes_b {
        // Byte-identical files are equal without decoding; the header
        // alone gives the pixel count.
        let (w, h) = dimensions(&bytes_a).map_err(|e| e.with_path(&file_a))?;
        let measure = Measure {
            diff_pixels: 0,
            total_pixels: u64::from(w) * u64::from(h),
        };
        return Ok(DirEntry::compared(path, DirStatus::Equal, measure, None));
    }
    let decode = |bytes: &[u8], file: &Path, buf| {
        decode_reusing(bytes, &options.limits, buf).map_err(|e| e.with_path(file))
    };
    let (buf_a, buf_b) = (take(&mut buffers.a), take(&mut buffers.b));
    let (a, b) = if threads > 1 {
        std::thread::scope(|scope| {
            let a = scope.spawn(|| decode(&bytes_a, &file_a, buf_a));
            let b = decode(&bytes_b, &file_b, buf_b);
            // OK because decoding returns errors rather than panicking.
            (a.join().expect("decoder panicked"), b)
        })
    } else {
        (
            decode(&bytes_a, &file_a, buf_a),
            decode(&bytes_b, &file_b, buf_b),
        )
    };
    let (a, b) = (a?, b?);
    drop((bytes_a, bytes_b));
    let entry = compare_images(path, (&a, &b), &file_b, options, threads, &mut buffers.diff);
    (buffers.a, buffers.b) = (a.into_raw(), b.into_raw());
    entry
}

/// Compare two decoded images (`file_b` names the second in errors),
/// drawing the diff image, when one is wanted, into `diff`: a buffer
/// reused from pair to pair.
fn compare_images(
    path: &Path,
    (a, b): (&RgbaImage, &RgbaImage),
    file_b: &Path,
    options: &DirOptions,
    threads: usize,
    diff: &mut Vec<u8>,
) -> Result<DirEntry, Error> {
    if a.dimensions() == b.dimensions() && a.as_raw() == b.as_raw() {
        // Same pixels in other bytes (another encoder or level): no pixel
        // can differ, so skip drawing a diff image nobody will see.
        let measure = Measure {
            diff_pixels: 0,
            total_pixels: u64::from(a.width()) * u64::from(a.height()),
        };
        return Ok(DirEntry::compared(path, DirStatus::Equal, measure, None));
    }
    let wanted = options.output.is_some();
    let compare_options = options.compare.clone().threads(threads).diff_image(wanted);
    let mut canvas = None;
    let result = if wanted && a.dimensions() == b.dimensions() {
        let mut buf = take(diff);
        buf.resize(a.as_raw().len(), 0);
        // OK because the buffer holds exactly width · height · 4 bytes.
        let image = canvas.insert(RgbaImage::from_raw(a.width(), a.height(), buf).expect("sized"));
        compare_into(a, b, image, &compare_options)
    } else {
        compare(a, b, &compare_options)
    }
    .map_err(|e| e.with_path(file_b))?;
    let measure = Measure {
        diff_pixels: result.diff_pixels(),
        total_pixels: result.total_pixels(),
    };
    let status = if measure.diff_pixels == 0 {
        DirStatus::Equal
    } else if result.is_passed() {
        DirStatus::WithinTolerance
    } else {
        DirStatus::Different
    };
    let drawn = canvas.as_ref().or(result.diff_image());
    let written = match (&options.output, drawn) {
        (Some(dir), Some(image)) if status != DirStatus::Equal => {
            Some(write_diff(&dir.join(diff_name(path)), image)?)
        }
        _ => None,
    };
    if let Some(image) = canvas {
        *diff = image.into_raw();
    }
    Ok(DirEntry::compared(path, status, measure, written))
}

fn write_diff(file: &Path, image: &RgbaImage) -> Result<PathBuf, Error> {
    save_png(file, image)?;
    Ok(file.to_path_buf())
}

/// The diff image's path relative to the output folder: the image's own
/// path for a PNG, with `.png` appended otherwise (`a.jpg` → `a.jpg.png`,
/// so that `a.png` and `a.jpg` never share a diff image).
pub(super) fn diff_name(path: &Path) -> PathBuf {
    let is_png = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if is_png {
        path.to_path_buf()
    } else {
        let mut name = OsString::from(path.as_os_str());
        name.push(".png");
        PathBuf::from(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_names_keep_pngs_and_append_png_to_jpegs() {
        assert_eq!(diff_name(Path::new("a/b.png")), Path::new("a/b.png"));
        assert_eq!(diff_name(Path::new("a/b.PNG")), Path::new("a/b.PNG"));
        assert_eq!(diff_name(Path::new("b.jpg")), Path::new("b.jpg.png"));
    }
}
