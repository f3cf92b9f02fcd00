//! The live test bed, shared by every integration test file (`mod support;`).
//!
//! `tests/run.sh` starts a real kube-apiserver + etcd and two real OCI registries
//! (`tests/cluster/up.sh`) and exports their coordinates; [`cluster()`] reads them once.
//! Every live test is marked `#[ignore = "live: …"]`, so a plain `cargo test` reports it as
//! ignored (never as passed), and `tests/run.sh` runs it with `--include-ignored`. A live test
//! run without the test bed fails, naming what is missing.
//!
//! ```ignore
//! mod support;
//!
//! #[tokio::test]
//! async fn scan_finds_env_secret() {
//!     let c = live!();
//!     let ns = c.namespace("env-secret").await;
//!     c.apply_yaml(&ns, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n").await;
//!     let out = c.secfix(["scan", "-n", &ns, "-o", "json"]).run();
//!     out.assert_code(0);
//! }
//! ```
//!
//! Isolation: every test makes its own namespace with [`Cluster::namespace`]; nothing deletes
//! them (the test bed has no namespace controller, and it is thrown away after the run).
//! The helpers panic with a message naming what failed: they are for tests only.
#![allow(dead_code)]

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiResource, Scope};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Environment variables written by `tests/cluster/up.sh` into `DIR/env`.
pub(crate) const ENV_KUBECONFIG: &str = "SECFIX_TEST_KUBECONFIG";
pub(crate) const ENV_REGISTRY: &str = "SECFIX_TEST_REGISTRY";
pub(crate) const ENV_AUTH_REGISTRY: &str = "SECFIX_TEST_AUTH_REGISTRY";
pub(crate) const ENV_AUTH_USER: &str = "SECFIX_TEST_AUTH_USER";
pub(crate) const ENV_AUTH_PASSWORD: &str = "SECFIX_TEST_AUTH_PASSWORD";
/// Prefix of the first test bed's variables (`SECFIX_TEST_KUBECONFIG`, …).
pub(crate) const ENV_PREFIX: &str = "SECFIX_TEST_";
/// Prefix of the second test bed's variables (`SECFIX_TEST2_KUBECONFIG`, …): `tests/run.sh`
/// starts a second, independent test bed (its own etcd, kube-apiserver and registries) for
/// the tests that need two clusters (several kubeconfig contexts at once). Tests install
/// nothing cluster-wide there (no CRDs), so it also stands for "a cluster without X".
pub(crate) const ENV2_PREFIX: &str = "SECFIX_TEST2_";

/// Media types of the manifests, configs and layers that [`Registry`] pushes.
pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(crate) const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub(crate) const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub(crate) const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub(crate) const DOCKER_MANIFEST_LIST: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
pub(crate) const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub(crate) const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Every manifest type: the `Accept` header of [`Registry::head_manifest`].
pub(crate) const MANIFEST_ACCEPT: [&str; 4] = [
    OCI_INDEX,
    OCI_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST,
];

/// The user of the kubeconfig's `viewer` context (authenticated, no RBAC binding).
pub(crate) const VIEWER_USER: &str = "secfix-viewer";

/// An image pinned by digest: no `mutable-image-tag` finding.
pub(crate) const PINNED_IMAGE: &str =
    "nginx:1.25@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

/// An `env` (YAML flow sequence) with one `env-secret` finding: `DB_PASSWORD` from the key
/// `password` of the Secret `db`.
pub(crate) const SECRET_REF_ENV: &str =
    "[{name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}]";

/// Default time limit of [`Cmd::run`]: a hung command fails its test instead of the whole run.
pub(crate) const DEFAULT_CMD_TIMEOUT: Duration = Duration::from_secs(120);

/// Returns the test bed; panics, naming the missing variables, when it is not configured
/// (a live test run outside `tests/run.sh`).
pub(crate) fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| Cluster::from_env(ENV_PREFIX))
}

/// Returns the second test bed (variables `SECFIX_TEST2_*`, see [`ENV2_PREFIX`]); panics like
/// [`cluster()`] when it is not configured.
pub(crate) fn second_cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| Cluster::from_env(ENV2_PREFIX))
}

/// The test bed, in a live test (which is marked
/// `#[ignore = "live: needs the test bed (tests/run.sh runs it)"]`).
#[macro_export]
macro_rules! live {
    () => {
        $crate::support::cluster()
    };
}

/// Both test beds, in a live test that needs two clusters: `let (a, b) = live2!();`.
#[macro_export]
macro_rules! live2 {
    () => {
        (
            $crate::support::cluster(),
            $crate::support::second_cluster(),
        )
    };
}

/// The running test bed: a real kube-apiserver (RBAC on, no controllers or kubelet) reached
/// through `kubeconfig`, and two registries speaking plain HTTP on loopback.
#[derive(Debug)]
pub(crate) struct Cluster {
    /// Kubeconfig with contexts `admin` (current, group `system:masters`) and `viewer`
    /// (authenticated, no RBAC binding: 403 on everything but discovery).
    pub kubeconfig: PathBuf,
    /// `host:port` of the anonymous registry.
    pub registry: String,
    /// `host:port` of the registry that requires basic auth.
    pub auth_registry: String,
    pub auth_user: String,
    pub auth_password: String,
    /// Discovery results by (apiVersion, kind): plain data, valid across test runtimes.
    resources: Mutex<HashMap<(String, String), (ApiResource, bool)>>,
    bin_dir: OnceLock<PathBuf>,
}

