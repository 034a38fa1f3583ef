//! Process-wide allocator settings.

/// Keeps freed memory in the heap instead of handing it back to the kernel.
///
/// glibc serves blocks above 128 KiB with fresh `mmap`s and returns freed memory at the top of
/// the heap, so every chunk of model inference (buffers of megabytes, allocated and freed per
/// chunk) pays for page faults and zeroing again. Serving blocks up to 32 MiB (glibc's upper
/// limit) from the heap and trimming it only above 1 GiB of free space took `slipstream predict`
/// of the bundled Ahmed body from 9.5 s to 5.8 s on two cores; peak memory is unchanged. A no-op
/// where the C library is not glibc.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning parameters; called before any other thread
    // exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}
