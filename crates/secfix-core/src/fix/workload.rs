//! Orchestration of the fixes of one workload: every fixable finding of the object becomes
//! part of a single [`Plan`].
//!
//! The typed pod spec goes in, the fixed pod spec comes out; the patch is the minimal diff
//! of the two (serialised the same way, so fields the fix does not touch never appear), placed
//! under the object's pod spec pointer, and `after` is that patch applied to the object as
//! read. The inverse turns `after` back into the original, except that env entries whose
//! literal values were moved into a Secret come back as `secretKeyRef`s to that Secret: the
//! literal never appears in a patch. A `kubectl.kubernetes.io/last-applied-configuration`
//! annotation holding a moved literal is rewritten the same way (one `replace` op), so the
//! literal leaves the object entirely; the inverse leaves that rewritten annotation, which
//! already matches the `secretKeyRef`s it restores.
//!
//! Scope: the object that owns the pod template is the target. A bare Pod only takes digest
//! pins (the rest of a Pod's spec is immutable). Objects owned by a controller that is scanned
//! itself (a Deployment's ReplicaSet, a CronJob's Job) are refused: fix the owner.

use std::collections::BTreeSet;

use json_patch::jsonptr::PointerBuf;
use json_patch::{PatchOperation, ReplaceOperation};
use k8s_openapi::api::core::v1::{Container, EnvVar, EnvVarSource, PodSpec, SecretKeySelector};

use super::file_env::{Policy, Table};
use super::literal_secret::{self, LiteralSecret};
use super::redact::LAST_APPLIED_ANNOTATION;
use super::secret_volume::{self, Move, MoveError};
use super::{Action, FixOptions, MovedSecret, Plan, Target, gitops, patch};
use crate::checks::Finding;
use crate::checks::Fixer;
use crate::model::workload::{container_mut, container_name};
use crate::model::{ContainerGroup, Workload, WorkloadKind};
use serde_json::Value;

/// Why a workload's findings could not be turned into a plan. Messages name the object and
/// the JSON pointer, never a value.
#[derive(Debug, thiserror::Error)]
pub enum FixError {
    #[error("{object}: finding path {path:?} does not point at a fixable field of its pod spec")]
    BadPath { object: String, path: String },
    #[error("{object}: {path} no longer matches the finding ({expected}); scan again")]
    Stale {
        object: String,
        path: String,
        expected: String,
    },
    #[error("{object}: {path}: ephemeral containers cannot be fixed")]
    Ephemeral { object: String, path: String },
    #[error("{object} is managed by {owner}: fix {owner} instead")]
    Owned { object: String, owner: String },
    #[error("{object}: {path}: {source}")]
    Image {
        object: String,
        path: String,
        source: crate::model::image_ref::ImageRefError,
    },
    #[error("{object}: {source}")]
    Move { object: String, source: MoveError },
    #[error("{object}: cannot serialise the pod spec: {source}")]
    Json {
        object: String,
        source: serde_json::Error,
    },
    #[error("{object}: {pointer:?} is not a JSON pointer: {source}")]
    Pointer {
        object: String,
        pointer: String,
        source: json_patch::jsonptr::Report<json_patch::jsonptr::ParseError>,
    },
    #[error("{object}: the fix does not apply to the object as read: {source}")]
    Patch {
        object: String,
        source: json_patch::PatchError,
    },
    #[error(
        "{object}: {path} could not be read (wrong type or a placeholder), and the fix would change it; correct it first"
    )]
    Unread { object: String, path: String },
}

/// The plan fixing every fixable finding of `w`, or `None` when none applies.
/// The Secret for moved literals is named `<workload>-secfix`, avoiding the Secrets the
/// workload already references; see [`plan_workload_with_secrets`] to avoid more.
pub fn plan_workload(
    w: &Workload,
    findings: &[Finding],
    opts: &FixOptions,
) -> Result<Option<Plan>, FixError> {
    plan_workload_with_secrets(w, findings, opts, &BTreeSet::new())
}

/// [`plan_workload`], also avoiding the Secret names in `existing_secrets` (the Secrets of
/// the namespace, when known) for the Secret that receives moved literals.
pub(crate) fn plan_workload_with_secrets(
    w: &Workload,
    findings: &[Finding],
    opts: &FixOptions,
    existing_secrets: &BTreeSet<String>,
) -> Result<Option<Plan>, FixError> {
    Ok(build(w, findings, opts, existing_secrets)?.map(|b| b.plan))
}

/// A plan with the typed specs it was made from (the property tests check them).
#[derive(Debug)]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct Built {
    pub plan: Plan,
    /// The fixed pod spec.
    pub fixed: PodSpec,
    /// What the inverse restores: the original, literals replaced by `secretKeyRef`s.
    pub restored: PodSpec,
}

/// The field of a container a finding points at.
pub use crate::model::ContainerField as Field;

/// The container and field `f` is about, from its typed place ([`Finding::at`]), when it
/// is a field of a container of this object's pod spec (`spec_pointer`).
fn located(spec_pointer: &str, f: &Finding) -> Option<(ContainerGroup, usize, Field)> {
    let at = f.at.filter(|at| at.container.spec == spec_pointer)?;
    Some((at.container.group, at.container.index, at.field))
}

/// Secret names `spec` already refers to (volumes, env, envFrom, image pull secrets).
fn referenced_secrets(spec: &PodSpec) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for v in spec.volumes.iter().flatten() {
        if let Some(n) = v.secret.as_ref().and_then(|s| s.secret_name.clone()) {
            out.insert(n);
        }
        for src in v.projected.iter().flat_map(|p| p.sources.iter().flatten()) {
            if let Some(s) = &src.secret {
                out.insert(s.name.clone());
            }
        }
    }
    for r in spec.image_pull_secrets.iter().flatten() {
        out.insert(r.name.clone());
    }
    let containers = spec
        .init_containers
        .iter()
        .flatten()
        .chain(&spec.containers);
    for c in containers {
        for e in c.env.iter().flatten() {
            if let Some(s) = e
                .value_from
                .as_ref()
                .and_then(|v| v.secret_key_ref.as_ref())
            {
                out.insert(s.name.clone());
            }
        }
        for e in c.env_from.iter().flatten() {
            if let Some(s) = &e.secret_ref {
                out.insert(s.name.clone());
            }
        }
    }
    out
}

/// Builds the plan in three phases: [`select`] the findings this object's plan fixes,
/// [`collect_edits`] (check each against the spec as read and gather what to change), then
/// [`apply_edits`] and [`make_plan`] (the fixed spec, the patch, its inverse).
pub(crate) fn build(
    w: &Workload,
    findings: &[Finding],
    opts: &FixOptions,
    existing_secrets: &BTreeSet<String>,
) -> Result<Option<Built>, FixError> {
    let object = format!("{} {}/{}", w.kind, w.namespace(), w.name());
    let mine = select(w, findings);
    if mine.is_empty() {
        return Ok(None);
    }
    if w.is_owned_by_scanned_controller()
        && let Some(o) = w.controller()
    {
        return Err(FixError::Owned {
            object,
            owner: format!("{} {}", o.kind, o.name),
        });
    }
    let edits = collect_edits(w, &mine, existing_secrets, &object)?;
    if edits.used.is_empty() {
        return Ok(None);
    }
    let (fixed, warnings, moved) = apply_edits(w, &edits, opts, &object)?;
    make_plan(w, edits, fixed, warnings, moved, &object)
}

