//! Reading the objects to check, from a cluster or from manifests, into one [`Inventory`].
//!
//! Both sides feed the same [`Scanner`] object by object, so `scan -f` and a live scan of
//! the same objects give the same findings.

use std::collections::BTreeSet;
use std::io::IsTerminal as _;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use kube::Client;
use serde_json::Value;

use crate::checks::{ScanOptions, ScanResult, Scanner};
use crate::cluster::list::{ListEvent, ListRequest, Scope, spawn_listers};
use crate::model::workload::without_values;
use crate::model::{SourceLocation, Workload, WorkloadKind};

/// What to keep besides findings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Keep {
    /// Top-level workloads (with their raw objects), NetworkPolicies, Services, Ingresses,
    /// HTTPRoutes and the ConfigMaps workloads read: `fix` needs them to plan.
    pub objects: bool,
    /// What pods report about the digests they run, and the ReplicaSets/Jobs that own
    /// them: digest pinning from running pods needs them.
    pub pods: bool,
}

/// Everything read for one run.
#[derive(Debug, Default)]
pub struct Inventory {
    pub findings: Vec<crate::model::Finding>,
    pub suppressed: usize,
    pub scanned: usize,
    /// Top-level workloads (only with `Keep::objects`).
    pub workloads: Vec<Workload>,
    /// What running pods report about image digests (only with `Keep::pods`).
    pub digests: crate::fix::digest::PodDigests,
    pub policies: Vec<NetworkPolicy>,
    pub services: Vec<Service>,
    /// `networking.k8s.io/v1` Ingresses (only with `Keep::objects`).
    pub ingresses: Vec<Ingress>,
    /// Gateway API `HTTPRoute`s/`GRPCRoute`s as JSON (only with `Keep::objects`).
    pub routes: Vec<Value>,
    /// ConfigMaps: offline every one in the manifests; live only those a workload reads
    /// (only with `Keep::objects`). Values are evidence for NetworkPolicies, never shown.
    pub config_maps: Vec<ConfigMap>,
    /// The keys (never the values) of the ConfigMaps and Secrets `envFrom` reads: offline
    /// every one in the manifests, live those a workload's `envFrom` names (only with
    /// `Keep::objects`). A native secret move must not conflict with them.
    pub env_sources: crate::fix::file_env::EnvSources,
    /// The labels of the namespaces read from a live cluster (`None` offline): a server
    /// before 1.21 sets no `kubernetes.io/metadata.name`.
    pub namespace_labels: Option<crate::fix::network_policy::eval::NamespaceLabels>,
    /// Names of the namespaces known to exist (Namespace objects read).
    pub namespaces: Vec<String>,
    /// ServiceAccounts (namespace, name) that a RoleBinding or ClusterRoleBinding of the
    /// manifests binds (only with `Keep::objects`; a live run does not read bindings).
    pub bound_accounts: Vec<(String, String)>,
    /// Services the Kubernetes API server calls: admission webhooks, aggregated APIs, CRD
    /// conversion webhooks (only with `Keep::objects`).
    pub api_server_calls: Vec<crate::fix::network_policy::graph::ApiServerCall>,
    /// The Kubernetes API server's addresses and ports (live: the Endpoints of Service
    /// `default/kubernetes`; only with `Keep::objects`).
    pub api_server: Option<crate::fix::network_policy::graph::ApiServer>,
    /// Notes for the report (older API versions used, kinds skipped).
    pub warnings: Vec<String>,
    /// Errors that make the run exit 1 after reporting (forbidden kinds, input that could
    /// not be read, …).
    pub errors: Vec<String>,
    /// The `-f` input that could not be read, by file and line (also in `errors`).
    pub input_errors: Vec<crate::report::InputError>,
    /// Kinds a live run could not list (wholly or after some pages; also in `errors`): the
    /// scan did not see all of them, so what it reports about them is incomplete.
    pub unlisted: BTreeSet<String>,
    /// Keys in force per namespace that narrows `--signature-key` (see
    /// [`crate::checks::ScanResult::signature_keys`]).
    pub signature_keys: std::collections::BTreeMap<String, Vec<String>>,
    /// With [`Collector::with_spill`]: the findings decided during the scan, kept on disk;
    /// `findings` then holds only those decided last. Merge both with
    /// [`Spill::merge`](crate::spill::Spill::merge), and filter the spilled ones by
    /// `namespace_ignore`.
    pub spilled: Option<crate::spill::Spill>,
    /// What each namespace's `secfix.dev/ignore` annotation suppresses (see
    /// [`crate::checks::ScanResult::namespace_ignore`]).
    pub namespace_ignore: std::collections::BTreeMap<String, crate::checks::Ignore>,
}

