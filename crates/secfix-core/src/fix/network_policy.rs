//! `default-allow-namespace` fix. Two modes ([`Mode`]):
//! - `least-privilege` (the default): a policy set per namespace that keeps every connection
//!   the evidence shows and denies the rest ([`plan_least_privilege`]; the builder lives in
//!   [`evidence`], [`graph`] and [`render`]);
//! - `deny-all`: one default-deny NetworkPolicy for the namespace ([`plan_namespace`]).
//!
//! The deny-all policy:
//! The policy selects every pod (`podSelector: {}`) and lists only the directions the
//! findings report as unisolated; a direction an existing catch-all policy (empty pod
//! selector) already isolates is left out. With `allow_dns`, an Egress policy keeps one rule
//! allowing UDP and TCP port 53 to any destination, so name resolution keeps working.
//! The policy is named `secfix-default-deny` (`-2`, `-3`, … when taken) and labelled
//! `app.kubernetes.io/managed-by: kubectl-secfix`.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::{Action, Plan, Target};

pub(crate) mod baseline;
pub mod eval;
pub mod evidence;
pub mod graph;
pub mod render;
use crate::checks::{Direction, Finding};

/// Base name of the created policy.
pub(crate) const POLICY_NAME: &str = "secfix-default-deny";
/// The label every object this tool creates carries.
pub(crate) const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Its value.
pub(crate) const MANAGED_BY: &str = "kubectl-secfix";

/// How many names a warning lists before "and N more".
const LIST_LIMIT: usize = 10;

/// The default-deny plan for `namespace`, from its fixable `default-allow-namespace`
/// findings; `None` when there is nothing to isolate. `policies` and `services` are those
/// of the namespace (others are ignored).
pub(crate) fn plan_namespace(
    namespace: &str,
    findings: &[Finding],
    policies: &[NetworkPolicy],
    services: &[Service],
    opts: &super::FixOptions,
) -> Option<Plan> {
    let in_ns = |meta: &ObjectMeta| meta.namespace.as_deref().is_none_or(|n| n == namespace);
    let (directions, used) = directions_to_isolate(namespace, findings, policies);
    let policies: Vec<&NetworkPolicy> = policies.iter().filter(|p| in_ns(&p.metadata)).collect();
    if directions.is_empty() {
        return None;
    }
    let taken: BTreeSet<&str> = policies
        .iter()
        .filter_map(|p| p.metadata.name.as_deref())
        .collect();
    let name =
        crate::model::names::unique(POLICY_NAME, "", "-", crate::model::names::MAX_NAME, |n| {
            taken.contains(n)
        });
    let policy = build_policy(namespace, &name, &directions, opts.allow_dns);
    let after = serde_json::to_value(&policy).ok()?;

    let ns_label = crate::model::names::namespace_label(namespace);
    let mut warnings = Vec::new();
    if directions.contains(&Direction::Ingress) {
        let names: Vec<&str> = services
            .iter()
            .filter(|s| in_ns(&s.metadata))
            .filter(|s| {
                s.spec
                    .as_ref()
                    .and_then(|sp| sp.type_.as_deref())
                    .is_none_or(|t| t != "ExternalName")
            })
            .filter_map(|s| s.metadata.name.as_deref())
            .collect();
        if names.is_empty() {
            warnings.push(format!(
                "all ingress to pods in namespace {ns_label} will be denied unless another \
                 policy allows it"
            ));
        } else {
            warnings.push(format!(
                "all ingress to pods in namespace {ns_label} will be denied unless another \
                 policy allows it; these Services stop receiving traffic: {}",
                listed(&names)
            ));
        }
    }
    if directions.contains(&Direction::Egress) {
        warnings.push(if opts.allow_dns {
            format!(
                "all egress from pods in namespace {ns_label} except DNS (port 53) will be \
                 denied unless another policy allows it"
            )
        } else {
            format!(
                "all egress from pods in namespace {ns_label}, DNS included, will be denied \
                 unless another policy allows it"
            )
        })
    }
    let workloads: BTreeSet<&str> = used
        .iter()
        .filter_map(|f| unisolated(f).map(|(_, w)| w.iter().map(String::as_str)))
        .flatten()
        .collect();
    if !workloads.is_empty() {
        let w: Vec<&str> = workloads.into_iter().collect();
        warnings.push(format!("affected workloads: {}", listed(&w)));
    }

    Some(Plan {
        target: Target {
            api_version: "networking.k8s.io/v1".to_string(),
            kind: "NetworkPolicy".to_string(),
            namespace: namespace.to_string(),
            name,
        },
        findings: used,
        action: Action::Create,
        prerequisites: Vec::new(),
        warnings,
        moved: Vec::new(),
        before: Value::Null,
        after,
        flows: Vec::new(),
    })
}

