//! Reading and rewriting manifests (`-f`) through the real binary: tolerant input, YAML as
//! kubectl reads it, pod templates of any kind, and `--write` that loses nothing.
//! Hermetic: no cluster, no network. Covers issue #16 and issue #15 items 1, 8, 9, 10, 12.

use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _, symlink};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-secfix");

fn secfix(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("KUBECONFIG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run kubectl-secfix")
}

/// Runs with a stdin that stays open (never written, never closed) and a time limit: a
/// command that reads it would hang.
fn secfix_open_stdin(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("KUBECONFIG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("{args:?} did not finish in {limit:?}: it waits for input");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(stdin);
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

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

/// `(kind, name)` of every finding of one check.
fn found(report: &Value, check: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["check"] == check)
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// A workload of `kind` with a pod template at `spec.template.spec`, an env from a Secret
/// and a `:latest` image.
fn templated(api_version: &str, kind: &str, name: &str, extra_spec: &str) -> String {
    format!(
        "apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: {name}\nspec:\n{extra_spec}  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - name: app\n        image: nginx:latest\n        env:\n        - name: DB_PASSWORD\n          valueFrom:\n            secretKeyRef: {{name: db, key: password}}\n"
    )
}

fn deployment(name: &str) -> String {
    templated("apps/v1", "Deployment", name, "  replicas: 2\n")
}

#[test]
fn a_broken_file_never_hides_the_others() {
    // covers issue #16: refused files used to abort the whole directory with exit 2.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "a-good.yaml", &deployment("good"));
    let broken = write(root, "b-broken.yaml", "kind: Deployment\nmetadata: [oops\n");
    write(
        root,
        "c-octal.yaml",
        &deployment("octal").replace(
            "      containers:",
            "      volumes:\n      - name: s\n        secret: {secretName: s, defaultMode: 0400}\n      containers:",
        ),
    );
    write(
        root,
        "d-placeholder.yaml",
        &deployment("placeholder").replace(
            "      containers:",
            "      volumes:\n      - name: disk\n        fc: {targetWWNs: [500a0982991b8dc5], lun: <ADD LUN ID Here>}\n      containers:",
        ),
    );
    let dup = write(
        root,
        "e-duplicates.yaml",
        &deployment("dup").replace("  replicas: 2\n", "  replicas: 2\n  replicas: 3\n"),
    );
    let out = secfix(&["scan", "-f", root.to_str().unwrap(), "-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let r = report(&out);
    assert_eq!(
        found(&r, "env-secret"),
        [
            ("Deployment".into(), "dup".into()),
            ("Deployment".into(), "good".into()),
            ("Deployment".into(), "octal".into()),
            ("Deployment".into(), "placeholder".into()),
        ]
    );
    assert_eq!(r["errors"][0]["file"], broken.as_str());
    assert_eq!(r["errors"][0]["line"], 2);
    assert_eq!(r["errors"].as_array().unwrap().len(), 1, "{r}");
    let err = text(&out.stderr);
    assert!(err.contains(&format!("{broken}:2: invalid YAML")), "{err}");
    assert!(
        err.contains(&format!("{dup}:7: duplicate key `replicas`")),
        "a warning naming file and line: {err}"
    );

    // SARIF: the broken file is an error notification located at its line.
    let out = secfix(&["scan", "-f", root.to_str().unwrap(), "-o", "sarif"]);
    assert_eq!(out.status.code(), Some(1));
    let sarif = report(&out);
    let invocation = &sarif["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let n = &invocation["toolExecutionNotifications"][0];
    assert_eq!(n["level"], "error");
    assert_eq!(
        n["locations"][0]["physicalLocation"]["region"]["startLine"],
        2
    );
    assert!(
        n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("b-broken.yaml")
    );
}

#[test]
fn a_type_error_where_a_check_reads_is_named_and_the_other_objects_are_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "bad.yaml",
        &format!(
            "{}---\n{}",
            deployment("ok"),
            deployment("bad").replace(
                "        - name: DB_PASSWORD\n",
                "        - name: [DB_PASSWORD]\n"
            )
        ),
    );
    let out = secfix(&["scan", "-f", &bad, "-o", "json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        found(&report(&out), "env-secret"),
        [("Deployment".into(), "ok".into())]
    );
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "{bad}:19: Deployment bad: invalid pod spec: containers[0].env[0].name"
        )),
        "{err}"
    );
}

#[test]
fn pod_templates_of_any_kind_are_scanned_and_fixed_under_their_own_kind() {
    // covers issue #16: Argo Rollouts and OpenShift DeploymentConfigs reported nothing.
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "controllers.yaml",
        &[
            templated("argoproj.io/v1alpha1", "Rollout", "roll", "  replicas: 2\n"),
            templated("apps.openshift.io/v1", "DeploymentConfig", "dc", "  replicas: 1\n  selector: {app: dc}\n"),
            // A ReplicaSet of the Rollout is reported on the Rollout.
            templated("apps/v1", "ReplicaSet", "roll-abc", "").replace(
                "metadata:\n  name: roll-abc\n",
                "metadata:\n  name: roll-abc\n  ownerReferences: [{apiVersion: argoproj.io/v1alpha1, kind: Rollout, name: roll, uid: u, controller: true}]\n",
            ),
            "apiVersion: example.com/v1\nkind: NightlyThing\nmetadata: {name: nightly}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n          - {name: c, image: busybox}\n".to_string(),
            // A template without containers is not a pod's.
            "apiVersion: cluster.x-k8s.io/v1beta1\nkind: MachineDeployment\nmetadata: {name: md}\nspec:\n  template:\n    spec: {bootstrap: {}}\n".to_string(),
        ]
        .join("---\n"),
    );
    let out = secfix(&["scan", "-f", &file, "-o", "json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let r = report(&out);
    assert_eq!(
        found(&r, "env-secret"),
        [
            ("DeploymentConfig".into(), "dc".into()),
            ("Rollout".into(), "roll".into()),
        ]
    );
    assert_eq!(
        found(&r, "mutable-image-tag"),
        [
            ("DeploymentConfig".into(), "dc".into()),
            ("NightlyThing".into(), "nightly".into()),
            ("Rollout".into(), "roll".into()),
        ]
    );
    let roll = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "Rollout")
        .unwrap();
    assert_eq!(roll["apiVersion"], "argoproj.io/v1alpha1");

    // Fixed in place at the same paths a Deployment's would be.
    let out = secfix(&[
        "fix",
        "-f",
        &file,
        "--checks",
        "env-secret",
        "--allow-app-changes",
        "--write",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = secfix(&["scan", "-f", &file, "-o", "json", "--checks", "env-secret"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let after = std::fs::read_to_string(&file).unwrap();
    assert_eq!(after.matches("DB_PASSWORD_FILE").count(), 2, "{after}");
    assert!(after.contains("kind: MachineDeployment"));
}

#[test]
fn two_files_defining_the_same_deployment_are_each_fixed_in_their_own_file() {
    // covers issue #15 item 1: the prod file was rewritten with the staging object.
    let dir = tempfile::tempdir().unwrap();
    let prod = write(
        dir.path(),
        "prod/web.yaml",
        &deployment("web").replace("replicas: 2", "replicas: 10"),
    );
    let staging = write(
        dir.path(),
        "staging/web.yaml",
        &deployment("web").replace("replicas: 2", "replicas: 1"),
    );
    let out = secfix(&[
        "fix",
        "-f",
        dir.path().to_str().unwrap(),
        "--checks",
        "env-secret",
        "--allow-app-changes",
        "--write",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "{staging}:1: Deployment (namespace of the apply)/web is also defined at {prod}:1"
        )),
        "duplicates are reported: {err}"
    );
    let (p, s) = (
        std::fs::read_to_string(&prod).unwrap(),
        std::fs::read_to_string(&staging).unwrap(),
    );
    assert!(
        p.contains("replicas: 10") && !p.contains("replicas: 1\n"),
        "{p}"
    );
    assert!(
        s.contains("replicas: 1\n") && !s.contains("replicas: 10"),
        "{s}"
    );
    assert!(p.contains("DB_PASSWORD_FILE") && s.contains("DB_PASSWORD_FILE"));
}

#[test]
fn symlinked_manifests_and_nested_lists_are_read_and_bad_paths_fail_loudly() {
    // covers issue #15 item 8: these passed silently with "No findings".
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let outside = write(root, "elsewhere/app.yaml", &deployment("linked"));
    std::fs::create_dir_all(root.join("m")).unwrap();
    symlink(&outside, root.join("m/app.yaml")).unwrap();
    write(
        root,
        "m/list.yaml",
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items:\n  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: nested}, spec: {template: {spec: {containers: [{name: c, image: nginx:latest}]}}}}\n",
    );
    let out = secfix(&["scan", "-f", root.join("m").to_str().unwrap(), "-o", "json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let r = report(&out);
    assert_eq!(
        found(&r, "mutable-image-tag"),
        [
            ("Deployment".into(), "linked".into()),
            ("Deployment".into(), "nested".into()),
        ]
    );
    // A link loop and a dangling manifest link are named, and make the run exit 1.
    symlink(root.join("m"), root.join("m/loop")).unwrap();
    symlink(root.join("gone.yaml"), root.join("m/dangling.yaml")).unwrap();
    let out = secfix(&["scan", "-f", root.join("m").to_str().unwrap(), "-o", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("loop"), "{err}");
    assert!(
        err.contains("dangling.yaml: dangling symbolic link"),
        "{err}"
    );
    assert_eq!(found(&report(&out), "mutable-image-tag").len(), 2);
}

#[test]
fn a_fifo_passed_to_f_is_refused_without_hanging() {
    // covers issue #15 item 12.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.yaml");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let out = secfix_open_stdin(
        &["scan", "-f", fifo.to_str().unwrap()],
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("a FIFO, not a regular file"));
}

#[test]
fn write_from_stdin_and_write_with_json_output_are_usage_errors_before_reading() {
    // covers issue #15 item 12.
    let out = secfix_open_stdin(&["fix", "-f", "-", "--write"], Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("standard input"));
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "app.yaml", &deployment("web"));
    let out = secfix(&["fix", "-f", &file, "--write", "-o", "json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("-o json"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), deployment("web"));
}

#[test]
fn write_on_json_keeps_every_file_valid_json_and_says_where_new_objects_go() {
    // covers issue #15 item 10: a NetworkPolicy was appended as a second top-level object.
    let dir = tempfile::tempdir().unwrap();
    let object: Value = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"template": {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.25@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"}]}}}});
    let plain = write(
        dir.path(),
        "app.json",
        &serde_json::to_string_pretty(&object).unwrap(),
    );
    let out = secfix(&[
        "fix",
        "-f",
        &plain,
        "--checks",
        "default-allow-namespace",
        "--network-policy",
        "deny-all",
        "--write",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let created = dir.path().join("app.secfix.json");
    assert!(
        text(&out.stderr).contains(&format!("created {}", created.display())),
        "{}",
        text(&out.stderr)
    );
    let original: Value = serde_json::from_str(&std::fs::read_to_string(&plain).unwrap()).unwrap();
    assert_eq!(original, object, "the plain JSON file is left as it was");
    let new: Value = serde_json::from_str(&std::fs::read_to_string(&created).unwrap()).unwrap();
    assert_eq!(new["kind"], "NetworkPolicy");

    // A JSON List takes the new object in its items, and stays one JSON document.
    let list = write(
        dir.path(),
        "list/all.json",
        &serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [object]}).to_string(),
    );
    let out = secfix(&[
        "fix",
        "-f",
        &list,
        "--checks",
        "default-allow-namespace",
        "--network-policy",
        "deny-all",
        "--write",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&list).unwrap()).unwrap();
    let kinds: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["Deployment", "NetworkPolicy"]);
}

#[test]
fn write_goes_through_links_keeps_owner_and_mode_and_never_follows_a_planted_link() {
    // covers issue #15 item 9.
    let dir = tempfile::tempdir().unwrap();
    let real = write(dir.path(), "real/app.yaml", &deployment("web"));
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.path().join("app.yaml");
    symlink(&real, &link).unwrap();
    // The temporary name of an older version, planted as a link to a victim file.
    let victim = write(dir.path(), "victim.txt", "do not touch\n");
    symlink(&victim, dir.path().join("app.secfix.tmp")).unwrap();
    symlink(&victim, dir.path().join("real/app.secfix.tmp")).unwrap();
    // As root, give the file another owner: a rewrite must keep it.
    let root = euid() == 0;
    if root {
        std::os::unix::fs::chown(&real, Some(4321), Some(4321)).unwrap();
    }
    let out = secfix(&[
        "fix",
        "-f",
        link.to_str().unwrap(),
        "--checks",
        "env-secret",
        "--allow-app-changes",
        "--write",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link stays a link"
    );
    assert!(
        std::fs::read_to_string(&real)
            .unwrap()
            .contains("DB_PASSWORD_FILE")
    );
    let meta = std::fs::metadata(&real).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o640);
    if root {
        assert_eq!((meta.uid(), meta.gid()), (4321, 4321));
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "do not touch\n");
    let leftovers: Vec<String> = std::fs::read_dir(dir.path().join("real"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("secfix-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A file with two hard links is refused, and nothing is written.
    let a = write(dir.path(), "h/a.yaml", &deployment("a"));
    std::fs::hard_link(&a, dir.path().join("h/b-link.yaml")).unwrap();
    let out = secfix(&[
        "fix",
        "-f",
        &a,
        "--checks",
        "env-secret",
        "--allow-app-changes",
        "--write",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("hard links"));
    assert_eq!(std::fs::read_to_string(&a).unwrap(), deployment("a"));
}

/// The effective user id (`id -u`).
fn euid() -> u32 {
    let out = Command::new("id").arg("-u").output().unwrap();
    text(&out.stdout).trim().parse().unwrap_or(1)
}

#[test]
fn yaml_dumps_of_any_size_are_scanned_item_by_item() {
    // covers issue #16: a 13 MB dump was refused with "budget breached".
    let mut list = String::from("apiVersion: v1\nitems:\n");
    for i in 0..3000 {
        list.push_str(&format!(
            "- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: app-{i}\n    namespace: ns-{}\n  spec:\n    template:\n      spec:\n        containers:\n        - name: app\n          image: nginx:latest\n          env:\n          - {{name: A, value: plain}}\n",
            i % 7
        ));
    }
    list.push_str("kind: List\nmetadata:\n  resourceVersion: \"\"\n");
    let mut child = Command::new(BIN)
        .args([
            "scan",
            "-f",
            "-",
            "-o",
            "json",
            "--checks",
            "mutable-image-tag",
        ])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(list.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(report(&out)["summary"]["scanned"], 3000);
}
