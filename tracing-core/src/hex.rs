//! Lowercase hex, the only hex W3C Trace Context allows: a table for single
//! digits, and branch-free conversion of whole ids.
//!
//! Whole blocks of 16 digits (8 bytes) go through [`wide`]: SSE2 on x86_64
//! (every x86_64 CPU has it, so there is no runtime detection), SWAR on
//! 64-bit words elsewhere. Both give identical results, checked for every
//! byte value at every position. A 16-byte id is decoded into one 128-bit
//! register and stored whole, so the code reading it back is not stalled
//! waiting for several small stores to be combined.

pub(crate) const HEX: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex digit values; 0xff marks every other byte (uppercase is
/// rejected on purpose: W3C Trace Context only allows lowercase).
pub(crate) const HEX_DECODE: [u8; 256] = {
    let mut table = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// Decodes one lowercase hex digit.
#[inline]
pub(crate) const fn hex_val(c: u8) -> Option<u8> {
    match HEX_DECODE[c as usize] {
        0xff => None,
        v => Some(v),
    }
}

/// Decodes `2 * N` lowercase hex digits from the start of `input` (which must
/// hold that many) into `N` bytes, and whether every digit was valid (the
/// bytes are meaningless when not). No early exit: `N` is a constant, so
/// this inlines into straight-line code.
#[inline]
pub(crate) fn decode_hex_flagged<const N: usize>(input: &[u8]) -> ([u8; N], bool) {
    let input = &input[..2 * N];
    let mut out = [0u8; N];
    let (done, mut ok) = wide::decode(input, &mut out);
    for i in done..N {
        let hi = HEX_DECODE[usize::from(input[2 * i])];
        let lo = HEX_DECODE[usize::from(input[2 * i + 1])];
        ok &= (hi | lo) & 0xf0 == 0;
        out[i] = (hi << 4) | (lo & 0x0f);
    }
    (out, ok)
}

/// Decodes `2 * N` lowercase hex digits from the start of `input` (which must
/// hold that many) into `N` bytes; on error returns the offset of the first
/// bad digit.
#[inline]
pub(crate) fn decode_hex<const N: usize>(input: &[u8]) -> Result<[u8; N], usize> {
    let (out, ok) = decode_hex_flagged::<N>(input);
    if ok {
        return Ok(out);
    }
    // Only on failure: find where.
    Err(input[..2 * N]
        .iter()
        .position(|&c| HEX_DECODE[usize::from(c)] == 0xff)
        .unwrap_or(0))
}

/// Encodes `bytes` as lowercase hex into the first `2 * N` bytes of `out`.
#[inline]
pub(crate) fn encode_hex<const N: usize>(bytes: &[u8; N], out: &mut [u8]) {
    let out = &mut out[..2 * N];
    let done = wide::encode(bytes, out);
    for i in done..N {
        out[2 * i] = HEX[usize::from(bytes[i] >> 4)];
        out[2 * i + 1] = HEX[usize::from(bytes[i] & 0x0f)];
    }
}

#[cfg(target_arch = "x86_64")]
use sse2 as wide;
#[cfg(not(target_arch = "x86_64"))]
use swar as wide;

/// Whole-block conversion with SSE2, 16 digits per register.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi8, _mm_and_si128, _mm_cmpgt_epi8, _mm_cmplt_epi8, _mm_cvtsi128_si64,
        _mm_loadl_epi64, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_packus_epi16,
        _mm_set1_epi8, _mm_set1_epi16, _mm_slli_epi16, _mm_srli_epi16, _mm_storeu_si128,
        _mm_unpacklo_epi8,
    };

    /// The first 16 bytes of `s` as a register.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn load16(s: &[u8]) -> __m128i {
        let s = &s[..16];
        // SAFETY: `s` holds 16 readable bytes; the load is unaligned.
        unsafe { _mm_loadu_si128(s.as_ptr().cast()) }
    }

    /// The first 8 bytes of `s` in the low half of a register.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn load8(s: &[u8]) -> __m128i {
        let s = &s[..8];
        // SAFETY: `s` holds 8 readable bytes; `_mm_loadl_epi64` reads 8.
        unsafe { _mm_loadl_epi64(s.as_ptr().cast()) }
    }

    /// Stores all 16 bytes of `v` at the start of `out`.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn store16(out: &mut [u8], v: __m128i) {
        let out = &mut out[..16];
        // SAFETY: `out` holds 16 writable bytes; the store is unaligned.
        unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), v) }
    }

    /// 16 digits as 8 byte values, one per 16-bit lane, and whether all 16
    /// were lowercase hex. Signed compares are right here: bytes from 0x80 up
    /// are negative, so they fail both ranges.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn digit_pairs(chars: __m128i) -> (__m128i, bool) {
        let within = |lo: u8, hi: u8| {
            let above = _mm_cmpgt_epi8(chars, _mm_set1_epi8((lo - 1) as i8));
            let below = _mm_cmplt_epi8(chars, _mm_set1_epi8((hi + 1) as i8));
            _mm_and_si128(above, below)
        };
        let digit = within(b'0', b'9');
        let letter = within(b'a', b'f');
        let ok = _mm_movemask_epi8(_mm_or_si128(digit, letter)) == 0xffff;
        // '0'..'9' & 0x0f is 0..9; 'a'..'f' & 0x0f is 1..6, plus 9.
        let nibbles = _mm_add_epi8(
            _mm_and_si128(chars, _mm_set1_epi8(0x0f)),
            _mm_and_si128(letter, _mm_set1_epi8(9)),
        );
        // Each 16-bit lane holds the high nibble in its low byte (the first
        // digit) and the low nibble in its high byte.
        let pairs = _mm_or_si128(_mm_slli_epi16::<4>(nibbles), _mm_srli_epi16::<8>(nibbles));
        (_mm_and_si128(pairs, _mm_set1_epi16(0x00ff)), ok)
    }

    /// Decodes whole blocks from the start of `input` into `out` (half as
    /// long as `input`): 32 digits into one 16-byte store, then a remaining
    /// 16 into an 8-byte store. Returns how many bytes were decoded and
    /// whether their digits were all valid.
    #[inline(always)]
    pub(super) fn decode(input: &[u8], out: &mut [u8]) -> (usize, bool) {
        // SAFETY: SSE2 is part of the x86_64 baseline, so every x86_64 CPU
        // has it.
        unsafe { decode_blocks(input, out) }
    }

    /// See [`decode`].
    #[inline]
    #[target_feature(enable = "sse2")]
    fn decode_blocks(input: &[u8], out: &mut [u8]) -> (usize, bool) {
        let mut ok = true;
        let mut i = 0;
        while i + 16 <= out.len() {
            let (a, a_ok) = digit_pairs(load16(&input[2 * i..]));
            let (b, b_ok) = digit_pairs(load16(&input[2 * i + 16..]));
            store16(&mut out[i..], _mm_packus_epi16(a, b));
            ok &= a_ok & b_ok;
            i += 16;
        }
        if i + 8 <= out.len() {
            let (a, a_ok) = digit_pairs(load16(&input[2 * i..]));
            // The low 8 bytes are the decoded ones.
            let low = _mm_cvtsi128_si64(_mm_packus_epi16(a, a)).to_le_bytes();
            out[i..i + 8].copy_from_slice(&low);
            ok &= a_ok;
            i += 8;
        }
        (i, ok)
    }

    /// 16 nibbles (each 0..=15) as lowercase hex digits.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn digits(nibbles: __m128i) -> __m128i {
        let letters = _mm_and_si128(
            _mm_cmpgt_epi8(nibbles, _mm_set1_epi8(9)),
            _mm_set1_epi8((b'a' - b'0' - 10) as i8),
        );
        _mm_add_epi8(nibbles, _mm_add_epi8(_mm_set1_epi8(b'0' as i8), letters))
    }

    /// Encodes whole 8-byte blocks from the start of `bytes` into `out`
    /// (twice as long), one 16-byte store each. Returns how many bytes were
    /// encoded.
    #[inline(always)]
    pub(super) fn encode(bytes: &[u8], out: &mut [u8]) -> usize {
        // SAFETY: as in `decode`.
        unsafe { encode_blocks(bytes, out) }
    }

    /// See [`encode`].
    #[inline]
    #[target_feature(enable = "sse2")]
    fn encode_blocks(bytes: &[u8], out: &mut [u8]) -> usize {
        let mut i = 0;
        while i + 8 <= bytes.len() {
            let x = load8(&bytes[i..]);
            let high = _mm_and_si128(_mm_srli_epi16::<4>(x), _mm_set1_epi8(0x0f));
            let low = _mm_and_si128(x, _mm_set1_epi8(0x0f));
            // Interleaved high, low, high, low...: the digits in order.
            store16(&mut out[2 * i..], digits(_mm_unpacklo_epi8(high, low)));
            i += 8;
        }
        i
    }
}