/// What a check fixed per namespace says of each of its findings (its
/// [`crate::checks::Fixer::Namespace`]); the policies are built here, for any such check.
pub trait NamespaceFix: Sync + std::fmt::Debug {
    /// The direction `f` (a finding of the check) asks to isolate, and the workloads whose
    /// pods are affected; `None` when it asks for none.
    fn unisolated<'f>(&self, f: &'f Finding) -> Option<(Direction, &'f [String])>;
}

/// What `f`'s check, when fixed per namespace, says `f` asks to isolate.
fn unisolated(f: &Finding) -> Option<(Direction, &[String])> {
    match f.check.def().fixer() {
        Some(crate::checks::Fixer::Namespace(fix)) => fix.unisolated(f),
        _ => None,
    }
}

/// What the `default-allow-namespace` fix writes (`--network-policy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// One default-deny policy per namespace; DNS to any address stays allowed.
    DenyAll,
    /// Default deny plus the allow rules the evidence supports.
    #[default]
    LeastPrivilege,
}

/// The directions `findings` report as unisolated in `namespace`, less those an existing
/// catch-all policy of `policies` isolates, and the findings used.
fn directions_to_isolate(
    namespace: &str,
    findings: &[Finding],
    policies: &[NetworkPolicy],
) -> (BTreeSet<Direction>, Vec<Finding>) {
    let mut used = Vec::new();
    let mut directions = BTreeSet::new();
    for f in findings {
        if !f.fixable || f.kind != "Namespace" || f.name != namespace {
            continue;
        }
        if let Some((direction, _)) = unisolated(f) {
            directions.insert(direction);
            used.push(f.clone());
        }
    }
    for p in policies.iter().filter(|p| {
        p.metadata
            .namespace
            .as_deref()
            .is_none_or(|n| n == namespace)
    }) {
        for d in catch_all_directions(p) {
            directions.remove(&d);
        }
    }
    (directions, used)
}

