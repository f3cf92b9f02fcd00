//! The least-privilege policy set of a namespace, from the [`Graph`]: its NetworkPolicy
//! objects and the flow table that explains them.
//!
//! Per namespace, for the directions the findings report as unisolated:
//! - `secfix-default-deny` selects every pod: default deny; its egress rules allow DNS to
//!   the cluster DNS pods, the Services nobody names (assumed), and `--allow-egress` blocks;
//! - `secfix-ingress-<service>` selects a Service's pods: ingress from its evidenced callers
//!   (else from every pod of the namespace: assumed), and from anywhere for entry points;
//! - `secfix-egress-<kind>-<workload>` selects a caller's pods: egress to the pods of the
//!   Services it names.
//!
//! Every rule is on the pod ports (Service target ports). Names that are taken get `-2`,
//! `-3`, …. Every object carries `app.kubernetes.io/managed-by: kubectl-secfix`.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::graph::{
    API_SERVER_NOTE, ApiServer, Call, Callee, Cidr, Cluster, EntrySource, Flow, FlowKind, Graph,
    Peer, PodPort, PortValue, Svc, WorkloadRef, container_ports,
};
use super::{MANAGED_BY, MANAGED_BY_LABEL, POLICY_NAME, baseline, eval};
use crate::checks::Direction;
use crate::model::Workload;
use crate::model::names::{self, MAX_NAME};

/// The label every namespace carries with its own name.
pub(crate) const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// Why DNS goes to any address on port 53.
const UNLABELLED_DNS: &str = "namespace kube-system has no label kubernetes.io/metadata.name (servers \
     before 1.21 set none): DNS is allowed to any address on port 53";

/// Why a rule to or from namespace `n` is refused.
fn unlabelled(n: &str) -> String {
    format!(
        "namespace {n} has no label {NAMESPACE_NAME_LABEL} (servers before 1.21 set none), so no \
         rule can select it: label it (kubectl label namespace {n} {NAMESPACE_NAME_LABEL}={n}) \
         and run the fix again"
    )
}

/// Knobs of the least-privilege builder.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Egress to the cluster DNS pods on 53/UDP and 53/TCP.
    pub allow_dns: bool,
    /// Extra egress to these address blocks, from every pod.
    pub allow_egress: Vec<Cidr>,
    /// The Kubernetes API server's addresses, when known.
    pub api_server: Option<ApiServer>,
}

/// The policy set of one namespace.
#[derive(Debug, Clone)]
pub struct NamespacePolicies {
    pub namespace: String,
    pub directions: BTreeSet<Direction>,
    /// In apply order: the default deny first.
    pub policies: Vec<NetworkPolicy>,
    /// The flow table, sorted (entry points, evidence, assumed, DNS, allowed, blocked).
    pub flows: Vec<Flow>,
    /// Things to say once (host names cannot be matched, pods without labels, …).
    pub notes: Vec<String>,
}

/// One row of the flow table as text: what, from, to (with Service port), pod ports, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRow {
    pub kind: &'static str,
    pub from: String,
    pub to: String,
    pub ports: String,
    /// Evidence, then the note, joined with "; ".
    pub why: String,
}

impl NamespacePolicies {}

/// The rows of `flows`, seen from `namespace`.
pub fn flow_rows(namespace: &str, flows: &[Flow]) -> Vec<FlowRow> {
    {
        flows
            .iter()
            .map(|f| {
                let mut why = f.evidence.join("; ");
                if let Some(n) = &f.note {
                    if !why.is_empty() {
                        why.push_str("; ");
                    }
                    why.push_str(n);
                }
                FlowRow {
                    kind: f.kind.as_str(),
                    from: f.from.text(namespace),
                    to: f.to.text(namespace),
                    ports: if f.kind == FlowKind::Blocked && f.ports.is_empty() {
                        String::new()
                    } else {
                        super::graph::ports_text(&f.ports)
                    },
                    why,
                }
            })
            .collect()
    }
}

/// Builds the policy sets of the namespaces in `fixed` (namespace → directions to isolate)
/// from everything known in `cluster`. `taken` lists the NetworkPolicy names that exist
/// per namespace. Namespaces with no direction get nothing.
pub fn build(
    cluster: &Cluster<'_>,
    fixed: &BTreeMap<String, BTreeSet<Direction>>,
    taken: &BTreeMap<String, BTreeSet<String>>,
    opts: &Options,
) -> Vec<NamespacePolicies> {
    let graph = Graph::build(cluster, &opts.allow_egress);
    fixed
        .iter()
        .filter(|(_, d)| !d.is_empty())
        .map(|(ns, directions)| {
            let empty = BTreeSet::new();
            namespace_set(
                &graph,
                ns,
                directions,
                taken.get(ns).unwrap_or(&empty),
                opts,
            )
        })
        .collect()
}

fn labels() -> Option<BTreeMap<String, String>> {
    Some(BTreeMap::from([(
        MANAGED_BY_LABEL.to_string(),
        MANAGED_BY.to_string(),
    )]))
}

fn selector_of(labels: &BTreeMap<String, String>) -> LabelSelector {
    LabelSelector {
        match_labels: Some(labels.clone()),
        match_expressions: None,
    }
}

fn namespace_selector(ns: &str) -> LabelSelector {
    selector_of(&BTreeMap::from([(
        NAMESPACE_NAME_LABEL.to_string(),
        ns.to_string(),
    )]))
}

fn policy_ports(ports: &[PodPort]) -> Option<Vec<NetworkPolicyPort>> {
    (!ports.is_empty()).then(|| {
        ports
            .iter()
            .map(|p| NetworkPolicyPort {
                port: Some(p.to_int_or_string()),
                protocol: Some(p.protocol.clone()),
                end_port: None,
            })
            .collect()
    })
}

/// A peer for the pods picked by `pods` in `peer_ns`, seen from `ns`.
fn pods_peer(ns: &str, peer_ns: &str, pods: LabelSelector) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(pods),
        namespace_selector: (peer_ns != ns).then(|| namespace_selector(peer_ns)),
        ip_block: None,
    }
}

fn service_pods(s: &Svc<'_>) -> LabelSelector {
    selector_of(s.selector.as_ref().unwrap_or(&BTreeMap::new()))
}

/// `base`, else `base-2`, `base-3`, … (cut to fit an object name), not in `used`; taken.
fn unique(base: String, used: &mut BTreeSet<String>) -> String {
    let name = names::unique(&base, "", "-", MAX_NAME, |n| used.contains(n));
    used.insert(name.clone());
    name
}

/// A name part from an object name: already a DNS label, kept as is.
fn policy(
    ns: &str,
    name: String,
    pods: LabelSelector,
    direction: Direction,
    ingress: Option<Vec<NetworkPolicyIngressRule>>,
    egress: Option<Vec<NetworkPolicyEgressRule>>,
) -> NetworkPolicy {
    NetworkPolicy {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(ns.to_string()),
            labels: labels(),
            ..ObjectMeta::default()
        },
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(pods),
            policy_types: Some(vec![direction.as_str().to_string()]),
            ingress,
            egress,
        }),
    }
}

fn dns_rule() -> NetworkPolicyEgressRule {
    let port = |protocol: &str| NetworkPolicyPort {
        port: Some(IntOrString::Int(53)),
        protocol: Some(protocol.to_string()),
        end_port: None,
    };
    NetworkPolicyEgressRule {
        to: Some(vec![NetworkPolicyPeer {
            namespace_selector: Some(namespace_selector("kube-system")),
            pod_selector: Some(selector_of(&BTreeMap::from([(
                "k8s-app".to_string(),
                "kube-dns".to_string(),
            )]))),
            ip_block: None,
        }]),
        ports: Some(vec![port("UDP"), port("TCP")]),
    }
}

/// Records that a rule opens `ports` (empty: every port) in `open` (`None`: every port).
fn opens(open: &mut Option<BTreeSet<PodPort>>, ports: &[PodPort]) {
    match open {
        Some(set) if !ports.is_empty() => set.extend(ports.iter().cloned()),
        _ => *open = None,
    }
}

fn anywhere() -> Vec<NetworkPolicyPeer> {
    ["0.0.0.0/0", "::/0"]
        .into_iter()
        .map(|cidr| NetworkPolicyPeer {
            ip_block: Some(IPBlock {
                cidr: cidr.to_string(),
                except: None,
            }),
            ..NetworkPolicyPeer::default()
        })
        .collect()
}

/// The API server's address blocks, when known.
fn api_server_addresses(opts: &Options) -> Vec<Cidr> {
    opts.api_server
        .as_ref()
        .map(|a| a.addresses.clone())
        .unwrap_or_default()
}

fn ip_peer(c: &Cidr) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        ip_block: Some(IPBlock {
            cidr: c.to_string(),
            except: None,
        }),
        ..NetworkPolicyPeer::default()
    }
}

fn service_peer(s: &Svc<'_>, port: Option<i32>) -> Peer {
    Peer::Service {
        namespace: s.namespace.clone(),
        name: s.name.clone(),
        port,
    }
}

fn single_port(ports: &BTreeSet<i32>) -> Option<i32> {
    (ports.len() == 1).then(|| *ports.iter().next().unwrap_or(&0))
}

/// Why no rule is written for the pods of `w`: the graph holds no pod selector for it, and
/// an empty one would pick every pod of the namespace.
fn no_selector(w: &WorkloadRef) -> String {
    format!(
        "no pod selector is known for {w}: no rule is written for its pods (an empty selector \
         would pick every pod of namespace {}); its flows are cut",
        w.namespace
    )
}

/// One namespace's policy set while it is built: what is decided so far.
struct NamespaceBuild<'g, 'a> {
    g: &'g Graph<'a>,
    ns: &'g str,
    opts: &'g Options,
    ingress_on: bool,
    egress_on: bool,
    /// The Services of the namespace that nobody outside their pods names.
    assumed: Vec<usize>,
    /// The NetworkPolicy names taken: those that exist and those of this set.
    used: BTreeSet<String>,
    /// In apply order: the default deny first.
    policies: Vec<NetworkPolicy>,
    flows: Vec<Flow>,
    notes: Vec<String>,
    /// The pod ports some ingress rule opens, per workload (`None`: every port).
    opened: BTreeMap<WorkloadRef, Option<BTreeSet<PodPort>>>,
}

/// The ingress rules of one Service's policy, and the pod ports they open (`None`: every
/// port).
struct ServiceRules {
    rules: Vec<NetworkPolicyIngressRule>,
    open: Option<BTreeSet<PodPort>>,
}

impl ServiceRules {
    fn push(&mut self, from: Vec<NetworkPolicyPeer>, ports: &[PodPort]) {
        opens(&mut self.open, ports);
        self.rules.push(NetworkPolicyIngressRule {
            from: Some(from),
            ports: policy_ports(ports),
        });
    }
}

fn namespace_set(
    g: &Graph<'_>,
    ns: &str,
    directions: &BTreeSet<Direction>,
    taken: &BTreeSet<String>,
    opts: &Options,
) -> NamespacePolicies {
    let mut b = NamespaceBuild {
        g,
        ns,
        opts,
        ingress_on: directions.contains(&Direction::Ingress),
        egress_on: directions.contains(&Direction::Egress),
        assumed: g.assumed(ns),
        used: taken.clone(),
        policies: Vec::new(),
        flows: Vec::new(),
        notes: Vec::new(),
        opened: BTreeMap::new(),
    };
    b.default_deny(directions);
    for (i, s) in g.services.iter().enumerate() {
        if s.namespace == ns && s.selector.is_some() {
            b.service_ingress(i, s);
        }
    }
    if b.ingress_on {
        b.flows.extend(
            g.refused
                .iter()
                .filter(|(n, _)| n == ns)
                .map(|(_, f)| f.clone()),
        );
        for w in g.workloads.iter().filter(|w| w.namespace() == ns) {
            b.workload_ports(w);
        }
    }
    b.caller_egress();
    if b.egress_on {
        b.blocked_egress();
    }
    b.notes.extend(
        g.notes
            .iter()
            .filter(|(n, _)| n == ns)
            .map(|(_, note)| note.clone()),
    );
    if !g.policies.is_empty() {
        b.confine_to_existing();
    }
    b.finish(directions)
}

