//! Fix and rollback on a test bed where controllers run (kube-controller-manager): Deployments
//! get ReplicaSets and Pods, controllers write status after every change, Jobs get their
//! selectors. Covers issue #19: the rollback guard survives status writes and scaling, and
//! still refuses after a real edit; the forward patch goes through while a controller writes
//! status; a Job's template is not offered as fixable.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{PINNED_IMAGE, SECRET_REF_ENV, deployment};

/// Waits until the controller of `kind` `ns/name` has written a status for the object's
/// current generation (`status.observedGeneration == metadata.generation`), and returns the
/// object then.
async fn reconciled(
    c: &support::Cluster,
    ns: &str,
    api_version: &str,
    kind: &str,
    name: &str,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let obj = c.get(ns, api_version, kind, name).await;
        let generation = &obj["metadata"]["generation"];
        if !generation.is_null() && obj["status"]["observedGeneration"] == *generation {
            return obj;
        }
        assert!(
            Instant::now() < deadline,
            "{kind} {ns}/{name}: no status for generation {generation} after 60 s: {}",
            obj["status"]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The pod template of a workload object, as the server serialises it (byte for byte).
fn template(obj: &Value) -> String {
    let t = match obj["kind"].as_str() {
        Some("CronJob") => &obj["spec"]["jobTemplate"]["spec"]["template"],
        _ => &obj["spec"]["template"],
    };
    serde_json::to_string(t).unwrap()
}

fn saved_dir(dir: &tempfile::TempDir) -> String {
    dir.path().join("patches").to_str().unwrap().to_string()
}

fn env_secret_fix(c: &support::Cluster, ns: &str, saved: &str) -> support::Output {
    let out = c
        .secfix([
            "fix",
            "-n",
            ns,
            "--checks",
            "env-secret",
            "--yes",
            "--allow-app-changes",
            "--save-patches",
            saved,
        ])
        .run();
    out.assert_code(0);
    out
}

/// Secret `db` (key `password`) and a Deployment `name` reading it as `DB_PASSWORD`, in `ns`.
async fn seed(c: &support::Cluster, ns: &str, name: &str) {
    c.apply_yaml(
        ns,
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: db}}\nstringData: {{password: x}}\n---\n{}",
            deployment(name, SECRET_REF_ENV, PINNED_IMAGE)
        ),
    )
    .await;
}

const STATEFULSET: &str = r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: app
        image: postgres:16
        env: [{name: POSTGRES_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}]
"#;

const DAEMONSET: &str = r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers:
      - name: app
        image: busybox:1.36
        env: [{name: API_TOKEN, valueFrom: {secretKeyRef: {name: db, key: token}}}]
"#;

const CRONJOB: &str = r#"
apiVersion: batch/v1beta1
kind: CronJob
metadata: {name: backup}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: app
            image: mysql:8.4
            env: [{name: MYSQL_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}]
"#;

/// covers issue #19: with controllers writing status after the fix, `rollback` still restores
/// every kind's template byte for byte (it was refused after every fix when the inverse was
/// guarded by `resourceVersion`).
#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn rollback_after_controllers_wrote_status_restores_every_kind_exactly() {
    let c = live!();
    let ns = c.namespace("reconcile-kinds").await;
    c.apply_yaml(
        &ns,
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: db}}\nstringData: {{password: x, token: t}}\n---\n{}\n---\n{STATEFULSET}\n---\n{DAEMONSET}\n---\n{CRONJOB}",
            deployment("api", SECRET_REF_ENV, PINNED_IMAGE)
        ),
    )
    .await;
    let kinds = [
        ("apps/v1", "Deployment", "api"),
        ("apps/v1", "StatefulSet", "db"),
        ("apps/v1", "DaemonSet", "agent"),
        ("batch/v1beta1", "CronJob", "backup"),
    ];
    let mut before = Vec::new();
    for (v, k, n) in kinds {
        let obj = if k == "CronJob" {
            c.get(&ns, v, k, n).await
        } else {
            reconciled(c, &ns, v, k, n).await
        };
        before.push(template(&obj));
    }
    let mut generations = Vec::new();
    for (v, k, n) in kinds {
        generations.push(c.get(&ns, v, k, n).await["metadata"]["generation"].clone());
    }
    let dir = tempfile::tempdir().unwrap();
    let saved = saved_dir(&dir);
    env_secret_fix(c, &ns, &saved);
    for ((v, k, n), was) in kinds.iter().zip(&before) {
        let obj = c.get(&ns, v, k, n).await;
        assert_ne!(&template(&obj), was, "{k} {n} was not fixed");
    }
    // Each controller sees the new generation and writes its status (observedGeneration is
    // the fixed generation): the resourceVersion the fix produced is gone.
    for ((v, k, n), generation) in kinds.iter().zip(&generations) {
        if *k == "CronJob" {
            continue;
        }
        let now = reconciled(c, &ns, v, k, n).await;
        assert!(
            now["metadata"]["generation"].as_i64() > generation.as_i64(),
            "{k} {n}: the fix made a new generation"
        );
    }

    let out = c.secfix(["rollback", &saved]).run();
    out.assert_code(0);
    assert!(out.stdout().contains("4 rolled back, 0 failed"), "{out:?}");
    for ((v, k, n), was) in kinds.iter().zip(&before) {
        let obj = c.get(&ns, v, k, n).await;
        assert_eq!(
            &template(&obj),
            was,
            "{k} {n}: template not restored exactly"
        );
    }
}

