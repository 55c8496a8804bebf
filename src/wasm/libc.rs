//! The C allocation functions that the JPEG 2000 decoder (`openjp2`, a C-to-Rust translation)
//! imports from `env` on wasm32, where there is no C library: served by Rust's allocator. Each
//! block carries its size in a 16-byte header so that `free` and `realloc` can find it; `free`
//! and `realloc` accept null, as C requires.

use std::alloc::{Layout, alloc, alloc_zeroed, dealloc, realloc as grow};

const HEADER: usize = 16;

fn layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(HEADER)?, HEADER).ok()
}

/// # Safety
/// `base` must come from this module's allocation with its header written.
unsafe fn finish(base: *mut u8, size: usize) -> *mut u8 {
    if base.is_null() {
        return base;
    }
    // SAFETY: the block is at least HEADER bytes long and HEADER-aligned.
    unsafe {
        (base as *mut usize).write(size);
        base.add(HEADER)
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn malloc(size: usize) -> *mut u8 {
    match layout(size) {
        // SAFETY: the layout has a non-zero size.
        Some(l) => unsafe { finish(alloc(l), size) },
        None => std::ptr::null_mut(),
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn calloc(n: usize, size: usize) -> *mut u8 {
    match n.checked_mul(size).and_then(|s| Some((s, layout(s)?))) {
        // SAFETY: the layout has a non-zero size.
        Some((s, l)) => unsafe { finish(alloc_zeroed(l), s) },
        None => std::ptr::null_mut(),
    }
}

/// # Safety
/// `p` is null or a pointer returned by `malloc`, `calloc` or `realloc` here, not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn free(p: *mut u8) {
    if p.is_null() {
        return;
    }
    // SAFETY: the caller passes a pointer from this module; its header holds the size.
    unsafe {
        let base = p.sub(HEADER);
        let size = (base as *const usize).read();
        if let Some(l) = layout(size) {
            dealloc(base, l);
        }
    }
}

/// # Safety
/// As for [`free`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn realloc(p: *mut u8, size: usize) -> *mut u8 {
    if p.is_null() {
        return malloc(size);
    }
    // SAFETY: as in `free`; the new size is checked by `layout`.
    unsafe {
        let base = p.sub(HEADER);
        let old = (base as *const usize).read();
        match (layout(old), layout(size)) {
            (Some(l), Some(n)) => finish(grow(base, l, n.size()), size),
            _ => std::ptr::null_mut(),
        }
    }
}

/// # Safety
/// `dst` must have room for `src` and its terminating NUL; `src` must be NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strcpy(dst: *mut u8, src: *const u8) -> *mut u8 {
    let mut i = 0;
    // SAFETY: the caller guarantees both strings as C does.
    unsafe {
        loop {
            let c = *src.add(i);
            *dst.add(i) = c;
            if c == 0 {
                break;
            }
            i += 1;
        }
    }
    dst
}
