//! PolicyReports in the cluster (covers issue #13, "PolicyReports"): the Policy WG's
//! v1alpha2 CRDs (vendored in tests/fixtures/policy-report/) are installed on the first test
//! bed; the second one never has them.
//!
//! The writer (`kubectl_secfix::cluster::policy_report`) is driven directly here, with findings
//! made for the purpose; the end-to-end tests through `scan --report-to-cluster` follow.

mod support;

use kubectl_secfix::checks::Finding;
use kubectl_secfix::cluster::policy_report::{WriteError, write};
use kubectl_secfix::report::policy_report::{PolicyReport, Timestamp, build};
use serde_json::{Value, json};

const AT: Timestamp = Timestamp {
    seconds: 1_790_000_000,
    nanos: 0,
};

fn env_secret(ns: &str, name: &str) -> Finding {
    serde_json::from_value(json!({
        "check": "env-secret", "severity": "high", "namespace": ns, "kind": "Deployment",
        "apiVersion": "apps/v1", "name": name, "container": "web",
        "path": "/spec/template/spec/containers/0/env/0",
        "message": "DB_PASSWORD from Secret db (key password)", "fixable": true,
        "detail": {"type": "secretKeyRef", "env": "DB_PASSWORD", "secret": "db", "key": "password", "optional": false},
    }))
    .unwrap()
}

fn unisolated(ns: &str) -> Finding {
    serde_json::from_value(json!({
        "check": "default-allow-namespace", "severity": "medium", "namespace": ns,
        "kind": "Namespace", "apiVersion": "v1", "name": ns, "path": "",
        "message": "no NetworkPolicy isolates Ingress for 1 workload", "fixable": true,
        "detail": {"type": "unisolated", "direction": "ingress", "workloads": ["deployment/web"]},
    }))
    .unwrap()
}

async fn get_report(c: &support::Cluster, ns: &str) -> Option<PolicyReport> {
    let v = c
        .get_opt(
            ns,
            "wgpolicyk8s.io/v1alpha2",
            "PolicyReport",
            "kubectl-secfix",
        )
        .await?;
    Some(serde_json::from_value(v).unwrap())
}

async fn cluster_report(c: &support::Cluster) -> Option<PolicyReport> {
    let v = c
        .get_opt(
            "",
            "wgpolicyk8s.io/v1alpha2",
            "ClusterPolicyReport",
            "kubectl-secfix",
        )
        .await?;
    Some(serde_json::from_value(v).unwrap())
}

/// The cluster report's results about namespace `ns`.
async fn cluster_results_of(c: &support::Cluster, ns: &str) -> Vec<Value> {
    cluster_report(c)
        .await
        .map(|r| r.results)
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.resources[0].name.as_deref() == Some(ns))
        .map(|r| serde_json::to_value(r).unwrap())
        .collect()
}

#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn reports_are_created_replaced_then_deleted_when_the_namespace_is_clean() {
    let c = live!();
    c.install_policy_report_crds();
    let client = c.client().await;
    let ns = c.namespace("polr-cycle").await;

    let first = build(
        &[
            env_secret(&ns, "web"),
            unisolated(&ns),
            env_secret(&ns, "api"),
        ],
        AT,
    );
    let expected = first.namespaces[&ns].clone();
    let written = write(&client, first, Some(&ns), &Default::default())
        .await
        .unwrap();
    assert_eq!(written.errors, Vec::<String>::new());
    assert_eq!(written.namespaces, vec![ns.clone()]);
    assert_eq!(written.cluster, Some(true));
    let stored = get_report(c, &ns).await.expect("the report was created");
    assert_eq!(stored.results, expected.results);
    assert_eq!(stored.summary.fail, 2);
    assert_eq!(stored.metadata.labels, expected.metadata.labels);
    let uid = stored.metadata.uid.clone();
    assert_eq!(cluster_results_of(c, &ns).await.len(), 1);

    // A second run replaces the report (same object, new content), never adds one.
    let second = build(&[env_secret(&ns, "api")], AT);
    let written = write(&client, second, Some(&ns), &Default::default())
        .await
        .unwrap();
    assert_eq!(written.errors, Vec::<String>::new());
    let stored = get_report(c, &ns).await.unwrap();
    assert_eq!(stored.metadata.uid, uid, "replaced in place");
    assert_eq!(stored.results.len(), 1);
    assert_eq!(stored.results[0].resources[0].name.as_deref(), Some("api"));
    assert_eq!(stored.summary.fail, 1);
    assert!(
        cluster_results_of(c, &ns).await.is_empty(),
        "the namespace's cluster-scoped result is gone"
    );
    let all = c
        .kubectl(["get", "policyreports", "-n", &ns, "-o", "name"])
        .run();
    all.assert_code(0);
    assert_eq!(
        all.stdout().trim(),
        "policyreport.wgpolicyk8s.io/kubectl-secfix"
    );

    // Nothing found any more: our report is deleted.
    let written = write(&client, build(&[], AT), Some(&ns), &Default::default())
        .await
        .unwrap();
    assert_eq!(written.deleted, vec![ns.clone()]);
    assert!(get_report(c, &ns).await.is_none());
}