/// The least-privilege plans: one per namespace of `by_namespace` (its fixable findings)
/// that has a direction to isolate. `cluster` is everything known (every namespace read),
/// `policies` the NetworkPolicies that exist.
///
/// Each plan creates the namespace's allow policies first (its prerequisites) and the
/// default deny last (its target), so no moment has the deny without the allows; `rollback`
/// deletes them all. `flows` carries the flow table.
pub fn plan_least_privilege(
    by_namespace: &BTreeMap<String, Vec<Finding>>,
    cluster: &graph::Cluster<'_>,
    policies: &[NetworkPolicy],
    opts: &super::FixOptions,
) -> Vec<Plan> {
    let mut fixed = BTreeMap::new();
    let mut used = BTreeMap::new();
    for (ns, findings) in by_namespace {
        let (directions, u) = directions_to_isolate(ns, findings, policies);
        if !directions.is_empty() {
            fixed.insert(ns.clone(), directions);
            used.insert(ns.clone(), u);
        }
    }
    let mut taken: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in policies {
        if let (Some(ns), Some(name)) = (&p.metadata.namespace, &p.metadata.name) {
            taken.entry(ns.clone()).or_default().insert(name.clone());
        }
    }
    let build_opts = render::Options {
        allow_dns: opts.allow_dns,
        allow_egress: opts.allow_egress.clone(),
        api_server: opts.api_server.clone(),
    };
    let target = |ns: &str, p: &NetworkPolicy| Target {
        api_version: "networking.k8s.io/v1".to_string(),
        kind: "NetworkPolicy".to_string(),
        namespace: ns.to_string(),
        name: p.metadata.name.clone().unwrap_or_default(),
    };
    let object = |p: &NetworkPolicy| {
        let mut v = serde_json::to_value(p).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            // apiVersion and kind first, as kubectl prints objects.
            let mut o = serde_json::Map::new();
            o.insert("apiVersion".into(), "networking.k8s.io/v1".into());
            o.insert("kind".into(), "NetworkPolicy".into());
            o.extend(std::mem::take(m));
            *m = o;
        }
        v
    };
    let cluster = graph::Cluster {
        ingress_from: if opts.ingress_from.is_empty() {
            cluster.ingress_from
        } else {
            &opts.ingress_from
        },
        allow_flows: if opts.allow_flows.is_empty() {
            cluster.allow_flows
        } else {
            &opts.allow_flows
        },
        ..*cluster
    };
    render::build(&cluster, &fixed, &taken, &build_opts)
        .into_iter()
        .filter_map(|set| {
            let mut policies = set.policies.iter();
            let deny = policies.next()?;
            let prerequisites = policies
                .map(|p| super::NewObject {
                    target: target(&set.namespace, p),
                    object: object(p),
                    sensitive: false,
                    keep_on_rollback: false,
                })
                .collect::<Vec<_>>();
            let mut warnings = summary(&set);
            warnings.extend(set.notes.iter().cloned());
            Some(Plan {
                target: target(&set.namespace, deny),
                findings: used.remove(&set.namespace).unwrap_or_default(),
                action: Action::Create,
                prerequisites,
                warnings,
                before: Value::Null,
                after: object(deny),
                moved: Vec::new(),
                flows: set.flows.clone(),
            })
        })
        .collect()
}

/// One line on what the set keeps and cuts.
fn summary(set: &render::NamespacePolicies) -> Vec<String> {
    use graph::FlowKind;
    let count = |k: FlowKind| set.flows.iter().filter(|f| f.kind == k).count();
    let mut parts = Vec::new();
    for (k, one, many) in [
        (
            FlowKind::Evidence,
            "flow from evidence",
            "flows from evidence",
        ),
        (
            FlowKind::Assumed,
            "assumed flow (no workload names the Service)",
            "assumed flows (no workload names the Service)",
        ),
        (FlowKind::EntryPoint, "entry point", "entry points"),
        (
            FlowKind::ApiServer,
            "flow with the Kubernetes API server",
            "flows with the Kubernetes API server",
        ),
    ] {
        let n = count(k);
        if n > 0 {
            parts.push(format!("{n} {}", if n == 1 { one } else { many }));
        }
    }
    let directions: Vec<String> = set
        .directions
        .iter()
        .map(|d| d.as_str().to_ascii_lowercase())
        .collect();
    let mut out = vec![format!(
        "namespace {}: {} NetworkPolic{} only the flows in the table ({}); all other \
         {} is denied",
        crate::model::names::namespace_label(&set.namespace),
        set.policies.len(),
        if set.policies.len() == 1 {
            "y allows"
        } else {
            "ies allow"
        },
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join(", ")
        },
        directions.join(" and "),
    )];
    let blocked = count(FlowKind::Blocked);
    if blocked > 0 {
        out.push(format!(
            "{blocked} flow{} will be blocked (see the flow table)",
            if blocked == 1 { "" } else { "s" }
        ));
    }
    out
}

