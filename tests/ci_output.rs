//! CI-grade output (issue 25): what a CI user's first run would have caught. Hermetic: the
//! real binary on files, no cluster, no network (a local listener stands in for a registry
//! and records whether anything connected).

use std::io::Write as _;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-secfix");

fn secfix(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("KUBECONFIG")
        .env("NO_COLOR", "1")
        .env("HOME", "/nonexistent")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run kubectl-secfix");
    if let Some(text) = stdin {
        let _ = child.stdin.take().unwrap().write_all(text.as_bytes());
    }
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, body).unwrap();
    p.to_str().unwrap().to_string()
}

fn app(image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: shop}}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      containers:\n      - name: app\n        image: {image}\n        env:\n        - name: DB_PASSWORD\n          valueFrom: {{secretKeyRef: {{name: db, key: password}}}}\n"
    )
}

// ---- 1. exit codes ------------------------------------------------------------------------

/// A failed `helm template … | kubectl secfix scan -f -` printed "No findings." and exited 0.
#[test]
fn empty_input_is_exit_1_unless_allow_empty() {
    let dir = tempfile::tempdir().unwrap();
    let values = write(
        dir.path(),
        "chart/values.yaml",
        "replicaCount: 1\nimage: {tag: x}\n",
    );
    let chart = dir.path().join("chart");
    for (args, stdin) in [
        (vec!["scan", "-f", "-"], Some("")),
        (
            vec!["scan", "-f", "-", "-o", "sarif"],
            Some("\n# nothing\n"),
        ),
        (vec!["scan", "-f", chart.to_str().unwrap()], None),
        (vec!["scan", "-f", &values], None),
        (vec!["fix", "-f", "-", "--dry-run=client"], Some("")),
    ] {
        let out = secfix(&args, stdin);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("0 objects scanned"), "{args:?}: {err}");
        assert!(err.contains("--allow-empty"), "{err}");
        let mut allowed = args.clone();
        allowed.push("--allow-empty");
        let out = secfix(&allowed, stdin);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{allowed:?}: {}",
            text(&out.stderr)
        );
    }
}

/// Flags `-f` cannot honour were silently ignored; now each is a usage error naming the flag,
/// before any input is read (stdin is never consumed: it would block here).
#[test]
fn flags_meaningless_with_f_are_usage_errors_before_input_is_read() {
    for (flags, named) in [
        (vec!["scan", "--context", "prod"], "--context"),
        (vec!["scan", "--kubeconfig", "/x"], "--kubeconfig"),
        (vec!["scan", "-A"], "-A"),
        (
            vec![
                "scan",
                "--include-kinds",
                "apps.kruise.io/v1alpha1/CloneSet",
            ],
            "--include-kinds",
        ),
        (vec!["fix", "--dry-run=server"], "--dry-run=server"),
        (
            vec!["fix", "--dry-run=client", "--save-patches", "/tmp/x"],
            "--save-patches",
        ),
        (
            vec!["fix", "-y", "--mount-root", "relative"],
            "--mount-root",
        ),
    ] {
        // A stdin that is never closed: reading it would hang the test.
        let mut cmd = Command::new(BIN);
        cmd.args(&flags)
            .args(["-f", "-"])
            .env_remove("KUBECONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let _stdin = child.stdin.take();
        let out = wait(child, std::time::Duration::from_secs(20))
            .unwrap_or_else(|| panic!("{flags:?}: read the input before checking flags"));
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
        assert_eq!(
            err.matches(named).count(),
            1,
            "{flags:?} names {named} once: {err}"
        );
    }
}

fn wait(mut child: std::process::Child, limit: std::time::Duration) -> Option<Output> {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if child.try_wait().unwrap().is_some() {
            return Some(child.wait_with_output().unwrap());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    None
}

#[test]
fn global_flags_before_the_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "a.yaml", &app("nginx:1.25"));
    let before = secfix(&["-o", "json", "-f", &f, "scan", "--fail-on", "none"], None);
    let after = secfix(&["scan", "--fail-on", "none", "-o", "json", "-f", &f], None);
    assert_eq!(before.status.code(), Some(0), "{}", text(&before.stderr));
    assert_eq!(text(&before.stdout), text(&after.stdout));
    let v: Value = serde_json::from_slice(&before.stdout).unwrap();
    assert_eq!(v["kind"], "ScanReport");
}

// ---- 2. offline means offline ------------------------------------------------------------

/// A "registry" that counts connections and answers nothing (as a dropped packet would).
fn silent_registry() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            seen.fetch_add(1, Ordering::SeqCst);
            held.push(conn);
        }
    });
    (addr, count)
}