/// The findings of `findings` that this object's plan fixes: fixable, about `w`, of a check
/// fixed per workload, each once. A Pod takes only image pins (the rest of its spec is
/// immutable).
fn select<'a>(w: &Workload, findings: &'a [Finding]) -> Vec<&'a Finding> {
    let mut seen = BTreeSet::new();
    findings
        .iter()
        .filter(|f| {
            f.fixable
                && f.kind == w.kind.as_str()
                && f.name == w.name()
                && (f.namespace.is_empty() || f.namespace == w.namespace())
                && workload_fix(f).is_some_and(|fix| w.kind != WorkloadKind::Pod || fix.image_only())
                // The same finding twice (e.g. from two scans) is fixed once.
                && seen.insert((f.check, f.path.clone()))
        })
        .collect()
}

/// A check's per-workload fix (its [`Fixer::Workload`]): checks its finding against the
/// spec as read (a stale finding is an error, never a guess) and gathers the edit it asks
/// for into the object's plan. Each check's folder implements it.
pub trait WorkloadFix: Sync + std::fmt::Debug {
    /// Whether it changes only a container's image, the one change a live Pod allows.
    fn image_only(&self) -> bool;
    /// Whether it moves literal values into a new Secret (whose name is chosen first).
    fn moves_literals(&self) -> bool;
    /// Gathers what `at.f` asks of `field` of its container. `Ok(false)`: nothing to do
    /// (e.g. an image without a digest has nothing to pin).
    fn gather(&self, edits: &mut Edits, at: &At<'_>, field: Field) -> Result<bool, FixError>;
}

/// The per-workload fix of `f`'s check, if it has one.
fn workload_fix(f: &Finding) -> Option<&'static dyn WorkloadFix> {
    match f.check.def().fixer() {
        Some(Fixer::Workload(fix)) => Some(fix),
        Some(Fixer::Namespace(_)) | None => None,
    }
}

/// What the plan changes, gathered and checked against the spec as read.
#[derive(Debug)]
pub struct Edits {
    /// The findings the plan fixes.
    used: Vec<Finding>,
    /// What the inverse restores: the original spec, literals replaced by `secretKeyRef`s to
    /// the new Secret. The fix starts from it too.
    pub(crate) restored: PodSpec,
    pub(crate) moves: Vec<Move>,
    /// New image references by container.
    pub(crate) images: Vec<(ContainerGroup, usize, String)>,
    /// Moved literal values, and the Secret that receives them.
    pub(crate) literals: LiteralSecret,
    pub(crate) secret_name: Option<String>,
}

/// Checks each finding against the spec as read (a stale finding is an error, never a
/// guess) and gathers the moves, image pins and literals it asks for.
fn collect_edits(
    w: &Workload,
    mine: &[&Finding],
    existing_secrets: &BTreeSet<String>,
    object: &str,
) -> Result<Edits, FixError> {
    let ptr = w.spec_pointer();
    let has_literals = mine
        .iter()
        .any(|f| workload_fix(f).is_some_and(|fix| fix.moves_literals()));
    let secret_name = has_literals.then(|| {
        let mut taken = referenced_secrets(&w.spec);
        taken.extend(existing_secrets.iter().cloned());
        literal_secret::secret_name(w.name(), &taken)
    });
    let mut e = Edits {
        used: Vec::new(),
        restored: w.spec.clone(),
        moves: Vec::new(),
        images: Vec::new(),
        literals: LiteralSecret::default(),
        secret_name,
    };
    for &f in mine {
        let (group, index, field) = located(ptr, f).ok_or_else(|| bad_path(object, f))?;
        if group == ContainerGroup::EphemeralContainers {
            return Err(FixError::Ephemeral {
                object: object.to_string(),
                path: f.path.clone(),
            });
        }
        let at = At {
            object,
            f,
            group,
            index,
        };
        if e.add(&at, field)? {
            e.used.push(f.clone());
        }
    }
    Ok(e)
}

pub(crate) fn bad_path(object: &str, f: &Finding) -> FixError {
    FixError::BadPath {
        object: object.to_string(),
        path: f.path.clone(),
    }
}

/// The finding being gathered, and the container it points at.
#[derive(Debug)]
pub struct At<'a> {
    pub(crate) object: &'a str,
    pub(crate) f: &'a Finding,
    pub(crate) group: ContainerGroup,
    pub(crate) index: usize,
}

impl At<'_> {
    /// The spec no longer holds what the finding saw.
    pub(crate) fn stale(&self, expected: String) -> FixError {
        FixError::Stale {
            object: self.object.to_string(),
            path: self.f.path.clone(),
            expected,
        }
    }
}

impl Edits {
    /// Gathers what finding `at.f` asks of `field` of its container, through its check's
    /// fix. `false`: nothing to do.
    fn add(&mut self, at: &At<'_>, field: Field) -> Result<bool, FixError> {
        let fix = workload_fix(at.f).ok_or_else(|| bad_path(at.object, at.f))?;
        fix.gather(self, at, field)
    }

    /// The container `at` points at, in the spec being restored.
    pub(crate) fn container(&mut self, at: &At<'_>) -> Result<&mut Container, FixError> {
        container_mut(&mut self.restored, at.group, at.index)
            .ok_or_else(|| bad_path(at.object, at.f))
    }

    /// A literal secret in `env[i]`: its value goes into the new Secret, and the entry
    /// (in the restored spec too) becomes a `secretKeyRef` to it, then moved like the rest.
    pub(crate) fn add_literal(&mut self, at: &At<'_>, env: &str, i: usize) -> Result<(), FixError> {
        let stale = || at.stale(format!("a literal value in env {env}"));
        let container = container_mut(&mut self.restored, at.group, at.index)
            .ok_or_else(|| bad_path(at.object, at.f))?;
        let entry = container
            .env
            .as_mut()
            .and_then(|e| e.get_mut(i))
            .filter(|e| e.name == env);
        let (Some(entry), Some(secret)) = (entry, self.secret_name.as_ref()) else {
            return Err(stale());
        };
        let Some(value) = entry.value.as_deref() else {
            return Err(stale());
        };
        let key = self.literals.add(env, value);
        *entry = EnvVar {
            name: env.to_string(),
            value: None,
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: secret.clone(),
                    key: key.clone(),
                    optional: None,
                }),
                ..EnvVarSource::default()
            }),
        };
        self.moves.push(Move::Key {
            group: at.group,
            container: at.index,
            index: i,
            env: env.to_string(),
            secret: secret.clone(),
            key,
            optional: false,
        });
        Ok(())
    }
}

