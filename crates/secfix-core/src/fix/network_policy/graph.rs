//! The flow graph: who calls which Service on which pod ports, from the evidence of
//! [`super::evidence`], plus the flows no workload names (assumed), entry points (load
//! balancers, Ingress and HTTPRoute backends), DNS, and what will be blocked.
//!
//! Pure: the caller passes every object it knows ([`Cluster`]); nothing is read here.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{ConfigMap, Service, ServicePort};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;
use serde_json::Value;

use super::evidence::{self, Form, HostRef, Mention};
use crate::model::{Workload, WorkloadKind};

/// Everything known about the cluster (or the manifests) that the graph is built from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cluster<'a> {
    /// Top-level workloads (objects owned by a scanned controller left out).
    pub workloads: &'a [Workload],
    pub services: &'a [Service],
    /// `networking.k8s.io/v1` Ingresses.
    pub ingresses: &'a [Ingress],
    /// Gateway API routes (`HTTPRoute`, `GRPCRoute`) as JSON: only `backendRefs` are read.
    pub routes: &'a [Value],
    /// ConfigMaps: only keys that an env var of a workload reads are looked at.
    pub config_maps: &'a [ConfigMap],
    /// Namespaces known to exist, besides those of the objects above.
    pub namespaces: &'a [String],
    /// ServiceAccounts (namespace, name) that a RoleBinding or ClusterRoleBinding read with
    /// the manifests grants something: their pods call the Kubernetes API.
    pub bound_accounts: &'a [(String, String)],
    /// The NetworkPolicies that exist: the baseline the new ones never widen.
    pub policies: &'a [k8s_openapi::api::networking::v1::NetworkPolicy],
    /// Services the Kubernetes API server calls (admission webhooks, aggregated APIs, CRD
    /// conversion webhooks).
    pub api_server_calls: &'a [ApiServerCall],
    /// The ingress controllers' pods (`--ingress-from`); known controllers among
    /// `workloads` are found besides.
    pub ingress_from: &'a [PodsRef],
    /// The labels of the namespaces read from a live cluster; `None` offline (manifests
    /// carry no server-set labels: `kubernetes.io/metadata.name` is assumed).
    pub namespace_labels: Option<&'a super::eval::NamespaceLabels>,
    /// Flows the user keeps (`--allow-flow`).
    pub allow_flows: &'a [AllowFlow],
}

/// `--allow-flow FROM=TO[:PORT]`: workload `FROM` (`NAME` or `KIND/NAME`) calls Service `TO`
/// (`NAME` in the workload's namespace, or `NAME.NAMESPACE`), on Service port `PORT` or all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowFlow {
    pub from: String,
    pub to: String,
    pub port: Option<u16>,
}

impl std::fmt::Display for AllowFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "--allow-flow {}={}", self.from, self.to)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for AllowFlow {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!("{s:?}: expected FROM=TO[:PORT] (a workload and a Service, e.g. web=api:8080)")
        };
        let (from, to) = s.split_once('=').ok_or_else(bad)?;
        let (to, port) = match to.rsplit_once(':') {
            Some((t, p)) => (
                t,
                Some(
                    p.parse::<u16>()
                        .ok()
                        .filter(|p| *p > 0)
                        .ok_or_else(|| format!("{s:?}: {p:?} is not a port (1-65535)"))?,
                ),
            ),
            None => (to, None),
        };
        let name_ok = |n: &str| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-./".contains(c))
        };
        if !name_ok(from) || !name_ok(to) || to.contains('/') {
            return Err(bad());
        }
        Ok(AllowFlow {
            from: from.to_string(),
            to: to.to_ascii_lowercase(),
            port,
        })
    }
}

/// Pods of a namespace picked by labels (empty: every pod of it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PodsRef {
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
}

impl std::str::FromStr for PodsRef {
    type Err = String;

    /// `NAMESPACE` or `NAMESPACE/KEY=VALUE[,KEY=VALUE…]`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (ns, labels) = match s.split_once('/') {
            Some((ns, l)) => (ns, Some(l)),
            None => (s, None),
        };
        let label_ok = |t: &str| {
            !t.is_empty()
                && t.len() <= 253
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        };
        if ns.is_empty()
            || ns.len() > 63
            || !ns
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(format!(
                "{s:?}: expected NAMESPACE[/KEY=VALUE,...], and {ns:?} is not a namespace name"
            ));
        }
        let mut map = BTreeMap::new();
        for pair in labels.into_iter().flat_map(|l| l.split(',')) {
            let Some((k, v)) = pair
                .split_once('=')
                .filter(|(k, v)| label_ok(k) && (v.is_empty() || label_ok(v)))
            else {
                return Err(format!("{s:?}: {pair:?} is not KEY=VALUE"));
            };
            map.insert(k.to_string(), v.to_string());
        }
        Ok(PodsRef {
            namespace: ns.to_string(),
            labels: map,
        })
    }
}

/// Pod labels by which known ingress controllers are found among the workloads.
const INGRESS_CONTROLLERS: &[(&str, &str)] = &[
    ("app.kubernetes.io/name", "ingress-nginx"),
    ("app.kubernetes.io/name", "nginx-ingress"),
    ("app", "nginx-ingress"),
    ("app.kubernetes.io/name", "traefik"),
    ("app.kubernetes.io/name", "haproxy-ingress"),
    ("app.kubernetes.io/name", "kong"),
    ("app.kubernetes.io/name", "contour"),
    ("istio", "ingressgateway"),
];

/// Where an entry point's traffic comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntrySource {
    /// Any address.
    Anywhere,
    /// A LoadBalancer's `loadBalancerSourceRanges`.
    Ranges(Vec<Cidr>),
    /// An ingress controller's pods: a known workload.
    Workload(WorkloadRef),
    /// An ingress controller's pods: `--ingress-from`.
    Pods(PodsRef),
}

/// A Service the Kubernetes API server calls: an admission webhook, an aggregated API
/// (`APIService`) or a CRD conversion webhook.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiServerCall {
    pub namespace: String,
    pub service: String,
    /// The Service port (default 443).
    pub port: i32,
    /// "webhook x.example.io of ValidatingWebhookConfiguration x (failurePolicy Fail)", …
    pub why: String,
}

impl ApiServer {
    /// From the Endpoints of Service `default/kubernetes`; `None` when it lists no address.
    pub fn of(ep: &k8s_openapi::api::core::v1::Endpoints) -> Option<ApiServer> {
        let mut addresses = BTreeSet::new();
        let mut ports = BTreeSet::new();
        for sub in ep.subsets.iter().flatten() {
            for a in sub.addresses.iter().flatten() {
                if let Ok(ip) = a.ip.parse::<IpAddr>() {
                    addresses.insert(Cidr {
                        addr: ip,
                        prefix: if ip.is_ipv4() { 32 } else { 128 },
                    });
                }
            }
            for p in sub.ports.iter().flatten() {
                if p.protocol.as_deref().unwrap_or("TCP") == "TCP"
                    && let Ok(n) = u16::try_from(p.port)
                {
                    ports.insert(n);
                }
            }
        }
        (!addresses.is_empty()).then(|| ApiServer {
            addresses: addresses.into_iter().collect(),
            ports: ports.into_iter().collect(),
            source: "Endpoints default/kubernetes".to_string(),
        })
    }

    /// `--api-server CIDR[:PORT]` values, merged: `10.0.0.1`, `10.0.0.0/24:6443`,
    /// `[2001:db8::1]:6443`, `2001:db8::/64`.
    pub fn parse_flag(values: &[String]) -> Result<Option<ApiServer>, String> {
        let mut out = ApiServer {
            source: "--api-server".to_string(),
            ..ApiServer::default()
        };
        for v in values {
            let (cidr, port) = if let Some(rest) = v.strip_prefix('[') {
                let (c, p) = rest
                    .split_once(']')
                    .ok_or_else(|| format!("--api-server {v:?}: missing ']'"))?;
                let p = match p.strip_prefix(':') {
                    Some(p) => Some(p),
                    None if p.is_empty() => None,
                    None => return Err(format!("--api-server {v:?}: expected ']:PORT'")),
                };
                (c, p)
            } else if v.matches(':').count() == 1 {
                let (c, p) = v.split_once(':').unwrap_or((v, ""));
                (c, Some(p))
            } else {
                (v.as_str(), None)
            };
            let cidr: Cidr = cidr.parse().map_err(|e| format!("--api-server: {e}"))?;
            if let Some(p) = port {
                let n: u16 =
                    p.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        format!("--api-server {v:?}: {p:?} is not a port (1-65535)")
                    })?;
                if !out.ports.contains(&n) {
                    out.ports.push(n);
                }
            }
            if !out.addresses.contains(&cidr) {
                out.addresses.push(cidr);
            }
        }
        Ok((!out.addresses.is_empty()).then_some(out))
    }
}

