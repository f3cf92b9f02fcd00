//! A small NetworkPolicy evaluator: does a set of policies allow a connection from one
//! endpoint to another on a port? Pure, and written from the Kubernetes semantics:
//!
//! - a pod is isolated for a direction when some policy of its namespace selects it and
//!   lists that direction in `policyTypes` (without `policyTypes`: Ingress always, Egress
//!   when it has egress rules);
//! - a connection is allowed when the destination pod is not isolated for ingress or some
//!   ingress rule selecting it admits the source, **and** the source pod is not isolated
//!   for egress or some egress rule selecting it admits the destination;
//! - a rule without `from`/`to` admits every peer, one without `ports` every port; a peer
//!   with only `podSelector` means pods of the policy's namespace, with `namespaceSelector`
//!   pods of the namespaces it selects; `ipBlock` matches addresses outside the cluster
//!   (this evaluator never matches a pod by `ipBlock`); a named port is the destination
//!   pod's container port of that name.
//!
//! It answers the questions the planner must not get wrong: which known pods existing
//! policies already isolate ([`isolating`]), and whether a flow is allowed ([`allows`]).

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::graph::Cidr;
use crate::checks::Direction;
use crate::model::selector::label_selector_matches;

/// A pod as the evaluator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pod {
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    /// Named container ports: (name, number, protocol).
    pub named_ports: Vec<(String, i32, String)>,
}

/// One end of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Pod(Pod),
    /// An address outside the cluster.
    Ip(IpAddr),
}

/// The labels of each namespace (a namespace not listed has none).
pub type NamespaceLabels = BTreeMap<String, BTreeMap<String, String>>;

/// A port and protocol (`TCP`, `UDP`, `SCTP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Port<'a> {
    pub number: i32,
    pub protocol: &'a str,
}

/// The directions `p` isolates for the pods it selects.
pub fn policy_directions(p: &NetworkPolicy) -> Vec<Direction> {
    let Some(spec) = &p.spec else {
        return Vec::new();
    };
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
            if spec.egress.as_ref().is_some_and(|e| !e.is_empty()) {
                d.push(Direction::Egress);
            }
            d
        }
    }
}

fn namespace_of(p: &NetworkPolicy) -> &str {
    p.metadata.namespace.as_deref().unwrap_or("default")
}

/// Whether `p` selects `pod` (same namespace, pod selector matches).
pub fn selects(p: &NetworkPolicy, pod: &Pod) -> bool {
    namespace_of(p) == pod.namespace
        && p.spec.as_ref().is_some_and(|s| {
            s.pod_selector
                .as_ref()
                .is_none_or(|sel| label_selector_matches(sel, &pod.labels))
        })
}

/// The policies of `policies` that isolate `pod` for `direction`.
pub fn isolating<'p>(
    policies: &'p [NetworkPolicy],
    pod: &Pod,
    direction: Direction,
) -> Vec<&'p NetworkPolicy> {
    policies
        .iter()
        .filter(|p| selects(p, pod) && policy_directions(p).contains(&direction))
        .collect()
}

/// Whether `peer`, in a rule of a policy of namespace `policy_ns`, matches `ep`.
fn peer_matches(
    peer: &NetworkPolicyPeer,
    policy_ns: &str,
    ep: &Endpoint,
    ns_labels: &NamespaceLabels,
) -> bool {
    match ep {
        Endpoint::Ip(ip) => peer.ip_block.as_ref().is_some_and(|b| {
            let within = |c: &str| c.parse::<Cidr>().is_ok_and(|c| c.contains(*ip));
            within(&b.cidr) && !b.except.iter().flatten().any(|e| within(e))
        }),
        Endpoint::Pod(pod) => {
            if peer.ip_block.is_some() {
                return false;
            }
            let ns_ok = match &peer.namespace_selector {
                None => pod.namespace == policy_ns,
                Some(sel) => {
                    let empty = BTreeMap::new();
                    label_selector_matches(sel, ns_labels.get(&pod.namespace).unwrap_or(&empty))
                }
            };
            let pod_ok = peer
                .pod_selector
                .as_ref()
                .is_none_or(|sel| label_selector_matches(sel, &pod.labels));
            if peer.namespace_selector.is_none() && peer.pod_selector.is_none() {
                // An empty peer is rejected by the API server.
                return false;
            }
            ns_ok && pod_ok
        }
    }
}

