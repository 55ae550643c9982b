//! Shared by every fuzz target: an allocation guard, so an unbounded allocation is a crash whether
//! or not the target is built with a sanitizer.
//!
//! libFuzzer's `-malloc_limit_mb` only works through a sanitizer's malloc hooks (AddressSanitizer
//! builds); `-rss_limit_mb` only sees pages that were touched. This global allocator aborts — a
//! crash libFuzzer reports and saves — as soon as one Rust allocation asks for `LIMIT` bytes or
//! more, or the Rust heap holds more than `LIMIT` bytes at once. A target links it with
//! `use tos_pool_fuzz as _;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

/// 256 MiB, the same as the `-malloc_limit_mb=256 -rss_limit_mb=256` the README runs with.
pub const LIMIT: usize = 256 << 20;

/// Bytes currently allocated through the Rust allocator.
static LIVE: AtomicUsize = AtomicUsize::new(0);

pub struct Guard;

impl Guard {
    #[inline]
    fn charge(size: usize) {
        let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
        if size >= LIMIT || live > LIMIT {
            // No allocation (and no unwinding) is allowed here: write a fixed message and abort.
            let _ = std::io::stderr().write_all(b"==tos-pool-fuzz== allocation limit exceeded (256 MiB)\n");
            std::process::abort();
        }
    }
}

// SAFETY: every call is forwarded to `System` unchanged; the guard only counts sizes.
unsafe impl GlobalAlloc for Guard {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::charge(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::charge(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        Self::charge(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GUARD: Guard = Guard;
