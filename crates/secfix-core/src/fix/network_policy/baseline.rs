//! Existing NetworkPolicies are the baseline: for a pod and direction an existing policy
//! already isolates, nothing the fix adds may allow a connection the existing policies
//! deny.
//!
//! NetworkPolicies only add allows, so the set keeps that promise when no rule it adds
//! selects such a pod in that direction. [`confine`] rewrites each new policy that has rules
//! for a direction some existing policy isolates: its pod selector `P` becomes
//! `P AND NOT S1 AND NOT S2 …` (the `Si` are the existing policies' pod selectors), written
//! as one policy per term of that formula's disjunctive form, each term a plain label
//! selector (`app NotIn [db]`, `tier Exists`, …). That holds for pods the tool does not
//! know too, since it is the policies' own selectors that are excluded.
//!
//! [`recheck`] then asks the evaluator ([`super::eval`]) about every flow the table says is
//! allowed: a flow the existing policies deny becomes a *will be blocked* row naming both
//! ends and the policy that denies it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicySpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

use super::eval::{self, Endpoint, NamespaceLabels, Pod};
use super::graph::{Flow, FlowKind, Graph, Peer, PodPort, PortValue, WorkloadRef};
use crate::checks::Direction;
use crate::model::Workload;

/// Most policies one new policy is split into; beyond that its rules are left out.
const MAX_TERMS: usize = 64;

/// A pod of `w` for the evaluator.
pub(crate) fn pod_of(w: &Workload) -> Pod {
    let mut named_ports = Vec::new();
    for c in w
        .spec
        .init_containers
        .iter()
        .flatten()
        .chain(&w.spec.containers)
    {
        for p in c.ports.iter().flatten() {
            if let Some(n) = &p.name {
                named_ports.push((
                    n.clone(),
                    p.container_port,
                    p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                ));
            }
        }
    }
    Pod {
        namespace: w.namespace().to_string(),
        labels: w.pod_labels.clone(),
        named_ports,
    }
}

/// One condition on a label key.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Req {
    In(String, BTreeSet<String>),
    NotIn(String, BTreeSet<String>),
    Exists(String),
    DoesNotExist(String),
}

/// The requirements of a selector; `None` when one has an operator the API server would
/// reject (such a selector is treated as unknown).
fn requirements(sel: &LabelSelector) -> Option<Vec<Req>> {
    let mut out: Vec<Req> = sel
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| Req::In(k.clone(), BTreeSet::from([v.clone()])))
        .collect();
    for e in sel.match_expressions.iter().flatten() {
        let values: BTreeSet<String> = e.values.iter().flatten().cloned().collect();
        out.push(match e.operator.as_str() {
            "In" if !values.is_empty() => Req::In(e.key.clone(), values),
            "NotIn" if !values.is_empty() => Req::NotIn(e.key.clone(), values),
            "Exists" => Req::Exists(e.key.clone()),
            "DoesNotExist" => Req::DoesNotExist(e.key.clone()),
            _ => return None,
        });
    }
    Some(out)
}

fn negate(r: &Req) -> Req {
    match r.clone() {
        Req::In(k, v) => Req::NotIn(k, v),
        Req::NotIn(k, v) => Req::In(k, v),
        Req::Exists(k) => Req::DoesNotExist(k),
        Req::DoesNotExist(k) => Req::Exists(k),
    }
}

/// The conjunction `reqs` as one label selector, simplified; `None` when nothing can
/// satisfy it.
fn conjunction(reqs: &[Req]) -> Option<LabelSelector> {
    #[derive(Default)]
    struct Key {
        in_: Option<BTreeSet<String>>,
        not_in: BTreeSet<String>,
        exists: Option<bool>,
    }
    let mut keys: BTreeMap<&str, Key> = BTreeMap::new();
    for r in reqs {
        match r {
            Req::In(k, v) => {
                let e = keys.entry(k).or_default();
                e.in_ = Some(match e.in_.take() {
                    Some(cur) => cur.intersection(v).cloned().collect(),
                    None => v.clone(),
                });
            }
            Req::NotIn(k, v) => keys.entry(k).or_default().not_in.extend(v.iter().cloned()),
            Req::Exists(k) => {
                let e = keys.entry(k).or_default();
                if e.exists == Some(false) {
                    return None;
                }
                e.exists = Some(true);
            }
            Req::DoesNotExist(k) => {
                let e = keys.entry(k).or_default();
                if e.exists == Some(true) {
                    return None;
                }
                e.exists = Some(false);
            }
        }
    }
    let mut labels = BTreeMap::new();
    let mut exprs = Vec::new();
    let expr = |k: &str, op: &str, v: Option<Vec<String>>| LabelSelectorRequirement {
        key: k.to_string(),
        operator: op.to_string(),
        values: v,
    };
    for (k, e) in keys {
        if let Some(in_) = e.in_ {
            let left: Vec<String> = in_.difference(&e.not_in).cloned().collect();
            if left.is_empty() || e.exists == Some(false) {
                return None;
            }
            if let [one] = left.as_slice() {
                labels.insert(k.to_string(), one.clone());
            } else {
                exprs.push(expr(k, "In", Some(left)));
            }
        } else if e.exists == Some(false) {
            exprs.push(expr(k, "DoesNotExist", None));
        } else {
            if e.exists == Some(true) {
                exprs.push(expr(k, "Exists", None));
            }
            if !e.not_in.is_empty() {
                exprs.push(expr(k, "NotIn", Some(e.not_in.into_iter().collect())));
            }
        }
    }
    Some(LabelSelector {
        match_labels: (!labels.is_empty()).then_some(labels),
        match_expressions: (!exprs.is_empty()).then_some(exprs),
    })
}