#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn a_report_of_the_same_name_that_is_not_ours_is_left_alone() {
    let c = live!();
    c.install_policy_report_crds();
    let ns = c.namespace("polr-foreign").await;
    c.apply_yaml(
        &ns,
        "apiVersion: wgpolicyk8s.io/v1alpha2\nkind: PolicyReport\nmetadata: {name: kubectl-secfix}\nresults: [{policy: someone-elses, result: pass}]\nsummary: {pass: 1}\n",
    )
    .await;
    let written = write(
        &c.client().await,
        build(&[env_secret(&ns, "web")], AT),
        Some(&ns),
        &Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(written.namespaces, Vec::<String>::new());
    assert_eq!(written.errors.len(), 1, "{written:?}");
    assert!(
        written.errors[0].contains("not written by kubectl-secfix"),
        "{}",
        written.errors[0]
    );
    let stored = get_report(c, &ns).await.unwrap();
    assert_eq!(stored.results[0].policy, "someone-elses");
}

#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn a_one_namespace_scan_keeps_the_other_namespaces_in_the_cluster_report() {
    let c = live!();
    c.install_policy_report_crds();
    let client = c.client().await;
    let a = c.namespace("polr-a").await;
    let b = c.namespace("polr-b").await;
    write(
        &client,
        build(&[unisolated(&a)], AT),
        Some(&a),
        &Default::default(),
    )
    .await
    .unwrap();
    write(
        &client,
        build(&[unisolated(&b)], AT),
        Some(&b),
        &Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(cluster_results_of(c, &a).await.len(), 1);
    assert_eq!(cluster_results_of(c, &b).await.len(), 1);
    let report = cluster_report(c).await.unwrap();
    assert_eq!(report.summary.fail as usize, report.results.len());
}

#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn missing_crds_are_a_clear_error() {
    let (_, second) = live2!();
    let client = second.client().await;
    let err = write(
        &client,
        build(&[env_secret("default", "web")], AT),
        None,
        &Default::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, WriteError::CrdsMissing { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("the PolicyReport CRDs are not installed")
            && msg.contains("policyreports and clusterpolicyreports")
            && msg.contains("does not install them"),
        "{msg}"
    );
}

// --- through `scan --report-to-cluster` -------------------------------------------------------

/// Finding fields that are result fields of their own, not properties.
const MAPPED: [&str; 7] = [
    "check",
    "severity",
    "namespace",
    "kind",
    "apiVersion",
    "name",
    "message",
];

/// The result the README promises for a finding of the JSON report (an independent statement
/// of the mapping): `policy` = check, `rule` = detail type, the object as the resource, and
/// every other field as a property (nested ones dotted, string lists joined, empty ones left
/// out).
fn expected_result(f: &Value) -> Value {
    fn walk(key: &str, v: &Value, out: &mut serde_json::Map<String, Value>) {
        match v {
            Value::Null => {}
            Value::String(s) if s.is_empty() => {}
            Value::String(s) => {
                out.insert(key.into(), json!(s));
            }
            Value::Bool(_) | Value::Number(_) => {
                out.insert(key.into(), json!(v.to_string()));
            }
            Value::Object(m) => m
                .iter()
                .for_each(|(k, v)| walk(&format!("{key}.{k}"), v, out)),
            Value::Array(items) if items.iter().all(Value::is_string) => {
                let joined: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                out.insert(key.into(), json!(joined.join(", ")));
            }
            Value::Array(_) => {
                out.insert(key.into(), json!(v.to_string()));
            }
        }
    }
    let mut properties = serde_json::Map::new();
    for (k, v) in f.as_object().unwrap() {
        if !MAPPED.contains(&k.as_str()) {
            walk(k, v, &mut properties);
        }
    }
    let mut resource = json!({"apiVersion": f["apiVersion"], "kind": f["kind"], "name": f["name"]});
    if f["kind"] != "Namespace" {
        resource["namespace"] = f["namespace"].clone();
    }
    let category = match f["check"].as_str().unwrap() {
        "env-secret" | "env-literal-secret" => "secrets",
        "default-allow-namespace" => "network",
        _ => "supply-chain",
    };
    json!({
        "source": "kubectl-secfix",
        "policy": f["check"],
        "rule": f["detail"]["type"],
        "category": category,
        "severity": f["severity"],
        "result": "fail",
        "scored": true,
        "resources": [resource],
        "message": f["message"],
        "properties": properties,
    })
}

