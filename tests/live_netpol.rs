//! The least-privilege NetworkPolicy set against the real API server: two namespaces fixed
//! in one run, evidence from a ConfigMap and across namespaces, an Ingress entry point.
//! Covers issue #10 (live): the set is accepted, rescans clean, and rollback removes every
//! created policy.

mod support;

use serde_json::{Value, json};

const MANAGED: &str = "app.kubernetes.io/managed-by=kubectl-secfix";

/// Names of the NetworkPolicies this tool created in `ns`.
fn managed_policies(c: &support::Cluster, ns: &str) -> Vec<String> {
    let out = c
        .kubectl([
            "get",
            "networkpolicies",
            "-n",
            ns,
            "-l",
            MANAGED,
            "-o",
            "jsonpath={.items[*].metadata.name}",
        ])
        .run();
    out.assert_code(0);
    let mut v: Vec<String> = out
        .stdout()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn policy_set_is_accepted_rescans_clean_and_rollback_removes_every_policy() {
    let c = live!();
    let shop = c.namespace("np-shop").await;
    let data = c.namespace("np-data").await;
    let part_of = format!("app.kubernetes.io/part-of={shop}");
    c.apply_yaml(
        &shop,
        &format!(
            r#"
apiVersion: v1
kind: ConfigMap
metadata: {{name: cfg}}
data: {{cart: "grpc://cart:7070", unread: "other:1"}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, labels: {{app.kubernetes.io/part-of: {shop}}}}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: web:1
        env:
        - {{name: CART_ADDR, valueFrom: {{configMapKeyRef: {{name: cfg, key: cart}}}}}}
        - {{name: DB_HOST, value: "db.{data}.svc.cluster.local:5432"}}
        ports: [{{containerPort: 8080}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: cart, labels: {{app.kubernetes.io/part-of: {shop}}}}}
spec:
  selector: {{matchLabels: {{app: cart}}}}
  template:
    metadata: {{labels: {{app: cart}}}}
    spec:
      containers:
      - {{name: cart, image: cart:1, ports: [{{name: grpc, containerPort: 9000}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: cart}}
spec:
  selector: {{app: cart}}
  ports: [{{port: 7070, targetPort: grpc}}]
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: site}}
spec:
  rules:
  - http:
      paths:
      - {{path: /, pathType: Prefix, backend: {{service: {{name: web, port: {{number: 80}}}}}}}}
"#
        ),
    )
    .await;
    c.apply_yaml(
        &data,
        &format!(
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: db, labels: {{app.kubernetes.io/part-of: {shop}}}}}
spec:
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata: {{labels: {{app: db}}}}
    spec:
      containers:
      - {{name: db, image: db:1, ports: [{{containerPort: 5432}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: db}}
spec:
  selector: {{app: db}}
  ports: [{{port: 5432}}]
"#
        ),
    )
    .await;

    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("p");
    let out = c
        .secfix([
            "fix",
            "-A",
            "-l",
            &part_of,
            "--checks",
            "default-allow-namespace",
            "--yes",
            "--save-patches",
            saved.to_str().unwrap(),
            "-o",
            "json",
        ])
        .run();
    out.assert_code(0);
    assert!(
        !out.stderr().contains("error") && !out.stderr().contains("HTTPRoute"),
        "a cluster without the Gateway API is fine: {}",
        out.stderr()
    );
    let report = out.json();
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{report:#}");
    for r in results {
        assert_eq!(r["status"], "applied", "{r:#}");
    }

    assert_eq!(
        managed_policies(c, &shop),
        [
            "secfix-default-deny",
            "secfix-egress-deployment-web",
            "secfix-ingress-cart",
            "secfix-ingress-web",
        ]
    );
    assert_eq!(
        managed_policies(c, &data),
        ["secfix-default-deny", "secfix-ingress-db"]
    );
    // The other side of the cross-namespace call gets the matching ingress.
    let db = c
        .get(
            &data,
            "networking.k8s.io/v1",
            "NetworkPolicy",
            "secfix-ingress-db",
        )
        .await;
    assert_eq!(
        db["spec"]["ingress"],
        json!([{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": shop}},
            "podSelector": {"matchLabels": {"app": "web"}}}],
            "ports": [{"port": 5432, "protocol": "TCP"}]}])
    );
    // ConfigMap evidence, resolved named port.
    let cart = c
        .get(
            &shop,
            "networking.k8s.io/v1",
            "NetworkPolicy",
            "secfix-ingress-cart",
        )
        .await;
    assert_eq!(cart["spec"]["ingress"][0]["ports"][0]["port"], 9000);
    let flows: Vec<&Value> = results
        .iter()
        .flat_map(|r| r["flows"].as_array().unwrap())
        .collect();
    assert!(
        flows
            .iter()
            .any(|f| f["evidence"][0]
                == "env CART_ADDR from ConfigMap cfg key cart of Deployment web"),
        "{flows:#?}"
    );
    assert!(
        flows
            .iter()
            .any(|f| f["kind"] == "entry-point" && f["evidence"][0] == "backend of Ingress site"),
        "{flows:#?}"
    );
    assert!(!report.to_string().contains("other:1"));

    let rescan = c
        .secfix([
            "scan",
            "-A",
            "-l",
            &part_of,
            "--checks",
            "default-allow-namespace",
            "-o",
            "json",
        ])
        .run();
    rescan.assert_code(0);

    let rb = c.secfix(["rollback", saved.to_str().unwrap()]).run();
    rb.assert_code(0);
    assert!(
        rb.stdout().contains("6 rolled back, 0 failed"),
        "{}",
        rb.stdout()
    );
    assert!(managed_policies(c, &shop).is_empty());
    assert!(managed_policies(c, &data).is_empty());

    // One namespace at a time: the Service of the other namespace is read by name, so the
    // egress still goes to its pods only.
    let out = c
        .secfix([
            "fix",
            "-n",
            &shop,
            "--checks",
            "default-allow-namespace",
            "--dry-run=client",
            "-o",
            "json",
        ])
        .run();
    out.assert_code(0);
    let report = out.json();
    let egress = report["results"][0]["creates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["metadata"]["name"] == "secfix-egress-deployment-web")
        .cloned()
        .unwrap_or_else(|| panic!("{report:#}"));
    assert!(
        egress["spec"]["egress"]
            .as_array()
            .unwrap()
            .contains(&json!(
            {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": data}},
                "podSelector": {"matchLabels": {"app": "db"}}}],
             "ports": [{"port": 5432, "protocol": "TCP"}]})),
        "{egress:#}"
    );
    assert!(
        managed_policies(c, &shop).is_empty(),
        "--dry-run=client wrote"
    );
}
