//! Fix builders: pure functions from an object and its findings to a [`Plan`]: the changed
//! object, the minimal guarded JSON patch, and its inverse. No I/O here; `cluster` applies
//! plans, `manifest` writes them to files, `ui` previews them.

pub mod digest;
pub mod file_env;
pub mod fleet;
pub mod gitops;
pub(crate) mod literal_secret;
pub mod network_policy;
pub mod overlay;
pub mod patch;
pub mod plan;
pub mod redact;
pub(crate) mod secret_volume;
pub mod server_message;
pub mod workload;

use json_patch::{Patch, PatchOperation};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use self::file_env::UserFileVars;
use crate::checks::{Delivery, Finding};

/// Default folder under which Secrets moved out of environment variables are mounted.
pub const DEFAULT_MOUNT_ROOT: &str = "/var/run/secrets/secfix";

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
    /// The keys of the ConfigMaps and Secrets `envFrom` reads: a native move must not
    /// conflict with them.
    pub env_sources: file_env::EnvSources,
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
            env_sources: file_env::EnvSources::default(),
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
    /// The same entry, typed: what joins the move to its finding ([`Finding::at`]).
    #[serde(skip)]
    pub at: crate::model::FieldRef,
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
        write!(
            f,
            "{} {}/{}",
            self.kind,
            crate::model::names::namespace_label(&self.namespace),
            self.name
        )
    }
}

/// What applying a plan does to its target.
#[derive(Debug, Clone)]
pub enum Action {
    /// Patch an existing object. `ops` are the changes; `guards` the `test` ops on what the
    /// fix read (the pod spec as it was, see [`patch::content_guards`]); `inverse` turns the
    /// patched object back (for secrets moved out of literals: into a `secretKeyRef` to the
    /// new Secret, never the literal). All paths are under `pointer`, the object's pod spec,
    /// except a rewrite of the last-applied annotation.
    /// `resource_version` is the version the plan was built from; `None` only for an object
    /// read from a manifest, whose patch is applied to the file and never sent.
    Patch {
        resource_version: Option<String>,
        pointer: String,
        guards: Vec<PatchOperation>,
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
    pub fn deliveries(&self) -> (usize, usize) {
        let n = |d| self.moved.iter().filter(|m| m.delivery == d).count();
        (n(Delivery::Native), n(Delivery::AppChange))
    }

    /// Whether the app must be changed for some move of this plan.
    pub fn needs_app_change(&self) -> bool {
        self.deliveries().1 > 0
    }

    /// The patch as it is saved, printed and written into overlays: the content guards (the
    /// pod spec as the fix read it), then the ops. It holds no `resourceVersion`, so a
    /// controller's status write does not invalidate it, and no value the redaction hides.
    pub(crate) fn forward_patch(&self) -> Option<Patch> {
        match &self.action {
            Action::Patch { guards, ops, .. } => {
                Some(Patch(guards.iter().chain(ops).cloned().collect()))
            }
            Action::Create => None,
        }
    }

    /// The patch to send to the server as first try: the ops pinned to the `resourceVersion`
    /// the plan was built from (whose content the guards describe); `None` when the plan has
    /// no `resourceVersion` (or creates instead of patching).
    pub fn guarded_patch(&self) -> Option<Patch> {
        match &self.action {
            Action::Patch {
                resource_version: Some(rv),
                ops,
                ..
            } => Some(patch::pinned(rv, ops)),
            _ => None,
        }
    }

    /// The patch to send as it is, when its content guards cover all the plan read: one `test`
    /// of the whole pod spec (no value in it hidden by the redaction), and every op under the
    /// pod spec. The server checks the test atomically with the write, so a controller's
    /// status write in between costs nothing (issue 26: no re-read, no resend), while any
    /// change to the pod spec fails it. `None` otherwise: then the patch is sent pinned to a
    /// `resourceVersion` whose content was checked ([`Plan::guarded_patch`]).
    pub fn self_guarded_patch(&self) -> Option<Patch> {
        let Action::Patch {
            pointer,
            guards,
            ops,
            ..
        } = &self.action
        else {
            return None;
        };
        let whole = match guards.as_slice() {
            [PatchOperation::Test(t)] => {
                t.path.as_str() == pointer && self.before.pointer(pointer) == Some(&t.value)
            }
            _ => false,
        };
        let under = |op: &PatchOperation| {
            op.path()
                .as_str()
                .strip_prefix(pointer.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
        };
        (whole && ops.iter().all(under)).then(|| self.forward_patch())?
    }

    /// Where `now` (the object as the server has it now) differs from what the plan read: the
    /// pod spec, and the last-applied annotation when the plan rewrites it. A path, never a
    /// value; `None` when the plan still applies as built.
    pub fn changed_since_read(&self, now: &Value) -> Option<String> {
        let Action::Patch { pointer, ops, .. } = &self.action else {
            return None;
        };
        if let Some(path) = patch::first_difference(&self.before, now, pointer) {
            return Some(path);
        }
        ops.iter()
            .map(|op| op.path().to_string())
            .filter(|p| !p.starts_with(pointer.as_str()))
            .find(|p| self.before.pointer(p) != now.pointer(p))
    }

    /// The inverse patch as it is saved: guards on the pod spec as the server returned it
    /// after the fix (`after`, the whole patched object; so anyone who changed what the fix
    /// wrote or read makes it fail, while status writes and scaling do not), then the ops
    /// that restore the spec. Guards carry no value the redaction hides.
    pub fn inverse_patch(&self, after: &Value) -> Option<Patch> {
        self.inverse_patch_with(&redact::Redactor::for_plan(self), after)
    }

    /// [`Plan::inverse_patch`] with this plan's redactor already built
    /// ([`redact::Redactor::for_plan`]): a caller making several redacted copies of one plan
    /// (the journal, per object at fleet scale) builds it once.
    pub fn inverse_patch_with(
        &self,
        plan_redactor: &redact::Redactor,
        after: &Value,
    ) -> Option<Patch> {
        let Action::Patch {
            pointer, inverse, ..
        } = &self.action
        else {
            return None;
        };
        let spec = after.pointer(pointer)?;
        let mut r = plan_redactor.clone();
        r.learn(after);
        let guards = patch::content_guards(pointer, spec, &r.value(spec));
        Some(Patch(guards.into_iter().chain(inverse.clone()).collect()))
    }
}
