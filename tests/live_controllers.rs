//! Pod-template controllers beyond the built-in kinds, against the real API server: Argo
//! Rollouts and OpenShift DeploymentConfigs (minimal CRDs installed into the test bed) are
//! listed when served, `--include-kinds` adds others, `fix` patches them through the dynamic
//! API, `rollback` restores them, and their ReplicaSets/ReplicationControllers/Pods are
//! reported on them. Covers issue #16 ("the two controllers above are scanned and fixed,
//! offline and live").

mod support;

use serde_json::{Value, json};

/// A minimal CRD that keeps whatever it is given (`x-kubernetes-preserve-unknown-fields`).
fn crd(group: &str, version: &str, kind: &str, plural: &str) -> String {
    format!(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: {plural}.{group}\nspec:\n  group: {group}\n  scope: Namespaced\n  names: {{kind: {kind}, plural: {plural}, singular: {}, listKind: {kind}List}}\n  versions:\n  - name: {version}\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}\n",
        kind.to_lowercase()
    )
}

/// Installs the CRDs once per test bed and waits until they are served.
fn install_crds(c: &support::Cluster) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let all = [
            crd("argoproj.io", "v1alpha1", "Rollout", "rollouts"),
            crd(
                "apps.openshift.io",
                "v1",
                "DeploymentConfig",
                "deploymentconfigs",
            ),
            crd("example.com", "v1", "Widget", "widgets"),
        ]
        .join("---\n");
        c.kubectl_apply(&all);
        c.kubectl([
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/rollouts.argoproj.io",
            "crd/deploymentconfigs.apps.openshift.io",
            "crd/widgets.example.com",
        ])
        .run()
        .assert_code(0);
    });
}

fn template(app: &str) -> Value {
    json!({
        "metadata": {"labels": {"app": app}},
        "spec": {"containers": [{
            "name": "app",
            "image": "nginx:latest",
            "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]
        }]}
    })
}

/// `(check, kind, name)` of every finding.
fn findings(report: &Value) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["check"] != "default-allow-namespace")
        .map(|f| {
            (
                f["check"].as_str().unwrap_or("").to_string(),
                f["kind"].as_str().unwrap_or("").to_string(),
                f["name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh)"]
async fn rollouts_are_scanned_fixed_and_rolled_back_with_their_replicasets_folded_in() {
    let c = live!();
    install_crds(c);
    let ns = c.namespace("rollout").await;
    let client = c.client().await;
    let rollout = c
        .create_value(
            &client,
            &ns,
            json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                "metadata": {"name": "shop"},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "shop"}},
                    "strategy": {"canary": {"steps": [{"setWeight": 20}]}},
                    "template": template("shop")}}),
        )
        .await;
    // What the Argo controller would make: a ReplicaSet, and a Pod of it.
    let rs = c
        .create_owned_by(
            &ns,
            &format!(
                "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {{name: shop-7d9}}\nspec:\n  selector: {{matchLabels: {{app: shop}}}}\n  template: {}\n",
                template("shop")
            ),
            &rollout,
        )
        .await;
    c.create_owned_by(
        &ns,
        &format!(
            "metadata: {{name: shop-7d9-x1, labels: {{app: shop}}}}\nspec: {}\n",
            template("shop")["spec"]
        ),
        &rs,
    )
    .await;

    let out = c.secfix(["scan", "-n", &ns, "-o", "json"]).run();
    out.assert_code(3);
    assert_eq!(
        findings(&out.json()),
        [
            ("env-secret".into(), "Rollout".into(), "shop".into()),
            ("mutable-image-tag".into(), "Rollout".into(), "shop".into()),
        ],
        "the ReplicaSet and the Pod are reported on the Rollout"
    );

    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("patches");
    c.secfix([
        "fix",
        "-n",
        &ns,
        "--yes",
        "--checks",
        "env-secret",
        "--allow-app-changes",
        "--save-patches",
        saved.to_str().unwrap(),
    ])
    .run()
    .assert_code(0);
    let fixed = c.get(&ns, "argoproj.io/v1alpha1", "Rollout", "shop").await;
    let container = &fixed["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["env"][0]["name"], "DB_PASSWORD_FILE", "{fixed}");
    assert_eq!(
        fixed["spec"]["strategy"],
        json!({"canary": {"steps": [{"setWeight": 20}]}}),
        "fields the fix does not touch are kept"
    );
    let out = c
        .secfix(["scan", "-n", &ns, "-o", "json", "--checks", "env-secret"])
        .run();
    out.assert_code(0);

    c.secfix(["rollback", saved.to_str().unwrap()])
        .run()
        .assert_code(0);
    let restored = c.get(&ns, "argoproj.io/v1alpha1", "Rollout", "shop").await;
    assert_eq!(
        restored["spec"]["template"], rollout["spec"]["template"],
        "rollback restores the template exactly"
    );
}

