//! The least-privilege NetworkPolicy set judged by an independent engine: on real public
//! apps (`tests/fixtures/apps/`), network-config-analyzer (`nca`) checks that every
//! documented connection is still permitted (`want.yaml`) and that connections no evidence
//! supports are denied (`avoid.yaml`). Covers issue #10 ("Done when").
//!
//! nca is installed by `tests/cluster/setup.sh` under the cache (`$SECFIX_CACHE/nca`, or
//! `SECFIX_NCA`). Without it the tests are ignored in a plain `cargo test`; `tests/run.sh`
//! runs them and they fail (never skip) when nca is missing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kubectl_secfix::checks::default_allow_namespace::{PodGroup, check};
use kubectl_secfix::fix::network_policy::graph::Cluster;
use kubectl_secfix::fix::network_policy::render::{NamespacePolicies, Options, build};
use kubectl_secfix::model::{Detail, Direction, Workload};
use serde_json::Value;

fn apps_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/apps")
}

/// The nca binary: `SECFIX_NCA`, else the venv that setup.sh makes.
fn nca() -> PathBuf {
    if let Some(p) = std::env::var_os("SECFIX_NCA") {
        return PathBuf::from(p);
    }
    let cache = std::env::var_os("SECFIX_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/kubectl-secfix")
        });
    let p = cache.join("nca/bin/nca");
    assert!(
        p.exists(),
        "nca not found at {} (tests/cluster/setup.sh installs it; SECFIX_NCA overrides)",
        p.display()
    );
    p
}

/// Every object of a manifest file, with a namespace (`default` when it names none).
fn objects(path: &Path) -> Vec<Value> {
    let files = kubectl_secfix::manifest::load(&[path.to_path_buf()]).unwrap();
    kubectl_secfix::manifest::objects(&files)
        .into_iter()
        .map(|(mut o, _)| {
            let namespaced = o.get("kind").and_then(Value::as_str) != Some("Namespace");
            if namespaced && o.pointer("/metadata/namespace").is_none() {
                o["metadata"]["namespace"] = "default".into();
            }
            o
        })
        .collect()
}

/// The policy sets `fix` plans for every namespace of the app, the way the fix does: the
/// directions come from the `default-allow-namespace` findings.
fn plan(app: &str, opts: &Options) -> Vec<NamespacePolicies> {
    let objs = objects(&apps_dir().join(app).join("app.yaml"));
    let of_kind = |k: &'static str| objs.iter().filter(move |o| o["kind"] == k).cloned();
    let workloads: Vec<Workload> = objs
        .iter()
        .filter_map(|o| Workload::from_value(o.clone()).unwrap())
        .collect();
    let services: Vec<Service> = of_kind("Service")
        .map(|o| serde_json::from_value(o).unwrap())
        .collect();
    let ingresses: Vec<Ingress> = of_kind("Ingress")
        .map(|o| serde_json::from_value(o).unwrap())
        .collect();
    let config_maps: Vec<ConfigMap> = of_kind("ConfigMap")
        .map(|o| serde_json::from_value(o).unwrap())
        .collect();
    let routes: Vec<Value> = objs
        .iter()
        .filter(|o| o["kind"] == "HTTPRoute" || o["kind"] == "GRPCRoute")
        .cloned()
        .collect();
    let mut by_ns: BTreeMap<String, Vec<PodGroup>> = BTreeMap::new();
    for w in &workloads {
        by_ns
            .entry(w.namespace().to_string())
            .or_default()
            .push(PodGroup::of(w));
    }
    let mut fixed: BTreeMap<String, BTreeSet<Direction>> = BTreeMap::new();
    for (ns, pods) in &by_ns {
        for f in check(ns, pods, &[]) {
            if let Detail::Unisolated { direction, .. } = f.detail {
                fixed.entry(ns.clone()).or_default().insert(direction);
            }
        }
    }
    let cluster = Cluster {
        workloads: &workloads,
        services: &services,
        ingresses: &ingresses,
        routes: &routes,
        config_maps: &config_maps,
        namespaces: &[],
    };
    build(&cluster, &fixed, &BTreeMap::new(), opts)
}

fn least_privilege() -> Options {
    Options {
        allow_dns: true,
        allow_egress: Vec::new(),
    }
}

fn write_policies(dir: &Path, sets: &[NamespacePolicies]) -> PathBuf {
    let mut out = String::new();
    for set in sets {
        for p in &set.policies {
            let mut v = serde_json::to_value(p).unwrap();
            v["apiVersion"] = "networking.k8s.io/v1".into();
            v["kind"] = "NetworkPolicy".into();
            out.push_str("---\n");
            out.push_str(&serde_saphyr::to_string(&v).unwrap());
        }
    }
    let path = dir.join("policies.yaml");
    std::fs::write(&path, out).unwrap();
    path
}