impl Inventory {
    /// The namespace graph's view of what was read (for least-privilege NetworkPolicies).
    pub(crate) fn cluster(&self) -> crate::fix::network_policy::graph::Cluster<'_> {
        crate::fix::network_policy::graph::Cluster {
            workloads: &self.workloads,
            services: &self.services,
            ingresses: &self.ingresses,
            routes: &self.routes,
            config_maps: &self.config_maps,
            namespaces: &self.namespaces,
            bound_accounts: &self.bound_accounts,
            policies: &self.policies,
            api_server_calls: &self.api_server_calls,
            ingress_from: &[],
            namespace_labels: self.namespace_labels.as_ref(),
            allow_flows: &[],
        }
    }
}

/// An Ingress in the `networking.k8s.io/v1` shape. Manifests written for Kubernetes before
/// 1.19 (`extensions/v1beta1`, `networking.k8s.io/v1beta1`) name backends as
/// `serviceName`/`servicePort` and the default one `backend`; the API server converts them
/// the same way (a path without `pathType` is `ImplementationSpecific`).
fn ingress_v1(mut obj: Value) -> Value {
    fn backend(b: &mut Value) {
        let Some(m) = b.as_object_mut() else { return };
        let (Some(name), port) = (m.remove("serviceName"), m.remove("servicePort")) else {
            return;
        };
        let port = match port {
            Some(Value::String(s)) => match s.parse::<i64>() {
                Ok(n) => serde_json::json!({"number": n}),
                Err(_) => serde_json::json!({"name": s}),
            },
            Some(n @ Value::Number(_)) => serde_json::json!({"number": n}),
            _ => serde_json::json!({}),
        };
        m.insert(
            "service".into(),
            serde_json::json!({"name": name, "port": port}),
        );
    }
    if obj.get("apiVersion").and_then(Value::as_str) == Some("networking.k8s.io/v1") {
        return obj;
    }
    obj["apiVersion"] = "networking.k8s.io/v1".into();
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
        if let Some(mut b) = spec.remove("backend") {
            backend(&mut b);
            spec.insert("defaultBackend".into(), b);
        }
        for rule in spec
            .get_mut("rules")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            for path in rule
                .pointer_mut("/http/paths")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(b) = path.get_mut("backend") {
                    backend(b);
                }
                if let Some(p) = path.as_object_mut() {
                    p.entry("pathType")
                        .or_insert_with(|| "ImplementationSpecific".into());
                }
            }
        }
    }
    obj
}

/// Feeds objects into the scanner and keeps what later stages need.
pub(crate) struct Collector {
    scanner: Scanner,
    keep: Keep,
    inv: Inventory,
    /// Offline: the namespace of objects that name none (`-n`, else the unnamed namespace
    /// `""`, shown as [`APPLY_NAMESPACE`](crate::model::names::APPLY_NAMESPACE)). Set on the
    /// typed metadata only, so a rewritten manifest does not gain a `namespace` field.
    default_namespace: Option<String>,
    /// Offline with `-n`: as `kubectl apply -n NS -f`, an object that names another
    /// namespace is an error.
    namespace_given: bool,
    /// With [`Collector::with_spill`]: what is done to each chunk of findings before it is
    /// spilled (e.g. locating fields in their files while the chunk is in input order).
    prepare: Prepare,
}

/// What is done to each chunk of findings before it is spilled (see
/// [`Collector::with_spill`]).
pub(crate) type Prepare = Option<Box<dyn FnMut(&mut [crate::model::Finding]) + Send>>;

impl Collector {
    pub fn new(opts: ScanOptions, keep: Keep) -> Self {
        Collector {
            scanner: Scanner::new(opts),
            keep,
            inv: Inventory::default(),
            default_namespace: None,
            namespace_given: false,
            prepare: None,
        }
    }

    /// Keeps decided findings in `spill` as the scan goes instead of in memory (see
    /// [`Inventory::spilled`]); `prepare` runs on each chunk, in the order its findings were
    /// decided, before it is spilled.
    pub(crate) fn with_spill(mut self, spill: crate::spill::Spill, prepare: Prepare) -> Self {
        self.inv.spilled = Some(spill);
        self.prepare = prepare;
        self
    }