/// A stored result without its timestamp (checked separately), as JSON.
fn without_timestamp(r: &Value) -> Value {
    let mut r = r.clone();
    let ts = r.as_object_mut().unwrap().remove("timestamp");
    assert!(
        ts.is_some_and(|t| t["seconds"].as_i64().unwrap() > 0),
        "{r}"
    );
    r
}

/// Checks that the reports in the cluster hold exactly the findings of `report` (a JSON scan
/// report of namespace `ns`): the namespace's PolicyReport the namespaced ones, in order, and
/// the ClusterPolicyReport the Namespace's own.
async fn assert_reports_match(c: &support::Cluster, ns: &str, report: &Value) {
    let findings = report["findings"].as_array().unwrap();
    let (cluster_scoped, namespaced): (Vec<&Value>, Vec<&Value>) =
        findings.iter().partition(|f| f["kind"] == "Namespace");
    let stored = get_report(c, ns).await.expect("a PolicyReport was written");
    let got: Vec<Value> = stored
        .results
        .iter()
        .map(|r| without_timestamp(&serde_json::to_value(r).unwrap()))
        .collect();
    let want: Vec<Value> = namespaced.iter().map(|f| expected_result(f)).collect();
    assert_eq!(got, want);
    assert_eq!(stored.summary.fail as usize, want.len());
    assert_eq!(
        (
            stored.summary.pass,
            stored.summary.warn,
            stored.summary.error,
            stored.summary.skip
        ),
        (0, 0, 0, 0)
    );
    let got: Vec<Value> = cluster_results_of(c, ns)
        .await
        .iter()
        .map(without_timestamp)
        .collect();
    let want: Vec<Value> = cluster_scoped.iter().map(|f| expected_result(f)).collect();
    assert_eq!(got, want);
}

/// A namespace with findings of four checks, one of them a literal secret value.
async fn seeded(c: &support::Cluster, prefix: &str) -> String {
    let ns = c.namespace(prefix).await;
    c.apply_yaml(
        &ns,
        &support::deployment("web", support::SECRET_REF_ENV, "nginx:1.25"),
    )
    .await;
    c.apply_yaml(
        &ns,
        &support::deployment(
            "worker",
            "[{name: API_TOKEN, value: sfxCANARY-policyreport-7f3a9c}]",
            support::PINNED_IMAGE,
        ),
    )
    .await;
    ns
}

#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn a_scan_writes_reports_whose_results_match_the_json_report_exactly() {
    let c = live!();
    c.install_policy_report_crds();
    let ns = seeded(c, "polr-scan").await;
    let out = c
        .secfix(["scan", "-n", &ns, "-o", "json", "--report-to-cluster"])
        .run();
    out.assert_code(3);
    assert!(
        out.stderr()
            .contains("note: wrote 1 PolicyReport and the ClusterPolicyReport"),
        "{out:?}"
    );
    let report = out.json();
    let checks: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    for check in [
        "env-secret",
        "env-literal-secret",
        "mutable-image-tag",
        "default-allow-namespace",
    ] {
        assert!(checks.contains(&check), "{check} in {checks:?}");
    }
    assert_reports_match(c, &ns, &report).await;

    // Labelled as ours, and no secret value anywhere in them.
    let stored = get_report(c, &ns).await.unwrap();
    assert_eq!(
        stored.metadata.labels.unwrap()["app.kubernetes.io/managed-by"],
        "kubectl-secfix"
    );
    for what in [
        vec![
            "get",
            "policyreport",
            "kubectl-secfix",
            "-n",
            &ns,
            "-o",
            "json",
        ],
        vec!["get", "clusterpolicyreport", "kubectl-secfix", "-o", "json"],
    ] {
        let got = c.kubectl(what).run();
        got.assert_code(0);
        assert!(!got.stdout().contains("sfxCANARY"), "{got:?}");
    }
}

