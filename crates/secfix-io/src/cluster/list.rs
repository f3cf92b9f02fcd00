//! Paged, concurrent listing: one LIST per kind across the whole scope (`limit`/`continue`),
//! every kind at once, pages handed to the caller as they arrive so a large cluster is
//! checked while it is still being read.

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, ObjectList};
use kube::core::Request;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use super::resources::{api_resource, rbac_name};
use super::{describe_error, status_code};
use secfix_core::model::WorkloadKind;

/// Objects per LIST page.
pub(crate) const PAGE_SIZE: u32 = 500;

/// The page size in use: [`PAGE_SIZE`], or `SECFIX_LIST_PAGE_SIZE` when set to a positive
/// number (a tuning knob, and how the tests exercise pagination with few objects).
pub(crate) fn page_size() -> u32 {
    std::env::var("SECFIX_LIST_PAGE_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(PAGE_SIZE)
}

/// Which part of the cluster to read.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// `None` reads all namespaces.
    pub namespace: Option<String>,
    /// kubectl's `-l`, applied to workloads (not to policies, services or namespaces).
    pub label_selector: Option<String>,
}

/// One kind to list, with older `apiVersion`s to fall back to when the server does not
/// serve it (404), e.g. `batch/v1beta1` CronJobs on servers before 1.21.
#[derive(Debug, Clone, Copy)]
pub struct ListRequest {
    pub kind: &'static str,
    pub api_versions: &'static [&'static str],
    /// Apply the label selector (workloads only).
    pub selected: bool,
    /// A cluster that does not serve a version (404) is normal (an optional API such as
    /// the Gateway API): fall back or skip without saying so.
    pub optional: bool,
    /// A cluster-scoped kind (besides Namespace): listed across the cluster even with `-n`.
    pub cluster_scoped: bool,
}

impl ListRequest {
    pub const fn new(
        kind: &'static str,
        api_versions: &'static [&'static str],
        selected: bool,
    ) -> Self {
        ListRequest {
            kind,
            api_versions,
            selected,
            optional: false,
            cluster_scoped: false,
        }
    }

    /// A workload kind found by discovery ([`crate::cluster::discovery`]). Its names live as
    /// long as the process (a handful per run).
    pub(crate) fn discovered(served: &crate::cluster::discovery::Served) -> Self {
        let kind: &'static str = Box::leak(served.kind.clone().into_boxed_str());
        let version: &'static str = Box::leak(served.api_version.clone().into_boxed_str());
        let versions: &'static [&'static str] = Box::leak(vec![version].into_boxed_slice());
        ListRequest {
            kind,
            api_versions: versions,
            selected: true,
            optional: false,
            cluster_scoped: !served.namespaced,
        }
    }

    /// The same request for an API the cluster may not serve.
    pub const fn optional(mut self) -> Self {
        self.optional = true;
        self
    }
}

/// The names of every object of `ar` across the cluster, read as their metadata only (the
/// rest of each object is never sent), page by page. A page that fails ends the reading:
/// the names of the pages before it are kept, and a kind the cluster does not serve has
/// none.
pub async fn names(client: Client, ar: &ApiResource) -> std::collections::BTreeSet<String> {
    let api: Api<DynamicObject> = Api::all_with(client, ar);
    let mut names = std::collections::BTreeSet::new();
    let mut params = ListParams::default().limit(page_size());
    while let Ok(page) = api.list_metadata(&params).await {
        names.extend(page.items.into_iter().filter_map(|o| o.metadata.name));
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => break,
        }
    }
    names
}

/// One LIST page, its items left as raw JSON text until [`decode_item`] looks at them.
async fn list_page(
    client: &Client,
    api: &Api<DynamicObject>,
    params: &ListParams,
) -> Result<ObjectList<Box<RawValue>>, kube::Error> {
    let request = Request::new(api.resource_url())
        .list(params)
        .map_err(kube::Error::BuildRequest)?;
    client.request::<ObjectList<Box<RawValue>>>(request).await
}

