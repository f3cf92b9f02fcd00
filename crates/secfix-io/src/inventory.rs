//! Reading the objects to check, from a cluster or from `-f` manifests, into the core's
//! [`Collector`], which runs the checks object by object. Both sides feed it the same way,
//! so `scan -f` and a live scan of the same objects give the same findings.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service};
use kube::Client;
use serde_json::Value;

use crate::cluster::list::{ListEvent, ListRequest, Scope, spawn_listers};
pub use secfix_core::inventory::{Collector, Inventory, Keep};

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
pub fn collect_offline(
    collector: &mut Collector,
    paths: &[std::path::PathBuf],
    keep: bool,
    selector: Option<&secfix_core::model::selector::Selector>,
) -> Vec<crate::manifest::ManifestFile> {
    collect_offline_from(collector, paths, None, keep, selector)
}

/// What `kubectl kustomize DIR` (or another renderer) wrote, read as one source named
/// `name` instead of `-f` paths.
#[derive(Debug, Clone, Copy)]
pub struct Rendered<'a> {
    pub name: &'a str,
    pub bytes: &'a [u8],
}

/// [`collect_offline`] of `-f` paths, or of `rendered` output when given (then `paths` is
/// ignored).
pub fn collect_offline_from(
    collector: &mut Collector,
    paths: &[std::path::PathBuf],
    rendered: Option<Rendered<'_>>,
    keep: bool,
    selector: Option<&secfix_core::model::selector::Selector>,
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
        default_namespace: collector
            .default_namespace()
            .unwrap_or_default()
            .to_string(),
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
        let two_passes = collector.options().reads_namespace_annotations();
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

/// The kinds a live run lists (besides Namespaces). The objects that say who talks to whom
/// only when `traffic` (a check that runs reads them: [`Evidence::traffic`]), the ones only
/// `fix` plans with only when `keep.objects` besides.
///
/// [`Evidence::traffic`]: secfix_core::checks::Evidence::traffic
pub fn requests(keep: Keep, traffic: bool) -> Vec<ListRequest> {
    let mut v = vec![
        ListRequest::new("Deployment", &["apps/v1"], true),
        ListRequest::new("StatefulSet", &["apps/v1"], true),
        ListRequest::new("DaemonSet", &["apps/v1"], true),
        ListRequest::new("ReplicaSet", &["apps/v1"], true),
        ListRequest::new("ReplicationController", &["v1"], true),
        ListRequest::new("Job", &["batch/v1"], true),
        ListRequest::new("CronJob", &["batch/v1", "batch/v1beta1"], true),
        ListRequest::new("Pod", &["v1"], true),
    ];
    if traffic {
        v.push(ListRequest::new(
            "NetworkPolicy",
            &["networking.k8s.io/v1"],
            false,
        ));
    }
    if keep.objects && traffic {
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

/// Objects read at once by [`get_all`]: the reads after the listing are one `GET` each (the
/// ConfigMaps and Secrets workloads name, Services of other namespaces), and on a large
/// cluster there are hundreds; one after another they would cost a round trip each.
const GETS_IN_FLIGHT: usize = 16;

/// `GET`s each `(namespace, name)` of `K`, [`GETS_IN_FLIGHT`] at a time; the answers come
/// back in the order asked, so what is said about them is the same from run to run.
async fn get_all<K>(
    client: &Client,
    names: impl IntoIterator<Item = (String, String)>,
) -> Vec<((String, String), Result<Option<K>, kube::Error>)>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    use futures::StreamExt;
    futures::stream::iter(names)
        .map(|(ns, name)| {
            let api: kube::Api<K> = kube::Api::namespaced(client.clone(), &ns);
            async move {
                let got = api.get_opt(&name).await;
                ((ns, name), got)
            }
        })
        .buffered(GETS_IN_FLIGHT)
        .collect()
        .await
}

/// Records the keys of every ConfigMap and Secret a workload's `envFrom` names (issue #22:
/// a native move must not leave a variable set twice). ConfigMaps were read already; each
/// Secret is read once and only its key names are kept. One that cannot be read stays
/// unknown, which makes moves beside it app changes.
async fn read_env_from_keys(collector: &mut Collector, client: &Client) {
    use k8s_openapi::api::core::v1::Secret;
    let mut secrets: BTreeSet<(String, String)> = BTreeSet::new();
    for w in &collector.inventory().workloads {
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
    let inv = collector.inventory_mut();
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
    for ((ns, name), got) in get_all::<Secret>(client, secrets).await {
        match got {
            Ok(Some(secret)) => {
                // Key names only; the values are dropped with `secret` here.
                let keys: Vec<String> = secret
                    .data
                    .iter()
                    .flat_map(|d| d.keys())
                    .chain(secret.string_data.iter().flat_map(|d| d.keys()))
                    .cloned()
                    .collect();
                collector
                    .inventory_mut()
                    .env_sources
                    .add("Secret", &ns, &name, keys);
            }
            // A missing Secret sets nothing (an optional envFrom, or a pod that cannot start).
            Ok(None) => collector
                .inventory_mut()
                .env_sources
                .add("Secret", &ns, &name, []),
            Err(e) => collector.warn(format!(
                "cannot read Secret {ns}/{name} named by envFrom ({}): moves of variables beside \
                 it are app changes",
                crate::cluster::describe_error(&e)
            )),
        }
    }
}

/// The ConfigMaps `w` reads: those of its `envFrom` (their keys are variables a move must not
/// shadow), and with `traffic` also those of `configMapKeyRef` and volumes (their values may
/// name hosts the NetworkPolicy fix must allow).
fn config_maps_read(w: &secfix_core::model::Workload, traffic: bool) -> BTreeSet<(String, String)> {
    let ns = w.namespace();
    let mut wanted = BTreeSet::new();
    let spec = &w.spec;
    let containers = spec
        .init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter());
    for c in containers {
        for ef in c.env_from.iter().flatten() {
            if let Some(r) = &ef.config_map_ref {
                wanted.insert((ns.to_string(), r.name.clone()));
            }
        }
        if !traffic {
            continue;
        }
        for e in c.env.iter().flatten() {
            if let Some(r) = e
                .value_from
                .as_ref()
                .and_then(|v| v.config_map_key_ref.as_ref())
            {
                wanted.insert((ns.to_string(), r.name.clone()));
            }
        }
    }
    if traffic {
        for v in spec.volumes.iter().flatten() {
            if let Some(c) = &v.config_map {
                wanted.insert((ns.to_string(), c.name.clone()));
            }
            for src in v.projected.iter().flat_map(|p| p.sources.iter().flatten()) {
                if let Some(c) = &src.config_map {
                    wanted.insert((ns.to_string(), c.name.clone()));
                }
            }
        }
    }
    wanted
}

/// Reads what `fix` plans with beyond the listing: the ConfigMaps the workloads read
/// ([`config_maps_read`]; never Secrets), the key names of the Secrets their `envFrom`
/// names, and with `traffic` the API server's address and the Services of other namespaces
/// that the NetworkPolicy evidence names. One `GET` each, several at once; a missing object
/// is skipped, a forbidden one said.
async fn read_referenced(collector: &mut Collector, client: &Client, traffic: bool) {
    if traffic {
        read_api_server(collector, client).await;
    }
    let wanted: BTreeSet<(String, String)> = collector
        .inventory()
        .workloads
        .iter()
        .flat_map(|w| config_maps_read(w, traffic))
        .collect();
    let have: BTreeSet<(String, String)> = collector
        .inventory()
        .config_maps
        .iter()
        .map(|c| {
            (
                c.metadata.namespace.clone().unwrap_or_default(),
                c.metadata.name.clone().unwrap_or_default(),
            )
        })
        .collect();
    let missing = wanted.difference(&have).cloned();
    for ((ns, name), got) in get_all::<ConfigMap>(client, missing).await {
        match got {
            Ok(Some(cm)) => collector.inventory_mut().config_maps.push(cm),
            Ok(None) => {}
            Err(e) if crate::cluster::status_code(&e) == Some(403) => collector.warn(format!(
                "cannot read ConfigMap {ns}/{name} (forbidden, needs `get` on configmaps): \
                 its keys and values are unknown (moves of variables beside its envFrom are \
                 app changes; its values are not NetworkPolicy evidence)"
            )),
            Err(e) => collector.warn(format!(
                "cannot read ConfigMap {ns}/{name}: {}",
                crate::cluster::describe_error(&e)
            )),
        }
    }
    read_env_from_keys(collector, client).await;
    if !traffic {
        return;
    }
    let wanted = {
        let inv = collector.inventory();
        secfix_core::fix::network_policy::graph::Graph::wanted_services(&inv.cluster())
    };
    for ((ns, name), got) in get_all::<Service>(client, wanted).await {
        match got {
            Ok(Some(svc)) => collector.inventory_mut().services.push(svc),
            Ok(None) => {}
            Err(e) if crate::cluster::status_code(&e) == Some(403) => {
                collector.warn(format!(
                    "cannot read Service {ns}/{name} (forbidden, needs `get` on services): \
                     egress to it is allowed to every pod of namespace {ns}"
                ));
                // Named but unreadable: still a namespace of the cluster.
                collector.inventory_mut().namespaces.push(ns.clone());
            }
            Err(e) => collector.warn(format!(
                "cannot read Service {ns}/{name}: {}",
                crate::cluster::describe_error(&e)
            )),
        }
    }
}

/// The API server's addresses, as its reconciler writes them (the NetworkPolicy fix allows
/// its callers and the pods that call it).
async fn read_api_server(collector: &mut Collector, client: &Client) {
    let api: kube::Api<k8s_openapi::api::core::v1::Endpoints> =
        kube::Api::namespaced(client.clone(), "default");
    let unknown = "the Kubernetes API server's address is not known: its callers and webhooks \
                   are handled as such (--api-server CIDR[:PORT] gives it)";
    match api.get_opt("kubernetes").await {
        Ok(Some(ep)) => {
            collector.inventory_mut().api_server =
                secfix_core::fix::network_policy::graph::ApiServer::of(&ep);
            if collector.inventory_mut().api_server.is_none() {
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
}

/// Lists the cluster into the collector, every kind at once, page by page: the built-in
/// kinds, plus the pod-template controllers discovery finds served (Argo Rollouts, OpenShift
/// DeploymentConfigs, and `include` from `--include-kinds`). `progress` is told what has
/// been listed so far (the binary shows it on a terminal).
pub async fn collect_live(
    collector: &mut Collector,
    client: &Client,
    scope: Scope,
    keep: Keep,
    include: &[crate::cluster::discovery::KindRef],
    progress: &(dyn Fn(&str) + Sync),
) {
    if keep.objects {
        collector.inventory_mut().namespace_labels = Some(Default::default());
    }
    // Both before the kinds are listed (discovery says which controllers own what; workloads
    // are checked with their namespace's annotations), and at once: one round trip to a
    // distant API server instead of two.
    let ((served, notes), ()) = tokio::join!(
        crate::cluster::discovery::discover(client, include),
        read_namespaces(collector, client, &scope, progress),
    );
    for n in notes {
        collector.warn(n);
    }
    let traffic = collector.options().evidence().traffic;
    let mut kinds = requests(keep, traffic);
    kinds.extend(served.iter().map(ListRequest::discovered));
    let mut rx = spawn_listers(client.clone(), scope, &kinds);
    drain(collector, &mut rx, progress).await;
    if keep.objects {
        read_referenced(collector, client, traffic).await;
    }
}

/// Reads the Namespaces of `scope` into the collector: with `-n`, just that one (for its
/// annotations, not the cluster's list), else all of them.
async fn read_namespaces(
    collector: &mut Collector,
    client: &Client,
    scope: &Scope,
    progress: &(dyn Fn(&str) + Sync),
) {
    let Some(ns) = &scope.namespace else {
        let mut rx = spawn_listers(client.clone(), scope.clone(), &[NAMESPACES]);
        drain(collector, &mut rx, progress).await;
        return;
    };
    let api: kube::Api<Namespace> = kube::Api::all(client.clone());
    match api.get_opt(ns).await {
        Ok(Some(n)) => {
            collector.add_namespace(&n);
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

/// Feeds every page of `rx` into the collector; failures become errors, notes warnings.
async fn drain(
    collector: &mut Collector,
    rx: &mut tokio::sync::mpsc::Receiver<ListEvent>,
    progress: &(dyn Fn(&str) + Sync),
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
                let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
                progress(&format!("listed {}", parts.join(", ")));
            }
            ListEvent::Failed { kind, message } => {
                collector.inventory_mut().unlisted.insert(kind.to_string());
                failures.insert(message);
            }
            ListEvent::Note(n) => collector.warn(n),
        }
    }
    for f in failures {
        collector.error(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What only the NetworkPolicy check and its fix read.
    const TRAFFIC: [&str; 9] = [
        "NetworkPolicy",
        "Service",
        "Ingress",
        "HTTPRoute",
        "ReferenceGrant",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "APIService",
        "CustomResourceDefinition",
    ];

    fn kinds(keep: Keep, traffic: bool) -> Vec<&'static str> {
        requests(keep, traffic).iter().map(|r| r.kind).collect()
    }

    #[test]
    fn who_talks_to_whom_is_listed_only_for_a_check_that_reads_it() {
        let fix = Keep {
            objects: true,
            pods: true,
        };
        let (with, without) = (kinds(fix, true), kinds(fix, false));
        for k in TRAFFIC {
            assert!(with.contains(&k), "{k}");
            assert!(!without.contains(&k), "{k}");
        }
        // The workloads are listed whatever the checks.
        for k in [
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "ReplicaSet",
            "Job",
            "CronJob",
            "Pod",
        ] {
            assert!(without.contains(&k), "{k}");
        }
        // A scan reads the policies for the check, not what only its fix plans with.
        assert_eq!(
            kinds(Keep::default(), true)
                .into_iter()
                .filter(|k| TRAFFIC.contains(k))
                .collect::<Vec<_>>(),
            ["NetworkPolicy"]
        );
    }

    #[test]
    fn config_maps_that_name_hosts_are_read_only_for_the_network_check() {
        let w = secfix_core::model::Workload::from_value(json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"template": {"spec": {
                "containers": [{
                    "name": "app",
                    "envFrom": [{"configMapRef": {"name": "env"}}],
                    "env": [{"name": "CACHE", "valueFrom": {"configMapKeyRef": {"name": "hosts", "key": "cache"}}}]
                }],
                "volumes": [
                    {"name": "a", "configMap": {"name": "files"}},
                    {"name": "b", "projected": {"sources": [{"configMap": {"name": "projected"}}]}}
                ]
            }}}
        }))
        .unwrap()
        .unwrap();
        let names = |traffic| -> Vec<String> {
            config_maps_read(&w, traffic)
                .into_iter()
                .map(|(ns, n)| format!("{ns}/{n}"))
                .collect()
        };
        assert_eq!(names(false), ["shop/env"]);
        assert_eq!(
            names(true),
            ["shop/env", "shop/files", "shop/hosts", "shop/projected"]
        );
    }
}
