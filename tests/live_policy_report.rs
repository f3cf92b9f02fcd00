//! PolicyReports in the cluster (covers issue #13, "PolicyReports"): the Policy WG's
//! v1alpha2 CRDs (vendored in tests/fixtures/policy-report/) are installed on the first test
//! bed; the second one never has them.
//!
//! The writer (`kubectl_secfix::cluster::policy_report`) is driven directly here, with findings
//! made for the purpose; the end-to-end tests through `scan --report-to-cluster` follow.

mod support;

use kubectl_secfix::cluster::policy_report::{WriteError, write};
use kubectl_secfix::model::Finding;
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
    let written = write(&client, first, Some(&ns)).await.unwrap();
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
    let written = write(&client, second, Some(&ns)).await.unwrap();
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
    let written = write(&client, build(&[], AT), Some(&ns)).await.unwrap();
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
    write(&client, build(&[unisolated(&a)], AT), Some(&a))
        .await
        .unwrap();
    write(&client, build(&[unisolated(&b)], AT), Some(&b))
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
    let err = write(&client, build(&[env_secret("default", "web")], AT), None)
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