/// Whole-block conversion on 64-bit words, 8 digits at a time.
#[cfg(any(test, not(target_arch = "x86_64")))]
mod swar {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;

    /// Decodes 8 lowercase hex digits (little-endian load) into 4 bytes, and
    /// whether all 8 were lowercase hex digits (the bytes are meaningless
    /// when not). A byte below 0x80 is range-checked with additions that
    /// cannot carry across bytes; bytes at or above 0x80 fail the first test
    /// (the wrapping additions may then carry, but the result is discarded).
    #[inline]
    fn decode8(chunk: [u8; 8]) -> ([u8; 4], bool) {
        let x = u64::from_le_bytes(chunk);
        let ascii = x & HIGHS == 0;
        let ge = |lo: u64| x.wrapping_add((0x80 - lo) * ONES) & HIGHS;
        let gt = |hi: u64| x.wrapping_add((0x7f - hi) * ONES) & HIGHS;
        let digit = ge(0x30) & !gt(0x39);
        let letter = ge(0x61) & !gt(0x66);
        let ok = ascii & ((digit | letter) == HIGHS);
        let nibbles = (x & (0x0f * ONES)) + (letter >> 7) * 9;
        let mut t = ((nibbles << 4) | (nibbles >> 8)) & 0x00ff_00ff_00ff_00ff;
        t = (t | (t >> 8)) & 0x0000_ffff_0000_ffff;
        t = (t | (t >> 16)) & 0xffff_ffff;
        // OK to truncate: the four packed bytes are in the low 32 bits.
        ((t as u32).to_le_bytes(), ok)
    }

