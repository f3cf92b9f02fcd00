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

/// Every byte a run wrote (stdout and stderr).
fn all_output(out: &Output) -> String {
    format!("{}\n{}", text(&out.stdout), text(&out.stderr))
}

/// What `kubectl get deploy,secret,pod -o yaml` writes: one `List`. Its Secret, a
/// suppressed workload and a workload whose move is left out (an app change) hold
/// canaries; only the Deployment's literal is moved.
const LIST: &str = r#"apiVersion: v1
kind: List
metadata: {resourceVersion: ""}
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: shop, namespace: canary}
  spec:
    selector: {matchLabels: {app: shop}}
    template:
      metadata: {labels: {app: shop}}
      spec:
        containers:
        - name: db
          image: mysql:8.4
          env:
          - {name: MYSQL_PASSWORD, value: sfxCANARY-list-moved}
- apiVersion: v1
  kind: Secret
  metadata:
    name: db
    namespace: canary
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: '{"apiVersion":"v1","kind":"Secret","stringData":{"pw":"sfxCANARY-list-applied"}}'
  data: {pw: c2Z4Q0FOQVJZLWxpc3QtZGF0YQ==, raw: sfxCANARY-list-data}
  stringData: {token: sfxCANARY-list-string}
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: quiet
    namespace: canary
    annotations: {secfix.dev/ignore: "env-literal-secret"}
  spec:
    selector: {matchLabels: {app: quiet}}
    template:
      metadata: {labels: {app: quiet}}
      spec:
        containers:
        - name: app
          image: redis:7
          env:
          - {name: REDIS_PASSWORD, value: sfxCANARY-list-suppressed}
- apiVersion: v1
  kind: Pod
  metadata: {name: left-out, namespace: canary}
  spec:
    containers:
    - name: app
      image: example.com/app:1
      env:
      - {name: API_TOKEN, value: sfxCANARY-list-left-out}
"#;

/// covers issue #22: `fix -f` on a `kind: List` printed the whole List, and only the changed
/// item was redacted: a Secret's data, a suppressed workload's literal and the literal of a
/// move left out went out as read. Now only the changed items are printed, and every
/// printed object goes through the same redaction.
#[test]
fn fix_f_on_a_kind_list() {
    let dir = tempfile::tempdir().unwrap();
    let file = manifest(dir.path(), LIST);
    for format in ["text", "json"] {
        let out = secfix(&["fix", "-f", &file, "-o", format]);
        let all = all_output(&out);
        assert!(out.status.success(), "{all}");
        assert!(!all.contains("sfxCANARY"), "-o {format}:\n{all}");
        assert!(!all.contains("c2Z4Q0FOQVJZ"), "-o {format}:\n{all}");
        let only = secfix(&[
            "fix",
            "-f",
            &file,
            "-o",
            format,
            "--checks",
            "env-literal-secret",
        ]);
        let all = all_output(&only);
        assert!(!all.contains("sfxCANARY"), "-o {format}:\n{all}");
        assert!(!all.contains("c2Z4Q0FOQVJZ"), "-o {format}:\n{all}");
        if format == "text" {
            let printed: Vec<serde_json::Value> =
                serde_saphyr::from_multiple(&text(&only.stdout)).unwrap();
            assert_eq!(printed.len(), 1, "{all}");
            assert_eq!(printed[0]["kind"], "List");
            let items = printed[0]["items"].as_array().unwrap();
            let names: Vec<&str> = items
                .iter()
                .map(|i| i["metadata"]["name"].as_str().unwrap())
                .collect();
            assert_eq!(names, ["shop"], "only the changed item: {all}");
        }
    }
    // Scan formats never showed them, and still do not.
    for format in [
        "table", "json", "yaml", "sarif", "markdown", "html", "summary",
    ] {
        let out = secfix(&["scan", "-f", &file, "-o", format]);
        assert!(!all_output(&out).contains("sfxCANARY"), "scan -o {format}");
    }
}

