//! The resources this tool reads and writes, by `apiVersion` and kind.

use kube::core::{ApiResource, GroupVersionKind};

/// `(apiVersion, kind, plural, namespaced)` for every kind we list, patch or create.
const KNOWN: &[(&str, &str, &str, bool)] = &[
    ("v1", "Pod", "pods", true),
    (
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        true,
    ),
    ("v1", "Service", "services", true),
    ("v1", "Secret", "secrets", true),
    ("v1", "ConfigMap", "configmaps", true),
    ("v1", "Namespace", "namespaces", false),
    ("apps/v1", "Deployment", "deployments", true),
    ("apps/v1", "StatefulSet", "statefulsets", true),
    ("apps/v1", "DaemonSet", "daemonsets", true),
    ("apps/v1", "ReplicaSet", "replicasets", true),
    ("batch/v1", "Job", "jobs", true),
    ("batch/v1", "CronJob", "cronjobs", true),
    ("batch/v1beta1", "CronJob", "cronjobs", true),
    (
        "networking.k8s.io/v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
    ),
    ("networking.k8s.io/v1", "Ingress", "ingresses", true),
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        false,
    ),
    (
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        false,
    ),
    (
        "apiregistration.k8s.io/v1",
        "APIService",
        "apiservices",
        false,
    ),
    (
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
    ),
    (
        "gateway.networking.k8s.io/v1",
        "HTTPRoute",
        "httproutes",
        true,
    ),
    (
        "gateway.networking.k8s.io/v1beta1",
        "HTTPRoute",
        "httproutes",
        true,
    ),
    (
        "gateway.networking.k8s.io/v1",
        "ReferenceGrant",
        "referencegrants",
        true,
    ),
    (
        "gateway.networking.k8s.io/v1beta1",
        "ReferenceGrant",
        "referencegrants",
        true,
    ),
];

/// Kinds found by discovery in this run (pod-template controllers: see
/// [`super::discovery`]), with whether they are namespaced.
static DISCOVERED: std::sync::RwLock<Vec<(ApiResource, bool)>> = std::sync::RwLock::new(Vec::new());

/// Makes a kind found by discovery known to [`api_resource`] (listing, patching, rollback).
pub(crate) fn register(ar: &ApiResource, namespaced: bool) {
    let mut known = DISCOVERED.write().unwrap_or_else(|e| e.into_inner());
    if !known
        .iter()
        .any(|(k, _)| k.api_version == ar.api_version && k.kind == ar.kind)
    {
        known.push((ar.clone(), namespaced));
    }
}

/// The `ApiResource` for `apiVersion` + `kind`, if it is one we know (built in, or found by
/// discovery in this run).
pub(crate) fn api_resource(api_version: &str, kind: &str) -> Option<ApiResource> {
    let Some((_, _, plural, _)) = KNOWN
        .iter()
        .find(|(v, k, _, _)| *v == api_version && *k == kind)
    else {
        let known = DISCOVERED.read().unwrap_or_else(|e| e.into_inner());
        return known
            .iter()
            .find(|(k, _)| k.api_version == api_version && k.kind == kind)
            .map(|(k, _)| k.clone());
    };
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    Some(ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(group, version, kind),
        plural,
    ))
}

/// `deployments.apps`, as RBAC names a resource.
pub(crate) fn rbac_name(ar: &ApiResource) -> String {
    if ar.group.is_empty() {
        ar.plural.clone()
    } else {
        format!("{}.{}", ar.plural, ar.group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_old_cronjobs_and_core_kinds() {
        let ar = api_resource("batch/v1beta1", "CronJob").unwrap();
        assert_eq!(
            (ar.group.as_str(), ar.version.as_str()),
            ("batch", "v1beta1")
        );
        assert_eq!(rbac_name(&api_resource("v1", "Pod").unwrap()), "pods");
        assert!(api_resource("v1", "Endpoints").is_none());
        assert_eq!(
            rbac_name(&api_resource("apps/v1", "Deployment").unwrap()),
            "deployments.apps"
        );
        assert_eq!(
            rbac_name(&api_resource("gateway.networking.k8s.io/v1", "HTTPRoute").unwrap()),
            "httproutes.gateway.networking.k8s.io"
        );
    }
}