impl<'a> NamespaceBuild<'_, 'a> {
    fn unique(&mut self, base: String) -> String {
        unique(base, &mut self.used)
    }

    /// The pod selector of `w`, or a note that says none is known (never "every pod").
    fn pods_of(&mut self, w: &WorkloadRef) -> Option<(LabelSelector, bool)> {
        let found = self.g.selectors.get(w).cloned();
        if found.is_none() {
            self.notes.push(no_selector(w));
        }
        found
    }

    fn namespace_peer(&self) -> Peer {
        Peer::Namespace {
            namespace: self.ns.to_string(),
        }
    }

    /// The default deny, with the namespace-wide egress rules (DNS, the assumed Services,
    /// `--allow-egress`).
    fn default_deny(&mut self, directions: &BTreeSet<Direction>) {
        let name = self.unique(POLICY_NAME.to_string());
        let mut egress = Vec::new();
        if self.egress_on {
            if self.opts.allow_dns {
                egress.push(self.dns_egress());
            }
            for &i in &self.assumed {
                let s = &self.g.services[i];
                egress.push(NetworkPolicyEgressRule {
                    to: Some(vec![pods_peer(self.ns, self.ns, service_pods(s))]),
                    ports: policy_ports(&s.all_targets()),
                });
            }
            for c in &self.opts.allow_egress {
                egress.push(NetworkPolicyEgressRule {
                    to: Some(vec![ip_peer(c)]),
                    ports: None,
                });
                self.flows.push(Flow {
                    kind: FlowKind::AllowedEgress,
                    from: self.namespace_peer(),
                    to: Peer::Cidr { cidr: *c },
                    ports: Vec::new(),
                    evidence: vec![format!("--allow-egress {c}")],
                    note: None,
                });
            }
        }
        self.policies.push(NetworkPolicy {
            metadata: ObjectMeta {
                name: Some(name),
                namespace: Some(self.ns.to_string()),
                labels: labels(),
                ..ObjectMeta::default()
            },
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(LabelSelector::default()),
                policy_types: Some(directions.iter().map(|d| d.as_str().to_string()).collect()),
                ingress: None,
                egress: (self.egress_on && !egress.is_empty()).then_some(egress),
            }),
        });
    }

    /// `--allow-dns`: to the cluster DNS pods, or to any address on port 53 when
    /// kube-system cannot be selected by name (a server before 1.21).
    fn dns_egress(&mut self) -> NetworkPolicyEgressRule {
        let selectable = self.g.namespace_selectable("kube-system");
        self.flows.push(Flow {
            kind: FlowKind::Dns,
            from: self.namespace_peer(),
            to: if selectable {
                Peer::ClusterDns
            } else {
                Peer::Anywhere
            },
            ports: ["UDP", "TCP"]
                .into_iter()
                .map(|protocol| PodPort {
                    port: PortValue::Number(53),
                    protocol: protocol.into(),
                })
                .collect(),
            evidence: vec!["--allow-dns".into()],
            note: (!selectable).then(|| UNLABELLED_DNS.to_string()),
        });
        if selectable {
            dns_rule()
        } else {
            NetworkPolicyEgressRule {
                to: None,
                ..dns_rule()
            }
        }
    }

    /// Ingress to Service `i`'s pods: from its entry points, the API server, its evidenced
    /// callers, or the whole namespace when nobody names it; and what that cuts.
    fn service_ingress(&mut self, i: usize, s: &Svc<'a>) {
        let mut rules = ServiceRules {
            rules: Vec::new(),
            open: Some(BTreeSet::new()),
        };
        if self.ingress_on {
            self.entry_point_rules(i, s, &mut rules);
            self.api_server_rule(i, s, &mut rules);
        }
        self.caller_rules(i, s, &mut rules);
        if self.assumed.contains(&i) {
            self.assumed_rule(i, s, &mut rules);
        }
        let targets = s.all_targets();
        if self.ingress_on
            && let Some(open) = &rules.open
        {
            self.closed_service_ports(i, s, open, &targets);
        }
        if self.ingress_on && self.g.has_outside_callers(i) && !self.assumed.contains(&i) {
            self.unevidenced_callers_cut(i, s);
        }
        for w in &s.backing {
            let entry = self
                .opened
                .entry(WorkloadRef::of(w))
                .or_insert_with(|| Some(BTreeSet::new()));
            match (&rules.open, entry.as_mut()) {
                (None, _) => *entry = None,
                // Ports a Service lists are said above, for the Service.
                (Some(set), Some(e)) => e.extend(set.iter().chain(&targets).cloned()),
                (Some(_), None) => {}
            }
        }
        if self.ingress_on && !rules.rules.is_empty() {
            let name = self.unique(format!("secfix-ingress-{}", s.name));
            self.policies.push(policy(
                self.ns,
                name,
                service_pods(s),
                Direction::Ingress,
                Some(rules.rules),
                None,
            ));
        }
    }

    /// Ingress from the entry points of Service `i` (load balancers, node ports, ingress
    /// controllers).
    fn entry_point_rules(&mut self, i: usize, s: &Svc<'_>, rules: &mut ServiceRules) {
        for (source, entry) in self.g.entry_points.get(&i).into_iter().flatten() {
            let ports = entry.rule_ports();
            let Some((from, peer, note)) = self.entry_source(source) else {
                self.flows.push(Flow {
                    kind: FlowKind::Blocked,
                    from: entry_peer(source),
                    to: service_peer(s, single_port(&entry.service_ports)),
                    ports,
                    evidence: entry.evidence.iter().cloned().collect(),
                    note: Some(no_selector_of(source)),
                });
                continue;
            };
            rules.push(from, &ports);
            self.flows.push(Flow {
                kind: FlowKind::EntryPoint,
                from: peer,
                to: service_peer(s, single_port(&entry.service_ports)),
                ports,
                evidence: entry.evidence.iter().cloned().collect(),
                note,
            });
        }
    }

    /// The peers an entry point's traffic comes from, how the table names them and why.
    /// `None` when its pods have no known selector.
    fn entry_source(
        &mut self,
        source: &EntrySource,
    ) -> Option<(Vec<NetworkPolicyPeer>, Peer, Option<String>)> {
        let ns = self.ns;
        Some(match source {
            EntrySource::Anywhere => (anywhere(), Peer::Anywhere, None),
            EntrySource::Ranges(cidrs) => (
                cidrs.iter().map(ip_peer).collect(),
                Peer::Cidrs {
                    cidrs: cidrs.clone(),
                },
                Some(
                    "from the load balancer's source ranges only; with externalTrafficPolicy \
                     Cluster the pods may see node addresses instead: set it to Local, or \
                     --allow-flow"
                        .to_string(),
                ),
            ),
            EntrySource::Workload(w)
                if w.namespace != ns && !self.g.namespace_selectable(&w.namespace) =>
            {
                (
                    anywhere(),
                    Peer::Anywhere,
                    Some(format!(
                        "the ingress controller {w} is in namespace {}, which has no label \
                         {NAMESPACE_NAME_LABEL} (servers before 1.21 set none): allowed from \
                         anywhere",
                        w.namespace
                    )),
                )
            }
            EntrySource::Pods(p)
                if p.namespace != ns && !self.g.namespace_selectable(&p.namespace) =>
            {
                (
                    anywhere(),
                    Peer::Anywhere,
                    Some(format!(
                        "namespace {} has no label {NAMESPACE_NAME_LABEL} (servers before 1.21 set \
                         none): allowed from anywhere",
                        p.namespace
                    )),
                )
            }
            EntrySource::Workload(w) => {
                let (sel, _) = self.pods_of(w)?;
                (
                    vec![pods_peer(ns, &w.namespace, sel)],
                    Peer::Workload(w.clone()),
                    Some("from the ingress controller's pods".to_string()),
                )
            }
            EntrySource::Pods(p) => (
                vec![NetworkPolicyPeer {
                    namespace_selector: (p.namespace != ns)
                        .then(|| namespace_selector(&p.namespace)),
                    pod_selector: Some(selector_of(&p.labels)),
                    ip_block: None,
                }],
                Peer::Pods(p.clone()),
                Some("from the ingress controller's pods (--ingress-from)".to_string()),
            ),
        })
    }

    /// Ingress from the Kubernetes API server, when it calls Service `i` (a webhook, an
    /// aggregated API).
    fn api_server_rule(&mut self, i: usize, s: &Svc<'_>, rules: &mut ServiceRules) {
        let Some(call) = self.g.api_server_callees.get(&i) else {
            return;
        };
        let ports = call.rule_ports();
        let addresses = api_server_addresses(self.opts);
        rules.push(
            if addresses.is_empty() {
                anywhere()
            } else {
                addresses.iter().map(ip_peer).collect()
            },
            &ports,
        );
        self.flows.push(Flow {
            kind: FlowKind::ApiServer,
            from: Peer::ApiServer {
                addresses: addresses.clone(),
            },
            to: service_peer(s, single_port(&call.service_ports)),
            ports,
            evidence: call.evidence.iter().cloned().collect(),
            note: Some(if addresses.is_empty() {
                "the Kubernetes API server calls it, from an address not known here: allowed \
                 from anywhere (--api-server CIDR narrows it)"
                    .to_string()
            } else {
                "the Kubernetes API server calls it".to_string()
            }),
        });
    }

    /// Ingress from each evidenced caller of Service `i`; one in a namespace no rule can
    /// select is cut, and said.
    fn caller_rules(&mut self, i: usize, s: &Svc<'_>, rules: &mut ServiceRules) {
        for (caller, call) in self.g.callers.get(&i).into_iter().flatten() {
            let ports = call.rule_ports();
            let blocked = |note: String| Flow {
                kind: FlowKind::Blocked,
                from: Peer::Workload(caller.clone()),
                to: service_peer(s, single_port(&call.service_ports)),
                ports: ports.clone(),
                evidence: call.evidence.iter().cloned().collect(),
                note: Some(note),
            };
            if caller.namespace != self.ns && !self.g.namespace_selectable(&caller.namespace) {
                self.flows.push(blocked(unlabelled(&caller.namespace)));
                continue;
            }
            let Some((sel, _)) = self.pods_of(caller) else {
                self.flows.push(blocked(no_selector(caller)));
                continue;
            };
            rules.push(vec![pods_peer(self.ns, &caller.namespace, sel)], &ports);
            self.flows.push(Flow {
                kind: FlowKind::Evidence,
                note: None,
                ..blocked(String::new())
            });
        }
    }

    /// Ingress from every pod of the namespace to Service `i`, which nobody outside its
    /// pods names.
    fn assumed_rule(&mut self, i: usize, s: &Svc<'_>, rules: &mut ServiceRules) {
        let ports = s.all_targets();
        rules.push(
            vec![pods_peer(self.ns, self.ns, LabelSelector::default())],
            &ports,
        );
        let why = if self.g.callers.contains_key(&i) {
            format!("only its own pods name Service {}", s.name)
        } else {
            format!("no workload names Service {}", s.name)
        };
        self.flows.push(Flow {
            kind: FlowKind::Assumed,
            from: self.namespace_peer(),
            to: service_peer(s, None),
            ports,
            evidence: vec![why],
            note: None,
        });
    }

    /// The ports of Service `i` no rule opens: callers with the address compiled in lose
    /// them, and each evidenced caller that named other ports is told by name.
    fn closed_service_ports(
        &mut self,
        i: usize,
        s: &Svc<'_>,
        open: &BTreeSet<PodPort>,
        targets: &[PodPort],
    ) {
        let closed: Vec<PodPort> = targets
            .iter()
            .filter(|p| !open.contains(p))
            .cloned()
            .collect();
        if closed.is_empty() {
            return;
        }
        for (caller, call) in self.g.callers.get(&i).into_iter().flatten() {
            if call.all_ports {
                continue;
            }
            self.flows.push(Flow {
                kind: FlowKind::Blocked,
                from: Peer::Workload(caller.clone()),
                to: service_peer(s, None),
                ports: closed.clone(),
                evidence: call.evidence.iter().cloned().collect(),
                note: Some(format!(
                    "{caller} names only port{} {} of Service {}; if it uses the others, \
                     --allow-flow {}={}:PORT keeps them",
                    if call.service_ports.len() == 1 {
                        ""
                    } else {
                        "s"
                    },
                    call.service_ports
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    s.name,
                    caller.name,
                    s.name
                )),
            });
        }
        self.flows.push(Flow {
            kind: FlowKind::Blocked,
            from: Peer::Anywhere,
            to: service_peer(s, None),
            ports: closed,
            evidence: vec![format!(
                "no workload names these ports of Service {}",
                s.name
            )],
            note: Some(
                "callers with the address compiled in are cut: add a policy, or name the port \
                 where they are configured"
                    .to_string(),
            ),
        });
    }

    /// Evidenced callers only may reach Service `i`: every other workload of the namespace
    /// that could call it (one that names no Service at all, or an entry point, whose
    /// addresses may be compiled in or baked into a config) is said to be cut.
    fn unevidenced_callers_cut(&mut self, i: usize, s: &Svc<'_>) {
        let g = self.g;
        let callers = g.callers.get(&i);
        for w in g.workloads.iter().filter(|w| w.namespace() == self.ns) {
            let r = WorkloadRef::of(w);
            if callers.is_some_and(|c| c.contains_key(&r))
                || s.backing.iter().any(|b| WorkloadRef::of(b) == r)
            {
                continue;
            }
            let names_none = g.calls.get(&r).is_none_or(BTreeMap::is_empty);
            let entry = g.entry_points.iter().find_map(|(j, _)| {
                let t = &g.services[*j];
                t.backing
                    .iter()
                    .any(|b| WorkloadRef::of(b) == r)
                    .then(|| t.name.clone())
            });
            let why = match (names_none, entry) {
                (_, Some(e)) => format!("{r} serves entry point {e}"),
                (true, None) => format!("{r} names no Service"),
                (false, None) => continue,
            };
            self.flows.push(Flow {
                kind: FlowKind::Blocked,
                from: Peer::Workload(r.clone()),
                to: service_peer(s, None),
                ports: s.all_targets(),
                evidence: vec![why],
                note: Some(format!(
                    "only evidenced callers may reach Service {}: if {} calls it (an address \
                     compiled in or in a baked-in config), it is cut; --allow-flow {}={} keeps it",
                    s.name, r, r.name, s.name
                )),
            });
        }
    }

    /// The ports of `w`'s pods no rule opens: a `hostPort` gets its own policy (an entry
    /// point from outside the cluster); the rest are cut for callers that reach the pods
    /// by address (replicas, sentinels, gossip peers, scrapers from other namespaces), and
    /// no evidence can say so otherwise.
    fn workload_ports(&mut self, w: &Workload) {
        let r = WorkloadRef::of(w);
        let Some(open) = self
            .opened
            .get(&r)
            .cloned()
            .unwrap_or_else(|| Some(BTreeSet::new()))
        else {
            return;
        };
        let published = published_ports(w, &open);
        if !published.is_empty() {
            self.host_port_policy(&r, &published);
        }
        let closed: Vec<PodPort> = container_ports(&[w])
            .into_iter()
            .filter(|p| !open.contains(p) && !published.iter().any(|(q, _)| q == p))
            .collect();
        if closed.is_empty() {
            return;
        }
        self.flows.push(Flow {
            kind: FlowKind::Blocked,
            from: Peer::Anywhere,
            to: Peer::Workload(r.clone()),
            ports: closed,
            evidence: vec![format!("no Service or evidence opens these ports of {r}")],
            note: Some(
                "callers that reach its pods by address (replicas, sentinels, peers, scrapers \
                 from other namespaces) are cut: add a policy, or a Service that lists the port"
                    .to_string(),
            ),
        });
    }

    /// Ingress from anywhere to the ports `r` publishes on its node (`hostPort`).
    fn host_port_policy(&mut self, r: &WorkloadRef, published: &[(PodPort, i32)]) {
        let ports: Vec<PodPort> = published.iter().map(|(p, _)| p.clone()).collect();
        let evidence: Vec<String> = published
            .iter()
            .map(|(p, host)| format!("{p} of {r} is published on its node as hostPort {host}"))
            .collect();
        let Some((sel, _)) = self.pods_of(r) else {
            self.flows.push(Flow {
                kind: FlowKind::Blocked,
                from: Peer::Anywhere,
                to: Peer::Workload(r.clone()),
                ports,
                evidence,
                note: Some(no_selector(r)),
            });
            return;
        };
        let name = self.unique(format!(
            "secfix-ingress-{}-{}",
            r.kind.as_str().to_ascii_lowercase(),
            r.name
        ));
        self.policies.push(policy(
            self.ns,
            name,
            sel,
            Direction::Ingress,
            Some(vec![NetworkPolicyIngressRule {
                from: Some(anywhere()),
                ports: policy_ports(&ports),
            }]),
            None,
        ));
        self.flows.push(Flow {
            kind: FlowKind::EntryPoint,
            from: Peer::Anywhere,
            to: Peer::Workload(r.clone()),
            evidence,
            ports,
            note: None,
        });
    }

    /// Egress from each caller of the namespace. Evidence flows to Services of other
    /// namespaces are listed here (those of this namespace are listed with its ingress).
    fn caller_egress(&mut self) {
        let g = self.g;
        let no_calls = BTreeMap::new();
        let callers: BTreeSet<&WorkloadRef> = g
            .calls
            .keys()
            .chain(g.api_clients.keys())
            .filter(|c| c.namespace == self.ns)
            .collect();
        for caller in callers {
            let Some((sel, labelled)) = self.pods_of(caller) else {
                continue;
            };
            let mut rules = Vec::new();
            if let Some(why) = g.api_clients.get(caller) {
                self.api_server_egress(caller, why, &mut rules);
            }
            for (callee, call) in g.calls.get(caller).unwrap_or(&no_calls) {
                self.callee_egress(caller, callee, call, &mut rules);
            }
            if !labelled {
                self.notes.push(format!(
                    "the pods of {caller} have no labels: rules for them apply to every pod of namespace {}",
                    self.ns
                ));
            }
            if self.egress_on && !rules.is_empty() {
                let name = self.unique(format!(
                    "secfix-egress-{}-{}",
                    caller.kind.as_str().to_ascii_lowercase(),
                    caller.name
                ));
                self.policies.push(policy(
                    self.ns,
                    name,
                    sel,
                    Direction::Egress,
                    None,
                    Some(rules),
                ));
            }
        }
    }

    /// Egress from `caller` to the Kubernetes API server: to its addresses when known,
    /// else said to be cut.
    fn api_server_egress(
        &mut self,
        caller: &WorkloadRef,
        why: &BTreeSet<String>,
        rules: &mut Vec<NetworkPolicyEgressRule>,
    ) {
        let addresses = api_server_addresses(self.opts);
        let evidence: Vec<String> = why.iter().cloned().collect();
        if addresses.is_empty() {
            if self.egress_on {
                self.flows.push(Flow {
                    kind: FlowKind::Blocked,
                    from: Peer::Workload(caller.clone()),
                    to: Peer::ApiServer {
                        addresses: Vec::new(),
                    },
                    ports: Vec::new(),
                    evidence,
                    note: Some(API_SERVER_NOTE.to_string()),
                });
            }
            return;
        }
        let ports: Vec<PodPort> = self
            .opts
            .api_server
            .iter()
            .flat_map(|a| &a.ports)
            .map(|p| PodPort {
                port: PortValue::Number(i32::from(*p)),
                protocol: "TCP".into(),
            })
            .collect();
        rules.push(NetworkPolicyEgressRule {
            to: Some(addresses.iter().map(ip_peer).collect()),
            ports: policy_ports(&ports),
        });
        self.flows.push(Flow {
            kind: FlowKind::ApiServer,
            from: Peer::Workload(caller.clone()),
            to: Peer::ApiServer { addresses },
            ports,
            evidence,
            note: self
                .opts
                .api_server
                .as_ref()
                .map(|a| format!("its address from {}", a.source)),
        });
    }

    /// Egress from `caller` to one Service it names: to the Service's pods, to every pod
    /// of a namespace whose Service is not known here, or cut when no rule can select the
    /// namespace.
    fn callee_egress(
        &mut self,
        caller: &WorkloadRef,
        callee: &Callee,
        call: &Call,
        rules: &mut Vec<NetworkPolicyEgressRule>,
    ) {
        let g = self.g;
        let ns = self.ns;
        let ports = call.rule_ports();
        let flow = |kind: FlowKind, to: Peer, note: Option<String>| Flow {
            kind,
            from: Peer::Workload(caller.clone()),
            to,
            ports: ports.clone(),
            evidence: call.evidence.iter().cloned().collect(),
            note,
        };
        let unknown = |namespace: &String, name: &String| Peer::Service {
            namespace: namespace.clone(),
            name: name.clone(),
            port: None,
        };
        match callee {
            Callee::Service(i) => {
                let s = &g.services[*i];
                let to = service_peer(s, single_port(&call.service_ports));
                if s.namespace != ns && !g.namespace_selectable(&s.namespace) {
                    self.flows
                        .push(flow(FlowKind::Blocked, to, Some(unlabelled(&s.namespace))));
                    return;
                }
                rules.push(NetworkPolicyEgressRule {
                    to: Some(vec![pods_peer(ns, &s.namespace, service_pods(s))]),
                    ports: policy_ports(&ports),
                });
                if s.namespace != ns {
                    self.flows.push(flow(FlowKind::Evidence, to, None));
                }
            }
            Callee::Namespace { namespace, name } if !g.namespace_selectable(namespace) => {
                self.flows.push(flow(
                    FlowKind::Blocked,
                    unknown(namespace, name),
                    Some(unlabelled(namespace)),
                ));
            }
            Callee::Namespace { namespace, name } => {
                rules.push(NetworkPolicyEgressRule {
                    to: Some(vec![NetworkPolicyPeer {
                        namespace_selector: Some(namespace_selector(namespace)),
                        pod_selector: None,
                        ip_block: None,
                    }]),
                    ports: policy_ports(&ports),
                });
                self.flows.push(flow(
                    FlowKind::Evidence,
                    unknown(namespace, name),
                    Some(format!(
                        "Service {name}.{namespace} is not known here: egress to every pod of namespace {namespace}"
                    )),
                ));
            }
        }
    }

    /// What egress isolation will block (it only matters when egress is isolated).
    fn blocked_egress(&mut self) {
        let ns = self.ns;
        let blocked: Vec<Flow> = self
            .g
            .blocked
            .iter()
            .filter(|f| matches!(&f.from, Peer::Workload(w) if w.namespace == ns))
            .cloned()
            .collect();
        if blocked.iter().any(|f| f.kind == FlowKind::Blocked) {
            self.notes.push(
                "NetworkPolicies cannot match host names: traffic to the destinations listed as \
                 blocked is denied; --allow-egress CIDR allows an address block"
                    .to_string(),
            );
        }
        self.flows.extend(blocked);
    }

    /// Existing policies are the baseline: pods they isolate get no new rule in that
    /// direction, and what they deny is said.
    fn confine_to_existing(&mut self) {
        let g = self.g;
        let ns = self.ns;
        let known: Vec<eval::Pod> = g
            .workloads
            .iter()
            .filter(|w| w.namespace() == ns)
            .map(baseline::pod_of)
            .collect();
        let policies = std::mem::take(&mut self.policies);
        let used = &mut self.used;
        let (confined, said) =
            baseline::confine(ns, policies, g.policies, &known, &mut |b| unique(b, used));
        self.policies = confined;
        for c in said {
            self.notes.push(format!(
                "{}: the pods that the existing NetworkPolic{} {} already isolate{} for {} {}; \
                 the fix never widens existing policies",
                c.policy,
                if c.by.len() == 1 { "y" } else { "ies" },
                c.by.join(", "),
                if c.by.len() == 1 { "s" } else { "" },
                c.direction.as_str().to_ascii_lowercase(),
                if c.dropped {
                    "are all it would select: its rules for that direction are left out"
                } else {
                    "get none of its rules"
                },
            ));
        }
        let mut all = g.policies.to_vec();
        all.extend(self.policies.iter().cloned());
        let flows = std::mem::take(&mut self.flows);
        self.flows = baseline::recheck(g, ns, flows, g.policies, &all, &g.namespace_labels());
    }

    fn finish(mut self, directions: &BTreeSet<Direction>) -> NamespacePolicies {
        self.notes.extend(self.g.unmatched_flows.iter().cloned());
        self.notes.sort();
        self.notes.dedup();
        self.flows.sort();
        NamespacePolicies {
            namespace: self.ns.to_string(),
            directions: directions.clone(),
            policies: self.policies,
            flows: self.flows,
            notes: self.notes,
        }
    }
}