/// covers issue #22: a failed `!!int`/`!!bool` tag, or a bad line after a `---` separator,
/// produced a message quoting the value, on stderr, in JSON `errors` and in SARIF. Now the
/// message names file, line and column, never the value.
#[test]
fn yaml_errors_quote_values() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "{}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: a}}\ndata:\n  pw: !!int sfxCANARY-int\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: b}}\ndata:\n  on: !!bool sfxCANARY-bool\n--- sfxCANARY-separator\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\n",
        deployment("nginx:1.25")
    );
    let file = manifest(dir.path(), &body);
    for format in [
        "table", "json", "yaml", "sarif", "markdown", "html", "summary",
    ] {
        let out = secfix(&["scan", "-f", &file, "-o", format]);
        let all = all_output(&out);
        assert!(!all.contains("sfxCANARY"), "scan -o {format}:\n{all}");
        if format == "json" {
            assert!(all.contains("column"), "{all}");
            assert!(all.contains("cannot decode !!str as a !!int"), "{all}");
        }
    }
    for args in [
        &["fix", "-f", &file][..],
        &["fix", "-f", &file, "-o", "json"][..],
    ] {
        let all = all_output(&secfix(args));
        assert!(!all.contains("sfxCANARY"), "{args:?}:\n{all}");
    }
}

/// covers issue #22: with `--contexts`/`--all-contexts`, a kubeconfig server URL like
/// `https://user:pass@host` was copied into every output format. The contexts here are
/// unreachable: the URL is only in the kubeconfig and in the "cannot reach" error.
#[test]
fn credentials_in_the_server_url_of_a_context() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters:\n- name: a\n  cluster: {server: \"https://admin:sfxCANARY-url@127.0.0.1:9\"}\n- name: b\n  cluster: {server: \"https://sfxCANARY-user@127.0.0.1:9/k8s\"}\ncontexts:\n- {name: a, context: {cluster: a, user: u}}\n- {name: b, context: {cluster: b, user: u}}\nusers:\n- {name: u, user: {token: t}}\n",
    )
    .unwrap();
    for format in [
        "table", "json", "yaml", "sarif", "markdown", "html", "summary",
    ] {
        let out = Command::new(BIN)
            .args(["scan", "--all-contexts", "-o", format, "--kubeconfig"])
            .arg(&kubeconfig)
            .env_remove("KUBECONFIG")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let all = all_output(&out);
        assert!(!all.contains("sfxCANARY"), "scan -o {format}:\n{all}");
        assert!(all.contains("127.0.0.1:9"), "-o {format}: {all}");
    }
}

/// A manifest whose namespace, names, container and image hold control characters
/// (OSC title, BEL, CSI as C1, a bare ESC).
const CONTROL: &str = "\\e]0;pwned\\a\\u009b31m\\e[2J";

fn control_manifest() -> String {
    format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: \"ns{CONTROL}\"}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: \"web{CONTROL}\", namespace: \"ns{CONTROL}\"}}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      containers:\n      - name: \"app{CONTROL}\"\n        image: \"nginx:1.25{CONTROL}\"\n        env:\n        - {{name: DB_PASSWORD, value: sfxCANARY-control}}\n        - {{name: \"X{CONTROL}\", value: \"v{CONTROL}\"}}\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: \"svc{CONTROL}\", namespace: \"ns{CONTROL}\"}}\nspec:\n  selector: {{app: web}}\n  ports: [{{port: 80}}]\n"
    )
}

