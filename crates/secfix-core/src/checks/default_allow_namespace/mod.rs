//! `default-allow-namespace`: per namespace and direction, the pods that no NetworkPolicy
//! isolates.
//!
//! A pod is isolated for a direction when at least one NetworkPolicy of its namespace selects
//! it (`podSelector`, unset or `{}` = every pod) and has that direction in its effective
//! `policyTypes`. Effective `policyTypes` follow the API server's defaulting: when unset (or
//! empty), `Ingress` is implied, and `Egress` too if the policy has egress rules.
//!
//! "Pods" are the pod templates of the scanned workloads and bare Pods, with the template's
//! labels. Labels a controller adds at runtime (`pod-template-hash`, `job-name`, …) are not
//! known, so a policy selecting only by those is not credited. A selector the API server
//! would reject selects nothing (see [`label_selector_matches`]).

mod fix;

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::NetworkPolicy;

use super::{Check, Evidence, Fixer, Images, Meta, Scan, ScanOptions};
use crate::model::selector::label_selector_matches;
use super::options::{CheckOptions, Flag, Takes, Value};
use crate::checks::PodGroup;
use crate::checks::{CheckId, Direction, Finding, Severity};

/// What a `default-allow-namespace` finding records: the facts its fix needs, never a secret's value. Serialized
/// into the finding's `detail` with its `type`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Detail {
    /// A namespace direction not isolated by any policy.
    #[serde(rename_all = "camelCase")]
    Unisolated {
        direction: Direction,
        /// Workloads (and bare pods) whose pods no policy isolates in this direction.
        workloads: Vec<String>,
    },
}

impl super::CheckDetail for Detail {
    fn delivery(&self) -> Option<super::Delivery> {
        None
    }

    fn set_delivery(&mut self, _: Option<super::Delivery>) {}

    fn identity(&self, _container: Option<&str>, _path: &str) -> String {
        let Detail::Unisolated { direction, .. } = self;
        format!(":{}", direction.as_str().to_lowercase())
    }

    fn subject(&self) -> Option<String> {
        None
    }

    fn moved_literal(&self) -> Option<&str> {
        None
    }

    /// Ingress before Egress for the two findings of one namespace.
    fn rank(&self) -> u8 {
        let Detail::Unisolated { direction, .. } = self;
        *direction as u8
    }

    fn pin(&self) -> Option<(&str, &str)> {
        None
    }
}

/// Namespaces the check skips unless [`Options::include_system`].
pub(crate) const SYSTEM_NAMESPACES: [&str; 3] = ["kube-system", "kube-public", "kube-node-lease"];

/// The check's options: `--include-system`.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Check [`SYSTEM_NAMESPACES`] too.
    pub include_system: bool,
}

impl CheckOptions for Options {
    const FLAGS: &'static [Flag] = &[Flag {
        long: "include-system",
        value_name: "",
        help: "Also scan kube-system, kube-public and kube-node-lease for default-allow namespaces",
        takes: Takes::Switch,
        file: None,
        group: None,
        requires: &[],
    }];

    fn set(&mut self, _flag: &str, _value: Value<'_>) -> Result<(), String> {
        self.include_system = true;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), String> {
        Ok(())
    }
}

/// The check's definition (registered in the table of [`super`]).
pub static CHECK: DefaultAllowNamespace = DefaultAllowNamespace;

/// The default-allow-namespace check.
#[derive(Debug)]
pub struct DefaultAllowNamespace;

static META: Meta = Meta {
    id: CheckId::DefaultAllowNamespace,
    name: "default-allow-namespace",
    title: "Namespace pods are not isolated by a NetworkPolicy",
    help: "Without a NetworkPolicy selecting a pod, all traffic to and from it is allowed. \
           The fix adds a least-privilege NetworkPolicy set: default deny, plus the \
           connections the workloads are seen to need (Services they name, Services nobody \
           names from their own namespace, entry points from anywhere, DNS).",
    finds: "a namespace whose pods no NetworkPolicy isolates, per direction",
    remedy: "adds a least-privilege NetworkPolicy set: default deny plus the connections the workloads are seen to need (see Least-privilege NetworkPolicies); `--network-policy deny-all`: one default-deny policy",
    severity: Severity::Medium,
    tags: &["network"],
};