impl Cluster {
    /// The test bed whose variables start with `prefix` ([`ENV_PREFIX`] or [`ENV2_PREFIX`]).
    fn from_env(prefix: &str) -> Cluster {
        let names: Vec<String> = [
            ENV_KUBECONFIG,
            ENV_REGISTRY,
            ENV_AUTH_REGISTRY,
            ENV_AUTH_USER,
            ENV_AUTH_PASSWORD,
        ]
        .iter()
        .map(|n| format!("{prefix}{}", n.trim_start_matches(ENV_PREFIX)))
        .collect();
        let values: Vec<Option<String>> = names
            .iter()
            .map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
            .collect();
        let missing: Vec<&str> = names
            .iter()
            .zip(&values)
            .filter(|(_, v)| v.is_none())
            .map(|(n, _)| n.as_str())
            .collect();
        if !missing.is_empty() {
            panic!(
                "this live test needs the test bed, but {} is not set. Run it with \
                 tests/run.sh (it starts the test bed and sets them).",
                missing.join(", ")
            );
        }
        let mut values = values.into_iter().flatten();
        let mut next = || values.next().unwrap_or_default();
        let cluster = Cluster {
            kubeconfig: PathBuf::from(next()),
            registry: next(),
            auth_registry: next(),
            auth_user: next(),
            auth_password: next(),
            resources: Mutex::default(),
            bin_dir: OnceLock::new(),
        };
        assert!(
            cluster.kubeconfig.is_file(),
            "{}={} is not a file; is the test cluster still up?",
            names[0],
            cluster.kubeconfig.display()
        );
        cluster
    }

    /// Client for the `admin` context (group `system:masters`).
    pub(crate) async fn client(&self) -> kube::Client {
        self.client_for("admin").await
    }

    /// Client for the `viewer` context: authenticated, but no RBAC binding.
    pub(crate) async fn viewer_client(&self) -> kube::Client {
        self.client_for("viewer").await
    }

    /// Client for a context of the test bed's kubeconfig.
    pub(crate) async fn client_for(&self, context: &str) -> kube::Client {
        let path = &self.kubeconfig;
        let kubeconfig = Kubeconfig::read_from(path)
            .unwrap_or_else(|e| panic!("cannot read kubeconfig {}: {e}", path.display()));
        let options = KubeConfigOptions {
            context: Some(context.to_string()),
            ..Default::default()
        };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .unwrap_or_else(|e| panic!("kubeconfig {} context {context}: {e}", path.display()));
        kube::Client::try_from(config)
            .unwrap_or_else(|e| panic!("cannot build a client for context {context}: {e}"))
    }

    /// The test bed's kubeconfig as JSON.
    pub(crate) fn kubeconfig_value(&self) -> Value {
        let path = &self.kubeconfig;
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read kubeconfig {}: {e}", path.display()));
        serde_saphyr::from_str(&text)
            .unwrap_or_else(|e| panic!("kubeconfig {} is not YAML: {e}", path.display()))
    }

    /// The API server's URL (`https://127.0.0.1:PORT`), from the kubeconfig.
    pub(crate) fn server(&self) -> String {
        let kc = self.kubeconfig_value();
        str_at(&kc, "/clusters/0/cluster/server").to_string()
    }

    /// The test bed's directory (`DIR` of `tests/cluster/up.sh DIR`).
    pub(crate) fn dir(&self) -> &Path {
        self.kubeconfig.parent().unwrap_or(Path::new("/"))
    }

    /// The API server's serving certificate followed by its CA: what a client trusts.
    pub(crate) fn ca_file(&self) -> PathBuf {
        self.dir().join("apiserver/apiserver.crt")
    }

