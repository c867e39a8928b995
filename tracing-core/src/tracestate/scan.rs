//! One pass over a header value: members, their keys and values, and the
//! fast path for a header that is already canonical.

use super::grammar::{
    CLASS, KEY_AT, KEY_CHAR, KEY_FIRST, KeyGrammar, VALUE_CHAR, check_key, check_value,
};
use super::{MAX_MEMBERS, TraceState};
use crate::error::{Error, ErrorKind};

/// One well-formed member found by [`scan_member`], as offsets into the
/// bytes scanned.
pub(super) struct Member {
    /// Offset of the `=`: the key ends here.
    pub(super) eq: usize,
    /// End of the value, trailing spaces excluded.
    pub(super) end: usize,
    /// Where scanning resumes: the `,` after the member, or the end.
    pub(super) next: usize,
}

/// Scans the member starting at `at` (not a space, tab or comma) in one
/// pass: a Level 2 key, `=`, a value of 1 to 256 characters, optional
/// spaces and tabs, then `,` or the end. `None` when the member is not
/// exactly that; [`member_error`] then says why.
///
/// Kept out of line: inlined into [`from_canonical_header`] it made a
/// round trip with a one-member `tracestate` about 100 instructions longer
/// (callgrind, 1,197 against 1,096 per extract, child and inject).
#[inline(never)]
pub(super) fn scan_member(bytes: &[u8], at: usize) -> Option<Member> {
    let class = |i: usize| CLASS[usize::from(bytes[i])];
    if class(at) & KEY_FIRST == 0 {
        return None;
    }
    let eq = key_run_end(bytes, at + 1);
    if eq == bytes.len() || bytes[eq] != b'=' || eq - at > 256 {
        return None;
    }
    let stop = value_run_end(bytes, eq + 1);
    let mut end = stop;
    while end > eq + 1 && bytes[end - 1] == b' ' {
        end -= 1;
    }
    if end == eq + 1 || end - eq - 1 > 256 {
        return None;
    }
    let mut next = stop;
    while next < bytes.len() && matches!(bytes[next], b' ' | b'\t') {
        next += 1;
    }
    if next < bytes.len() && bytes[next] != b',' {
        return None;
    }
    Some(Member { eq, end, next })
}

/// Where the run of value characters (printable ASCII but `,` and `=`)
/// starting at `from` ends: the offset of the first other byte, or the end.
#[inline]
pub(super) fn value_run_end(bytes: &[u8], from: usize) -> usize {
    run_end(bytes, from, VALUE_CHAR)
}

/// Where the run of key characters after a key's first one (`a-z 0-9 _ - *
/// / @`) starting at `from` ends.
#[inline]
pub(super) fn key_run_end(bytes: &[u8], from: usize) -> usize {
    run_end(bytes, from, KEY_CHAR | KEY_AT)
}

/// Where the run of bytes in `classes` (`VALUE_CHAR`, or `KEY_CHAR |
/// KEY_AT`) starting at `from` ends. On x86_64 runs are scanned 16 bytes
/// at a time, and the bytes left at the end of the header, usually fewer
/// than 16, in one block that ends at the end.
#[inline(always)]
fn run_end(bytes: &[u8], from: usize, classes: u8) -> usize {
    let mut i = from;
    #[cfg(target_arch = "x86_64")]
    {
        let outside = |block: &[u8]| {
            if classes == VALUE_CHAR {
                sse2::non_value_mask(block)
            } else {
                sse2::non_key_mask(block)
            }
        };
        while let Some(block) = bytes.get(i..i + 16) {
            match outside(block) {
                0 => i += 16,
                mask => return i + mask.trailing_zeros() as usize,
            }
        }
        if i < bytes.len() && bytes.len() >= 16 {
            let base = bytes.len() - 16;
            // The bits of the bytes before `i` were scanned already (or are
            // not part of the run): drop them.
            let skip = i - base;
            return match outside(&bytes[base..]) >> skip << skip {
                0 => bytes.len(),
                mask => base + mask.trailing_zeros() as usize,
            };
        }
    }
    while i < bytes.len() && CLASS[usize::from(bytes[i])] & classes != 0 {
        i += 1;
    }
    i
}