impl Check for DefaultAllowNamespace {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn unavailable(&self, _opts: &ScanOptions) -> Option<&'static str> {
        None
    }

    /// The NetworkPolicies say which namespaces are isolated; the fix reads who talks to
    /// whom, so its policies keep every connection.
    fn evidence(&self, _opts: &ScanOptions) -> Evidence {
        Evidence {
            traffic: true,
            ..Evidence::NONE
        }
    }

    fn scan(&self) -> Scan {
        Scan::Namespace(|n| {
            let system = SYSTEM_NAMESPACES.contains(&n.namespace);
            if system && !n.opts.options.default_allow_namespace.include_system {
                return Vec::new();
            }
            check(n.namespace, n.pods, n.policies)
        })
    }

    fn fixer(&self) -> Option<Fixer> {
        Some(Fixer::Namespace(&fix::Fix))
    }

    fn images(&self) -> Option<&'static dyn Images> {
        None
    }
}

/// The directions a policy isolates, after `policyTypes` defaulting.
pub(crate) fn policy_directions(np: &NetworkPolicy) -> Vec<Direction> {
    let Some(spec) = &np.spec else {
        return vec![Direction::Ingress];
    };
    match spec.policy_types.as_deref() {
        Some(types) if !types.is_empty() => {
            let mut out = Vec::new();
            if types.iter().any(|t| t == "Ingress") {
                out.push(Direction::Ingress);
            }
            if types.iter().any(|t| t == "Egress") {
                out.push(Direction::Egress);
            }
            out
        }
        _ => {
            let mut out = vec![Direction::Ingress];
            if spec.egress.as_ref().is_some_and(|e| !e.is_empty()) {
                out.push(Direction::Egress);
            }
            out
        }
    }
}

fn selects(np: &NetworkPolicy, labels: &BTreeMap<String, String>) -> bool {
    match np.spec.as_ref().and_then(|s| s.pod_selector.as_ref()) {
        Some(sel) => label_selector_matches(sel, labels),
        None => true,
    }
}