    /// Creates a fresh namespace `<prefix>-<pid>-<n>` and returns its name.
    pub(crate) async fn namespace(&self, prefix: &str) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let mut prefix: String = prefix
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        prefix.truncate(40);
        let prefix = prefix.trim_matches('-');
        let prefix = if prefix.is_empty() { "test" } else { prefix };
        let api: Api<DynamicObject> = Api::all_with(self.client().await, &ns_resource());
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let name = format!("{prefix}-{:x}-{n}", std::process::id());
            let ns: DynamicObject = serde_json::from_value(json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": name},
            }))
            .unwrap_or_else(|e| panic!("namespace object: {e}"));
            match api.create(&PostParams::default(), &ns).await {
                Ok(_) => return name,
                // Left over from an earlier run against the same test bed.
                Err(kube::Error::Api(s)) if s.code == 409 => continue,
                Err(e) => panic!("cannot create namespace {name}: {e}"),
            }
        }
    }

    /// Creates every document of a (multi-document) YAML string and returns the created
    /// objects as the server returned them. Namespaced objects without
    /// `metadata.namespace` go into `ns`. Any kind the server serves works (looked up by
    /// discovery); 1.20 serves CronJob as `batch/v1beta1` only.
    pub(crate) async fn apply_yaml(&self, ns: &str, yaml: &str) -> Vec<Value> {
        let docs: Vec<Value> = serde_saphyr::from_multiple(yaml)
            .unwrap_or_else(|e| panic!("apply_yaml: invalid YAML: {e}\n{yaml}"));
        let client = self.client().await;
        let mut created = Vec::new();
        for doc in docs {
            if doc.is_null() {
                continue;
            }
            created.push(self.create_value(&client, ns, doc).await);
        }
        created
    }

    /// Creates one object (a JSON value with apiVersion and kind) in `ns` (if namespaced).
    pub(crate) async fn create_value(
        &self,
        client: &kube::Client,
        ns: &str,
        mut doc: Value,
    ) -> Value {
        let api_version = str_at(&doc, "/apiVersion").to_string();
        let kind = str_at(&doc, "/kind").to_string();
        assert!(
            !api_version.is_empty() && !kind.is_empty(),
            "object without apiVersion/kind: {doc}"
        );
        let (resource, namespaced) = self.resource(client, &api_version, &kind).await;
        let api: Api<DynamicObject> = if namespaced {
            let meta = &mut doc["metadata"];
            if meta.get("namespace").is_none() {
                meta["namespace"] = json!(ns);
            }
            let target = str_at(&doc, "/metadata/namespace").to_string();
            Api::namespaced_with(client.clone(), &target, &resource)
        } else {
            Api::all_with(client.clone(), &resource)
        };
        let what = format!("{kind} {}", str_at(&doc, "/metadata/name"));
        let obj: DynamicObject = serde_json::from_value(doc)
            .unwrap_or_else(|e| panic!("{what}: not a Kubernetes object: {e}"));
        let created = api
            .create(&PostParams::default(), &obj)
            .await
            .unwrap_or_else(|e| panic!("cannot create {what} in {ns}: {e}"));
        serde_json::to_value(created).unwrap_or_else(|e| panic!("{what}: {e}"))
    }

    /// The resource serving `apiVersion`/`kind` and whether it is namespaced (discovery,
    /// cached).
    pub(crate) async fn resource(
        &self,
        client: &kube::Client,
        api_version: &str,
        kind: &str,
    ) -> (ApiResource, bool) {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(hit) = self
            .resources
            .lock()
            .ok()
            .and_then(|m| m.get(&key).cloned())
        {
            return hit;
        }
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (resource, caps) = kube::discovery::pinned_kind(client, &gvk)
            .await
            .unwrap_or_else(|e| {
                panic!("the test cluster does not serve {api_version} {kind}: {e}")
            });
        let hit = (resource, matches!(caps.scope, Scope::Namespaced));
        if let Ok(mut map) = self.resources.lock() {
            map.insert(key, hit.clone());
        }
        hit
    }

    /// Creates the object of `yaml` in `ns`, owned (controller) by `owner` (a created object,
    /// e.g. from [`Cluster::apply_yaml`]), as a controller would: a ReplicaSet of a Deployment,
    /// a Job of a CronJob, a Pod of either. A document without `apiVersion`/`kind` is a Pod.
    pub(crate) async fn create_owned_by(&self, ns: &str, yaml: &str, owner: &Value) -> Value {
        let mut obj: Value = serde_saphyr::from_str(yaml)
            .unwrap_or_else(|e| panic!("create_owned_by: invalid YAML: {e}\n{yaml}"));
        let uid = str_at(owner, "/metadata/uid");
        assert!(!uid.is_empty(), "owner has no metadata.uid: {owner}");
        obj["metadata"]["ownerReferences"] = json!([{
            "apiVersion": str_at(owner, "/apiVersion"),
            "kind": str_at(owner, "/kind"),
            "name": str_at(owner, "/metadata/name"),
            "uid": uid,
            "controller": true,
            "blockOwnerDeletion": true,
        }]);
        if obj.get("apiVersion").is_none() {
            obj["apiVersion"] = json!("v1");
        }
        if obj.get("kind").is_none() {
            obj["kind"] = json!("Pod");
        }
        let client = self.client().await;
        self.create_value(&client, ns, obj).await
    }

    /// Waits until the controllers have created `count` Pods under `owner` (a created
    /// Deployment, ReplicaSet, Job, …: owned by it, or by a ReplicaSet or Job it owns) that are
    /// not being deleted, and returns their names, sorted. The test bed runs
    /// kube-controller-manager but no kubelet: the Pods stay Pending until a test writes their
    /// status ([`Cluster::set_pod_image_ids`]).
    pub(crate) async fn pods_of(&self, ns: &str, owner: &Value, count: usize) -> Vec<String> {
        let uid = str_at(owner, "/metadata/uid").to_string();
        assert!(!uid.is_empty(), "owner has no metadata.uid: {owner}");
        let client = self.client().await;
        let pods: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &pod_resource());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            // The owner's direct children (ReplicaSets of a Deployment, …) count as owners too.
            let mut owners = vec![uid.clone()];
            for (v, k) in [("apps/v1", "ReplicaSet"), ("batch/v1", "Job")] {
                let api = self.api(ns, v, k).await;
                if let Ok(list) = api.list(&Default::default()).await {
                    for o in list.items {
                        let owned = o
                            .metadata
                            .owner_references
                            .iter()
                            .flatten()
                            .any(|r| r.uid == uid);
                        if owned && let Some(u) = o.metadata.uid {
                            owners.push(u);
                        }
                    }
                }
            }
            let mut names: Vec<String> = pods
                .list(&Default::default())
                .await
                .map(|l| l.items)
                .unwrap_or_default()
                .into_iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .filter(|p| {
                    p.metadata
                        .owner_references
                        .iter()
                        .flatten()
                        .any(|r| owners.contains(&r.uid))
                })
                .filter_map(|p| p.metadata.name)
                .collect();
            if names.len() == count {
                names.sort();
                return names;
            }
            assert!(
                Instant::now() < deadline,
                "{ns}: {} Pods under {} after 60 s, expected {count}: {names:?}",
                names.len(),
                str_at(owner, "/metadata/name")
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The plan `fix` makes for the workload `apiVersion`/`kind` `ns/name` as it is now, with
    /// `opts`. `force` also plans the findings the scan marks not fixable (to send what `fix`
    /// itself refuses, e.g. a live Job's template). Panics when there is nothing to plan.
    pub(crate) async fn plan_of(
        &self,
        ns: &str,
        (api_version, kind, name): (&str, &str, &str),
        opts: &kubectl_secfix::fix::FixOptions,
        force: bool,
    ) -> kubectl_secfix::fix::Plan {
        use kubectl_secfix::checks::{ScanOptions, Scanner};
        let mut obj = self.get(ns, api_version, kind, name).await;
        obj["apiVersion"] = json!(api_version);
        obj["kind"] = json!(kind);
        let w = kubectl_secfix::model::Workload::from_value(obj)
            .unwrap_or_else(|e| panic!("{kind} {ns}/{name}: {e}"))
            .unwrap_or_else(|| panic!("{kind} {ns}/{name} is not a workload"));
        let mut scanner = Scanner::new(ScanOptions::default());
        scanner.add_workload(&w);
        let mut findings = scanner.finish().findings;
        if force {
            for f in &mut findings {
                f.fixable = true;
                f.not_fixable_reason = None;
            }
        }
        kubectl_secfix::fix::workload::plan_workload(&w, &findings, opts)
            .unwrap_or_else(|e| panic!("{kind} {ns}/{name}: {e}"))
            .unwrap_or_else(|| panic!("{kind} {ns}/{name}: nothing to plan"))
    }

    /// The API of `apiVersion`/`kind` in `ns` (all namespaces for a cluster-scoped kind), for
    /// the `admin` context.
    pub(crate) async fn api(&self, ns: &str, api_version: &str, kind: &str) -> Api<DynamicObject> {
        let client = self.client().await;
        let (resource, namespaced) = self.resource(&client, api_version, kind).await;
        if namespaced {
            Api::namespaced_with(client, ns, &resource)
        } else {
            Api::all_with(client, &resource)
        }
    }

    /// The object `kind` `name` in `ns`, as JSON; panics when it does not exist.
    pub(crate) async fn get(&self, ns: &str, api_version: &str, kind: &str, name: &str) -> Value {
        self.get_opt(ns, api_version, kind, name)
            .await
            .unwrap_or_else(|| panic!("{kind} {ns}/{name} does not exist"))
    }

    /// The object `kind` `name` in `ns`, as JSON, or `None` when it does not exist.
    pub(crate) async fn get_opt(
        &self,
        ns: &str,
        api_version: &str,
        kind: &str,
        name: &str,
    ) -> Option<Value> {
        let api = self.api(ns, api_version, kind).await;
        let obj = api
            .get_opt(name)
            .await
            .unwrap_or_else(|e| panic!("cannot get {kind} {ns}/{name}: {e}"))?;
        Some(serde_json::to_value(obj).unwrap_or_else(|e| panic!("{kind} {ns}/{name}: {e}")))
    }

    /// Applies a JSON merge patch to `kind` `name` in `ns` (another writer changing the object)
    /// and returns the object as the server stored it.
    pub(crate) async fn merge_patch(
        &self,
        ns: &str,
        api_version: &str,
        kind: &str,
        name: &str,
        patch: Value,
    ) -> Value {
        let api = self.api(ns, api_version, kind).await;
        let patched = api
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .unwrap_or_else(|e| panic!("cannot patch {kind} {ns}/{name}: {e}"));
        serde_json::to_value(patched).unwrap_or_else(|e| panic!("{kind} {ns}/{name}: {e}"))
    }

    /// Gives the `viewer` context's user ([`VIEWER_USER`]) a Role `role` in `ns` with `rules`
    /// (a YAML block sequence at column 0), through the RoleBinding `secfix-viewer`, with
    /// `kubectl apply`.
    pub(crate) fn grant_viewer(&self, ns: &str, role: &str, rules: &str) {
        let yaml = format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: {role}, namespace: {ns}}}\nrules:\n{rules}\n---\n{}",
            viewer_binding(ns, "secfix-viewer", "Role", role)
        );
        self.kubectl_apply(&yaml);
    }

    /// Installs the Policy WG's PolicyReport CRDs (`tests/fixtures/policy-report/`, v1alpha2)
    /// and waits until they are served. Idempotent. Only on the first test bed: the second
    /// one never has them (see [`ENV2_PREFIX`]).
    pub(crate) fn install_policy_report_crds(&self) {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/policy-report/");
        self.kubectl(["apply", "-f", dir]).run().assert_code(0);
        self.kubectl([
            "wait",
            "--for=condition=established",
            "--timeout=60s",
            "crd/policyreports.wgpolicyk8s.io",
            "crd/clusterpolicyreports.wgpolicyk8s.io",
        ])
        .run()
        .assert_code(0);
        // Established is not yet served by discovery everywhere: wait for the group.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = self
                .kubectl(["get", "--raw", "/apis/wgpolicyk8s.io/v1alpha2"])
                .run();
            let body = out.stdout();
            if out.code() == 0
                && body.contains("\"policyreports\"")
                && body.contains("\"clusterpolicyreports\"")
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the PolicyReport CRDs are not served after 60 s: {out:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `kubectl apply -f -` of `yaml`; panics unless it succeeds.
    pub(crate) fn kubectl_apply(&self, yaml: &str) -> Output {
        let out = self.kubectl(["apply", "-f", "-"]).stdin(yaml).run();
        out.assert_code(0);
        out
    }

    /// Writes `status.phase=Running` and a running status per `(container, image, imageID)`
    /// through the status subresource, as a kubelet would. Names of init containers get a
    /// completed status in `initContainerStatuses`, ephemeral ones in
    /// `ephemeralContainerStatuses`.
    pub(crate) async fn set_pod_image_ids(
        &self,
        ns: &str,
        pod_name: &str,
        ids: &[(&str, &str, &str)],
    ) {
        let client = self.client().await;
        let pods: Api<DynamicObject> = Api::namespaced_with(client, ns, &pod_resource());
        let pod = pods
            .get(pod_name)
            .await
            .unwrap_or_else(|e| panic!("cannot get pod {ns}/{pod_name}: {e}"));
        let spec = &pod.data["spec"];
        let is_in = |list: &str, name: &str| {
            spec[list]
                .as_array()
                .is_some_and(|cs| cs.iter().any(|c| c["name"] == name))
        };
        // Whole seconds, as the API server writes times.
        let now = jiff::Timestamp::now().as_second();
        let now = jiff::Timestamp::from_second(now)
            .map(|t| t.to_string())
            .unwrap_or_default();
        let (mut main, mut init, mut ephemeral) = (vec![], vec![], vec![]);
        for &(name, image, image_id) in ids {
            let mut status = json!({
                "name": name,
                "image": image,
                "imageID": image_id,
                "ready": true,
                "restartCount": 0,
                "started": true,
                "state": {"running": {"startedAt": now}},
            });
            if is_in("initContainers", name) {
                status["started"] = json!(false);
                status["state"] = json!({"terminated": {
                    "exitCode": 0, "reason": "Completed", "startedAt": now, "finishedAt": now,
                }});
                init.push(status);
            } else if is_in("ephemeralContainers", name) {
                ephemeral.push(status);
            } else {
                main.push(status);
            }
        }
        let mut status = json!({"phase": "Running"});
        for (key, list) in [
            ("containerStatuses", main),
            ("initContainerStatuses", init),
            ("ephemeralContainerStatuses", ephemeral),
        ] {
            if !list.is_empty() {
                status[key] = Value::Array(list);
            }
        }
        pods.patch_status(
            pod_name,
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": status })),
        )
        .await
        .unwrap_or_else(|e| panic!("cannot write the status of pod {ns}/{pod_name}: {e}"));
    }

    /// Pushes a tiny OCI image (one config blob, one layer blob, a manifest) for
    /// `linux/amd64` as `registry/repo:tag` and returns the manifest digest (`sha256:…`). The
    /// content depends on `repo` and `tag` only, so pushes of different names give different
    /// digests and a repeated push gives the same one.
    pub(crate) fn push_image(
        &self,
        registry: &str,
        auth: Option<(&str, &str)>,
        repo: &str,
        tag: &str,
    ) -> String {
        self.push_image_variant(registry, auth, repo, tag, "")
    }

    /// Like [`Cluster::push_image`], with `variant` mixed into the content: pushing the same
    /// tag with another variant moves the tag to a new digest.
    pub(crate) fn push_image_variant(
        &self,
        registry: &str,
        auth: Option<(&str, &str)>,
        repo: &str,
        tag: &str,
        variant: &str,
    ) -> String {
        Registry::new(registry, auth)
            .push_image(repo, tag, Format::Oci, "amd64", variant)
            .0
    }

    /// Like [`Cluster::push_image`], as a Docker image manifest v2 (schema 2).
    pub(crate) fn push_docker_image(
        &self,
        registry: &str,
        auth: Option<(&str, &str)>,
        repo: &str,
        tag: &str,
    ) -> String {
        Registry::new(registry, auth)
            .push_image(repo, tag, Format::Docker, "amd64", "")
            .0
    }

    /// Pushes a multi-arch image as `registry/repo:tag`: an OCI index or a Docker manifest list
    /// (per `format`) over one image per architecture. Returns the digest of the index and
    /// those of the per-architecture images.
    pub(crate) fn push_index(
        &self,
        registry: &str,
        auth: Option<(&str, &str)>,
        repo: &str,
        tag: &str,
        archs: &[&str],
        format: Format,
    ) -> (String, Vec<String>) {
        Registry::new(registry, auth).push_index(repo, tag, archs, format)
    }

    /// HEADs `registry/repo:reference` (accepting every manifest type, see [`MANIFEST_ACCEPT`])
    /// and returns the HTTP status and the `Docker-Content-Digest` header.
    pub(crate) fn head_manifest(
        &self,
        registry: &str,
        auth: Option<(&str, &str)>,
        repo: &str,
        reference: &str,
    ) -> (u16, Option<String>) {
        Registry::new(registry, auth).head_manifest(repo, reference)
    }

    /// The basic-auth credentials of [`Cluster::auth_registry`].
    pub(crate) fn auth(&self) -> Option<(&str, &str)> {
        Some((&self.auth_user, &self.auth_password))
    }

    /// A directory placed first on `PATH` for [`Cluster::kubectl`]. It holds the symlink
    /// `kubectl-secfix` to the binary under test (not `target/debug` itself: its
    /// `kubectl-secfix.d` would be listed as a plugin too). It lives under the temp dir
    /// (`tests/run.sh` points `TMPDIR` into the test bed, which down.sh removes) with a name
    /// fixed per binary, so runs and test processes share it.
    pub(crate) fn bin_dir(&self) -> &Path {
        self.bin_dir.get_or_init(|| {
            use std::hash::{DefaultHasher, Hash, Hasher};
            let exe = Path::new(env!("CARGO_BIN_EXE_kubectl-secfix"));
            let mut h = DefaultHasher::new();
            exe.hash(&mut h);
            let dir =
                std::env::temp_dir().join(format!("kubectl-secfix-test-bin-{:x}", h.finish()));
            std::fs::create_dir_all(&dir)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
            let link = dir.join("kubectl-secfix");
            if std::fs::read_link(&link).ok().as_deref() != Some(exe) {
                // Atomic replace: test processes may race here.
                let tmp = dir.join(format!(".kubectl-secfix.{}", std::process::id()));
                let _ = std::fs::remove_file(&tmp);
                std::os::unix::fs::symlink(exe, &tmp)
                    .and_then(|()| std::fs::rename(&tmp, &link))
                    .unwrap_or_else(|e| panic!("cannot link {}: {e}", link.display()));
            }
            dir
        })
    }

    /// The real `kubectl` with `KUBECONFIG` = the test bed's kubeconfig and the plugin first on
    /// `PATH` (see [`Cluster::bin_dir`]), `XDG_STATE_HOME` and `DOCKER_CONFIG` under the temp
    /// dir. Stdin is closed unless [`Cmd::stdin`] gives some.
    pub(crate) fn kubectl<I, S>(&self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Cmd::from(self.kubectl_command(args))
    }

    /// The `std::process::Command` behind [`Cluster::kubectl`], for callers that run it
    /// themselves (in a pty, for one).
    pub(crate) fn kubectl_command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut path = OsString::from(self.bin_dir());
        if let Some(orig) = std::env::var_os("PATH") {
            path.push(":");
            path.push(orig);
        }
        let mut cmd = Command::new("kubectl");
        cmd.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("PATH", path)
            // Hermetic: the interactive default patch folder goes under the test's temp dir,
            // not the user's home, and no Docker login of the machine is used.
            .env("XDG_STATE_HOME", std::env::temp_dir().join("secfix-state"))
            .env(
                "DOCKER_CONFIG",
                std::env::temp_dir().join("secfix-docker-none"),
            );
        cmd
    }

    /// A token of the ServiceAccount `ns/name`, from the TokenRequest API (what the kubelet
    /// mounts into a pod), valid for an hour.
    pub(crate) fn service_account_token(&self, ns: &str, name: &str) -> String {
        let out = self
            .kubectl(["create", "token", name, "-n", ns, "--duration=1h"])
            .run();
        out.assert_code(0);
        out.stdout().trim().to_string()
    }

    /// The plugin binary run as in a pod of this cluster: no kubeconfig anywhere (`HOME` is an
    /// empty directory, `KUBECONFIG` unset), `KUBERNETES_SERVICE_HOST`/`_PORT` naming the API
    /// server, and the service account's `token`, `ca.crt` and `namespace` files at the
    /// standard path `/var/run/secrets/kubernetes.io/serviceaccount/`, which kube-rs (like
    /// client-go) reads.
    ///
    /// The files are put there inside a private mount namespace (`unshare --mount`, as root):
    /// a tmpfs mounted over `/var/run` in that namespace only holds them, so the machine's
    /// own `/var/run` is neither read nor changed. Panics when mount namespaces are not
    /// available.
    pub(crate) fn in_cluster_secfix<I, S>(&self, token: &str, namespace: &str, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let probe = Cmd::new("unshare")
            .args(["--mount", "--propagation", "private", "true"])
            .run();
        assert_eq!(
            probe.code(),
            0,
            "the in-cluster test needs a private mount namespace (unshare --mount, as root) to \
             put a service account at /var/run/secrets/kubernetes.io/serviceaccount: {probe:?}"
        );
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "secfix-in-cluster-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let sa = dir.join("serviceaccount");
        let home = dir.join("home");
        for d in [&sa, &home] {
            std::fs::create_dir_all(d)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", d.display()));
        }
        std::fs::write(sa.join("token"), token).unwrap_or_else(|e| panic!("token file: {e}"));
        std::fs::write(sa.join("namespace"), namespace)
            .unwrap_or_else(|e| panic!("namespace file: {e}"));
        std::fs::copy(self.ca_file(), sa.join("ca.crt")).unwrap_or_else(|e| panic!("ca.crt: {e}"));
        let server = self.server();
        let hostport = server.trim_start_matches("https://");
        let (host, port) = hostport
            .rsplit_once(':')
            .unwrap_or_else(|| panic!("server {server} has no port"));
        // In the new mount namespace: a tmpfs over the real directory behind /var/run (often
        // /run), the service account files copied in, then the plugin.
        let script = r#"set -e
run=$(readlink -f /var/run)
mount -t tmpfs -o mode=0755 secfix-in-cluster "$run"
mkdir -p /var/run/secrets/kubernetes.io/serviceaccount
cp "$SECFIX_SA_DIR"/token "$SECFIX_SA_DIR"/ca.crt "$SECFIX_SA_DIR"/namespace /var/run/secrets/kubernetes.io/serviceaccount/
exec "$@""#;
        Cmd::new("unshare")
            .args([
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
                "sh",
            ])
            .arg(env!("CARGO_BIN_EXE_kubectl-secfix"))
            .args(args)
            .env_remove("KUBECONFIG")
            .env("HOME", &home)
            .env("SECFIX_SA_DIR", &sa)
            .env("KUBERNETES_SERVICE_HOST", host)
            .env("KUBERNETES_SERVICE_PORT", port)
            .env("XDG_STATE_HOME", dir.join("state"))
            .env("DOCKER_CONFIG", dir.join("docker-none"))
    }

    /// `kubectl secfix ARGS…` through kubectl's plugin mechanism.
    pub(crate) fn secfix<I, S>(&self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.kubectl(["secfix"]).args(args)
    }
}