/// The fixed spec (moves and pins applied to the restored spec), the warnings the user
/// must read, and how each moved secret reaches the app.
fn apply_edits(
    w: &Workload,
    e: &Edits,
    opts: &FixOptions,
    object: &str,
) -> Result<(PodSpec, Vec<String>, Vec<MovedSecret>), FixError> {
    let mut fixed = e.restored.clone();
    let mut warnings: Vec<String> = gitops::gitops_warning(&w.metadata).into_iter().collect();
    let policy = Policy {
        table: Table::builtin(),
        user: &opts.file_env_vars,
        set_file_vars: opts.file_env,
        sources: &opts.env_sources,
        namespace: w.namespace(),
    };
    let moved = secret_volume::move_secrets(&mut fixed, &e.moves, &opts.mount_root, policy)
        .map_err(|source| FixError::Move {
            object: object.to_string(),
            source,
        })?;
    warnings.extend(moved.warnings);
    let moved: Vec<MovedSecret> = moved
        .vars
        .into_iter()
        .map(|v| {
            let at = crate::model::FieldRef {
                container: crate::model::workload::Pointer {
                    spec: w.spec_pointer(),
                    group: v.group,
                    index: v.container,
                },
                field: if v.is_env {
                    Field::Env(v.index)
                } else {
                    Field::EnvFrom(v.index)
                },
            };
            (at, v)
        })
        .map(|(at, v)| MovedSecret {
            path: at.to_string(),
            at,
            container: v.container_name,
            env: v.env,
            secret: v.secret,
            file: v.path,
            file_var: v.resolution.file_var,
            delivery: v.resolution.delivery,
            reason: v.resolution.why.describe(),
        })
        .collect();
    for (group, ci, image) in &e.images {
        let c = container_mut(&mut fixed, *group, *ci).ok_or_else(|| FixError::BadPath {
            object: object.to_string(),
            path: format!("{}/{}/{ci}", w.spec_pointer(), group.field()),
        })?;
        c.image = Some(image.clone());
    }
    if w.kind == WorkloadKind::Job && !e.moves.is_empty() {
        warnings.push(
            "a Job's pod template is immutable: the server rejects this patch; change the \
             manifest and recreate the Job"
                .to_string(),
        );
    }
    Ok((fixed, warnings, moved))
}

/// The patch (minimal diff of the specs, under the object's pod spec pointer), its inverse
/// (back to the restored spec), and the plan.
fn make_plan(
    w: &Workload,
    mut e: Edits,
    fixed: PodSpec,
    warnings: Vec<String>,
    moved: Vec<MovedSecret>,
    object: &str,
) -> Result<Option<Built>, FixError> {
    // Each fixed finding says how its secret now reaches the app.
    for f in &mut e.used {
        if let Some(m) = moved.iter().find(|m| f.at == Some(m.at)) {
            f.detail.set_delivery(Some(m.delivery));
        }
    }
    let ptr = w.spec_pointer();
    let json = |spec: &PodSpec| {
        serde_json::to_value(spec).map_err(|source| FixError::Json {
            object: object.to_string(),
            source,
        })
    };
    let (v_before, v_fixed, v_restored) = (json(&w.spec)?, json(&fixed)?, json(&e.restored)?);
    let bad_pointer = |source| FixError::Pointer {
        object: object.to_string(),
        pointer: ptr.to_string(),
        source,
    };
    let mut ops: Vec<PatchOperation> =
        patch::diff(&v_before, &v_fixed, ptr).map_err(bad_pointer)?;
    if ops.is_empty() {
        return Ok(None);
    }
    // The moved literals leave the last-applied annotation too (no inverse op: the inverse
    // restores `secretKeyRef`s, which the rewritten annotation already names).
    if let Some(op) = last_applied_op(w, &e) {
        ops.push(op);
    }
    let inverse = patch::diff(&v_fixed, &v_restored, ptr).map_err(bad_pointer)?;
    // The typed spec leaves out fields it could not read: a change at or over one of them
    // would lose it.
    for op in ops.iter().chain(&inverse) {
        if let Some(path) = w.touches_unread(op.path().as_ref()) {
            return Err(FixError::Unread {
                object: object.to_string(),
                path: path.to_string(),
            });
        }
    }
    let after = patch::applied(&w.raw, &ops).map_err(|source| FixError::Patch {
        object: object.to_string(),
        source,
    })?;
    let prerequisites = match (e.literals.is_empty(), e.secret_name) {
        (false, Some(name)) => {
            vec![
                e.literals
                    .into_object(w.metadata.namespace.as_deref(), w.namespace(), &name),
            ]
        }
        _ => Vec::new(),
    };
    let mut plan = Plan {
        target: Target {
            api_version: w.api_version.clone(),
            kind: w.kind.as_str().to_string(),
            namespace: w.namespace().to_string(),
            name: w.name().to_string(),
        },
        findings: e.used,
        action: Action::Patch {
            resource_version: w.metadata.resource_version.clone(),
            pointer: ptr.to_string(),
            guards: Vec::new(),
            ops,
            inverse,
        },
        prerequisites,
        warnings,
        moved,
        before: w.raw.clone(),
        after,
        flows: Vec::new(),
    };
    // Guards: the pod spec as read, as far as outputs may show it (see
    // `patch::content_guards`).
    if let Some(seen) = w.raw.pointer(ptr) {
        let shown = super::redact::Redactor::for_plan(&plan).value(seen);
        if let Action::Patch { guards, .. } = &mut plan.action {
            *guards = patch::content_guards(ptr, seen, &shown);
        }
    }
    Ok(Some(Built {
        plan,
        fixed,
        restored: e.restored,
    }))
}

/// The op that rewrites `w`'s `kubectl.kubernetes.io/last-applied-configuration` annotation
/// the way the fix rewrites the spec for moved literals: each moved env entry's `value`
/// becomes the `valueFrom.secretKeyRef` to the new Secret. `None` when nothing moved, the
/// annotation is absent or not JSON, or it holds none of the moved values.
fn last_applied_op(w: &Workload, e: &Edits) -> Option<PatchOperation> {
    let secret = e.secret_name.as_deref()?;
    let text = w
        .metadata
        .annotations
        .as_ref()?
        .get(LAST_APPLIED_ANNOTATION)?;
    let mut applied: Value = serde_json::from_str(text).ok()?;
    let mut changed = false;
    for m in &e.moves {
        let Move::Key {
            group,
            container,
            env,
            secret: s,
            key,
            ..
        } = m
        else {
            continue;
        };
        if s != secret {
            continue;
        }
        let Some(name) = container_name(&w.spec, *group, *container) else {
            continue;
        };
        let pointer = format!("{}/{}", w.spec_pointer(), group.field());
        let Some(Value::Array(containers)) = applied.pointer_mut(&pointer) else {
            continue;
        };
        let Some(Value::Array(entries)) = containers
            .iter_mut()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
            .and_then(|c| c.get_mut("env"))
        else {
            continue;
        };
        for entry in entries.iter_mut() {
            let named = entry.get("name").and_then(Value::as_str) == Some(env.as_str());
            if let (true, Some(obj)) = (named, entry.as_object_mut())
                && obj.remove("value").is_some()
            {
                obj.insert(
                    "valueFrom".to_string(),
                    serde_json::json!({"secretKeyRef": {"name": secret, "key": key}}),
                );
                changed = true;
            }
        }
    }
    // Copies of the moved values elsewhere in the annotation (another env var, an `args`
    // flag) go too: the saved forward patch holds the annotation (issue #22).
    for value in e.literals.values() {
        changed |= replace_in_strings(&mut applied, value);
    }
    if !changed {
        return None;
    }
    let mut new = serde_json::to_string(&applied).ok()?;
    if text.ends_with('\n') {
        new.push('\n');
    }
    let mut path = PointerBuf::parse("/metadata/annotations").ok()?;
    path.push_back(LAST_APPLIED_ANNOTATION);
    Some(PatchOperation::Replace(ReplaceOperation {
        path,
        value: Value::String(new),
    }))
}

