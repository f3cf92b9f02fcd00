//! Fixing where the truth lives (issue 24), through the real binary with real renderers:
//! namespace-less manifests stay namespace-less, `-k DIR` reads what `kubectl kustomize`
//! renders, `fix --overlay OUT` writes a kustomize overlay that kubectl's kustomize and
//! Debian trixie's standalone `kustomize` render into the same fixed objects as `fix -f
//! --write` and `post-render`. No cluster (the live side is in tests/live_gitops.rs).
//!
//! The base is a public one: kubernetes/website's WordPress and MySQL example
//! (tests/fixtures/kustomize/wordpress, SOURCE.md there).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-secfix");

fn base() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kustomize/wordpress")
}

fn run(args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Output {
    use std::io::Write as _;
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
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run kubectl-secfix");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn secfix(args: &[&str]) -> Output {
    run(args, None, &[])
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every object of a YAML stream, sorted (renderers order objects differently).
fn objects(yaml: &str) -> Vec<Value> {
    let mut docs: Vec<Value> = serde_saphyr::from_multiple(yaml).unwrap();
    docs.retain(|d| !d.is_null());
    docs.sort_by_key(|d| {
        (
            d["kind"].as_str().unwrap_or("").to_string(),
            d["metadata"]["name"].as_str().unwrap_or("").to_string(),
        )
    });
    docs
}

fn kubectl_kustomize(dir: &Path) -> Output {
    Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("kubectl")
}

/// Debian trixie's standalone kustomize, unpacked by tests/cluster/setup.sh.
fn standalone_kustomize() -> Option<PathBuf> {
    let p = PathBuf::from(std::env::var_os("HOME")?)
        .join(".cache/kubectl-secfix/trixie/usr/bin/kustomize");
    p.exists().then_some(p)
}

/// A copy of the base in a temporary folder (to drift it, or rewrite it).
fn copy_base(to: &Path) -> PathBuf {
    let dir = to.join("base");
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(base()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    dir
}

fn has_namespace(o: &Value) -> bool {
    o.pointer("/metadata/namespace").is_some()
}

/// Covers issue 24 item 1: what a kustomize base renders names no namespace, and the fix
/// makes none up: no object (changed or new) gains `metadata.namespace`, nothing selects
/// namespace `default`, findings say `(namespace of the apply)`.
#[test]
fn a_namespace_less_base_stays_namespace_less() {
    let out = secfix(&["scan", "-k", base().to_str().unwrap()]);
    let table = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(table.contains("(namespace of the apply)"), "{table}");
    assert!(!table.contains(" default "), "{table}");
    // The next command repeats -k, never a live fix.
    let summary = text(&secfix(&["scan", "-k", base().to_str().unwrap(), "-o", "summary"]).stdout);
    assert!(
        summary.contains(&format!(
            "kubectl secfix fix -k {} --checks",
            base().display()
        )),
        "{summary}"
    );
    let json = secfix(&["scan", "-k", base().to_str().unwrap(), "-o", "json"]);
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    for f in report["findings"].as_array().unwrap() {
        assert_eq!(f["namespace"], "", "{f}");
        if let Some(file) = f["source"]["file"].as_str() {
            assert!(file.ends_with("wordpress (kustomization)"), "{file}");
        }
    }

    let out = secfix(&[
        "fix",
        "-k",
        base().to_str().unwrap(),
        "--digest-source",
        "pods",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let objs = objects(&stdout);
    assert!(objs.len() >= 4, "{stdout}");
    for o in &objs {
        assert!(!has_namespace(o), "{o}");
    }
    assert!(
        !stdout.contains("default\n") && !stdout.contains(": default"),
        "{stdout}"
    );
    let stderr = text(&out.stderr);
    assert!(!stderr.contains(" default/"), "{stderr}");
}

/// Covers issue 24 item 1: `-n NS` with `-f` is kubectl's: objects that name no namespace
/// are taken as in NS (their findings say NS), an object in another namespace is an error
/// naming it.
#[test]
fn dash_n_places_namespace_less_objects_and_refuses_another_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let b = copy_base(dir.path());
    let out = secfix(&[
        "scan",
        "-f",
        b.to_str().unwrap(),
        "-n",
        "shop",
        "-o",
        "json",
    ]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    for f in report["findings"].as_array().unwrap() {
        assert_eq!(f["namespace"], "shop", "{f}");
    }
    let other = b.join("other.yaml");
    std::fs::write(
        &other,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: prod\n",
    )
    .unwrap();
    let out = secfix(&["scan", "-f", b.to_str().unwrap(), "-n", "shop"]);
    let stderr = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("other.yaml:1: ConfigMap x: the namespace from the provided object \"prod\" does not match the namespace \"shop\""),
        "{stderr}"
    );
}

/// Covers issue 24 item 2: `-k` errors are clear: kubectl missing, a folder that is not a
/// kustomization (kubectl's own message), no such folder.
#[test]
fn dash_k_says_when_kubectl_is_missing_or_the_render_fails() {
    let b = base();
    let out = run(
        &["scan", "-k", b.to_str().unwrap()],
        None,
        &[("SECFIX_KUBECTL", "/nonexistent/kubectl")],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("/nonexistent/kubectl not found"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());

    let empty = tempfile::tempdir().unwrap();
    let out = secfix(&["scan", "-k", empty.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("`kubectl kustomize"), "{stderr}");
    assert!(stderr.contains("failed"), "{stderr}");

    let out = secfix(&["scan", "-k", "/nonexistent/base"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no such directory"));

    // --overlay writes the fixes; -o json describes them: not both, said before reading.
    let out = secfix(&[
        "fix",
        "-k",
        b.to_str().unwrap(),
        "--overlay",
        "/nonexistent/out",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--overlay cannot be combined with -o json"));
}

/// Covers issue 24 items 3 and 4 (the "done when"): `fix -k base --overlay out` renders,
/// with kubectl's kustomize and with trixie's kustomize 5.6, into the same objects; they
/// equal what `fix -f --write` writes into a copy of the base and what `post-render` makes
/// of the rendered base; the overlay re-scans with no fixable finding; every patch starts
/// with its guarding `test` ops, and a base that drifted under them fails to render.
#[test]
fn the_overlay_renders_the_fix_with_both_kustomizes_and_equals_write_and_post_render() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let b = base();
    let out = secfix(&[
        "fix",
        "-k",
        b.to_str().unwrap(),
        "--overlay",
        out_dir.to_str().unwrap(),
        "--digest-source",
        "pods",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "the overlay is written, not printed");
    let kustomization = std::fs::read_to_string(out_dir.join("kustomization.yaml")).unwrap();
    let k: Value = serde_saphyr::from_str(&kustomization).unwrap();
    let first = k["resources"][0].as_str().unwrap();
    assert!(
        first.starts_with("../"),
        "relative path to the base: {first}"
    );
    assert_eq!(
        std::fs::canonicalize(out_dir.join(first)).unwrap(),
        std::fs::canonicalize(&b).unwrap()
    );
    let patches = k["patches"].as_array().unwrap();
    assert_eq!(patches.len(), 2, "{kustomization}");
    for p in patches {
        assert_eq!(p["target"]["group"], "apps");
        assert_eq!(p["target"]["kind"], "Deployment");
        assert!(p["target"].get("namespace").is_none(), "{p}");
        let ops: Vec<Value> = serde_saphyr::from_str(
            &std::fs::read_to_string(out_dir.join(p["path"].as_str().unwrap())).unwrap(),
        )
        .unwrap();
        assert_eq!(ops[0]["op"], "test", "{ops:?}");
    }

    let rendered = kubectl_kustomize(&out_dir);
    assert!(rendered.status.success(), "{}", text(&rendered.stderr));
    let overlay_objects = objects(&text(&rendered.stdout));
    for o in &overlay_objects {
        assert!(!has_namespace(o), "{o}");
    }
    match standalone_kustomize() {
        Some(kustomize) => {
            let standalone = Command::new(kustomize)
                .arg("build")
                .arg(&out_dir)
                .output()
                .unwrap();
            assert!(standalone.status.success(), "{}", text(&standalone.stderr));
            assert_eq!(objects(&text(&standalone.stdout)), overlay_objects);
        }
        None => eprintln!("trixie kustomize not unpacked yet (tests/cluster/setup.sh): skipped"),
    }

    // fix -f --write on a copy of the base, then rendered: the same objects.
    let copy = copy_base(dir.path());
    let out = secfix(&[
        "fix",
        "-f",
        copy.to_str().unwrap(),
        "--write",
        "--digest-source",
        "pods",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written = kubectl_kustomize(&copy);
    assert!(written.status.success(), "{}", text(&written.stderr));
    assert_eq!(objects(&text(&written.stdout)), overlay_objects);

    // post-render of the rendered base: the same objects.
    let base_render = kubectl_kustomize(&b);
    let post = run(
        &["post-render", "--digest-source", "pods"],
        Some(&base_render.stdout),
        &[],
    );
    assert_eq!(post.status.code(), Some(0), "{}", text(&post.stderr));
    assert_eq!(objects(&text(&post.stdout)), overlay_objects);

    // Re-scan: nothing fixable left.
    let rescan = secfix(&["scan", "-k", out_dir.to_str().unwrap(), "-o", "json"]);
    let report: Value = serde_json::from_slice(&rescan.stdout).unwrap();
    let fixable: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["fixable"] == true)
        .collect();
    assert!(fixable.is_empty(), "{fixable:?}");
}

/// Covers issue 24 item 3: a base that changed under the overlay's patches fails to render
/// (the `test` ops), instead of being patched in the wrong place.
#[test]
fn a_drifted_base_makes_the_overlay_fail_to_render() {
    let dir = tempfile::tempdir().unwrap();
    let copy = copy_base(dir.path());
    let out_dir = dir.path().join("out");
    let out = secfix(&[
        "fix",
        "-k",
        copy.to_str().unwrap(),
        "--overlay",
        out_dir.to_str().unwrap(),
        "--digest-source",
        "pods",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(kubectl_kustomize(&out_dir).status.success());
    // Someone adds an env entry at the top of MySQL's list: every index moves.
    let mysql = copy.join("mysql-deployment.yaml");
    let drifted = std::fs::read_to_string(&mysql).unwrap().replace(
        "        env:\n",
        "        env:\n        - name: TZ\n          value: UTC\n",
    );
    std::fs::write(&mysql, drifted).unwrap();
    let rendered = kubectl_kustomize(&out_dir);
    assert!(!rendered.status.success(), "{}", text(&rendered.stdout));
    if let Some(kustomize) = standalone_kustomize() {
        let standalone = Command::new(kustomize)
            .arg("build")
            .arg(&out_dir)
            .output()
            .unwrap();
        assert!(!standalone.status.success());
    }
}

/// Covers issue 24 item 3: `fix -f FILE --overlay OUT`: the files are copied under OUT (kustomize
/// loads only files below the kustomization), the Secret a literal moves into is a resource
/// of its own in a 0600 file, and no secret value reaches stdout or stderr.
#[test]
fn an_overlay_of_plain_files_keeps_moved_literals_in_a_0600_file_and_prints_no_value() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    std::fs::write(
        &file,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  selector:\n    \
         matchLabels: {app: api}\n  template:\n    metadata:\n      labels: {app: api}\n    \
         spec:\n      containers:\n      - name: api\n        image: postgres:16\n        env:\n        \
         - name: POSTGRES_PASSWORD\n          value: sfxCANARYoverlay0001\n",
    )
    .unwrap();
    let out_dir = dir.path().join("out");
    let out = secfix(&[
        "fix",
        "-f",
        file.to_str().unwrap(),
        "--overlay",
        out_dir.to_str().unwrap(),
        "--digest-source",
        "pods",
        "--checks",
        "env-literal-secret",
    ]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(!all.contains("sfxCANARY"), "{all}");
    let k = std::fs::read_to_string(out_dir.join("kustomization.yaml")).unwrap();
    assert!(k.contains("- base/app.yaml"), "{k}");
    let secrets: Vec<PathBuf> = std::fs::read_dir(out_dir.join("secrets"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(secrets.len(), 1);
    let mode = std::fs::metadata(&secrets[0]).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let rendered = kubectl_kustomize(&out_dir);
    assert!(rendered.status.success(), "{}", text(&rendered.stderr));
    let objs = objects(&text(&rendered.stdout));
    let deployment = objs.iter().find(|o| o["kind"] == "Deployment").unwrap();
    assert!(
        !deployment.to_string().contains("sfxCANARY"),
        "the literal left the Deployment"
    );
    assert!(objs.iter().any(|o| o["kind"] == "Secret"));
}

/// Covers issue 24 item 4: `post-render` writes every object back (not only the changed
/// ones), and on input it cannot read exits non-zero writing nothing to stdout.
#[test]
fn post_render_writes_every_object_or_nothing() {
    let rendered = kubectl_kustomize(&base());
    let input = objects(&text(&rendered.stdout));
    let out = run(
        &[
            "post-render",
            "--digest-source",
            "pods",
            "--checks",
            "env-secret",
        ],
        Some(&rendered.stdout),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let got = objects(&text(&out.stdout));
    assert_eq!(got.len(), input.len(), "every object comes back");
    assert_ne!(got, input, "fixed where a fix applies");

    let broken = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a\n";
    let out = run(&["post-render"], Some(broken), &[]);
    assert_ne!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert!(!out.stderr.is_empty());
}

/// Covers issue 24 item 6: `--write` edits only the lines the fix changes: comments, flow
/// maps, quoting and key order stay, so a GitOps diff of the fix shows just the fix.
#[test]
fn write_keeps_comments_and_flow_style_and_the_diff_is_only_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("db.yaml");
    let original = "\
# MySQL for the shop
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, labels: {app: db, tier: data}}  # flow, kept
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: mysql   # the database
        image: 'mysql:8.0'
        env:
        - {name: MYSQL_DATABASE, value: shop}
        - name: MYSQL_PASSWORD    # from the Secret
          valueFrom:
            secretKeyRef: {name: db, key: password}
        ports: [{containerPort: 3306}]
";
    std::fs::write(&file, original).unwrap();
    let out = secfix(&[
        "fix",
        "-f",
        file.to_str().unwrap(),
        "--write",
        "--checks",
        "env-secret",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(&file).unwrap();
    let removed: Vec<&str> = original
        .lines()
        .filter(|l| !written.lines().any(|w| w == *l))
        .collect();
    assert_eq!(
        removed,
        [
            "        - name: MYSQL_PASSWORD    # from the Secret",
            "          valueFrom:",
            "            secretKeyRef: {name: db, key: password}",
        ],
        "{written}"
    );
    let added: Vec<&str> = written
        .lines()
        .filter(|w| !original.lines().any(|l| l == *w))
        .collect();
    assert!(
        added.iter().any(|l| l.contains("MYSQL_PASSWORD_FILE")),
        "{added:?}"
    );
    assert!(
        added.iter().all(|l| !l.contains("MYSQL_DATABASE")),
        "{added:?}"
    );
    // The ports flow sequence after the changed env list is still there, as it was.
    assert!(
        written.contains("        ports: [{containerPort: 3306}]\n"),
        "{written}"
    );
}

/// Covers issue 24 item 1 on a committed `helm template` output of a public chart (Helm's
/// own test chart, tests/fixtures/helm): findings are in `(namespace of the apply)`, the
/// NetworkPolicies the fix writes name no namespace, and `post-render` hands back every
/// object without adding one.
#[test]
fn helm_template_output_stays_namespace_less() {
    let chart = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/helm/template.yaml");
    let json = secfix(&["scan", "-f", chart.to_str().unwrap(), "-o", "json"]);
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    assert!(
        findings.iter().all(|f| f["namespace"] == ""),
        "{findings:?}"
    );
    let table = text(&secfix(&["scan", "-f", chart.to_str().unwrap()]).stdout);
    assert!(!table.contains(" default "), "{table}");

    let out = secfix(&[
        "fix",
        "-f",
        chart.to_str().unwrap(),
        "--digest-source",
        "pods",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let created = objects(&stdout);
    assert!(
        created.iter().any(|o| o["kind"] == "NetworkPolicy"),
        "{stdout}"
    );
    assert!(created.iter().all(|o| !has_namespace(o)), "{stdout}");
    assert!(!stdout.contains("namespace: default"), "{stdout}");
    assert!(
        !text(&out.stderr).contains(" default/"),
        "{}",
        text(&out.stderr)
    );

    let input = std::fs::read(&chart).unwrap();
    let post = run(
        &["post-render", "--digest-source", "pods"],
        Some(&input),
        &[],
    );
    assert_eq!(post.status.code(), Some(0), "{}", text(&post.stderr));
    let all = objects(&text(&post.stdout));
    assert_eq!(
        all.len(),
        objects(&text(&input)).len() + created.len(),
        "every object back, plus the new ones"
    );
    assert!(all.iter().all(|o| !has_namespace(o)));
}

/// Covers issue 24 item 3: a base whose kustomization sets `namespace:` keeps it: patch
/// targets name it, the new objects are in it, both kustomizes render everything there.
#[test]
fn an_overlay_keeps_the_bases_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let b = copy_base(dir.path());
    std::fs::write(
        b.join("kustomization.yaml"),
        "namespace: shop\nresources:\n  - mysql-deployment.yaml\n  - wordpress-deployment.yaml\n",
    )
    .unwrap();
    let out_dir = dir.path().join("out");
    let out = secfix(&[
        "fix",
        "-k",
        b.to_str().unwrap(),
        "--overlay",
        out_dir.to_str().unwrap(),
        "--digest-source",
        "pods",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let k: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(out_dir.join("kustomization.yaml")).unwrap(),
    )
    .unwrap();
    for p in k["patches"].as_array().unwrap() {
        assert_eq!(p["target"]["namespace"], "shop", "{p}");
    }
    let rendered = kubectl_kustomize(&out_dir);
    assert!(rendered.status.success(), "{}", text(&rendered.stderr));
    let objs = objects(&text(&rendered.stdout));
    assert!(objs.iter().any(|o| o["kind"] == "NetworkPolicy"));
    for o in &objs {
        assert_eq!(o["metadata"]["namespace"], "shop", "{o}");
    }
    if let Some(kustomize) = standalone_kustomize() {
        let standalone = Command::new(kustomize)
            .arg("build")
            .arg(&out_dir)
            .output()
            .unwrap();
        assert_eq!(objects(&text(&standalone.stdout)), objs);
    }
}