/// covers issue #19: a `kubectl scale` and the status writes it causes leave the rollback
/// working; rollback restores the template and keeps the new replica count (it undoes only
/// what the fix changed).
#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn rollback_goes_through_after_a_scale_and_status_writes() {
    let c = live!();
    let ns = c.namespace("reconcile-scale").await;
    seed(c, &ns, "api").await;
    let before = reconciled(c, &ns, "apps/v1", "Deployment", "api").await;
    let dir = tempfile::tempdir().unwrap();
    let saved = saved_dir(&dir);
    env_secret_fix(c, &ns, &saved);
    c.kubectl(["scale", "deployment/api", "-n", &ns, "--replicas=3"])
        .run()
        .assert_code(0);
    let scaled = reconciled(c, &ns, "apps/v1", "Deployment", "api").await;
    // The controller observed the scale (and wrote status for it).
    assert_eq!(scaled["spec"]["replicas"], 3);

    c.secfix(["rollback", &saved]).run().assert_code(0);
    let restored = c.get(&ns, "apps/v1", "Deployment", "api").await;
    assert_eq!(template(&restored), template(&before));
    assert_eq!(restored["spec"]["replicas"], 3, "the scale is kept");
}

/// covers issue #19: an edit to the fixed template after the fix makes rollback refuse, and
/// nothing is written.
#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn rollback_is_refused_after_an_edit_to_what_the_fix_wrote() {
    let c = live!();
    let ns = c.namespace("reconcile-edit").await;
    seed(c, &ns, "api").await;
    reconciled(c, &ns, "apps/v1", "Deployment", "api").await;
    let dir = tempfile::tempdir().unwrap();
    let saved = saved_dir(&dir);
    env_secret_fix(c, &ns, &saved);
    c.kubectl(["set", "env", "deployment/api", "-n", &ns, "LOG_LEVEL=debug"])
        .run()
        .assert_code(0);
    let edited = reconciled(c, &ns, "apps/v1", "Deployment", "api").await;

    let out = c.secfix(["rollback", &saved]).run();
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(
        out.stdout()
            .contains("changed since the fix, not rolled back"),
        "{out:?}"
    );
    assert!(out.stdout().contains("0 rolled back, 1 failed"), "{out:?}");
    let now = c.get(&ns, "apps/v1", "Deployment", "api").await;
    assert_eq!(template(&now), template(&edited), "nothing was written");
}

/// The fix plan of Deployment `ns/name` as it is now (app changes included).
async fn plan_of(c: &support::Cluster, ns: &str, name: &str) -> kubectl_secfix::fix::Plan {
    let opts = kubectl_secfix::fix::FixOptions {
        app_changes: kubectl_secfix::fix::AppChanges::Include,
        ..Default::default()
    };
    c.plan_of(ns, ("apps/v1", "Deployment", name), &opts, false)
        .await
}