/// Where a context of [`merged_kubeconfig`] points.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ContextTo<'a> {
    /// The context `context` (`admin` or `viewer`) of a test bed, with `namespace` as its
    /// default namespace (else the bed's, `default`).
    Bed {
        bed: &'a Cluster,
        context: &'a str,
        namespace: Option<&'a str>,
    },
    /// An API server that is not there: a loopback port nothing listens on (connection
    /// refused at once).
    Unreachable,
}

/// Writes a kubeconfig (mode 0600: it holds tokens) at `path` with one context per
/// `(name, to)`, each with its own cluster and user entries named like the context, the first
/// one current; returns `path`. This is how a user's kubeconfig with several clusters looks.
pub(crate) fn merged_kubeconfig(path: &Path, contexts: &[(&str, ContextTo<'_>)]) -> PathBuf {
    let (mut clusters, mut users, mut ctxs) = (vec![], vec![], vec![]);
    for (name, to) in contexts {
        let (cluster, user, namespace) = match to {
            ContextTo::Bed {
                bed,
                context,
                namespace,
            } => {
                let kc = bed.kubeconfig_value();
                let find = |list: &str, n: &str| -> Value {
                    kc[list]
                        .as_array()
                        .and_then(|l| l.iter().find(|e| e["name"] == n))
                        .cloned()
                        .unwrap_or_else(|| {
                            panic!("{}: no {list} entry {n}", bed.kubeconfig.display())
                        })
                };
                let ctx = find("contexts", context);
                let cluster = find("clusters", str_at(&ctx, "/context/cluster"));
                let user = find("users", str_at(&ctx, "/context/user"));
                (
                    cluster["cluster"].clone(),
                    user["user"].clone(),
                    namespace
                        .unwrap_or(str_at(&ctx, "/context/namespace"))
                        .to_string(),
                )
            }
            ContextTo::Unreachable => {
                let port = std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|l| l.local_addr())
                    .map(|a| a.port())
                    .unwrap_or_else(|e| panic!("no free loopback port: {e}"));
                (
                    json!({"server": format!("https://127.0.0.1:{port}"), "insecure-skip-tls-verify": true}),
                    json!({"token": "unreachable"}),
                    "default".to_string(),
                )
            }
        };
        clusters.push(json!({"name": name, "cluster": cluster}));
        users.push(json!({"name": name, "user": user}));
        ctxs.push(json!({"name": name, "context": {"cluster": name, "user": name, "namespace": namespace}}));
    }
    let kc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": clusters,
        "users": users,
        "contexts": ctxs,
        "current-context": contexts.first().map(|(n, _)| *n).unwrap_or_default(),
    });
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    file.write_all(kc.to_string().as_bytes())
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    path.to_path_buf()
}

