//! The crate edges are the layers (docs/architecture.md): the core crate's normal
//! dependency tree holds no async runtime, HTTP client, Kubernetes client, command-line
//! parser or terminal crate. Checked with the real `cargo tree`.

use std::process::Command;

/// Crates the pure core must never depend on (directly or through another crate).
const FORBIDDEN: &[&str] = &[
    "tokio",
    "hyper",
    "reqwest",
    "ureq",
    "kube",
    "kube-client",
    "clap",
    "console",
    "indicatif",
    "dialoguer",
    "crossterm",
    "comfy-table",
    "aws-lc-rs",
];

fn tree(package: &str) -> Vec<String> {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            package,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_core_crate_has_no_runtime_http_cli_or_terminal_dependency() {
    let deps = tree("secfix-core");
    assert!(deps.iter().any(|d| d == "secfix-core"), "{deps:?}");
    let bad: Vec<&String> = deps
        .iter()
        .filter(|d| FORBIDDEN.contains(&d.as_str()))
        .collect();
    assert!(bad.is_empty(), "secfix-core depends on {bad:?}");
}

#[test]
fn the_io_crate_has_no_cli_or_terminal_dependency() {
    let deps = tree("secfix-io");
    let bad: Vec<&String> = deps
        .iter()
        .filter(|d| {
            ["clap", "console", "indicatif", "dialoguer", "comfy-table"].contains(&d.as_str())
        })
        .collect();
    assert!(bad.is_empty(), "secfix-io depends on {bad:?}");
}
