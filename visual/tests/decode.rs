//! Decoding: formats, limits and hostile inputs.

use steadfast_visual::{DecodeLimits, ErrorKind, decode, decode_with_limits, open};

use crate::support::{fixtures, huge_png};

#[test]
fn palette_and_rgb_pngs_expand_to_rgba() {
    // 2a is a palette PNG, 4a is RGB without alpha (cases.json decode_note).
    let palette = open(fixtures().join("2a.png")).unwrap();
    let rgb = open(fixtures().join("4a.png")).unwrap();
    assert!(palette.width() > 0);
    assert!(rgb.pixels().all(|p| p.0[3] == 255));
}

#[test]
fn jpeg_decodes_to_rgba() {
    let img = image::RgbaImage::from_pixel(8, 8, image::Rgba([200, 100, 50, 255]));
    let mut jpeg = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgba8(img)
        .into_rgb8()
        .write_to(&mut jpeg, image::ImageFormat::Jpeg)
        .unwrap();
    let decoded = decode(jpeg.get_ref()).unwrap();
    assert_eq!(decoded.dimensions(), (8, 8));
    assert_eq!(decoded.get_pixel(4, 4).0[3], 255);
}

#[test]
fn huge_dimensions_are_an_error_not_an_allocation() {
    let err = decode(&huge_png(100_000, 100_000)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge);
    // Within the dimension limit but over the memory limit.
    let mut limits = DecodeLimits::default();
    limits.max_bytes = 1 << 20;
    let err = decode_with_limits(&huge_png(4096, 4096), &limits).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge, "{err}");
}

#[test]
fn truncated_and_garbage_bytes_are_errors() {
    let bytes = std::fs::read(fixtures().join("3a.png")).unwrap();
    for cut in [0, 8, 20, 33, bytes.len() / 3, bytes.len() * 2 / 3] {
        let err = decode(&bytes[..cut]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Image, "cut at {cut}: {err}");
    }
    assert_eq!(decode(b"GIF89a").unwrap_err().kind(), ErrorKind::Image);
}

#[test]
fn open_names_the_file_in_errors() {
    let err = open("/definitely/missing.png").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.to_string().contains("/definitely/missing.png"), "{err}");
}
