//! Allocator settings for liner's binaries, which run on mimalloc (`linerd`, `liner`, the
//! benches): they keep resident memory near what is in use, and a process that has loaded a
//! catalog as fast afterwards as a fresh one.
//!
//! Freed memory goes back to the system after 100 ms instead of mimalloc's default second: a
//! bootstrap frees batch buffers on other threads than the ones that allocated them (decoding,
//! applying and indexing run on different threads), and a second's worth of those stayed
//! resident. Transparent huge pages are off: memory handed back and touched again was refaulted
//! as 2 MB pages, each zeroed whole, 8% of a bootstrap's CPU in the kernel's `clear_page_erms`
//! (perf). Measured at 1M: linerd's bootstrap peaked at 419–424 MB with neither, 353–362 MB
//! with the delay, 307–327 MB with both, in the same time (a 0 ms delay cost 4 s); in the
//! foundation bench, searches right after the load had a p99 of 3.7 ms with huge pages and
//! 2.7 ms without (2.9 ms in a fresh process either way), and generating the catalog took
//! 7.2 s instead of 2.1 s.

/// Applies the settings; call it early in `main`, before the work's threads start. A setting
/// this system refuses is returned for the caller to report where its logs go (it costs
/// memory, never correctness): the console, say, has no logger yet at the top of `main`.
#[allow(unsafe_code)]
pub fn keep_resident_memory_low() -> std::io::Result<()> {
    // Numbers in mimalloc.h's option enum (retired options keep theirs); libmimalloc-sys, which
    // builds mimalloc v3 here, does not name these two.
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    const ALLOW_THP: libmimalloc_sys::mi_option_t = 43;
    // SAFETY: mi_option_set only stores an integer option, which mimalloc documents as safe to
    // change at any time; both are valid options with valid values (milliseconds; a flag
    // mimalloc reads before asking for huge pages on each new mapping).
    unsafe {
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 100);
        libmimalloc_sys::mi_option_set(ALLOW_THP, 0);
    }
    // Also where the system gives huge pages without being asked.
    #[cfg(target_os = "linux")]
    rustix::thread::disable_transparent_huge_pages(true)?;
    Ok(())
}