    /// Spills the scanner's decided findings once there is a chunk of them.
    fn spill_decided(&mut self) {
        let Some(spill) = &mut self.inv.spilled else {
            return;
        };
        if self.scanner.pending() < spill.chunk() {
            return;
        }
        let mut chunk = self.scanner.take_findings();
        if let Some(prepare) = self.prepare.as_mut() {
            prepare(&mut chunk);
        }
        spill.push_run(chunk);
    }

    /// The namespace given to objects that name none (offline manifests): `""`, the
    /// unnamed namespace, when no `-n` was given.
    pub(crate) fn with_default_namespace(mut self, ns: &str) -> Self {
        self.default_namespace = Some(ns.to_string());
        self
    }

    /// Offline: the namespace of objects that name none is `-n NS` (`Some`), and every
    /// object that names one must name NS, as `kubectl apply -n NS -f` requires; without
    /// `-n` (`None`), they are in the unnamed namespace.
    pub(crate) fn with_namespace_flag(self, ns: Option<&str>) -> Self {
        let mut c = self.with_default_namespace(ns.unwrap_or(""));
        c.namespace_given = ns.is_some();
        c
    }

    fn default_ns(&self, meta: &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) {
        if meta.namespace.is_none() {
            meta.namespace.clone_from(&self.default_namespace);
        }
    }

