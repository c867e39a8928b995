//! Canonical text built from header values that need more than the fast
//! path: repeated headers, spaces, tabs, empty members and errors.

use std::sync::Arc;

use super::grammar::{KeyGrammar, check_key};
use super::scan::{key_prefix, member_error, scan_member};
use super::{INLINE_CAP, InvalidMember, MAX_HEADER_LEN, MAX_MEMBERS, Repr, TraceState};
use crate::error::{Error, ErrorKind};

/// Longest canonical text the builder keeps on the stack; longer texts move
/// to the heap. Propagated headers are truncated to this length, so most
/// incoming ones fit.
const STACK_CAP: usize = MAX_HEADER_LEN;

/// Validates header values into canonical text (`k=v,k=v`): repeated
/// headers, and the ones the one-pass scan refused (spaces, tabs, empty
/// members, duplicate keys, errors).
///
/// Each header value is copied once, whole, behind the text built so far,
/// then validated member by member in place; a member moves down only when
/// spaces, tabs or empty members came before it.
#[derive(Debug)]
pub(crate) struct Builder {
    stack: [u8; STACK_CAP],
    heap: Option<Vec<u8>>,
    len: usize,
    count: usize,
    // Where each member's key sits in the text, as (start, length). Canonical
    // text is at most 32 * 514 bytes, so `u16` fits.
    keys: [(u16, u16); MAX_MEMBERS],
    // Each key's first 8 bytes (zero-padded): equal keys have equal prefixes,
    // and keys of up to 8 bytes are equal exactly when their prefixes are.
    prefixes: [u64; MAX_MEMBERS],
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            stack: [0; STACK_CAP],
            heap: None,
            len: 0,
            count: 0,
            keys: [(0, 0); MAX_MEMBERS],
            prefixes: [0; MAX_MEMBERS],
        }
    }
}

impl Builder {
    /// Appends the members of one more header value: each member whose key
    /// is already present is skipped, and a malformed one fails the push or
    /// is skipped, as `invalid` says. On error the builder may hold part of
    /// the header; callers drop it.
    pub(crate) fn push(
        &mut self,
        value: &str,
        grammar: KeyGrammar,
        invalid: InvalidMember,
    ) -> Result<(), Error> {
        let Builder {
            stack,
            heap,
            len,
            count,
            keys,
            prefixes,
        } = self;
        // The value goes one byte past the text, leaving room for a comma.
        let origin = *len + 1;
        let end = origin + value.len();
        let text: &mut [u8] = match heap {
            None if end <= STACK_CAP => {
                stack[origin..end].copy_from_slice(value.as_bytes());
                &mut stack[..end]
            }
            _ => {
                let heap = heap.get_or_insert_with(|| stack[..*len].to_vec());
                heap.truncate(*len);
                heap.push(b',');
                heap.extend_from_slice(value.as_bytes());
                &mut heap[..]
            }
        };
        let mut i = origin;
        loop {
            while i < end && matches!(text[i], b' ' | b'\t' | b',') {
                i += 1;
            }
            if i == end {
                return Ok(());
            }
            let at = i;
            let member = scan_member(&text[..end], at).filter(|member| {
                grammar != KeyGrammar::Level1
                    || check_key(&value[at - origin..member.eq - origin], grammar).is_ok()
            });
            let Some(member) = member else {
                match invalid {
                    InvalidMember::DiscardAll => {
                        return Err(member_error(value, at - origin, grammar));
                    }
                    // Values never hold a comma, so the member ends at the
                    // next one.
                    InvalidMember::DropMember => {
                        i = text[at..end]
                            .iter()
                            .position(|&c| c == b',')
                            .map_or(end, |k| at + k);
                        continue;
                    }
                }
            };
            let key_len = member.eq - at;
            let prefix = key_prefix(text, at, key_len);
            let duplicate = (0..*count).any(|j| {
                let (start, l) = (usize::from(keys[j].0), usize::from(keys[j].1));
                l == key_len
                    && prefixes[j] == prefix
                    && (key_len <= 8 || text[start..start + l] == text[at..at + key_len])
            });
            if duplicate {
                // Keys are unique by the sender's duty; a receiver keeps
                // one member per key, the first (the most recent).
                i = member.next;
                continue;
            }
            if *count == MAX_MEMBERS {
                return Err(
                    Error::new(ErrorKind::TraceState, "more than 32 members").at(at - origin)
                );
            }
            // Canonical position: right after the text, behind a comma.
            let comma = usize::from(*count > 0);
            let target = *len + comma;
            if comma == 1 {
                text[*len] = b',';
            }
            if target != at {
                text.copy_within(at..member.end, target);
            }
            // OK to truncate: canonical text of 32 members of at most
            // 256 + 1 + 256 bytes, with commas, stays below 65536.
            keys[*count] = (target as u16, key_len as u16);
            prefixes[*count] = prefix;
            *count += 1;
            *len = target + (member.end - at);
            i = member.next;
        }
    }

    /// The state built so far. Empty (and free) when no member was pushed;
    /// inline (also free) when the text is short; otherwise one shared
    /// allocation.
    #[inline]
    pub(crate) fn finish(&self) -> TraceState {
        let text = match &self.heap {
            Some(heap) => &heap[..self.len],
            None => &self.stack[..self.len],
        };
        let repr = match text.len() {
            0 => Repr::Empty,
            len @ 1..=INLINE_CAP => {
                let mut buf = [0; INLINE_CAP];
                match &self.heap {
                    // One fixed-size copy; the bytes past `len` are never read.
                    None => buf.copy_from_slice(&self.stack[..INLINE_CAP]),
                    Some(_) => buf[..len].copy_from_slice(text),
                }
                Repr::Inline {
                    // OK to truncate: `len` is at most INLINE_CAP (62).
                    len: len as u8,
                    buf,
                }
            }
            // SAFETY: the text holds only members that passed `scan_member`
            // (ASCII classes only) and ASCII commas; ASCII is valid UTF-8.
            _ => Repr::Shared(Arc::from(unsafe { std::str::from_utf8_unchecked(text) })),
        };
        TraceState { repr }
    }
}
