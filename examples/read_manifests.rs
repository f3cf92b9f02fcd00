//! Prints the objects kubectl-secfix reads from manifests, one JSON object per line, each
//! as `{"file": ..., "line": ..., "object": ...}`; problems go to stderr as `file:line: ...`.
//! Used by `scripts/corpus-check.sh` to compare our reader with kubectl's, and by the
//! benchmarks (`--count` only counts).
//!
//! Usage: cargo run --release --example read_manifests -- [--count] [--keep] [--threads N] PATH...

use std::io::Write as _;
use std::path::PathBuf;

// The same allocator as the kubectl-secfix binary, so timings match.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut count_only = false;
    let mut keep = false;
    let mut threads = None;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--count" => count_only = true,
            "--keep" => keep = true,
            "--threads" => threads = args.next().and_then(|n| n.parse().ok()),
            _ => paths.push(PathBuf::from(a)),
        }
    }
    let mut opts = kubectl_secfix::manifest::ReadOptions {
        keep,
        ..Default::default()
    };
    if let Some(t) = threads {
        opts.threads = t;
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut objects = 0usize;
    let mut errors = 0usize;
    kubectl_secfix::manifest::read(
        &paths,
        &opts,
        &mut |value, loc| {
            objects += 1;
            if !count_only {
                let line = serde_json::json!({"file": loc.file, "line": loc.line, "object": value});
                let _ = writeln!(out, "{line}");
            }
        },
        &mut |d| {
            errors += usize::from(d.error);
            eprintln!("{}: {d}", if d.error { "error" } else { "warning" });
        },
    );
    if count_only {
        let _ = writeln!(out, "{objects} objects, {errors} errors");
    }
    let _ = out.flush();
    std::process::exit(i32::from(errors > 0));
}
