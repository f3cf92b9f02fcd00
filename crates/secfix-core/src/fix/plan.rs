//! From an inventory's findings to the plans `fix` applies, prints or writes.
//!
//! Findings are routed by their check's [`Fix`] (from the check registry): per-workload
//! fixes are grouped into one plan per object, per-namespace fixes into one plan per
//! namespace. Findings that are not fixable are handed back for reporting.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value;

use super::network_policy::{plan_least_privilege, plan_namespace};
use super::workload::plan_workload;
use super::{Action, AppChanges, FixOptions, MovedSecret, Plan};
use crate::checks::Fixer;
use crate::checks::{Delivery, Finding};
use crate::inventory::Inventory;
use crate::model::{SourceLocation, Workload};

/// The plans for one run, and what could not be planned.
#[derive(Debug, Default)]
pub struct Plans {
    pub plans: Vec<Plan>,
    /// Findings no fix can handle (reported, never acted on).
    pub not_fixable: Vec<Finding>,
    /// Findings left out because the app would have to change to read its secret from a
    /// file ([`AppChanges::LeaveOut`]), each with why.
    pub left_out: Vec<LeftOut>,
    /// Objects whose findings could not be turned into a plan, with why (names and paths,
    /// never values).
    pub errors: Vec<String>,
}

/// Groups the fixable findings of `inv` by the object (or namespace) their fix changes and
/// builds one plan for each.
///
/// Offline, objects are told apart by where they are (file, document, List item), never by
/// kind, namespace and name alone: two files may define the same object, and each is fixed
/// in its own file.
pub fn build_plans(inv: &Inventory, opts: &FixOptions) -> Plans {
    type Key = (String, String, String, Option<SourceLocation>);
    let mut by_object: BTreeMap<Key, Vec<Finding>> = BTreeMap::new();
    let mut by_namespace: BTreeMap<String, Vec<Finding>> = BTreeMap::new();
    let mut out = Plans::default();
    for f in &inv.findings {
        match f.check.def().fixer() {
            _ if !f.fixable => out.not_fixable.push(f.clone()),
            None => out.not_fixable.push(f.clone()),
            Some(Fixer::Namespace(_)) => by_namespace
                .entry(f.namespace.clone())
                .or_default()
                .push(f.clone()),
            Some(Fixer::Workload(_)) => by_object
                .entry((
                    f.kind.clone(),
                    f.namespace.clone(),
                    f.name.clone(),
                    f.source.clone(),
                ))
                .or_default()
                .push(f.clone()),
        }
    }
    let index: HashMap<(&str, &str, &str, Option<&SourceLocation>), &Workload> = inv
        .workloads
        .iter()
        .map(|w| {
            (
                (w.kind.as_str(), w.namespace(), w.name(), w.source.as_ref()),
                w,
            )
        })
        .collect();
    let plan_one = |((kind, ns, name, source), findings): (Key, Vec<Finding>)| {
        let w = index
            .get(&(kind.as_str(), ns.as_str(), name.as_str(), source.as_ref()))
            .ok_or_else(|| format!("{kind} {ns}/{name}: object not found for fixing"))?;
        plan_gated(w, findings, opts).map_err(|e| format!("{kind} {ns}/{name}: {e}"))
    };
    for planned in map_in_parallel(by_object.into_iter().collect(), plan_one) {
        match planned {
            Ok((plan, left_out)) => {
                out.plans.extend(plan);
                out.left_out.extend(left_out);
            }
            Err(e) => out.errors.push(e),
        }
    }
    if opts.network_policy == super::network_policy::Mode::LeastPrivilege {
        let cluster = inv.cluster();
        out.plans.extend(plan_least_privilege(
            &by_namespace,
            &cluster,
            &inv.policies,
            opts,
        ));
        out.plans
            .iter_mut()
            .for_each(unnamed_namespace_stays_unnamed);
        return out;
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
    out.plans
        .iter_mut()
        .for_each(unnamed_namespace_stays_unnamed);
    out
}

/// Objects a plan creates for manifests that name no namespace (the unnamed namespace,
/// `""`) name none either: `kubectl apply -n X`, a kustomization's `namespace:` or Helm's
/// release namespace places them beside the objects they are for.
fn unnamed_namespace_stays_unnamed(plan: &mut Plan) {
    fn strip(v: &mut Value) {
        if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut)
            && meta.get("namespace").and_then(Value::as_str) == Some("")
        {
            meta.remove("namespace");
        }
    }
    for p in &mut plan.prerequisites {
        strip(&mut p.object);
    }
    if matches!(plan.action, Action::Create) {
        strip(&mut plan.after);
    }
}

