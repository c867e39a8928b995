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
    let mut eq = at + 1;
    while eq < bytes.len() && class(eq) & (KEY_CHAR | KEY_AT) != 0 {
        eq += 1;
    }
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
/// Values are the long part of a member, so on x86_64 they are scanned 16
/// bytes at a time.
#[inline]
pub(super) fn value_run_end(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    #[cfg(target_arch = "x86_64")]
    while let Some(block) = bytes.get(i..i + 16) {
        match sse2::first_non_value(block) {
            Some(k) => return i + k,
            None => i += 16,
        }
    }
    while i < bytes.len() && CLASS[usize::from(bytes[i])] & VALUE_CHAR != 0 {
        i += 1;
    }
    i
}

/// Value scanning with SSE2, part of every x86_64 CPU.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };

    /// The position of the first byte of `block` (16 bytes) that is not a
    /// value character, if any.
    #[inline(always)]
    pub(super) fn first_non_value(block: &[u8]) -> Option<usize> {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        let mask = unsafe { non_value_mask(block) };
        (mask != 0).then(|| mask.trailing_zeros() as usize)
    }

    /// One bit per byte of `block` that is not a value character. The signed
    /// compare below 0x20 also catches every byte from 0x80 up.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn non_value_mask(block: &[u8]) -> u32 {
        let block = &block[..16];
        // SAFETY: `block` holds 16 readable bytes; the load is unaligned.
        let c: __m128i = unsafe { _mm_loadu_si128(block.as_ptr().cast()) };
        let is = |b: u8| _mm_cmpeq_epi8(c, _mm_set1_epi8(b as i8));
        let control_or_high = _mm_cmplt_epi8(c, _mm_set1_epi8(0x20));
        let bad = _mm_or_si128(
            _mm_or_si128(control_or_high, is(0x7f)),
            _mm_or_si128(is(b','), is(b'=')),
        );
        // OK to cast: the mask of 16 bytes fits in 16 bits.
        _mm_movemask_epi8(bad) as u32
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
        for pos in 0..base.len() {
            for b in 0..=255u8 {
                let mut bytes = base;
                bytes[pos] = b;
                for from in [0, 1, pos.saturating_sub(3), pos] {
                    let expected = (from..bytes.len())
                        .find(|&i| CLASS[usize::from(bytes[i])] & VALUE_CHAR == 0)
                        .unwrap_or(bytes.len());
                    assert_eq!(
                        value_run_end(&bytes, from),
                        expected,
                        "{b:#04x} at {pos}, from {from}"
                    );
                }
            }
        }
    }
}