/// Offline `fix -f` looked digests up in registries unasked (and printed `registry docker.io
/// is unreachable` in an air-gapped job).
#[test]
fn fix_f_contacts_no_registry_unless_asked() {
    let (registry, connections) = silent_registry();
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "a.yaml",
        &app(&format!("{registry}/shop/web:1.0")),
    );
    for args in [
        vec!["fix", "-f", &f, "--dry-run=client", "-o", "json"],
        vec!["fix", "-f", &f, "--dry-run=client"],
        vec!["scan", "-f", &f, "-o", "json"],
    ] {
        let out = secfix(&args, None);
        assert_eq!(connections.load(Ordering::SeqCst), 0, "{args:?} connected");
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(!all.contains("unreachable"), "{all}");
        if args.contains(&"json") {
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            let findings = if args[0] == "fix" {
                &v["notFixable"]
            } else {
                &v["findings"]
            };
            let tag = findings
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["check"] == "mutable-image-tag")
                .unwrap_or_else(|| panic!("{v}"));
            let why = tag["notFixableReason"].as_str().unwrap();
            assert!(why.contains("--digest-source registry"), "{why}");
            assert!(!why.contains("pods"), "offline: no pods to speak of: {why}");
        }
    }
    // Asked: the registry is contacted (so the listener above would have seen a connection).
    let out = secfix(
        &[
            "fix",
            "-f",
            &f,
            "--dry-run=client",
            "-o",
            "json",
            "--digest-source",
            "registry",
            "--registry-timeout",
            "1",
        ],
        None,
    );
    assert!(
        connections.load(Ordering::SeqCst) > 0,
        "{}",
        text(&out.stderr)
    );
}

// ---- doc/output mismatches -------------------------------------------------------------------

/// `fix -f -o json` said `"dryRun": "none"`, documented as "applied"; nothing is applied.
#[test]
fn fix_f_json_says_client_dry_run() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "a.yaml", &app("nginx:1.25"));
    let out = secfix(&["fix", "-f", &f, "-o", "json"], None);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["dryRun"], "client", "{v}");
}

