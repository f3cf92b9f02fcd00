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
        f[0]["namespace"], "",
        "no namespace: -n, else the namespace of the apply (never a made-up default)"
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
fn bad_input_names_the_file_and_line_exits_1_and_the_rest_is_still_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "bad.yaml",
        &format!("{APP}---\nkind: Deployment\nmetadata: [oops\n"),
    );
    let out = secfix(&["scan", "-f", &bad, "-o", "json"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("{bad}:19: invalid YAML")), "{err}");
    assert!(
        findings(&out)
            .iter()
            .any(|f| f["check"] == "env-secret" && f["name"] == "web"),
        "the good document is still scanned"
    );
    let missing = secfix(&["scan", "-f", "/nonexistent/x.yaml"], None);
    assert_eq!(missing.status.code(), Some(1));
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
        &[
            "fix",
            "-f",
            &file,
            "--checks",
            "env-secret",
            "--write",
            "--allow-app-changes",
        ],
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
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("not rewriting anything"));
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
    let out = secfix(&["fix", "-f", "-", "--allow-app-changes"], Some(&manifests));
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

/// A Deployment `web` whose container `app` runs `image` with `env` (YAML flow entries), and
/// the Secret `db` it reads, holding a key of another team too.
fn app_with(image: &str, env: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: db}}\nstringData: {{password: p, other-team-token: t}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      containers:\n      - name: app\n        image: \"{image}\"\n        env: [{env}]\n"
    )
}

const DB_PASSWORD: &str =
    "{name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}";

/// Covers issue #14: the gate offline. `fix -f` leaves a move the app would have to be
/// changed for out, says which and why, and changes nothing; `--allow-app-changes` moves it.
#[test]
fn fix_f_leaves_app_change_moves_out_unless_allowed() {
    let manifest = app_with("nginx:1.25", DB_PASSWORD);
    let out = secfix(
        &["fix", "-f", "-", "--checks", "env-secret"],
        Some(&manifest),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "left out: Deployment (namespace of the apply)/web (env-secret, container app): DB_PASSWORD: \
             app-change: docker.io/library/nginx is not in the table of images that read files: \
             the app would have to read DB_PASSWORD_FILE; --allow-app-changes moves it anyway, \
             --file-env DB_PASSWORD=VAR names the variable the app reads"
        ),
        "{stderr}"
    );
    assert_eq!(text(&out.stdout), "", "nothing changes");

    let out = secfix(
        &[
            "fix",
            "-f",
            "-",
            "--checks",
            "env-secret",
            "--allow-app-changes",
        ],
        Some(&manifest),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("DB_PASSWORD_FILE"), "{stdout}");
    assert!(!text(&out.stderr).contains("left out"));
}