    /// Takes one object of any kind; kinds that matter for no check are ignored.
    /// Returns an error message for an object that has the right kind but a broken shape
    /// (where it is, `source`, is the caller's to say).
    pub fn add(&mut self, obj: Value, source: Option<SourceLocation>) -> Result<(), String> {
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        if self.keep.objects && matches!(kind, "ConfigMap" | "Secret") {
            let ns = self.default_namespace.as_deref().unwrap_or_default();
            self.inv.env_sources.learn(&obj, ns);
        }
        match kind {
            "Namespace" => {
                let ns: Namespace = serde_json::from_value(obj)
                    .map_err(|e| format!("invalid Namespace: {}", without_values(&e)))?;
                self.scanner.add_namespace(&ns);
                self.record_namespace_labels(&ns);
                if self.keep.objects
                    && let Some(name) = &ns.metadata.name
                {
                    self.inv.namespaces.push(name.clone());
                }
            }
            "Ingress"
                if self.keep.objects
                    && matches!(
                        obj.get("apiVersion").and_then(Value::as_str),
                        Some(
                            "networking.k8s.io/v1"
                                | "networking.k8s.io/v1beta1"
                                | "extensions/v1beta1"
                        )
                    ) =>
            {
                let mut ing: Ingress = serde_json::from_value(ingress_v1(obj))
                    .map_err(|e| format!("invalid Ingress: {}", without_values(&e)))?;
                self.default_ns(&mut ing.metadata);
                self.inv.ingresses.push(ing);
            }
            "RoleBinding" | "ClusterRoleBinding" if self.keep.objects => {
                let own = obj
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| self.default_namespace.clone());
                for s in obj
                    .get("subjects")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if s.get("kind").and_then(Value::as_str) != Some("ServiceAccount") {
                        continue;
                    }
                    let (Some(name), Some(ns)) = (
                        s.get("name").and_then(Value::as_str),
                        s.get("namespace")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .or_else(|| own.clone()),
                    ) else {
                        continue;
                    };
                    let account = (ns, name.to_string());
                    if !self.inv.bound_accounts.contains(&account) {
                        self.inv.bound_accounts.push(account);
                    }
                }
            }
            "ValidatingWebhookConfiguration"
            | "MutatingWebhookConfiguration"
            | "APIService"
            | "CustomResourceDefinition"
                if self.keep.objects =>
            {
                for c in crate::fix::network_policy::graph::api_server_calls(&obj) {
                    if !self.inv.api_server_calls.contains(&c) {
                        self.inv.api_server_calls.push(c);
                    }
                }
            }
            "HTTPRoute" | "GRPCRoute" | "ReferenceGrant" if self.keep.objects => {
                let mut route = obj;
                if route.pointer("/metadata/namespace").is_none()
                    && let Some(ns) = &self.default_namespace
                    && let Some(meta) = route.get_mut("metadata").and_then(Value::as_object_mut)
                {
                    meta.insert("namespace".into(), ns.clone().into());
                }
                self.inv.routes.push(route);
            }
            "ConfigMap" if self.keep.objects => {
                let mut cm: ConfigMap = serde_json::from_value(obj)
                    .map_err(|e| format!("invalid ConfigMap: {}", without_values(&e)))?;
                self.default_ns(&mut cm.metadata);
                self.inv.config_maps.push(cm);
            }
            "NetworkPolicy" => {
                let mut np: NetworkPolicy = serde_json::from_value(obj)
                    .map_err(|e| format!("invalid NetworkPolicy: {}", without_values(&e)))?;
                self.default_ns(&mut np.metadata);
                self.scanner.add_network_policy(&np);
                if self.keep.objects {
                    self.inv.policies.push(np);
                }
            }
            "Service" if self.keep.objects => {
                let mut svc: Service = serde_json::from_value(obj)
                    .map_err(|e| format!("invalid Service: {}", without_values(&e)))?;
                self.default_ns(&mut svc.metadata);
                self.inv.services.push(svc);
            }
            "Pod" if crate::model::workload::owned_by_scanned_controller(&obj) => {
                // Its findings belong to its controller: only digest evidence is wanted, and
                // that needs no typed parse (most pods of a cluster take this path).
                if self.keep.pods {
                    self.inv.digests.add_pod_value(&obj);
                }
            }
            _ => {
                let Some(mut w) = Workload::from_value(obj).map_err(|e| e.to_string())? else {
                    return Ok(());
                };
                w.source = source;
                self.default_ns(&mut w.metadata);
                self.scanner.add_workload(&w);
                self.spill_decided();
                if self.keep.pods {
                    match w.kind {
                        WorkloadKind::Pod => self.inv.digests.add_pod(&w),
                        WorkloadKind::ReplicaSet
                        | WorkloadKind::ReplicationController
                        | WorkloadKind::Job => self.inv.digests.add_owner(&w),
                        _ => {}
                    }
                }

                if self.keep.objects && !w.is_owned_by_scanned_controller() {
                    self.inv.workloads.push(w);
                }
            }
        }
        Ok(())
    }

    pub fn finish(mut self) -> Inventory {
        let ScanResult {
            mut findings,
            suppressed,
            scanned,
            signature_keys,
            namespace_ignore,
        } = self.scanner.finish();
        if self.inv.spilled.is_some()
            && let Some(prepare) = self.prepare.as_mut()
        {
            prepare(&mut findings);
        }
        if let Some(w) = self.inv.spilled.as_ref().and_then(|s| s.warning()) {
            let w = w.to_string();
            self.inv.warnings.push(w);
        }
        Inventory {
            findings,
            suppressed,
            scanned,
            signature_keys,
            namespace_ignore,
            ..self.inv
        }
    }

    /// Keeps a live namespace's labels (offline there are none to keep).
    fn record_namespace_labels(&mut self, ns: &Namespace) {
        if let (Some(map), Some(name)) = (&mut self.inv.namespace_labels, &ns.metadata.name) {
            map.insert(name.clone(), ns.metadata.labels.clone().unwrap_or_default());
        }
    }

    fn warn(&mut self, w: String) {
        self.inv.warnings.push(w);
    }

    /// One object read from `-f` input (filtered by `-l` when it is a workload); an object
    /// that cannot be read is an input error at its place.
    pub(crate) fn add_offline(
        &mut self,
        obj: Value,
        loc: SourceLocation,
        selector: Option<&crate::model::selector::Selector>,
    ) {
        if let Some(sel) = selector
            && WorkloadKind::of(&obj).is_some()
        {
            let labels = obj
                .pointer("/metadata/labels")
                .and_then(|l| serde_json::from_value(l.clone()).ok())
                .unwrap_or_default();
            if !sel.matches(&labels) {
                return;
            }
        }
        let (file, line) = (loc.file.clone(), loc.line);
        if self.namespace_given
            && let (Some(given), Some(own)) = (
                self.default_namespace.as_deref(),
                obj.pointer("/metadata/namespace").and_then(Value::as_str),
            )
            && !own.is_empty()
            && own != given
        {
            // kubectl's own words for `apply -n`.
            let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("object");
            let name = obj
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            self.diagnostic(crate::manifest::Diagnostic {
                file,
                line,
                message: format!(
                    "{kind} {name}: the namespace from the provided object \"{own}\" does not \
                     match the namespace \"{given}\" given with -n; drop -n or the object's \
                     namespace"
                ),
                error: true,
            });
            return;
        }
        if let Err(message) = self.add(obj, Some(loc)) {
            self.diagnostic(crate::manifest::Diagnostic {
                file,
                line,
                message,
                error: true,
            });
        }
    }

    /// A problem with the input: an error is reported (the run exits 1), a warning said.
    pub(crate) fn diagnostic(&mut self, d: crate::manifest::Diagnostic) {
        if d.error {
            self.inv.errors.push(d.to_string());
            self.inv.input_errors.push(crate::report::InputError {
                file: d.file,
                line: (d.line > 0).then_some(d.line),
                message: d.message,
            });
        } else {
            self.inv.warnings.push(d.to_string());
        }
    }

    fn error(&mut self, e: String) {
        self.inv.errors.push(e);
    }
}

