//! Checks: one pure function per risk, over `k8s-openapi` types, and the [`Scanner`] that runs
//! them over a stream of objects. No I/O here: the caller lists objects (page by page) or
//! reads manifests and feeds them in.
//!
//! **Adding a check** is one folder here (its `CHECK`, `Detail`, `Options`, detection, and
//! fix and image hooks when it has them) and one line in the `checks!` list below;
//! docs/architecture.md walks through an example. The list generates [`CheckId`],
//! [`Detail`] and [`AllOptions`]; tests check that every folder is in it and that every
//! id's definition names that id.
//!
//! Design choices:
//! - Objects owned by a scanned controller (a ReplicaSet's Pods, a Deployment's ReplicaSets,
//!   a CronJob's Jobs) are skipped entirely: their owner's findings cover them, and their
//!   pods are counted once, through the owner's template.
//! - Suppression: a workload's own annotation suppresses its findings; a namespace's annotation
//!   suppresses every finding in that namespace, including `default-allow-namespace` (whose
//!   object is the Namespace). A workload's annotation does not take its pods out of the
//!   namespace check: the fix (a namespace-wide policy) would affect them all the same.
//! - `kube-system`, `kube-public`, `kube-node-lease` are skipped by the
//!   namespace check unless its `--include-system`; their workloads still get the other
//!   checks.
//! - Per-workload checks see their namespace's annotations ([`NamespaceFacts`]) when the
//!   Namespace object was fed before the workload; callers feed Namespaces first.
//! - `scanned` counts top-level workloads checked (Namespaces and NetworkPolicies are inputs,
//!   not counted).

pub mod finding;
pub mod options;
pub mod registry;
pub mod suppress;

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::networking::v1::NetworkPolicy;

use crate::error::UsageError;
use crate::model::{ContainerGroup, ContainerRef, Workload, WorkloadKind};

pub use finding::{ContextRef, Delivery, Direction, Finding, Severity};
pub use registry::{
    Check, CheckContext, CheckDetail, DigestFrom, DigestLookup, DigestWanted, Evidence, Fixer,
    Images, Meta, NamespaceFacts, NamespaceInput, PodGroup, Scan,
};
pub use suppress::Ignore;

/// Declares each check module and generates [`CheckId`], [`Detail`] and [`AllOptions`] from
/// the one list.
macro_rules! checks {
    ($( $(#[$doc:meta])* $variant:ident => $module:ident, )+) => {
        $( pub mod $module; )+

        /// The stable id of each check, in report order. Its string form
        /// ([`CheckId::as_str`]) is part of the public interface (`--checks`,
        /// `secfix.dev/ignore`, JSON and SARIF rule ids).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum CheckId {
            $( $(#[$doc])* $variant, )+
        }

        impl CheckId {
            /// Every check, in report order.
            pub const ALL: [CheckId; [$(stringify!($variant)),+].len()] =
                [$(CheckId::$variant),+];
        }

        fn definition(id: CheckId) -> &'static dyn Check {
            match id {
                $( CheckId::$variant => &$module::CHECK, )+
            }
        }

        /// What a finding records for its fix: one variant per check, holding the check's
        /// own detail type (defined in its folder). Never holds a secret's value.
        /// Serialized as the check's detail itself (each carries its own `type`).
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(untagged)]
        pub enum Detail {
            $( $variant($module::Detail), )+
        }

        impl Detail {
            /// The check whose detail this is.
            pub fn check(&self) -> CheckId {
                match self {
                    $( Detail::$variant(_) => CheckId::$variant, )+
                }
            }

            /// What any code may ask of the detail, whatever its check.
            pub fn get(&self) -> &dyn CheckDetail {
                match self {
                    $( Detail::$variant(d) => d, )+
                }
            }

            /// How the fix would deliver a moved secret (the env checks).
            pub fn delivery(&self) -> Option<Delivery> {
                self.get().delivery()
            }

            /// Sets how the fix delivers a moved secret (others have none).
            pub fn set_delivery(&mut self, d: Option<Delivery>) {
                self.get_mut().set_delivery(d);
            }

            /// [`Detail::get`], to change what generic code may change.
            pub fn get_mut(&mut self) -> &mut dyn CheckDetail {
                match self {
                    $( Detail::$variant(d) => d, )+
                }
            }
        }

        /// Every check's options, one field per check (named as its folder), each set
        /// from the check's own flags.
        #[derive(Debug, Clone, Default)]
        pub struct AllOptions {
            $( pub $module: $module::Options, )+
        }

        impl AllOptions {
            /// Every check's flags, in table order.
            pub fn flags() -> impl Iterator<Item = &'static options::Flag> {
                [$( <$module::Options as options::CheckOptions>::FLAGS, )+]
                    .into_iter()
                    .flatten()
            }

            /// Gives `value` to the check whose flag `flag` is (by long name).
            pub fn set(&mut self, flag: &str, value: options::Value<'_>) -> Result<(), String> {
                $(
                    if <$module::Options as options::CheckOptions>::FLAGS
                        .iter()
                        .any(|f| f.long == flag)
                    {
                        return options::CheckOptions::set(&mut self.$module, flag, value);
                    }
                )+
                Err(format!("no check takes --{flag}"))
            }

            /// Finishes every check's options.
            pub fn finish(&mut self) -> Result<(), String> {
                $( options::CheckOptions::finish(&mut self.$module)?; )+
                Ok(())
            }
        }

        $(
            impl From<$module::Detail> for Detail {
                fn from(d: $module::Detail) -> Detail {
                    Detail::$variant(d)
                }
            }
        )+
    };
}