#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn a_second_scan_replaces_the_reports_never_duplicates_them() {
    let c = live!();
    c.install_policy_report_crds();
    let ns = seeded(c, "polr-rescan").await;
    let scan = || {
        c.secfix(["scan", "-n", &ns, "-o", "json", "--report-to-cluster"])
            .run()
    };
    scan().assert_code(3);
    let first = get_report(c, &ns).await.unwrap();

    // The literal is fixed by hand: its finding must leave the report.
    c.kubectl(["delete", "deployment", "worker", "-n", &ns])
        .run()
        .assert_code(0);
    let out = scan();
    out.assert_code(3);
    let report = out.json();
    assert!(
        !report["findings"]
            .to_string()
            .contains("env-literal-secret"),
        "the literal is gone from the scan"
    );
    assert_reports_match(c, &ns, &report).await;
    let second = get_report(c, &ns).await.unwrap();
    assert_eq!(second.metadata.uid, first.metadata.uid, "replaced in place");
    assert!(second.results.len() < first.results.len());
    let names = c
        .kubectl(["get", "policyreports", "-n", &ns, "-o", "name"])
        .run();
    assert_eq!(
        names.stdout().trim(),
        "policyreport.wgpolicyk8s.io/kubectl-secfix",
        "one report per namespace"
    );
    let in_cluster_report = cluster_results_of(c, &ns).await;
    assert_eq!(in_cluster_report.len(), 2, "Ingress and Egress, once each");
}

#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn without_the_crds_the_scan_says_so_and_exits_1() {
    let (_, second) = live2!();
    let ns = seeded(second, "polr-nocrd").await;
    let out = second
        .secfix(["scan", "-n", &ns, "--report-to-cluster"])
        .run();
    out.assert_code(1);
    let err = out.stderr();
    assert!(
        err.contains("error: the PolicyReport CRDs are not installed in this cluster")
            && err.contains("kubectl-secfix does not install them"),
        "{out:?}"
    );
    assert!(
        out.stdout().contains("env-secret"),
        "the scan's own output is still printed: {out:?}"
    );
}

/// Several contexts, each writing into its own cluster; the one without the CRDs fails alone.
#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn each_context_writes_its_own_cluster_and_one_without_crds_fails_alone() {
    let (a, b) = live2!();
    a.install_policy_report_crds();
    let ns_a = seeded(a, "polr-multi").await;
    let ns_b = seeded(b, "polr-multi").await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = support::merged_kubeconfig(
        &dir.path().join("kubeconfig"),
        &[
            (
                "with-crds",
                support::ContextTo::Bed {
                    bed: a,
                    context: "admin",
                    namespace: Some(&ns_a),
                },
            ),
            (
                "without-crds",
                support::ContextTo::Bed {
                    bed: b,
                    context: "admin",
                    namespace: Some(&ns_b),
                },
            ),
        ],
    );
    let out = a
        .secfix([
            "scan",
            "--all-contexts",
            "-o",
            "json",
            "--report-to-cluster",
        ])
        .env("KUBECONFIG", &kubeconfig)
        .run();
    out.assert_code(1);
    let err = out.stderr();
    assert!(
        err.contains("note: context with-crds: wrote 1 PolicyReport")
            && err.contains("error: context without-crds: the PolicyReport CRDs are not installed"),
        "{out:?}"
    );
    let mut report = out.json();
    let findings = report["findings"].as_array_mut().unwrap();
    findings.retain(|f| f["context"] == "with-crds");
    assert!(findings.iter().all(|f| f["server"] == a.server().as_str()));
    // The reports carry the context and server too, as the JSON report does.
    assert_reports_match(a, &ns_a, &report).await;
    let contexts = &out.json()["contexts"];
    assert_eq!(contexts[0]["status"], "ok");
    assert_eq!(contexts[1]["status"], "failed");
}

