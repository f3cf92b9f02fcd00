//! Hermetic CLI tests of the offline side (`-f`): no cluster, no network, the real binary.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-secfix");

const APP: &str = "# the app\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {app: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - name: app\n        image: nginx:1.25@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae\n        env:\n        - {name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}\n";
const CONFIG: &str = "apiVersion: v1\nkind: ConfigMap   # keep this comment\nmetadata: {name: settings}\ndata: {mode: fast}\n";

fn secfix(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("KUBECONFIG")
        .env("NO_COLOR", "1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run kubectl-secfix");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn findings(out: &Output) -> Vec<Value> {
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    });
    report["findings"].as_array().cloned().unwrap_or_default()
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, body).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn stdin_directories_lists_and_json_are_all_read() {
    let out = secfix(
        &["scan", "-f", "-", "-o", "json", "--checks", "env-secret"],
        Some(APP),
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let f = findings(&out);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["source"]["file"], "-");
    assert_eq!(
        f[0]["namespace"], "default",
        "no namespace: -n, else default"
    );

    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a/app.yaml", APP);
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
        serde_saphyr::from_str::<Value>(&APP.replace("name: web\n", "name: listed\n")).unwrap()
    ]});
    write(dir.path(), "b/c/list.json", &list.to_string());
    write(dir.path(), "b/notes.txt", "not a manifest");
    let out = secfix(
        &[
            "scan",
            "-f",
            dir.path().to_str().unwrap(),
            "-n",
            "prod",
            "-o",
            "json",
            "--checks",
            "env-secret",
        ],
        None,
    );
    let names: Vec<String> = findings(&out)
        .iter()
        .map(|f| {
            format!(
                "{}/{}",
                f["namespace"].as_str().unwrap(),
                f["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(names, ["prod/listed", "prod/web"]);
}

#[test]
fn bad_input_names_the_file_and_line_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "bad.yaml",
        &format!("{APP}---\nkind: Deployment\nmetadata: [oops\n"),
    );
    let out = secfix(&["scan", "-f", &bad], None);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("{bad}:19: invalid YAML")), "{err}");
    let missing = secfix(&["scan", "-f", "/nonexistent/x.yaml"], None);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("/nonexistent/x.yaml"));
    let flag = secfix(&["scan", "--checks", "nope"], None);
    assert_eq!(flag.status.code(), Some(2));
    assert!(text(&flag.stderr).contains("--checks"));
}

#[test]
fn write_rewrites_only_what_changes_and_nothing_when_any_file_is_bad() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "all.yaml", &format!("{CONFIG}---\n{APP}"));
    let out = secfix(
        &["fix", "-f", &file, "--checks", "env-secret", "--write"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(
        after.starts_with(&format!("{CONFIG}---\n")),
        "untouched document kept byte for byte:\n{after}"
    );
    let fixed = &after[CONFIG.len() + 4..];
    let keys: Vec<&str> = fixed
        .lines()
        .filter(|l| !l.starts_with([' ', '-', '#']))
        .collect();
    assert_eq!(
        keys,
        [
            "apiVersion: apps/v1",
            "kind: Deployment",
            "metadata:",
            "spec:"
        ],
        "key order kept"
    );
    assert!(fixed.contains("DB_PASSWORD_FILE") && !fixed.contains("secretKeyRef"));

    // Nothing is written when any input fails to parse.
    let good = write(dir.path(), "good.yaml", APP);
    let broken = write(dir.path(), "broken.yaml", "kind: [\n");
    let out = secfix(&["fix", "-f", &good, "-f", &broken, "--write"], None);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&good).unwrap(), APP);
}

#[test]
fn fix_prints_only_changed_objects_and_never_a_literal() {
    let literal = "Hunter2-Literal-Value-77";
    let manifests = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: db}}\nstringData: {{password: {literal}}}\n---\n{}",
        APP.replace(
            "        - {name: DB_PASSWORD",
            &format!(
                "        - {{name: API_TOKEN, value: {literal}}}\n        - {{name: DB_PASSWORD"
            )
        )
    );
    let out = secfix(&["fix", "-f", "-"], Some(&manifests));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        !stdout.contains(literal) && !stderr.contains(literal),
        "{stdout}\n{stderr}"
    );
    assert!(
        !stdout.contains("kind: Secret"),
        "unchanged documents are not echoed"
    );
    assert!(stdout.contains("kind: Deployment") && stdout.contains("kind: NetworkPolicy"));
    assert!(
        stderr.contains("web-secfix"),
        "says which Secret to create: {stderr}"
    );
}

/// Covers issue #11: `untrusted-registry` offline. A Namespace that narrows the list is
/// honoured even when it comes after the workload in the file.
#[test]
fn untrusted_registry_offline_honours_a_namespace_that_comes_later_in_the_file() {
    let doc = |ns: &str, image: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: {ns}}}\nspec:\n  template:\n    spec:\n      initContainers: [{{name: init, image: busybox}}]\n      containers: [{{name: app, image: \"{image}\"}}]\n"
        )
    };
    let manifest = format!(
        "{}---\n{}---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n  annotations: {{secfix.dev/allowed-registries: ghcr.io/acme/team-a}}\n",
        doc("team-a", "ghcr.io/acme/team-b/app:1"),
        doc("team-b", "ghcr.io.evil.example/acme/app:1"),
    );
    let out = secfix(
        &[
            "scan",
            "-f",
            "-",
            "-o",
            "json",
            "--checks",
            "untrusted-registry",
            "--allowed-registries",
            "ghcr.io/acme,docker.io/library",
        ],
        Some(&manifest),
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let got: Vec<(String, String)> = findings(&out)
        .iter()
        .map(|f| {
            (
                f["namespace"].as_str().unwrap().to_string(),
                f["detail"]["repository"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("team-a".into(), "ghcr.io/acme/team-b/app".into()),
            ("team-a".into(), "docker.io/library/busybox".into()),
            ("team-b".into(), "ghcr.io.evil.example/acme/app".into()),
        ]
    );
}

#[test]
fn untrusted_registry_without_a_list_is_a_usage_error_and_does_not_run_by_default() {
    let out = secfix(
        &["scan", "-f", "-", "--checks", "untrusted-registry"],
        Some(APP),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--allowed-registries"),
        "{}",
        text(&out.stderr)
    );
    let out = secfix(&["scan", "-f", "-", "-o", "json"], Some(APP));
    assert!(
        findings(&out)
            .iter()
            .all(|f| f["check"] != "untrusted-registry")
    );
    let bad = secfix(
        &["scan", "-f", "-", "--allowed-registries", "https://ghcr.io"],
        Some(APP),
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("--allowed-registries"));
}