/// The Services `obj` makes the API server call (empty for other kinds).
pub fn api_server_calls(obj: &Value) -> Vec<ApiServerCall> {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let call = |svc: Option<&Value>, why: String| -> Option<ApiServerCall> {
        let svc = svc?;
        Some(ApiServerCall {
            namespace: svc.get("namespace")?.as_str()?.to_string(),
            service: svc.get("name")?.as_str()?.to_string(),
            port: svc
                .get("port")
                .and_then(Value::as_i64)
                .and_then(|p| i32::try_from(p).ok())
                .unwrap_or(443),
            why,
        })
    };
    match kind {
        "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration" => obj
            .get("webhooks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|w| {
                let hook = w.get("name").and_then(Value::as_str).unwrap_or("");
                let policy = w
                    .get("failurePolicy")
                    .and_then(Value::as_str)
                    .unwrap_or("Fail");
                call(
                    w.pointer("/clientConfig/service"),
                    format!("webhook {hook} of {kind} {name} (failurePolicy {policy})"),
                )
            })
            .collect(),
        "APIService" => call(
            obj.pointer("/spec/service"),
            format!("APIService {name} (an aggregated API)"),
        )
        .into_iter()
        .collect(),
        "CustomResourceDefinition" => {
            let webhook = obj
                .pointer("/spec/conversion/strategy")
                .and_then(Value::as_str)
                == Some("Webhook");
            let svc = obj
                .pointer("/spec/conversion/webhook/clientConfig/service")
                .or_else(|| obj.pointer("/spec/conversion/webhookClientConfig/service"));
            if !webhook {
                return Vec::new();
            }
            call(
                svc,
                format!("conversion webhook of CustomResourceDefinition {name}"),
            )
            .into_iter()
            .collect()
        }
        _ => Vec::new(),
    }
}

/// The Kubernetes API server's addresses and ports, as pods reach them (the `kubernetes`
/// Service's Endpoints in `default`, or `--api-server`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiServer {
    pub addresses: Vec<Cidr>,
    /// Empty: every port.
    pub ports: Vec<u16>,
    /// Where they come from ("Endpoints default/kubernetes", "--api-server").
    pub source: String,
}

/// An IP address block (`--allow-egress`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        fn bits(ip: IpAddr) -> (u128, u8) {
            match ip {
                IpAddr::V4(v) => (u128::from(u32::from(v)), 32),
                IpAddr::V6(v) => (u128::from(v), 128),
            }
        }
        let (a, width) = bits(self.addr);
        let (b, width_b) = bits(ip);
        if width != width_b {
            return false;
        }
        let shift = u32::from(width - self.prefix);
        shift >= 128 || (a >> shift) == (b >> shift)
    }
}

impl std::str::FromStr for Cidr {
    type Err = String;

    /// `10.0.0.0/8`, `2001:db8::/32`; a bare address is a /32 (/128). Host bits must be 0.
    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address block (like 10.0.0.0/8)"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: prefix length must be 0 to {max}"))?,
            None => max,
        };
        let cidr = Cidr { addr, prefix };
        let network = cidr.network();
        if network != addr {
            return Err(format!(
                "{s:?} has host bits set; did you mean {network}/{prefix}?"
            ));
        }
        Ok(cidr)
    }
}

impl Cidr {
    fn network(&self) -> IpAddr {
        match self.addr {
            IpAddr::V4(v) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V4((u32::from(v) & mask).into())
            }
            IpAddr::V6(v) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V6((u128::from(v) & mask).into())
            }
        }
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A workload, by namespace, kind and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct WorkloadRef {
    pub namespace: String,
    pub kind: WorkloadKind,
    pub name: String,
}

impl WorkloadRef {
    pub fn of(w: &Workload) -> Self {
        WorkloadRef {
            namespace: w.namespace().to_string(),
            kind: w.kind,
            name: w.name().to_string(),
        }
    }
}

impl std::fmt::Display for WorkloadRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

/// A pod port as a NetworkPolicy matches it: a number, or a container port's name that
/// no known pod declares.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(untagged)]
pub enum PortValue {
    Number(i32),
    Name(String),
}

/// A pod port and protocol.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PodPort {
    pub port: PortValue,
    pub protocol: String,
}

impl PodPort {
    fn tcp(n: i32) -> Self {
        PodPort {
            port: PortValue::Number(n),
            protocol: "TCP".into(),
        }
    }

    pub(crate) fn to_int_or_string(&self) -> IntOrString {
        match &self.port {
            PortValue::Number(n) => IntOrString::Int(*n),
            PortValue::Name(s) => IntOrString::String(s.clone()),
        }
    }
}

impl std::fmt::Display for PodPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.port {
            PortValue::Number(n) => write!(f, "{n}/{}", self.protocol),
            PortValue::Name(s) => write!(f, "{s}/{}", self.protocol),
        }
    }
}