/// covers issue #19: a status write between reading the object and patching it (here, right
/// after the plan was built) does not fail the guarded patch: the tool reads the object again,
/// sees that what the fix read is unchanged, and patches.
#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn the_forward_patch_goes_through_a_status_write_but_not_a_template_edit() {
    let c = live!();
    let ns = c.namespace("reconcile-race").await;
    c.apply_yaml(&ns, &deployment("race", SECRET_REF_ENV, PINNED_IMAGE))
        .await;
    let client = c.client().await;

    // A status write (as the Deployment controller makes) after the plan was built.
    let plan = plan_of(c, &ns, "race").await;
    let status = c
        .kubectl([
            "patch",
            "deployment/race",
            "-n",
            &ns,
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"conditions":[{"type":"Progressing","status":"True","reason":"Testing"}]}}"#,
        ])
        .run();
    status.assert_code(0);
    kubectl_secfix::cluster::apply::dry_run_then_apply(&client, &plan)
        .await
        .expect("a status write does not fail the fix");
    let fixed = c.get(&ns, "apps/v1", "Deployment", "race").await;
    assert!(!fixed.to_string().contains("secretKeyRef"), "{fixed}");

    // An edit to the template after the plan was built fails it, and nothing is written.
    c.apply_yaml(&ns, &deployment("race2", SECRET_REF_ENV, PINNED_IMAGE))
        .await;
    let plan = plan_of(c, &ns, "race2").await;
    c.kubectl(["set", "env", "deployment/race2", "-n", &ns, "EXTRA=1"])
        .run()
        .assert_code(0);
    let theirs = c.get(&ns, "apps/v1", "Deployment", "race2").await;
    let err = kubectl_secfix::cluster::apply::dry_run_then_apply(&client, &plan)
        .await
        .expect_err("an edit to the template must fail the fix");
    assert!(err.is_conflict(), "{err}");
    assert!(err.to_string().contains("/spec/template/spec"), "{err}");
    let now = c.get(&ns, "apps/v1", "Deployment", "race2").await;
    assert_eq!(template(&now), template(&theirs), "nothing was written");
}

/// covers issue #19: `fix --yes` goes through while another writer keeps changing the
/// Deployment's status and labels (a controller, a label-syncing operator).
#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn fix_goes_through_while_status_and_labels_keep_changing() {
    let c = live!();
    let ns = c.namespace("reconcile-busy").await;
    seed(c, &ns, "busy").await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let ns = ns.clone();
        let kubeconfig = c.dir().join("kubeconfig");
        std::thread::spawn(move || {
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < 400 {
                n += 1;
                let _ = std::process::Command::new("kubectl")
                    .arg("--kubeconfig")
                    .arg(&kubeconfig)
                    .args(["label", "--overwrite", "deployment/busy", "-n", &ns])
                    .arg(format!("tick={n}"))
                    .output();
            }
            n
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let saved = saved_dir(&dir);
    env_secret_fix(c, &ns, &saved);
    let rollback = c.secfix(["rollback", &saved]).run();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let ticks = writer.join().unwrap();
    rollback.assert_code(0);
    assert!(ticks > 1, "the other writer ran");
}

/// covers issue #19: a Job's pod template cannot change, so its findings are not fixable
/// (the server would reject the patch, echoing the template); the finding says why and what
/// to do, and `fix` sends nothing.
#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn a_job_is_not_offered_as_fixable() {
    let c = live!();
    let ns = c.namespace("reconcile-job").await;
    c.apply_yaml(
        &ns,
        r#"
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: app
        image: busybox:1.36
        env: [{name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}]
"#,
    )
    .await;
    // The server gave it its selector, and the Job controller its Pod.
    let job = c.get(&ns, "batch/v1", "Job", "migrate").await;
    assert!(
        job["spec"]["selector"]["matchLabels"]["controller-uid"].is_string(),
        "{job}"
    );
    let scan = c
        .secfix(["scan", "-n", &ns, "--checks", "env-secret", "-o", "json"])
        .run();
    let report = scan.json();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(
        findings.len(),
        1,
        "one finding, on the Job (not its Pod): {report}"
    );
    let f = &findings[0];
    assert_eq!(f["kind"], "Job");
    assert_eq!(f["fixable"], false);
    assert!(
        f["notFixableReason"]
            .as_str()
            .unwrap()
            .contains("Job's pod template cannot change"),
        "{f}"
    );
    let out = c
        .secfix([
            "fix",
            "-n",
            &ns,
            "--checks",
            "env-secret",
            "--yes",
            "--allow-app-changes",
        ])
        .run();
    out.assert_code(0);
    assert!(out.stdout().contains("Nothing to fix."), "{out:?}");
    let now = c.get(&ns, "batch/v1", "Job", "migrate").await;
    assert_eq!(template(&now), template(&job), "nothing was sent");
}
