//! Fix builders: pure functions from an object and its findings to a [`Plan`]: the changed
//! object, the minimal guarded JSON patch, and its inverse. No I/O here; `cluster` applies
//! plans, `manifest` writes them to files, `ui` previews them.

pub mod digest;
pub mod gitops;
pub mod literal_secret;
pub mod network_policy;
pub mod patch;
pub mod plan;
pub mod redact;
pub mod secret_volume;
pub mod workload;

use json_patch::{Patch, PatchOperation};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::Finding;

/// Default folder under which Secrets moved out of environment variables are mounted.
pub const DEFAULT_MOUNT_ROOT: &str = "/var/run/secrets/secfix";

/// Knobs of the fix builders (from `fix` flags).
#[derive(Debug, Clone)]
pub struct FixOptions {
    /// Folder under which each Secret is mounted at `<mount_root>/<secret>`.
    pub mount_root: String,
    /// Add `<NAME>_FILE=<path>` for each variable moved to a file.
    pub file_env: bool,
    /// Default-deny policies allow DNS egress (UDP/TCP 53).
    pub allow_dns: bool,
}

impl Default for FixOptions {
    fn default() -> Self {
        FixOptions {
            mount_root: DEFAULT_MOUNT_ROOT.to_string(),
            file_env: true,
            allow_dns: true,
        }
    }
}

/// The object a plan changes or creates (also as saved in rollback records).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// What applying a plan does to its target.
#[derive(Debug, Clone)]
pub enum Action {
    /// Patch an existing object. `ops` are unguarded; [`Plan::forward_patch`] adds the
    /// `resourceVersion` test. `inverse` turns the patched object back (for secrets moved
    /// out of literals: into a `secretKeyRef` to the new Secret, never the literal).
    /// `resource_version` is `None` only for an object read from a manifest, whose patch is
    /// applied to the file and never sent.
    Patch {
        resource_version: Option<String>,
        ops: Vec<PatchOperation>,
        inverse: Vec<PatchOperation>,
    },
    /// Create the target (a NetworkPolicy); its inverse is a delete guarded by uid.
    Create,
}

/// An object a plan creates before its main action (the Secret for moved literals).
#[derive(Debug, Clone)]
pub struct NewObject {
    pub target: Target,
    pub object: Value,
    /// Holds secret values: never print or save `object` unredacted.
    pub sensitive: bool,
}

/// Every change for one target object, grouping all its fixable findings.
#[derive(Debug, Clone)]
pub struct Plan {
    pub target: Target,
    pub findings: Vec<Finding>,
    pub action: Action,
    /// Created first, in order.
    pub prerequisites: Vec<NewObject>,
    /// Things the user must know (app must read `<NAME>_FILE`, GitOps owner, Services that
    /// lose ingress, …). Never contain secret values.
    pub warnings: Vec<String>,
    /// The object before (`Null` for a create) and after the change. May hold literal
    /// secret values: display through `redact` only.
    pub before: Value,
    pub after: Value,
}

impl Plan {
    /// The patch sent to the server: the `resourceVersion` guard, then the ops. A plan
    /// built from a manifest has no `resourceVersion`, so its patch has no guard (it is
    /// applied to the file; `cluster::apply` refuses to send it).
    pub fn forward_patch(&self) -> Option<Patch> {
        match &self.action {
            Action::Patch {
                resource_version: Some(rv),
                ops,
                ..
            } => Some(patch::guarded(rv, ops.clone())),
            Action::Patch {
                resource_version: None,
                ops,
                ..
            } => Some(Patch(ops.clone())),
            Action::Create => None,
        }
    }

    /// The guarded patch to send to the server; `None` when the plan has no
    /// `resourceVersion` to guard it with (or creates instead of patching).
    pub fn guarded_patch(&self) -> Option<Patch> {
        match &self.action {
            Action::Patch {
                resource_version: Some(rv),
                ops,
                ..
            } => Some(patch::guarded(rv, ops.clone())),
            _ => None,
        }
    }

    /// The inverse patch, guarded by the `resourceVersion` the forward patch produced.
    pub fn inverse_patch(&self, new_resource_version: &str) -> Option<Patch> {
        match &self.action {
            Action::Patch { inverse, .. } => {
                Some(patch::guarded(new_resource_version, inverse.clone()))
            }
            Action::Create => None,
        }
    }
}