/// Covers issue #14: `-o json` lists each left-out move as skipped, with its reason and
/// `detail.delivery`.
#[test]
fn fix_json_lists_left_out_moves_as_skipped_with_a_reason() {
    let manifest = app_with(
        "registry.example.com/mysql:8.4",
        &format!(
            "{DB_PASSWORD}, {{name: MYSQL_PASSWORD, valueFrom: {{secretKeyRef: {{name: db, key: password}}}}}}"
        ),
    );
    let out = secfix(
        &["fix", "-f", "-", "--checks", "env-secret", "-o", "json"],
        Some(&manifest),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["results"], serde_json::json!([]));
    let skipped = report["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 2, "{report:#}");
    for s in skipped {
        assert_eq!(s["check"], "env-secret");
        assert_eq!(s["detail"]["delivery"], "app-change");
        let reason = s["reason"].as_str().unwrap();
        assert!(
            reason.starts_with(
                "app-change: registry.example.com/mysql is not in the table of images that read files"
            ),
            "a mirror is not the official image: {reason}"
        );
    }
}

/// Covers issue #14: a user-named variable makes the move native for that run.
#[test]
fn file_env_names_the_variable_and_makes_the_move_native() {
    let manifest = app_with("nginx:1.25", DB_PASSWORD);
    let out = secfix(
        &[
            "fix",
            "-f",
            "-",
            "--checks",
            "env-secret",
            "-o",
            "json",
            "--file-env",
            "DB_PASSWORD=DB_PASSWORD_PATH",
        ],
        Some(&manifest),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["skipped"], serde_json::json!([]));
    let result = &report["results"][0];
    assert_eq!(result["findings"][0]["detail"]["delivery"], "native");
    assert_eq!(result["moved"][0]["delivery"], "native");
    assert_eq!(result["moved"][0]["fileVar"], "DB_PASSWORD_PATH");
    assert_eq!(result["moved"][0]["reason"], "named with --file-env");
    let patch = result["patch"].to_string();
    assert!(patch.contains("DB_PASSWORD_PATH"), "{patch}");
}

/// Covers issue #14: images that read files natively get the exact variable, and the volume
/// projects only the key the container had.
#[test]
fn native_images_get_their_variable_and_only_the_keys_they_had() {
    for (image, env, var) in [
        ("mysql:8.4", "MYSQL_PASSWORD", "MYSQL_PASSWORD_FILE"),
        (
            "docker.io/grafana/grafana:11.2.0",
            "GF_SECURITY_ADMIN_PASSWORD",
            "GF_SECURITY_ADMIN_PASSWORD__FILE",
        ),
    ] {
        let manifest = app_with(
            image,
            &format!("{{name: {env}, valueFrom: {{secretKeyRef: {{name: db, key: password}}}}}}"),
        );
        let out = secfix(
            &["fix", "-f", "-", "--checks", "env-secret"],
            Some(&manifest),
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let doc: Value = serde_saphyr::from_str(&stdout).unwrap();
        let pod = &doc["spec"]["template"]["spec"];
        assert_eq!(
            pod["containers"][0]["env"],
            serde_json::json!([{"name": var, "value": "/var/run/secrets/secfix/db/password"}]),
            "{image}"
        );
        assert_eq!(
            pod["volumes"][0]["secret"]["items"],
            serde_json::json!([{"key": "password", "path": "password", "mode": 292}]),
            "only the key the container had, never other-team-token"
        );
        assert!(!stdout.contains("subPath"));
    }
}

#[test]
fn a_bad_file_env_is_a_usage_error_naming_the_flag() {
    for (value, want) in [
        (
            "DB_PASSWORD",
            "--file-env \"DB_PASSWORD\": expected NAME=VAR",
        ),
        (
            "DB_PASSWORD=1X",
            "--file-env \"DB_PASSWORD=1X\": VAR \"1X\" is not a variable name",
        ),
    ] {
        let out = secfix(
            &["fix", "-f", "-", "--file-env", value],
            Some(&app_with("nginx", DB_PASSWORD)),
        );
        assert_eq!(out.status.code(), Some(2), "{value}");
        assert!(text(&out.stderr).contains(want), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "");
    }
}

/// Covers issue #14: `scan -o json` says how each env finding would be delivered.
#[test]
fn scan_json_reports_the_delivery_of_each_env_finding() {
    let manifest = app_with(
        "mysql:8.4",
        &format!("{DB_PASSWORD}, {{name: MYSQL_PASSWORD, valueFrom: {{secretKeyRef: {{name: db, key: password}}}}}}"),
    )
    .replace(
        "        env: [",
        "        envFrom: [{secretRef: {name: db}}]\n        env: [",
    );
    let out = secfix(
        &["scan", "-f", "-", "-o", "json", "--checks", "env-secret"],
        Some(&manifest),
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let got: Vec<(String, String)> = findings(&out)
        .iter()
        .map(|f| {
            (
                f["message"].as_str().unwrap().to_string(),
                f["detail"]["delivery"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "DB_PASSWORD from Secret db (key password)".to_string(),
                "app-change".to_string()
            ),
            // Issue 22: the envFrom beside it may set MYSQL_PASSWORD(_FILE) too, and its
            // keys are not known to `scan`: not native.
            (
                "MYSQL_PASSWORD from Secret db (key password)".to_string(),
                "app-change".to_string()
            ),
            (
                "all keys of Secret db as env".to_string(),
                "app-change".to_string()
            ),
        ]
    );
}

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/demo.yaml");
const CANARY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/canary.yaml");
const SCAN_FORMATS: [&str; 7] = [
    "table", "json", "yaml", "sarif", "summary", "html", "markdown",
];

// covers issue #12: the canary test covers the new formats.
#[test]
fn canary_secrets_never_appear_in_any_scan_format() {
    for format in SCAN_FORMATS {
        for extra in [&[][..], &["--digest-source", "pods"][..]] {
            let mut args = vec!["scan", "-f", CANARY, "-o", format];
            args.extend(extra);
            let out = secfix(&args, None);
            let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
            assert_eq!(out.status.code(), Some(3), "{args:?}: {stderr}");
            assert!(
                !stdout.contains("sfxCANARY") && !stderr.contains("sfxCANARY"),
                "-o {format} shows a secret:\n{stdout}\n{stderr}"
            );
            assert!(
                stdout.contains("canary"),
                "-o {format} reports the namespace"
            );
        }
    }
}

#[test]
fn the_overviews_name_the_manifests_and_their_fix_commands_run() {
    let out = secfix(&["scan", "-f", DEMO, "-o", "summary"], None);
    assert_eq!(out.status.code(), Some(3));
    let summary = text(&out.stdout);
    assert!(summary.starts_with("CHECK "), "{summary}");
    assert!(!summary.contains('\x1b'), "no colour without a terminal");
    let command = summary
        .lines()
        .find_map(|l| l.trim().strip_prefix("kubectl secfix "))
        .unwrap_or_else(|| panic!("no suggested command:\n{summary}"));
    assert!(command.starts_with(&format!("fix -f {DEMO} ")), "{command}");
    // The suggestion runs as printed (through a shell, comment and all): offline, `fix -f`
    // prints the fixed manifests.
    let run = Command::new("sh")
        .args(["-c", &format!("{BIN} {command}")])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(run.status.success(), "{command}: {}", text(&run.stderr));
    assert!(
        text(&run.stdout).contains("secfix-default-deny"),
        "{}",
        text(&run.stdout)
    );

    let out = secfix(&["scan", "-f", DEMO, "-o", "html"], None);
    let html = text(&out.stdout);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        html.contains(&format!("manifest {DEMO}")),
        "the header names the input"
    );
    assert!(html.contains("<time datetime=\"20"), "and the time");
    assert!(html.contains(&format!(
        "<code>kubectl secfix fix -f {DEMO} --checks env-secret"
    )));

    let out = secfix(&["scan", "-f", DEMO, "-o", "markdown"], None);
    let md = text(&out.stdout);
    assert!(
        md.starts_with("## kubectl secfix scan\n\nmanifest "),
        "{md}"
    );
    assert!(md.len() < 64 * 1024);
}

/// `kubectl-secfix ARGS` in a pseudo-terminal of `rows` lines (set before the program
/// starts), with `env`; returns everything it printed.
///
/// The pty library sets its default size from the parent right after the fork, which raced
/// with the child's `stty` (a flaky `a_table_longer_than_the_terminal…`): the child waits
/// for a line from the parent, sent once the spawn has returned, then sets the size and
/// starts the program.
fn in_terminal(rows: u16, env: &[(&str, &str)], args: &[&str]) -> String {
    use expectrl::{Eof, Expect, Session};
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        &format!("read -r _; stty rows {rows} cols 200; exec \"$0\" \"$@\""),
        BIN,
    ])
    .args(args)
    .env("TERM", "xterm")
    .env_remove("NO_COLOR")
    .env_remove("KUBECONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut s = Session::spawn(cmd).expect("spawn in a pty");
    s.set_expect_timeout(Some(std::time::Duration::from_secs(60)));
    s.send_line("").expect("start the program");
    let c = s.expect(Eof).expect("the program exits");
    format!(
        "{}{}",
        String::from_utf8_lossy(c.before()),
        String::from_utf8_lossy(c.as_bytes())
    )
}

#[test]
fn summary_is_coloured_on_a_terminal_unless_no_color() {
    let coloured = in_terminal(50, &[], &["scan", "-f", DEMO, "-o", "summary"]);
    assert!(coloured.contains("\x1b["), "{coloured:?}");
    let plain = in_terminal(
        50,
        &[("NO_COLOR", "1")],
        &["scan", "-f", DEMO, "-o", "summary"],
    );
    assert!(!plain.contains("\x1b["), "{plain:?}");
    assert!(plain.contains("NAMESPACE   FINDINGS   HIGH   MEDIUM   LOW   FIXABLE"));
}

#[test]
fn a_table_longer_than_the_terminal_ends_with_the_per_check_lines() {
    let args = ["scan", "-f", DEMO];
    // 8 findings: header, rows, blank line and summary line take 11 lines.
    let long = in_terminal(10, &[("NO_COLOR", "1")], &args);
    assert!(long.contains("\nCHECK "), "{long}");
    let fits = in_terminal(11, &[("NO_COLOR", "1")], &args);
    assert!(!fits.contains("\nCHECK "), "{fits}");
    // Not a terminal: never (the output stays one finding per line).
    let piped = text(&secfix(&args, None).stdout);
    assert!(!piped.contains("\nCHECK "), "{piped}");
}
