//! Who else manages an object: GitOps controllers and package managers that would revert a
//! live fix on their next sync.
//!
//! Evidence, strongest first: `metadata.managedFields` managers (the server records every
//! writer), then the annotations and labels these tools stamp on what they apply. Plain
//! `kubectl` writers are not owners in this sense and are ignored.

use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// Names a tool from one `managedFields[].manager` value.
fn tool_of_manager(manager: &str) -> Option<&'static str> {
    let m = manager.to_ascii_lowercase();
    if m.starts_with("argocd") || m.starts_with("argo-cd") {
        Some("Argo CD")
    } else if m == "helm-controller" {
        Some("Flux (helm-controller)")
    } else if m == "kustomize-controller" || m.starts_with("flux") {
        Some("Flux (kustomize-controller)")
    } else if m == "helm" || m.starts_with("helm-") || m.starts_with("helm.") {
        Some("Helm")
    } else if m.starts_with("fleet") {
        Some("Rancher Fleet")
    } else if m == "kapp" || m.starts_with("kapp-controller") {
        Some("kapp")
    } else {
        None
    }
}

/// Names a tool from one annotation or label (`key`, `value`).
fn tool_of_mark(key: &str, value: &str) -> Option<&'static str> {
    if key.starts_with("argocd.argoproj.io/") {
        Some("Argo CD")
    } else if key.starts_with("kustomize.toolkit.fluxcd.io/") {
        Some("Flux (kustomize-controller)")
    } else if key.starts_with("helm.toolkit.fluxcd.io/") {
        Some("Flux (helm-controller)")
    } else if key == "meta.helm.sh/release-name"
        || (key == "app.kubernetes.io/managed-by" && value.eq_ignore_ascii_case("helm"))
    {
        Some("Helm")
    } else if key.starts_with("kapp.k14s.io/") {
        Some("kapp")
    } else {
        None
    }
}

/// The tools that manage an object, deduplicated, in a stable order.
pub(crate) fn managers(meta: &ObjectMeta) -> Vec<&'static str> {
    let mut found = BTreeSet::new();
    for entry in meta.managed_fields.iter().flatten() {
        if let Some(tool) = entry.manager.as_deref().and_then(tool_of_manager) {
            found.insert(tool);
        }
    }
    for map in [&meta.annotations, &meta.labels].into_iter().flatten() {
        for (k, v) in map {
            if let Some(tool) = tool_of_mark(k, v) {
                found.insert(tool);
            }
        }
    }
    // Flux's helm-controller installs through Helm: name the controller, not both.
    if found.contains("Flux (helm-controller)") {
        found.remove("Helm");
    }
    found.into_iter().collect()
}

/// The GitOps controllers that undo a live change of the object at their next sync: Argo CD
/// (its tracking annotation or manager, or an `app.kubernetes.io/instance` label naming one
/// of `applications`, the Argo CD Applications of the cluster) and Flux. Plain Helm does
/// not revert; it is not listed.
pub fn reverting_tools(meta: &ObjectMeta, applications: &BTreeSet<String>) -> Vec<&'static str> {
    let mut tools: Vec<&'static str> = managers(meta)
        .into_iter()
        .filter(|t| t.starts_with("Argo CD") || t.starts_with("Flux"))
        .collect();
    let instance = meta
        .labels
        .as_ref()
        .and_then(|l| l.get("app.kubernetes.io/instance"));
    if !tools.contains(&"Argo CD") && instance.is_some_and(|i| applications.contains(i)) {
        tools.insert(0, "Argo CD");
    }
    tools
}

