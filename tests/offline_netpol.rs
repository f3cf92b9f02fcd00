//! The NetworkPolicy fix offline (`fix -f`), through the real binary: the policy set and its
//! flow table, `-o json` flows, the modes and flags, and no ConfigMap value ever printed.
//! Hermetic: no cluster, no network.

use std::path::Path;
use std::process::{Command, Output, Stdio};

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

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn app(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/apps")
        .join(name)
        .join("app.yaml")
        .to_str()
        .unwrap()
        .to_string()
}

const SHOP: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: web:1
        env:
        - {name: CART_ADDR, valueFrom: {configMapKeyRef: {name: cfg, key: cart}}}
        - {name: PAYMENTS_URL, valueFrom: {configMapKeyRef: {name: cfg, key: pay}}}
        - {name: SHIPPING_URL, value: "https://user:pw-in-url@ship.example.com:8443/v1"}
        ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: shop}
data:
  cart: "redis://admin:cm-secret-pw@cart:7070/0"
  pay: "https://payments.internal.example.net"
  unused: "https://never-read.example.org"
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cart, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  template:
    metadata: {labels: {app: cart}}
    spec:
      containers:
      - {name: cart, image: cart:1, ports: [{name: grpc, containerPort: 9000}]}
---
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec:
  selector: {app: cart}
  ports: [{port: 7070, targetPort: grpc}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: site, namespace: shop}
spec:
  rules:
  - http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
"#;

fn shop(dir: &Path) -> String {
    let p = dir.join("shop.yaml");
    std::fs::write(&p, SHOP).unwrap();
    p.to_str().unwrap().to_string()
}