/// The directions a policy isolates for every pod of its namespace (empty pod selector).
/// Without `policyTypes`, Ingress always and Egress when it has egress rules.
pub(crate) fn catch_all_directions(p: &NetworkPolicy) -> Vec<Direction> {
    let Some(spec) = &p.spec else {
        return Vec::new();
    };
    let selects_all = spec.pod_selector.as_ref().is_none_or(|s| {
        s.match_labels.as_ref().is_none_or(BTreeMap::is_empty)
            && s.match_expressions.as_ref().is_none_or(Vec::is_empty)
    });
    if !selects_all {
        return Vec::new();
    }
    match spec.policy_types.as_deref() {
        Some(types) if !types.is_empty() => types
            .iter()
            .filter_map(|t| match t.as_str() {
                "Ingress" => Some(Direction::Ingress),
                "Egress" => Some(Direction::Egress),
                _ => None,
            })
            .collect(),
        _ => {
            let mut d = vec![Direction::Ingress];
            if spec.egress.is_some() {
                d.push(Direction::Egress);
            }
            d
        }
    }
}

fn listed(names: &[&str]) -> String {
    if names.len() <= LIST_LIMIT {
        names.join(", ")
    } else {
        format!(
            "{}, and {} more",
            names[..LIST_LIMIT].join(", "),
            names.len() - LIST_LIMIT
        )
    }
}