/// Reads `-f` manifests into a collector (made
/// [`with_default_namespace`](Collector::with_default_namespace)), tolerantly: what cannot be
/// read is recorded as an error by file and line ([`Inventory::input_errors`]) and the rest
/// is still read.
///
/// With `keep`, every source is kept whole (for `fix` to rewrite) and returned. Otherwise
/// objects are checked as they are read and dropped, so memory does not grow with the input
/// (`scan`). Namespaces are fed before workloads when a check needs their annotations
/// ([`ScanOptions::reads_namespace_annotations`]): then the input is read twice, Namespaces
/// first (standard input is held in memory for that).
pub(crate) fn collect_offline(
    collector: &mut Collector,
    paths: &[std::path::PathBuf],
    keep: bool,
    selector: Option<&crate::model::selector::Selector>,
) -> Vec<crate::manifest::ManifestFile> {
    collect_offline_from(collector, paths, None, keep, selector)
}

/// What `kubectl kustomize DIR` (or another renderer) wrote, read as one source named
/// `name` instead of `-f` paths.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rendered<'a> {
    pub name: &'a str,
    pub bytes: &'a [u8],
}

/// [`collect_offline`] of `-f` paths, or of `rendered` output when given (then `paths` is
/// ignored).
pub(crate) fn collect_offline_from(
    collector: &mut Collector,
    paths: &[std::path::PathBuf],
    rendered: Option<Rendered<'_>>,
    keep: bool,
    selector: Option<&crate::model::selector::Selector>,
) -> Vec<crate::manifest::ManifestFile> {
    let stdin_only = [std::path::PathBuf::from("-")];
    let paths: &[std::path::PathBuf] = if rendered.is_some() {
        &stdin_only
    } else {
        paths
    };
    let opts = crate::manifest::ReadOptions {
        stdin_display: rendered.map(|r| r.name.to_string()),
        keep,
        default_namespace: collector.default_namespace.clone().unwrap_or_default(),
        ..crate::manifest::ReadOptions::default()
    };
    let is_namespace = |v: &Value| v.get("kind").and_then(Value::as_str) == Some("Namespace");
    let mut diags = Vec::new();
    let files = if keep {
        let files = crate::manifest::read_with_stdin(
            paths,
            &opts,
            rendered.map(|r| r.bytes),
            &mut |_, _| {},
            &mut |d| diags.push(d),
        );
        // Namespaces first: per-workload checks read their namespace's annotations.
        for first in [true, false] {
            crate::manifest::for_each_object(&files, &mut |obj, loc| {
                if is_namespace(&obj) == first {
                    collector.add_offline(obj, loc, selector);
                }
            });
        }
        files
    } else {
        let two_passes = collector.scanner.options().reads_namespace_annotations();
        let stdin_bytes;
        let paths: Vec<std::path::PathBuf> = if let Some(r) = rendered {
            stdin_bytes = Some(r.bytes.to_vec());
            paths.to_vec()
        } else if two_passes && paths.iter().any(|p| p.as_os_str() == "-") {
            // Standard input cannot be read twice: hold it, and read it from memory.
            let mut bytes = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes);
            stdin_bytes = Some(bytes);
            paths.to_vec()
        } else {
            stdin_bytes = None;
            paths.to_vec()
        };
        if two_passes {
            crate::manifest::read_with_stdin(
                &paths,
                &opts,
                stdin_bytes.as_deref(),
                &mut |obj, loc| {
                    if is_namespace(&obj) {
                        collector.add_offline(obj, loc, selector);
                    }
                },
                &mut |_| {},
            );
        }
        crate::manifest::read_with_stdin(
            &paths,
            &opts,
            stdin_bytes.as_deref(),
            &mut |obj, loc| {
                if !(two_passes && is_namespace(&obj)) {
                    collector.add_offline(obj, loc, selector);
                }
            },
            &mut |d| diags.push(d),
        );
        Vec::new()
    };
    for d in diags {
        collector.diagnostic(d);
    }
    files
}

/// Namespaces, listed before everything else with `-A`.
const NAMESPACES: ListRequest = ListRequest::new("Namespace", &["v1"], false);

