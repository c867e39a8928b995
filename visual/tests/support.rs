//! Helpers shared by the test modules.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The pixelmatch fixture folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pixelmatch")
}

/// A fresh, empty folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "visual-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// CRC-32 (ISO-HDLC) as PNG chunks use it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A valid PNG header claiming `width × height` RGBA pixels, with a tiny
/// (far too short) image data stream: a decompression-bomb shape.
pub fn huge_png(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    // zlib stream of an empty stored block.
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x01, 0x01, 0x00, 0x00, 0xff, 0xff, 0, 0, 0, 1],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

#[test]
fn crc32_matches_the_png_spec_check_value() {
    // The standard check value of CRC-32/ISO-HDLC for "123456789".
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

/// A command with none of the runner's `STEADFAST_*`, `NEXTEST*` or `CI`
/// variables, so each test says what its child process sees.
pub fn clean_command(program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
    let mut command = std::process::Command::new(program);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("STEADFAST_") || key.starts_with("NEXTEST") || key == "CI" {
            command.env_remove(&*key);
        }
    }
    command.env("RUST_BACKTRACE", "0");
    command
}

/// A 20×10 white image with a 10×6 square of `color`.
pub fn square(color: [u8; 4]) -> image::RgbaImage {
    let mut img = image::RgbaImage::from_pixel(20, 10, image::Rgba([255, 255, 255, 255]));
    for y in 2..8 {
        for x in 5..15 {
            img.put_pixel(x, y, image::Rgba(color));
        }
    }
    img
}