fn ns_resource() -> ApiResource {
    ApiResource::erase::<k8s_openapi::api::core::v1::Namespace>(&())
}

fn pod_resource() -> ApiResource {
    ApiResource::erase::<k8s_openapi::api::core::v1::Pod>(&())
}

/// The string at a JSON pointer, or "".
fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// YAML of a RoleBinding `name` in `ns` that gives the `viewer` context's user
/// ([`VIEWER_USER`]) the `role_kind` (`Role` or `ClusterRole`) `role`.
pub(crate) fn viewer_binding(ns: &str, name: &str, role_kind: &str, role: &str) -> String {
    format!(
        r#"apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: {name}, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: {role_kind}, name: {role}}}
subjects:
- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: {VIEWER_USER}}}
"#
    )
}

/// What a user or the tool writes of an object, without what controllers write on their own
/// (status, `resourceVersion`, `managedFields`, the Deployment controller's revision
/// annotation): comparing it before and after a command tells whether the command wrote
/// anything, on a test bed where controllers keep writing.
pub(crate) fn as_written(obj: &Value) -> Value {
    let mut annotations = obj["metadata"]["annotations"].clone();
    if let Some(a) = annotations.as_object_mut() {
        a.remove("deployment.kubernetes.io/revision");
        if a.is_empty() {
            annotations = Value::Null;
        }
    }
    json!({
        "labels": obj["metadata"]["labels"],
        "annotations": annotations,
        "generation": obj["metadata"]["generation"],
        "spec": obj["spec"],
    })
}

