//! The ClusterRoles in `rbac/` grant exactly what `scan` and `fix` need, on the real
//! API server's RBAC: bound to a user with nothing else, scan reads everything and fix writes.

mod support;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A workload with a literal, a Secret and a ConfigMap in its env, behind a Service and an
/// Ingress: every check and the NetworkPolicy evidence have something to read.
const APP: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
      - name: app
        image: nginx:1.25
        env:
        - {name: API_KEY, value: "not-a-real-key-but-a-literal"}
        - {name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}
        - {name: CACHE_ADDR, valueFrom: {configMapKeyRef: {name: settings, key: cache}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {cache: "app:80"}
---
apiVersion: v1
kind: Service
metadata: {name: app}
spec:
  selector: {app: app}
  ports: [{port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: app}
spec:
  defaultBackend: {service: {name: app, port: {number: 80}}}
"#;

/// Binds the ClusterRole `role` to the viewer in `ns`.
fn bind(c: &support::Cluster, ns: &str, role: &str) {
    c.kubectl_apply(&support::viewer_binding(
        ns,
        &format!("viewer-{role}"),
        "ClusterRole",
        role,
    ));
}

#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn shipped_cluster_roles_are_enough_for_scan_and_fix() {
    let c = live!();
    for file in ["rbac/secfix-scan.yaml", "rbac/secfix-fix.yaml"] {
        c.kubectl(["apply", "-f", &format!("{ROOT}/{file}")])
            .run()
            .assert_code(0);
    }
    let ns = c.namespace("rbac").await;
    c.apply_yaml(&ns, APP).await;

    bind(c, &ns, "secfix-scan");
    let fix_as_viewer = || {
        c.secfix([
            "fix",
            "-n",
            &ns,
            "--context",
            "viewer",
            "--yes",
            "--allow-app-changes",
            "--digest-source",
            "pods",
        ])
        .run()
    };
    let scan = c
        .secfix(["scan", "-n", &ns, "--context", "viewer", "-o", "json"])
        .run();
    scan.assert_code(3);
    assert!(!scan.stderr().contains("error:"), "{}", scan.stderr());
    let fix = fix_as_viewer();
    fix.assert_code(1);
    assert!(
        fix.stdout().contains("orbidden"),
        "scan-only cannot write: {}",
        fix.stdout()
    );

    bind(c, &ns, "secfix-fix");
    let fix = fix_as_viewer();
    fix.assert_code(0);
    // The NetworkPolicy fix read the ConfigMap, Ingresses and HTTPRoutes it needs. Bound in
    // one namespace only, the cluster-wide webhook configurations, APIServices, CRDs and the
    // API server's Endpoints in `default` are out of reach: said as warnings, not errors.
    let cluster_wide = [
        "validatingwebhookconfigurations",
        "mutatingwebhookconfigurations",
        "apiservices",
        "customresourcedefinitions",
        "Endpoints default/kubernetes",
    ];
    for line in fix.stderr().lines() {
        if cluster_wide.iter().any(|k| line.contains(k)) {
            assert!(line.starts_with("warning"), "{line}");
            continue;
        }
        for unread in ["forbidden", "cannot read", "cannot list"] {
            assert!(!line.contains(unread), "{}", fix.stderr());
        }
    }
    assert!(
        fix.stdout()
            .contains("2 applied, 0 validated, 0 skipped, 0 failed"),
        "{}",
        fix.stdout()
    );
}

/// What only the NetworkPolicy check reads (NetworkPolicies, Services, Ingresses, routes, the
/// API server's Endpoints, the cluster-wide webhook configurations, APIServices and CRDs) is
/// not read when it does not run: a user bound in one namespace fixing env secrets gets no
/// warning about kinds it cannot list, since nothing asks for them.
#[tokio::test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
async fn a_fix_without_the_network_check_reads_none_of_its_inputs() {
    let c = live!();
    c.kubectl(["apply", "-f", &format!("{ROOT}/rbac/secfix-fix.yaml")])
        .run()
        .assert_code(0);
    let ns = c.namespace("rbac-env").await;
    c.apply_yaml(&ns, APP).await;
    bind(c, &ns, "secfix-fix");
    let fix = c
        .secfix([
            "fix",
            "-n",
            &ns,
            "--context",
            "viewer",
            "--checks",
            "env-secret",
            "--yes",
            "--allow-app-changes",
        ])
        .run();
    fix.assert_code(0);
    assert!(
        fix.stdout()
            .contains("1 applied, 0 validated, 0 skipped, 0 failed"),
        "{}",
        fix.stdout()
    );
    for unread in [
        "validatingwebhookconfigurations",
        "mutatingwebhookconfigurations",
        "apiservices",
        "customresourcedefinitions",
        "Endpoints",
        "ConfigMap",
        "networkpolicies",
        "cannot list",
        "cannot read",
    ] {
        assert!(!fix.stderr().contains(unread), "{}", fix.stderr());
    }
}
