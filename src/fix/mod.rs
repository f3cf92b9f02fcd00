//! Fix builders: pure functions from an object and its findings to a [`Plan`]: the changed
//! object, the minimal guarded JSON patch, and its inverse. No I/O here; `cluster` applies
//! plans, `manifest` writes them to files, `ui` previews them.

pub mod digest;
pub(crate) mod file_env;
pub(crate) mod gitops;
pub(crate) mod literal_secret;
pub(crate) mod network_policy;
pub mod patch;
pub mod plan;
pub mod redact;
pub(crate) mod secret_volume;
pub mod workload;

use json_patch::{Patch, PatchOperation};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use self::file_env::UserFileVars;
use crate::model::{Delivery, Finding};

/// Default folder under which Secrets moved out of environment variables are mounted.
pub(crate) const DEFAULT_MOUNT_ROOT: &str = "/var/run/secrets/secfix";

/// Knobs of the fix builders (from `fix` flags).
#[derive(Debug, Clone)]
pub struct FixOptions {
    /// Folder under which each Secret is mounted at `<mount_root>/<secret>`.
    pub mount_root: String,
    /// Set a variable naming each moved file (`false` with `--no-file-env`: only the
    /// variables named in `file_env_vars` are set).
    pub file_env: bool,
    /// Variables the user named with `--file-env NAME=VAR`: those moves are native.
    pub file_env_vars: UserFileVars,
    /// Whether [`plan::build_plans`] keeps moves the app must be changed for.
    pub app_changes: AppChanges,
    /// Default-deny policies allow DNS egress (UDP/TCP 53).
    pub allow_dns: bool,
    /// What the `default-allow-namespace` fix writes.
    pub network_policy: network_policy::Mode,
    /// Address blocks every pod may reach (least-privilege policies, `--allow-egress`).
    pub allow_egress: Vec<network_policy::graph::Cidr>,
    /// The Kubernetes API server's addresses (live: Endpoints default/kubernetes;
    /// `--api-server`), for the least-privilege policies.
    pub api_server: Option<network_policy::graph::ApiServer>,
    /// The ingress controllers' pods (`--ingress-from`).
    pub ingress_from: Vec<network_policy::graph::PodsRef>,
    /// Flows the user keeps (`--allow-flow`).
    pub allow_flows: Vec<network_policy::graph::AllowFlow>,
}

impl Default for FixOptions {
    fn default() -> Self {
        FixOptions {
            mount_root: DEFAULT_MOUNT_ROOT.to_string(),
            file_env: true,
            file_env_vars: UserFileVars::default(),
            app_changes: AppChanges::LeaveOut,
            allow_dns: true,
            network_policy: network_policy::Mode::default(),
            allow_egress: Vec::new(),
            api_server: None,
            ingress_from: Vec::new(),
            allow_flows: Vec::new(),
        }
    }
}

/// What plan building does with a secret move the app must be changed for
/// ([`Delivery::AppChange`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppChanges {
    /// Leave it out of the plan and report it (`--yes`, `--dry-run`, `fix -f` without
    /// `--allow-app-changes`).
    LeaveOut,
    /// Keep it (`--allow-app-changes`; interactive mode, which offers it with the default
    /// choice skip).
    Include,
}

/// A secret a plan moves from an env var into a file, and how it reaches the app now.
/// Names and paths only, never a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MovedSecret {
    /// JSON pointer of the `env` (or `envFrom`) entry in the object, as in its finding.
    pub path: String,
    pub container: String,
    /// The variable moved; absent for `envFrom`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    pub secret: String,
    /// The file holding the value now (for `envFrom`: the folder, one file per key).
    pub file: String,
    /// The variable set to the file's path; absent when none is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_var: Option<String>,
    pub delivery: Delivery,
    /// Why this class: the table entry and its docs, `--file-env`, or why it is unknown.
    pub reason: String,
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
    /// `rollback` leaves it in place (the Secret a restored spec still references); else
    /// it is deleted with the rest of the plan.
    pub keep_on_rollback: bool,
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
    /// The secrets moved from env vars into files, with their delivery class.
    pub moved: Vec<MovedSecret>,
    /// The object before (`Null` for a create) and after the change. May hold literal
    /// secret values: display through `redact` only.
    pub before: Value,
    pub after: Value,
    /// For a NetworkPolicy set: the flow table that explains it (who may call what, on
    /// which ports, from what evidence; what will be blocked). Empty for other plans.
    pub flows: Vec<network_policy::graph::Flow>,
}

impl Plan {
    /// How many moved secrets of each class: (native, app-change).
    pub(crate) fn deliveries(&self) -> (usize, usize) {
        let n = |d| self.moved.iter().filter(|m| m.delivery == d).count();
        (n(Delivery::Native), n(Delivery::AppChange))
    }

    /// Whether the app must be changed for some move of this plan.
    pub(crate) fn needs_app_change(&self) -> bool {
        self.deliveries().1 > 0
    }

    /// The patch sent to the server: the `resourceVersion` guard, then the ops. A plan
    /// built from a manifest has no `resourceVersion`, so its patch has no guard (it is
    /// applied to the file; `cluster::apply` refuses to send it).
    pub(crate) fn forward_patch(&self) -> Option<Patch> {
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
    pub(crate) fn inverse_patch(&self, new_resource_version: &str) -> Option<Patch> {
        match &self.action {
            Action::Patch { inverse, .. } => {
                Some(patch::guarded(new_resource_version, inverse.clone()))
            }
            Action::Create => None,
        }
    }
}
