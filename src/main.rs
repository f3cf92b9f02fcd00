/// Large scans allocate millions of small JSON values; mimalloc handles that far better than
/// the system allocator (see docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    kubectl_secfix::cli::main()
}
