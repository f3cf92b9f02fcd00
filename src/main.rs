/// Large scans allocate millions of small JSON values; mimalloc handles that far better than
/// the system allocator (see docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    no_huge_pages();
    kubectl_secfix::cli::main()
}

/// Transparent huge pages off for this process: mimalloc asks the kernel for them, which then
/// zeroes a whole 2 MiB page on its first touch. That was a seventh of `fix`'s CPU at 1,000
/// objects (issue 26, docs/benchmarks.md), for a short-lived tool that gains nothing from them.
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and only sets a flag of this process.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