/// One finding per direction in which some pod of `namespace` is not isolated.
/// `policies` are the NetworkPolicies of that namespace; `pods` its workloads' pods.
pub fn check(namespace: &str, pods: &[PodGroup], policies: &[NetworkPolicy]) -> Vec<Finding> {
    let scoped: Vec<(&NetworkPolicy, Vec<Direction>)> =
        policies.iter().map(|p| (p, policy_directions(p))).collect();
    let mut out = Vec::new();
    for direction in [Direction::Ingress, Direction::Egress] {
        let mut workloads: Vec<String> = pods
            .iter()
            .filter(|pod| {
                !scoped
                    .iter()
                    .any(|(np, dirs)| dirs.contains(&direction) && selects(np, &pod.labels))
            })
            .map(|pod| pod.workload.clone())
            .collect();
        if workloads.is_empty() {
            continue;
        }
        workloads.sort();
        workloads.dedup();
        let n = workloads.len();
        let plural = if n == 1 { "" } else { "s" };
        out.push(Finding {
            origin: None,
            check: CheckId::DefaultAllowNamespace,
            severity: Severity::Medium,
            namespace: namespace.to_string(),
            kind: "Namespace".to_string(),
            api_version: "v1".to_string(),
            name: namespace.to_string(),
            container: None,
            path: String::new(),
            at: None,
            message: format!(
                "no NetworkPolicy isolates {} for {n} workload{plural}",
                direction.as_str()
            ),
            fixable: true,
            not_fixable_reason: None,
            source: None,
            detail: crate::checks::Detail::DefaultAllowNamespace(Detail::Unisolated {
                direction,
                workloads,
            }),
            baseline: false,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn only_this_check_makes_a_run_read_who_talks_to_whom() {
        let mut o = ScanOptions::default();
        assert!(o.evidence().traffic, "every check runs by default");
        o.checks = CheckId::ALL
            .into_iter()
            .filter(|c| *c != CheckId::DefaultAllowNamespace)
            .collect();
        assert!(!o.evidence().traffic);
        o.checks.insert(CheckId::DefaultAllowNamespace);
        assert!(o.evidence().traffic);
    }

    fn pods(list: &[(&str, Value)]) -> Vec<PodGroup> {
        list.iter()
            .map(|(w, l)| PodGroup {
                workload: w.to_string(),
                labels: serde_json::from_value(l.clone()).unwrap(),
            })
            .collect()
    }

    fn np(spec: Value) -> NetworkPolicy {
        serde_json::from_value(json!({"metadata": {"name": "p", "namespace": "ns"}, "spec": spec}))
            .unwrap()
    }

    fn unisolated(fs: &[Finding]) -> Vec<(Direction, Vec<String>)> {
        fs.iter()
            .map(|f| match &f.detail {
                crate::checks::Detail::DefaultAllowNamespace(Detail::Unisolated {
                    direction,
                    workloads,
                }) => (*direction, workloads.clone()),
                d => panic!("{d:?}"),
            })
            .collect()
    }

    fn two_pods() -> Vec<PodGroup> {
        pods(&[
            ("Deployment/web", json!({"app": "web"})),
            ("Pod/debug", json!({"app": "debug", "tier": "x"})),
        ])
    }

    #[test]
    fn no_policy_means_both_directions_open() {
        let fs = check("ns", &two_pods(), &[]);
        assert_eq!(
            unisolated(&fs),
            [
                (
                    Direction::Ingress,
                    vec!["Deployment/web".into(), "Pod/debug".into()]
                ),
                (
                    Direction::Egress,
                    vec!["Deployment/web".into(), "Pod/debug".into()]
                ),
            ]
        );
        let f = &fs[0];
        assert_eq!(
            (
                f.kind.as_str(),
                f.api_version.as_str(),
                f.name.as_str(),
                f.namespace.as_str()
            ),
            ("Namespace", "v1", "ns", "ns")
        );
        assert_eq!(f.path, "");
        assert!(f.container.is_none());
        assert!(f.fixable);
        assert_eq!(f.severity, Severity::Medium);
        assert_eq!(
            f.message,
            "no NetworkPolicy isolates Ingress for 2 workloads"
        );
    }

    #[test]
    fn default_deny_both_directions_is_clean() {
        let p = np(json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}));
        assert!(check("ns", &two_pods(), &[p]).is_empty());
        // Two separate policies work as well; an unset podSelector selects all.
        let i = np(json!({"policyTypes": ["Ingress"]}));
        let e = np(json!({"podSelector": {}, "policyTypes": ["Egress"]}));
        assert!(check("ns", &two_pods(), &[i, e]).is_empty());
    }

    #[test]
    fn no_pods_no_finding() {
        assert!(check("ns", &[], &[]).is_empty());
    }

    #[test]
    fn policy_types_unset_implies_ingress_and_egress_only_with_rules() {
        let p = np(json!({"podSelector": {}}));
        assert_eq!(policy_directions(&p), [Direction::Ingress]);
        let fs = check("ns", &two_pods(), &[p]);
        assert_eq!(unisolated(&fs)[0].0, Direction::Egress);
        assert_eq!(fs.len(), 1);
        let p = np(json!({"podSelector": {}, "egress": [{}]}));
        assert_eq!(
            policy_directions(&p),
            [Direction::Ingress, Direction::Egress]
        );
        assert!(check("ns", &two_pods(), &[p]).is_empty());
        let p = np(json!({"podSelector": {}, "egress": [], "policyTypes": []}));
        assert_eq!(policy_directions(&p), [Direction::Ingress]);
    }

    #[test]
    fn egress_only_policy_leaves_ingress_open() {
        let p = np(json!({"podSelector": {}, "policyTypes": ["Egress"]}));
        let fs = check("ns", &two_pods(), &[p]);
        assert_eq!(unisolated(&fs).len(), 1);
        assert_eq!(unisolated(&fs)[0].0, Direction::Ingress);
        assert_eq!(
            fs[0].message,
            "no NetworkPolicy isolates Ingress for 2 workloads"
        );
    }

    #[test]
    fn policies_selecting_some_pods() {
        let by_labels = np(json!({"podSelector": {"matchLabels": {"app": "web"}},
            "policyTypes": ["Ingress", "Egress"]}));
        let fs = check("ns", &two_pods(), &[by_labels]);
        assert_eq!(
            unisolated(&fs),
            [
                (Direction::Ingress, vec!["Pod/debug".into()]),
                (Direction::Egress, vec!["Pod/debug".into()]),
            ]
        );
        assert_eq!(
            fs[0].message,
            "no NetworkPolicy isolates Ingress for 1 workload"
        );
        let by_expr = np(json!({"podSelector": {"matchExpressions": [
                {"key": "tier", "operator": "Exists"}]},
            "policyTypes": ["Ingress"]}));
        let fs = check("ns", &two_pods(), &[by_expr]);
        assert_eq!(
            unisolated(&fs),
            [
                (Direction::Ingress, vec!["Deployment/web".into()]),
                (
                    Direction::Egress,
                    vec!["Deployment/web".into(), "Pod/debug".into()]
                ),
            ]
        );
        let not_in = np(json!({"podSelector": {"matchExpressions": [
                {"key": "app", "operator": "NotIn", "values": ["web"]}]},
            "policyTypes": ["Ingress", "Egress"]}));
        let fs = check("ns", &two_pods(), &[not_in]);
        assert_eq!(unisolated(&fs)[0].1, vec!["Deployment/web".to_string()]);
    }
}
