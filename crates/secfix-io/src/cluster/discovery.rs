//! Controllers with pod templates beyond the built-in kinds, found by API discovery.
//!
//! A live run lists Argo Rollouts (`argoproj.io/v1alpha1`) and OpenShift DeploymentConfigs
//! (`apps.openshift.io/v1`) when the cluster serves them, and any kind named with
//! `--include-kinds GROUP/VERSION/KIND`. Each one served is registered
//! ([`super::resources::register`]), so listing, `fix` (JSON patches through the dynamic
//! API, at the same paths as a Deployment's) and `rollback` reach it like a built-in kind;
//! and it is registered as a controller ([`secfix_core::model::workload::register_controller`]),
//! so the ReplicaSets, ReplicationControllers, Jobs and Pods it owns are reported on it.

use kube::Client;
use kube::core::GroupVersionKind;
use kube::discovery::Scope;

use super::status_code;

/// Pod-template kinds listed whenever the cluster serves them.
pub(crate) const TEMPLATE_KINDS: &[(&str, &str, &str)] = &[
    ("argoproj.io", "v1alpha1", "Rollout"),
    ("apps.openshift.io", "v1", "DeploymentConfig"),
];

/// A kind named with `--include-kinds`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KindRef {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl KindRef {
    /// Parses `GROUP/VERSION/KIND` (e.g. `argoproj.io/v1alpha1/Rollout`).
    pub fn parse(s: &str) -> Result<KindRef, String> {
        let parts: Vec<&str> = s.split('/').collect();
        let [group, version, kind] = parts[..] else {
            return Err(format!(
                "{s:?}: expected GROUP/VERSION/KIND, e.g. argoproj.io/v1alpha1/Rollout"
            ));
        };
        let dns = |x: &str| {
            !x.is_empty()
                && x.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        };
        if !dns(group) || !dns(version) {
            return Err(format!("{s:?}: the group and version must be DNS names"));
        }
        if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!("{s:?}: the kind must be letters and digits"));
        }
        Ok(KindRef {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
        })
    }

    pub fn api_version(&self) -> String {
        format!("{}/{}", self.group, self.version)
    }
}

impl std::fmt::Display for KindRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.group, self.version, self.kind)
    }
}

/// A kind the cluster serves: what to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Served {
    pub api_version: String,
    pub kind: String,
    pub namespaced: bool,
}

/// Asks the cluster which of [`TEMPLATE_KINDS`] and `include` it serves, registers those,
/// and returns them, with a warning for each kind of `include` it does not serve (the
/// built-in ones are silently skipped: most clusters have neither).
pub(crate) async fn discover(client: &Client, include: &[KindRef]) -> (Vec<Served>, Vec<String>) {
    let mut wanted: Vec<(KindRef, bool)> = TEMPLATE_KINDS
        .iter()
        .map(|(g, v, k)| {
            (
                KindRef {
                    group: (*g).into(),
                    version: (*v).into(),
                    kind: (*k).into(),
                },
                false,
            )
        })
        .collect();
    for k in include {
        match wanted.iter_mut().find(|(w, _)| w == k) {
            Some(w) => w.1 = true,
            None => wanted.push((k.clone(), true)),
        }
    }
    let lookups = wanted.iter().map(|(k, _)| {
        let gvk = GroupVersionKind::gvk(&k.group, &k.version, &k.kind);
        async move { kube::discovery::pinned_kind(client, &gvk).await }
    });
    let results = futures::future::join_all(lookups).await;
    let mut served = Vec::new();
    let mut warnings = Vec::new();
    for ((k, explicit), r) in wanted.into_iter().zip(results) {
        match r {
            Ok((ar, caps)) => {
                let namespaced = caps.scope == Scope::Namespaced;
                super::resources::register(&ar, namespaced);
                secfix_core::model::workload::register_controller(&ar.kind);
                served.push(Served {
                    api_version: ar.api_version.clone(),
                    kind: ar.kind.clone(),
                    namespaced,
                });
            }
            Err(e) if !explicit && is_not_served(&e) => {}
            Err(e) if is_not_served(&e) => {
                warnings.push(format!("--include-kinds {k}: not served by this cluster"))
            }
            Err(e) => warnings.push(format!(
                "cannot tell whether the cluster serves {k}: {}",
                super::describe_error(&e)
            )),
        }
    }
    (served, warnings)
}

/// The group or version is not served (404), or it is and the kind is not.
fn is_not_served(e: &kube::Error) -> bool {
    status_code(e) == Some(404) || matches!(e, kube::Error::Discovery(_))
}

/// Registers `api_version`/`kind` from discovery when it is not known yet (for `rollback`
/// of a fix made to a discovered kind). `Ok(false)` when the cluster does not serve it.
pub async fn ensure_known(client: &Client, api_version: &str, kind: &str) -> Result<bool, String> {
    if super::resources::api_resource(api_version, kind).is_some() {
        return Ok(true);
    }
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    match kube::discovery::pinned_kind(client, &gvk).await {
        Ok((ar, caps)) => {
            super::resources::register(&ar, caps.scope == Scope::Namespaced);
            Ok(true)
        }
        Err(e) if is_not_served(&e) => Ok(false),
        Err(e) => Err(super::describe_error(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_kinds_are_group_version_kind() {
        let k = KindRef::parse("argoproj.io/v1alpha1/Rollout").unwrap();
        assert_eq!(k.api_version(), "argoproj.io/v1alpha1");
        assert_eq!(k.to_string(), "argoproj.io/v1alpha1/Rollout");
        for bad in [
            "Rollout",
            "v1/Pod",
            "a/b/c/d",
            "argoproj.io//Rollout",
            "x.io/v1/Bad Kind",
            "x.io/v1/",
            "x_io/v1/K",
        ] {
            assert!(KindRef::parse(bad).is_err(), "{bad}");
        }
    }
}
