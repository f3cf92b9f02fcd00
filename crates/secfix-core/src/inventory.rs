//! Objects in, findings and the evidence fixes need out: the [`Collector`] runs the checks
//! object by object and keeps what later stages need in one [`Inventory`].
//!
//! The I/O crate feeds it from a cluster or from `-f` manifests the same way, so `scan -f`
//! and a live scan of the same objects give the same findings.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use serde_json::Value;

use crate::checks::{ScanOptions, ScanResult, Scanner};
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
    pub findings: Vec<crate::checks::Finding>,
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
    /// The annotations of each namespace, when a check reads them (see
    /// [`crate::checks::ScanResult::namespace_annotations`]).
    pub namespace_annotations:
        std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    /// With [`Collector::with_spill`]: the findings decided during the scan, kept out of
    /// memory; `findings` then holds only those decided last. The I/O crate's spill merges
    /// both back (filter the spilled ones by `namespace_ignore`).
    pub spilled: Option<Box<dyn FindingSpill>>,
    /// What each namespace's `secfix.dev/ignore` annotation suppresses (see
    /// [`crate::checks::ScanResult::namespace_ignore`]).
    pub namespace_ignore: std::collections::BTreeMap<String, crate::checks::Ignore>,
}

/// Where a scan keeps the findings it has decided, out of memory (the I/O crate's
/// `spill::Spill`: sorted runs in an unlinked temp file).
pub trait FindingSpill: Send + std::fmt::Debug {
    /// How many decided findings make a chunk worth spilling.
    fn chunk(&self) -> usize;
    /// Keeps `findings`, as one sorted run.
    fn push_run(&mut self, findings: Vec<crate::checks::Finding>);
    /// Why findings stayed in memory after all (the store could not be written), if so.
    fn warning(&self) -> Option<&str>;
    /// The store itself, for its owner to read back.
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any>;
}

impl Inventory {
    /// The namespace graph's view of what was read (for least-privilege NetworkPolicies).
    pub fn cluster(&self) -> crate::fix::network_policy::graph::Cluster<'_> {
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
pub struct Collector {
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
pub type Prepare = Option<Box<dyn FnMut(&mut [crate::checks::Finding]) + Send>>;

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
    pub fn with_spill(mut self, spill: Box<dyn FindingSpill>, prepare: Prepare) -> Self {
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
    pub fn with_default_namespace(mut self, ns: &str) -> Self {
        self.default_namespace = Some(ns.to_string());
        self
    }

    /// Offline: the namespace of objects that name none is `-n NS` (`Some`), and every
    /// object that names one must name NS, as `kubectl apply -n NS -f` requires; without
    /// `-n` (`None`), they are in the unnamed namespace.
    pub fn with_namespace_flag(self, ns: Option<&str>) -> Self {
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
            "RoleBinding" | "ClusterRoleBinding" if self.keep.objects => self.add_binding(&obj),
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
            _ => self.add_workload(obj, source)?,
        }
        Ok(())
    }

    /// The ServiceAccounts a RoleBinding or ClusterRoleBinding binds (evidence that the
    /// account talks to the API server).
    fn add_binding(&mut self, obj: &Value) {
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

    /// A workload (or a bare Pod): checked now, its pods' digests and (with
    /// `Keep::objects`) the workload kept.
    fn add_workload(&mut self, obj: Value, source: Option<SourceLocation>) -> Result<(), String> {
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
        Ok(())
    }

    pub fn finish(mut self) -> Inventory {
        let ScanResult {
            mut findings,
            suppressed,
            scanned,
            namespace_annotations,
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
            namespace_annotations,
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

    /// The inventory so far.
    pub fn inventory(&self) -> &Inventory {
        &self.inv
    }

    /// The inventory so far, for evidence read beside the objects (referenced ConfigMaps,
    /// Services, the API server's Endpoints).
    pub fn inventory_mut(&mut self) -> &mut Inventory {
        &mut self.inv
    }

    /// The scan's options.
    pub fn options(&self) -> &ScanOptions {
        self.scanner.options()
    }

    /// The namespace given to objects that name none (offline), if any.
    pub fn default_namespace(&self) -> Option<&str> {
        self.default_namespace.as_deref()
    }

    /// A Namespace read on its own (live with `-n`): its annotations and labels count.
    pub fn add_namespace(&mut self, ns: &Namespace) {
        self.scanner.add_namespace(ns);
        self.record_namespace_labels(ns);
    }

    /// A note for the report.
    pub fn warn(&mut self, w: String) {
        self.inv.warnings.push(w);
    }

    /// One object read from `-f` input (filtered by `-l` when it is a workload); an object
    /// that cannot be read is an input error at its place.
    pub fn add_offline(
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
            self.diagnostic(crate::model::Diagnostic {
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
            self.diagnostic(crate::model::Diagnostic {
                file,
                line,
                message,
                error: true,
            });
        }
    }

    /// A problem with the input: an error is reported (the run exits 1), a warning said.
    pub fn diagnostic(&mut self, d: crate::model::Diagnostic) {
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

    /// An error: reported, and the run exits 1.
    pub fn error(&mut self, e: String) {
        self.inv.errors.push(e);
    }
}