/// YAML of a Deployment `name` (selector and pod label `app: <name>`) with one container `app`
/// running `image` with `env` (a YAML flow sequence such as [`SECRET_REF_ENV`]). It starts with
/// a newline, so that documents join with `---`.
pub(crate) fn deployment(name: &str, env: &str, image: &str) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - name: app
        image: {image}
        env: {env}
"#
    )
}

/// `sha256:<hex>` of `bytes`, as the registry names content.
pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The manifest format of an image pushed by [`Registry`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// OCI image manifest; multi-arch: OCI image index.
    Oci,
    /// Docker image manifest v2 schema 2; multi-arch: Docker manifest list.
    Docker,
}

impl Format {
    /// Media types of (manifest, config, layer, multi-arch index).
    fn media_types(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Format::Oci => (OCI_MANIFEST, OCI_CONFIG, OCI_LAYER, OCI_INDEX),
            Format::Docker => (
                DOCKER_MANIFEST,
                DOCKER_CONFIG,
                DOCKER_LAYER,
                DOCKER_MANIFEST_LIST,
            ),
        }
    }
}

/// A blocking HTTP client for the distribution API of one registry (plain HTTP: the test bed's
/// registries listen on loopback). The one implementation of the push protocol for every test
/// file; [`Cluster::push_image`] and its siblings are shorthands for it.
pub(crate) struct Registry {
    agent: ureq::Agent,
    base: String,
    authorization: Option<String>,
}