/// covers issue #22 (item 4): every terminal line is escaped, in every output format of
/// every command: no raw ESC, BEL or C1 control character reaches stdout or stderr.
#[test]
fn every_output_format_escapes_a_control_character_object_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = manifest(dir.path(), &control_manifest());
    let mut runs: Vec<Vec<&str>> = Vec::new();
    for format in [
        "table", "json", "yaml", "sarif", "markdown", "html", "summary",
    ] {
        runs.push(vec!["scan", "-f", &file, "-o", format]);
    }
    for format in ["text", "json"] {
        runs.push(vec!["fix", "-f", &file, "-o", format]);
        runs.push(vec![
            "fix",
            "-f",
            &file,
            "-o",
            format,
            "--allow-app-changes",
        ]);
        runs.push(vec![
            "fix",
            "-f",
            &file,
            "-o",
            format,
            "--checks",
            "default-allow-namespace",
        ]);
    }
    for args in &runs {
        let out = secfix(args);
        let all = all_output(&out);
        assert!(!all.contains("sfxCANARY"), "{args:?}:\n{all}");
        for raw in ['\u{1b}', '\u{7}', '\u{9b}'] {
            assert!(
                !all.contains(raw),
                "{args:?}: raw {raw:?} in the output:\n{}",
                all.escape_debug()
            );
        }
    }
}

/// covers issue #22: the native moves that would break the app offline (`fix -f`): an
/// `envFrom` ConfigMap of the manifests still sets the variable, or a probe reads it. Both
/// are left out (like `--yes` live), with the reason.
#[test]
fn a_native_move_that_conflicts_or_has_readers_is_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let body = r#"apiVersion: v1
kind: ConfigMap
metadata: {name: pg-env, namespace: db}
data: {POSTGRES_PASSWORD: sfxCANARY-cm-pw, POSTGRES_DB: app}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: pg, namespace: db}
spec:
  selector: {matchLabels: {app: pg}}
  template:
    metadata: {labels: {app: pg}}
    spec:
      containers:
      - name: postgres
        image: postgres:16
        envFrom: [{configMapRef: {name: pg-env}}]
        env:
        - {name: POSTGRES_PASSWORD, valueFrom: {secretKeyRef: {name: pg, key: password}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: probed, namespace: db}
spec:
  selector: {matchLabels: {app: probed}}
  template:
    metadata: {labels: {app: probed}}
    spec:
      containers:
      - name: postgres
        image: postgres:16
        env:
        - {name: POSTGRES_PASSWORD, valueFrom: {secretKeyRef: {name: pg, key: password}}}
        livenessProbe:
          exec: {command: [sh, -c, "PGPASSWORD=$POSTGRES_PASSWORD psql -h 127.0.0.1 -c 'select 1'"]}
"#;
    let file = manifest(dir.path(), body);
    let out = secfix(&["fix", "-f", &file, "--checks", "env-secret", "-o", "json"]);
    let all = all_output(&out);
    assert!(out.status.success(), "{all}");
    assert!(!all.contains("sfxCANARY"), "{all}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let skipped = report["skipped"].as_array().unwrap();
    let reasons: Vec<&str> = skipped
        .iter()
        .map(|s| s["reason"].as_str().unwrap())
        .collect();
    assert_eq!(skipped.len(), 2, "{report:#}");
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("POSTGRES_PASSWORD would still be set by envFrom ConfigMap pg-env")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("read by livenessProbe")),
        "{reasons:?}"
    );
    assert!(
        report["results"].as_array().unwrap().is_empty(),
        "{report:#}"
    );
}

/// covers issue #22 (item 1): the canary manifest, the List above and the native-move
/// manifests through every output `fix -f` has (the fuzz target `boundary`'s oracle on
/// fixed inputs): no canary anywhere.
#[test]
fn no_canary_in_any_offline_output() {
    let canary = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/canary.yaml"
    ))
    .unwrap();
    let control = control_manifest();
    for (name, bytes) in [
        ("canary.yaml", canary.as_slice()),
        ("list.yaml", LIST.as_bytes()),
        ("control.yaml", control.as_bytes()),
    ] {
        for allow in [false, true] {
            let outputs = kubectl_secfix::cli::fix::offline_outputs(name, bytes, allow);
            assert!(outputs.len() > 2, "{name}: {outputs:?}");
            for out in outputs {
                assert!(!out.contains("sfxCANARY"), "{name} (allow {allow}):\n{out}");
            }
        }
    }
}