/// Whether `ports` (of a rule) admit `port` on destination `dst`.
fn ports_match(ports: Option<&Vec<NetworkPolicyPort>>, port: Port<'_>, dst: &Endpoint) -> bool {
    let Some(ports) = ports.filter(|p| !p.is_empty()) else {
        return true;
    };
    ports.iter().any(|p| {
        let protocol = p.protocol.as_deref().unwrap_or("TCP");
        if protocol != port.protocol {
            return false;
        }
        match &p.port {
            None => true,
            Some(IntOrString::Int(n)) => match p.end_port {
                Some(end) => (*n..=end).contains(&port.number),
                None => *n == port.number,
            },
            Some(IntOrString::String(name)) => match dst {
                Endpoint::Pod(pod) => pod
                    .named_ports
                    .iter()
                    .any(|(n, num, proto)| n == name && *num == port.number && proto == protocol),
                Endpoint::Ip(_) => false,
            },
        }
    })
}

/// Whether `policies` allow a connection from `src` to `dst` on `port`.
pub fn allows(
    policies: &[NetworkPolicy],
    ns_labels: &NamespaceLabels,
    src: &Endpoint,
    dst: &Endpoint,
    port: Port<'_>,
) -> bool {
    let ingress_ok = match dst {
        Endpoint::Ip(_) => true,
        Endpoint::Pod(pod) => {
            let isolating = isolating(policies, pod, Direction::Ingress);
            isolating.is_empty()
                || isolating.iter().any(|p| {
                    let ns = namespace_of(p);
                    p.spec
                        .as_ref()
                        .and_then(|s| s.ingress.as_ref())
                        .into_iter()
                        .flatten()
                        .any(|r| {
                            let from_ok =
                                r.from
                                    .as_ref()
                                    .filter(|f| !f.is_empty())
                                    .is_none_or(|from| {
                                        from.iter()
                                            .any(|peer| peer_matches(peer, ns, src, ns_labels))
                                    });
                            from_ok && ports_match(r.ports.as_ref(), port, dst)
                        })
                })
        }
    };
    if !ingress_ok {
        return false;
    }
    match src {
        Endpoint::Ip(_) => true,
        Endpoint::Pod(pod) => {
            let isolating = isolating(policies, pod, Direction::Egress);
            isolating.is_empty()
                || isolating.iter().any(|p| {
                    let ns = namespace_of(p);
                    p.spec
                        .as_ref()
                        .and_then(|s| s.egress.as_ref())
                        .into_iter()
                        .flatten()
                        .any(|r| {
                            let to_ok = r.to.as_ref().filter(|t| !t.is_empty()).is_none_or(|to| {
                                to.iter().any(|peer| peer_matches(peer, ns, dst, ns_labels))
                            });
                            to_ok && ports_match(r.ports.as_ref(), port, dst)
                        })
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pol(v: serde_json::Value) -> NetworkPolicy {
        serde_json::from_value(v).unwrap()
    }

    fn pod(ns: &str, app: &str) -> Endpoint {
        Endpoint::Pod(Pod {
            namespace: ns.into(),
            labels: BTreeMap::from([("app".to_string(), app.to_string())]),
            named_ports: vec![("http".into(), 8080, "TCP".into())],
        })
    }

    fn ns_labels() -> NamespaceLabels {
        ["shop", "other"]
            .into_iter()
            .map(|n| {
                (
                    n.to_string(),
                    BTreeMap::from([("kubernetes.io/metadata.name".to_string(), n.to_string())]),
                )
            })
            .collect()
    }

    const TCP80: Port<'static> = Port {
        number: 80,
        protocol: "TCP",
    };

    #[test]
    fn no_policy_allows_everything_and_isolation_is_per_direction() {
        let l = ns_labels();
        assert!(allows(&[], &l, &pod("shop", "a"), &pod("shop", "b"), TCP80));
        let deny_in = pol(json!({"metadata": {"name": "d", "namespace": "shop"},
            "spec": {"podSelector": {"matchLabels": {"app": "b"}}}}));
        let ps = [deny_in];
        let Endpoint::Pod(b) = pod("shop", "b") else {
            unreachable!()
        };
        assert_eq!(isolating(&ps, &b, Direction::Ingress).len(), 1);
        assert!(isolating(&ps, &b, Direction::Egress).is_empty());
        assert!(!allows(
            &ps,
            &l,
            &pod("shop", "a"),
            &pod("shop", "b"),
            TCP80
        ));
        assert!(allows(&ps, &l, &pod("shop", "b"), &pod("shop", "a"), TCP80));
        // Same labels in another namespace: not selected.
        assert!(allows(
            &ps,
            &l,
            &pod("shop", "a"),
            &pod("other", "b"),
            TCP80
        ));
    }

    #[test]
    fn rules_peers_and_ports() {
        let l = ns_labels();
        let ps = [
            pol(json!({"metadata": {"name": "db", "namespace": "shop"},
                "spec": {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"],
                    "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "api"}}}],
                        "ports": [{"port": "http"}]},
                        {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "other"}},
                            "podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["x"]}]}}],
                         "ports": [{"port": 9000, "endPort": 9010, "protocol": "TCP"}]},
                        {"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}]}})),
            pol(json!({"metadata": {"name": "api", "namespace": "shop"},
                "spec": {"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Egress"],
                    "egress": [{"to": [{"podSelector": {}}]}]}})),
        ];
        let http = Port {
            number: 8080,
            protocol: "TCP",
        };
        assert!(allows(
            &ps,
            &l,
            &pod("shop", "api"),
            &pod("shop", "db"),
            http
        ));
        assert!(!allows(
            &ps,
            &l,
            &pod("shop", "web"),
            &pod("shop", "db"),
            http
        ));
        assert!(!allows(
            &ps,
            &l,
            &pod("shop", "api"),
            &pod("shop", "db"),
            TCP80
        ));
        let udp = Port {
            number: 8080,
            protocol: "UDP",
        };
        assert!(!allows(
            &ps,
            &l,
            &pod("shop", "api"),
            &pod("shop", "db"),
            udp
        ));
        let p9005 = Port {
            number: 9005,
            protocol: "TCP",
        };
        assert!(allows(
            &ps,
            &l,
            &pod("other", "x"),
            &pod("shop", "db"),
            p9005
        ));
        assert!(!allows(
            &ps,
            &l,
            &pod("shop", "x"),
            &pod("shop", "db"),
            p9005
        ));
        let ip = |s: &str| Endpoint::Ip(s.parse().unwrap());
        assert!(allows(&ps, &l, &ip("10.2.0.1"), &pod("shop", "db"), TCP80));
        assert!(!allows(&ps, &l, &ip("10.1.0.1"), &pod("shop", "db"), TCP80));
        // api's egress: pods of its namespace only.
        assert!(!allows(
            &ps,
            &l,
            &pod("shop", "api"),
            &pod("other", "y"),
            TCP80
        ));
        assert!(!allows(&ps, &l, &pod("shop", "api"), &ip("8.8.8.8"), TCP80));
        assert!(allows(
            &ps,
            &l,
            &pod("shop", "api"),
            &pod("shop", "web"),
            TCP80
        ));
    }

    #[test]
    fn policy_types_default() {
        let p = pol(json!({"metadata": {"name": "x", "namespace": "shop"},
            "spec": {"podSelector": {}, "egress": [{}]}}));
        assert_eq!(
            policy_directions(&p),
            [Direction::Ingress, Direction::Egress]
        );
        let p = pol(json!({"metadata": {"name": "x", "namespace": "shop"},
            "spec": {"podSelector": {}}}));
        assert_eq!(policy_directions(&p), [Direction::Ingress]);
    }
}
