//! PNG decoding and encoding through the `png` crate directly.
//!
//! Design notes (numbers in the crate README): `image` decodes PNGs with
//! the same `png` crate, so calling it directly gives the same pixels
//! without `image`'s layers, skips text chunks, and fills the RGBA8
//! buffer in place (an RGB image is expanded within its own buffer rather
//! than converted into a second one). `zune-png` 0.5 measured about twice
//! as slow on screenshots, so it is not used. Only the kinds screenshots
//! come in take this path (8-bit RGB and RGBA, palettes and `tRNS`
//! expanded, not interlaced); grey, 16-bit, interlaced and animated PNGs
//! go through `image`, whose
//! conversions this path would otherwise have to reproduce.
//!
//! Diff images are artifacts, not archives: they are written with
//! `fdeflate` and the `Up` filter on every row, which encoded diff images
//! about 1.5× faster than `image`'s default (`fdeflate` with the adaptive
//! filter) for files about 1.6× larger.

use std::io::Cursor;

use image::RgbaImage;
use png::{BitDepth, ColorType, DecodingError, Transformations};

/// Decode an 8-bit RGB or RGBA PNG to RGBA8 in `buf` (reused, so that a
/// caller decoding many images does not fault fresh pages in for each),
/// letting the decoder allocate at most `max_bytes`; `None` when the PNG
/// is of another kind (grey, 16-bit, interlaced, animated) and must go
/// through `image`.
pub(crate) fn decode_rgba8(
    bytes: &[u8],
    max_bytes: u64,
    mut buf: Vec<u8>,
) -> Option<Result<RgbaImage, DecodingError>> {
    let limits = png::Limits {
        bytes: usize::try_from(max_bytes).unwrap_or(usize::MAX),
    };
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(bytes), limits);
    decoder.set_transformations(Transformations::EXPAND);
    decoder.set_ignore_text_chunk(true);
    let mut reader = match decoder.read_info() {
        Ok(reader) => reader,
        Err(e) => return Some(Err(e)),
    };
    if reader.info().animation_control().is_some() || reader.info().interlaced {
        return None;
    }
    let (color, depth) = reader.output_color_type();
    if depth != BitDepth::Eight || !matches!(color, ColorType::Rgb | ColorType::Rgba) {
        return None;
    }
    let (width, height) = (reader.info().width, reader.info().height);
    let pixels = width as usize * height as usize;
    // The caller checked `width · height · 4` against the limits first.
    buf.clear();
    buf.resize(pixels * 4, 0);
    let frame_len = match color {
        ColorType::Rgba => pixels * 4,
        _ => pixels * 3,
    };
    if let Err(e) = reader.next_frame(&mut buf[..frame_len]) {
        return Some(Err(e));
    }
    if color == ColorType::Rgb {
        expand_rgb_in_place(&mut buf, pixels);
    }
    // OK because the buffer holds exactly width · height · 4 bytes.
    Some(Ok(
        RgbaImage::from_raw(width, height, buf).expect("sized buffer")
    ))
}

/// Turn the first `pixels · 3` bytes of `buf` (RGB) into `pixels · 4`
/// bytes of opaque RGBA. Going from the last pixel to the first, every
/// write lands at or after the bytes still to be read.
fn expand_rgb_in_place(buf: &mut [u8], pixels: usize) {
    for i in (0..pixels).rev() {
        let (r, g, b) = (buf[i * 3], buf[i * 3 + 1], buf[i * 3 + 2]);
        buf[i * 4..i * 4 + 4].copy_from_slice(&[r, g, b, 255]);
    }
}

/// Encode `image` as an 8-bit RGBA PNG, fast (`fdeflate`, `Up` filter).
pub(crate) fn encode_fast(image: &RgbaImage) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, image.width(), image.height());
    encoder.set_color(ColorType::Rgba);
    encoder.set_depth(BitDepth::Eight);
    encoder.set_deflate_compression(png::DeflateCompression::FdeflateUltraFast);
    encoder.set_filter(png::Filter::Up);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(image.as_raw())?;
    writer.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// What `image` decodes the bytes to: the reference this path must equal.
    fn by_image(bytes: &[u8]) -> RgbaImage {
        image::load_from_memory(bytes).unwrap().into_rgba8()
    }

    fn encode(
        width: u32,
        height: u32,
        color: ColorType,
        depth: BitDepth,
        data: &[u8],
        setup: impl FnOnce(&mut png::Encoder<'_, &mut Vec<u8>>),
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(color);
        encoder.set_depth(depth);
        setup(&mut encoder);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(data).unwrap();
        writer.finish().unwrap();
        out
    }

    /// Bytes that vary in every channel, `n` long.
    fn ramp(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn decodes_every_fixture_png_as_image_does() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pixelmatch");
        let mut fast = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "png") {
                let bytes = std::fs::read(&path).unwrap();
                if let Some(decoded) = decode_rgba8(&bytes, 1 << 30, Vec::new()) {
                    assert!(decoded.unwrap() == by_image(&bytes), "{}", path.display());
                    fast += 1;
                }
            }
        }
        assert!(fast >= 20, "only {fast} fixtures took the fast path");
    }

    #[test]
    fn rgb_rgba_and_palette_pngs_decode_as_image_does() {
        let (w, h) = (37, 19);
        let n = (w * h) as usize;
        let palette: Vec<u8> = ramp(16 * 3);
        let cases = [
            encode(w, h, ColorType::Rgba, BitDepth::Eight, &ramp(n * 4), |_| {}),
            encode(w, h, ColorType::Rgb, BitDepth::Eight, &ramp(n * 3), |_| {}),
            encode(w, h, ColorType::Rgb, BitDepth::Eight, &ramp(n * 3), |e| {
                e.set_trns(vec![0, 7, 0, 14, 0, 21]);
            }),
            encode(
                w,
                h,
                ColorType::Indexed,
                BitDepth::Four,
                &ramp((w as usize * 4).div_ceil(8) * h as usize),
                |e| {
                    e.set_palette(palette.clone());
                    e.set_trns(vec![0, 128, 255]);
                },
            ),
        ];
        for (i, bytes) in cases.iter().enumerate() {
            let decoded = decode_rgba8(bytes, 1 << 30, Vec::new()).expect("fast path");
            assert!(decoded.unwrap() == by_image(bytes), "case {i}");
        }
    }

    #[test]
    fn grey_and_16_bit_pngs_are_left_to_image() {
        let (w, h) = (5, 3);
        let grey = encode(
            w,
            h,
            ColorType::Grayscale,
            BitDepth::Eight,
            &ramp(15),
            |_| {},
        );
        let wide = encode(w, h, ColorType::Rgba, BitDepth::Sixteen, &ramp(120), |_| {});
        assert!(decode_rgba8(&grey, 1 << 30, Vec::new()).is_none());
        assert!(decode_rgba8(&wide, 1 << 30, Vec::new()).is_none());
    }

    #[test]
    fn truncated_data_is_an_error() {
        let bytes = encode(
            64,
            64,
            ColorType::Rgba,
            BitDepth::Eight,
            &ramp(64 * 64 * 4),
            |_| {},
        );
        for cut in [bytes.len() / 2, bytes.len() - 13] {
            let decoded =
                decode_rgba8(&bytes[..cut], 1 << 30, vec![9; 7]).expect("an RGBA8 header");
            assert!(decoded.is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn fast_encoding_round_trips() {
        let image = RgbaImage::from_raw(33, 17, ramp(33 * 17 * 4)).unwrap();
        let bytes = encode_fast(&image).unwrap();
        assert!(by_image(&bytes) == image);
    }
}