/// A finding left out of its plan, and why. `-o json` prints it as the finding with a
/// `reason`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    #[serde(flatten)]
    pub finding: Finding,
    pub reason: String,
}

/// `f` of every item, in the items' order, computed on up to as many threads as there are
/// cores: at fleet scale planning is the bulk of the time before `fix` writes anything
/// (issue 26), and each object is planned on its own. A few items are planned on this
/// thread (starting threads would cost more).
fn map_in_parallel<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    const PER_THREAD_AT_LEAST: usize = 64;
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(items.len() / PER_THREAD_AT_LEAST);
    if threads <= 1 {
        return items.into_iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let mut chunks: Vec<Vec<T>> = Vec::with_capacity(threads);
    let mut items = items.into_iter();
    loop {
        let c: Vec<T> = items.by_ref().take(chunk).collect();
        if c.is_empty() {
            break;
        }
        chunks.push(c);
    }
    let f = &f;
    std::thread::scope(|s| {
        let running: Vec<_> = chunks
            .into_iter()
            .map(|c| s.spawn(move || c.into_iter().map(f).collect::<Vec<R>>()))
            .collect();
        running
            .into_iter()
            .flat_map(|r| r.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// The plan of `w` under `opts.app_changes`: with [`AppChanges::LeaveOut`], findings whose
/// secret the app would have to be changed to read are taken out (and the plan built again
/// without them, so the rest stays exactly as it would be alone).
fn plan_gated(
    w: &Workload,
    mut findings: Vec<Finding>,
    opts: &FixOptions,
) -> Result<(Option<Plan>, Vec<LeftOut>), super::workload::FixError> {
    let mut left_out = Vec::new();
    loop {
        let plan = plan_workload(w, &findings, opts)?;
        let plan = match plan {
            Some(p) if opts.app_changes == AppChanges::LeaveOut => p,
            other => return Ok((other, left_out)),
        };
        let app: Vec<&MovedSecret> = plan
            .moved
            .iter()
            .filter(|m| m.delivery == Delivery::AppChange)
            .collect();
        if app.is_empty() {
            return Ok((Some(plan), left_out));
        }
        let before = findings.len();
        let mut kept = Vec::new();
        for mut f in findings {
            match app.iter().find(|m| f.at == Some(m.at)) {
                Some(m) => {
                    f.detail.set_delivery(Some(Delivery::AppChange));
                    left_out.push(LeftOut {
                        finding: f,
                        reason: left_out_reason(m),
                    });
                }
                None => kept.push(f),
            }
        }
        if kept.len() == before {
            // Every moved secret comes from one of the findings; should one not match, no
            // secret of this object is moved rather than one the app cannot read.
            for f in kept.iter_mut().filter(|f| f.detail.delivery().is_some()) {
                f.detail.set_delivery(Some(Delivery::AppChange));
            }
            let (moves, rest): (Vec<Finding>, Vec<Finding>) = kept
                .into_iter()
                .partition(|f| f.detail.delivery().is_some());
            left_out.extend(moves.into_iter().map(|finding| {
                LeftOut {
                    finding,
                    reason:
                        "app-change: the fix could not tell how this secret would reach the app"
                            .to_string(),
                }
            }));
            kept = rest;
        }
        findings = kept;
    }
}

/// Why a move was left out, and what would let it in.
fn left_out_reason(m: &MovedSecret) -> String {
    match (&m.env, &m.file_var) {
        (Some(env), Some(var)) => format!(
            "app-change: {}: the app would have to read {var}; --allow-app-changes moves it \
             anyway, --file-env {env}=VAR names the variable the app reads",
            m.reason
        ),
        (Some(env), None) => format!(
            "app-change: {}: the app would have to read the file itself; --allow-app-changes \
             moves it anyway, --file-env {env}=VAR names the variable the app reads",
            m.reason
        ),
        (None, _) => format!(
            "app-change: {}; --allow-app-changes moves it anyway",
            m.reason
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::env_secret;
    use serde_json::json;

    /// covers issue #26: objects planned on several threads come back in their order, each
    /// once, whatever the count (a few: on this thread).
    #[test]
    fn planning_in_parallel_keeps_the_order() {
        for n in [0usize, 1, 63, 64, 129, 1000, 1001] {
            let out = map_in_parallel((0..n).collect(), |i| i * 2);
            assert_eq!(out, (0..n).map(|i| i * 2).collect::<Vec<_>>(), "n = {n}");
        }
    }

    fn workload() -> Workload {
        Workload::from_value(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "resourceVersion": "7"},
            "spec": {"selector": {}, "template": {"spec": {"containers": [
                {"name": "db", "image": "mysql:8.4", "env": [
                    {"name": "MYSQL_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                    {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "db", "key": "token"}}}]}]}}}}))
        .unwrap()
        .unwrap()
    }

    /// Covers issue #14: the gate keeps the native move of an object and leaves its app
    /// change out (the plan is built as if that finding were not there), or keeps both.
    #[test]
    fn the_gate_leaves_app_changes_out_and_keeps_the_rest_of_the_object() {
        let w = workload();
        let findings = env_secret::check(&w);
        let opts = FixOptions::default();
        assert_eq!(opts.app_changes, AppChanges::LeaveOut, "the safe default");
        let (plan, left_out) = plan_gated(&w, findings.clone(), &opts).unwrap();
        let plan = plan.unwrap();
        assert_eq!(plan.findings.len(), 1);
        assert_eq!(plan.deliveries(), (1, 0));
        assert_eq!(left_out.len(), 1);
        assert_eq!(
            left_out[0].finding.detail.delivery(),
            Some(Delivery::AppChange)
        );
        assert_eq!(
            left_out[0].reason,
            "app-change: the mysql image does not document a file form of this variable: the \
             app would have to read API_TOKEN_FILE; --allow-app-changes moves it anyway, \
             --file-env API_TOKEN=VAR names the variable the app reads"
        );
        // The kept plan is exactly the plan of the native finding alone.
        let alone = plan_workload(&w, &findings[..1], &opts).unwrap().unwrap();
        assert_eq!(plan.after, alone.after);
        let volume = &plan.after["spec"]["template"]["spec"]["volumes"][0]["secret"];
        assert_eq!(
            volume["items"],
            json!([{"key": "password", "path": "password", "mode": 292}])
        );

        let include = FixOptions {
            app_changes: AppChanges::Include,
            ..FixOptions::default()
        };
        let (plan, left_out) = plan_gated(&w, findings, &include).unwrap();
        assert!(left_out.is_empty());
        assert_eq!(plan.unwrap().deliveries(), (1, 1));
    }

    #[test]
    fn a_user_named_variable_passes_the_gate() {
        let w = workload();
        let opts = FixOptions {
            file_env_vars: super::super::file_env::UserFileVars::parse(&["API_TOKEN=TOKEN_PATH"])
                .unwrap(),
            ..FixOptions::default()
        };
        let (plan, left_out) = plan_gated(&w, env_secret::check(&w), &opts).unwrap();
        assert!(left_out.is_empty());
        let plan = plan.unwrap();
        assert_eq!(plan.deliveries(), (2, 0));
        assert!(plan.after.to_string().contains("TOKEN_PATH"));
    }
}