/// Replaces `value` with `<redacted>` in every string of `v` (values of at least
/// [`MIN_SCRUB_LEN`](super::redact::MIN_SCRUB_LEN) characters); whether any changed.
fn replace_in_strings(v: &mut Value, value: &str) -> bool {
    if value.len() < super::redact::MIN_SCRUB_LEN {
        return false;
    }
    match v {
        Value::String(s) if s.contains(value) => {
            *s = s.replace(value, crate::model::REDACTED);
            true
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |any, i| replace_in_strings(i, value) | any),
        Value::Object(map) => map
            .values_mut()
            .fold(false, |any, c| replace_in_strings(c, value) | any),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Delivery, Severity};
    use serde_json::{Value, json};

    use crate::checks::{CheckId, Detail};
    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const SECRET_VALUE: &str = "s3cr3t-Hunter2-value";

    fn workload(v: Value) -> Workload {
        Workload::from_value(v).unwrap().unwrap()
    }

    fn deployment(spec: Value) -> Workload {
        workload(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "resourceVersion": "42"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": spec}}}))
    }

    /// The typed place of `path` in `w`, as the check that made the finding sets it.
    fn field_ref(w: &Workload, path: &str) -> Option<crate::model::FieldRef> {
        use crate::model::workload::Pointer;
        let spec = w.spec_pointer();
        let rest = path.strip_prefix(spec)?.strip_prefix('/')?;
        let parts: Vec<&str> = rest.split('/').collect();
        let group = match *parts.first()? {
            "initContainers" => ContainerGroup::InitContainers,
            "containers" => ContainerGroup::Containers,
            "ephemeralContainers" => ContainerGroup::EphemeralContainers,
            _ => return None,
        };
        let index: usize = parts.get(1)?.parse().ok()?;
        let field = match parts[2..] {
            ["env", j] => Field::Env(j.parse().ok()?),
            ["envFrom", j] => Field::EnvFrom(j.parse().ok()?),
            ["image"] => Field::Image,
            _ => return None,
        };
        let container = Pointer { spec, group, index };
        Some(crate::model::FieldRef { container, field })
    }

    fn finding(w: &Workload, check: CheckId, path: &str, detail: Detail) -> Finding {
        Finding {
            origin: None,
            check,
            severity: Severity::High,
            namespace: w.namespace().into(),
            kind: w.kind.as_str().into(),
            api_version: w.api_version.clone(),
            name: w.name().into(),
            container: None,
            path: path.into(),
            at: field_ref(w, path),
            message: "m".into(),
            fixable: true,
            not_fixable_reason: None,
            source: None,
            detail,
            baseline: false,
        }
    }

    fn key_ref(w: &Workload, path: &str, env: &str, secret: &str, key: &str) -> Finding {
        finding(
            w,
            CheckId::EnvSecret,
            path,
            Detail::EnvSecret(crate::checks::env_secret::Detail::SecretKeyRef {
                env: env.into(),
                secret: secret.into(),
                key: key.into(),
                optional: false,
                delivery: None,
            }),
        )
    }

    fn literal(w: &Workload, path: &str, env: &str) -> Finding {
        finding(
            w,
            CheckId::EnvLiteralSecret,
            path,
            Detail::EnvLiteralSecret(crate::checks::env_literal_secret::Detail::LiteralSecret {
                env: env.into(),
                reason: "name looks like a password".into(),
                delivery: None,
            }),
        )
    }

    fn image(w: &Workload, path: &str, image: &str, digest: Option<&str>) -> Finding {
        finding(
            w,
            CheckId::MutableImageTag,
            path,
            Detail::MutableImageTag(crate::checks::mutable_image_tag::Detail::Image {
                image: image.into(),
                digest: digest.map(str::to_string),
                digest_source: digest.map(|_| crate::checks::DigestFrom::Pods),
            }),
        )
    }

    fn ops_of(plan: &Plan) -> (Value, Value, String) {
        match &plan.action {
            Action::Patch {
                ops,
                inverse,
                resource_version,
                ..
            } => (
                serde_json::to_value(ops).unwrap(),
                serde_json::to_value(inverse).unwrap(),
                resource_version.clone().unwrap_or_default(),
            ),
            Action::Create => panic!("not a patch"),
        }
    }

    fn skr(env: &str, secret: &str, key: &str) -> Value {
        json!({"name": env, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
    }

    #[test]
    fn one_plan_for_every_finding_of_the_workload() {
        let w = deployment(json!({"containers": [{"name": "app", "image": "nginx:1.25",
            "env": [{"name": "MODE", "value": "prod"}, skr("DB_PASSWORD", "db", "password")],
            "envFrom": [{"secretRef": {"name": "api"}}]}]}));
        let p = "/spec/template/spec/containers/0";
        let fs = vec![
            key_ref(&w, &format!("{p}/env/1"), "DB_PASSWORD", "db", "password"),
            finding(
                &w,
                CheckId::EnvSecret,
                &format!("{p}/envFrom/0"),
                Detail::EnvSecret(crate::checks::env_secret::Detail::SecretRef {
                    secret: "api".into(),
                    prefix: None,
                    optional: false,
                    delivery: None,
                }),
            ),
            image(&w, &format!("{p}/image"), "nginx:1.25", Some(D)),
        ];
        let plan = plan_workload(&w, &fs, &FixOptions::default())
            .unwrap()
            .unwrap();
        assert_eq!(plan.findings.len(), 3);
        assert_eq!(plan.target.to_string(), "Deployment shop/web");
        assert!(plan.prerequisites.is_empty());
        let (ops, inverse, rv) = ops_of(&plan);
        assert_eq!(rv, "42");
        let s = "/spec/template/spec";
        assert_eq!(
            ops,
            json!([
                {"op": "remove", "path": format!("{s}/containers/0/envFrom")},
                {"op": "replace", "path": format!("{s}/containers/0/env/1"),
                    "value": {"name": "DB_PASSWORD_FILE", "value": "/var/run/secrets/secfix/db/password"}},
                {"op": "replace", "path": format!("{s}/containers/0/image"), "value": format!("nginx:1.25@{D}")},
                {"op": "add", "path": format!("{s}/containers/0/volumeMounts"), "value": [
                    {"name": "secfix-db", "mountPath": "/var/run/secrets/secfix/db", "readOnly": true},
                    {"name": "secfix-api", "mountPath": "/var/run/secrets/secfix/api", "readOnly": true}]},
                {"op": "add", "path": format!("{s}/volumes"), "value": [
                    {"name": "secfix-db", "secret": {"secretName": "db", "defaultMode": 292,
                        "items": [{"key": "password", "path": "password", "mode": 292}]}},
                    {"name": "secfix-api", "secret": {"secretName": "api", "defaultMode": 292}}]}
            ])
        );
        // nginx reads no file variables: both moves need an app change, and say so.
        let classes: Vec<_> = plan
            .moved
            .iter()
            .map(|m| (m.path.as_str(), m.delivery))
            .collect();
        assert_eq!(
            classes,
            [
                (
                    format!("{s}/containers/0/env/1").as_str(),
                    Delivery::AppChange
                ),
                (
                    format!("{s}/containers/0/envFrom/0").as_str(),
                    Delivery::AppChange
                )
            ]
        );
        assert!(
            plan.findings[..2]
                .iter()
                .all(|f| f.detail.delivery() == Some(Delivery::AppChange)),
            "{:?}",
            plan.findings
        );
        assert_eq!(
            patch::applied(&w.raw, &plan.forward_patch().unwrap().0).unwrap(),
            plan.after
        );
        let back = patch::applied(
            &plan.after,
            &serde_json::from_value::<Vec<PatchOperation>>(inverse).unwrap(),
        )
        .unwrap();
        assert_eq!(back, w.raw);
        assert_eq!(plan.after["spec"]["replicas"], 2);
    }

    #[test]
    fn literal_moves_into_a_new_secret_and_never_leaks() {
        let w = deployment(json!({"containers": [{"name": "app", "image": "app:1",
            "args": ["--token=$(API_TOKEN)"],
            "env": [{"name": "API_TOKEN", "value": SECRET_VALUE}, {"name": "MODE", "value": "prod"}]}],
            "initContainers": [{"name": "init", "env": [{"name": "API_TOKEN", "value": SECRET_VALUE}]}]}));
        let s = "/spec/template/spec";
        let fs = vec![
            literal(&w, &format!("{s}/containers/0/env/0"), "API_TOKEN"),
            literal(&w, &format!("{s}/initContainers/0/env/0"), "API_TOKEN"),
        ];
        let plan = plan_workload(&w, &fs, &FixOptions::default())
            .unwrap()
            .unwrap();
        assert_eq!(plan.prerequisites.len(), 1);
        let secret = &plan.prerequisites[0];
        assert!(secret.sensitive);
        assert_eq!(secret.target.name, "web-secfix");
        assert_eq!(
            secret.object["stringData"],
            json!({"API_TOKEN": SECRET_VALUE})
        );
        assert_eq!(secret.object["metadata"]["namespace"], "shop");

        let (ops, inverse, _) = ops_of(&plan);
        let (_, shown_after) = plan.display_objects();
        let (shown_before, _) = plan.display_objects();
        for (what, text) in [
            ("ops", ops.to_string()),
            ("inverse", inverse.to_string()),
            ("after", shown_after.to_string()),
            ("before", shown_before.to_string()),
            ("raw after", plan.after.to_string()),
            ("warnings", plan.warnings.join("\n")),
            ("prerequisite shown", secret.display().to_string()),
            (
                "forward patch",
                serde_json::to_string(&plan.forward_patch()).unwrap(),
            ),
            (
                "inverse patch",
                serde_json::to_string(&plan.inverse_patch(&plan.after)).unwrap(),
            ),
        ] {
            assert!(
                !text.contains(SECRET_VALUE),
                "{what} leaks the value: {text}"
            );
        }
        assert_eq!(
            plan.after
                .pointer(&format!("{s}/containers/0/env/0"))
                .unwrap(),
            &json!({"name": "API_TOKEN_FILE", "value": "/var/run/secrets/secfix/web-secfix/API_TOKEN"})
        );
        // The inverse brings back a reference to the new Secret, not the literal.
        let inverse: Vec<PatchOperation> = serde_json::from_value(inverse).unwrap();
        let back = patch::applied(&plan.after, &inverse).unwrap();
        assert_eq!(
            back.pointer(&format!("{s}/containers/0/env/0")).unwrap(),
            &skr("API_TOKEN", "web-secfix", "API_TOKEN")
        );
        assert_eq!(
            back.pointer(&format!("{s}/initContainers/0/env/0"))
                .unwrap(),
            &skr("API_TOKEN", "web-secfix", "API_TOKEN")
        );
        assert!(!back.to_string().contains(SECRET_VALUE));
        let w_text = plan.warnings.join("\n");
        assert!(
            w_text.contains("$(API_TOKEN) in args will no longer expand"),
            "{w_text}"
        );
    }

    /// covers issue #22: the saved forward patch rewrote the last-applied annotation, which
    /// still held copies of the moved secret (in another env var, in an `args` flag). The
    /// rewritten annotation holds none, nor does the patch as saved; rollback still restores
    /// the spec exactly but for the moved value.
    #[test]
    fn the_last_applied_annotation() {
        let spec = json!({"containers": [{"name": "app", "image": "app:1",
            "args": [format!("--token={SECRET_VALUE}")],
            "env": [{"name": "API_TOKEN", "value": SECRET_VALUE},
                {"name": "MIRROR", "value": format!("copy:{SECRET_VALUE}")}]}]});
        let mut raw = deployment(spec.clone()).raw;
        let applied = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"template": {"spec": spec}}});
        raw["metadata"]["annotations"] = json!({LAST_APPLIED_ANNOTATION: applied.to_string()});
        let w = workload(raw);
        let fs = vec![literal(
            &w,
            "/spec/template/spec/containers/0/env/0",
            "API_TOKEN",
        )];
        let plan = plan_workload(&w, &fs, &FixOptions::default())
            .unwrap()
            .unwrap();
        let annotation = plan.after["metadata"]["annotations"][LAST_APPLIED_ANNOTATION]
            .as_str()
            .unwrap();
        assert!(!annotation.contains(SECRET_VALUE), "{annotation}");
        assert!(annotation.contains("--token=<redacted>"), "{annotation}");
        let (ops, inverse, _) = ops_of(&plan);
        assert!(!ops.to_string().contains(SECRET_VALUE), "{ops}");
        assert!(!inverse.to_string().contains(SECRET_VALUE), "{inverse}");
        // As saved by `fix` (the journal's forward patch).
        let saved = plan.display_patch().unwrap();
        assert!(!saved.to_string().contains(SECRET_VALUE), "{saved}");
        // Rolled back: the spec is the original but for the moved value.
        let inverse_ops: Vec<PatchOperation> = serde_json::from_value(inverse).unwrap();
        let back = patch::applied(&plan.after, &inverse_ops).unwrap();
        let c = &back["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["args"][0], format!("--token={SECRET_VALUE}"));
        assert_eq!(c["env"][1]["value"], format!("copy:{SECRET_VALUE}"));
    }

    /// covers issue #15 (item 2): a moved literal leaves the last-applied annotation too;
    /// the forward patch never holds the literal, and the inverse restores the `secretKeyRef`
    /// the rewritten annotation names.
    #[test]
    fn a_moved_literal_leaves_the_last_applied_annotation() {
        let spec = json!({"containers": [{"name": "app", "image": "app:1",
            "env": [{"name": "API_TOKEN", "value": SECRET_VALUE}, {"name": "MODE", "value": "prod"}]}]});
        let mut raw = deployment(spec.clone()).raw;
        let applied = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"template": {"spec": spec}}});
        raw["metadata"]["annotations"] = json!({LAST_APPLIED_ANNOTATION: format!("{applied}\n")});
        let w = workload(raw);
        let fs = vec![literal(
            &w,
            "/spec/template/spec/containers/0/env/0",
            "API_TOKEN",
        )];
        let plan = plan_workload(&w, &fs, &FixOptions::default())
            .unwrap()
            .unwrap();
        let (ops, inverse, _) = ops_of(&plan);
        assert!(!ops.to_string().contains(SECRET_VALUE), "{ops}");
        assert!(!inverse.to_string().contains(SECRET_VALUE), "{inverse}");
        let annotation = plan.after["metadata"]["annotations"][LAST_APPLIED_ANNOTATION]
            .as_str()
            .unwrap();
        assert!(!annotation.contains(SECRET_VALUE));
        assert!(annotation.ends_with('\n'));
        let rewritten: Value = serde_json::from_str(annotation).unwrap();
        assert_eq!(
            rewritten["spec"]["template"]["spec"]["containers"][0]["env"],
            json!([{"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "web-secfix", "key": "API_TOKEN"}}},
                {"name": "MODE", "value": "prod"}])
        );
        assert!(!plan.after.to_string().contains(SECRET_VALUE));
        // Rolled back: the spec names the Secret, as the annotation does.
        let inverse_ops: Vec<PatchOperation> = serde_json::from_value(inverse).unwrap();
        let back = patch::applied(&plan.after, &inverse_ops).unwrap();
        assert_eq!(
            back["spec"]["template"]["spec"]["containers"][0]["env"][0],
            rewritten["spec"]["template"]["spec"]["containers"][0]["env"][0]
        );
    }

    #[test]
    fn stale_literal_errors_do_not_leak() {
        let w = deployment(
            json!({"containers": [{"name": "app", "env": [{"name": "OTHER", "value": SECRET_VALUE}]}]}),
        );
        let f = literal(&w, "/spec/template/spec/containers/0/env/0", "API_TOKEN");
        let e = plan_workload(&w, &[f], &FixOptions::default()).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, FixError::Stale { .. }));
        assert!(!msg.contains(SECRET_VALUE), "{msg}");
        assert!(!format!("{e:?}").contains(SECRET_VALUE));
    }

    #[test]
    fn secret_name_collisions() {
        let w = deployment(json!({
            "volumes": [{"name": "old", "secret": {"secretName": "web-secfix"}}],
            "containers": [{"name": "app", "env": [{"name": "PASSWORD", "value": SECRET_VALUE}],
                "volumeMounts": [{"name": "old", "mountPath": "/old"}]}]}));
        let f = literal(&w, "/spec/template/spec/containers/0/env/0", "PASSWORD");
        let plan = plan_workload(&w, std::slice::from_ref(&f), &FixOptions::default())
            .unwrap()
            .unwrap();
        assert_eq!(plan.prerequisites[0].target.name, "web-secfix-2");
        let existing: BTreeSet<String> = ["web-secfix-2".to_string()].into();
        let plan = plan_workload_with_secrets(&w, &[f], &FixOptions::default(), &existing)
            .unwrap()
            .unwrap();
        assert_eq!(plan.prerequisites[0].target.name, "web-secfix-3");
        assert_eq!(
            plan.after["spec"]["template"]["spec"]["volumes"][1]["secret"]["secretName"],
            "web-secfix-3"
        );
    }

    #[test]
    fn cronjob_and_job_templates() {
        let cj = workload(json!({"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "nightly", "namespace": "ops"},
            "spec": {"schedule": "0 0 * * *", "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "x", "image": "busybox", "env": [skr("T", "tok", "t")]}]}}}}}}));
        let p = "/spec/jobTemplate/spec/template/spec";
        let plan = plan_workload(
            &cj,
            &[key_ref(
                &cj,
                &format!("{p}/containers/0/env/0"),
                "T",
                "tok",
                "t",
            )],
            &FixOptions::default(),
        )
        .unwrap()
        .unwrap();
        let (ops, _, rv) = ops_of(&plan);
        assert_eq!(rv, "");
        for op in ops.as_array().unwrap() {
            assert!(op["path"].as_str().unwrap().starts_with(p), "{op}");
        }
        assert_eq!(
            plan.after.pointer(&format!("{p}/volumes/0/name")).unwrap(),
            "secfix-tok"
        );
        assert!(!plan.warnings.iter().any(|w| w.contains("immutable")));

        let job = workload(json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "once", "namespace": "ops"},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "x", "image": "busybox", "env": [skr("T", "tok", "t")]}]}}}}));
        let p = "/spec/template/spec";
        let plan = plan_workload(
            &job,
            &[key_ref(
                &job,
                &format!("{p}/containers/0/env/0"),
                "T",
                "tok",
                "t",
            )],
            &FixOptions::default(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            plan.after
                .pointer(&format!("{p}/containers/0/env/0/name"))
                .unwrap(),
            "T_FILE"
        );
        assert!(plan.warnings.iter().any(|w| w.contains("immutable")));
    }

    #[test]
    fn bare_pods_only_take_digests() {
        let pod = workload(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "solo", "namespace": "ns", "resourceVersion": "7"},
            "spec": {"initContainers": [{"name": "i", "image": "busybox:1"}],
                "containers": [{"name": "c", "image": "nginx", "env": [skr("T", "tok", "t")]}]}}));
        let env = key_ref(&pod, "/spec/containers/0/env/0", "T", "tok", "t");
        assert!(
            plan_workload(&pod, std::slice::from_ref(&env), &FixOptions::default())
                .unwrap()
                .is_none()
        );
        let fs = vec![
            env,
            image(&pod, "/spec/initContainers/0/image", "busybox:1", Some(D)),
            image(&pod, "/spec/containers/0/image", "nginx", None),
        ];
        let plan = plan_workload(&pod, &fs, &FixOptions::default())
            .unwrap()
            .unwrap();
        let (ops, _, rv) = ops_of(&plan);
        assert_eq!(rv, "7");
        assert_eq!(
            ops,
            json!([{"op": "replace", "path": "/spec/initContainers/0/image", "value": format!("busybox:1@{D}")}])
        );
        assert_eq!(plan.findings.len(), 1);
    }

    #[test]
    fn owned_objects_are_refused_and_unfixable_findings_ignored() {
        let rs = workload(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web-1", "namespace": "shop", "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "u", "controller": true}]},
            "spec": {"selector": {}, "template": {"spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}));
        let f = image(
            &rs,
            "/spec/template/spec/containers/0/image",
            "nginx",
            Some(D),
        );
        let e = plan_workload(&rs, std::slice::from_ref(&f), &FixOptions::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ReplicaSet shop/web-1 is managed by Deployment web: fix Deployment web instead"
        );
        let mut g = f.clone();
        g.fixable = false;
        assert!(
            plan_workload(&rs, &[g], &FixOptions::default())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn bad_paths_stale_entries_and_ephemeral_containers() {
        let w = deployment(
            json!({"containers": [{"name": "app", "image": "a:1", "env": [skr("A", "s", "k")]}]}),
        );
        let s = "/spec/template/spec";
        let err = |f: Finding| plan_workload(&w, &[f], &FixOptions::default()).unwrap_err();
        assert!(matches!(
            err(key_ref(&w, "/spec/containers/0/env/0", "A", "s", "k")),
            FixError::BadPath { .. }
        ));
        assert!(matches!(
            err(key_ref(
                &w,
                &format!("{s}/containers/3/env/0"),
                "A",
                "s",
                "k"
            )),
            FixError::BadPath { .. }
        ));
        assert!(matches!(
            err(key_ref(
                &w,
                &format!("{s}/containers/0/env/0"),
                "A",
                "other",
                "k"
            )),
            FixError::Stale { .. }
        ));
        assert!(matches!(
            err(key_ref(
                &w,
                &format!("{s}/containers/0/env/1"),
                "A",
                "s",
                "k"
            )),
            FixError::Stale { .. }
        ));
        assert!(matches!(
            err(image(
                &w,
                &format!("{s}/containers/0/image"),
                "a:2",
                Some(D)
            )),
            FixError::Stale { .. }
        ));
        assert!(matches!(
            err(key_ref(
                &w,
                &format!("{s}/ephemeralContainers/0/env/0"),
                "A",
                "s",
                "k"
            )),
            FixError::Ephemeral { .. }
        ));
        let opts = FixOptions {
            mount_root: "rel".into(),
            ..FixOptions::default()
        };
        let e = plan_workload(
            &w,
            &[key_ref(
                &w,
                &format!("{s}/containers/0/env/0"),
                "A",
                "s",
                "k",
            )],
            &opts,
        )
        .unwrap_err();
        assert!(e.to_string().contains("--mount-root"), "{e}");
    }

    #[test]
    fn gitops_owner_is_warned_about() {
        let mut w = deployment(json!({"containers": [{"name": "app", "image": "a:1"}]}));
        w.metadata.annotations =
            Some([("meta.helm.sh/release-name".to_string(), "web".to_string())].into());
        let f = image(&w, "/spec/template/spec/containers/0/image", "a:1", Some(D));
        let plan = plan_workload(&w, &[f], &FixOptions::default())
            .unwrap()
            .unwrap();
        assert!(
            plan.warnings[0].starts_with("managed by Helm:"),
            "{:?}",
            plan.warnings
        );
    }

    #[test]
    fn unknown_fields_survive_and_duplicates_are_fixed_once() {
        let w = deployment(json!({"containers": [{"name": "app", "image": "a:1",
            "futureField": {"x": 1}, "env": [skr("A", "s", "k")]}], "futurePodField": true}));
        let f = key_ref(&w, "/spec/template/spec/containers/0/env/0", "A", "s", "k");
        let plan = plan_workload(&w, &[f.clone(), f], &FixOptions::default())
            .unwrap()
            .unwrap();
        assert_eq!(plan.findings.len(), 1);
        assert_eq!(
            plan.after["spec"]["template"]["spec"]["futurePodField"],
            true
        );
        assert_eq!(
            plan.after["spec"]["template"]["spec"]["containers"][0]["futureField"],
            json!({"x": 1})
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// One generated env entry: 0 plain, 1 literal secret, 2 secretKeyRef, 3 configMapKeyRef.
        #[derive(Debug, Clone)]
        struct GenEnv {
            kind: u8,
            name: usize,
            secret: usize,
            key: usize,
            optional: bool,
        }

        #[derive(Debug, Clone)]
        struct GenContainer {
            env: Vec<GenEnv>,
            env_from: Vec<(bool, usize, Option<String>, bool)>,
            mounts: Vec<(usize, usize, bool)>,
        }

        const NAMES: [&str; 6] = ["A", "PASSWORD", "TOKEN", "A_FILE", "PASSWORD_FILE", "URL"];
        const SECRETS: [&str; 4] = ["db", "api", "tls.example.com", "web-secfix"];
        const KEYS: [&str; 3] = ["k1", "k2", "password"];
        const PATHS: [&str; 4] = [
            "/data",
            "/var/run/secrets/secfix/db",
            "/var/run/secrets/secfix/api",
            "/etc/x",
        ];
        const VOLUMES: [&str; 5] = [
            "secfix-db",
            "creds",
            "secfix-api",
            "cache",
            "secfix-web-secfix",
        ];

        fn gen_env() -> impl Strategy<Value = GenEnv> {
            (
                0u8..4,
                0..NAMES.len(),
                0..SECRETS.len(),
                0..KEYS.len(),
                any::<bool>(),
            )
                .prop_map(|(kind, name, secret, key, optional)| GenEnv {
                    kind,
                    name,
                    secret,
                    key,
                    optional,
                })
        }

        fn gen_container() -> impl Strategy<Value = GenContainer> {
            (
                prop::collection::vec(gen_env(), 0..6),
                prop::collection::vec(
                    (
                        any::<bool>(),
                        0..SECRETS.len(),
                        prop::option::of("[A-Z]{1,3}_"),
                        any::<bool>(),
                    ),
                    0..3,
                ),
                prop::collection::vec((0..VOLUMES.len(), 0..PATHS.len(), any::<bool>()), 0..3),
            )
                .prop_map(|(env, env_from, mounts)| GenContainer {
                    env,
                    env_from,
                    mounts,
                })
        }

        /// Volumes: (name, 0 secret / 1 secret with items / 2 emptyDir, secret, item key).
        fn gen_volumes() -> impl Strategy<Value = Vec<(usize, u8, usize, usize)>> {
            prop::collection::vec(
                (0..VOLUMES.len(), 0u8..3, 0..SECRETS.len(), 0..KEYS.len()),
                0..4,
            )
        }

        fn container_json(
            name: &str,
            c: &GenContainer,
            volumes: &BTreeSet<usize>,
            lit: &mut usize,
        ) -> Value {
            let env: Vec<Value> = c.env.iter().map(|e| {
                let n = NAMES[e.name];
                match e.kind {
                    0 => json!({"name": n, "value": format!("plain $({})", NAMES[(e.name + 1) % NAMES.len()])}),
                    1 => { *lit += 1; json!({"name": n, "value": format!("{SECRET_VALUE}-{lit}")}) }
                    2 => json!({"name": n, "valueFrom": {"secretKeyRef": {"name": SECRETS[e.secret], "key": KEYS[e.key], "optional": e.optional}}}),
                    _ => json!({"name": n, "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": KEYS[e.key]}}}),
                }
            }).collect();
            let env_from: Vec<Value> = c
                .env_from
                .iter()
                .map(|(secret, s, prefix, optional)| {
                    let mut v = if *secret {
                        json!({"secretRef": {"name": SECRETS[*s], "optional": optional}})
                    } else {
                        json!({"configMapRef": {"name": "cfg"}})
                    };
                    if let Some(p) = prefix {
                        v["prefix"] = json!(p);
                    }
                    v
                })
                .collect();
            let mut seen_paths = BTreeSet::new();
            let mounts: Vec<Value> = c
                .mounts
                .iter()
                .filter(|(v, p, _)| volumes.contains(v) && seen_paths.insert(*p))
                .map(|(v, p, sub)| {
                    let mut m = json!({"name": VOLUMES[*v], "mountPath": PATHS[*p]});
                    if *sub {
                        m["subPath"] = json!(KEYS[0]);
                    }
                    m
                })
                .collect();
            let mut out =
                json!({"name": name, "image": "app:1", "command": ["run", "$(PASSWORD)"]});
            if !env.is_empty() {
                out["env"] = Value::Array(env);
            }
            if !env_from.is_empty() {
                out["envFrom"] = Value::Array(env_from);
            }
            if !mounts.is_empty() {
                out["volumeMounts"] = Value::Array(mounts);
            }
            out
        }

        fn gen_workload() -> impl Strategy<Value = Workload> {
            (
                prop::collection::vec(gen_container(), 1..3),
                prop::collection::vec(gen_container(), 0..2),
                gen_volumes(),
                0u8..3,
            )
                .prop_map(|(containers, inits, vols, kind)| {
                    let mut names = BTreeSet::new();
                    let volumes: Vec<Value> = vols.iter().filter(|(n, ..)| names.insert(*n)).map(|(n, t, s, k)| match t {
                        0 => json!({"name": VOLUMES[*n], "secret": {"secretName": SECRETS[*s]}}),
                        1 => json!({"name": VOLUMES[*n], "secret": {"secretName": SECRETS[*s], "items": [{"key": KEYS[*k], "path": format!("f/{}", KEYS[*k])}]}}),
                        _ => json!({"name": VOLUMES[*n], "emptyDir": {}}),
                    }).collect();
                    let mut lit = 0;
                    let cs: Vec<Value> = containers.iter().enumerate().map(|(i, c)| container_json(&format!("c{i}"), c, &names, &mut lit)).collect();
                    let is: Vec<Value> = inits.iter().enumerate().map(|(i, c)| container_json(&format!("i{i}"), c, &names, &mut lit)).collect();
                    let mut spec = json!({"containers": cs});
                    if !is.is_empty() { spec["initContainers"] = Value::Array(is); }
                    if !volumes.is_empty() { spec["volumes"] = Value::Array(volumes); }
                    let meta = json!({"name": "web", "namespace": "ns", "resourceVersion": "1"});
                    let obj = match kind {
                        0 => json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
                            "spec": {"selector": {}, "template": {"spec": spec}}}),
                        1 => json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta,
                            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": spec}}}}}),
                        _ => json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta,
                            "spec": {"selector": {}, "serviceName": "s", "template": {"spec": spec}}}),
                    };
                    Workload::from_value(obj).unwrap().unwrap()
                })
        }

        /// What the checks would report: every secret reference and every literal.
        fn findings_for(w: &Workload) -> Vec<Finding> {
            let mut out = Vec::new();
            for c in w.containers() {
                for (i, e) in c.env.iter().enumerate() {
                    let path = format!("{}/env/{i}", c.pointer);
                    if let Some(r) = e
                        .value_from
                        .as_ref()
                        .and_then(|v| v.secret_key_ref.as_ref())
                    {
                        let mut f = key_ref(w, &path, &e.name, &r.name, &r.key);
                        f.detail =
                            Detail::EnvSecret(crate::checks::env_secret::Detail::SecretKeyRef {
                                env: e.name.clone(),
                                secret: r.name.clone(),
                                key: r.key.clone(),
                                optional: r.optional == Some(true),
                                delivery: None,
                            });
                        out.push(f);
                    } else if e
                        .value
                        .as_deref()
                        .is_some_and(|v| v.starts_with(SECRET_VALUE))
                    {
                        out.push(literal(w, &path, &e.name));
                    }
                }
                for (i, e) in c.env_from.iter().enumerate() {
                    if let Some(r) = &e.secret_ref {
                        out.push(finding(
                            w,
                            CheckId::EnvSecret,
                            &format!("{}/envFrom/{i}", c.pointer),
                            Detail::EnvSecret(crate::checks::env_secret::Detail::SecretRef {
                                secret: r.name.clone(),
                                prefix: e.prefix.clone(),
                                optional: r.optional == Some(true),
                                delivery: None,
                            }),
                        ));
                    }
                }
            }
            out
        }

        fn has_literals(fs: &[Finding]) -> bool {
            fs.iter().any(|f| f.check == CheckId::EnvLiteralSecret)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(300))]
            #[test]
            fn plans_are_consistent(w in gen_workload(), file_env in any::<bool>()) {
                let fs = findings_for(&w);
                let opts = FixOptions { file_env, ..FixOptions::default() };
                let built = build(&w, &fs, &opts, &BTreeSet::new()).unwrap();
                let Some(Built { plan, fixed, restored }) = built else {
                    prop_assert!(fs.is_empty());
                    return Ok(());
                };
                let Action::Patch { ops, inverse, .. } = &plan.action else { panic!() };
                // Forward ops on the object as read give `after`, and it holds the fixed spec.
                prop_assert_eq!(&patch::applied(&w.raw, ops).unwrap(), &plan.after);
                let guarded = plan.forward_patch().unwrap();
                prop_assert_eq!(&patch::applied(&w.raw, &guarded.0).unwrap(), &plan.after);
                let after_w = Workload::from_value(plan.after.clone()).unwrap().unwrap();
                prop_assert_eq!(&after_w.spec, &fixed);
                // The inverse restores the original (literals as references to the new Secret).
                let back = Workload::from_value(patch::applied(&plan.after, inverse).unwrap()).unwrap().unwrap();
                prop_assert_eq!(&back.spec, &restored);
                if !has_literals(&fs) {
                    prop_assert_eq!(&back.spec, &w.spec);
                    prop_assert!(plan.prerequisites.is_empty());
                } else {
                    prop_assert_eq!(plan.prerequisites.len(), 1);
                }
                // No secret references or literals left anywhere.
                for c in after_w.containers() {
                    for e in c.env {
                        prop_assert!(e.value_from.as_ref().and_then(|v| v.secret_key_ref.as_ref()).is_none());
                        prop_assert!(!e.value.as_deref().unwrap_or("").contains(SECRET_VALUE));
                    }
                    prop_assert!(c.env_from.iter().all(|e| e.secret_ref.is_none()));
                    // Mounts name existing volumes and their paths are unique.
                    let mut paths = BTreeSet::new();
                    for m in c.volume_mounts {
                        prop_assert!(after_w.spec.volumes.iter().flatten().any(|v| v.name == m.name));
                        prop_assert!(paths.insert(m.mount_path.trim_end_matches('/')), "duplicate mount path {}", m.mount_path);
                    }
                    // Every _FILE we point at lies under a read-only whole-volume mount of that container.
                    if file_env {
                        for e in c.env.iter().filter(|e| e.value.as_deref().is_some_and(|v| v.starts_with("/var/run/secrets/secfix/") || v.starts_with(PATHS[0]) || v.starts_with(PATHS[3]))) {
                            let v = e.value.as_deref().unwrap();
                            prop_assert!(c.volume_mounts.iter().any(|m| m.read_only == Some(true) && m.sub_path.is_none() && v.starts_with(&format!("{}/", m.mount_path))), "{} = {}", e.name, v);
                        }
                    }
                }
                let mut names = BTreeSet::new();
                for v in after_w.spec.volumes.iter().flatten() {
                    prop_assert!(names.insert(v.name.clone()), "duplicate volume {}", v.name);
                    prop_assert!(v.name.len() <= 63 && v.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
                }
                // The literal appears in nothing that is shown or sent.
                let (shown_before, shown_after) = plan.display_objects();
                for text in [
                    serde_json::to_string(ops).unwrap(),
                    serde_json::to_string(inverse).unwrap(),
                    shown_after.to_string(),
                    shown_before.to_string(),
                    plan.after.to_string(),
                    plan.warnings.join("\n"),
                ] {
                    prop_assert!(!text.contains(SECRET_VALUE), "leak in {}", text);
                }
            }
        }
    }
}