/// Cluster-scoped kinds that make the API server call a Service: admission webhooks,
/// aggregated APIs, CRD conversion webhooks.
const API_SERVER_CALLERS: [ListRequest; 4] = [
    ListRequest {
        cluster_scoped: true,
        optional: true,
        ..ListRequest::new(
            "ValidatingWebhookConfiguration",
            &["admissionregistration.k8s.io/v1"],
            false,
        )
    },
    ListRequest {
        cluster_scoped: true,
        optional: true,
        ..ListRequest::new(
            "MutatingWebhookConfiguration",
            &["admissionregistration.k8s.io/v1"],
            false,
        )
    },
    ListRequest {
        cluster_scoped: true,
        optional: true,
        ..ListRequest::new("APIService", &["apiregistration.k8s.io/v1"], false)
    },
    ListRequest {
        cluster_scoped: true,
        optional: true,
        ..ListRequest::new(
            "CustomResourceDefinition",
            &["apiextensions.k8s.io/v1"],
            false,
        )
    },
];

/// The kinds a live run lists (besides Namespaces).
pub fn requests(keep: Keep) -> Vec<ListRequest> {
    let mut v = vec![
        ListRequest::new("Deployment", &["apps/v1"], true),
        ListRequest::new("StatefulSet", &["apps/v1"], true),
        ListRequest::new("DaemonSet", &["apps/v1"], true),
        ListRequest::new("ReplicaSet", &["apps/v1"], true),
        ListRequest::new("ReplicationController", &["v1"], true),
        ListRequest::new("Job", &["batch/v1"], true),
        ListRequest::new("CronJob", &["batch/v1", "batch/v1beta1"], true),
        ListRequest::new("Pod", &["v1"], true),
        ListRequest::new("NetworkPolicy", &["networking.k8s.io/v1"], false),
    ];
    if keep.objects {
        v.push(ListRequest::new("Service", &["v1"], false));
        v.push(ListRequest::new(
            "Ingress",
            &["networking.k8s.io/v1"],
            false,
        ));
        v.push(
            ListRequest::new(
                "HTTPRoute",
                &[
                    "gateway.networking.k8s.io/v1",
                    "gateway.networking.k8s.io/v1beta1",
                ],
                false,
            )
            .optional(),
        );
        // Callers of Services that are no pod: the API server (webhooks, aggregated APIs,
        // CRD conversion).
        v.push(
            ListRequest::new(
                "ReferenceGrant",
                &[
                    "gateway.networking.k8s.io/v1",
                    "gateway.networking.k8s.io/v1beta1",
                ],
                false,
            )
            .optional(),
        );
        v.extend(API_SERVER_CALLERS);
    }
    v
}

/// Records the keys of every ConfigMap and Secret a workload's `envFrom` names (issue #22:
/// a native move must not leave a variable set twice). ConfigMaps were read already; each
/// Secret is read once and only its key names are kept. One that cannot be read stays
/// unknown, which makes moves beside it app changes.
async fn read_env_from_keys(collector: &mut Collector, client: &Client) {
    use k8s_openapi::api::core::v1::Secret;
    let mut secrets: BTreeSet<(String, String)> = BTreeSet::new();
    for w in &collector.inv.workloads {
        let spec = &w.spec;
        let containers = spec
            .init_containers
            .iter()
            .flatten()
            .chain(spec.containers.iter());
        for ef in containers.flat_map(|c| c.env_from.iter().flatten()) {
            if let Some(r) = &ef.secret_ref {
                secrets.insert((w.namespace().to_string(), r.name.clone()));
            }
        }
    }
    let inv = &mut collector.inv;
    for cm in &inv.config_maps {
        let keys = cm
            .data
            .iter()
            .flat_map(|d| d.keys())
            .chain(cm.binary_data.iter().flat_map(|d| d.keys()))
            .cloned();
        inv.env_sources.add(
            "ConfigMap",
            cm.metadata.namespace.as_deref().unwrap_or_default(),
            cm.metadata.name.as_deref().unwrap_or_default(),
            keys,
        );
    }
    for (ns, name) in secrets {
        let api: kube::Api<Secret> = kube::Api::namespaced(client.clone(), &ns);
        match api.get_opt(&name).await {
            Ok(Some(secret)) => {
                // Key names only; the values are dropped with `secret` here.
                let keys: Vec<String> = secret
                    .data
                    .iter()
                    .flat_map(|d| d.keys())
                    .chain(secret.string_data.iter().flat_map(|d| d.keys()))
                    .cloned()
                    .collect();
                collector.inv.env_sources.add("Secret", &ns, &name, keys);
            }
            // A missing Secret sets nothing (an optional envFrom, or a pod that cannot start).
            Ok(None) => collector.inv.env_sources.add("Secret", &ns, &name, []),
            Err(e) => collector.warn(format!(
                "cannot read Secret {ns}/{name} named by envFrom ({}): moves of variables beside \
                 it are app changes",
                crate::cluster::describe_error(&e)
            )),
        }
    }
}