/// `8080/TCP, 9090/TCP`, or `all ports` for an empty list.
pub(crate) fn ports_text(ports: &[PodPort]) -> String {
    if ports.is_empty() {
        "all ports".into()
    } else {
        ports
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One end of a flow.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Peer {
    /// The pods of a workload.
    Workload(WorkloadRef),
    /// Every pod of a namespace.
    Namespace { namespace: String },
    /// The pods behind a Service; `port` is the Service port the evidence named.
    #[serde(rename_all = "camelCase")]
    Service {
        namespace: String,
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        port: Option<i32>,
    },
    /// Any address (`0.0.0.0/0` and `::/0`).
    Anywhere,
    /// A destination outside the cluster, or a name that is no Service. `host` is `None`
    /// when it came from a ConfigMap, whose values are never shown.
    Host {
        #[serde(skip_serializing_if = "Option::is_none")]
        host: Option<String>,
    },
    /// An address block (`--allow-egress`).
    Cidr { cidr: Cidr },
    /// The cluster DNS pods (`kube-system`, `k8s-app: kube-dns`).
    ClusterDns,
    /// The Kubernetes API server, at these addresses (empty: not known).
    ApiServer { addresses: Vec<Cidr> },
    /// Pods of a namespace picked by labels (`--ingress-from`).
    Pods(PodsRef),
    /// Address blocks (a LoadBalancer's `loadBalancerSourceRanges`).
    Cidrs { cidrs: Vec<Cidr> },
}

impl Peer {
    /// How the flow table shows it, from `namespace`'s point of view.
    pub fn text(&self, namespace: &str) -> String {
        match self {
            Peer::Workload(w) if w.namespace == namespace => w.to_string(),
            Peer::Workload(w) => format!("{w} (namespace {})", w.namespace),
            Peer::Namespace { namespace: n } if n == namespace => {
                "every pod of the namespace".into()
            }
            Peer::Namespace { namespace: n } => format!("every pod of namespace {n}"),
            Peer::Service {
                namespace: n,
                name,
                port,
            } => {
                let mut s = name.clone();
                if n != namespace {
                    s = format!("{s}.{n}");
                }
                if let Some(p) = port {
                    s = format!("{s}:{p}");
                }
                s
            }
            Peer::Anywhere => "anywhere (0.0.0.0/0, ::/0)".into(),
            Peer::Host { host: Some(h) } => h.clone(),
            Peer::Host { host: None } => "a host (value not shown)".into(),
            Peer::Cidr { cidr } => cidr.to_string(),
            Peer::ClusterDns => "cluster DNS (kube-system/kube-dns)".into(),
            Peer::Pods(p) if p.labels.is_empty() && p.namespace == namespace => {
                "every pod of the namespace".into()
            }
            Peer::Pods(p) if p.labels.is_empty() => {
                format!("every pod of namespace {}", p.namespace)
            }
            Peer::Pods(p) => format!(
                "pods {} of namespace {}",
                p.labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(","),
                p.namespace
            ),
            Peer::Cidrs { cidrs } => cidrs
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            Peer::ApiServer { addresses } if addresses.is_empty() => {
                "the Kubernetes API server".into()
            }
            Peer::ApiServer { addresses } => format!(
                "the Kubernetes API server ({})",
                addresses
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// What a flow is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlowKind {
    /// Ingress from anywhere to an entry point (LoadBalancer/NodePort Service, Ingress or
    /// HTTPRoute backend).
    EntryPoint,
    /// A workload names the Service.
    Evidence,
    /// No workload names the Service: every pod of its namespace may call it.
    Assumed,
    /// DNS to the cluster DNS pods.
    Dns,
    /// `--allow-egress`.
    AllowedEgress,
    /// The Kubernetes API server calls a webhook or aggregated API, or a workload calls the
    /// API server.
    ApiServer,
    /// Named by a workload but not allowed: outside the cluster, or no pods to allow.
    Blocked,
}

impl FlowKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FlowKind::EntryPoint => "entry point",
            FlowKind::Evidence => "evidence",
            FlowKind::Assumed => "assumed",
            FlowKind::Dns => "dns",
            FlowKind::AllowedEgress => "allowed egress",
            FlowKind::ApiServer => "api server",
            FlowKind::Blocked => "will be blocked",
        }
    }
}

/// One row of the flow table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Flow {
    pub kind: FlowKind,
    pub from: Peer,
    pub to: Peer,
    /// The pod ports allowed (a Service's target ports); empty means all ports.
    pub ports: Vec<PodPort>,
    /// Why: "env CART_SERVICE_ADDR of Deployment frontend", "Service frontend-external type
    /// LoadBalancer", …
    pub evidence: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A Service as the graph sees it.
#[derive(Debug, Clone)]
pub struct Svc<'a> {
    pub namespace: String,
    pub name: String,
    /// `None` for a Service without selector (or an empty one) and for `ExternalName`.
    pub selector: Option<BTreeMap<String, String>>,
    pub type_: String,
    pub headless: bool,
    pub external_name: Option<String>,
    pub ports: Vec<SvcPort>,
    /// Known workloads whose pods the selector picks.
    pub backing: Vec<&'a Workload>,
}

/// One port of a Service with the pod ports it leads to.
#[derive(Debug, Clone)]
pub struct SvcPort {
    pub port: i32,
    pub name: Option<String>,
    pub targets: Vec<PodPort>,
}

impl Svc<'_> {
    /// Every pod port of the Service (empty: a headless Service without ports, meaning
    /// the ports the backing containers declare, else all).
    pub(crate) fn all_targets(&self) -> Vec<PodPort> {
        if self.ports.is_empty() {
            return container_ports(&self.backing);
        }
        dedup(self.ports.iter().flat_map(|p| p.targets.clone()))
    }

    pub fn key(&self) -> SvcKey {
        (self.namespace.clone(), self.name.clone())
    }
}

/// `(namespace, name)` of a Service.
pub(crate) type SvcKey = (String, String);

fn dedup(it: impl IntoIterator<Item = PodPort>) -> Vec<PodPort> {
    let set: BTreeSet<PodPort> = it.into_iter().collect();
    set.into_iter().collect()
}

pub(crate) fn container_ports(ws: &[&Workload]) -> Vec<PodPort> {
    dedup(ws.iter().flat_map(|w| {
        all_containers(w)
            .flat_map(|c| c.ports.iter().flatten())
            .map(|p| PodPort {
                port: PortValue::Number(p.container_port),
                protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
            })
            .collect::<Vec<_>>()
    }))
}

fn all_containers(w: &Workload) -> impl Iterator<Item = &k8s_openapi::api::core::v1::Container> {
    w.spec
        .init_containers
        .iter()
        .flatten()
        .chain(w.spec.containers.iter())
}

/// The pod ports a Service port leads to: its `targetPort` (default: `port`); a named
/// target port is resolved through the container ports of the backing pods (one number
/// per distinct port), and kept as a name when no known pod declares it.
fn resolve_targets(sp: &ServicePort, backing: &[&Workload]) -> Vec<PodPort> {
    let protocol = sp.protocol.clone().unwrap_or_else(|| "TCP".into());
    // The API server defaults an unset, zero or empty `targetPort` to `port`; manifests
    // read with `-f` may still hold them.
    let target = sp.target_port.as_ref().filter(|t| {
        !matches!(t, IntOrString::Int(0)) && !matches!(t, IntOrString::String(s) if s.is_empty())
    });
    match target {
        None => vec![PodPort {
            port: PortValue::Number(sp.port),
            protocol,
        }],
        Some(IntOrString::Int(n)) => vec![PodPort {
            port: PortValue::Number(*n),
            protocol,
        }],
        Some(IntOrString::String(name)) => {
            if let Ok(n) = name.parse::<i32>() {
                return vec![PodPort {
                    port: PortValue::Number(n),
                    protocol,
                }];
            }
            let found = dedup(backing.iter().flat_map(|w| {
                all_containers(w)
                    .flat_map(|c| c.ports.iter().flatten())
                    .filter(|p| p.name.as_deref() == Some(name.as_str()))
                    .map(|p| PodPort {
                        port: PortValue::Number(p.container_port),
                        protocol: p.protocol.clone().unwrap_or_else(|| protocol.clone()),
                    })
                    .collect::<Vec<_>>()
            }));
            if found.is_empty() {
                vec![PodPort {
                    port: PortValue::Name(name.clone()),
                    protocol,
                }]
            } else {
                found
            }
        }
    }
}

impl<'a> Svc<'a> {
    pub fn of(s: &Service, workloads: &'a [Workload]) -> Svc<'a> {
        let namespace = s
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let spec = s.spec.clone().unwrap_or_default();
        let type_ = spec.type_.clone().unwrap_or_else(|| "ClusterIP".into());
        let selector = spec
            .selector
            .clone()
            .filter(|m| !m.is_empty() && type_ != "ExternalName");
        let backing: Vec<&Workload> = match &selector {
            Some(sel) => workloads
                .iter()
                .filter(|w| w.namespace() == namespace)
                .filter(|w| sel.iter().all(|(k, v)| w.pod_labels.get(k) == Some(v)))
                .collect(),
            None => Vec::new(),
        };
        let ports = spec
            .ports
            .iter()
            .flatten()
            .map(|p| SvcPort {
                port: p.port,
                name: p.name.clone(),
                targets: resolve_targets(p, &backing),
            })
            .collect();
        Svc {
            namespace,
            name: s.metadata.name.clone().unwrap_or_default(),
            selector,
            headless: spec.cluster_ip.as_deref() == Some("None"),
            external_name: spec
                .external_name
                .clone()
                .filter(|_| type_ == "ExternalName"),
            type_,
            ports,
            backing,
        }
    }

    /// The pod ports a client that connects to `port` (of the Service, or of the pods for
    /// a headless one) reaches. `None`: the port matches nothing.
    pub(crate) fn ports_for(&self, port: u16) -> Option<Vec<PodPort>> {
        let p = i32::from(port);
        let by_service: Vec<PodPort> = dedup(
            self.ports
                .iter()
                .filter(|sp| sp.port == p)
                .flat_map(|sp| sp.targets.clone()),
        );
        if !by_service.is_empty() {
            return Some(by_service);
        }
        let by_target: Vec<PodPort> = self
            .all_targets()
            .into_iter()
            .filter(|t| t.port == PortValue::Number(p))
            .collect();
        if !by_target.is_empty() {
            return Some(by_target);
        }
        if self.headless {
            // Clients of a headless Service connect to the pods themselves.
            return Some(vec![PodPort::tcp(p)]);
        }
        None
    }
}

/// What a host names, seen from a workload in `namespace`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A known Service (by index into [`Graph::services`]).
    Service(usize),
    /// One pod of a known headless Service (`web-0.web`): clients reach the pod itself.
    Pod(usize),
    /// A Service in a namespace known to exist, but the Service itself is not known.
    UnknownService { namespace: String, name: String },
    /// No Service of the workload's namespace has this one-label name.
    NoSuchService,
    /// Outside the cluster (a name with dots that is no Service, an IP address).
    External,
}