/// A ServiceAccount `scanner` in `ns` that can list every kind a scan lists in `ns` except
/// StatefulSets (the pod-template CRDs other tests install included), and write PolicyReports (there) and the ClusterPolicyReport; returns its
/// token.
fn scanner_without_statefulsets(c: &support::Cluster, ns: &str) -> String {
    c.kubectl_apply(&format!(
        r#"apiVersion: v1
kind: ServiceAccount
metadata: {{name: scanner, namespace: {ns}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: scanner, namespace: {ns}}}
rules:
- apiGroups: [""]
  resources: [pods, replicationcontrollers, services, configmaps]
  verbs: [get, list]
- apiGroups: [apps]
  resources: [deployments, daemonsets, replicasets]
  verbs: [get, list]
- apiGroups: [batch]
  resources: [jobs, cronjobs]
  verbs: [get, list]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies, ingresses]
  verbs: [get, list]
- apiGroups: [argoproj.io]
  resources: [rollouts]
  verbs: [get, list]
- apiGroups: [apps.openshift.io]
  resources: [deploymentconfigs]
  verbs: [get, list]
- apiGroups: [wgpolicyk8s.io]
  resources: [policyreports]
  verbs: [get, list, create, update, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: scanner, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: scanner}}
subjects: [{{kind: ServiceAccount, name: scanner, namespace: {ns}}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: {ns}-scanner}}
rules:
- apiGroups: [wgpolicyk8s.io]
  resources: [clusterpolicyreports]
  verbs: [get, list, create, update, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: {ns}-scanner}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {ns}-scanner}}
subjects: [{{kind: ServiceAccount, name: scanner, namespace: {ns}}}]
"#
    ));
    c.service_account_token(ns, "scanner")
}

/// covers issue #19: a scan that cannot list a kind (forbidden here) keeps the PolicyReport
/// results about that kind and the namespace-level results, exits 1 naming the kind, and
/// records the incomplete scan in the ClusterPolicyReport (a `result: error`), where it
/// used to shrink the reports as if those objects were clean.
#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn a_partial_scan_keeps_what_it_could_not_see_in_the_reports() {
    let c = live!();
    c.install_policy_report_crds();
    let ns = seeded(c, "polr-partial").await;
    c.apply_yaml(
        &ns,
        r#"
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
"#,
    )
    .await;
    let full = c
        .secfix(["scan", "-n", &ns, "-o", "json", "--report-to-cluster"])
        .run();
    full.assert_code(3);
    let kinds = |r: &PolicyReport| -> Vec<String> {
        r.results
            .iter()
            .filter_map(|x| x.resources.first()?.kind.clone())
            .collect()
    };
    let before = get_report(c, &ns).await.unwrap();
    assert!(kinds(&before).contains(&"StatefulSet".to_string()));
    let namespace_results = cluster_results_of(c, &ns).await;
    assert!(
        !namespace_results.is_empty(),
        "default-allow-namespace result"
    );

    let token = scanner_without_statefulsets(c, &ns);
    let partial = c
        .in_cluster_secfix(
            &token,
            &ns,
            ["scan", "-n", &ns, "-o", "json", "--report-to-cluster"],
        )
        .run();
    assert_eq!(partial.code(), 1, "{partial:?}");
    assert!(
        partial
            .stderr()
            .contains("incomplete scan: could not list StatefulSet"),
        "{partial:?}"
    );
    let after = get_report(c, &ns).await.unwrap();
    assert_eq!(
        kinds(&after).iter().filter(|k| *k == "StatefulSet").count(),
        kinds(&before)
            .iter()
            .filter(|k| *k == "StatefulSet")
            .count(),
        "the StatefulSet's results are kept: {after:?}"
    );
    assert!(kinds(&after).contains(&"Deployment".to_string()));
    let cluster = cluster_results_of(c, &ns).await;
    let marker = cluster
        .iter()
        .find(|r| r["policy"] == "kubectl-secfix-scan")
        .unwrap_or_else(|| panic!("no incompleteness result: {cluster:?}"));
    assert_eq!(marker["result"], "error");
    assert_eq!(marker["properties"]["unlistedKinds"], "StatefulSet");
    assert!(
        cluster
            .iter()
            .any(|r| r["policy"] == "default-allow-namespace"),
        "namespace-level results kept: {cluster:?}"
    );
    assert!(cluster_report(c).await.unwrap().summary.error >= 1);

    // The next complete scan replaces the marker.
    c.secfix(["scan", "-n", &ns, "--report-to-cluster"])
        .run()
        .assert_code(3);
    let cluster = cluster_results_of(c, &ns).await;
    assert!(
        cluster.iter().all(|r| r["policy"] != "kubectl-secfix-scan"),
        "{cluster:?}"
    );
}