    /// Encodes 4 bytes as 8 lowercase hex digits: spread the nibbles into
    /// bytes, then add '0', or 'a' - 10 for nibbles above 9.
    #[inline]
    fn encode4(bytes: [u8; 4]) -> [u8; 8] {
        let mut x = u64::from(u32::from_be_bytes(bytes));
        x = (x | (x << 16)) & 0x0000_ffff_0000_ffff;
        x = (x | (x << 8)) & 0x00ff_00ff_00ff_00ff;
        x = (x | (x << 4)) & (0x0f * ONES);
        let letters = ((x + 6 * ONES) >> 4) & ONES;
        (x + 0x30 * ONES + letters * 0x27).to_be_bytes()
    }

    /// Decodes whole 8-byte blocks; see `sse2::decode`.
    #[inline]
    pub(super) fn decode(input: &[u8], out: &mut [u8]) -> (usize, bool) {
        let mut ok = true;
        let whole = out.len() / 8 * 8;
        for i in (0..whole).step_by(4) {
            let mut chunk = [0u8; 8];
            chunk.copy_from_slice(&input[2 * i..2 * i + 8]);
            let (bytes, good) = decode8(chunk);
            out[i..i + 4].copy_from_slice(&bytes);
            ok &= good;
        }
        (whole, ok)
    }