/// `base AND NOT s1 AND NOT s2 …` as label selectors whose union it is (satisfiable ones
/// only). `None` when it has more than [`MAX_TERMS`] terms.
fn excluding(base: &LabelSelector, excluded: &[&LabelSelector]) -> Option<Vec<LabelSelector>> {
    let Some(base) = requirements(base) else {
        return Some(Vec::new());
    };
    let mut terms: Vec<Vec<Req>> = vec![base];
    for s in excluded {
        // An unknown selector is read as selecting everything: nothing is left.
        let options: Vec<Req> = requirements(s)
            .unwrap_or_default()
            .iter()
            .map(negate)
            .collect();
        let mut next = Vec::new();
        for t in &terms {
            for o in &options {
                let mut t = t.clone();
                t.push(o.clone());
                if conjunction(&t).is_some() {
                    next.push(t);
                }
            }
        }
        if next.len() > MAX_TERMS {
            return None;
        }
        terms = next;
    }
    let mut out: Vec<LabelSelector> = Vec::new();
    for t in terms {
        if let Some(sel) = conjunction(&t)
            && !out.contains(&sel)
        {
            out.push(sel);
        }
    }
    Some(out)
}

/// What [`confine`] did to one direction of one policy, for the notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Confined {
    pub policy: String,
    pub direction: Direction,
    /// The existing policies whose pods were left out.
    pub by: Vec<String>,
    /// Whether the rules could not be kept at all (too many terms, or an existing policy
    /// isolating every pod the new one selects).
    pub dropped: bool,
}

fn has_rules(spec: &NetworkPolicySpec, d: Direction) -> bool {
    match d {
        Direction::Ingress => spec.ingress.as_ref().is_some_and(|r| !r.is_empty()),
        Direction::Egress => spec.egress.as_ref().is_some_and(|r| !r.is_empty()),
    }
}

/// Rewrites the new policies of namespace `ns` so that no rule selects a pod that a policy
/// of `existing` isolates in the rule's direction. `known` are the namespace's known pods:
/// a term that selects none of them is left out (it would only add an empty policy).
/// `unique` gives a free policy name for a base name.
pub(crate) fn confine(
    ns: &str,
    new: Vec<NetworkPolicy>,
    existing: &[NetworkPolicy],
    known: &[Pod],
    unique: &mut dyn FnMut(String) -> String,
) -> (Vec<NetworkPolicy>, Vec<Confined>) {
    let isolating = |d: Direction| -> Vec<&NetworkPolicy> {
        existing
            .iter()
            .filter(|p| p.metadata.namespace.as_deref().unwrap_or("default") == ns)
            .filter(|p| eval::policy_directions(p).contains(&d))
            .collect()
    };
    let mut out = Vec::new();
    let mut said = Vec::new();
    for p in new {
        let Some(spec) = p.spec.clone() else {
            out.push(p);
            continue;
        };
        let affected: Vec<(Direction, Vec<&NetworkPolicy>)> =
            [Direction::Ingress, Direction::Egress]
                .into_iter()
                .filter(|d| has_rules(&spec, *d))
                .map(|d| (d, isolating(d)))
                .filter(|(_, by)| !by.is_empty())
                .collect();
        if affected.is_empty() {
            out.push(p);
            continue;
        }
        let name = p.metadata.name.clone().unwrap_or_default();
        let selector = spec.pod_selector.clone().unwrap_or_default();
        // The policy without the affected rules: it still isolates its pods.
        let mut base = p.clone();
        if let Some(s) = &mut base.spec {
            for (d, _) in &affected {
                match d {
                    Direction::Ingress => s.ingress = None,
                    Direction::Egress => s.egress = None,
                }
            }
        }
        let select_all = selector == LabelSelector::default();
        let keep_base = select_all
            || [Direction::Ingress, Direction::Egress]
                .into_iter()
                .any(|d| base.spec.as_ref().is_some_and(|s| has_rules(s, d)));
        let mut base_name_free = !keep_base;
        if keep_base {
            out.push(base);
        }
        for (d, by) in affected {
            let excluded: Vec<&LabelSelector> = by
                .iter()
                .map(|q| {
                    q.spec
                        .as_ref()
                        .and_then(|s| s.pod_selector.as_ref())
                        .unwrap_or(&EMPTY)
                })
                .collect();
            let terms = excluding(&selector, &excluded);
            let dropped = terms.is_none();
            let terms: Vec<LabelSelector> = terms
                .unwrap_or_default()
                .into_iter()
                .filter(|t| {
                    known.is_empty()
                        || known.iter().any(|pod| {
                            pod.namespace == ns
                                && crate::model::selector::label_selector_matches(t, &pod.labels)
                        })
                })
                .collect();
            said.push(Confined {
                policy: name.clone(),
                direction: d,
                by: by.iter().filter_map(|q| q.metadata.name.clone()).collect(),
                dropped: dropped || terms.is_empty(),
            });
            for t in terms {
                let term_name = if base_name_free {
                    base_name_free = false;
                    name.clone()
                } else {
                    unique(format!("{name}-{}", d.as_str().to_ascii_lowercase()))
                };
                let mut q = p.clone();
                q.metadata.name = Some(term_name);
                let s = q.spec.get_or_insert_with(Default::default);
                s.pod_selector = Some(t);
                s.policy_types = Some(vec![d.as_str().to_string()]);
                match d {
                    Direction::Ingress => s.egress = None,
                    Direction::Egress => s.ingress = None,
                }
                out.push(q);
            }
        }
    }
    (out, said)
}