// The one list of checks: `Id => module` (the module defines `pub static CHECK`).
checks! {
    /// `env[].valueFrom.secretKeyRef` and `envFrom[].secretRef`.
    EnvSecret => env_secret,
    /// A literal `env[].value` that looks like a secret.
    EnvLiteralSecret => env_literal_secret,
    /// A namespace whose pods no NetworkPolicy isolates.
    DefaultAllowNamespace => default_allow_namespace,
    /// An image reference without `@sha256:`.
    MutableImageTag => mutable_image_tag,
    /// An image from a registry outside `--allowed-registries`.
    UntrustedRegistry => untrusted_registry,
    /// An image whose digest has no signature that verifies with `--signature-key`.
    UnsignedImage => unsigned_image,
}

/// What to scan for: the options every check may read.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Checks to run; empty means every check that can run with these options.
    pub checks: BTreeSet<CheckId>,
    /// Each check's own options (its flags); a check reads only its own.
    pub options: AllOptions,
}

impl ScanOptions {
    /// The checks that run with these options, in table order.
    pub fn selected(&self) -> impl Iterator<Item = CheckId> + '_ {
        registry::selected(self)
    }

    /// Whether `check` runs with these options.
    pub fn enabled(&self, check: CheckId) -> bool {
        self.selected().any(|c| c == check)
    }

    /// What the checks that run read besides the objects they check; and, when a check
    /// verifies signatures with these options (selected or not: it vets every digest a fix
    /// would pin), the signatures and the namespaces' annotations.
    pub fn evidence(&self) -> Evidence {
        let verifying = CheckId::ALL
            .iter()
            .filter_map(|c| c.def().images())
            .any(|i| i.verifies(self));
        let vetting = Evidence {
            namespace_annotations: verifying,
            image_digests: false,
            image_signatures: verifying,
            traffic: false,
        };
        self.selected()
            .map(|c| c.def().evidence(self))
            .fold(vetting, Evidence::union)
    }

    /// Whether a check that runs reads its namespace's annotations beyond suppression (a
    /// policy narrowed per namespace): Namespace objects must then be fed before their
    /// workloads. Suppression works in any order.
    pub fn reads_namespace_annotations(&self) -> bool {
        self.evidence().namespace_annotations
    }

    /// A usage error when `--checks` names a check that cannot run with these options.
    pub fn validate(&self) -> Result<(), UsageError> {
        match registry::unavailable(self).first() {
            Some((id, why)) => Err(UsageError(format!("--checks {id}: {why}"))),
            None => Ok(()),
        }
    }
}