    /// Encodes whole 8-byte blocks; see `sse2::encode`.
    #[inline]
    pub(super) fn encode(bytes: &[u8], out: &mut [u8]) -> usize {
        let whole = bytes.len() / 8 * 8;
        for i in (0..whole).step_by(4) {
            let mut four = [0u8; 4];
            four.copy_from_slice(&bytes[i..i + 4]);
            out[2 * i..2 * i + 8].copy_from_slice(&encode4(four));
        }
        whole
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 48 digits: a 32-digit block, a 16-digit block, nothing left over, so
    /// each position goes through the wide code.
    const DIGITS: &[u8; 48] = b"0123456789abcdef0f1e2d3c4b5a69788796a5b4c3d2e1f0";

    fn reference_decode(input: &[u8]) -> Option<Vec<u8>> {
        input
            .chunks(2)
            .map(|p| Some(hex_val(p[0])? << 4 | hex_val(p[1])?))
            .collect()
    }

    #[test]
    fn decoding_agrees_with_the_table_for_every_byte_at_every_position() {
        for pos in 0..DIGITS.len() {
            for b in 0..=255u8 {
                let mut input = *DIGITS;
                input[pos] = b;
                let expected = reference_decode(&input);
                let got = decode_hex::<24>(&input);
                assert_eq!(
                    got.ok().map(|a| a.to_vec()),
                    expected,
                    "byte {b:#04x} at {pos}"
                );
                if expected.is_none() {
                    assert_eq!(decode_hex::<24>(&input), Err(pos));
                }
            }
        }
    }

    #[test]
    fn swar_and_the_wide_path_decode_alike_for_every_byte_at_every_position() {
        for pos in 0..DIGITS.len() {
            for b in 0..=255u8 {
                let mut input = *DIGITS;
                input[pos] = b;
                let (mut wide_out, mut swar_out) = ([0u8; 24], [0u8; 24]);
                let (wide_done, wide_ok) = wide::decode(&input, &mut wide_out);
                let (swar_done, swar_ok) = swar::decode(&input, &mut swar_out);
                assert_eq!(
                    (wide_done, wide_ok),
                    (swar_done, swar_ok),
                    "{b:#04x} at {pos}"
                );
                if wide_ok {
                    assert_eq!(wide_out, swar_out, "{b:#04x} at {pos}");
                }
            }
        }
    }

    #[test]
    fn encoding_matches_format_for_every_byte_value_on_both_paths() {
        for b in 0..=255u8 {
            let bytes = [
                b,
                0x0f,
                b.wrapping_mul(7),
                0xa0,
                b,
                1,
                2,
                0xff,
                b,
                0x10,
                0x9a,
                b ^ 0x5a,
                0,
                0x80,
                0x7f,
                b,
                0xee,
            ];
            let mut out = [0u8; 34];
            encode_hex(&bytes, &mut out);
            let expected: String = bytes.iter().map(|x| format!("{x:02x}")).collect();
            assert_eq!(std::str::from_utf8(&out).unwrap(), expected);
            let mut swar_out = [0u8; 34];
            assert_eq!(swar::encode(&bytes, &mut swar_out), 16);
            assert_eq!(swar_out[..32], out[..32]);
        }
    }

    #[test]
    fn odd_lengths_finish_with_the_table() {
        assert_eq!(decode_hex::<1>(b"a7"), Ok([0xa7]));
        assert_eq!(
            decode_hex::<9>(b"00f067aa0ba902b7ff"),
            Ok([0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7, 0xff])
        );
        assert_eq!(decode_hex::<9>(b"00f067aa0ba902b7fG"), Err(17));
        let mut out = [0u8; 2];
        encode_hex(&[0x3c], &mut out);
        assert_eq!(&out, b"3c");
    }
}