/// How the flow table names an entry point's source.
fn entry_peer(source: &EntrySource) -> Peer {
    match source {
        EntrySource::Anywhere => Peer::Anywhere,
        EntrySource::Ranges(cidrs) => Peer::Cidrs {
            cidrs: cidrs.clone(),
        },
        EntrySource::Workload(w) => Peer::Workload(w.clone()),
        EntrySource::Pods(p) => Peer::Pods(p.clone()),
    }
}

/// Why an entry point's source gets no rule: its pods have no known selector.
fn no_selector_of(source: &EntrySource) -> String {
    match source {
        EntrySource::Workload(w) => no_selector(w),
        _ => "no pod selector is known for this source: no rule is written for it".to_string(),
    }
}

/// The container ports of `w` published on its node (`hostPort`) that no rule opens yet,
/// with their host ports.
fn published_ports(w: &Workload, open: &BTreeSet<PodPort>) -> Vec<(PodPort, i32)> {
    w.spec
        .containers
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .filter_map(|p| {
            let host = p.host_port.filter(|h| *h > 0)?;
            let port = PodPort {
                port: PortValue::Number(p.container_port),
                protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
            };
            (!open.contains(&port)).then_some((port, host))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Workload;
    use k8s_openapi::api::core::v1::{ConfigMap, Service};
    use k8s_openapi::api::networking::v1::Ingress;
    use serde_json::{Value, json};

    /// Objects of any kind → the policy sets for `fixed` namespaces (both directions).
    struct World {
        workloads: Vec<Workload>,
        services: Vec<Service>,
        ingresses: Vec<Ingress>,
        routes: Vec<Value>,
        config_maps: Vec<ConfigMap>,
        namespaces: Vec<String>,
        bound_accounts: Vec<(String, String)>,
        policies: Vec<k8s_openapi::api::networking::v1::NetworkPolicy>,
        api_server_calls: Vec<super::super::graph::ApiServerCall>,
        ingress_from: Vec<super::super::graph::PodsRef>,
        namespace_labels: Option<crate::fix::network_policy::eval::NamespaceLabels>,
        allow_flows: Vec<super::super::graph::AllowFlow>,
    }

    fn world(objs: Vec<Value>) -> World {
        let mut w = World {
            workloads: Vec::new(),
            services: Vec::new(),
            ingresses: Vec::new(),
            routes: Vec::new(),
            config_maps: Vec::new(),
            namespaces: Vec::new(),
            bound_accounts: Vec::new(),
            policies: Vec::new(),
            api_server_calls: Vec::new(),
            ingress_from: Vec::new(),
            namespace_labels: None,
            allow_flows: Vec::new(),
        };
        for mut o in objs {
            if o.pointer("/metadata/namespace").is_none() {
                o["metadata"]["namespace"] = "shop".into();
            }
            match o["kind"].as_str().unwrap() {
                "Service" => w.services.push(serde_json::from_value(o).unwrap()),
                "Ingress" => w.ingresses.push(serde_json::from_value(o).unwrap()),
                "ConfigMap" => w.config_maps.push(serde_json::from_value(o).unwrap()),
                "HTTPRoute" | "ReferenceGrant" => w.routes.push(o),
                "NetworkPolicy" => w.policies.push(serde_json::from_value(o).unwrap()),
                "ValidatingWebhookConfiguration"
                | "MutatingWebhookConfiguration"
                | "APIService"
                | "CustomResourceDefinition" => w
                    .api_server_calls
                    .extend(super::super::graph::api_server_calls(&o)),
                "Namespace" => w
                    .namespaces
                    .push(o["metadata"]["name"].as_str().unwrap().into()),
                "RoleBinding" => {
                    let ns = o["metadata"]["namespace"].as_str().unwrap_or("shop");
                    for sub in o["subjects"].as_array().unwrap() {
                        w.bound_accounts
                            .push((ns.into(), sub["name"].as_str().unwrap().into()));
                    }
                }
                _ => w.workloads.push(Workload::from_value(o).unwrap().unwrap()),
            }
        }
        w
    }

    fn plan_with(
        w: &World,
        fixed: &[(&str, &[Direction])],
        taken: &[(&str, &str)],
        opts: &Options,
    ) -> Vec<NamespacePolicies> {
        let cluster = Cluster {
            workloads: &w.workloads,
            services: &w.services,
            ingresses: &w.ingresses,
            routes: &w.routes,
            config_maps: &w.config_maps,
            namespaces: &w.namespaces,
            bound_accounts: &w.bound_accounts,
            policies: &w.policies,
            api_server_calls: &w.api_server_calls,
            ingress_from: &w.ingress_from,
            namespace_labels: w.namespace_labels.as_ref(),
            allow_flows: &w.allow_flows,
        };
        let fixed = fixed
            .iter()
            .map(|(n, d)| (n.to_string(), d.iter().copied().collect()))
            .collect();
        let mut t: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (ns, name) in taken {
            t.entry(ns.to_string())
                .or_default()
                .insert(name.to_string());
        }
        build(&cluster, &fixed, &t, opts)
    }

    const BOTH: &[Direction] = &[Direction::Ingress, Direction::Egress];

    fn dns() -> Options {
        Options {
            allow_dns: true,
            ..Options::default()
        }
    }

    fn plan(objs: Vec<Value>) -> NamespacePolicies {
        let w = world(objs);
        let mut v = plan_with(&w, &[("shop", BOTH)], &[], &dns());
        assert_eq!(v.len(), 1);
        v.remove(0)
    }

    fn deploy(name: &str, ns: Option<&str>, container: Value) -> Value {
        let mut meta = json!({"name": name});
        if let Some(ns) = ns {
            meta["namespace"] = ns.into();
        }
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
            "spec": {"selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name}},
                    "spec": {"containers": [container]}}}})
    }

    fn app(name: &str, env: Value, ports: Value) -> Value {
        deploy(
            name,
            None,
            json!({"name": "main", "image": "x", "env": env, "ports": ports}),
        )
    }

    fn service(name: &str, selector: Value, ports: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": selector, "ports": ports}})
    }

    /// The policy named `name`, as JSON.
    fn pol(set: &NamespacePolicies, name: &str) -> Value {
        let p = set
            .policies
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no policy {name} in {:?}", names(set)));
        serde_json::to_value(p).unwrap()
    }

    fn names(set: &NamespacePolicies) -> Vec<String> {
        set.policies
            .iter()
            .map(|p| p.metadata.name.clone().unwrap())
            .collect()
    }

    /// `kind from → to [ports]` rows of the flow table.
    fn rows(set: &NamespacePolicies) -> Vec<String> {
        set.flows
            .iter()
            .map(|f| {
                format!(
                    "{} {} -> {} [{}]",
                    f.kind.as_str(),
                    f.from.text(&set.namespace),
                    f.to.text(&set.namespace),
                    super::super::graph::ports_text(&f.ports)
                )
            })
            .collect()
    }

    fn shop() -> Vec<Value> {
        vec![
            app(
                "web",
                json!([{"name": "CART_SERVICE_ADDR", "value": "cart:7070"}]),
                json!([{"containerPort": 8080}]),
            ),
            app(
                "cart",
                json!([]),
                json!([{"name": "grpc", "containerPort": 9000}]),
            ),
            service(
                "cart",
                json!({"app": "cart"}),
                json!([{"port": 7070, "targetPort": "grpc"}]),
            ),
        ]
    }

    #[test]
    fn env_evidence_allows_caller_to_service_pods_on_the_target_port() {
        let set = plan(shop());
        assert_eq!(
            names(&set),
            [
                "secfix-default-deny",
                "secfix-ingress-cart",
                "secfix-egress-deployment-web"
            ]
        );
        assert_eq!(
            pol(&set, "secfix-ingress-cart")["spec"],
            json!({"podSelector": {"matchLabels": {"app": "cart"}}, "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}],
                    "ports": [{"port": 9000, "protocol": "TCP"}]}]})
        );
        assert_eq!(
            pol(&set, "secfix-egress-deployment-web")["spec"],
            json!({"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"],
                "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "cart"}}}],
                    "ports": [{"port": 9000, "protocol": "TCP"}]}]})
        );
        let f = set
            .flows
            .iter()
            .find(|f| f.kind == FlowKind::Evidence)
            .unwrap();
        assert_eq!(f.evidence, ["env CART_SERVICE_ADDR of Deployment web"]);
        assert_eq!(
            rows(&set)[0],
            "evidence Deployment web -> cart:7070 [9000/TCP]"
        );
        for p in &set.policies {
            assert_eq!(
                p.metadata.labels.as_ref().unwrap()["app.kubernetes.io/managed-by"],
                "kubectl-secfix"
            );
        }
    }

    #[test]
    fn default_deny_allows_dns_to_cluster_dns_only() {
        let set = plan(shop());
        assert_eq!(
            pol(&set, "secfix-default-deny")["spec"],
            json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                    "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]})
        );
        let w = world(shop());
        let set = plan_with(&w, &[("shop", BOTH)], &[], &Options::default()).remove(0);
        assert!(
            pol(&set, "secfix-default-deny")["spec"]
                .get("egress")
                .is_none()
        );
        assert!(!rows(&set).iter().any(|r| r.starts_with("dns")));
    }

    #[test]
    fn every_evidence_form_names_the_service() {
        for value in [
            "cart",
            "cart:7070",
            "cart.shop",
            "cart.shop:7070",
            "cart.shop.svc",
            "cart.shop.svc.cluster.local",
            "cart.shop.svc.cluster.local:7070",
            "http://cart:7070/api",
            "grpc://cart.shop.svc.cluster.local:7070",
        ] {
            let mut objs = shop();
            objs[0] = app(
                "web",
                json!([{"name": "CART_HOST", "value": value}]),
                json!([]),
            );
            let set = plan(objs);
            assert!(
                rows(&set)
                    .iter()
                    .any(|r| r.starts_with("evidence Deployment web -> cart")),
                "{value}: {:?}",
                rows(&set)
            );
        }
        // args and command
        for container in [
            json!({"name": "main", "args": ["--cart=cart:7070"]}),
            json!({"name": "main", "command": ["sh", "-c", "exec app --cart-addr cart.shop:7070"]}),
        ] {
            let mut objs = shop();
            objs[0] = deploy("web", None, container.clone());
            let set = plan(objs);
            assert!(
                rows(&set)
                    .iter()
                    .any(|r| r == "evidence Deployment web -> cart:7070 [9000/TCP]"),
                "{container}: {:?}",
                rows(&set)
            );
        }
    }

    #[test]
    fn config_map_values_are_evidence_and_never_shown() {
        let mut objs = shop();
        objs[0] = app(
            "web",
            json!([{"name": "CART", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "cart"}}},
                {"name": "PAY", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "pay"}}}]),
            json!([]),
        );
        objs.push(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
            "data": {"cart": "redis://user:hunter2@cart:7070/0", "pay": "https://payments.example.com",
                "unused": "https://unused.example.com"}}));
        let set = plan(objs);
        let f = set
            .flows
            .iter()
            .find(|f| f.kind == FlowKind::Evidence)
            .unwrap();
        assert_eq!(
            f.evidence,
            ["env CART from ConfigMap cfg key cart of Deployment web"]
        );
        let b = set
            .flows
            .iter()
            .find(|f| f.kind == FlowKind::Blocked)
            .unwrap();
        assert_eq!(b.to, Peer::Host { host: None });
        let all = format!("{:?}{}", set, serde_json::to_string(&set.flows).unwrap());
        for secret in ["hunter2", "payments.example.com", "unused"] {
            assert!(!all.contains(secret), "{secret} shown");
        }
    }

    #[test]
    fn user_and_database_names_equal_to_a_service_are_not_evidence() {
        let objs = vec![
            app(
                "wordpress",
                json!([{"name": "WORDPRESS_DB_USER", "value": "wordpress"},
                {"name": "WORDPRESS_DB_HOST", "value": "mysql"}]),
                json!([{"containerPort": 80}]),
            ),
            app(
                "mysql",
                json!([{"name": "MYSQL_USER", "value": "wordpress"},
                {"name": "MYSQL_DATABASE", "value": "wordpress"}]),
                json!([{"containerPort": 3306}]),
            ),
            service(
                "wordpress",
                json!({"app": "wordpress"}),
                json!([{"port": 80}]),
            ),
            service("mysql", json!({"app": "mysql"}), json!([{"port": 3306}])),
        ];
        let set = plan(objs);
        assert_eq!(
            rows(&set)
                .into_iter()
                .filter(|r| !r.starts_with("dns"))
                .collect::<Vec<_>>(),
            [
                "evidence Deployment wordpress -> mysql [3306/TCP]",
                "assumed every pod of the namespace -> wordpress [80/TCP]",
            ]
        );
    }

    #[test]
    fn unnamed_services_are_assumed_reachable_from_the_namespace() {
        let mut objs = shop();
        objs.push(app("redis", json!([]), json!([{"containerPort": 6379}])));
        objs.push(service(
            "redis",
            json!({"app": "redis"}),
            json!([{"port": 6379}]),
        ));
        let set = plan(objs);
        assert!(
            rows(&set)
                .contains(&"assumed every pod of the namespace -> redis [6379/TCP]".to_string())
        );
        assert_eq!(
            pol(&set, "secfix-ingress-redis")["spec"]["ingress"],
            json!([{"from": [{"podSelector": {}}], "ports": [{"port": 6379, "protocol": "TCP"}]}])
        );
        // The matching egress is in the default deny (every pod may call it).
        let egress = &pol(&set, "secfix-default-deny")["spec"]["egress"];
        assert!(egress.as_array().unwrap().contains(&json!(
            {"to": [{"podSelector": {"matchLabels": {"app": "redis"}}}], "ports": [{"port": 6379, "protocol": "TCP"}]}
        )), "{egress}");
        // A Service with evidenced callers gets ingress from them only.
        let cart = &pol(&set, "secfix-ingress-cart")["spec"]["ingress"];
        assert_eq!(cart.as_array().unwrap().len(), 1);
    }

    #[test]
    fn headless_services() {
        let objs = vec![
            app(
                "web",
                json!([{"name": "DB_HOSTS", "value": "db-0.db:5432,db-1.db:5432"},
                {"name": "PEERS", "value": "kv"}]),
                json!([]),
            ),
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
                "spec": {"selector": {"matchLabels": {"app": "db"}}, "serviceName": "db",
                    "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [
                        {"name": "pg", "ports": [{"containerPort": 5432}, {"containerPort": 8008}]}]}}}}),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"},
                "spec": {"clusterIP": "None", "selector": {"app": "db"}}}),
            app(
                "kv",
                json!([{"name": "INITIAL_CLUSTER", "value": "kv-0.kv,kv-1.kv"}]),
                json!([{"containerPort": 2379}, {"containerPort": 2380}]),
            ),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kv"},
                "spec": {"clusterIP": "None", "selector": {"app": "kv"}, "ports": [{"port": 2379}]}}),
        ];
        let set = plan(objs);
        let r = rows(&set);
        // A port the Service does not list: the pods' port, as clients of headless Services
        // connect to pods.
        assert!(
            r.contains(&"evidence Deployment web -> db:5432 [5432/TCP]".to_string()),
            "{r:?}"
        );
        assert!(
            r.contains(&"evidence Deployment web -> kv [2379/TCP]".to_string()),
            "{r:?}"
        );
        // Peers named pod by pod reach every port their containers declare.
        assert!(
            r.contains(&"evidence Deployment kv -> kv [2379/TCP, 2380/TCP]".to_string()),
            "{r:?}"
        );
    }

    #[test]
    fn multi_port_services_allow_the_named_port_or_all() {
        let objs = vec![
            app(
                "a",
                json!([{"name": "X_ADDR", "value": "multi:80"}]),
                json!([]),
            ),
            app(
                "b",
                json!([{"name": "X_HOST", "value": "multi"}]),
                json!([]),
            ),
            app(
                "m",
                json!([]),
                json!([{"name": "http", "containerPort": 8080}, {"name": "admin", "containerPort": 9090}]),
            ),
            service(
                "multi",
                json!({"app": "m"}),
                json!([
                {"name": "http", "port": 80, "targetPort": "http"},
                {"name": "admin", "port": 90, "targetPort": "admin"},
                {"name": "dns", "port": 53, "protocol": "UDP"}]),
            ),
        ];
        let set = plan(objs);
        let r = rows(&set);
        assert!(
            r.contains(&"evidence Deployment a -> multi:80 [8080/TCP]".to_string()),
            "{r:?}"
        );
        assert!(
            r.contains(&"evidence Deployment b -> multi [53/UDP, 8080/TCP, 9090/TCP]".to_string()),
            "{r:?}"
        );
        // A port that is no port of the Service: every port, and a note.
        let objs = vec![
            app(
                "a",
                json!([{"name": "X_ADDR", "value": "multi:7777"}]),
                json!([]),
            ),
            app(
                "m",
                json!([]),
                json!([{"name": "http", "containerPort": 8080}]),
            ),
            service(
                "multi",
                json!({"app": "m"}),
                json!([{"port": 80, "targetPort": "http"}]),
            ),
        ];
        let set = plan(objs);
        assert!(rows(&set).contains(&"evidence Deployment a -> multi [8080/TCP]".to_string()));
        assert!(
            set.notes
                .iter()
                .any(|n| n.contains("port 7777 is not a port of Service multi"))
        );
    }

    #[test]
    fn selector_less_and_external_name_services_have_no_pods_to_allow() {
        let objs = vec![
            app(
                "web",
                json!([{"name": "LEGACY_ADDR", "value": "legacy:5432"},
                {"name": "MAIL_HOST", "value": "mail"}, {"name": "K8S", "value": "https://kubernetes.default.svc"}]),
                json!([]),
            ),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "legacy"},
                "spec": {"ports": [{"port": 5432}]}}),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "mail"},
                "spec": {"type": "ExternalName", "externalName": "smtp.example.com"}}),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kubernetes", "namespace": "default"},
                "spec": {"ports": [{"port": 443}]}}),
        ];
        let set = plan(objs);
        assert_eq!(names(&set), ["secfix-default-deny"]);
        let blocked: Vec<&Flow> = set
            .flows
            .iter()
            .filter(|f| f.kind == FlowKind::Blocked)
            .collect();
        assert_eq!(blocked.len(), 3, "{:?}", rows(&set));
        let notes: Vec<&str> = blocked.iter().filter_map(|f| f.note.as_deref()).collect();
        assert!(
            notes
                .iter()
                .any(|n| n.contains("Service legacy has no selector")),
            "{notes:?}"
        );
        assert!(
            notes
                .iter()
                .any(|n| n.contains("points to smtp.example.com")),
            "{notes:?}"
        );
        assert!(
            notes.iter().any(|n| n.contains("Kubernetes API server")),
            "{notes:?}"
        );
    }

    #[test]
    fn two_services_on_the_same_pods() {
        let objs = vec![
            app(
                "web",
                json!([]),
                json!([{"containerPort": 8080}, {"containerPort": 9090}]),
            ),
            app(
                "bot",
                json!([{"name": "WEB_ADDR", "value": "web:80"}]),
                json!([]),
            ),
            service(
                "web",
                json!({"app": "web"}),
                json!([{"port": 80, "targetPort": 8080}]),
            ),
            service(
                "web-metrics",
                json!({"app": "web"}),
                json!([{"port": 9090}]),
            ),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web-external"},
                "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 443, "targetPort": 8080}]}}),
        ];
        let set = plan(objs);
        let r = rows(&set);
        assert!(
            r.contains(&"evidence Deployment bot -> web:80 [8080/TCP]".to_string()),
            "{r:?}"
        );
        assert!(
            r.contains(&"assumed every pod of the namespace -> web-metrics [9090/TCP]".to_string()),
            "{r:?}"
        );
        assert!(
            r.contains(
                &"entry point anywhere (0.0.0.0/0, ::/0) -> web-external [8080/TCP]".to_string()
            ),
            "{r:?}"
        );
        // The load balancer twin of a named Service is for outside callers: not assumed.
        assert!(
            !r.iter()
                .any(|r| r.starts_with("assumed") && r.contains("web-external")),
            "{r:?}"
        );
        for n in [
            "secfix-ingress-web",
            "secfix-ingress-web-metrics",
            "secfix-ingress-web-external",
        ] {
            assert_eq!(
                pol(&set, n)["spec"]["podSelector"],
                json!({"matchLabels": {"app": "web"}})
            );
        }
    }

    #[test]
    fn entry_points_get_ingress_from_anywhere() {
        let anywhere = json!([{"ipBlock": {"cidr": "0.0.0.0/0"}}, {"ipBlock": {"cidr": "::/0"}}]);
        let objs = vec![
            app("lb", json!([]), json!([{"containerPort": 80}])),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "lb"},
                "spec": {"type": "LoadBalancer", "selector": {"app": "lb"}, "ports": [{"port": 80}]}}),
            app("np", json!([]), json!([{"containerPort": 81}])),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "np"},
                "spec": {"type": "NodePort", "selector": {"app": "np"}, "ports": [{"port": 81}]}}),
            app(
                "ing",
                json!([]),
                json!([{"name": "http", "containerPort": 8080}, {"containerPort": 9000}]),
            ),
            service(
                "ing",
                json!({"app": "ing"}),
                json!([{"name": "web", "port": 80, "targetPort": "http"}, {"name": "other", "port": 9000}]),
            ),
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "site"},
                "spec": {"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix",
                    "backend": {"service": {"name": "ing", "port": {"name": "web"}}}}]}}]}}),
            app("route", json!([]), json!([{"containerPort": 9080}])),
            service("route", json!({"app": "route"}), json!([{"port": 9080}])),
            json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"},
                "spec": {"rules": [{"backendRefs": [{"name": "route", "port": 9080}]}]}}),
        ];
        let set = plan(objs);
        let r = rows(&set);
        for (svc, port, why) in [
            ("lb", 80, "Service lb type LoadBalancer"),
            ("np", 81, "Service np type NodePort"),
            ("ing", 8080, "backend of Ingress site"),
            ("route", 9080, "backend of HTTPRoute r"),
        ] {
            let p = pol(&set, &format!("secfix-ingress-{svc}"));
            let rules = p["spec"]["ingress"].as_array().unwrap();
            assert!(
                rules.contains(
                    &json!({"from": anywhere, "ports": [{"port": port, "protocol": "TCP"}]})
                ),
                "{svc}: {rules:?}"
            );
            let f = set
                .flows
                .iter()
                .find(|f| {
                    f.kind == FlowKind::EntryPoint
                        && matches!(&f.to, Peer::Service { name, .. } if name == svc)
                })
                .unwrap_or_else(|| panic!("{svc}: {r:?}"));
            assert_eq!(f.evidence, [why]);
        }
    }

    #[test]
    fn across_namespaces_egress_names_the_namespace_and_both_sides_when_both_are_fixed() {
        let objs = vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cache"}}),
            deploy(
                "web",
                Some("shop"),
                json!({"name": "main", "env": [
                {"name": "REDIS_ADDR", "value": "redis.data:6379"},
                {"name": "MEMCACHE_ADDR", "value": "memcached.cache.svc.cluster.local:11211"}]}),
            ),
            deploy(
                "redis",
                Some("data"),
                json!({"name": "r", "ports": [{"containerPort": 6379}]}),
            ),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "redis", "namespace": "data"},
                "spec": {"selector": {"app": "redis"}, "ports": [{"port": 6379}]}}),
        ];
        let w = world(objs);
        let sets = plan_with(&w, &[("shop", BOTH), ("data", BOTH)], &[], &dns());
        let shop = sets.iter().find(|s| s.namespace == "shop").unwrap();
        let data = sets.iter().find(|s| s.namespace == "data").unwrap();
        let egress = &pol(shop, "secfix-egress-deployment-web")["spec"]["egress"];
        assert_eq!(
            egress,
            &json!([
                {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "data"}},
                    "podSelector": {"matchLabels": {"app": "redis"}}}],
                 "ports": [{"port": 6379, "protocol": "TCP"}]},
                {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "cache"}}}],
                 "ports": [{"port": 11211, "protocol": "TCP"}]}
            ])
        );
        assert_eq!(
            pol(data, "secfix-ingress-redis")["spec"]["ingress"],
            json!([{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "shop"}},
                "podSelector": {"matchLabels": {"app": "web"}}}],
                "ports": [{"port": 6379, "protocol": "TCP"}]}])
        );
        assert!(rows(data).contains(
            &"evidence Deployment web (namespace shop) -> redis:6379 [6379/TCP]".to_string()
        ));
        assert!(
            rows(shop)
                .contains(&"evidence Deployment web -> redis.data:6379 [6379/TCP]".to_string())
        );
        // Only shop fixed: its egress, nothing for data.
        let sets = plan_with(&w, &[("shop", BOTH)], &[], &dns());
        assert_eq!(sets.len(), 1);
        assert_eq!(
            &pol(&sets[0], "secfix-egress-deployment-web")["spec"]["egress"],
            egress
        );
    }

    /// Found on Cassandra's seed list and the OpenTelemetry collector's self-telemetry: a
    /// server naming its own Service made it "named", so its clients with compiled-in host
    /// names lost their rule.
    #[test]
    fn a_service_named_only_by_its_own_pods_stays_assumed() {
        let objs = vec![
            app(
                "cassandra",
                json!([{"name": "CASSANDRA_SEEDS", "value": "cassandra:7000"}]),
                json!([{"containerPort": 7000}, {"containerPort": 9042}]),
            ),
            service(
                "cassandra",
                json!({"app": "cassandra"}),
                json!([{"name": "intra", "port": 7000}, {"name": "cql", "port": 9042}]),
            ),
            app("client", json!([]), json!([])),
        ];
        let set = plan(objs);
        let r = rows(&set);
        assert!(
            r.contains(
                &"assumed every pod of the namespace -> cassandra [7000/TCP, 9042/TCP]".to_string()
            ),
            "{r:?}"
        );
        assert!(
            r.contains(&"evidence Deployment cassandra -> cassandra:7000 [7000/TCP]".to_string()),
            "{r:?}"
        );
        let assumed = set
            .flows
            .iter()
            .find(|f| f.kind == FlowKind::Assumed)
            .unwrap();
        assert_eq!(
            assumed.evidence,
            ["only its own pods name Service cassandra".to_string()]
        );
    }

    /// Found on the OpenTelemetry demo's Jaeger Services: `targetPort: 0` in a manifest
    /// became `port: 0` in the policies, which the API server rejects.
    #[test]
    fn target_port_zero_or_empty_means_the_service_port() {
        let objs = vec![
            app("jaeger", json!([]), json!([{"containerPort": 16686}])),
            service(
                "jaeger",
                json!({"app": "jaeger"}),
                json!([{"port": 16686, "targetPort": 0}, {"port": 4317, "targetPort": ""}]),
            ),
        ];
        let r = rows(&plan(objs));
        assert!(
            r.contains(
                &"assumed every pod of the namespace -> jaeger [4317/TCP, 16686/TCP]".to_string()
            ),
            "{r:?}"
        );
    }

    /// Found in Prometheus configurations: `kubernetes.default.svc` was taken for a Service
    /// of namespace `default` (egress to all its pods, and still not the API server).
    #[test]
    fn kubernetes_default_svc_is_the_api_server_not_namespace_default() {
        let mut objs = shop();
        objs[0] = app(
            "web",
            json!([{"name": "KUBERNETES_API", "value": "https://kubernetes.default.svc:443"}]),
            json!([]),
        );
        objs.push(deploy(
            "other",
            Some("default"),
            json!({"name": "main", "image": "x"}),
        ));
        let set = plan(objs);
        let r = rows(&set);
        let blocked: Vec<&Flow> = set
            .flows
            .iter()
            .filter(|f| f.kind == FlowKind::Blocked)
            .collect();
        assert_eq!(blocked.len(), 1, "{r:?}");
        assert_eq!(blocked[0].to, Peer::ApiServer { addresses: vec![] });
        assert!(
            blocked[0]
                .note
                .as_deref()
                .is_some_and(|n| n.contains("Kubernetes API server")),
            "{:?}",
            blocked[0]
        );
        assert!(
            !set.policies.iter().any(|p| serde_json::to_string(p)
                .unwrap()
                .contains("\"kubernetes.io/metadata.name\":\"default\"")),
            "{r:?}"
        );
    }

    /// Found on Redis with Sentinel: replicas and sentinels reach the master by pod IP on a
    /// port no Service lists; the cut must be said in the flow table.
    #[test]
    fn ports_no_rule_opens_are_listed_as_blocked() {
        let objs = vec![
            app(
                "redis",
                json!([]),
                json!([{"containerPort": 6379}, {"containerPort": 26379}, {"containerPort": 9121}]),
            ),
            service(
                "sentinel",
                json!({"app": "redis"}),
                json!([{"port": 26379}]),
            ),
            app("web", json!([]), json!([])),
        ];
        let set = plan(objs);
        let r = rows(&set);
        assert!(
            r.contains(
                &"will be blocked anywhere (0.0.0.0/0, ::/0) -> Deployment redis [6379/TCP, 9121/TCP]"
                    .to_string()
            ),
            "{r:?}"
        );
        // A workload without declared ports, or whose ports a rule opens, has no such row.
        assert_eq!(
            r.iter()
                .filter(|r| r.starts_with("will be blocked"))
                .count(),
            1,
            "{r:?}"
        );
        // Ingress not isolated: nothing to say.
        let w = world(vec![
            app("redis", json!([]), json!([{"containerPort": 6379}])),
            app("web", json!([]), json!([])),
        ]);
        let egress_only = plan_with(&w, &[("shop", &[Direction::Egress])], &[], &dns());
        assert!(
            !rows(&egress_only[0])
                .iter()
                .any(|r| r.starts_with("will be blocked")),
            "{:?}",
            rows(&egress_only[0])
        );
    }

    /// Found on spring-petclinic's wavefront proxy: a Service port no caller names was
    /// closed without a row when the containers declared no ports.
    #[test]
    fn service_ports_no_caller_names_are_listed_as_blocked() {
        let objs = vec![
            app("proxy", json!([]), json!([])),
            service(
                "proxy",
                json!({"app": "proxy"}),
                json!([{"name": "wf", "port": 2878}, {"name": "zipkin", "port": 9411}]),
            ),
            app(
                "web",
                json!([{"name": "WAVEFRONT_URL", "value": "proxy://proxy:2878"}]),
                json!([]),
            ),
        ];
        let r = rows(&plan(objs));
        assert!(
            r.contains(
                &"will be blocked anywhere (0.0.0.0/0, ::/0) -> proxy [9411/TCP]".to_string()
            ),
            "{r:?}"
        );
        // And the caller that named the other port, by name.
        assert!(
            r.contains(&"will be blocked Deployment web -> proxy [9411/TCP]".to_string()),
            "{r:?}"
        );
        assert_eq!(
            r.iter()
                .filter(|r| r.starts_with("will be blocked"))
                .count(),
            2,
            "{r:?}"
        );
    }

    /// Found on Yelb's minikube variant (and DaemonSet ingress controllers): a `hostPort`
    /// publishes the pod on the node's address, so outside callers reach it there.
    #[test]
    fn host_ports_are_entry_points() {
        let objs = vec![
            deploy(
                "ui",
                None,
                json!({"name": "ui", "image": "x",
                    "ports": [{"containerPort": 80, "hostPort": 32777}, {"containerPort": 9113}]}),
            ),
            app("db", json!([]), json!([])),
        ];
        let set = plan(objs);
        let r = rows(&set);
        assert!(
            r.contains(
                &"entry point anywhere (0.0.0.0/0, ::/0) -> Deployment ui [80/TCP]".to_string()
            ),
            "{r:?}"
        );
        assert!(
            r.contains(
                &"will be blocked anywhere (0.0.0.0/0, ::/0) -> Deployment ui [9113/TCP]"
                    .to_string()
            ),
            "{r:?}"
        );
        let p = pol(&set, "secfix-ingress-deployment-ui");
        assert_eq!(
            p["spec"]["podSelector"],
            json!({"matchLabels": {"app": "ui"}})
        );
        assert_eq!(
            p["spec"]["ingress"][0]["from"][0]["ipBlock"]["cidr"],
            "0.0.0.0/0"
        );
        assert_eq!(
            p["spec"]["ingress"][0]["ports"],
            json!([{"port": 80, "protocol": "TCP"}])
        );
    }

    #[test]
    fn workloads_with_their_own_service_account_token_are_told_the_api_server_is_blocked() {
        let mut objs = shop();
        objs[0]["spec"]["template"]["spec"]["serviceAccountName"] = json!("operator");
        let cart = &mut objs[1]["spec"]["template"]["spec"];
        cart["serviceAccountName"] = json!("quiet");
        cart["automountServiceAccountToken"] = json!(false);
        let set = plan(objs.clone());
        let api = |set: &NamespacePolicies| -> Vec<Flow> {
            set.flows
                .iter()
                .filter(|f| matches!(f.to, Peer::ApiServer { .. }))
                .cloned()
                .collect()
        };
        let blocked = api(&set);
        assert_eq!(blocked.len(), 1, "{:?}", rows(&set));
        assert_eq!(blocked[0].kind, FlowKind::Blocked);
        assert_eq!(blocked[0].from.text("shop"), "Deployment web");
        assert!(
            blocked[0].evidence[0].contains("ServiceAccount operator with its token mounted"),
            "{:?}",
            blocked[0]
        );
        assert!(
            blocked[0]
                .note
                .as_deref()
                .is_some_and(|n| n.contains("--api-server")),
            "{:?}",
            blocked[0]
        );
        // Found on spring-petclinic: every pod runs as `default`, which a RoleBinding of the
        // manifests lets read the API (Spring Cloud Kubernetes).
        let mut bound = objs;
        bound.push(app("worker", json!([]), json!([])));
        bound.push(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "read", "namespace": "shop"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
            "subjects": [{"kind": "ServiceAccount", "name": "default"}]}),
        );
        let set = plan(bound);
        assert!(
            api(&set).iter().any(|f| f.evidence.join("; ")
                == "Deployment worker runs as ServiceAccount default, which a RoleBinding grants access"),
            "{:?}",
            rows(&set)
        );
    }

    /// Issue #21, item 2: with the API server's address known, each workload that evidently
    /// calls it gets egress to exactly that address and port, in its own policy; no other pod
    /// does.
    #[test]
    fn api_server_egress_is_per_workload_when_its_address_is_known() {
        let mut objs = shop();
        objs[0]["spec"]["template"]["spec"]["serviceAccountName"] = json!("operator");
        objs.push(app(
            "reader",
            json!([{"name": "K8S", "value": "https://kubernetes.default.svc"}]),
            json!([]),
        ));
        let w = world(objs);
        let opts = Options {
            allow_dns: true,
            api_server: Some(ApiServer {
                addresses: vec!["192.0.2.10/32".parse().unwrap()],
                ports: vec![6443],
                source: "Endpoints default/kubernetes".into(),
            }),
            ..Options::default()
        };
        let set = plan_with(&w, &[("shop", BOTH)], &[], &opts).remove(0);
        let rule = json!({"to": [{"ipBlock": {"cidr": "192.0.2.10/32"}}],
            "ports": [{"port": 6443, "protocol": "TCP"}]});
        for p in [
            "secfix-egress-deployment-web",
            "secfix-egress-deployment-reader",
        ] {
            let egress = pol(&set, p)["spec"]["egress"].clone();
            assert!(egress.as_array().unwrap().contains(&rule), "{p}: {egress}");
        }
        let all = serde_json::to_string(&set.policies).unwrap();
        assert_eq!(all.matches("192.0.2.10/32").count(), 2, "{all}");
        assert!(
            !pol(&set, "secfix-default-deny")["spec"]
                .to_string()
                .contains("192.0.2.10"),
            "no namespace-wide opening"
        );
        let r = rows(&set);
        assert!(
            r.contains(&"api server Deployment reader -> the Kubernetes API server (192.0.2.10/32) [6443/TCP]".to_string()),
            "{r:?}"
        );
        assert!(
            !r.iter()
                .any(|x| x.starts_with("will be blocked") && x.contains("API server")),
            "{r:?}"
        );
    }

    /// Issue #21, item 1: an operator's webhook Service is called by the API server; its
    /// pods get ingress on the webhook's target port from the API server's address when
    /// known, else from anywhere, with a row saying why.
    #[test]
    fn webhook_services_get_ingress_from_the_api_server() {
        let objs = vec![
            app(
                "operator",
                json!([]),
                json!([{"name": "webhook", "containerPort": 9443}, {"containerPort": 8080}]),
            ),
            service(
                "operator-webhook",
                json!({"app": "operator"}),
                json!([{"port": 443, "targetPort": "webhook"}]),
            ),
            app(
                "client",
                json!([{"name": "X", "value": "operator-webhook:443"}]),
                json!([]),
            ),
            json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
                "metadata": {"name": "op"},
                "webhooks": [{"name": "v.op.io", "clientConfig": {"service": {"namespace": "shop", "name": "operator-webhook", "path": "/validate"}},
                    "admissionReviewVersions": ["v1"], "sideEffects": "None"}]}),
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": "things.op.io"},
                "spec": {"conversion": {"strategy": "Webhook", "webhook": {"clientConfig": {"service": {"namespace": "shop", "name": "operator-webhook", "port": 443}}, "conversionReviewVersions": ["v1"]}}}}),
            json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
                "metadata": {"name": "v1.metrics.op.io"},
                "spec": {"service": {"namespace": "other", "name": "nope"}}}),
        ];
        let set = plan(objs.clone());
        let ingress = pol(&set, "secfix-ingress-operator-webhook")["spec"]["ingress"].clone();
        assert!(
            ingress.as_array().unwrap().contains(
                &json!({"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}, {"ipBlock": {"cidr": "::/0"}}],
                "ports": [{"port": 9443, "protocol": "TCP"}]})
            ),
            "{ingress}"
        );
        let f = set
            .flows
            .iter()
            .find(|f| f.kind == FlowKind::ApiServer)
            .unwrap_or_else(|| panic!("{:?}", rows(&set)));
        assert_eq!(f.to.text("shop"), "operator-webhook:443");
        assert!(
            f.evidence.iter().any(|e| e.contains(
                "webhook v.op.io of ValidatingWebhookConfiguration op (failurePolicy Fail)"
            )),
            "{f:?}"
        );
        assert!(
            f.evidence
                .iter()
                .any(|e| e.contains("conversion webhook of CustomResourceDefinition things.op.io")),
            "{f:?}"
        );
        assert!(f.note.as_deref().unwrap().contains("anywhere"), "{f:?}");
        // Known address: from it only.
        let w = world(objs);
        let opts = Options {
            allow_dns: true,
            api_server: ApiServer::parse_flag(&["192.0.2.10:6443".to_string()]).unwrap(),
            ..Options::default()
        };
        let set = plan_with(&w, &[("shop", BOTH)], &[], &opts).remove(0);
        let ingress = pol(&set, "secfix-ingress-operator-webhook")["spec"]["ingress"].clone();
        assert!(
            ingress
                .as_array()
                .unwrap()
                .contains(&json!({"from": [{"ipBlock": {"cidr": "192.0.2.10/32"}}],
                "ports": [{"port": 9443, "protocol": "TCP"}]})),
            "{ingress}"
        );
        assert!(!ingress.to_string().contains("0.0.0.0/0"), "{ingress}");
    }

    #[test]
    fn outside_destinations_are_listed_as_blocked_and_allow_egress_adds_blocks() {
        let mut objs = shop();
        objs[0] = app(
            "web",
            json!([{"name": "PAYMENT_URL", "value": "https://user:pw@api.example.com/v1"},
                {"name": "LEGACY_ADDR", "value": "10.1.2.3:5432"},
                {"name": "INDEX", "value": "dist/index.js"}]),
            json!([]),
        );
        let w = world(objs.clone());
        let opts = Options {
            allow_dns: true,
            allow_egress: vec!["10.0.0.0/8".parse().unwrap()],
            ..Options::default()
        };
        let set = plan_with(&w, &[("shop", BOTH)], &[], &opts).remove(0);
        let r = rows(&set);
        assert!(
            r.contains(
                &"will be blocked Deployment web -> api.example.com [all ports]".to_string()
            ),
            "{r:?}"
        );
        assert!(
            r.contains(&"allowed egress Deployment web -> 10.1.2.3:5432 [all ports]".to_string()),
            "{r:?}"
        );
        assert!(
            r.contains(
                &"allowed egress every pod of the namespace -> 10.0.0.0/8 [all ports]".to_string()
            ),
            "{r:?}"
        );
        assert!(
            set.notes
                .iter()
                .any(|n| n.contains("cannot match host names"))
        );
        let egress = pol(&set, "secfix-default-deny")["spec"]["egress"].clone();
        assert!(
            egress
                .as_array()
                .unwrap()
                .contains(&json!({"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}))
        );
        assert!(!format!("{set:?}").contains("pw@"));
        // Never egress to the whole internet.
        for p in &set.policies {
            assert!(
                !serde_json::to_string(&p.spec.as_ref().unwrap().egress)
                    .unwrap()
                    .contains("0.0.0.0/0")
            );
        }
    }

    /// Issue #21, item 6: a front end whose proxy config is baked into its image names no
    /// Service; another workload names the API, so the API gets evidenced callers only. The
    /// cut is said, naming both ends; `--allow-flow` keeps it.
    #[test]
    fn workloads_that_could_call_a_service_with_evidenced_callers_are_said_to_be_cut() {
        let objs = vec![
            app("frontend", json!([]), json!([{"containerPort": 80}])),
            service(
                "frontend",
                json!({"app": "frontend"}),
                json!([{"port": 80}]),
            ),
            app(
                "checkout",
                json!([{"name": "API_ADDR", "value": "api:8080"}]),
                json!([]),
            ),
            app("api", json!([]), json!([{"containerPort": 8080}])),
            service("api", json!({"app": "api"}), json!([{"port": 8080}])),
        ];
        let set = plan(objs.clone());
        let r = rows(&set);
        let cut = set
            .flows
            .iter()
            .find(|f| {
                f.kind == FlowKind::Blocked
                    && f.from.text("shop") == "Deployment frontend"
                    && f.to.text("shop") == "api"
            })
            .unwrap_or_else(|| panic!("{r:?}"));
        assert!(
            cut.note
                .as_deref()
                .unwrap()
                .contains("--allow-flow frontend=api"),
            "{cut:?}"
        );
        let mut w = world(objs);
        w.allow_flows = vec!["frontend=api:8080".parse().unwrap()];
        let set = plan_with(&w, &[("shop", BOTH)], &[], &dns()).remove(0);
        let r = rows(&set);
        assert!(
            r.contains(&"evidence Deployment frontend -> api:8080 [8080/TCP]".to_string()),
            "{r:?}"
        );
        assert!(
            !r.iter()
                .any(|x| x.starts_with("will be blocked Deployment frontend -> api")),
            "{r:?}"
        );
        let f = set
            .flows
            .iter()
            .find(|f| f.kind == FlowKind::Evidence && f.from.text("shop") == "Deployment frontend")
            .unwrap();
        assert_eq!(f.evidence, ["--allow-flow frontend=api:8080"]);
        // One that matches nothing is said.
        w.allow_flows = vec!["nobody=api".parse().unwrap()];
        let set = plan_with(&w, &[("shop", BOTH)], &[], &dns()).remove(0);
        assert!(
            set.notes
                .iter()
                .any(|n| n.contains("--allow-flow nobody=api")),
            "{:?}",
            set.notes
        );
    }

    /// Issue #21, item 6: `QUEUE_HOST=rabbitmq` with a sibling `QUEUE_PORT=5672` allows just
    /// that port, not every port of the Service.
    #[test]
    fn host_variables_take_the_port_of_their_sibling_port_variable() {
        let objs = vec![
            app(
                "worker",
                json!([{"name": "QUEUE_HOST", "value": "rabbitmq"}, {"name": "QUEUE_PORT", "value": "5672"},
                    {"name": "CACHE_HOSTNAME", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "host"}}},
                    {"name": "CACHE_PORT", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "port"}}}]),
                json!([]),
            ),
            app(
                "rabbitmq",
                json!([]),
                json!([{"containerPort": 5672}, {"containerPort": 15672}]),
            ),
            service(
                "rabbitmq",
                json!({"app": "rabbitmq"}),
                json!([{"name": "amqp", "port": 5672}, {"name": "ui", "port": 15672}]),
            ),
            app(
                "cache",
                json!([]),
                json!([{"containerPort": 6379}, {"containerPort": 16379}]),
            ),
            service(
                "cache",
                json!({"app": "cache"}),
                json!([{"port": 6379}, {"port": 16379}]),
            ),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
                "data": {"host": "cache", "port": "6379"}}),
        ];
        let set = plan(objs);
        let r = rows(&set);
        assert!(
            r.contains(&"evidence Deployment worker -> rabbitmq:5672 [5672/TCP]".to_string()),
            "{r:?}"
        );
        assert!(
            r.contains(&"evidence Deployment worker -> cache:6379 [6379/TCP]".to_string()),
            "{r:?}"
        );
        // The other port is cut for that caller: said, naming both ends.
        assert!(
            r.contains(&"will be blocked Deployment worker -> rabbitmq [15672/TCP]".to_string()),
            "{r:?}"
        );
    }

    /// Issue #21, item 5: a server before 1.21 sets no `kubernetes.io/metadata.name`, so
    /// rules selecting namespaces by it match nothing. DNS goes to any address on port 53;
    /// cross-namespace rules are refused with a row naming both ends; nothing that matches
    /// nothing is said to be allowed.
    #[test]
    fn servers_that_do_not_label_namespaces_get_no_rule_that_matches_nothing() {
        let objs = vec![
            app(
                "web",
                json!([{"name": "DB_ADDR", "value": "db.data:5432"}]),
                json!([{"containerPort": 80}]),
            ),
            deploy(
                "db",
                Some("data"),
                json!({"name": "pg", "image": "x", "ports": [{"containerPort": 5432}]}),
            ),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db", "namespace": "data"},
                "spec": {"selector": {"app": "db"}, "ports": [{"port": 5432}]}}),
        ];
        let mut w = world(objs);
        w.namespace_labels = Some(
            [("shop", BTreeMap::new()), ("data", BTreeMap::new())]
                .into_iter()
                .map(|(n, l)| (n.to_string(), l))
                .collect(),
        );
        let set = plan_with(&w, &[("shop", BOTH)], &[], &dns()).remove(0);
        let all = serde_json::to_string(&set.policies).unwrap();
        assert!(!all.contains(NAMESPACE_NAME_LABEL), "{all}");
        let r = rows(&set);
        assert!(
            r.contains(
                &"dns every pod of the namespace -> anywhere (0.0.0.0/0, ::/0) [53/UDP, 53/TCP]"
                    .to_string()
            ),
            "{r:?}"
        );
        let cut = set
            .flows
            .iter()
            .find(|f| f.kind == FlowKind::Blocked && f.to.text("shop") == "db.data:5432")
            .unwrap_or_else(|| panic!("{r:?}"));
        assert_eq!(cut.from.text("shop"), "Deployment web");
        assert!(
            cut.note
                .as_deref()
                .unwrap()
                .contains("kubectl label namespace data"),
            "{cut:?}"
        );
        assert!(
            !r.iter()
                .any(|x| x.starts_with("evidence") && x.contains("db.data")),
            "{r:?}"
        );
        // Labelled (1.21 and later): the rules are written as before.
        w.namespace_labels = Some(
            ["shop", "data", "kube-system"]
                .into_iter()
                .map(|n| {
                    (
                        n.to_string(),
                        BTreeMap::from([(NAMESPACE_NAME_LABEL.to_string(), n.to_string())]),
                    )
                })
                .collect(),
        );
        let set = plan_with(&w, &[("shop", BOTH)], &[], &dns()).remove(0);
        assert!(
            rows(&set)
                .iter()
                .any(|x| x.starts_with("evidence Deployment web -> db.data"))
        );
        assert!(
            rows(&set)
                .iter()
                .any(|x| x.starts_with("dns every pod of the namespace -> cluster DNS"))
        );
    }

    /// Issue #21, item 4: an HTTPRoute of another namespace reaches a Service only with a
    /// ReferenceGrant; a LoadBalancer limited to source ranges is opened to them only; an
    /// Ingress backend is reached from the ingress controller's pods when they are known.
    #[test]
    fn entry_points_only_from_what_the_cluster_would_route() {
        let base = || {
            vec![
                app("api", json!([]), json!([{"containerPort": 8080}])),
                service(
                    "api",
                    json!({"app": "api"}),
                    json!([{"port": 80, "targetPort": 8080}]),
                ),
                json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                    "metadata": {"name": "steal", "namespace": "evil"},
                    "spec": {"rules": [{"backendRefs": [{"name": "api", "namespace": "shop", "port": 80}]}]}}),
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "evil"}}),
            ]
        };
        let set = plan(base());
        let r = rows(&set);
        assert!(
            !serde_json::to_string(&set.policies)
                .unwrap()
                .contains("0.0.0.0/0"),
            "{r:?}"
        );
        let refused = set
            .flows
            .iter()
            .find(|f| f.kind == FlowKind::Blocked && f.to.text("shop") == "api")
            .unwrap_or_else(|| panic!("{r:?}"));
        assert!(
            refused
                .note
                .as_deref()
                .unwrap()
                .contains("no ReferenceGrant"),
            "{refused:?}"
        );
        assert!(refused.evidence[0].contains("HTTPRoute steal in namespace evil"));
        // A ReferenceGrant for another Service, or from another namespace, does not count.
        let grant = |from_ns: &str, name: Option<&str>| {
            let mut to = json!({"group": "", "kind": "Service"});
            if let Some(n) = name {
                to["name"] = n.into();
            }
            json!({"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
                "metadata": {"name": "g", "namespace": "shop"},
                "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": from_ns}],
                    "to": [to]}})
        };
        for (g, routed) in [
            (grant("evil", Some("other")), false),
            (grant("elsewhere", None), false),
            (grant("evil", Some("api")), true),
            (grant("evil", None), true),
        ] {
            let mut objs = base();
            objs.push(g.clone());
            let set = plan(objs);
            let entry = set.flows.iter().any(|f| f.kind == FlowKind::EntryPoint);
            assert_eq!(entry, routed, "{g}: {:?}", rows(&set));
        }

        // loadBalancerSourceRanges.
        let mut objs = base();
        objs[1]["spec"]["type"] = "LoadBalancer".into();
        objs[1]["spec"]["loadBalancerSourceRanges"] = json!(["203.0.113.0/24"]);
        let set = plan(objs);
        let ingress = pol(&set, "secfix-ingress-api")["spec"]["ingress"].clone();
        assert_eq!(
            ingress[0],
            json!({"from": [{"ipBlock": {"cidr": "203.0.113.0/24"}}], "ports": [{"port": 8080, "protocol": "TCP"}]})
        );
        assert!(!ingress.to_string().contains("0.0.0.0/0"), "{ingress}");
        assert!(
            rows(&set).contains(&"entry point 203.0.113.0/24 -> api [8080/TCP]".to_string()),
            "{:?}",
            rows(&set)
        );

        // Ingress backends: from the controller's pods when they are found.
        let mut objs = base();
        objs.push(json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "site"},
            "spec": {"defaultBackend": {"service": {"name": "api", "port": {"number": 80}}}}}));
        let mut controller = deploy(
            "ingress-nginx-controller",
            Some("ingress-nginx"),
            json!({"name": "controller", "image": "x"}),
        );
        controller["spec"]["selector"]["matchLabels"] = json!({"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"});
        controller["spec"]["template"]["metadata"]["labels"] = json!({"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"});
        let set = plan(objs.iter().cloned().chain([controller.clone()]).collect());
        let ingress = pol(&set, "secfix-ingress-api")["spec"]["ingress"].clone();
        assert_eq!(
            ingress[0],
            json!({"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
                "podSelector": {"matchLabels": {"app.kubernetes.io/component": "controller", "app.kubernetes.io/name": "ingress-nginx"}}}],
                "ports": [{"port": 8080, "protocol": "TCP"}]})
        );
        assert!(!ingress.to_string().contains("0.0.0.0/0"), "{ingress}");
        // On the host network it reaches pods from node addresses: anywhere stays.
        controller["spec"]["template"]["spec"]["hostNetwork"] = true.into();
        let set = plan(objs.iter().cloned().chain([controller]).collect());
        assert!(
            pol(&set, "secfix-ingress-api")["spec"]
                .to_string()
                .contains("0.0.0.0/0")
        );
        // --ingress-from.
        let mut w = world(objs);
        w.ingress_from = vec!["traefik/app=traefik".parse().unwrap()];
        let set = plan_with(&w, &[("shop", BOTH)], &[], &dns()).remove(0);
        assert_eq!(
            pol(&set, "secfix-ingress-api")["spec"]["ingress"][0]["from"],
            json!([{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}},
                "podSelector": {"matchLabels": {"app": "traefik"}}}])
        );
        assert!(
            rows(&set)
                .iter()
                .any(|r| r.starts_with("entry point pods app=traefik of namespace traefik -> api")),
            "{:?}",
            rows(&set)
        );
    }

    /// Issue #21, item 3: a database already allowed only from the API tier.
    fn isolated_db() -> Vec<Value> {
        vec![
            app(
                "web",
                json!([{"name": "API_URL", "value": "http://api:80"},
                    {"name": "DB_HOST", "value": "db"}]),
                json!([{"containerPort": 8080}]),
            ),
            app(
                "api",
                json!([{"name": "DB_HOST", "value": "db:5432"}]),
                json!([{"containerPort": 80}]),
            ),
            app("db", json!([]), json!([{"containerPort": 5432}])),
            service("api", json!({"app": "api"}), json!([{"port": 80}])),
            service("db", json!({"app": "db"}), json!([{"port": 5432}])),
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": "db-from-api"},
                "spec": {"podSelector": {"matchLabels": {"app": "db"}},
                    "policyTypes": ["Ingress", "Egress"],
                    "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "api"}}}],
                        "ports": [{"port": 5432}]}]}}),
        ]
    }

    #[test]
    fn already_isolated_pods_gain_no_connection_and_what_they_deny_is_said() {
        let set = plan(isolated_db());
        // No new rule selects the database's pods in either direction.
        let db = BTreeMap::from([("app".to_string(), "db".to_string())]);
        for p in &set.policies {
            let spec = p.spec.as_ref().unwrap();
            let sel = spec.pod_selector.clone().unwrap_or_default();
            if crate::model::selector::label_selector_matches(&sel, &db) {
                assert!(spec.ingress.is_none() && spec.egress.is_none(), "{p:?}");
            }
        }
        assert!(!names(&set).contains(&"secfix-ingress-db".to_string()));
        let r = rows(&set);
        // api -> db stays (the existing policy allows it); web -> db is said, with both ends
        // and the policy in the way.
        assert!(
            r.contains(&"evidence Deployment api -> db:5432 [5432/TCP]".to_string()),
            "{r:?}"
        );
        let cut = set
            .flows
            .iter()
            .find(|f| {
                f.kind == FlowKind::Blocked
                    && f.from.text("shop") == "Deployment web"
                    && f.to.text("shop").starts_with("db")
            })
            .unwrap_or_else(|| panic!("{r:?}"));
        assert!(
            cut.note.as_deref().unwrap().contains("db-from-api"),
            "{cut:?}"
        );
        // DNS from the database's pods is denied by its egress isolation: said too.
        assert!(
            r.iter()
                .any(|x| x.starts_with("will be blocked Deployment db -> cluster DNS")),
            "{r:?}"
        );
        assert!(
            set.notes.iter().any(|n| n.contains("db-from-api")),
            "{:?}",
            set.notes
        );
    }

    mod baseline_property {
        use super::*;
        use crate::fix::network_policy::eval::{self, Endpoint};
        use proptest::prelude::*;

        fn sel_strategy() -> impl Strategy<Value = Value> {
            prop_oneof![
                Just(json!({})),
                (0..4usize).prop_map(|i| json!({"matchLabels": {"app": format!("w{i}")}})),
                Just(json!({"matchLabels": {"tier": "x"}})),
                Just(
                    json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["y"]}]})
                ),
                Just(
                    json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["w0", "w1"]}]})
                ),
                Just(json!({"matchExpressions": [{"key": "tier", "operator": "Exists"}]})),
            ]
        }

        fn peer_strategy() -> impl Strategy<Value = Value> {
            prop_oneof![
                sel_strategy().prop_map(|s| json!({"podSelector": s})),
                Just(json!({"ipBlock": {"cidr": "0.0.0.0/0"}})),
                Just(json!({"namespaceSelector": {}})),
            ]
        }

        fn ports_strategy() -> impl Strategy<Value = Value> {
            prop_oneof![
                Just(Value::Null),
                Just(json!([{"port": 80}])),
                Just(json!([{"port": "http"}])),
                Just(json!([{"port": 53, "protocol": "UDP"}])),
            ]
        }

        fn rule_strategy(dir: &'static str) -> impl Strategy<Value = Value> {
            (
                proptest::collection::vec(peer_strategy(), 0..2),
                ports_strategy(),
            )
                .prop_map(move |(peers, ports)| {
                    let mut r = json!({});
                    if !peers.is_empty() {
                        r[dir] = Value::Array(peers);
                    }
                    if !ports.is_null() {
                        r["ports"] = ports;
                    }
                    r
                })
        }

        fn policy_strategy() -> impl Strategy<Value = Value> {
            (
                sel_strategy(),
                prop_oneof![
                    Just(vec!["Ingress"]),
                    Just(vec!["Egress"]),
                    Just(vec!["Ingress", "Egress"])
                ],
                proptest::collection::vec(rule_strategy("from"), 0..2),
                proptest::collection::vec(rule_strategy("to"), 0..2),
            )
                .prop_map(|(sel, types, ingress, egress)| {
                    json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                        "metadata": {"name": "old"},
                        "spec": {"podSelector": sel, "policyTypes": types,
                            "ingress": ingress, "egress": egress}})
                })
        }

        /// A workload: tier label, calls (service index, with port), service type.
        type Gen = (Option<bool>, Vec<(usize, bool)>, u8);

        fn workload_strategy() -> impl Strategy<Value = Gen> {
            (
                proptest::option::of(any::<bool>()),
                proptest::collection::vec((0..4usize, any::<bool>()), 0..3),
                0..4u8,
            )
        }

        fn world_of(ws: &[Gen], old: &[Value]) -> Vec<Value> {
            let n = ws.len();
            let mut objs = Vec::new();
            for (i, (tier, calls, svc)) in ws.iter().enumerate() {
                let env: Vec<Value> = calls
                    .iter()
                    .filter(|(j, _)| *j < n)
                    .enumerate()
                    .map(|(k, (j, port))| {
                        let v = if *port {
                            format!("s{j}:80")
                        } else {
                            format!("s{j}")
                        };
                        json!({"name": format!("S{k}_HOST"), "value": v})
                    })
                    .collect();
                let mut d = app(
                    &format!("w{i}"),
                    Value::Array(env),
                    json!([{"containerPort": 80}, {"name": "http", "containerPort": 8080}]),
                );
                if let Some(t) = tier {
                    d["spec"]["template"]["metadata"]["labels"]["tier"] =
                        if *t { "x" } else { "y" }.into();
                }
                objs.push(d);
                match svc {
                    0 => {}
                    1 => objs.push(service(
                        &format!("s{i}"),
                        json!({"app": format!("w{i}")}),
                        json!([{"port": 80}]),
                    )),
                    2 => objs.push(service(
                        &format!("s{i}"),
                        json!({"app": format!("w{i}")}),
                        json!([{"port": 80, "targetPort": "http"}]),
                    )),
                    _ => {
                        let mut s = service(
                            &format!("s{i}"),
                            json!({"app": format!("w{i}")}),
                            json!([{"port": 80}]),
                        );
                        s["spec"]["type"] = "LoadBalancer".into();
                        objs.push(s);
                    }
                }
            }
            for (k, p) in old.iter().enumerate() {
                let mut p = p.clone();
                p["metadata"]["name"] = format!("old-{k}").into();
                objs.push(p);
            }
            objs
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            #[test]
            fn old_and_new_never_allow_what_old_denied(
                ws in proptest::collection::vec(workload_strategy(), 1..4),
                old in proptest::collection::vec(policy_strategy(), 0..3),
            ) {
                let w = world(world_of(&ws, &old));
                let mut directions: BTreeSet<Direction> = [Direction::Ingress, Direction::Egress].into();
                for p in &w.policies {
                    for d in crate::fix::network_policy::catch_all_directions(p) {
                        directions.remove(&d);
                    }
                }
                let d: Vec<Direction> = directions.into_iter().collect();
                let sets = plan_with(&w, &[("shop", &d)], &[], &dns());
                let mut all = w.policies.clone();
                for s in &sets {
                    all.extend(s.policies.iter().cloned());
                }
                let labels: eval::NamespaceLabels = ["shop", "kube-system"]
                    .into_iter()
                    .map(|n| (n.to_string(), BTreeMap::from([(NAMESPACE_NAME_LABEL.to_string(), n.to_string())])))
                    .collect();
                let mut eps: Vec<Endpoint> = w
                    .workloads
                    .iter()
                    .map(|x| Endpoint::Pod(baseline::pod_of(x)))
                    .collect();
                eps.push(Endpoint::Ip("203.0.113.9".parse().unwrap()));
                eps.push(Endpoint::Pod(eval::Pod {
                    namespace: "kube-system".into(),
                    labels: BTreeMap::from([("k8s-app".to_string(), "kube-dns".to_string())]),
                    named_ports: Vec::new(),
                }));
                for a in &eps {
                    for b in &eps {
                        for (n, proto) in [(80, "TCP"), (8080, "TCP"), (53, "UDP"), (5432, "TCP")] {
                            let port = eval::Port { number: n, protocol: proto };
                            if eval::allows(&all, &labels, a, b, port) {
                                prop_assert!(
                                    eval::allows(&w.policies, &labels, a, b, port),
                                    "{a:?} -> {b:?} {n}/{proto} newly allowed by {}",
                                    serde_json::to_string(&all).unwrap()
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn only_the_unisolated_directions_get_policies() {
        let w = world(shop());
        let set = plan_with(&w, &[("shop", &[Direction::Ingress])], &[], &dns()).remove(0);
        assert_eq!(names(&set), ["secfix-default-deny", "secfix-ingress-cart"]);
        assert_eq!(
            pol(&set, "secfix-default-deny")["spec"]["policyTypes"],
            json!(["Ingress"])
        );
        let set = plan_with(&w, &[("shop", &[Direction::Egress])], &[], &dns()).remove(0);
        assert_eq!(
            names(&set),
            ["secfix-default-deny", "secfix-egress-deployment-web"]
        );
    }

    #[test]
    fn names_are_deterministic_and_avoid_taken_ones() {
        let w = world(shop());
        let a = plan_with(
            &w,
            &[("shop", BOTH)],
            &[
                ("shop", "secfix-default-deny"),
                ("shop", "secfix-ingress-cart"),
                ("shop", "secfix-ingress-cart-2"),
            ],
            &dns(),
        )
        .remove(0);
        assert_eq!(
            names(&a),
            [
                "secfix-default-deny-2",
                "secfix-ingress-cart-3",
                "secfix-egress-deployment-web"
            ]
        );
        let b = plan_with(
            &w,
            &[("shop", BOTH)],
            &[
                ("shop", "secfix-default-deny"),
                ("shop", "secfix-ingress-cart"),
                ("shop", "secfix-ingress-cart-2"),
            ],
            &dns(),
        )
        .remove(0);
        assert_eq!(format!("{:?}", a.policies), format!("{:?}", b.policies));
    }

    #[test]
    fn pods_without_labels_are_said() {
        let objs = vec![
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug"},
                "spec": {"containers": [{"name": "c", "env": [{"name": "CART_ADDR", "value": "cart:7070"}]}]}}),
            app("cart", json!([]), json!([{"containerPort": 7070}])),
            service("cart", json!({"app": "cart"}), json!([{"port": 7070}])),
        ];
        let set = plan(objs);
        assert!(
            set.notes
                .iter()
                .any(|n| n.contains("the pods of Pod debug have no labels")),
            "{:?}",
            set.notes
        );
    }

    #[test]
    fn flow_rows_say_caller_service_port_and_evidence() {
        let mut objs = shop();
        objs.push(app("redis", json!([]), json!([{"containerPort": 6379}])));
        objs.push(service(
            "redis",
            json!({"app": "redis"}),
            json!([{"port": 6379}]),
        ));
        objs[0]["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "PAY_URL", "value": "https://pay.example.com"}));
        let p = plan(objs);
        let rows = flow_rows(&p.namespace, &p.flows);
        let text: Vec<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "{} | {} | {} | {} | {}",
                    r.kind, r.from, r.to, r.ports, r.why
                )
            })
            .collect();
        assert_eq!(
            text,
            [
                "evidence | Deployment web | cart:7070 | 9000/TCP | env CART_SERVICE_ADDR of Deployment web",
                "assumed | every pod of the namespace | redis | 6379/TCP | no workload names Service redis",
                "dns | every pod of the namespace | cluster DNS (kube-system/kube-dns) | 53/UDP, 53/TCP | --allow-dns",
                "will be blocked | Deployment redis | cart | 9000/TCP | Deployment redis names no Service; only evidenced callers may reach Service cart: if Deployment redis calls it (an address compiled in or in a baked-in config), it is cut; --allow-flow redis=cart keeps it",
                "will be blocked | Deployment web | pay.example.com |  | env PAY_URL of Deployment web; outside the cluster",
                "will be blocked | anywhere (0.0.0.0/0, ::/0) | Deployment web | 8080/TCP | no Service or evidence opens these ports of Deployment web; callers that reach its pods by address (replicas, sentinels, peers, scrapers from other namespaces) are cut: add a policy, or a Service that lists the port",
            ]
        );
    }

    #[test]
    fn long_names_are_cut_to_a_valid_length_and_stay_distinct() {
        let mut used = BTreeSet::new();
        let a = unique(
            format!("secfix-egress-deployment-{}", "a".repeat(250)),
            &mut used,
        );
        let b = unique(
            format!("secfix-egress-deployment-{}b", "a".repeat(249)),
            &mut used,
        );
        assert!(a.len() <= MAX_NAME, "{}", a.len());
        assert_ne!(a, b);
        let again = unique(
            format!("secfix-egress-deployment-{}", "a".repeat(250)),
            &mut used,
        );
        assert!(again.len() <= MAX_NAME && again.ends_with("-2"), "{again}");
        assert_eq!(unique("short".into(), &mut used), "short");
    }

    /// Issue 20: a caller whose pod selector the graph does not hold got
    /// `LabelSelector::default()`, so its ingress rule admitted, and its egress policy
    /// selected, every pod of the namespace. Now no rule is written for it and a note says so.
    #[test]
    fn missing_selector_is_said_and_never_selects_every_pod() {
        let w = world(shop());
        let cluster = Cluster {
            workloads: &w.workloads,
            services: &w.services,
            ingresses: &w.ingresses,
            routes: &w.routes,
            config_maps: &w.config_maps,
            namespaces: &w.namespaces,
            bound_accounts: &w.bound_accounts,
            policies: &w.policies,
            api_server_calls: &w.api_server_calls,
            ingress_from: &w.ingress_from,
            namespace_labels: w.namespace_labels.as_ref(),
            allow_flows: &w.allow_flows,
        };
        let mut g = Graph::build(&cluster, &[]);
        let web = g
            .selectors
            .keys()
            .find(|r| r.name == "web")
            .cloned()
            .unwrap();
        g.selectors.remove(&web);
        let set = namespace_set(
            &g,
            "shop",
            &BOTH.iter().copied().collect(),
            &BTreeSet::new(),
            &dns(),
        );
        let every_pod = Some(LabelSelector::default());
        for p in &set.policies[1..] {
            let spec = p.spec.as_ref().unwrap();
            assert_ne!(spec.pod_selector, every_pod, "{:?}", p.metadata.name);
            for r in spec.ingress.iter().flatten() {
                for peer in r.from.iter().flatten() {
                    assert_ne!(peer.pod_selector, every_pod, "{:?}", p.metadata.name);
                }
            }
        }
        assert!(!names(&set).contains(&"secfix-egress-deployment-web".to_string()));
        assert!(
            set.notes
                .iter()
                .any(|n| n.starts_with("no pod selector is known for Deployment web")),
            "{:?}",
            set.notes
        );
        assert!(
            set.flows.iter().any(|f| f.kind == FlowKind::Blocked
                && matches!(&f.from, Peer::Workload(w) if *w == web)),
            "{:?}",
            rows(&set)
        );
    }

    /// Issue 20: a `loadBalancerSourceRanges` entry that is not an address block was
    /// dropped without a word, so the rule named only the ranges left (or anywhere, when
    /// none was left), and nobody was told. Now the Service stays open to anywhere and a
    /// note names the range.
    #[test]
    fn unreadable_load_balancer_source_range_is_said_not_dropped() {
        let mut objs = shop();
        objs[2]["spec"]["type"] = "LoadBalancer".into();
        objs[2]["spec"]["loadBalancerSourceRanges"] = json!(["203.0.113.0/24", "office"]);
        let set = plan(objs);
        let ingress = pol(&set, "secfix-ingress-cart")["spec"]["ingress"].to_string();
        assert!(ingress.contains("0.0.0.0/0"), "{ingress}");
        assert!(
            set.notes
                .iter()
                .any(|n| n.contains("loadBalancerSourceRanges office")),
            "{:?}",
            set.notes
        );
    }

    /// Issue 20: a webhook (or aggregated API) Service the API server calls was skipped
    /// without a word when it was not known or had no selector, so its pods lost the call
    /// and nobody was told. Now a note says so.
    #[test]
    fn api_server_call_to_an_unknown_or_selectorless_service_is_said() {
        let mut objs = shop();
        objs.push(
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "manual"},
            "spec": {"ports": [{"port": 443}]}}),
        );
        let mut w = world(objs);
        for service in ["gone", "manual"] {
            w.api_server_calls.push(super::super::graph::ApiServerCall {
                namespace: "shop".into(),
                service: service.into(),
                port: 443,
                why: format!("webhook {service}.example.io"),
            });
        }
        let set = plan_with(&w, &[("shop", BOTH)], &[], &dns()).remove(0);
        for (service, says) in [
            ("gone", "which is not known here"),
            ("manual", "which has no selector"),
        ] {
            assert!(
                set.notes
                    .iter()
                    .any(|n| n.starts_with(&format!("webhook {service}.example.io"))
                        && n.contains(says)),
                "{service}: {:?}",
                set.notes
            );
        }
    }

    /// Issue 20: a ConfigMap a workload reads that is not known here (not in the manifests,
    /// or not read) was skipped without a word, so the calls named only in it were cut and
    /// nobody was told. Now a note says so; an optional one that is absent says nothing.
    #[test]
    fn unknown_config_map_a_workload_reads_is_said() {
        let mut objs = shop();
        objs[0]["spec"]["template"]["spec"]["containers"][0]["env"] = json!([
            {"name": "CART_SERVICE_ADDR", "value": "cart:7070"},
            {"name": "PAY", "valueFrom": {"configMapKeyRef": {"name": "missing", "key": "pay"}}},
            {"name": "OPT", "valueFrom": {"configMapKeyRef": {"name": "maybe", "key": "x", "optional": true}}}
        ]);
        let set = plan(objs);
        let said: Vec<&String> = set
            .notes
            .iter()
            .filter(|n| n.contains("reads ConfigMap"))
            .collect();
        assert_eq!(said.len(), 1, "{:?}", set.notes);
        assert!(
            said[0].starts_with("Deployment web reads ConfigMap missing, which is not known here"),
            "{said:?}"
        );
    }
}