/// The outcome of a scan.
#[derive(Debug, Clone, Default)]
pub struct ScanResult {
    /// Unsuppressed findings, sorted by namespace, kind, name, check, path.
    pub findings: Vec<Finding>,
    /// Findings left out because of a `secfix.dev/ignore` annotation.
    pub suppressed: usize,
    /// Top-level workloads checked.
    pub scanned: usize,
    /// The annotations of each known namespace that has some, when a check reads them
    /// ([`Evidence::namespace_annotations`]; otherwise empty).
    pub namespace_annotations: BTreeMap<String, BTreeMap<String, String>>,
    /// What each known namespace's `secfix.dev/ignore` annotation suppresses: `findings`
    /// are filtered already; findings taken earlier ([`Scanner::take_findings`]) are the
    /// caller's to filter ([`ScanResult::suppressed_by_namespace`]).
    pub namespace_ignore: BTreeMap<String, Ignore>,
}

impl ScanResult {
    /// Whether `f`'s namespace annotation suppresses it.
    pub fn suppressed_by_namespace(&self, f: &Finding) -> bool {
        suppressed_by(&self.namespace_ignore, f)
    }
}

/// Whether the annotation of `f`'s namespace, as `ignore` records it, suppresses `f`.
pub fn suppressed_by(ignore: &BTreeMap<String, Ignore>, f: &Finding) -> bool {
    ignore.get(&f.namespace).is_some_and(|i| i.covers(f.check))
}

/// A pod template's labels, in key order, in as little memory as they take.
type Labels = Box<[(Box<str>, Box<str>)]>;

/// Runs the checks over objects fed one at a time (e.g. page by page from a live listing).
#[derive(Debug)]
pub struct Scanner {
    opts: ScanOptions,
    /// The checks that run, in table order.
    checks: Vec<CheckId>,
    /// What each known Namespace object's annotations say.
    namespaces: BTreeMap<String, NamespaceFacts>,
    policies: BTreeMap<String, Vec<NetworkPolicy>>,
    /// Namespace → `Kind/name` → the pods' labels, for the namespace checks: a compact
    /// [`PodGroup`] (one entry per workload of the cluster; rebuilt per namespace at the end).
    pods: BTreeMap<String, BTreeMap<Box<str>, Labels>>,
    findings: Vec<Finding>,
    suppressed: usize,
    scanned: usize,
}

impl Scanner {
    /// The options it runs with.
    pub fn options(&self) -> &ScanOptions {
        &self.opts
    }

    pub fn new(opts: ScanOptions) -> Self {
        let checks = registry::selected(&opts).collect();
        Scanner {
            opts,
            checks,
            namespaces: BTreeMap::new(),
            policies: BTreeMap::new(),
            pods: BTreeMap::new(),
            findings: Vec::new(),
            suppressed: 0,
            scanned: 0,
        }
    }

    /// Records a Namespace: its annotations apply to everything in it (feed Namespaces
    /// before their workloads, so per-workload checks see them).
    pub(crate) fn add_namespace(&mut self, ns: &Namespace) {
        let name = ns.metadata.name.clone().unwrap_or_default();
        let annotations = ns.metadata.annotations.clone().unwrap_or_default();
        let facts = NamespaceFacts {
            ignore: Ignore::from_annotations(Some(&annotations)),
            annotations,
        };
        self.namespaces.insert(name, facts);
    }

    /// Records a NetworkPolicy for the namespace check (namespace `default` when unset).
    pub(crate) fn add_network_policy(&mut self, np: &NetworkPolicy) {
        let ns = np.metadata.namespace.as_deref().unwrap_or("default");
        self.policies
            .entry(ns.to_string())
            .or_default()
            .push(np.clone());
    }