/// Reads what the NetworkPolicy evidence needs beyond the listing: the ConfigMaps that
/// workloads read (env `configMapKeyRef`/`envFrom`, volumes; never Secrets), then the
/// Services of other namespaces that evidence names. One `GET` each; a missing object is
/// skipped, a forbidden one said.
async fn read_referenced(collector: &mut Collector, client: &Client) {
    // The API server's addresses, as its reconciler writes them.
    let api: kube::Api<k8s_openapi::api::core::v1::Endpoints> =
        kube::Api::namespaced(client.clone(), "default");
    let unknown = "the Kubernetes API server's address is not known: its callers and webhooks \
                   are handled as such (--api-server CIDR[:PORT] gives it)";
    match api.get_opt("kubernetes").await {
        Ok(Some(ep)) => {
            collector.inv.api_server = crate::fix::network_policy::graph::ApiServer::of(&ep);
            if collector.inv.api_server.is_none() {
                collector.warn(format!(
                    "Endpoints default/kubernetes lists no address: {unknown}"
                ));
            }
        }
        Ok(None) => collector.warn(format!("no Endpoints default/kubernetes: {unknown}")),
        Err(e) if crate::cluster::status_code(&e) == Some(403) => collector.warn(format!(
            "cannot read Endpoints default/kubernetes (forbidden, needs `get` on endpoints): {unknown}"
        )),
        Err(e) => collector.warn(format!(
            "cannot read Endpoints default/kubernetes: {}: {unknown}",
            crate::cluster::describe_error(&e)
        )),
    }
    let mut wanted: BTreeSet<(String, String)> = BTreeSet::new();
    for w in &collector.inv.workloads {
        let ns = w.namespace().to_string();
        let spec = &w.spec;
        let containers = spec
            .init_containers
            .iter()
            .flatten()
            .chain(spec.containers.iter());
        for c in containers {
            for e in c.env.iter().flatten() {
                if let Some(r) = e
                    .value_from
                    .as_ref()
                    .and_then(|v| v.config_map_key_ref.as_ref())
                {
                    wanted.insert((ns.clone(), r.name.clone()));
                }
            }
            for ef in c.env_from.iter().flatten() {
                if let Some(r) = &ef.config_map_ref {
                    wanted.insert((ns.clone(), r.name.clone()));
                }
            }
        }
        for v in spec.volumes.iter().flatten() {
            if let Some(c) = &v.config_map {
                wanted.insert((ns.clone(), c.name.clone()));
            }
            for src in v.projected.iter().flat_map(|p| p.sources.iter().flatten()) {
                if let Some(c) = &src.config_map {
                    wanted.insert((ns.clone(), c.name.clone()));
                }
            }
        }
    }
    let have: BTreeSet<(String, String)> = collector
        .inv
        .config_maps
        .iter()
        .map(|c| {
            (
                c.metadata.namespace.clone().unwrap_or_default(),
                c.metadata.name.clone().unwrap_or_default(),
            )
        })
        .collect();
    for (ns, name) in wanted.difference(&have) {
        let api: kube::Api<ConfigMap> = kube::Api::namespaced(client.clone(), ns);
        match api.get_opt(name).await {
            Ok(Some(cm)) => collector.inv.config_maps.push(cm),
            Ok(None) => {}
            Err(e) if crate::cluster::status_code(&e) == Some(403) => collector.warn(format!(
                "cannot read ConfigMap {ns}/{name} (forbidden, needs `get` on configmaps): \
                 its values are not used as NetworkPolicy evidence"
            )),
            Err(e) => collector.warn(format!(
                "cannot read ConfigMap {ns}/{name}: {}",
                crate::cluster::describe_error(&e)
            )),
        }
    }
    read_env_from_keys(collector, client).await;
    let wanted = {
        let inv = &collector.inv;
        crate::fix::network_policy::graph::Graph::wanted_services(&inv.cluster())
    };
    for (ns, name) in wanted {
        let api: kube::Api<Service> = kube::Api::namespaced(client.clone(), &ns);
        match api.get_opt(&name).await {
            Ok(Some(svc)) => collector.inv.services.push(svc),
            Ok(None) => {}
            Err(e) if crate::cluster::status_code(&e) == Some(403) => {
                collector.warn(format!(
                    "cannot read Service {ns}/{name} (forbidden, needs `get` on services): \
                     egress to it is allowed to every pod of namespace {ns}"
                ));
                // Named but unreadable: still a namespace of the cluster.
                collector.inv.namespaces.push(ns.clone());
            }
            Err(e) => collector.warn(format!(
                "cannot read Service {ns}/{name}: {}",
                crate::cluster::describe_error(&e)
            )),
        }
    }
}