#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh)"]
async fn deployment_configs_are_scanned_and_fixed_with_their_replication_controllers_folded_in() {
    let c = live!();
    install_crds(c);
    let ns = c.namespace("dc").await;
    let client = c.client().await;
    let dc = c
        .create_value(
            &client,
            &ns,
            json!({"apiVersion": "apps.openshift.io/v1", "kind": "DeploymentConfig",
                "metadata": {"name": "legacy"},
                "spec": {"replicas": 1, "selector": {"app": "legacy"}, "template": template("legacy")}}),
        )
        .await;
    c.create_owned_by(
        &ns,
        &format!(
            "apiVersion: v1\nkind: ReplicationController\nmetadata: {{name: legacy-1}}\nspec:\n  selector: {{app: legacy}}\n  template: {}\n",
            template("legacy")
        ),
        &dc,
    )
    .await;
    let out = c.secfix(["scan", "-n", &ns, "-o", "json"]).run();
    out.assert_code(3);
    assert_eq!(
        findings(&out.json()),
        [
            (
                "env-secret".into(),
                "DeploymentConfig".into(),
                "legacy".into()
            ),
            (
                "mutable-image-tag".into(),
                "DeploymentConfig".into(),
                "legacy".into()
            ),
        ]
    );
    c.secfix([
        "fix",
        "-n",
        &ns,
        "--yes",
        "--checks",
        "env-secret",
        "--allow-app-changes",
    ])
    .run()
    .assert_code(0);
    let fixed = c
        .get(&ns, "apps.openshift.io/v1", "DeploymentConfig", "legacy")
        .await;
    assert!(
        fixed["spec"]["template"]["spec"]["volumes"]
            .as_array()
            .is_some_and(|v| !v.is_empty()),
        "{fixed}"
    );
}

#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh)"]
async fn include_kinds_lists_other_template_kinds_and_names_those_not_served() {
    let c = live!();
    install_crds(c);
    let ns = c.namespace("include-kinds").await;
    let client = c.client().await;
    c.create_value(
        &client,
        &ns,
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
            "spec": {"template": template("w")}}),
    )
    .await;
    let out = c.secfix(["scan", "-n", &ns, "-o", "json"]).run();
    assert_eq!(findings(&out.json()), [], "not listed unless asked for");
    let out = c
        .secfix([
            "scan",
            "-n",
            &ns,
            "-o",
            "json",
            "--include-kinds",
            "example.com/v1/Widget",
            "--include-kinds",
            "nope.example.com/v1/Nope",
        ])
        .run();
    out.assert_code(3);
    assert_eq!(
        findings(&out.json()),
        [
            ("env-secret".into(), "Widget".into(), "w".into()),
            ("mutable-image-tag".into(), "Widget".into(), "w".into()),
        ]
    );
    assert!(
        out.stderr()
            .contains("--include-kinds nope.example.com/v1/Nope: not served"),
        "{}",
        out.stderr()
    );
    let bad = c.secfix(["scan", "--include-kinds", "Widget"]).run();
    bad.assert_code(2);
}