/// A warning when a GitOps controller or package manager owns the object, else `None`:
/// `managed by Argo CD: the change will be reverted by the next sync; …`.
pub(crate) fn gitops_warning(meta: &ObjectMeta) -> Option<String> {
    let tools = managers(meta);
    if tools.is_empty() {
        return None;
    }
    Some(format!(
        "managed by {}: the change will be reverted by the next sync; commit the patches to \
         the source instead (--overlay DIR writes them as a kustomize overlay)",
        tools.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta(v: serde_json::Value) -> ObjectMeta {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn plain_objects_have_no_warning() {
        let m = meta(json!({"name": "a", "labels": {"app": "a"},
            "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update"}]}));
        assert_eq!(gitops_warning(&m), None);
    }

    #[test]
    fn managed_fields_managers() {
        for (manager, tool) in [
            ("argocd-controller", "Argo CD"),
            ("argocd-application-controller", "Argo CD"),
            ("helm", "Helm"),
            ("kustomize-controller", "Flux (kustomize-controller)"),
            ("helm-controller", "Flux (helm-controller)"),
        ] {
            let m = meta(json!({"managedFields": [{"manager": manager, "operation": "Apply"}]}));
            let w = gitops_warning(&m).unwrap();
            assert!(w.starts_with(&format!("managed by {tool}:")), "{w}");
            assert!(w.contains("--overlay DIR"));
        }
    }

    #[test]
    fn annotations_and_labels() {
        let m = meta(json!({"annotations": {"meta.helm.sh/release-name": "web"}}));
        assert_eq!(managers(&m), ["Helm"]);
        let m = meta(json!({"labels": {"app.kubernetes.io/managed-by": "Helm"}}));
        assert_eq!(managers(&m), ["Helm"]);
        let m = meta(json!({"annotations": {"argocd.argoproj.io/tracking-id": "x"}}));
        assert_eq!(managers(&m), ["Argo CD"]);
        let m = meta(json!({"labels": {"kustomize.toolkit.fluxcd.io/name": "apps"}}));
        assert_eq!(managers(&m), ["Flux (kustomize-controller)"]);
        let m = meta(json!({"labels": {"helm.toolkit.fluxcd.io/name": "web",
            "app.kubernetes.io/managed-by": "Helm"}}));
        assert_eq!(managers(&m), ["Flux (helm-controller)"]);
        let m = meta(json!({"labels": {"app.kubernetes.io/managed-by": "kubectl-secfix"}}));
        assert!(managers(&m).is_empty());
    }

    #[test]
    fn argo_cd_and_flux_revert_helm_does_not() {
        let apps: BTreeSet<String> = ["shop".to_string()].into();
        let m = meta(
            json!({"annotations": {"argocd.argoproj.io/tracking-id": "shop:apps/Deployment:shop/web"}}),
        );
        assert_eq!(reverting_tools(&m, &BTreeSet::new()), ["Argo CD"]);
        let m = meta(json!({"labels": {"app.kubernetes.io/instance": "shop"}}));
        assert_eq!(reverting_tools(&m, &apps), ["Argo CD"]);
        assert!(
            reverting_tools(&m, &BTreeSet::new()).is_empty(),
            "no such Application"
        );
        let m = meta(
            json!({"labels": {"kustomize.toolkit.fluxcd.io/name": "apps",
            "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}}),
        );
        assert_eq!(reverting_tools(&m, &apps), ["Flux (kustomize-controller)"]);
        let m = meta(json!({"labels": {"helm.toolkit.fluxcd.io/name": "web"}}));
        assert_eq!(reverting_tools(&m, &apps), ["Flux (helm-controller)"]);
        let m = meta(json!({"annotations": {"meta.helm.sh/release-name": "w"}}));
        assert!(reverting_tools(&m, &apps).is_empty());
    }

    #[test]
    fn several_tools_are_listed_once() {
        let m = meta(json!({
            "annotations": {"argocd.argoproj.io/sync-wave": "1", "meta.helm.sh/release-name": "w"},
            "managedFields": [{"manager": "argocd-controller"}, {"manager": "argocd-controller"}]}));
        assert!(
            gitops_warning(&m)
                .unwrap()
                .starts_with("managed by Argo CD, Helm:")
        );
    }
}