/// Covers issue #10: `-o json` carries the flows, with their evidence, next to the
/// created policies.
#[test]
fn json_output_carries_the_flows_and_every_policy_of_the_set() {
    let out = secfix(&[
        "fix",
        "-f",
        &app("online-boutique"),
        "--checks",
        "default-allow-namespace",
        "-o",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "one plan for the namespace");
    let r = &results[0];
    assert_eq!(r["target"]["name"], "secfix-default-deny");
    let names: Vec<&str> = r["creates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.last(), Some(&"secfix-default-deny"), "{names:?}");
    assert!(names.contains(&"secfix-ingress-cartservice"), "{names:?}");
    assert!(
        names.contains(&"secfix-egress-deployment-frontend"),
        "{names:?}"
    );
    let flows = r["flows"].as_array().unwrap();
    let cart = flows
        .iter()
        .find(|f| {
            f["kind"] == "evidence"
                && f["from"]["name"] == "frontend"
                && f["to"]["name"] == "cartservice"
        })
        .unwrap_or_else(|| panic!("{flows:#?}"));
    assert_eq!(
        cart["evidence"][0],
        "env CART_SERVICE_ADDR of Deployment frontend"
    );
    assert_eq!(cart["to"]["port"], 7070);
    assert_eq!(cart["ports"][0]["port"], 7070);
    assert!(flows.iter().any(|f| f["kind"] == "entry-point"));
    assert!(flows.iter().any(|f| f["kind"] == "blocked"));
}

/// The flow table goes to stderr above nothing else on stdout than the manifests;
/// ConfigMap values are evidence but never printed, and no password in a URL is either.
#[test]
fn flow_table_on_stderr_and_no_config_map_value_or_url_password_printed() {
    let dir = tempfile::tempdir().unwrap();
    let file = shop(dir.path());
    for extra in [&[][..], &["-o", "json"][..]] {
        let mut args = vec!["fix", "-f", &file, "--checks", "default-allow-namespace"];
        args.extend_from_slice(extra);
        let out = secfix(&args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        for value in [
            "cm-secret-pw",
            "pw-in-url",
            "payments.internal.example.net",
            "never-read",
        ] {
            assert!(!all.contains(value), "{value} printed:\n{all}");
        }
        if extra.is_empty() {
            let err = text(&out.stderr);
            assert!(err.contains("FLOW"), "{err}");
            assert!(
                err.contains("env CART_ADDR from ConfigMap cfg key cart of Deployment web"),
                "{err}"
            );
            assert!(err.contains("backend of Ingress site"), "{err}");
            assert!(err.contains("ship.example.com:8443"), "{err}");
            assert!(err.contains("a host (value not shown)"), "{err}");
            assert!(!text(&out.stdout).contains("FLOW"));
            // The cart pods get ingress from web on the resolved named port.
            let docs: Vec<Value> = serde_saphyr::from_multiple(&text(&out.stdout)).unwrap();
            let cart = docs
                .iter()
                .find(|d| d["metadata"]["name"] == "secfix-ingress-cart")
                .unwrap();
            assert_eq!(cart["spec"]["ingress"][0]["ports"][0]["port"], 9000);
        }
    }
}

#[test]
fn deny_all_mode_writes_the_single_default_deny_policy() {
    let out = secfix(&[
        "fix",
        "-f",
        &app("guestbook"),
        "--checks",
        "default-allow-namespace",
        "--network-policy",
        "deny-all",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text(&out.stdout)).unwrap();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["metadata"]["name"], "secfix-default-deny");
    assert_eq!(
        docs[0]["spec"]["egress"],
        serde_json::json!([{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}])
    );
    assert!(!text(&out.stderr).contains("FLOW"));
}

#[test]
fn allow_egress_adds_an_address_block_and_bad_blocks_are_usage_errors() {
    let out = secfix(&[
        "fix",
        "-f",
        &app("guestbook"),
        "--checks",
        "default-allow-namespace",
        "--allow-egress",
        "10.0.0.0/8",
        "--allow-egress",
        "2001:db8::/32",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("cidr: 10.0.0.0/8"), "{stdout}");
    assert!(stdout.contains("cidr: 2001:db8::/32"), "{stdout}");
    for (bad, says) in [
        ("10.0.0.1/8", "did you mean 10.0.0.0/8"),
        ("10.0.0.0/33", "prefix length"),
        ("example.com", "not an IP address block"),
    ] {
        let out = secfix(&["fix", "-f", &app("guestbook"), "--allow-egress", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            text(&out.stderr).contains(says),
            "{bad}: {}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty());
    }
    let out = secfix(&[
        "fix",
        "-f",
        &app("guestbook"),
        "--allow-egress",
        "10.0.0.0/8",
        "--network-policy",
        "deny-all",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--allow-egress needs --network-policy least-privilege"));
}

/// Found on eShopOnContainers: Ingresses of the pre-1.19 APIs (`extensions/v1beta1`,
/// `networking.k8s.io/v1beta1`) were ignored, so the Services behind them lost their outside
/// callers without a word. They are entry points like `networking.k8s.io/v1` ones.
#[test]
fn v1beta1_ingress_backends_are_entry_points() {
    for api in ["networking.k8s.io/v1beta1", "extensions/v1beta1"] {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("shop.yaml");
        std::fs::write(
            &m,
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: shop}}\n\
                 spec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    \
                 spec:\n      containers:\n      - {{name: web, image: nginx, ports: [{{containerPort: 8080}}]}}\n---\n\
                 apiVersion: v1\nkind: Service\nmetadata: {{name: web, namespace: shop}}\n\
                 spec: {{selector: {{app: web}}, ports: [{{port: 80, targetPort: 8080}}]}}\n---\n\
                 apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: status, namespace: shop}}\n\
                 spec:\n  selector: {{matchLabels: {{app: status}}}}\n  template:\n    metadata: {{labels: {{app: status}}}}\n    \
                 spec:\n      containers:\n      - {{name: s, image: busybox, env: [{{name: WEB_HC, value: 'http://web/hc'}}]}}\n---\n\
                 apiVersion: {api}\nkind: Ingress\nmetadata: {{name: web, namespace: shop}}\n\
                 spec:\n  backend: {{serviceName: web, servicePort: 80}}\n  rules:\n  - http:\n      paths:\n      \
                 - {{path: /, backend: {{serviceName: web, servicePort: 80}}}}\n"
            ),
        )
        .unwrap();
        let out = secfix(&[
            "fix",
            "-f",
            m.to_str().unwrap(),
            "--checks",
            "default-allow-namespace",
            "-o",
            "json",
        ]);
        assert!(out.status.success(), "{api}: {}", text(&out.stderr));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let flows = report["results"][0]["flows"].as_array().unwrap();
        let entry = flows
            .iter()
            .find(|f| f["kind"] == "entry-point" && f["to"]["name"] == "web")
            .unwrap_or_else(|| panic!("{api}: {flows:#?}"));
        assert_eq!(entry["ports"][0]["port"], 8080, "{api}: {entry}");
        assert!(
            entry["evidence"][0]
                .as_str()
                .is_some_and(|e| e.contains("Ingress web")),
            "{api}: {entry}"
        );
    }
}

/// covers issue #22: a host read from a ConfigMap is documented as "value not shown", and
/// was still printed in the note `no Service X in namespace …` when no Service had its name.
#[test]
fn a_config_map_host_documented_as_value_not_shown() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = SHOP.replace(
        "https://payments.internal.example.net",
        "postgres://billing-sfxcanary-cm:5432/db",
    );
    let p = dir.path().join("shop.yaml");
    std::fs::write(&p, manifest).unwrap();
    let file = p.to_str().unwrap();
    for extra in [&[][..], &["-o", "json"][..]] {
        let mut args = vec!["fix", "-f", file, "--checks", "default-allow-namespace"];
        args.extend_from_slice(extra);
        let out = secfix(&args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(!all.contains("sfxcanary"), "ConfigMap host printed:\n{all}");
        assert!(all.contains("value not shown"), "{all}");
    }
}

/// covers issue #22: the "NetworkPolicies for namespace …" header wrote raw ESC/OSC
/// sequences from object names.
#[test]
fn the_network_policies_header_writes_raw_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = SHOP.replace(
        "namespace: shop",
        "namespace: \"shop\\e]0;pwned\\a\\u009b2J\"",
    );
    let p = dir.path().join("shop.yaml");
    std::fs::write(&p, manifest).unwrap();
    let out = secfix(&[
        "fix",
        "-f",
        p.to_str().unwrap(),
        "--checks",
        "default-allow-namespace",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("NetworkPolicies for namespace"), "{err}");
    for raw in ['\u{1b}', '\u{7}', '\u{9b}'] {
        assert!(!err.contains(raw), "raw {raw:?} on stderr:\n{err}");
    }
}

/// covers issue #21 (no silent cut) on a public app: Sock Shop's front-end reaches its APIs
/// through addresses compiled into its image (`api/endpoints.js`) and names no Service, so
/// where a Service is reachable from its evidenced callers only (`user-db`, named by `user`),
/// the flow table lists the front-end as will be blocked to it, naming both ends.
#[test]
fn a_front_end_that_names_no_service_is_listed_as_cut_from_evidenced_only_services() {
    let out = secfix(&[
        "fix",
        "-f",
        &app("sock-shop"),
        "--dry-run=client",
        "-o",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let blocked: Vec<&Value> = report["plans"]
        .as_array()
        .or_else(|| report["results"].as_array())
        .unwrap()
        .iter()
        .flat_map(|p| p["flows"].as_array().into_iter().flatten())
        .filter(|f| f["kind"] == "blocked")
        .filter(|f| f["from"]["name"] == "front-end" && f["to"]["name"] == "user-db")
        .collect();
    assert_eq!(blocked.len(), 1, "{report:#}");
    assert!(
        blocked[0]["note"]
            .as_str()
            .unwrap()
            .contains("only evidenced callers may reach Service user-db"),
        "{}",
        blocked[0]
    );
}
