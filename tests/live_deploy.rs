//! `deploy/`: the namespace, ServiceAccount, ClusterRole, binding and CronJob that run
//! `kubectl-secfix scan -A --report-to-cluster` inside a cluster (covers issue #13, "Deployable").
//!
//! The manifests are checked offline against the rbac/ role and the Kubernetes types, and
//! accepted by the real API server with a server-side dry run.

mod support;

use std::path::Path;

use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Every document of every `deploy/*.yaml`, in file name order (as `kubectl apply -f deploy/`
/// reads them).
fn deploy_docs() -> Vec<(String, Value)> {
    let mut files: Vec<_> = std::fs::read_dir(Path::new(ROOT).join("deploy"))
        .expect("deploy/ exists")
        .map(|e| e.expect("deploy/ entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut docs = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let values: Vec<Value> =
            serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for v in values.into_iter().filter(|v| !v.is_null()) {
            docs.push((f.file_name().unwrap().to_string_lossy().into_owned(), v));
        }
    }
    docs
}

fn doc(kind: &str) -> Value {
    let found: Vec<Value> = deploy_docs()
        .into_iter()
        .filter(|(_, d)| d["kind"] == kind)
        .map(|(_, d)| d)
        .collect();
    assert_eq!(found.len(), 1, "deploy/ has exactly one {kind}");
    found.into_iter().next().unwrap()
}

#[test]
fn deploy_cluster_role_is_the_scan_role_plus_writing_policy_reports() {
    let scan: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(Path::new(ROOT).join("rbac/secfix-scan.yaml")).unwrap(),
    )
    .unwrap();
    let role = doc("ClusterRole");
    let mut expected = scan["rules"].as_array().unwrap().clone();
    expected.push(serde_json::json!({
        "apiGroups": ["wgpolicyk8s.io"],
        "resources": ["policyreports", "clusterpolicyreports"],
        "verbs": ["list", "create"],
    }));
    // Only its own reports may be rewritten or deleted (issue #19).
    expected.push(serde_json::json!({
        "apiGroups": ["wgpolicyk8s.io"],
        "resources": ["policyreports", "clusterpolicyreports"],
        "resourceNames": ["kubectl-secfix"],
        "verbs": ["update", "delete"],
    }));
    assert_eq!(role["rules"], Value::Array(expected));
    let rules = role["rules"].to_string();
    assert!(
        !rules.contains("secrets"),
        "it never reads Secrets: {rules}"
    );

    let binding = doc("ClusterRoleBinding");
    let sa = doc("ServiceAccount");
    assert_eq!(binding["roleRef"]["name"], role["metadata"]["name"]);
    assert_eq!(binding["subjects"][0]["kind"], "ServiceAccount");
    assert_eq!(binding["subjects"][0]["name"], sa["metadata"]["name"]);
    assert_eq!(
        binding["subjects"][0]["namespace"],
        sa["metadata"]["namespace"]
    );
    assert_eq!(
        sa["metadata"]["namespace"],
        doc("Namespace")["metadata"]["name"]
    );
}

#[test]
fn deploy_cronjob_is_a_batch_v1_cronjob_running_the_scheduled_scan() {
    let cron = doc("CronJob");
    assert_eq!(cron["apiVersion"], "batch/v1");
    // Every field is one the Kubernetes types know: a round trip through k8s-openapi loses
    // nothing (an unknown or misspelt field would be dropped).
    let typed: k8s_openapi::api::batch::v1::CronJob =
        serde_json::from_value(cron.clone()).expect("a valid batch/v1 CronJob");
    let mut back = serde_json::to_value(&typed).unwrap();
    back["apiVersion"] = cron["apiVersion"].clone();
    back["kind"] = cron["kind"].clone();
    assert_eq!(back, cron);

    let pod = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(
        pod["serviceAccountName"],
        doc("ServiceAccount")["metadata"]["name"]
    );
    assert_eq!(
        cron["metadata"]["namespace"],
        doc("Namespace")["metadata"]["name"]
    );
    let command: Vec<&str> = pod["containers"][0]["command"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(command[0].ends_with("/kubectl-secfix"), "{command:?}");
    assert_eq!(
        command[1..],
        ["scan", "-A", "--report-to-cluster", "--fail-on", "none"]
    );
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"],
        true
    );
}

/// The deploy/ documents as one YAML stream the server can take: the CronJob is sent as
/// `batch/v1beta1` when the server has no `batch/v1` CronJob (before 1.21, like the test
/// bed); its fields are the same in both versions.
fn deploy_stream(serves_batch_v1_cronjob: bool) -> String {
    deploy_docs()
        .into_iter()
        .map(|(_, mut d)| {
            if d["kind"] == "CronJob" && !serves_batch_v1_cronjob {
                d["apiVersion"] = Value::from("batch/v1beta1");
            }
            serde_saphyr::to_string(&d).unwrap()
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn deploy_manifests_pass_a_server_dry_run() {
    let c = live!();
    let serves_v1 = c
        .kubectl(["get", "--raw", "/apis/batch/v1"])
        .run()
        .stdout()
        .contains("\"cronjobs\"");
    // A server dry run creates nothing, so objects in the new namespace would be refused
    // with NotFound: the namespace is created for real first (as the README says to).
    c.kubectl(["apply", "-f", &format!("{ROOT}/deploy/00-namespace.yaml")])
        .run()
        .assert_code(0);
    let out = c
        .kubectl(["apply", "--dry-run=server", "-f", "-"])
        .stdin(deploy_stream(serves_v1))
        .run();
    out.assert_code(0);
    let stdout = out.stdout();
    for what in [
        "namespace/secfix-system",
        "serviceaccount/kubectl-secfix",
        "clusterrole.rbac.authorization.k8s.io/secfix-scheduled-scan",
        "clusterrolebinding.rbac.authorization.k8s.io/secfix-scheduled-scan",
        "cronjob.batch/kubectl-secfix",
    ] {
        assert!(
            stdout.contains(what) && stdout.contains("(server dry run)"),
            "{what} not accepted: {out:?}"
        );
    }
}

/// Covers issue #13, "In-cluster mode" and "A CronJob from deploy/ keeps PolicyReports
/// current": deploy/ applied for real, then the CronJob's own command run as its pod would run
/// it: no kubeconfig, the service environment of the pod, and a token of the deployed
/// ServiceAccount (from the TokenRequest API, as the kubelet mounts it) at the standard path
/// `/var/run/secrets/kubernetes.io/serviceaccount/` (in a private mount namespace). The
/// ServiceAccount's ClusterRole is all it has.
#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn the_cronjob_command_runs_in_cluster_as_the_deployed_service_account() {
    let c = live!();
    c.install_policy_report_crds();
    let serves_v1 = c
        .kubectl(["get", "--raw", "/apis/batch/v1"])
        .run()
        .stdout()
        .contains("\"cronjobs\"");
    c.kubectl(["apply", "-f", &format!("{ROOT}/deploy/00-namespace.yaml")])
        .run()
        .assert_code(0);
    c.kubectl(["apply", "-f", "-"])
        .stdin(deploy_stream(serves_v1))
        .run()
        .assert_code(0);
    let ns = c.namespace("in-cluster").await;
    c.apply_yaml(
        &ns,
        &support::deployment("web", support::SECRET_REF_ENV, support::PINNED_IMAGE),
    )
    .await;

    let cron = doc("CronJob");
    let command: Vec<String> =
        cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"]
            .as_array()
            .unwrap()
            .iter()
            .skip(1)
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
    let token = c.service_account_token("secfix-system", "kubectl-secfix");
    let out = c.in_cluster_secfix(&token, "secfix-system", &command).run();
    // --fail-on none: findings do not fail the Job; anything unreadable or unwritable would.
    out.assert_code(0);
    assert!(
        out.stderr().contains("note: wrote ") && out.stderr().contains("PolicyReports"),
        "{out:?}"
    );
    let report = c
        .get(
            &ns,
            "wgpolicyk8s.io/v1alpha2",
            "PolicyReport",
            "kubectl-secfix",
        )
        .await;
    assert_eq!(report["results"][0]["policy"], "env-secret");
    assert_eq!(
        report["results"][0]["resources"][0]["name"], "web",
        "{report}"
    );

    // -n defaults to the pod's namespace, as kubectl does in a pod.
    let out = c
        .in_cluster_secfix(&token, &ns, ["scan", "-o", "json"])
        .run();
    out.assert_code(3);
    let findings = out.json()["findings"].as_array().unwrap().clone();
    assert!(!findings.is_empty() && findings.iter().all(|f| f["namespace"] == ns.as_str()));

    // There is no kubeconfig to pick a context from.
    let out = c
        .in_cluster_secfix(&token, &ns, ["scan", "--context", "prod"])
        .run();
    out.assert_code(2);
    assert!(
        out.stderr()
            .contains("--context \"prod\": there is no kubeconfig"),
        "{out:?}"
    );

    // A kubeconfig, where there is one, wins over the service account: the viewer context
    // of the test bed's kubeconfig may read nothing.
    let out = c
        .in_cluster_secfix(&token, &ns, ["scan", "--context", "viewer"])
        .env("KUBECONFIG", &c.kubeconfig)
        .run();
    out.assert_code(1);
    assert!(out.stderr().contains("forbidden"), "{out:?}");
}

/// covers issue #19: the scheduled scan's ServiceAccount may update and delete only the reports
/// named `kubectl-secfix`, never another tool's; checked by the real API server's RBAC.
#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn the_scheduled_scan_cannot_rewrite_another_tools_reports() {
    let c = live!();
    c.install_policy_report_crds();
    let ns = c.namespace("deploy-rbac").await;
    let mut role = doc("ClusterRole");
    role["metadata"]["name"] = Value::from(format!("{ns}-scheduled-scan"));
    let binding = serde_json::json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": format!("{ns}-scheduled-scan")},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": format!("{ns}-scheduled-scan")},
        "subjects": [{"kind": "ServiceAccount", "name": "scan", "namespace": ns}],
    });
    c.kubectl_apply(&format!(
        "{}---\n{}",
        serde_saphyr::to_string(&role).unwrap(),
        serde_saphyr::to_string(&binding).unwrap()
    ));
    let sa = format!("system:serviceaccount:{ns}:scan");
    let can = |verb: &str, what: &str| {
        let out = c
            .kubectl(["auth", "can-i", verb, what, "-n", &ns, "--as", &sa])
            .run();
        out.stdout().trim() == "yes"
    };
    // RBAC is evaluated as soon as the binding is stored; allow the cache a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !can("update", "policyreports.wgpolicyk8s.io/kubectl-secfix") {
        assert!(
            std::time::Instant::now() < deadline,
            "the role never applied"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    for (verb, what, allowed) in [
        (
            "update",
            "policyreports.wgpolicyk8s.io/kubectl-secfix",
            true,
        ),
        (
            "delete",
            "policyreports.wgpolicyk8s.io/kubectl-secfix",
            true,
        ),
        (
            "update",
            "clusterpolicyreports.wgpolicyk8s.io/kubectl-secfix",
            true,
        ),
        ("create", "policyreports.wgpolicyk8s.io", true),
        ("list", "policyreports.wgpolicyk8s.io", true),
        ("update", "policyreports.wgpolicyk8s.io/kyverno-polr", false),
        ("delete", "policyreports.wgpolicyk8s.io/kyverno-polr", false),
        ("update", "clusterpolicyreports.wgpolicyk8s.io/trivy", false),
        ("delete", "clusterpolicyreports.wgpolicyk8s.io/trivy", false),
    ] {
        assert_eq!(can(verb, what), allowed, "{verb} {what}");
    }
}