    /// Runs the per-workload checks on `w` now and records its pods for the namespace check.
    /// Objects owned by a scanned controller are skipped (their owner is reported).
    pub fn add_workload(&mut self, w: &Workload) {
        if w.is_owned_by_scanned_controller() {
            return;
        }
        self.scanned += 1;
        let pods = PodGroup::of(w);
        let labels: Labels = pods
            .labels
            .into_iter()
            .map(|(k, v)| (k.into_boxed_str(), v.into_boxed_str()))
            .collect();
        self.pods
            .entry(w.namespace().to_string())
            .or_default()
            .insert(pods.workload.into_boxed_str(), labels);
        let ignore = Ignore::from_annotations(w.metadata.annotations.as_ref());
        let unknown = NamespaceFacts::default();
        let ctx = CheckContext {
            opts: &self.opts,
            namespace: self.namespaces.get(w.namespace()).unwrap_or(&unknown),
        };
        for &check in &self.checks {
            let Scan::Workload(run) = check.def().scan() else {
                continue;
            };
            let mut found = run(w, &ctx);
            for f in found.iter_mut().filter(|f| f.fixable) {
                if let Some(why) = immutable_template(f) {
                    f.fixable = false;
                    f.not_fixable_reason = Some(why.to_string());
                }
            }
            if ignore.covers(check) {
                self.suppressed += found.len();
            } else {
                self.findings.extend(found);
            }
        }
    }

    /// Top-level workloads checked so far.
    pub fn scanned(&self) -> usize {
        self.scanned
    }

    /// Per-workload findings decided so far and not yet taken.
    pub fn pending(&self) -> usize {
        self.findings.len()
    }

    /// Takes the per-workload findings decided so far, in the order they were decided (a
    /// caller that keeps them elsewhere as it goes, see `crate::spill`). They are final but
    /// for their namespace's annotation, which may arrive later: filtering them is then the
    /// caller's ([`ScanResult::suppressed_by_namespace`]), as is merging them in report
    /// order with what [`Scanner::finish`] returns.
    pub fn take_findings(&mut self) -> Vec<Finding> {
        std::mem::take(&mut self.findings)
    }

    /// Runs the namespace checks, applies namespace-level suppression and sorts.
    pub fn finish(self) -> ScanResult {
        let mut findings = self.findings;
        let mut suppressed = self.suppressed;
        for check in &self.checks {
            let Scan::Namespace(run) = check.def().scan() else {
                continue;
            };
            for (ns, pods) in &self.pods {
                let pods: Vec<PodGroup> = pods
                    .iter()
                    .map(|(workload, labels)| PodGroup {
                        workload: workload.to_string(),
                        labels: labels
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect(),
                    })
                    .collect();
                let policies = self.policies.get(ns).map(Vec::as_slice).unwrap_or(&[]);
                findings.extend(run(&NamespaceInput {
                    namespace: ns,
                    pods: &pods,
                    policies,
                    opts: &self.opts,
                }));
            }
        }
        let namespace_ignore: BTreeMap<String, Ignore> = self
            .namespaces
            .iter()
            .map(|(ns, facts)| (ns.clone(), facts.ignore.clone()))
            .collect();
        let before = findings.len();
        findings.retain(|f| !suppressed_by(&namespace_ignore, f));
        suppressed += before - findings.len();
        findings.sort_by(compare_findings);
        let namespace_annotations = match self.opts.reads_namespace_annotations() {
            true => self
                .namespaces
                .into_iter()
                .filter(|(_, facts)| !facts.annotations.is_empty())
                .map(|(ns, facts)| (ns, facts.annotations))
                .collect(),
            false => BTreeMap::new(),
        };
        ScanResult {
            findings,
            suppressed,
            scanned: self.scanned,
            namespace_annotations,
            namespace_ignore,
        }
    }
}