static EMPTY: LabelSelector = LabelSelector {
    match_labels: None,
    match_expressions: None,
};

/// An address outside the cluster that stands for "anywhere" (TEST-NET-3).
const OUTSIDE: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7));

/// The endpoints a peer of the flow table stands for, each with the workload it is a pod
/// of (`None` for an address).
fn endpoints(g: &Graph<'_>, peer: &Peer) -> Vec<(Option<WorkloadRef>, Endpoint)> {
    let of = |w: &Workload| (Some(WorkloadRef::of(w)), Endpoint::Pod(pod_of(w)));
    match peer {
        Peer::Workload(r) => g
            .workloads
            .iter()
            .filter(|w| WorkloadRef::of(w) == *r)
            .map(of)
            .collect(),
        Peer::Namespace { namespace } => g
            .workloads
            .iter()
            .filter(|w| w.namespace() == namespace)
            .map(of)
            .collect(),
        Peer::Service {
            namespace, name, ..
        } => g
            .service(namespace, name)
            .map(|s| s.backing.iter().map(|w| of(w)).collect())
            .unwrap_or_default(),
        Peer::Anywhere => vec![(None, Endpoint::Ip(OUTSIDE))],
        Peer::Cidr { cidr } => vec![(None, Endpoint::Ip(cidr.addr))],
        Peer::ClusterDns => vec![(
            None,
            Endpoint::Pod(Pod {
                namespace: "kube-system".into(),
                labels: BTreeMap::from([("k8s-app".to_string(), "kube-dns".to_string())]),
                named_ports: Vec::new(),
            }),
        )],
        Peer::ApiServer { addresses } => vec![(
            None,
            Endpoint::Ip(addresses.first().map_or(OUTSIDE, |c| c.addr)),
        )],
        Peer::Cidrs { cidrs } => cidrs.iter().map(|c| (None, Endpoint::Ip(c.addr))).collect(),
        Peer::Pods(p) => g
            .workloads
            .iter()
            .filter(|w| {
                w.namespace() == p.namespace
                    && p.labels.iter().all(|(k, v)| w.pod_labels.get(k) == Some(v))
            })
            .map(of)
            .collect(),
        Peer::Host { .. } => Vec::new(),
    }
}

/// The numbered ports a flow is about: its ports, or for "all ports" those the destination
/// pods declare (else 1/TCP, standing for any).
fn flow_ports(f: &Flow, dst: &[(Option<WorkloadRef>, Endpoint)], g: &Graph<'_>) -> Vec<PodPort> {
    if !f.ports.is_empty() {
        return f
            .ports
            .iter()
            .filter(|p| matches!(p.port, PortValue::Number(_)))
            .cloned()
            .collect();
    }
    let ws: Vec<&Workload> = g
        .workloads
        .iter()
        .filter(|w| {
            dst.iter()
                .any(|(r, _)| r.as_ref() == Some(&WorkloadRef::of(w)))
        })
        .collect();
    let ports = super::graph::container_ports(&ws);
    if ports.is_empty() {
        vec![PodPort {
            port: PortValue::Number(1),
            protocol: "TCP".into(),
        }]
    } else {
        ports
    }
}