/// An item of a page as JSON, with `apiVersion` and `kind` filled in (list items lack them)
/// and without `metadata.managedFields` (often half an object, read by no check).
///
/// Most pods of a cluster belong to a controller whose own object carries their template,
/// so only their digest evidence matters: for those, only the fields [`PodDigests`] reads
/// are decoded, and the rest of their JSON is skipped without being built.
///
/// [`PodDigests`]: secfix_core::fix::digest::PodDigests
///
/// An item that does not decode is an error naming it (the server sent something that is
/// not an object of this kind), never silently dropped.
fn decode_item(raw: &RawValue, ar: &ApiResource) -> Result<Value, String> {
    let failed = |e: serde_json::Error| {
        let name = serde_json::from_str::<ObjectHead>(raw.get())
            .ok()
            .and_then(|h| match (h.metadata.namespace, h.metadata.name) {
                (Some(ns), Some(n)) => Some(format!("{ns}/{n}")),
                (None, Some(n)) => Some(n),
                _ => None,
            })
            .unwrap_or_else(|| "(unnamed)".to_string());
        format!(
            "{} {name}: cannot decode the object from the server ({}); it was not scanned",
            ar.kind,
            secfix_core::model::workload::without_values(&e)
        )
    };
    let mut v: Value = if ar.kind == "Pod" {
        let head: ObjectHead = serde_json::from_str(raw.get()).map_err(failed)?;
        let owned = head
            .metadata
            .owner_references
            .iter()
            .any(|o| o.controller && WorkloadKind::Pod.is_owned_by(&o.kind));
        if owned {
            let slim: SlimPod = serde_json::from_str(raw.get()).map_err(failed)?;
            serde_json::to_value(slim).map_err(failed)?
        } else {
            serde_json::from_str(raw.get()).map_err(failed)?
        }
    } else {
        serde_json::from_str(raw.get()).map_err(failed)?
    };
    let Some(map) = v.as_object_mut() else {
        return Err(format!(
            "{}: the server sent a list item that is not an object; it was not scanned",
            ar.kind
        ));
    };
    map.insert("apiVersion".into(), Value::String(ar.api_version.clone()));
    map.insert("kind".into(), Value::String(ar.kind.clone()));
    if let Some(Value::Object(meta)) = map.get_mut("metadata") {
        meta.remove("managedFields");
    }
    Ok(v)
}

/// Just enough of an object to see who controls it.
#[derive(Deserialize)]
struct ObjectHead {
    #[serde(default)]
    metadata: HeadMeta,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HeadMeta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    owner_references: Vec<HeadOwner>,
}

#[derive(Deserialize)]
struct HeadOwner {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    controller: bool,
}

