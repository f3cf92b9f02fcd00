//! From an inventory's findings to the plans `fix` applies, prints or writes.
//!
//! Findings are routed by their check's [`Fix`] (from the check registry): per-workload
//! fixes are grouped into one plan per object, per-namespace fixes into one plan per
//! namespace. Findings that are not fixable are handed back for reporting.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::network_policy::plan_namespace;
use super::redact::redact_env_values;
use super::workload::plan_workload;
use super::{Action, FixOptions, Plan};
use crate::checks::Fix;
use crate::inventory::Inventory;
use crate::manifest::{Edits, ManifestFile};
use crate::model::{Detail, Finding, Workload};

/// The plans for one run, and what could not be planned.
#[derive(Debug, Default)]
pub struct Plans {
    pub plans: Vec<Plan>,
    /// Findings no fix can handle (reported, never acted on).
    pub not_fixable: Vec<Finding>,
    /// Objects whose findings could not be turned into a plan, with why (names and paths,
    /// never values).
    pub errors: Vec<String>,
}

/// Groups the fixable findings of `inv` by the object (or namespace) their fix changes and
/// builds one plan for each.
pub fn build_plans(inv: &Inventory, opts: &FixOptions) -> Plans {
    let mut by_object: BTreeMap<(String, String, String), Vec<Finding>> = BTreeMap::new();
    let mut by_namespace: BTreeMap<String, Vec<Finding>> = BTreeMap::new();
    let mut out = Plans::default();
    for f in &inv.findings {
        match f.check.def().fix {
            _ if !f.fixable => out.not_fixable.push(f.clone()),
            Fix::None => out.not_fixable.push(f.clone()),
            Fix::Namespace => by_namespace
                .entry(f.namespace.clone())
                .or_default()
                .push(f.clone()),
            Fix::Workload => by_object
                .entry((f.kind.clone(), f.namespace.clone(), f.name.clone()))
                .or_default()
                .push(f.clone()),
        }
    }
    let index: HashMap<(&str, &str, &str), &Workload> = inv
        .workloads
        .iter()
        .map(|w| ((w.kind.as_str(), w.namespace(), w.name()), w))
        .collect();
    for ((kind, ns, name), findings) in by_object {
        let Some(w) = index.get(&(kind.as_str(), ns.as_str(), name.as_str())) else {
            out.errors
                .push(format!("{kind} {ns}/{name}: object not found for fixing"));
            continue;
        };
        match plan_workload(w, &findings, opts) {
            Ok(Some(plan)) => out.plans.push(plan),
            Ok(None) => {}
            Err(e) => out.errors.push(format!("{kind} {ns}/{name}: {e}")),
        }
    }
    for (ns, findings) in by_namespace {
        let in_ns = |m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
            m.namespace.as_deref() == Some(ns.as_str())
        };
        let policies: Vec<_> = inv
            .policies
            .iter()
            .filter(|p| in_ns(&p.metadata))
            .cloned()
            .collect();
        let services: Vec<_> = inv
            .services
            .iter()
            .filter(|s| in_ns(&s.metadata))
            .cloned()
            .collect();
        if let Some(plan) = plan_namespace(&ns, &findings, &policies, &services, opts) {
            out.plans.push(plan);
        }
    }
    out
}

/// What an offline fix (`fix -f`) does to the manifest files.
#[derive(Debug, Default)]
pub struct OfflineEdits {
    /// The changes `--write` makes to the files.
    pub edits: Edits,
    /// The same changes as stdout may show them: any literal secret still in a changed
    /// object (one no fix moved) redacted.
    pub shown: Edits,
    /// What the user must do before applying (create the Secret a literal now reads, …).
    pub notes: Vec<String>,
}

/// The file edits of `plans`. A namespace's new objects go into the first file holding one
/// of its objects (objects without a namespace count as `default_namespace`). The Secret a
/// literal moves into is never written to a file, since its value would be: a note says to
/// create it.
pub fn offline_edits(
    plans: &[Plan],
    not_fixable: &[Finding],
    files: &[ManifestFile],
    default_namespace: &str,
) -> OfflineEdits {
    let mut out = OfflineEdits::default();
    for plan in plans {
        for p in &plan.prerequisites {
            let keys: Vec<&str> = p
                .object
                .get("stringData")
                .and_then(Value::as_object)
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            out.notes.push(format!(
                "{} now reads Secret {}/{} (keys {}): create it before applying; an offline \
                 fix never writes secret values",
                plan.target,
                p.target.namespace,
                p.target.name,
                keys.join(", ")
            ));
        }
        match &plan.action {
            Action::Patch { .. } => {
                let Some(loc) = plan.findings.iter().find_map(|f| f.source.clone()) else {
                    continue;
                };
                out.edits.replace(&loc, plan.after.clone());
                let mut redacted = plan.display_objects().1;
                redact_env_values(&mut redacted, &unmoved_literals(plan, not_fixable));
                out.shown.replace(&loc, redacted);
            }
            Action::Create => {
                let file = plan
                    .findings
                    .iter()
                    .find_map(|f| f.source.as_ref().map(|s| s.file.clone()))
                    .or_else(|| {
                        crate::manifest::first_file_of_namespace(
                            files,
                            &plan.target.namespace,
                            default_namespace,
                        )
                        .map(str::to_string)
                    });
                if let Some(file) = file {
                    out.edits.append(&file, plan.after.clone());
                    out.shown.append(&file, plan.after.clone());
                }
            }
        }
    }
    out
}

/// Env names of literal secrets in the plan's object that no fix moved.
fn unmoved_literals<'a>(plan: &Plan, not_fixable: &'a [Finding]) -> Vec<&'a str> {
    not_fixable
        .iter()
        .filter(|f| {
            f.kind == plan.target.kind
                && f.namespace == plan.target.namespace
                && f.name == plan.target.name
        })
        .filter_map(|f| match &f.detail {
            Detail::LiteralSecret { env, .. } => Some(env.as_str()),
            _ => None,
        })
        .collect()
}