/// The graph for a set of namespaces.
#[derive(Debug)]
pub struct Graph<'a> {
    /// Every workload known.
    pub workloads: &'a [Workload],
    /// The NetworkPolicies that exist.
    pub policies: &'a [k8s_openapi::api::networking::v1::NetworkPolicy],
    /// The labels of the namespaces read live (`None` offline).
    pub read_namespace_labels: Option<&'a super::eval::NamespaceLabels>,
    pub services: Vec<Svc<'a>>,
    by_key: BTreeMap<SvcKey, usize>,
    namespaces: BTreeSet<String>,
    /// Evidenced calls: (caller, target) → (pod ports, evidence). Target `Service` or
    /// `UnknownService`.
    pub calls: BTreeMap<WorkloadRef, BTreeMap<Callee, Call>>,
    /// Callers of each known Service.
    pub callers: BTreeMap<usize, BTreeMap<WorkloadRef, Call>>,
    /// Entry points: Service index → where from → ports and why.
    pub entry_points: BTreeMap<usize, BTreeMap<EntrySource, Call>>,
    /// Entry points the cluster would not route (a cross-namespace route backend without a
    /// ReferenceGrant), and other entry flows to say: (namespace, flow).
    pub refused: Vec<(String, Flow)>,
    /// Ingress controllers: where Ingress and Gateway backends' traffic comes from.
    pub controllers: Vec<EntrySource>,
    /// `--allow-flow` values that matched nothing.
    pub unmatched_flows: Vec<String>,
    /// Services the API server calls: Service index → ports and why.
    pub api_server_callees: BTreeMap<usize, Call>,
    /// Workloads that evidently call the API server, and why.
    pub api_clients: BTreeMap<WorkloadRef, BTreeSet<String>>,
    /// Blocked destinations per caller.
    pub blocked: Vec<Flow>,
    /// The pods of each caller: its selector.
    pub selectors: BTreeMap<WorkloadRef, (LabelSelector, bool)>,
    /// Notes about the graph (ports that match no Service port, …), with the namespace of
    /// the workload they are about.
    pub notes: Vec<(String, String)>,
}

/// What a caller calls.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Callee {
    Service(usize),
    /// Every pod of a namespace (a Service there that is not known).
    Namespace {
        namespace: String,
        name: String,
    },
}

/// The ports and evidence of one call (or entry point).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Call {
    /// Empty: all ports.
    pub ports: BTreeSet<PodPort>,
    /// Some evidence allowed every port (no port named).
    pub all_ports: bool,
    /// The Service ports named (for the table).
    pub service_ports: BTreeSet<i32>,
    pub evidence: BTreeSet<String>,
}

impl Call {
    fn add(&mut self, ports: Option<Vec<PodPort>>, service_port: Option<i32>, evidence: String) {
        match ports {
            Some(p) if !p.is_empty() => self.ports.extend(p),
            _ => self.all_ports = true,
        }
        self.service_ports.extend(service_port);
        self.evidence.insert(evidence);
    }

    /// The ports a rule lists: empty when every port is allowed.
    pub(crate) fn rule_ports(&self) -> Vec<PodPort> {
        if self.all_ports {
            Vec::new()
        } else {
            self.ports.iter().cloned().collect()
        }
    }
}

/// The selector of a workload's pods: its own `spec.selector` where it has one, else its
/// pod template's labels. The flag is false when the pods have no labels at all (the
/// selector then picks every pod of the namespace).
pub(crate) fn pod_selector(w: &Workload) -> (LabelSelector, bool) {
    let own = match w.kind {
        WorkloadKind::Deployment
        | WorkloadKind::StatefulSet
        | WorkloadKind::DaemonSet
        | WorkloadKind::ReplicaSet
        | WorkloadKind::Job => w
            .raw
            .pointer("/spec/selector")
            .and_then(|s| serde_json::from_value::<LabelSelector>(s.clone()).ok()),
        WorkloadKind::ReplicationController => w
            .raw
            .pointer("/spec/selector")
            .and_then(|s| serde_json::from_value::<BTreeMap<String, String>>(s.clone()).ok())
            .map(|m| LabelSelector {
                match_labels: Some(m),
                match_expressions: None,
            }),
        WorkloadKind::CronJob | WorkloadKind::Pod => None,
        // Other controllers: a label selector (Argo Rollout) or a plain map (OpenShift
        // DeploymentConfig), where the template is the controller's own.
        WorkloadKind::Custom {
            template: crate::model::workload::TemplatePath::Template,
            ..
        } => w.raw.pointer("/spec/selector").and_then(|s| {
            serde_json::from_value::<LabelSelector>(s.clone())
                .ok()
                .filter(|l| l.match_labels.is_some() || l.match_expressions.is_some())
                .or_else(|| {
                    serde_json::from_value::<BTreeMap<String, String>>(s.clone())
                        .ok()
                        .map(|m| LabelSelector {
                            match_labels: Some(m),
                            match_expressions: None,
                        })
                })
        }),
        WorkloadKind::Custom { .. } => None,
    };
    let non_empty = |s: &LabelSelector| {
        s.match_labels.as_ref().is_some_and(|m| !m.is_empty())
            || s.match_expressions.as_ref().is_some_and(|e| !e.is_empty())
    };
    if let Some(s) = own.filter(non_empty) {
        return (s, true);
    }
    if w.pod_labels.is_empty() {
        return (LabelSelector::default(), false);
    }
    (
        LabelSelector {
            match_labels: Some(w.pod_labels.clone()),
            match_expressions: None,
        },
        true,
    )
}

/// One mention of a host as the graph records it: who, where, and the host as it may be
/// shown (`None`: a value that is never shown).
struct Seen {
    caller: WorkloadRef,
    why: String,
    host: Option<String>,
}

impl Seen {
    /// The mention as a flow that will be blocked, and why.
    fn blocked(&self, note: String) -> Flow {
        Flow {
            kind: FlowKind::Blocked,
            from: Peer::Workload(self.caller.clone()),
            to: Peer::Host {
                host: self.host.clone(),
            },
            ports: Vec::new(),
            evidence: vec![self.why.clone()],
            note: Some(note),
        }
    }
}

/// A mention of a host outside the cluster: allowed when inside an `--allow-egress`
/// block, else blocked.
fn external_flow(seen: &Seen, r: &HostRef, allow_egress: &[Cidr]) -> Flow {
    if let Some(ip) = r.ip()
        && let Some(c) = allow_egress.iter().find(|c| c.contains(ip))
    {
        return Flow {
            kind: FlowKind::AllowedEgress,
            note: Some(format!("inside --allow-egress {c}")),
            ..seen.blocked(String::new())
        };
    }
    seen.blocked("outside the cluster".to_string())
}

/// Why a flow to the Kubernetes API server will be blocked when its address is not known.
pub(crate) const API_SERVER_NOTE: &str = "the Kubernetes API server is not a pod and its address is not known: \
     pass --api-server CIDR[:PORT] (a live run reads it from the Endpoints of Service \
     default/kubernetes)";

/// `kubernetes.default`: the Service every cluster has for its API server.
fn is_api_server(namespace: &str, name: &str) -> bool {
    namespace == "default" && name == "kubernetes"
}

/// A workload that runs as a ServiceAccount of its own, or as one a RoleBinding grants
/// something to (`bound`), with the token mounted evidently calls the Kubernetes API
/// (controllers, operators, CI runners, Spring Cloud Kubernetes): why, or `None`.
fn api_client(w: &Workload, bound: &[(String, String)]) -> Option<String> {
    let spec = &w.spec;
    let account = spec
        .service_account_name
        .as_deref()
        .or(spec.service_account.as_deref())
        .filter(|a| !a.is_empty())
        .unwrap_or("default");
    let granted = bound.contains(&(w.namespace().to_string(), account.to_string()));
    if (account == "default" && !granted) || spec.automount_service_account_token == Some(false) {
        return None;
    }
    let caller = WorkloadRef::of(w);
    Some(if granted {
        format!("{caller} runs as ServiceAccount {account}, which a RoleBinding grants access")
    } else {
        format!("{caller} runs as ServiceAccount {account} with its token mounted")
    })
}