/// The fields of a pod that digest pinning reads; everything else is skipped unparsed.
#[derive(Serialize, Deserialize)]
struct SlimPod {
    #[serde(default)]
    metadata: SlimMeta,
    #[serde(default)]
    spec: SlimSpec,
    #[serde(default)]
    status: SlimStatus,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SlimStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phase: Option<String>,
    #[serde(default)]
    init_container_statuses: Vec<SlimStatusEntry>,
    #[serde(default)]
    container_statuses: Vec<SlimStatusEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SlimStatusEntry {
    #[serde(default)]
    name: String,
    #[serde(default, rename = "imageID")]
    image_id: String,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SlimMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    owner_references: Value,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SlimSpec {
    #[serde(default)]
    init_containers: Vec<SlimContainer>,
    #[serde(default)]
    containers: Vec<SlimContainer>,
}

#[derive(Serialize, Deserialize)]
struct SlimContainer {
    #[serde(default)]
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    image: Option<String>,
}

/// What a lister reports while it runs.
#[derive(Debug)]
pub(crate) enum ListEvent {
    /// A page of objects, each with `apiVersion` and `kind` filled in, and a message for
    /// each item of the page that could not be decoded.
    Page {
        kind: &'static str,
        items: Vec<Value>,
        undecodable: Vec<String>,
    },
    /// Listing this kind failed (forbidden, unreachable, …), possibly after some of its pages;
    /// other kinds go on.
    Failed { kind: &'static str, message: String },
    /// Something the user should know that is not a failure (an older API version used,
    /// a kind the server does not serve).
    Note(String),
}

/// Starts one task per request and returns the stream of their events. The stream ends
/// when every lister is done.
pub(crate) fn spawn_listers(
    client: Client,
    scope: Scope,
    requests: &[ListRequest],
) -> mpsc::Receiver<ListEvent> {
    // A few pages in flight are enough to keep the checks busy; more only holds memory
    // while the single consumer catches up.
    let (tx, rx) = mpsc::channel(4);
    for req in requests.iter().copied() {
        let (client, scope, tx) = (client.clone(), scope.clone(), tx.clone());
        tokio::spawn(async move { list_kind(client, scope, req, tx).await });
    }
    rx
}

async fn list_kind(client: Client, scope: Scope, req: ListRequest, tx: mpsc::Sender<ListEvent>) {
    for (i, api_version) in req.api_versions.iter().enumerate() {
        let Some(ar) = api_resource(api_version, req.kind) else {
            continue;
        };
        let namespaced = req.kind != "Namespace" && !req.cluster_scoped;
        let api: Api<DynamicObject> = match (&scope.namespace, namespaced) {
            (Some(ns), true) => Api::namespaced_with(client.clone(), ns, &ar),
            _ => Api::all_with(client.clone(), &ar),
        };
        let mut params = ListParams::default().limit(page_size());
        if req.selected
            && let Some(sel) = &scope.label_selector
        {
            params = params.labels(sel);
        }
        let mut first_page = true;
        loop {
            let page = match list_page(&client, &api, &params).await {
                Ok(page) => page,
                Err(e) if first_page && status_code(&e) == Some(404) => {
                    let next = req.api_versions.get(i + 1);
                    let note = match next {
                        Some(next) => format!(
                            "{}: {api_version} is not served by this cluster; using {next}",
                            req.kind
                        ),
                        None => format!(
                            "{}: skipped, the cluster serves none of {}",
                            req.kind,
                            req.api_versions.join(", ")
                        ),
                    };
                    if !req.optional {
                        let _ = tx.send(ListEvent::Note(note)).await;
                    }
                    break;
                }
                Err(e) => {
                    let forbidden = status_code(&e) == Some(403);
                    let where_ = match (&scope.namespace, namespaced) {
                        (Some(ns), true) => format!(" in namespace {ns}"),
                        _ if namespaced => " in all namespaces".to_string(),
                        _ => String::new(),
                    };
                    let message = if forbidden {
                        format!(
                            "cannot list {}{where_}: forbidden (needs `list` on {})",
                            rbac_name(&ar),
                            rbac_name(&ar)
                        )
                    } else {
                        format!(
                            "cannot list {}{where_}: {}",
                            rbac_name(&ar),
                            describe_error(&e)
                        )
                    };
                    if forbidden && req.optional && req.cluster_scoped {
                        // An optional cluster-wide kind a namespaced user may not list: said,
                        // and the run goes on without it.
                        let _ = tx
                            .send(ListEvent::Note(format!(
                                "{message}: {} objects skipped, so the NetworkPolicy fix does \
                                 not know the Services the Kubernetes API server calls through them",
                                req.kind
                            )))
                            .await;
                        return;
                    }
                    let _ = tx
                        .send(ListEvent::Failed {
                            kind: req.kind,
                            message,
                        })
                        .await;
                    return;
                }
            };
            first_page = false;
            let token = page.metadata.continue_.clone().filter(|t| !t.is_empty());
            let mut items = Vec::with_capacity(page.items.len());
            let mut undecodable = Vec::new();
            for raw in &page.items {
                match decode_item(raw, &ar) {
                    Ok(v) => items.push(v),
                    Err(e) => undecodable.push(e),
                }
            }
            if tx
                .send(ListEvent::Page {
                    kind: req.kind,
                    items,
                    undecodable,
                })
                .await
                .is_err()
            {
                return; // the consumer stopped listening
            }
            match token {
                Some(t) => params = params.continue_token(&t),
                None => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_string()).unwrap()
    }

    #[test]
    fn an_item_that_does_not_decode_is_named_not_dropped() {
        let ar = super::super::resources::api_resource("v1", "Pod").unwrap();
        let ok = decode_item(
            &raw(r#"{"metadata": {"name": "p", "namespace": "a"}}"#),
            &ar,
        );
        assert_eq!(ok.unwrap()["kind"], "Pod");
        // An owned pod whose spec has the wrong shape for the slim decode.
        let bad = r#"{"metadata": {"name": "p", "namespace": "a",
            "ownerReferences": [{"kind": "ReplicaSet", "controller": true}]},
            "spec": {"containers": "sfxCANARY-not-a-list"}}"#;
        let e = decode_item(&raw(bad), &ar).unwrap_err();
        assert!(e.starts_with("Pod a/p: cannot decode"), "{e}");
        assert!(!e.contains("sfxCANARY"), "{e}");
        let e = decode_item(&raw("[1, 2]"), &ar).unwrap_err();
        assert!(
            e.contains("not an object") || e.contains("cannot decode"),
            "{e}"
        );
    }
}
