//! The real binary on hostile or unusual input (issue #15): flags at their limits, image
//! references that look pinned but cannot be pulled, values that try to leak through error
//! messages. Hermetic: no cluster, no network.

use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-secfix");

fn secfix(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("KUBECONFIG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run kubectl-secfix")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn manifest(dir: &std::path::Path, body: &str) -> String {
    let p = dir.join("m.yaml");
    std::fs::write(&p, body).expect("write manifest");
    p.to_str().expect("utf-8 path").to_string()
}

fn deployment(image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: shop}}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      containers:\n      - name: app\n        image: {image:?}\n"
    )
}

/// covers issue #15 (item 5): an absurd `--registry-timeout` is a usage error naming the
/// flag (exit 2), never a duration overflow panic (exit 101).
#[test]
fn registry_timeout_out_of_range_is_a_usage_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let m = manifest(dir.path(), &deployment("nginx:1.25"));
    for value in ["18446744073709551615", "0", "3601", "-1"] {
        for cmd in ["scan", "fix"] {
            let flag = format!("--registry-timeout={value}");
            let mut args = vec![cmd, "-f", &m, &flag];
            if cmd == "fix" {
                args.push("--dry-run=client");
            }
            let out = secfix(&args);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{cmd} {value}: {err}");
            assert!(err.contains("--registry-timeout"), "{cmd} {value}: {err}");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
    let out = secfix(&["scan", "-f", &m, "--registry-timeout", "3600", "-o", "json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
}

/// covers issue #15 (item 12): references whose digest no runtime can pull are reported as
/// not pinned (an invalid reference, not fixable), never skipped as pinned.
#[test]
fn unpullable_digests_are_reported_not_taken_as_pinned() {
    let hex = "0123456789abcdef".repeat(4);
    let dir = tempfile::tempdir().expect("temp dir");
    for image in [
        "x@md5:abc".to_string(),
        format!("a@b@sha256:{hex}"),
        format!("nginx@sha256:{}", hex.to_uppercase()),
        "nginx:1.25 ".to_string(),
    ] {
        let m = manifest(dir.path(), &deployment(&image));
        let out = secfix(&[
            "scan",
            "-f",
            &m,
            "-o",
            "json",
            "--checks",
            "mutable-image-tag",
        ]);
        assert_eq!(
            out.status.code(),
            Some(3),
            "{image:?}: {}",
            text(&out.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
        let f = &report["findings"][0];
        assert_eq!(f["check"], "mutable-image-tag", "{image:?}");
        assert_eq!(f["fixable"], false, "{image:?}");
        assert!(
            f["message"]
                .as_str()
                .is_some_and(|m| m.contains("invalid image reference")),
            "{image:?}: {f}"
        );
    }
}

/// covers issue #15 (item 12): `"nginx:1.25 "` is never rewritten to `nginx:1.25 @sha256:…`
/// by an offline fix.
#[test]
fn a_reference_with_a_trailing_space_is_never_pinned() {
    let dir = tempfile::tempdir().expect("temp dir");
    let m = manifest(dir.path(), &deployment("nginx:1.25 "));
    let out = secfix(&[
        "fix",
        "-f",
        &m,
        "--checks",
        "mutable-image-tag",
        "--digest-source",
        "pods",
        "--dry-run=client",
    ]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains(" @sha256:"), "{all}");
    assert!(!all.contains("1.25@sha256:"), "{all}");
}

/// covers issue #15 (item 4): a string `valueFrom` holding `", expected"` is redacted whole
/// in the parse error of the real binary.
#[test]
fn a_string_value_from_holding_expected_is_never_echoed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let m = manifest(
        dir.path(),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: nginx\n    env:\n    - name: DB_PASSWORD\n      valueFrom: 'sfxLEAK-one\", expected sfxLEAK-two'\n",
    );
    for args in [
        vec!["scan", "-f", &m],
        vec!["scan", "-f", &m, "-o", "json"],
        vec!["fix", "-f", &m, "--dry-run=client"],
    ] {
        let out = secfix(&args);
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        // Input that cannot be read is reported and the run exits 1 (issue #16).
        assert_eq!(out.status.code(), Some(1), "{args:?}: {all}");
        assert!(!all.contains("sfxLEAK"), "{args:?}: {all}");
        assert!(all.contains("<redacted>"), "{args:?}: {all}");
    }
}