impl Registry {
    /// A client for `registry` (`host:port`), with basic-auth credentials when `auth` is set.
    pub(crate) fn new(registry: &str, auth: Option<(&str, &str)>) -> Registry {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .new_agent();
        let authorization = auth.map(|(user, password)| {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            format!("Basic {token}")
        });
        Registry {
            agent,
            base: format!("http://{registry}"),
            authorization,
        }
    }

    fn request<B>(&self, req: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.authorization {
            Some(a) => req.header("Authorization", a),
            None => req,
        }
    }

    fn expect(
        &self,
        mut resp: ureq::http::Response<ureq::Body>,
        status: u16,
        method: &str,
        url: &str,
    ) -> ureq::http::Response<ureq::Body> {
        if resp.status().as_u16() != status {
            let body = resp.body_mut().read_to_string().unwrap_or_default();
            panic!(
                "{method} {url}: HTTP {} (expected {status}): {body}",
                resp.status()
            );
        }
        resp
    }

    /// Monolithic upload (POST, then PUT with the digest); returns the blob's digest.
    pub(crate) fn push_blob(&self, repo: &str, blob: &[u8]) -> String {
        let digest = sha256_digest(blob);
        let url = format!("{}/v2/{repo}/blobs/uploads/", self.base);
        let resp = self
            .request(self.agent.post(&url))
            .send_empty()
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        let resp = self.expect(resp, 202, "POST", &url);
        let location =
            header(&resp, "Location").unwrap_or_else(|| panic!("POST {url}: no Location header"));
        let location = if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            location
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let put = format!("{location}{sep}digest={digest}");
        let resp = self
            .request(self.agent.put(&put))
            .header("Content-Type", "application/octet-stream")
            .send(blob)
            .unwrap_or_else(|e| panic!("PUT {put}: {e}"));
        self.expect(resp, 201, "PUT", &put);
        digest
    }

    /// PUTs a manifest (or index) of `media_type` at `reference` (a tag or a digest) and
    /// returns the digest the registry reports (`Docker-Content-Digest`), checked against the
    /// sha256 of `body`.
    pub(crate) fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> String {
        let url = format!("{}/v2/{repo}/manifests/{reference}", self.base);
        let resp = self
            .request(self.agent.put(&url))
            .header("Content-Type", media_type)
            .send(body)
            .unwrap_or_else(|e| panic!("PUT {url}: {e}"));
        let resp = self.expect(resp, 201, "PUT", &url);
        let digest = header(&resp, "Docker-Content-Digest")
            .unwrap_or_else(|| panic!("PUT {url}: no Docker-Content-Digest header"));
        assert_eq!(
            digest,
            sha256_digest(body),
            "PUT {url}: the registry's digest is not the sha256 of the manifest"
        );
        digest
    }