/// The default-deny policy object.
pub(crate) fn build_policy(
    namespace: &str,
    name: &str,
    directions: &BTreeSet<Direction>,
    allow_dns: bool,
) -> NetworkPolicy {
    let egress = (allow_dns && directions.contains(&Direction::Egress)).then(|| {
        let port = |protocol: &str| NetworkPolicyPort {
            port: Some(IntOrString::Int(53)),
            protocol: Some(protocol.to_string()),
            end_port: None,
        };
        vec![NetworkPolicyEgressRule {
            ports: Some(vec![port("UDP"), port("TCP")]),
            to: None,
        }]
    });
    NetworkPolicy {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(namespace.to_string()),
            labels: Some(BTreeMap::from([(
                MANAGED_BY_LABEL.to_string(),
                MANAGED_BY.to_string(),
            )])),
            ..ObjectMeta::default()
        },
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector::default()),
            policy_types: Some(directions.iter().map(|d| d.as_str().to_string()).collect()),
            egress,
            ingress: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{CheckId, Detail, Severity};
    use crate::fix::FixOptions;
    use serde_json::json;

    fn finding(ns: &str, direction: Direction) -> Finding {
        Finding {
            origin: None,
            check: CheckId::DefaultAllowNamespace,
            severity: Severity::Medium,
            namespace: ns.into(),
            kind: "Namespace".into(),
            api_version: "v1".into(),
            name: ns.into(),
            container: None,
            path: String::new(),
            at: None,
            message: "m".into(),
            fixable: true,
            not_fixable_reason: None,
            source: None,
            detail: Detail::DefaultAllowNamespace(
                crate::checks::default_allow_namespace::Detail::Unisolated {
                    direction,
                    workloads: vec!["deployment/web".into()],
                },
            ),
            baseline: false,
        }
    }

    fn policy(v: Value) -> NetworkPolicy {
        serde_json::from_value(v).unwrap()
    }

    fn both(ns: &str) -> Vec<Finding> {
        vec![
            finding(ns, Direction::Ingress),
            finding(ns, Direction::Egress),
        ]
    }

    #[test]
    fn default_deny_with_dns() {
        let svc: Service =
            serde_json::from_value(json!({"metadata": {"name": "web", "namespace": "shop"},
            "spec": {"selector": {"app": "web"}}}))
            .unwrap();
        let ext: Service =
            serde_json::from_value(json!({"metadata": {"name": "ext", "namespace": "shop"},
            "spec": {"type": "ExternalName", "externalName": "x.example"}}))
            .unwrap();
        let plan = plan_namespace(
            "shop",
            &both("shop"),
            &[],
            &[svc, ext],
            &FixOptions::default(),
        )
        .unwrap();
        assert_eq!(plan.before, Value::Null);
        assert!(matches!(plan.action, Action::Create));
        assert_eq!(plan.target.name, POLICY_NAME);
        assert_eq!(plan.target.kind, "NetworkPolicy");
        assert_eq!(plan.findings.len(), 2);
        assert_eq!(
            plan.after,
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": "secfix-default-deny", "namespace": "shop",
                    "labels": {"app.kubernetes.io/managed-by": "kubectl-secfix"}},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                    "egress": [{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]}})
        );
        let w = plan.warnings.join("\n");
        assert!(
            w.contains("these Services stop receiving traffic: web"),
            "{w}"
        );
        assert!(!w.contains("ext"), "{w}");
        assert!(w.contains("except DNS"), "{w}");
        assert!(w.contains("deployment/web"), "{w}");
    }

    #[test]
    fn allow_dns_off_denies_all_egress() {
        let opts = FixOptions {
            allow_dns: false,
            ..FixOptions::default()
        };
        let plan =
            plan_namespace("a", &[finding("a", Direction::Egress)], &[], &[], &opts).unwrap();
        assert_eq!(plan.after["spec"]["policyTypes"], json!(["Egress"]));
        assert!(plan.after["spec"].get("egress").is_none());
        assert!(plan.warnings.join(" ").contains("DNS included"));
    }

    #[test]
    fn ingress_only_policy_has_no_dns_rule() {
        let plan = plan_namespace(
            "a",
            &[finding("a", Direction::Ingress)],
            &[],
            &[],
            &FixOptions::default(),
        )
        .unwrap();
        assert_eq!(plan.after["spec"]["policyTypes"], json!(["Ingress"]));
        assert!(plan.after["spec"].get("egress").is_none());
    }

    #[test]
    fn existing_ingress_only_catch_all_leaves_egress() {
        // No policyTypes, no egress section: isolates ingress only.
        let existing = policy(json!({"metadata": {"name": "deny-in", "namespace": "a"},
            "spec": {"podSelector": {}}}));
        let plan =
            plan_namespace("a", &both("a"), &[existing], &[], &FixOptions::default()).unwrap();
        assert_eq!(plan.after["spec"]["policyTypes"], json!(["Egress"]));
        assert!(!plan.warnings.join(" ").contains("ingress"));
    }

    #[test]
    fn catch_all_for_both_means_no_plan_and_selective_policies_do_not_count() {
        let all = policy(json!({"metadata": {"name": "x", "namespace": "a"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}));
        assert!(plan_namespace("a", &both("a"), &[all], &[], &FixOptions::default()).is_none());
        let selective = policy(json!({"metadata": {"name": "x", "namespace": "a"},
            "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress", "Egress"]}}));
        let other_ns = policy(json!({"metadata": {"name": "y", "namespace": "b"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}));
        let plan = plan_namespace(
            "a",
            &both("a"),
            &[selective, other_ns],
            &[],
            &FixOptions::default(),
        )
        .unwrap();
        assert_eq!(
            plan.after["spec"]["policyTypes"],
            json!(["Ingress", "Egress"])
        );
    }

    #[test]
    fn name_collision() {
        let taken = |n: &str| {
            policy(json!({"metadata": {"name": n, "namespace": "a"},
                "spec": {"podSelector": {"matchLabels": {"x": "y"}}}}))
        };
        let plan = plan_namespace(
            "a",
            &both("a"),
            &[taken("secfix-default-deny"), taken("secfix-default-deny-2")],
            &[],
            &FixOptions::default(),
        )
        .unwrap();
        assert_eq!(plan.target.name, "secfix-default-deny-3");
        assert_eq!(plan.after["metadata"]["name"], "secfix-default-deny-3");
    }

    #[test]
    fn unfixable_or_foreign_findings_are_ignored() {
        let mut f = finding("a", Direction::Ingress);
        f.fixable = false;
        let g = finding("b", Direction::Ingress);
        assert!(plan_namespace("a", &[f, g], &[], &[], &FixOptions::default()).is_none());
    }
}