impl<'a> Graph<'a> {
    /// Builds the graph of everything in `cluster`. `allow_egress` decides whether an IP
    /// destination is allowed or will be blocked.
    pub fn build(cluster: &Cluster<'a>, allow_egress: &[Cidr]) -> Graph<'a> {
        let services: Vec<Svc<'a>> = cluster
            .services
            .iter()
            .map(|s| Svc::of(s, cluster.workloads))
            .collect();
        let by_key = services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.key(), i))
            .collect();
        let mut namespaces: BTreeSet<String> = cluster.namespaces.iter().cloned().collect();
        namespaces.extend(cluster.workloads.iter().map(|w| w.namespace().to_string()));
        namespaces.extend(services.iter().map(|s| s.namespace.clone()));
        let mut g = Graph {
            workloads: cluster.workloads,
            policies: cluster.policies,
            read_namespace_labels: cluster.namespace_labels,
            services,
            by_key,
            namespaces,
            calls: BTreeMap::new(),
            callers: BTreeMap::new(),
            entry_points: BTreeMap::new(),
            refused: Vec::new(),
            controllers: Vec::new(),
            unmatched_flows: Vec::new(),
            api_server_callees: BTreeMap::new(),
            api_clients: BTreeMap::new(),
            blocked: Vec::new(),
            selectors: BTreeMap::new(),
            notes: Vec::new(),
        };
        for w in cluster.workloads {
            g.selectors.insert(WorkloadRef::of(w), pod_selector(w));
            for m in evidence::mentions(w, cluster.config_maps) {
                g.add_mention(w, &m, allow_egress);
            }
            for name in evidence::unknown_config_maps(w, cluster.config_maps) {
                g.notes.push((
                    w.namespace().to_string(),
                    format!(
                        "{} reads ConfigMap {name}, which is not known here: the hosts it \
                         names are not seen, so calls to them are cut unless other evidence \
                         names them",
                        WorkloadRef::of(w)
                    ),
                ));
            }
            if let Some(why) = api_client(w, cluster.bound_accounts) {
                g.api_clients
                    .entry(WorkloadRef::of(w))
                    .or_default()
                    .insert(why);
            }
        }
        g.add_allowed_flows(cluster);
        g.find_controllers(cluster);
        g.add_entry_points(cluster);
        g.add_api_server_callees(cluster);
        g.blocked.sort();
        g.blocked.dedup();
        g
    }

    /// Services in namespaces outside `cluster` that its workloads may name (`redis.data`,
    /// `db.data.svc…`, `web-0.web.data`): a live run reads them (`GET`) so their pods and
    /// ports are known, then builds again. `(namespace, name)`, sorted.
    pub fn wanted_services(cluster: &Cluster<'_>) -> BTreeSet<SvcKey> {
        let g = Graph::build(cluster, &[]);
        let mut out = BTreeSet::new();
        for w in cluster.workloads {
            for m in evidence::mentions(w, cluster.config_maps) {
                let host = &m.host.host;
                if m.host.ip().is_some() {
                    continue;
                }
                let labels: Vec<&str> = host.split('.').collect();
                let key = match labels.iter().position(|l| *l == "svc") {
                    Some(2) => Some((labels[1], labels[0])),
                    Some(3) => Some((labels[2], labels[1])),
                    Some(_) => None,
                    None => match labels.as_slice() {
                        [a, b] => Some((*b, *a)),
                        [_, b, c] => Some((*c, *b)),
                        _ => None,
                    },
                };
                let Some((ns, name)) = key else { continue };
                if ns != w.namespace() && g.lookup(ns, name).is_none() {
                    out.insert((ns.to_string(), name.to_string()));
                }
            }
        }
        out
    }

    /// The labels of each known namespace, as the evaluator reads them: those read live,
    /// else `kubernetes.io/metadata.name` (set by servers from 1.21 on).
    pub(crate) fn namespace_labels(&self) -> super::eval::NamespaceLabels {
        let kube_system = "kube-system".to_string();
        let mut out: super::eval::NamespaceLabels = self
            .namespaces
            .iter()
            .chain(std::iter::once(&kube_system))
            .filter(|n| self.namespace_selectable(n))
            .map(|n| {
                (
                    n.clone(),
                    BTreeMap::from([(super::render::NAMESPACE_NAME_LABEL.to_string(), n.clone())]),
                )
            })
            .collect();
        if let Some(read) = self.read_namespace_labels {
            for (n, l) in read {
                out.insert(n.clone(), l.clone());
            }
        }
        out
    }

    /// Whether a rule can select namespace `n` by `kubernetes.io/metadata.name`: offline
    /// always (assumed); live when it carries that label, or, not read, when no namespace
    /// read lacks it (a server before 1.21 sets it on none).
    pub(crate) fn namespace_selectable(&self, n: &str) -> bool {
        let Some(read) = self.read_namespace_labels else {
            return true;
        };
        match read.get(n) {
            Some(l) => {
                l.get(super::render::NAMESPACE_NAME_LABEL)
                    .map(String::as_str)
                    == Some(n)
            }
            None => read
                .iter()
                .all(|(m, l)| l.get(super::render::NAMESPACE_NAME_LABEL) == Some(m)),
        }
    }

    /// The known Service `namespace/name`.
    pub(crate) fn service(&self, namespace: &str, name: &str) -> Option<&Svc<'a>> {
        self.lookup(namespace, name).map(|i| &self.services[i])
    }

    fn lookup(&self, namespace: &str, name: &str) -> Option<usize> {
        self.by_key
            .get(&(namespace.to_string(), name.to_string()))
            .copied()
    }

    /// What `host` names from `namespace`.
    pub fn classify(&self, host: &str, namespace: &str) -> Target {
        if host.parse::<IpAddr>().is_ok() {
            return Target::External;
        }
        let labels: Vec<&str> = host.split('.').collect();
        let service = |ns: &str, name: &str| match self.lookup(ns, name) {
            Some(i) => Target::Service(i),
            None => Target::UnknownService {
                namespace: ns.to_string(),
                name: name.to_string(),
            },
        };
        match labels.iter().position(|l| *l == "svc") {
            Some(2) => return service(labels[1], labels[0]),
            // pod.service.namespace.svc: a pod of a headless Service.
            Some(3) => {
                return match service(labels[2], labels[1]) {
                    Target::Service(i) => Target::Pod(i),
                    t => t,
                };
            }
            _ => {}
        }
        match labels.as_slice() {
            [name] => match self.lookup(namespace, name) {
                Some(i) => Target::Service(i),
                None => Target::NoSuchService,
            },
            [a, b] => {
                if let Some(i) = self.lookup(b, a) {
                    Target::Service(i)
                } else if let Some(i) = self
                    .lookup(namespace, b)
                    .filter(|i| self.services[*i].headless)
                {
                    Target::Pod(i)
                } else if self.namespaces.contains(*b) {
                    service(b, a)
                } else {
                    Target::External
                }
            }
            [_, b, c] => match self.lookup(c, b).filter(|i| self.services[*i].headless) {
                Some(i) => Target::Pod(i),
                None => Target::External,
            },
            _ => Target::External,
        }
    }

    fn add_mention(&mut self, w: &Workload, m: &Mention, allow_egress: &[Cidr]) {
        let caller = WorkloadRef::of(w);
        let why = format!("{} of {}", m.source, caller);
        let why =
            if w.spec.containers.len() + w.spec.init_containers.as_ref().map_or(0, Vec::len) > 1 {
                format!("{why} (container {})", m.container)
            } else {
                why
            };
        let seen = Seen {
            caller,
            why,
            host: m.source.may_show_value().then(|| m.host.display()),
        };
        let r: &HostRef = &m.host;
        match self.classify(&r.host, w.namespace()) {
            Target::Service(i) => self.add_service_mention(seen, i, r, false),
            Target::Pod(i) => self.add_service_mention(seen, i, r, true),
            Target::UnknownService { namespace, name } if is_api_server(&namespace, &name) => {
                self.api_clients
                    .entry(seen.caller)
                    .or_default()
                    .insert(seen.why);
            }
            Target::UnknownService { namespace, name } => {
                let ports = r.effective_port().map(|p| vec![PodPort::tcp(i32::from(p))]);
                let mut call = Call::default();
                call.add(ports, None, seen.why);
                let entry = self
                    .calls
                    .entry(seen.caller)
                    .or_default()
                    .entry(Callee::Namespace { namespace, name })
                    .or_default();
                entry.ports.extend(call.ports);
                entry.all_ports |= call.all_ports;
                entry.evidence.extend(call.evidence);
            }
            Target::NoSuchService => {
                if r.form != Form::Bare || m.named_as_address {
                    // A ConfigMap's value is never shown, not even as the name it failed as.
                    let note = match &seen.host {
                        Some(_) => format!("no Service {} in namespace {}", r.host, w.namespace()),
                        None => format!(
                            "no Service of that name (value not shown) in namespace {}",
                            w.namespace()
                        ),
                    };
                    self.blocked.push(seen.blocked(note));
                }
            }
            Target::External => {
                if r.form == Form::Bare && !m.named_as_address {
                    return;
                }
                self.blocked.push(external_flow(&seen, r, allow_egress));
            }
        }
    }

    /// A mention of Service `i` (or of one of its pods, `pod`): a call to its pods on the
    /// ports named, unless it has no pods to select (ExternalName, no selector; the API
    /// server's own Service makes `caller` an API client).
    fn add_service_mention(&mut self, seen: Seen, i: usize, r: &HostRef, pod: bool) {
        let s = &self.services[i];
        let service = Peer::Service {
            namespace: s.namespace.clone(),
            name: s.name.clone(),
            port: r.port.map(i32::from),
        };
        if let Some(ext) = &s.external_name {
            let note = format!(
                "ExternalName Service {} points to {ext}, outside the cluster",
                s.name
            );
            self.blocked.push(Flow {
                to: service,
                ..seen.blocked(note)
            });
            return;
        }
        if s.selector.is_none() && is_api_server(&s.namespace, &s.name) {
            self.api_clients
                .entry(seen.caller)
                .or_default()
                .insert(seen.why);
            return;
        }
        if s.selector.is_none() {
            let note = format!(
                "Service {} has no selector: its endpoints are not known pods; allow their addresses with --allow-egress",
                s.name
            );
            self.blocked.push(Flow {
                to: service,
                ..seen.blocked(note)
            });
            return;
        }
        let (ports, service_port) = self.mention_ports(&seen, i, r, pod);
        self.add_call(seen.caller, i, ports, service_port, seen.why);
    }

    /// The pod ports a mention of Service `i` reaches, and the Service port it names: the
    /// port's targets; every port when the port is not the Service's (said) or none is
    /// named; for a pod named without a port, also whatever its containers declare (peers
    /// of a StatefulSet use ports their Service may not list).
    fn mention_ports(
        &mut self,
        seen: &Seen,
        i: usize,
        r: &HostRef,
        pod: bool,
    ) -> (Option<Vec<PodPort>>, Option<i32>) {
        let s = &self.services[i];
        match r.effective_port() {
            Some(p) => match s.ports_for(p) {
                Some(ports) => (Some(ports), Some(i32::from(p))),
                None => {
                    if r.port.is_some() {
                        let note = format!(
                            "{}: port {p} is not a port of Service {}; all its ports are allowed",
                            seen.why, s.name
                        );
                        self.notes.push((seen.caller.namespace.clone(), note));
                    }
                    (Some(s.all_targets()), None)
                }
            },
            None if pod => {
                let mut ports = s.all_targets();
                ports.extend(container_ports(&s.backing));
                (Some(dedup(ports)), None)
            }
            None => (Some(s.all_targets()), None),
        }
    }

    /// Records that `caller` calls Service `i` on `ports`, both ways round.
    fn add_call(
        &mut self,
        caller: WorkloadRef,
        i: usize,
        ports: Option<Vec<PodPort>>,
        service_port: Option<i32>,
        why: String,
    ) {
        self.calls
            .entry(caller.clone())
            .or_default()
            .entry(Callee::Service(i))
            .or_default()
            .add(ports.clone(), service_port, why.clone());
        self.callers
            .entry(i)
            .or_default()
            .entry(caller)
            .or_default()
            .add(ports, service_port, why);
    }

    fn add_entry(
        &mut self,
        i: usize,
        from: EntrySource,
        port: Option<ServicePortRef>,
        why: String,
    ) {
        let s = &self.services[i];
        if s.selector.is_none() {
            return;
        }
        let ports = match &port {
            Some(ServicePortRef::Number(p)) => u16::try_from(*p).ok().and_then(|p| s.ports_for(p)),
            Some(ServicePortRef::Name(n)) => {
                let v: Vec<PodPort> = dedup(
                    s.ports
                        .iter()
                        .filter(|sp| sp.name.as_deref() == Some(n.as_str()))
                        .flat_map(|sp| sp.targets.clone()),
                );
                (!v.is_empty()).then_some(v)
            }
            None => None,
        }
        .unwrap_or_else(|| s.all_targets());
        let service_port = match port {
            Some(ServicePortRef::Number(p)) => Some(p),
            _ => None,
        };
        self.entry_points
            .entry(i)
            .or_default()
            .entry(from)
            .or_default()
            .add(Some(ports), service_port, why);
    }

    /// The ingress controllers: `--ingress-from`, else known controllers among the
    /// workloads (by their pod labels). One that runs on the host network reaches pods
    /// from node addresses: no pod selector matches it, so its backends stay open to
    /// anywhere.
    fn find_controllers(&mut self, cluster: &Cluster<'_>) {
        if !cluster.ingress_from.is_empty() {
            self.controllers = cluster
                .ingress_from
                .iter()
                .cloned()
                .map(EntrySource::Pods)
                .collect();
            return;
        }
        for w in cluster.workloads {
            if !INGRESS_CONTROLLERS
                .iter()
                .any(|(k, v)| w.pod_labels.get(*k).map(String::as_str) == Some(*v))
            {
                continue;
            }
            if w.spec.host_network == Some(true) {
                self.controllers.push(EntrySource::Anywhere);
            } else {
                self.controllers
                    .push(EntrySource::Workload(WorkloadRef::of(w)));
            }
        }
        self.controllers.sort();
        self.controllers.dedup();
    }

    /// The Services the API server calls, with the pod ports of the called Service port.
    fn add_api_server_callees(&mut self, cluster: &Cluster<'_>) {
        for c in cluster.api_server_calls {
            let Some(i) = self.lookup(&c.namespace, &c.service) else {
                self.notes.push((
                    c.namespace.clone(),
                    format!(
                        "{}: the Kubernetes API server calls Service {}, which is not known \
                         here: no rule opens it, so if its pods are isolated the call is cut",
                        c.why, c.service
                    ),
                ));
                continue;
            };
            let s = &self.services[i];
            if s.selector.is_none() {
                self.notes.push((
                    c.namespace.clone(),
                    format!(
                        "{}: the Kubernetes API server calls Service {}, which has no \
                         selector: its endpoints are not known pods, and no rule opens them",
                        c.why, c.service
                    ),
                ));
                continue;
            }
            let ports = u16::try_from(c.port)
                .ok()
                .and_then(|p| s.ports_for(p))
                .unwrap_or_else(|| s.all_targets());
            self.api_server_callees.entry(i).or_default().add(
                Some(ports),
                Some(c.port),
                c.why.clone(),
            );
        }
    }

    /// `--allow-flow`: the flows the user keeps, as calls. One that names no known workload
    /// or Service is said in a note of every namespace.
    fn add_allowed_flows(&mut self, cluster: &Cluster<'_>) {
        for af in cluster.allow_flows {
            let why = af.to_string();
            let mut matched = false;
            for w in cluster.workloads {
                let kind_name = format!("{}/{}", w.kind.as_str(), w.name());
                if !(w.name() == af.from || kind_name.eq_ignore_ascii_case(&af.from)) {
                    continue;
                }
                let (Target::Service(i) | Target::Pod(i)) = self.classify(&af.to, w.namespace())
                else {
                    continue;
                };
                let s = &self.services[i];
                if s.selector.is_none() {
                    continue;
                }
                let (ports, service_port) = match af.port {
                    Some(p) => match s.ports_for(p) {
                        Some(ports) => (ports, Some(i32::from(p))),
                        None => continue,
                    },
                    None => (s.all_targets(), None),
                };
                matched = true;
                self.add_call(
                    WorkloadRef::of(w),
                    i,
                    Some(ports),
                    service_port,
                    why.clone(),
                );
            }
            if !matched {
                self.unmatched_flows.push(format!(
                    "{why}: no workload {} calls a Service {} with that port here; nothing was added",
                    af.from, af.to
                ));
            }
        }
    }

    /// Where an Ingress or Gateway backend's traffic comes from.
    fn controller_sources(&self) -> Vec<EntrySource> {
        if self.controllers.is_empty() {
            vec![EntrySource::Anywhere]
        } else {
            self.controllers.clone()
        }
    }

    fn add_entry_points(&mut self, cluster: &Cluster<'_>) {
        for i in 0..self.services.len() {
            self.add_exposed_service(cluster, i);
        }
        self.add_ingress_backends(cluster);
        for route in cluster.routes {
            self.add_route_backends(cluster, route);
        }
    }

    /// A Service of type LoadBalancer or NodePort is an entry point: from its
    /// `loadBalancerSourceRanges` when it has some, else from anywhere. A range that is not
    /// an address block cannot be matched: the Service is then open to anywhere, and said.
    fn add_exposed_service(&mut self, cluster: &Cluster<'_>, i: usize) {
        let s = &self.services[i];
        let t = s.type_.clone();
        if t != "LoadBalancer" && t != "NodePort" {
            return;
        }
        let written: Vec<String> = cluster
            .services
            .iter()
            .find(|k| {
                k.metadata.name.as_deref() == Some(s.name.as_str())
                    && k.metadata.namespace.as_deref().unwrap_or("default") == s.namespace
            })
            .and_then(|k| k.spec.as_ref())
            .filter(|_| t == "LoadBalancer")
            .and_then(|sp| sp.load_balancer_source_ranges.clone())
            .unwrap_or_default();
        let (ranges, unreadable): (Vec<_>, Vec<_>) = written
            .iter()
            .map(|r| (r, r.trim().parse::<Cidr>()))
            .partition(|(_, c)| c.is_ok());
        let ranges: Vec<Cidr> = ranges.into_iter().filter_map(|(_, c)| c.ok()).collect();
        let name = s.name.clone();
        if !unreadable.is_empty() {
            let unreadable: Vec<&str> = unreadable.iter().map(|(r, _)| r.as_str()).collect();
            self.notes.push((
                s.namespace.clone(),
                format!(
                    "Service {name}: loadBalancerSourceRanges {} is not an address block, so \
                     the ranges cannot be matched: it is allowed from anywhere",
                    unreadable.join(", ")
                ),
            ));
        }
        let (from, why) = if ranges.is_empty() || !unreadable.is_empty() {
            (EntrySource::Anywhere, format!("Service {name} type {t}"))
        } else {
            let why = format!(
                "Service {name} type {t}, loadBalancerSourceRanges {}",
                ranges
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            (EntrySource::Ranges(ranges), why)
        };
        self.add_entry(i, from, None, why);
    }

    /// Each Service an Ingress routes to is an entry point, from the ingress controllers.
    fn add_ingress_backends(&mut self, cluster: &Cluster<'_>) {
        for ing in cluster.ingresses {
            let ns = ing.metadata.namespace.as_deref().unwrap_or("default");
            let name = ing.metadata.name.as_deref().unwrap_or("");
            let Some(spec) = &ing.spec else { continue };
            let mut backends = Vec::new();
            backends.extend(spec.default_backend.iter());
            for rule in spec.rules.iter().flatten() {
                for path in rule.http.iter().flat_map(|h| h.paths.iter()) {
                    backends.push(&path.backend);
                }
            }
            for b in backends {
                // A resource backend, or a Service not known here: nothing to open.
                let Some(svc) = &b.service else { continue };
                let Some(i) = self.lookup(ns, &svc.name) else {
                    continue;
                };
                let port = svc.port.as_ref().and_then(|p| match (&p.number, &p.name) {
                    (Some(n), _) => Some(ServicePortRef::Number(*n)),
                    (None, Some(n)) => Some(ServicePortRef::Name(n.clone())),
                    _ => None,
                });
                for from in self.controller_sources() {
                    self.add_entry(i, from, port.clone(), format!("backend of Ingress {name}"));
                }
            }
        }
    }

    /// Each Service a Gateway API route sends to is an entry point, from the ingress
    /// controllers; one in another namespace only when a ReferenceGrant lets it.
    fn add_route_backends(&mut self, cluster: &Cluster<'_>, route: &Value) {
        let kind = route.get("kind").and_then(Value::as_str).unwrap_or("Route");
        if kind == "ReferenceGrant" {
            return;
        }
        let ns = route
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("default");
        let name = route
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let refs = route
            .pointer("/spec/rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .flat_map(|rule| {
                rule.get("backendRefs")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
            });
        for r in refs {
            let group = r.get("group").and_then(Value::as_str).unwrap_or("");
            let rkind = r.get("kind").and_then(Value::as_str).unwrap_or("Service");
            if !group.is_empty() || rkind != "Service" {
                continue;
            }
            let Some(svc) = r.get("name").and_then(Value::as_str) else {
                continue;
            };
            let bns = r.get("namespace").and_then(Value::as_str).unwrap_or(ns);
            let Some(i) = self.lookup(bns, svc) else {
                continue;
            };
            let port = r
                .get("port")
                .and_then(Value::as_i64)
                .and_then(|p| i32::try_from(p).ok())
                .map(ServicePortRef::Number);
            if bns != ns && !reference_granted(cluster.routes, kind, ns, bns, svc) {
                self.refuse_route_backend(i, kind, name, ns);
                continue;
            }
            for from in self.controller_sources() {
                self.add_entry(i, from, port.clone(), format!("backend of {kind} {name}"));
            }
        }
    }

    /// A route backend in another namespace that no ReferenceGrant lets the route use: the
    /// cluster does not route it, so it is no entry point, and the table says so.
    fn refuse_route_backend(&mut self, i: usize, kind: &str, name: &str, ns: &str) {
        let s = &self.services[i];
        let (bns, svc) = (s.namespace.clone(), s.name.clone());
        self.refused.push((
            bns.clone(),
            Flow {
                kind: FlowKind::Blocked,
                from: Peer::Anywhere,
                to: Peer::Service {
                    namespace: bns.clone(),
                    name: svc.clone(),
                    port: None,
                },
                ports: Vec::new(),
                evidence: vec![format!("backend of {kind} {name} in namespace {ns}")],
                note: Some(format!(
                    "no ReferenceGrant in namespace {bns} lets {kind}s of namespace {ns} use \
                     Service {svc}: the cluster does not route it, so it is no entry point"
                )),
            },
        ));
    }

    /// Services of `namespace` that pods can reach (a selector) and no workload names, other
    /// than the Service's own pods (a seed list, an advertised address or self-telemetry
    /// naming it says nothing about its clients).
    ///
    /// Except an entry point whose pods and ports a Service with evidenced callers serves
    /// too (a LoadBalancer twin of a named ClusterIP Service): its callers inside the
    /// cluster use the named one, and it is for outside callers.
    pub(crate) fn assumed(&self, namespace: &str) -> Vec<usize> {
        (0..self.services.len())
            .filter(|i| {
                let s = &self.services[*i];
                s.namespace == namespace
                    && s.selector.is_some()
                    && !self.has_outside_callers(*i)
                    && !(self.entry_points.contains_key(i) && self.twin_with_callers(*i))
            })
            .collect()
    }

    /// Some workload other than the Service's own pods names Service `i`.
    pub(crate) fn has_outside_callers(&self, i: usize) -> bool {
        let own: BTreeSet<WorkloadRef> = self.services[i]
            .backing
            .iter()
            .map(|w| WorkloadRef::of(w))
            .collect();
        self.callers
            .get(&i)
            .is_some_and(|callers| callers.keys().any(|c| !own.contains(c)))
    }

    /// Another Service with evidenced callers covers every backing workload and pod port of
    /// Service `i`.
    fn twin_with_callers(&self, i: usize) -> bool {
        let s = &self.services[i];
        if s.backing.is_empty() {
            return false;
        }
        let targets: BTreeSet<PodPort> = s.all_targets().into_iter().collect();
        let backing: BTreeSet<WorkloadRef> = s.backing.iter().map(|w| WorkloadRef::of(w)).collect();
        self.callers.keys().any(|&j| {
            let t = &self.services[j];
            j != i
                && t.namespace == s.namespace
                && t.selector.is_some()
                && backing.is_subset(&t.backing.iter().map(|w| WorkloadRef::of(w)).collect())
                && targets.is_subset(&t.all_targets().into_iter().collect())
        })
    }
}