/// Lists the cluster into the collector, every kind at once, page by page: the built-in
/// kinds, plus the pod-template controllers discovery finds served (Argo Rollouts, OpenShift
/// DeploymentConfigs, and `include` from `--include-kinds`). Progress goes to stderr, only
/// when stderr is a terminal.
pub(crate) async fn collect_live(
    collector: &mut Collector,
    client: &Client,
    scope: Scope,
    keep: Keep,
    include: &[crate::cluster::discovery::KindRef],
) {
    let progress = progress_bar();
    collect_live_with(collector, client, scope, keep, include, progress.as_ref()).await;
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
}

/// Like [`collect_live`], showing what has been listed on `progress` (the caller's line, e.g.
/// one per context in a scan of several contexts; the caller clears it).
pub(crate) async fn collect_live_with(
    collector: &mut Collector,
    client: &Client,
    scope: Scope,
    keep: Keep,
    include: &[crate::cluster::discovery::KindRef],
    progress: Option<&indicatif::ProgressBar>,
) {
    let (served, notes) = crate::cluster::discovery::discover(client, include).await;
    for n in notes {
        collector.warn(n);
    }
    if keep.objects {
        collector.inv.namespace_labels = Some(Default::default());
    }
    let all = scope.namespace.is_none();
    if let Some(ns) = &scope.namespace {
        // One namespace: read just it (for its annotations), not the cluster's list.
        let api: kube::Api<Namespace> = kube::Api::all(client.clone());
        match api.get_opt(ns).await {
            Ok(Some(n)) => {
                collector.scanner.add_namespace(&n);
                collector.record_namespace_labels(&n);
            }
            Ok(None) => collector.warn(format!("namespace {ns} not found")),
            Err(e) if crate::cluster::status_code(&e) == Some(403) => collector.warn(format!(
                "cannot read namespace {ns} (forbidden): its secfix.dev/ignore annotation is not applied"
            )),
            Err(e) => collector.error(format!(
                "cannot read namespace {ns}: {}",
                crate::cluster::describe_error(&e)
            )),
        }
    }
    if all {
        // Namespaces first, so per-workload checks see their namespace's annotations.
        let mut rx = spawn_listers(client.clone(), scope.clone(), &[NAMESPACES]);
        drain(collector, &mut rx, progress).await;
    }
    let mut kinds = requests(keep);
    kinds.extend(served.iter().map(ListRequest::discovered));
    let mut rx = spawn_listers(client.clone(), scope, &kinds);
    drain(collector, &mut rx, progress).await;
    if keep.objects {
        read_referenced(collector, client).await;
    }
}

/// Feeds every page of `rx` into the collector; failures become errors, notes warnings.
async fn drain(
    collector: &mut Collector,
    rx: &mut tokio::sync::mpsc::Receiver<ListEvent>,
    progress: Option<&indicatif::ProgressBar>,
) {
    let mut counts: std::collections::BTreeMap<&'static str, usize> = Default::default();
    let mut failures = BTreeSet::new();
    while let Some(ev) = rx.recv().await {
        match ev {
            ListEvent::Page {
                kind,
                items,
                undecodable,
            } => {
                *counts.entry(kind).or_default() += items.len();
                for obj in items {
                    // An object the checks cannot read is named and fails the run (exit 1):
                    // a scan must not under-report silently.
                    if let Err(e) = collector.add(obj, None) {
                        collector.error(format!("{e}; it was not scanned"));
                    }
                }
                for e in undecodable {
                    collector.error(e);
                }
                if let Some(pb) = progress {
                    let parts: Vec<String> =
                        counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
                    pb.set_message(format!("listed {}", parts.join(", ")));
                }
            }
            ListEvent::Failed { kind, message } => {
                collector.inv.unlisted.insert(kind.to_string());
                failures.insert(message);
            }
            ListEvent::Note(n) => collector.warn(n),
        }
    }
    for f in failures {
        collector.error(f);
    }
}

fn progress_bar() -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let pb =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    pb.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    pb.set_message("listing…");
    Some(pb)
}