/// The deterministic report order: namespace, kind, name, check, then path with array
/// indexes compared as numbers (`/containers/2` before `/containers/10`), then the rest.
pub fn compare_findings(a: &Finding, b: &Finding) -> Ordering {
    a.namespace
        .cmp(&b.namespace)
        .then_with(|| a.kind.cmp(&b.kind))
        .then_with(|| a.name.cmp(&b.name))
        .then_with(|| a.check.cmp(&b.check))
        .then_with(|| compare_paths(&a.path, &b.path))
        .then_with(|| a.detail.get().rank().cmp(&b.detail.get().rank()))
        .then_with(|| a.message.cmp(&b.message))
}

fn compare_paths(a: &str, b: &str) -> Ordering {
    let mut xs = a.split('/');
    let mut ys = b.split('/');
    loop {
        match (xs.next(), ys.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let o = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    _ => x.cmp(y),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

/// A finding about `field` of container `c` of workload `w`, with the fields every
/// per-workload check fills alike; `fixable` when the check has a fixer (the check may then
/// say why this one is not).
pub(crate) fn workload_finding(
    w: &Workload,
    check: CheckId,
    severity: Severity,
    c: &ContainerRef<'_>,
    field: crate::model::ContainerField,
    message: String,
    detail: Detail,
) -> Finding {
    let at = crate::model::FieldRef {
        container: c.pointer,
        field,
    };
    let mut f = object_finding(
        w,
        check,
        severity,
        Some(c.name),
        at.to_string(),
        message,
        detail,
    );
    f.at = Some(at);
    f
}

/// A finding about `w` at `path`, a field that is no container's (an annotation).
pub(crate) fn object_finding(
    w: &Workload,
    check: CheckId,
    severity: Severity,
    container: Option<&str>,
    path: String,
    message: String,
    detail: Detail,
) -> Finding {
    Finding {
        origin: None,
        check,
        severity,
        namespace: w.namespace().to_string(),
        kind: w.kind.as_str().to_string(),
        api_version: w.api_version.clone(),
        name: w.name().to_string(),
        container: container.map(str::to_string),
        path,
        at: None,
        message,
        fixable: check.def().fixer().is_some(),
        not_fixable_reason: None,
        source: w.source.clone(),
        detail,
        baseline: false,
    }
}

/// Why no patch can fix a finding of a live object whose pod template cannot change: a Job
/// (its template is immutable once created) or a bare Pod (only its images can change, and
/// that restarts the container). `None` for every other finding, and for objects read from
/// manifests (the file is what changes; the object is then recreated from it).
///
/// The scanner applies it to every finding, and a digest found later does not lift it
/// (`mutable_image_tag`'s digest lookups).
pub(crate) fn immutable_template(f: &Finding) -> Option<&'static str> {
    if f.source.is_some() {
        return None;
    }
    match f.kind.as_str() {
        "Job" => Some(
            "a Job's pod template cannot change once it is created: fix the CronJob, chart or \
             manifest that creates it, then recreate the Job",
        ),
        "Pod" => Some(
            "a Pod's spec cannot change in place (changing an image restarts the container): \
             fix what creates it (its controller, chart or manifest) or recreate the Pod",
        ),
        _ => None,
    }
}

/// Whether an env finding in container `c` of `w` can be fixed, and if not, why.
/// Ephemeral containers cannot be changed once added; a Pod's env and volumes are immutable.
pub(crate) fn env_fixability(w: &Workload, c: &ContainerRef<'_>) -> (bool, Option<String>) {
    if c.group == ContainerGroup::EphemeralContainers {
        return (
            false,
            Some(
                "ephemeral containers cannot be changed once added; recreate the Pod without it"
                    .to_string(),
            ),
        );
    }
    if w.kind == WorkloadKind::Pod {
        let reason = match w.controller() {
            Some(o) => format!(
                "a Pod's env and volumes are immutable: fix its owner {}/{} or recreate the Pod",
                o.kind, o.name
            ),
            None => {
                "a Pod's env and volumes are immutable: fix what creates it or recreate the Pod"
                    .to_string()
            }
        };
        return (false, Some(reason));
    }
    (true, None)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::checks::Direction;
    use crate::model::IGNORE_ANNOTATION;
    use serde_json::{Value, json};

    /// A Deployment `name` in namespace `ns` with pod spec `spec` and labels `app: name`.
    pub(crate) fn deployment(name: &str, spec: Value) -> Workload {
        workload(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "ns"},
            "spec": {"template": {"metadata": {"labels": {"app": name}}, "spec": spec}}
        }))
    }

    /// A bare Pod `name` in namespace `ns` with spec `spec` and labels `app: name`.
    pub(crate) fn pod(name: &str, mut spec: Value) -> Workload {
        if spec.get("containers").is_none() {
            spec["containers"] = json!([]);
        }
        workload(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "ns", "labels": {"app": name}},
            "spec": spec
        }))
    }

    pub(crate) fn workload(v: Value) -> Workload {
        Workload::from_value(v).unwrap().unwrap()
    }

    fn obj(kind: &str, ns: &str, name: &str, annotations: Value, spec: Value) -> Workload {
        let mut v = json!({
            "apiVersion": "apps/v1", "kind": kind,
            "metadata": {"name": name, "namespace": ns, "annotations": annotations},
            "spec": {"template": {"metadata": {"labels": {"app": name}}, "spec": spec}}
        });
        if kind == "Pod" {
            v["apiVersion"] = json!("v1");
            v["spec"] = spec;
            v["metadata"]["labels"] = json!({"app": name});
        }
        workload(v)
    }

    fn risky() -> Value {
        json!({"containers": [{"name": "app", "image": "nginx",
            "env": [{"name": "DB_PASSWORD", "value": "hunter2"},
                    {"name": "T", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}]})
    }

    fn namespace(name: &str, ignore: Option<&str>) -> Namespace {
        let mut v = json!({"metadata": {"name": name}});
        if let Some(i) = ignore {
            v["metadata"]["annotations"] = json!({IGNORE_ANNOTATION: i});
        }
        serde_json::from_value(v).unwrap()
    }

    fn deny_all(ns: &str) -> NetworkPolicy {
        serde_json::from_value(json!({"metadata": {"name": "deny", "namespace": ns},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}))
        .unwrap()
    }

    fn checks_of(r: &ScanResult) -> Vec<(String, String, CheckId)> {
        r.findings
            .iter()
            .map(|f| (f.namespace.clone(), f.object(), f.check))
            .collect()
    }

    #[test]
    fn scans_every_check_and_sorts() {
        let mut s = Scanner::new(ScanOptions::default());
        s.add_workload(&obj("Deployment", "b", "web", json!({}), risky()));
        s.add_workload(&obj("Deployment", "a", "web", json!({}), risky()));
        assert_eq!(s.scanned(), 2);
        let r = s.finish();
        assert_eq!(r.scanned, 2);
        assert_eq!(r.suppressed, 0);
        let a = |obj: &str, c| ("a".to_string(), obj.to_string(), c);
        let b = |obj: &str, c| ("b".to_string(), obj.to_string(), c);
        assert_eq!(
            checks_of(&r),
            [
                a("deployment/web", CheckId::EnvSecret),
                a("deployment/web", CheckId::EnvLiteralSecret),
                a("deployment/web", CheckId::MutableImageTag),
                a("namespace/a", CheckId::DefaultAllowNamespace),
                a("namespace/a", CheckId::DefaultAllowNamespace),
                b("deployment/web", CheckId::EnvSecret),
                b("deployment/web", CheckId::EnvLiteralSecret),
                b("deployment/web", CheckId::MutableImageTag),
                b("namespace/b", CheckId::DefaultAllowNamespace),
                b("namespace/b", CheckId::DefaultAllowNamespace),
            ]
        );
        let dirs: Vec<Direction> = r
            .findings
            .iter()
            .filter_map(|f| match &f.detail {
                Detail::DefaultAllowNamespace(
                    crate::checks::default_allow_namespace::Detail::Unisolated {
                        direction, ..
                    },
                ) => Some(*direction),
                _ => None,
            })
            .collect();
        assert_eq!(
            dirs,
            [
                Direction::Ingress,
                Direction::Egress,
                Direction::Ingress,
                Direction::Egress
            ]
        );
    }

    #[test]
    fn paths_sort_numerically() {
        let containers: Vec<Value> = (0..12)
            .map(|i| json!({"name": format!("c{i}"), "image": "nginx"}))
            .collect();
        let mut s = Scanner::new(ScanOptions {
            checks: BTreeSet::from([CheckId::MutableImageTag]),
            ..ScanOptions::default()
        });
        s.add_workload(&deployment("web", json!({"containers": containers})));
        let r = s.finish();
        let names: Vec<String> = r
            .findings
            .iter()
            .map(|f| f.container.clone().unwrap())
            .collect();
        let want: Vec<String> = (0..12).map(|i| format!("c{i}")).collect();
        assert_eq!(names, want);
    }

    #[test]
    fn checks_selection() {
        let mut s = Scanner::new(ScanOptions {
            checks: BTreeSet::from([CheckId::EnvSecret, CheckId::DefaultAllowNamespace]),
            ..ScanOptions::default()
        });
        s.add_workload(&obj("Deployment", "a", "web", json!({}), risky()));
        let r = s.finish();
        let checks: BTreeSet<CheckId> = r.findings.iter().map(|f| f.check).collect();
        assert_eq!(
            checks,
            BTreeSet::from([CheckId::EnvSecret, CheckId::DefaultAllowNamespace])
        );
        assert_eq!(r.suppressed, 0);
    }

    #[test]
    fn suppression_on_the_object() {
        let mut s = Scanner::new(ScanOptions::default());
        s.add_workload(&obj(
            "Deployment",
            "a",
            "web",
            json!({IGNORE_ANNOTATION: "env-secret, mutable-image-tag, nonsense"}),
            risky(),
        ));
        s.add_workload(&obj(
            "Deployment",
            "a",
            "all",
            json!({IGNORE_ANNOTATION: " all "}),
            risky(),
        ));
        s.add_network_policy(&deny_all("a"));
        let r = s.finish();
        assert_eq!(
            checks_of(&r),
            [(
                "a".to_string(),
                "deployment/web".to_string(),
                CheckId::EnvLiteralSecret
            )]
        );
        // web: env-secret + image; all: env-secret, literal, image.
        assert_eq!(r.suppressed, 5);
        assert_eq!(r.scanned, 2);
    }

    #[test]
    fn suppression_on_the_namespace_whatever_the_order() {
        let mut s = Scanner::new(ScanOptions::default());
        s.add_workload(&obj("Deployment", "a", "web", json!({}), risky()));
        s.add_workload(&obj("Deployment", "b", "web", json!({}), risky()));
        s.add_workload(&obj("Deployment", "c", "web", json!({}), risky()));
        // Namespaces arrive after their workloads.
        s.add_namespace(&namespace("a", Some("all")));
        s.add_namespace(&namespace(
            "b",
            Some("default-allow-namespace,env-literal-secret"),
        ));
        s.add_namespace(&namespace("c", None));
        let r = s.finish();
        let a = r.findings.iter().filter(|f| f.namespace == "a").count();
        assert_eq!(a, 0);
        let b: Vec<CheckId> = r
            .findings
            .iter()
            .filter(|f| f.namespace == "b")
            .map(|f| f.check)
            .collect();
        assert_eq!(b, [CheckId::EnvSecret, CheckId::MutableImageTag]);
        let c = r.findings.iter().filter(|f| f.namespace == "c").count();
        assert_eq!(c, 5);
        // a: 3 + 2 namespace findings; b: literal + 2 namespace findings.
        assert_eq!(r.suppressed, 5 + 3);
    }

    #[test]
    fn system_namespaces_only_with_include_system() {
        let feed = |include_system| {
            let mut opts = ScanOptions::default();
            opts.options.default_allow_namespace.include_system = include_system;
            let mut s = Scanner::new(opts);
            for ns in default_allow_namespace::SYSTEM_NAMESPACES {
                s.add_workload(&obj("DaemonSet", ns, "proxy", json!({}), risky()));
            }
            s.finish()
        };
        let count = |r: &ScanResult| {
            r.findings
                .iter()
                .filter(|f| f.check == CheckId::DefaultAllowNamespace)
                .count()
        };
        let without = feed(false);
        assert_eq!(count(&without), 0);
        // The other checks still run there.
        assert_eq!(without.findings.len(), 9);
        assert_eq!(count(&feed(true)), 6);
    }

    #[test]
    fn owned_objects_are_reported_through_their_owner() {
        let mut s = Scanner::new(ScanOptions::default());
        let owned = |kind: &str, owner_kind: &str, name: &str| {
            let mut w = obj(kind, "a", name, json!({}), risky());
            w.metadata.owner_references = Some(vec![
                serde_json::from_value(json!({"apiVersion": "apps/v1", "kind": owner_kind,
                    "name": "web", "uid": "u", "controller": true}))
                .unwrap(),
            ]);
            w
        };
        s.add_workload(&obj("Deployment", "a", "web", json!({}), risky()));
        s.add_workload(&owned("ReplicaSet", "Deployment", "web-5d8f"));
        s.add_workload(&owned("Pod", "ReplicaSet", "web-5d8f-abcde"));
        // A Pod of a custom controller is reported on its own, and is not fixable.
        s.add_workload(&owned("Pod", "Rollout", "canary-1"));
        assert_eq!(s.scanned(), 2);
        let r = s.finish();
        let objects: BTreeSet<String> = r.findings.iter().map(Finding::object).collect();
        assert_eq!(
            objects,
            BTreeSet::from([
                "deployment/web".to_string(),
                "pod/canary-1".to_string(),
                "namespace/a".to_string()
            ])
        );
        let pod_env = r
            .findings
            .iter()
            .find(|f| f.name == "canary-1" && f.check == CheckId::EnvSecret)
            .unwrap();
        assert!(!pod_env.fixable);
        assert!(
            pod_env
                .not_fixable_reason
                .as_deref()
                .unwrap()
                .contains("Rollout/web")
        );
        let ns = r
            .findings
            .iter()
            .find(|f| f.check == CheckId::DefaultAllowNamespace)
            .unwrap();
        assert_eq!(
            ns.detail,
            Detail::DefaultAllowNamespace(
                crate::checks::default_allow_namespace::Detail::Unisolated {
                    direction: Direction::Ingress,
                    workloads: vec!["Deployment/web".into(), "Pod/canary-1".into()]
                }
            )
        );
    }

    #[test]
    fn namespace_check_uses_that_namespaces_policies() {
        let mut s = Scanner::new(ScanOptions {
            checks: BTreeSet::from([CheckId::DefaultAllowNamespace]),
            ..ScanOptions::default()
        });
        s.add_workload(&obj("Deployment", "a", "web", json!({}), risky()));
        s.add_workload(&obj("Deployment", "b", "web", json!({}), risky()));
        s.add_network_policy(&deny_all("a"));
        // A known namespace without workloads gives no finding.
        s.add_namespace(&namespace("empty", None));
        let r = s.finish();
        let namespaces: BTreeSet<&str> = r.findings.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(namespaces, BTreeSet::from(["b"]));
    }

    #[test]
    fn no_literal_value_reaches_any_finding() {
        let mut s = Scanner::new(ScanOptions::default());
        s.add_workload(&obj("Deployment", "a", "web", json!({}), risky()));
        s.add_workload(&obj("Pod", "a", "p", json!({}), risky()));
        let r = s.finish();
        let text = format!("{}{:?}", serde_json::to_string(&r.findings).unwrap(), r);
        assert!(!text.contains("hunter"), "{text}");
    }
}