/// Key and value scanning with SSE2, part of every x86_64 CPU.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8,
        _mm_or_si128, _mm_set1_epi8, _mm_sub_epi8,
    };

    /// One bit per byte of `block` (16 bytes) that is not a value character.
    #[inline(always)]
    pub(super) fn non_value_mask(block: &[u8]) -> u32 {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { value_mask(block) }
    }

    /// One bit per byte of `block` (16 bytes) that is not a key character
    /// (`a-z 0-9 _ - * / @`).
    #[inline(always)]
    pub(super) fn non_key_mask(block: &[u8]) -> u32 {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { key_mask(block) }
    }

    /// The 16 bytes of `block` in one register.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn load(block: &[u8]) -> __m128i {
        let block = &block[..16];
        // SAFETY: `block` holds 16 readable bytes; the load is unaligned.
        unsafe { _mm_loadu_si128(block.as_ptr().cast()) }
    }

    /// The signed compare below 0x20 also catches every byte from 0x80 up.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn value_mask(block: &[u8]) -> u32 {
        let c = load(block);
        let is = |b: u8| _mm_cmpeq_epi8(c, _mm_set1_epi8(b as i8));
        let control_or_high = _mm_cmplt_epi8(c, _mm_set1_epi8(0x20));
        let bad = _mm_or_si128(
            _mm_or_si128(control_or_high, is(0x7f)),
            _mm_or_si128(is(b','), is(b'=')),
        );
        // OK to cast: the mask of 16 bytes fits in 16 bits.
        _mm_movemask_epi8(bad) as u32
    }

    /// A range `lo..=hi` is tested as `min(c - lo, hi - lo) == c - lo`
    /// on unsigned bytes (SSE2 has no unsigned compare).
    #[inline]
    #[target_feature(enable = "sse2")]
    fn key_mask(block: &[u8]) -> u32 {
        let c = load(block);
        let is = |b: u8| _mm_cmpeq_epi8(c, _mm_set1_epi8(b as i8));
        let within = |lo: u8, hi: u8| {
            let d = _mm_sub_epi8(c, _mm_set1_epi8(lo as i8));
            _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8((hi - lo) as i8)), d)
        };
        let good = _mm_or_si128(
            _mm_or_si128(within(b'a', b'z'), within(b'0', b'9')),
            _mm_or_si128(
                _mm_or_si128(is(b'_'), is(b'-')),
                _mm_or_si128(_mm_or_si128(is(b'*'), is(b'/')), is(b'@')),
            ),
        );
        // OK to cast: the mask of 16 bytes fits in 16 bits.
        !(_mm_movemask_epi8(good) as u32) & 0xffff
    }
}

/// Why the member of `value` starting at `at` is malformed: the member runs
/// to the next comma, spaces and tabs around it are dropped, and its key and
/// value are checked in that order. Only called when [`scan_member`] refused
/// the member, so it always finds a problem.
#[cold]
#[inline(never)]
pub(super) fn member_error(value: &str, at: usize, grammar: KeyGrammar) -> Error {
    let end = value[at..].find(',').map_or(value.len(), |i| at + i);
    let member = value[at..end].trim_end_matches([' ', '\t']);
    let Some((key, val)) = member.split_once('=') else {
        return Error::new(ErrorKind::TraceState, "member has no '='").at(at);
    };
    if let Err(what) = check_key(key, grammar) {
        return Error::new(ErrorKind::TraceState, what).at(at);
    }
    let what = check_value(val).err().unwrap_or("malformed member");
    Error::new(ErrorKind::TraceState, what).at(at + key.len() + 1)
}