/// Checks each flow the table says is allowed against `all` (the existing policies and the
/// new ones): what they deny becomes a *will be blocked* row naming both ends and the
/// existing policy in the way. A flow denied for every pair becomes that row itself.
pub(crate) fn recheck(
    g: &Graph<'_>,
    ns: &str,
    flows: Vec<Flow>,
    existing: &[NetworkPolicy],
    all: &[NetworkPolicy],
    ns_labels: &NamespaceLabels,
) -> Vec<Flow> {
    let mut out = Vec::new();
    for f in flows {
        if matches!(f.kind, FlowKind::Blocked) {
            out.push(f);
            continue;
        }
        let srcs = endpoints(g, &f.from);
        let dsts = endpoints(g, &f.to);
        let ports = flow_ports(&f, &dsts, g);
        let mut denied: Vec<Flow> = Vec::new();
        let mut pairs = 0;
        let mut fully = 0;
        for (sr, s) in &srcs {
            for (dr, d) in &dsts {
                pairs += 1;
                let cut: Vec<PodPort> = ports
                    .iter()
                    .filter(|p| {
                        let PortValue::Number(n) = p.port else {
                            return false;
                        };
                        let port = eval::Port {
                            number: n,
                            protocol: &p.protocol,
                        };
                        !eval::allows(all, ns_labels, s, d, port)
                    })
                    .cloned()
                    .collect();
                if cut.is_empty() {
                    continue;
                }
                if cut.len() == ports.len() {
                    fully += 1;
                }
                let mut by: BTreeSet<String> = BTreeSet::new();
                if let Endpoint::Pod(pod) = d {
                    by.extend(
                        eval::isolating(existing, pod, Direction::Ingress)
                            .iter()
                            .filter_map(|p| p.metadata.name.clone())
                            .map(|n| format!("{n} (ingress of {})", who(dr, &f.to, ns))),
                    );
                }
                if let Endpoint::Pod(pod) = s {
                    by.extend(
                        eval::isolating(existing, pod, Direction::Egress)
                            .iter()
                            .filter_map(|p| p.metadata.name.clone())
                            .map(|n| format!("{n} (egress of {})", who(sr, &f.from, ns))),
                    );
                }
                let by: Vec<String> = by.into_iter().collect();
                denied.push(Flow {
                    kind: FlowKind::Blocked,
                    from: sr.clone().map_or_else(|| f.from.clone(), Peer::Workload),
                    to: match (&f.to, dr) {
                        (Peer::Service { .. }, _) | (_, None) => f.to.clone(),
                        (_, Some(r)) => Peer::Workload(r.clone()),
                    },
                    ports: cut,
                    evidence: f.evidence.clone(),
                    note: Some(format!(
                        "denied by the existing NetworkPolic{} {}: the fix never widens existing \
                         policies; change {} to keep this flow",
                        if by.len() == 1 { "y" } else { "ies" },
                        if by.is_empty() {
                            "of the cluster".to_string()
                        } else {
                            by.join(", ")
                        },
                        if by.len() == 1 { "it" } else { "them" },
                    )),
                });
            }
        }
        if pairs > 0 && fully == pairs {
            // Nothing of the flow is left.
            out.extend(denied);
        } else {
            out.push(f);
            out.extend(denied);
        }
    }
    out.sort();
    out.dedup();
    out
}

fn who(r: &Option<WorkloadRef>, peer: &Peer, ns: &str) -> String {
    match r {
        Some(r) if r.namespace == ns => r.to_string(),
        Some(r) => format!("{r} (namespace {})", r.namespace),
        None => peer.text(ns),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sel(v: serde_json::Value) -> LabelSelector {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn excluding_writes_the_difference_as_plain_selectors() {
        let base = sel(json!({"matchLabels": {"app": "db"}}));
        let s1 = sel(json!({"matchLabels": {"app": "db", "role": "primary"}}));
        let got = excluding(&base, &[&s1]).unwrap();
        // app=db AND (app!=db OR role!=primary): the first term is empty.
        assert_eq!(
            serde_json::to_value(&got).unwrap(),
            json!([{"matchLabels": {"app": "db"},
                "matchExpressions": [{"key": "role", "operator": "NotIn", "values": ["primary"]}]}])
        );
        let all = sel(json!({}));
        assert_eq!(
            excluding(&base, &[&all]).unwrap(),
            Vec::<LabelSelector>::new()
        );
        let e = sel(json!({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}));
        let got = excluding(&LabelSelector::default(), &[&e]).unwrap();
        assert_eq!(
            serde_json::to_value(&got).unwrap(),
            json!([{"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}])
        );
    }
}