/// Runs one nca query; returns (passed, output).
fn query(op: &str, spec: &Path, policies: &Path, app: &str) -> (bool, String) {
    let app_yaml = apps_dir().join(app).join("app.yaml");
    let dns = apps_dir().join("kube-dns.yaml");
    let out = Command::new(nca())
        .arg(op)
        .arg(spec)
        .arg("--base_np_list")
        .arg(policies)
        .args(["--pod_list".as_ref(), app_yaml.as_os_str()])
        .args(["--pod_list".as_ref(), dns.as_os_str()])
        .args(["--ns_list".as_ref(), app_yaml.as_os_str()])
        .args(["--ns_list".as_ref(), dns.as_os_str()])
        .output()
        .expect("run nca");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The documents of a WANT/AVOID file, each with the comment above it.
fn documents(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.split("\n---\n")
        .skip(1)
        .map(|d| {
            let comment = d
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("# ")
                .to_string();
            (comment, d.to_string())
        })
        .collect()
}

/// Asserts `op` (`--permits`/`--forbids`) holds for the whole file; on failure, finds each
/// connection that fails, so the message lists them all.
fn judge(app: &str, op: &str, file: &str, policies: &Path, tmp: &Path) {
    let spec = apps_dir().join(app).join(file);
    let (ok, out) = query(op, &spec, policies, app);
    assert!(
        !out.contains("selects no pods"),
        "{app}/{file}: a selector selects no pods (the fixture or the policies name labels no pod has):\n{out}"
    );
    assert!(
        !out.to_lowercase().contains("error"),
        "{app}/{file}: nca reported an error:\n{out}"
    );
    if ok {
        return;
    }
    let mut failed = Vec::new();
    for (i, (comment, doc)) in documents(&spec).into_iter().enumerate() {
        let one = tmp.join(format!("{app}-{i}.yaml"));
        std::fs::write(&one, doc).unwrap();
        if !query(op, &one, policies, app).0 {
            failed.push(comment);
        }
    }
    panic!(
        "{app}: nca {op} {file} failed for:\n  {}\nnca said:\n{out}\npolicies:\n{}",
        failed.join("\n  "),
        std::fs::read_to_string(policies).unwrap()
    );
}

fn judged(app: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let sets = plan(app, &least_privilege());
    assert!(!sets.is_empty(), "{app}: no policy planned");
    for set in &sets {
        for p in &set.policies {
            let labels = p.metadata.labels.as_ref().unwrap();
            assert_eq!(
                labels
                    .get("app.kubernetes.io/managed-by")
                    .map(String::as_str),
                Some("kubectl-secfix")
            );
        }
    }
    let policies = write_policies(tmp.path(), &sets);
    judge(app, "--permits", "want.yaml", &policies, tmp.path());
    judge(app, "--forbids", "avoid.yaml", &policies, tmp.path());
}

macro_rules! app_tests {
    ($($name:ident => $app:literal),* $(,)?) => {$(
        #[test]
        #[ignore = "needs nca: tests/cluster/setup.sh installs it (tests/run.sh)"]
        fn $name() {
            judged($app);
        }
    )*};
}

app_tests! {
    online_boutique_keeps_every_documented_connection_and_denies_the_rest => "online-boutique",
    guestbook_keeps_compiled_in_redis_connections_and_denies_the_rest => "guestbook",
    wordpress_keeps_the_database_connection_and_denies_the_rest => "wordpress",
    bookinfo_keeps_compiled_in_calls_and_the_httproute_entry_and_denies_the_rest => "bookinfo",
    emojivoto_keeps_svc_ns_port_calls_and_denies_other_callers_and_ports => "emojivoto",
}

/// Without the least-privilege set (today's deny-all), documented connections are cut:
/// the WANT files really capture something.
#[test]
#[ignore = "needs nca: tests/cluster/setup.sh installs it (tests/run.sh)"]
fn deny_all_cuts_documented_connections() {
    let tmp = tempfile::tempdir().unwrap();
    for app in [
        "online-boutique",
        "guestbook",
        "wordpress",
        "bookinfo",
        "emojivoto",
    ] {
        let mut sets = plan(app, &least_privilege());
        for s in &mut sets {
            s.policies.truncate(1);
            if let Some(spec) = s.policies[0].spec.as_mut() {
                spec.egress = None;
            }
        }
        let policies = write_policies(tmp.path(), &sets);
        let spec = apps_dir().join(app).join("want.yaml");
        let (ok, out) = query("--permits", &spec, &policies, app);
        assert!(!ok, "{app}: deny-all permits the WANT file?\n{out}");
    }
}

/// With no policy at all every AVOID connection is allowed: the AVOID files really capture
/// something.
#[test]
#[ignore = "needs nca: tests/cluster/setup.sh installs it (tests/run.sh)"]
fn no_policy_allows_what_avoid_files_capture() {
    let tmp = tempfile::tempdir().unwrap();
    let none = tmp.path().join("none.yaml");
    std::fs::write(&none, "apiVersion: v1\nkind: List\nitems: []\n").unwrap();
    for app in [
        "online-boutique",
        "guestbook",
        "wordpress",
        "bookinfo",
        "emojivoto",
    ] {
        let spec = apps_dir().join(app).join("avoid.yaml");
        let (ok, out) = query("--forbids", &spec, &none, app);
        assert!(!ok, "{app}: no policy forbids the AVOID file?\n{out}");
    }
}
