//! Every unsafe store of the kernel, in one place: writes into the
//! not-yet-initialised diff image, streaming stores, the fence after them
//! and prefetches.

use std::mem::MaybeUninit;

/// Diff image bytes while they are being drawn.
pub(super) type Out = [MaybeUninit<u8>];

/// View initialised bytes as bytes that are about to be overwritten.
pub(super) fn as_uninit(buf: &mut [u8]) -> &mut Out {
    // SAFETY: `MaybeUninit<u8>` has the layout of `u8`, and the kernel only
    // ever writes initialised values through the view, so `buf` stays
    // initialised.
    unsafe { &mut *(buf as *mut [u8] as *mut Out) }
}

#[inline(always)]
pub(super) fn draw(dst: &mut Out, [r, g, b]: [u8; 3]) {
    put(dst, [r, g, b, 255]);
}

/// Initialise the first `N` bytes of `dst` with one store.
#[inline(always)]
pub(super) fn put<const N: usize>(dst: &mut Out, bytes: [u8; N]) {
    let dst = &mut dst[..N];
    // SAFETY: `dst` is exactly N writable bytes (checked by the slice
    // above), `MaybeUninit<u8>` has the layout of `u8`, and the source is a
    // distinct local array. A plain array assignment to `MaybeUninit`s
    // compiles to byte-wise stores; this is one vector store.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst.as_mut_ptr().cast::<u8>(), N) }
}

/// Store 16 bytes at the start of `dst`; with `STREAM` on x86_64, and
/// when `dst` is 16-byte aligned, bypassing the cache.
#[inline(always)]
pub(super) fn put16<const STREAM: bool>(dst: &mut Out, bytes: [u8; 16]) {
    #[cfg(target_arch = "x86_64")]
    if STREAM {
        let dst = &mut dst[..16];
        if dst.as_ptr().addr().is_multiple_of(16) {
            // SAFETY: `dst` is 16 writable bytes (checked by the slice
            // above) and 16-byte aligned (checked just now), as
            // `_mm_stream_si128` requires; `__m128i` and `[u8; 16]` have the
            // same size, and every bit pattern is valid for both.
            unsafe {
                use std::arch::x86_64::{__m128i, _mm_stream_si128};
                let v = std::mem::transmute::<[u8; 16], __m128i>(bytes);
                _mm_stream_si128(dst.as_mut_ptr().cast::<__m128i>(), v);
            }
            return;
        }
    }
    put(dst, bytes);
}

/// Make the streaming stores of this thread visible in program order
/// with its later stores.
#[inline]
pub(super) fn stream_fence() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of the x86_64 baseline, and a fence has no
    // other precondition.
    unsafe {
        std::arch::x86_64::_mm_sfence();
    }
}

/// Hint the CPU to fetch byte `at` of `buf`, if there is one.
#[inline(always)]
pub(super) fn prefetch(buf: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(byte) = buf.get(at) {
        // SAFETY: a prefetch is only a hint: it never faults and changes no
        // memory, and the address is in bounds anyway.
        unsafe {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(byte).cast::<i8>());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (buf, at);
}

/// How many pixels from the start of `row` its first 64-byte cache line
/// begins (0 when the row is not even 4-byte aligned).
pub(super) fn line_offset(row: &Out) -> usize {
    let misaligned = row.as_ptr().addr() % 64;
    if misaligned.is_multiple_of(4) {
        (64 - misaligned) % 64 / 4
    } else {
        0
    }
}