/// The first 8 bytes of `key` (zero-padded), from one load when 8 bytes
/// can be read.
#[inline]
pub(super) fn key_prefix(bytes: &[u8], at: usize, len: usize) -> u64 {
    let keep = len.min(8);
    let mask = u64::MAX >> (64 - 8 * keep);
    match bytes.get(at..at + 8) {
        Some(eight) => {
            let mut word = [0u8; 8];
            word.copy_from_slice(eight);
            u64::from_le_bytes(word) & mask
        }
        None => {
            let mut word = [0u8; 8];
            word[..keep].copy_from_slice(&bytes[at..at + keep]);
            u64::from_le_bytes(word)
        }
    }
}

/// The state for one header value that is already canonical and valid:
/// members separated by single commas, without spaces, tabs or empty members
/// around them. `None` for anything else, which [`Builder`] then handles,
/// naming the problem when there is one.
// Inlined into `TraceState::extend_from_header`, its only caller, as it
// was before the tracestate module was split into files.
#[inline]
pub(super) fn from_canonical_header(value: &str, grammar: KeyGrammar) -> Option<TraceState> {
    let src = value.as_bytes();
    if src.len() > usize::from(u16::MAX) {
        return None;
    }
    // Offsets fit in `u16`: the value is no longer than that.
    let mut starts = [0u16; MAX_MEMBERS];
    let mut lens = [0u16; MAX_MEMBERS];
    let mut prefixes = [0u64; MAX_MEMBERS];
    let mut count = 0;
    let mut at = 0;
    while at < src.len() {
        if count == MAX_MEMBERS {
            return None;
        }
        let member = scan_member(src, at)?;
        // Spaces or tabs after the value, or a comma ending the header.
        if member.end != member.next || member.next + 1 == src.len() {
            return None;
        }
        let key_len = member.eq - at;
        if grammar == KeyGrammar::Level1 && check_key(&value[at..member.eq], grammar).is_err() {
            return None;
        }
        let prefix = key_prefix(src, at, key_len);
        let duplicate = (0..count).any(|j| {
            let start = usize::from(starts[j]);
            usize::from(lens[j]) == key_len
                && prefixes[j] == prefix
                && (key_len <= 8 || src[start..start + key_len] == src[at..member.eq])
        });
        if duplicate {
            return None;
        }
        // OK to truncate: both are below the value's length.
        (starts[count], lens[count], prefixes[count]) = (at as u16, key_len as u16, prefix);
        count += 1;
        at = member.next + 1;
    }
    Some(TraceState::from_text(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_runs_end_where_the_table_says_for_every_byte_at_every_position() {
        let base = *b"opaque value ~!@#$%^&*()[]{}<>?/|;:'\"` 0123456789-value";
        runs_end_where_the_table_says(&base, VALUE_CHAR, value_run_end);
    }

    #[test]
    fn key_runs_end_where_the_table_says_for_every_byte_at_every_position() {
        let base = *b"vendor_1-2*3/4@tenant@@az09_-*/@system-name/x";
        runs_end_where_the_table_says(&base, KEY_CHAR | KEY_AT, key_run_end);
    }

    /// Every byte value at every position of `base`, scanned from several
    /// starts, and every length of it (short ones take the byte loop, long
    /// ones the blocks and the block that ends at the end).
    fn runs_end_where_the_table_says(base: &[u8], classes: u8, run_end: fn(&[u8], usize) -> usize) {
        for pos in 0..base.len() {
            for b in 0..=255u8 {
                let mut bytes = base.to_vec();
                bytes[pos] = b;
                for len in [pos + 1, pos + 7, 16, 17, 31, base.len()] {
                    let bytes = &bytes[..len.clamp(pos + 1, base.len())];
                    for from in [0, 1, pos.saturating_sub(3), pos] {
                        let expected = (from..bytes.len())
                            .find(|&i| CLASS[usize::from(bytes[i])] & classes == 0)
                            .unwrap_or(bytes.len());
                        assert_eq!(
                            run_end(bytes, from),
                            expected,
                            "{b:#04x} at {pos}, from {from}, length {}",
                            bytes.len()
                        );
                    }
                }
            }
        }
    }
}