    /// Pushes a one-layer image for `linux/arch` in `format` at `reference` and returns the
    /// manifest's digest and size. The content depends on the arguments only (`variant` is
    /// mixed in), so a repeated push gives the same digest.
    pub(crate) fn push_image(
        &self,
        repo: &str,
        reference: &str,
        format: Format,
        arch: &str,
        variant: &str,
    ) -> (String, usize) {
        let (manifest_type, config_type, layer_type, _) = format.media_types();
        let label = format!("{repo}:{reference}{variant}");
        let config = serde_json::to_vec(&json!({
            "architecture": arch,
            "os": "linux",
            "config": {"Labels": {"dev.secfix.test": label}},
            "rootfs": {"type": "layers", "diff_ids": []},
        }))
        .unwrap_or_default();
        let layer = format!("secfix test layer {label} {arch}").into_bytes();
        let config_digest = self.push_blob(repo, &config);
        let layer_digest = self.push_blob(repo, &layer);
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": {"mediaType": config_type, "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": layer_type, "digest": layer_digest, "size": layer.len()}],
        }))
        .unwrap_or_default();
        let digest = self.push_manifest(repo, reference, manifest_type, &manifest);
        (digest, manifest.len())
    }

    /// Pushes one image per architecture, each under the tag `<tag>-<arch>` first (as
    /// `docker buildx` pushes per-platform images), then an index over them (OCI index or
    /// Docker manifest list, per `format`) as `repo:tag`. Returns the index digest and the
    /// per-architecture digests.
    pub(crate) fn push_index(
        &self,
        repo: &str,
        tag: &str,
        archs: &[&str],
        format: Format,
    ) -> (String, Vec<String>) {
        let (manifest_type, _, _, index_type) = format.media_types();
        let mut children = Vec::new();
        let mut entries = Vec::new();
        for arch in archs {
            let (digest, size) = self.push_image(repo, &format!("{tag}-{arch}"), format, arch, "");
            entries.push(json!({
                "mediaType": manifest_type,
                "digest": digest,
                "size": size,
                "platform": {"architecture": arch, "os": "linux"},
            }));
            children.push(digest);
        }
        let index = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": index_type,
            "manifests": entries,
        }))
        .unwrap_or_default();
        let digest = self.push_manifest(repo, tag, index_type, &index);
        (digest, children)
    }

    /// HEADs `repo:reference` with an `Accept` of every manifest type and returns the HTTP
    /// status and the `Docker-Content-Digest` header.
    pub(crate) fn head_manifest(&self, repo: &str, reference: &str) -> (u16, Option<String>) {
        let url = format!("{}/v2/{repo}/manifests/{reference}", self.base);
        let resp = self
            .request(self.agent.head(&url))
            .header("Accept", MANIFEST_ACCEPT.join(", "))
            .call()
            .unwrap_or_else(|e| panic!("HEAD {url}: {e}"));
        (
            resp.status().as_u16(),
            header(&resp, "Docker-Content-Digest"),
        )
    }
}

/// A response header as a string, if present and valid.
fn header(resp: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// A command to run, built by [`Cluster::kubectl`] / [`Cluster::secfix`].
#[derive(Debug)]
pub(crate) struct Cmd {
    cmd: Command,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
}

impl Cmd {
    pub(crate) fn new(program: impl AsRef<OsStr>) -> Cmd {
        Cmd::from(Command::new(program))
    }

    pub(crate) fn arg(mut self, arg: impl AsRef<OsStr>) -> Cmd {
        self.cmd.arg(arg);
        self
    }

    pub(crate) fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub(crate) fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Cmd {
        self.cmd.env(key, value);
        self
    }

    pub(crate) fn env_remove(mut self, key: impl AsRef<OsStr>) -> Cmd {
        self.cmd.env_remove(key);
        self
    }

    pub(crate) fn current_dir(mut self, dir: impl AsRef<Path>) -> Cmd {
        self.cmd.current_dir(dir);
        self
    }

    /// Closed stdin (the default).
    pub(crate) fn stdin_null(mut self) -> Cmd {
        self.stdin = None;
        self
    }

    /// Feeds `data` on stdin, then closes it.
    pub(crate) fn stdin(mut self, data: impl Into<Vec<u8>>) -> Cmd {
        self.stdin = Some(data.into());
        self
    }

    /// Time limit (default [`DEFAULT_CMD_TIMEOUT`]); the command is killed and the test fails
    /// past it.
    pub(crate) fn timeout(mut self, timeout: Duration) -> Cmd {
        self.timeout = timeout;
        self
    }

    /// Runs the command to completion and captures its output.
    pub(crate) fn run(mut self) -> Output {
        let what = format!("{:?}", self.cmd);
        let mut child = self
            .cmd
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
        let feeder = child
            .stdin
            .take()
            .zip(self.stdin.take())
            .map(|(mut pipe, data)| {
                // A command that exits without reading its stdin breaks the pipe: not an error.
                std::thread::spawn(move || drop(pipe.write_all(&data)))
            });
        let reader = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                if let Some(mut p) = pipe {
                    let _ = p.read_to_end(&mut buf);
                }
                buf
            })
        };
        let out = reader(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let err = reader(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if start.elapsed() > self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let stdout = out.join().unwrap_or_default();
                    let stderr = err.join().unwrap_or_default();
                    panic!(
                        "{what} did not finish in {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
                        self.timeout,
                        String::from_utf8_lossy(&stdout),
                        String::from_utf8_lossy(&stderr)
                    );
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => panic!("waiting for {what}: {e}"),
            }
        };
        if let Some(f) = feeder {
            let _ = f.join();
        }
        Output {
            command: what,
            status,
            stdout: out.join().unwrap_or_default(),
            stderr: err.join().unwrap_or_default(),
        }
    }
}

impl From<Command> for Cmd {
    /// Wraps `cmd` with closed stdin and the default time limit.
    fn from(cmd: Command) -> Cmd {
        Cmd {
            cmd,
            stdin: None,
            timeout: DEFAULT_CMD_TIMEOUT,
        }
    }
}

/// What a [`Cmd`] did. Its `Debug` form shows the command, exit code and both streams.
pub(crate) struct Output {
    pub command: String,
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    pub(crate) fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub(crate) fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// The exit code; 128 + N when killed by signal N (as a shell reports it).
    pub(crate) fn code(&self) -> i32 {
        use std::os::unix::process::ExitStatusExt;
        self.status
            .code()
            .unwrap_or_else(|| 128 + self.status.signal().unwrap_or(0))
    }

    /// Panics (showing both streams) unless the exit code is `code`.
    #[track_caller]
    pub(crate) fn assert_code(&self, code: i32) -> &Output {
        assert_eq!(self.code(), code, "unexpected exit code: {self:?}");
        self
    }

    /// Stdout parsed as JSON; panics (showing both streams) when it is not.
    #[track_caller]
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} exited with {}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.command,
            self.code(),
            self.stdout(),
            self.stderr()
        )
    }
}