#[derive(Clone)]
enum ServicePortRef {
    Number(i32),
    Name(String),
}

/// Whether a ReferenceGrant in namespace `to_ns` (among `objects`) lets `kind`s
/// (`HTTPRoute`, `GRPCRoute`) of namespace `from_ns` use Service `service`.
fn reference_granted(
    objects: &[Value],
    kind: &str,
    from_ns: &str,
    to_ns: &str,
    service: &str,
) -> bool {
    objects.iter().any(|g| {
        let s = |p: &str| g.pointer(p).and_then(Value::as_str);
        s("/kind") == Some("ReferenceGrant")
            && s("/metadata/namespace").unwrap_or("default") == to_ns
            && g.pointer("/spec/from")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|f| {
                    f.get("group").and_then(Value::as_str) == Some("gateway.networking.k8s.io")
                        && f.get("kind").and_then(Value::as_str) == Some(kind)
                        && f.get("namespace").and_then(Value::as_str) == Some(from_ns)
                })
            && g.pointer("/spec/to")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|t| {
                    t.get("group")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .is_empty()
                        && t.get("kind").and_then(Value::as_str) == Some("Service")
                        && t.get("name")
                            .and_then(Value::as_str)
                            .is_none_or(|n| n == service)
                })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cidr_parse_and_contains() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains("10.1.2.3".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert!(!c.contains("::1".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        let one: Cidr = "192.0.2.7".parse().unwrap();
        assert_eq!(one.to_string(), "192.0.2.7/32");
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8::5".parse().unwrap()));
        let e = "10.0.0.1/8".parse::<Cidr>().unwrap_err();
        assert!(e.contains("did you mean 10.0.0.0/8"), "{e}");
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("example.com/8".parse::<Cidr>().is_err());
    }

    fn svc(v: serde_json::Value) -> Service {
        serde_json::from_value(v).unwrap()
    }

    fn workload(v: serde_json::Value) -> Workload {
        Workload::from_value(v).unwrap().unwrap()
    }

    #[test]
    fn classify_host_forms() {
        let services = vec![
            svc(
                json!({"metadata": {"name": "redis", "namespace": "shop"}, "spec": {"selector": {"app": "redis"}, "ports": [{"port": 6379}]}}),
            ),
            svc(
                json!({"metadata": {"name": "db", "namespace": "data"}, "spec": {"selector": {"app": "db"}}}),
            ),
            svc(
                json!({"metadata": {"name": "peers", "namespace": "shop"}, "spec": {"clusterIP": "None", "selector": {"app": "kv"}}}),
            ),
        ];
        let ns = ["other".to_string()];
        let g = Graph::build(
            &Cluster {
                services: &services,
                namespaces: &ns,
                ..Cluster::default()
            },
            &[],
        );
        let c = |h: &str| g.classify(h, "shop");
        assert_eq!(c("redis"), Target::Service(0));
        assert_eq!(c("redis.shop"), Target::Service(0));
        assert_eq!(c("redis.shop.svc"), Target::Service(0));
        assert_eq!(c("redis.shop.svc.cluster.local"), Target::Service(0));
        assert_eq!(c("db.data"), Target::Service(1));
        assert_eq!(c("db.data.svc.cluster.local"), Target::Service(1));
        assert_eq!(c("kv-0.peers"), Target::Pod(2));
        assert_eq!(c("kv-0.peers.shop"), Target::Pod(2));
        assert_eq!(c("kv-0.peers.shop.svc.cluster.local"), Target::Pod(2));
        assert_eq!(
            c("cache.other"),
            Target::UnknownService {
                namespace: "other".into(),
                name: "cache".into()
            }
        );
        assert_eq!(
            c("x.y.svc.cluster.local"),
            Target::UnknownService {
                namespace: "y".into(),
                name: "x".into()
            }
        );
        assert_eq!(c("nope"), Target::NoSuchService);
        assert_eq!(c("api.example.com"), Target::External);
        assert_eq!(c("example.com"), Target::External);
        assert_eq!(c("10.1.2.3"), Target::External);
    }

    #[test]
    fn services_of_other_namespaces_to_read() {
        let ws = vec![workload(
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "a", "namespace": "shop"},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "env": [
                {"name": "A_HOST", "value": "redis.data"},
                {"name": "B_URL", "value": "http://db.data.svc.cluster.local:5432"},
                {"name": "C_ADDR", "value": "kafka-0.kafka.queue:9092"},
                {"name": "D_URL", "value": "https://api.example.com"},
                {"name": "E_HOST", "value": "known.shop"},
                {"name": "F_ADDR", "value": "10.0.0.1:80"}]}]}}}}),
        )];
        let services = vec![svc(
            json!({"metadata": {"name": "known", "namespace": "shop"}}),
        )];
        let wanted = Graph::wanted_services(&Cluster {
            workloads: &ws,
            services: &services,
            ..Cluster::default()
        });
        // `api.example.com` could be pod `api` of Service `example` in namespace `com`: it is
        // asked about (a 404 then says it is outside the cluster).
        let got: Vec<String> = wanted.iter().map(|(n, s)| format!("{s}.{n}")).collect();
        assert_eq!(got, ["example.com", "db.data", "redis.data", "kafka.queue"]);
    }

    #[test]
    fn named_target_ports_resolve_through_container_ports() {
        let ws = vec![
            workload(json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "a", "namespace": "n"},
                "spec": {"template": {"metadata": {"labels": {"app": "x", "v": "1"}},
                    "spec": {"containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]}}}})),
            workload(json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "b", "namespace": "n"},
                "spec": {"template": {"metadata": {"labels": {"app": "x", "v": "2"}},
                    "spec": {"containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 9090}]}]}}}})),
        ];
        let s = svc(json!({"metadata": {"name": "x", "namespace": "n"},
            "spec": {"selector": {"app": "x"}, "ports": [
                {"name": "web", "port": 80, "targetPort": "http"},
                {"name": "m", "port": 81, "targetPort": "metrics"},
                {"name": "dns", "port": 53, "protocol": "UDP"}]}}));
        let s = Svc::of(&s, &ws);
        assert_eq!(s.backing.len(), 2);
        let t: Vec<String> = s.ports.iter().map(|p| ports_text(&p.targets)).collect();
        assert_eq!(t, ["8080/TCP, 9090/TCP", "metrics/TCP", "53/UDP"]);
        assert_eq!(ports_text(&s.ports_for(80).unwrap()), "8080/TCP, 9090/TCP");
        assert_eq!(ports_text(&s.ports_for(8080).unwrap()), "8080/TCP");
        assert!(s.ports_for(7).is_none());
    }

    #[test]
    fn pod_selectors_of_workloads() {
        let d = workload(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "a"},
            "spec": {"selector": {"matchLabels": {"app": "a"}},
                "template": {"metadata": {"labels": {"app": "a", "tier": "web"}}, "spec": {"containers": []}}}}));
        assert_eq!(
            pod_selector(&d).0.match_labels,
            Some(BTreeMap::from([("app".to_string(), "a".to_string())]))
        );
        let cj = workload(json!({"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "c"},
            "spec": {"jobTemplate": {"spec": {"template": {"metadata": {"labels": {"job": "c"}}, "spec": {"containers": []}}}}}}));
        assert_eq!(
            pod_selector(&cj).0.match_labels,
            Some(BTreeMap::from([("job".to_string(), "c".to_string())]))
        );
        let bare = workload(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p"}, "spec": {"containers": []}}));
        let (sel, labelled) = pod_selector(&bare);
        assert!(!labelled);
        assert_eq!(sel, LabelSelector::default());
    }
}