/// A comment pointed at README section "Scheduled scans in the cluster", which does not
/// exist: every `README, "…"` reference in the repository names a heading that does.
#[test]
fn readme_sections_named_in_comments_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let headings: Vec<&str> = readme
        .lines()
        .filter_map(|l| {
            l.trim_start_matches('#')
                .strip_prefix(' ')
                .filter(|_| l.starts_with('#'))
        })
        .collect();
    let mut files = Vec::new();
    for dir in ["deploy", "examples", "src", "docs", "rbac"] {
        collect(&root.join(dir), &mut files);
    }
    let mut checked = 0;
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let flat = text
            .replace("\n#", " ")
            .replace("\n//!", " ")
            .replace("\n///", " ");
        for (i, _) in flat.match_indices("README, \"") {
            let rest = &flat[i + "README, \"".len()..];
            let name = &rest[..rest.find('"').unwrap()];
            assert!(
                headings.contains(&name),
                "{}: README has no section {name:?}",
                f.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 0);
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

// ---- 4. suggested commands do what they say ----------------------------------------------

const DEMO: &str = "examples/demo.yaml";

fn in_repo(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("KUBECONFIG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Runs a suggested command line (as printed, up to its comment) with `-o json` and returns
/// the findings its plans fix, as `check kind/name container path`.
fn fixed_by(command: &str) -> Vec<String> {
    let words: Vec<String> = shell_words(command.split(" # ").next().unwrap().trim());
    assert_eq!(&words[..3], ["kubectl", "secfix", "fix"], "{command}");
    let mut args: Vec<&str> = words[2..].iter().map(String::as_str).collect();
    args.extend(["-o", "json"]);
    let out = in_repo(&args);
    assert!(out.status.success(), "{command}: {}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["findings"].as_array().unwrap().clone())
        .map(|f| key(&f))
        .collect()
}

fn key(f: &Value) -> String {
    format!(
        "{} {}/{} {} {}",
        f["check"].as_str().unwrap(),
        f["kind"].as_str().unwrap(),
        f["name"].as_str().unwrap(),
        f["container"].as_str().unwrap_or(""),
        f["path"].as_str().unwrap()
    )
}

/// Splits a POSIX command line as the report quotes it (plain words and '…' quoting).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any || !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            c => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// The summary's "Next" said `# 13 fixable`, and running it fixed 3: now the count is what
/// the command fixes unattended, and the app changes it leaves out are said apart.
#[test]
fn next_counts_are_what_the_command_fixes() {
    let out = in_repo(&["scan", "-f", DEMO, "-o", "summary"]);
    let summary = text(&out.stdout);
    let steps: Vec<&str> = summary
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("kubectl secfix fix"))
        .collect();
    assert!(!steps.is_empty(), "{summary}");
    for step in steps {
        let said: usize = step
            .split(" # ")
            .nth(1)
            .and_then(|c| c.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count: {step}"));
        let fixed = fixed_by(step);
        assert_eq!(fixed.len(), said, "{step}: fixed {fixed:#?}");
    }
}

/// The HTML's per-row Fix command left out the very row it sat on (an app-change move
/// without `--allow-app-changes`): each row's command fixes that row.
#[test]
fn each_html_row_command_fixes_its_row() {
    let out = in_repo(&["scan", "-f", DEMO, "-o", "json"]);
    let findings: Vec<Value> = serde_json::from_slice::<Value>(&out.stdout).unwrap()["findings"]
        .as_array()
        .unwrap()
        .clone();
    let html = text(&in_repo(&["scan", "-f", DEMO, "-o", "html"]).stdout);
    let mut rows = 0;
    for row in html.split("<tr data-check=").skip(1) {
        let Some(start) = row.find("<td class=\"fix\"><code>") else {
            continue;
        };
        let rest = &row[start + "<td class=\"fix\"><code>".len()..];
        let command = rest[..rest.find("</code>").unwrap()]
            .replace("&#39;", "'")
            .replace("&amp;", "&");
        // The row's finding: its check and message.
        let check = row.split('"').nth(1).unwrap().to_string();
        let f = findings
            .iter()
            .find(|f| {
                f["check"] == check.as_str()
                    && row.contains(&format!(
                        "<td>{}</td>",
                        html_escape(f["message"].as_str().unwrap())
                    ))
            })
            .unwrap_or_else(|| panic!("row not found: {row}"));
        let fixed = fixed_by(&command);
        assert!(
            fixed.contains(&key(f)),
            "{command} does not fix {}: {fixed:#?}",
            key(f)
        );
        rows += 1;
    }
    assert!(rows >= 4, "{rows} rows with a command");
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

// ---- 5. SARIF for code scanning ------------------------------------------------------------

const SARIF_SCHEMA: &str = include_str!("fixtures/sarif-schema-2.1.0.json");

fn sarif_of(dir: &Path, name: &str, body: &str) -> Value {
    let f = write(dir, name, body);
    let out = secfix(
        &["scan", "-f", &f, "-o", "sarif", "--fail-on", "none"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    let schema: Value = serde_json::from_str(SARIF_SCHEMA).unwrap();
    let validator = jsonschema::options().build(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&log).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "invalid SARIF: {errors:?}");
    log
}

/// (rule, fingerprint) → (line, column) of every result.
fn located(log: &Value) -> Vec<(String, String, i64, i64)> {
    log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let region = &r["locations"][0]["physicalLocation"]["region"];
            (
                r["ruleId"].as_str().unwrap().to_string(),
                r["partialFingerprints"]["secfixFinding/v2"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                region["startLine"].as_i64().unwrap_or(0),
                region["startColumn"].as_i64().unwrap_or(0),
            )
        })
        .collect()
}

/// Every SARIF result pointed at the document's first line, and fingerprints were built from
/// array indexes, so an env var inserted above a finding re-opened it as new.
#[test]
fn sarif_points_at_the_field_and_keeps_fingerprints_under_unrelated_edits() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = app("nginx:1.25");
    let before = located(&sarif_of(dir.path(), "a.yaml", &yaml));
    let line_of = |text: &str, needle: &str| {
        text.lines().position(|l| l.contains(needle)).unwrap() as i64 + 1
    };
    let find = |v: &[(String, String, i64, i64)], rule: &str| {
        v.iter()
            .find(|r| r.0 == rule)
            .cloned()
            .unwrap_or_else(|| panic!("{rule}: {v:?}"))
    };
    let env = find(&before, "env-secret");
    assert_eq!(env.2, line_of(&yaml, "- name: DB_PASSWORD"), "{env:?}");
    assert_eq!(env.3, 11, "the column of the env entry");
    let image = find(&before, "mutable-image-tag");
    assert_eq!(image.2, line_of(&yaml, "image: nginx"), "{image:?}");
    assert_eq!(image.3, 9);

    // An unrelated env var above the finding, and a comment at the top: every fingerprint
    // stays, the lines follow the fields.
    let edited = format!(
        "# edited\n{}",
        yaml.replace(
            "        env:\n",
            "        env:\n        - {name: LOG_LEVEL, value: debug}\n"
        )
    );
    let after = located(&sarif_of(dir.path(), "a.yaml", &edited));
    let prints = |v: &[(String, String, i64, i64)]| {
        let mut p: Vec<String> = v.iter().map(|r| r.1.clone()).collect();
        p.sort();
        p
    };
    assert_eq!(prints(&before), prints(&after));
    assert_eq!(
        find(&after, "env-secret").2,
        line_of(&edited, "- name: DB_PASSWORD")
    );

    // JSON input: the field's own line too.
    let json = "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",\n  \"metadata\": {\"name\": \"p\", \"namespace\": \"shop\"},\n  \"spec\": {\n    \"containers\": [\n      {\n        \"name\": \"c\",\n        \"image\": \"busybox:1.36\"\n      }\n    ]\n  }\n}\n";
    let log = located(&sarif_of(dir.path(), "p.json", json));
    let image = find(&log, "mutable-image-tag");
    assert_eq!((image.2, image.3), (9, 9), "{image:?}");
}

// ---- 6. --baseline ------------------------------------------------------------------------

/// CI can gate on new findings only: a finding in the baseline is reported as such and does
/// not fail the run; a new one does.
#[test]
fn baseline_lets_ci_fail_on_new_findings_only() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "a.yaml", &app("nginx:1.25"));
    let out = secfix(&["scan", "-f", &f, "-o", "json"], None);
    assert_eq!(out.status.code(), Some(3));
    let baseline = write(dir.path(), "baseline.json", &text(&out.stdout));
    for output in [
        "table", "wide", "json", "yaml", "sarif", "summary", "html", "markdown", "name",
    ] {
        let out = secfix(
            &["scan", "-f", &f, "--baseline", &baseline, "-o", output],
            None,
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "-o {output}: {}",
            text(&out.stderr)
        );
    }
    let out = secfix(&["scan", "-f", &f, "--baseline", &baseline], None);
    let table = text(&out.stdout);
    assert!(table.contains("BASELINE"), "{table}");
    // A new finding (another env var from a Secret) fails the run; the old ones still don't.
    std::fs::write(
        &f,
        app("nginx:1.25").replace(
            "        env:\n",
            "        env:\n        - name: API_TOKEN\n          valueFrom: {secretKeyRef: {name: api, key: token}}\n",
        ),
    )
    .unwrap();
    let out = secfix(
        &["scan", "-f", &f, "--baseline", &baseline, "-o", "json"],
        None,
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let new: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("baseline").is_none())
        .collect();
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(new[0]["detail"]["env"], "API_TOKEN");
    // Not a report: a flag error, before anything is read.
    let bad = write(dir.path(), "bad.json", "{\"kind\": \"Pod\"}");
    let out = secfix(&["scan", "-f", "-", "--baseline", &bad], Some(""));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--baseline"));
}

// ---- 7. -o wide and -o name ------------------------------------------------------------

#[test]
fn wide_and_name_outputs() {
    let out = in_repo(&["scan", "-f", DEMO, "-o", "wide"]);
    let wide = text(&out.stdout);
    let header = wide.lines().next().unwrap();
    assert!(
        header.contains("SOURCE") && header.contains("FIXABLE"),
        "{header}"
    );
    assert!(wide.contains(&format!("{DEMO}:")), "{wide}");
    assert!(wide.contains("no: offline (-f)"), "{wide}");
    // Worst first.
    let sev: Vec<&str> = wide
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    let mut sorted = sev.clone();
    sorted.sort_by_key(|s| match *s {
        "high" => 0,
        "medium" => 1,
        _ => 2,
    });
    assert_eq!(sev, sorted);
    let out = in_repo(&["scan", "-f", DEMO, "-o", "name"]);
    assert_eq!(
        text(&out.stdout).lines().collect::<Vec<_>>(),
        [
            "deployment.apps/db",
            "deployment.apps/shop",
            "namespace/demo"
        ]
    );
}

/// Medium severity was hard to read on light backgrounds: in the HTML's light theme every
/// severity colour has at least WCAG AA contrast (4.5:1) on the page and on the panels.
#[test]
fn severity_colours_are_readable_on_the_light_theme() {
    let css = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crates/secfix-core/src/report/html/report.css"
    ))
    .unwrap();
    // The first declaration of each variable is the light theme's.
    let var = |name: &str| {
        let at = css
            .find(&format!("--{name}: #"))
            .unwrap_or_else(|| panic!("--{name}"));
        let hex = &css[at + name.len() + 5..];
        let hex: String = hex.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
        let hex = if hex.len() == 3 {
            hex.chars().flat_map(|c| [c, c]).collect()
        } else {
            hex
        };
        let n = u32::from_str_radix(&hex, 16).unwrap();
        [(n >> 16) & 255, (n >> 8) & 255, n & 255]
    };
    let luminance = |rgb: [u32; 3]| {
        let lin = |c: u32| {
            let c = c as f64 / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(rgb[0]) + 0.7152 * lin(rgb[1]) + 0.0722 * lin(rgb[2])
    };
    let contrast = |a: [u32; 3], b: [u32; 3]| {
        let (x, y) = (luminance(a), luminance(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    };
    for sev in ["high", "medium", "low"] {
        for bg in ["bg", "panel"] {
            let c = contrast(var(sev), var(bg));
            assert!(c >= 4.5, "--{sev} on --{bg}: {c:.2}:1");
        }
    }
}
