//! Evidence that a workload calls something: host names in its containers' env values,
//! `args` and `command`, and in the ConfigMap keys its env reads.
//!
//! Pure text work: [`host_refs`] finds `svc`, `svc:port`, `svc.ns`, `svc.ns.svc`,
//! `svc.ns.svc.cluster.local` and URLs (`scheme://[user@]host[:port][/path]`) in a string;
//! [`mentions`] collects them from a workload with where each was found. Whether a host is a
//! Service is decided later ([`super::graph`]), against the Services that exist.
//!
//! Nothing here keeps a value beyond the host and port it found: user info, paths, queries
//! and every other part of a value are dropped, so a password inside a URL never travels
//! further.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{
    ConfigMap, EnvFromSource, EnvVar, KeyToPath, Volume, VolumeMount,
};

use crate::model::Workload;

/// How a host appeared in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Form {
    /// A word on its own: `redis`, `db.shop`.
    Bare,
    /// `host:port`.
    HostPort,
    /// `scheme://host…`.
    Url,
}

/// A host (and maybe port) found in a string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct HostRef {
    /// Lower case, without a trailing dot. An IP address as written.
    pub host: String,
    pub port: Option<u16>,
    /// The URL scheme, lower case (`http`, `redis`, `jdbc:mysql` gives `mysql`).
    pub scheme: Option<String>,
    pub form: Form,
}

impl HostRef {
    /// The host as an IP address, when it is one.
    pub(crate) fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// The port a client of this reference connects to: the explicit one, else the usual
    /// port of the URL scheme.
    pub(crate) fn effective_port(&self) -> Option<u16> {
        self.port
            .or_else(|| self.scheme.as_deref().and_then(scheme_port))
    }

    /// `host` or `host:port`, for messages.
    pub(crate) fn display(&self) -> String {
        match self.port {
            Some(p) if self.host.contains(':') => format!("[{}]:{p}", self.host),
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.clone(),
        }
    }
}

/// The usual port of a URL scheme.
pub(crate) fn scheme_port(scheme: &str) -> Option<u16> {
    Some(match scheme {
        "http" | "ws" => 80,
        "https" | "wss" | "grpcs" => 443,
        "redis" => 6379,
        "rediss" => 6380,
        "postgres" | "postgresql" => 5432,
        "mysql" | "mariadb" => 3306,
        "mongodb" => 27017,
        "amqp" => 5672,
        "amqps" => 5671,
        "nats" => 4222,
        "memcached" => 11211,
        "kafka" => 9092,
        "ldap" => 389,
        "ldaps" => 636,
        "smtp" => 25,
        "ftp" => 21,
        _ => return None,
    })
}

/// Where a container's text was found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// A literal `env[].value`.
    Env {
        var: String,
    },
    /// An env value, `args` or `command` (`what`, as the other sources show) whose `$(VAR)`
    /// references expanded to ConfigMap values (which are never shown).
    Expanded {
        what: String,
    },
    /// An env var read from a ConfigMap key (`configMapKeyRef`, or `envFrom` with its prefix).
    ConfigMap {
        var: String,
        config_map: String,
        key: String,
    },
    /// A file of a ConfigMap volume the container mounts (one key).
    ConfigMapFile {
        config_map: String,
        key: String,
    },
    Args,
    Command,
}

impl Source {
    /// This source, or [`Source::Expanded`] when ConfigMap values went into its text.
    fn expanded(self, hidden: bool) -> Source {
        if hidden {
            Source::Expanded {
                what: self.to_string(),
            }
        } else {
            self
        }
    }

    /// True when a value from here may be shown (ConfigMap values never are).
    pub(crate) fn may_show_value(&self) -> bool {
        !matches!(
            self,
            Source::ConfigMap { .. } | Source::ConfigMapFile { .. } | Source::Expanded { .. }
        )
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Env { var } => write!(f, "env {var}"),
            Source::Expanded { what } => write!(f, "{what} (with ConfigMap values)"),
            Source::ConfigMap {
                var,
                config_map,
                key,
            } => write!(f, "env {var} from ConfigMap {config_map} key {key}"),
            Source::ConfigMapFile { config_map, key } => {
                write!(f, "file {key} of ConfigMap {config_map}")
            }
            Source::Args => f.write_str("args"),
            Source::Command => f.write_str("command"),
        }
    }
}

/// A host named by one container of a workload.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Mention {
    pub container: String,
    pub source: Source,
    pub host: HostRef,
    /// The env var or flag name suggests the value is an address (`*_HOST`, `--db-url`, …).
    pub named_as_address: bool,
}

/// Words that, as the last part of an env var or flag name, say its value is not a host:
/// `WORDPRESS_DB_USER=wordpress` names a user, `OTEL_SERVICE_NAME=cart` a name, even when a
/// Service has that name. Secret-looking names are here too: their values are never read.
const NOT_A_HOST: &[&str] = &[
    "USER",
    "USERNAME",
    "LOGIN",
    "NAME",
    "DATABASE",
    "DB",
    "DBNAME",
    "SCHEMA",
    "TABLE",
    "PASSWORD",
    "PASS",
    "PASSWD",
    "PWD",
    "SECRET",
    "TOKEN",
    "KEY",
    "CREDENTIALS",
    "ID",
    "MODE",
    "LEVEL",
    "PATH",
    "DIR",
    "FILE",
    "TYPE",
    "ENV",
    "ENVIRONMENT",
    "PROFILE",
    "REGION",
    "ZONE",
    "VERSION",
    "LANG",
    "TZ",
    "FORMAT",
    "PREFIX",
    "SUFFIX",
    "ROLE",
    "GROUP",
    "BUCKET",
    "TOPIC",
    "QUEUE",
    "INDEX",
    "LABEL",
    "TAG",
    "IMAGE",
    "NAMESPACE",
    "TITLE",
    "MESSAGE",
];

/// Words that, in an env var or flag name, say its value is an address.
const ADDRESS_WORDS: &[&str] = &[
    "HOST",
    "HOSTS",
    "HOSTNAME",
    "ADDR",
    "ADDRESS",
    "URL",
    "URI",
    "ENDPOINT",
    "ENDPOINTS",
    "SERVER",
    "SERVERS",
    "BROKER",
    "BROKERS",
    "DSN",
    "UPSTREAM",
    "TARGET",
    "BACKEND",
    "PEERS",
    "SEEDS",
];

fn name_words(name: &str) -> Vec<String> {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .collect()
}

/// The value of a variable or flag with this name is not a host (user, name, password, …).
pub(crate) fn name_says_not_a_host(name: &str) -> bool {
    let words = name_words(name);
    words.iter().any(|w| {
        matches!(
            w.as_str(),
            "PASSWORD" | "PASSWD" | "SECRET" | "TOKEN" | "CREDENTIALS"
        )
    }) || words
        .last()
        .is_some_and(|w| NOT_A_HOST.contains(&w.as_str()))
}

/// The name of a variable or flag says its value is an address: its last word (numbers
/// aside) is `HOST`, `ADDR`, `URL`, … (`REDIS_HOST`, `--db-url`, `PEER_ADDR_2`; not
/// `GET_HOSTS_FROM`).
pub(crate) fn name_says_address(name: &str) -> bool {
    name_words(name)
        .iter()
        .rev()
        .find(|w| !w.bytes().all(|b| b.is_ascii_digit()))
        .is_some_and(|w| ADDRESS_WORDS.contains(&w.as_str()))
}

fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            ',' | ';' | '"' | '\'' | '`' | '(' | ')' | '{' | '}' | '<' | '>' | '|' | '&'
        )
}

/// `text` without the query and fragment of each URL in it (`…/db?useSSL=false&zipkin=visits`
/// names no host: its `&` would otherwise split it into words that look like ones).
fn without_url_queries(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("://") || !text.contains(['?', '#']) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        // The URL runs to the next separator other than `&` (which only queries hold).
        let end = rest[i..]
            .find(|c: char| is_separator(c) && c != '&')
            .map_or(rest.len(), |e| i + e);
        let url = &rest[..end];
        let cut = url[i..].find(['?', '#']).map_or(url.len(), |q| i + q);
        out.push_str(&url[..cut]);
        rest = &rest[end..];
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// A DNS name: labels of `[a-z0-9-]`, not starting or ending with `-`.
fn valid_dns_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// Addresses that are never a destination worth a rule: loopback and "any".
fn ignored_host(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

/// Parses `host[:port]` (an authority without user info). `None` when it is not one.
fn host_port(s: &str) -> Option<(String, Option<u16>)> {
    if let Some(rest) = s.strip_prefix('[') {
        // [IPv6]:port
        let (ip, after) = rest.split_once(']')?;
        ip.parse::<std::net::Ipv6Addr>().ok()?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p > 0)?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some((ip.to_ascii_lowercase(), port));
    }
    // `host:port`, or `host:port:port` (ZooKeeper's `zk-0.zk:2888:3888`): the first port.
    let (host, port) = match s.split_once(':') {
        Some((h, ps)) => {
            let mut ports = ps
                .split(':')
                .map(|p| p.parse::<u16>().ok().filter(|p| *p > 0));
            let first = ports.next().flatten()?;
            if ports.any(|p| p.is_none()) {
                return None;
            }
            (h, Some(first))
        }
        None => (s, None),
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.parse::<std::net::Ipv4Addr>().is_ok() {
        return Some((host.to_string(), port));
    }
    let lower = host.to_ascii_lowercase();
    if !valid_dns_name(&lower) {
        return None;
    }
    // A name starts with a letter (a Service name is a DNS-1035 label); `1.2.3` is a
    // version, `8080` a number.
    if !lower.starts_with(|c: char| c.is_ascii_lowercase()) {
        return None;
    }
    Some((lower, port))
}

/// One token (no separators inside) to a host reference, with the key before `=` if any.
fn token_ref(token: &str) -> Option<(HostRef, Option<&str>)> {
    if let Some(i) = token.find("://") {
        let start = token[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |j| j + 1);
        let scheme = token[start..i].to_ascii_lowercase();
        if scheme.is_empty() || scheme == "file" {
            return None;
        }
        let key = token[..start]
            .strip_suffix(['=', ':'])
            .filter(|k| !k.is_empty() && !k.contains("://"));
        let rest = &token[i + 3..];
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
        let (host, port) = host_port(authority)?;
        let scheme = scheme
            .rsplit(['+', ':'])
            .next()
            .unwrap_or(&scheme)
            .to_string();
        return Some((
            HostRef {
                host,
                port,
                scheme: Some(scheme),
                form: Form::Url,
            },
            key,
        ));
    }
    let (key, value) = match token.rsplit_once('=') {
        Some((k, v)) => (Some(k), v),
        None => (None, token),
    };
    // SQL Server's protocol prefixes (`Server=tcp:sql-data,1433`, `np:`, `lpc:`).
    let value = ["tcp:", "np:", "lpc:"]
        .iter()
        .find_map(|p| {
            value
                .get(..p.len())
                .filter(|v| v.eq_ignore_ascii_case(p))
                .map(|_| &value[p.len()..])
        })
        .unwrap_or(value);
    // `host:port/path` is an address with a path; `a/b` without a port is a file path.
    let value = match value.split_once('/') {
        Some((hp, _)) if hp.contains(':') => hp,
        Some(_) => return None,
        None => value,
    };
    // `1@kafka-0.kafka:9093`: a Kafka/Raft quorum voter, `ID@host:port`. Any other `@`
    // (an e-mail address, `user@host` without a scheme) is not taken.
    let value = match value.split_once('@') {
        Some((id, hp)) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => hp,
        _ => value,
    };
    if value.is_empty() || value.contains('@') {
        return None;
    }
    let (host, port) = host_port(value)?;
    // A bare word must be written in lower case to count (`INFO`, `True` are not hosts),
    // unless a key names it as an address (`Host=SQL-DATA`: host names are case-blind).
    if port.is_none()
        && value.strip_suffix('.').unwrap_or(value) != host
        && !key.is_some_and(name_says_address)
    {
        return None;
    }
    let form = if port.is_some() {
        Form::HostPort
    } else {
        Form::Bare
    };
    Some((
        HostRef {
            host,
            port,
            scheme: None,
            form,
        },
        key,
    ))
}

/// Every host reference in `text`, in order, each with the `--flag`/`KEY` name written
/// before it (`--redis=redis:6379` gives `--redis`). Loopback and `0.0.0.0` are left out.
pub(crate) fn host_refs_with_keys(text: &str) -> Vec<(HostRef, Option<String>)> {
    let mut out = Vec::new();
    let text = without_url_queries(text);
    for token in text.split(is_separator).filter(|t| !t.is_empty()) {
        let token = token.trim_end_matches(['.', ':']);
        if let Some((r, key)) = token_ref(token)
            && !ignored_host(&r.host)
        {
            out.push((r, key.map(|k| k.trim_start_matches('-').to_string())));
        }
    }
    out
}

/// Every host reference in `text`.
#[cfg(test)]
pub(crate) fn host_refs(text: &str) -> Vec<HostRef> {
    host_refs_with_keys(text)
        .into_iter()
        .map(|(r, _)| r)
        .collect()
}

/// The refs of a value read from a variable named `var`: none when the name says the value
/// is not an address (user, name, password, …).
fn value_refs(var: &str, value: &str) -> Vec<(HostRef, bool)> {
    if name_says_not_a_host(var) {
        return Vec::new();
    }
    let address = name_says_address(var);
    let value = without_url_queries(value);
    let value = value.as_ref();
    let tokens: Vec<&str> = value
        .split(is_separator)
        .filter(|t| !t.is_empty())
        .collect();
    if tokens.len() > 1 && !address {
        // Several words (`JAVA_OPTS`, a command line): bare words need an address context.
        return context_refs(&tokens);
    }
    host_refs_with_keys(value)
        .into_iter()
        .filter(|(_, key)| key.as_deref().is_none_or(|k| !name_says_not_a_host(k)))
        .map(|(r, key)| (r, address || key.as_deref().is_some_and(name_says_address)))
        .collect()
}

/// Programs whose next word is a host (`nc -z db 5432`, `nslookup db`).
const NETWORK_TOOLS: &[&str] = &[
    "nslookup",
    "dig",
    "host",
    "nc",
    "ncat",
    "netcat",
    "ping",
    "telnet",
    "curl",
    "wget",
    "pg_isready",
    "psql",
    "mysql",
    "mysqladmin",
    "redis-cli",
    "mongo",
    "mongosh",
    "grpcurl",
];

/// Host references in a run of words (a command line, a config file) where a single bare
/// word is only taken as a host in an address context: after an address flag or key
/// (`-h db`, `--db-host db`, `host: db`), after a network tool (`nslookup db`), or before
/// a port number (`nc -z db 5432`). `svc:port`, URLs and dotted names count anywhere.
/// Values after a flag or key that names a password, user, … are skipped.
pub(crate) fn context_refs(tokens: &[&str]) -> Vec<(HostRef, bool)> {
    let mut out = Vec::new();
    for (i, raw) in tokens.iter().enumerate() {
        let prev = i
            .checked_sub(1)
            .map(|j| tokens[j].trim_end_matches([':', '=']))
            .unwrap_or("");
        let next = tokens.get(i + 1).copied().unwrap_or("");
        let prev_is_key = prev.starts_with('-')
            || tokens
                .get(i.wrapping_sub(1))
                .is_some_and(|t| t.ends_with([':', '=']));
        if prev_is_key && !prev.contains('=') && name_says_not_a_host(prev) {
            continue;
        }
        let prev_address = prev_is_key && (name_says_address(prev) || prev == "-h");
        let tool = prev.rsplit('/').next().unwrap_or(prev);
        let after_tool = NETWORK_TOOLS.contains(&tool) || NETWORK_TOOLS.contains(&prev);
        let before_port = next.parse::<u16>().is_ok_and(|p| p > 0)
            && !matches!(
                *raw,
                "sleep"
                    | "timeout"
                    | "seq"
                    | "exit"
                    | "head"
                    | "tail"
                    | "wait"
                    | "kill"
                    | "nice"
                    | "expr"
                    | "test"
                    | "retry"
                    | "retries"
                    | "usleep"
            );
        if raw.ends_with([':', '=']) {
            // A key (`port:`), not a value.
            continue;
        }
        let token = raw.trim_end_matches('.');
        let Some((r, key)) = token_ref(token) else {
            continue;
        };
        if ignored_host(&r.host) || key.is_some_and(name_says_not_a_host) {
            continue;
        }
        let key_address = key.is_some_and(name_says_address);
        let strong = r.form != Form::Bare || r.host.contains('.');
        if strong || prev_address || key_address || after_tool || before_port {
            out.push((r, prev_address || key_address));
        }
    }
    out
}

fn config_map_data<'a>(
    config_maps: &'a [ConfigMap],
    namespace: &str,
    name: &str,
) -> Option<&'a BTreeMap<String, String>> {
    config_maps
        .iter()
        .find(|c| {
            c.metadata.name.as_deref() == Some(name)
                && c.metadata.namespace.as_deref().unwrap_or("default") == namespace
        })
        .and_then(|c| c.data.as_ref())
}

/// The ConfigMaps `w` reads (env, envFrom, volumes) that are not among `config_maps` and
/// not optional: the hosts they name cannot be seen.
pub(crate) fn unknown_config_maps<'a>(
    w: &'a Workload,
    config_maps: &[ConfigMap],
) -> BTreeSet<&'a str> {
    let spec = &w.spec;
    let known = |name: &str| {
        config_maps.iter().any(|c| {
            c.metadata.name.as_deref() == Some(name)
                && c.metadata.namespace.as_deref().unwrap_or("default") == w.namespace()
        })
    };
    let mut read: Vec<(&str, Option<bool>)> = Vec::new();
    let mut env = |env: &'a Option<Vec<EnvVar>>, env_from: &'a Option<Vec<EnvFromSource>>| {
        for e in env.iter().flatten() {
            if let Some(r) = e
                .value_from
                .as_ref()
                .and_then(|v| v.config_map_key_ref.as_ref())
            {
                read.push((&r.name, r.optional));
            }
        }
        for ef in env_from.iter().flatten() {
            if let Some(r) = &ef.config_map_ref {
                read.push((&r.name, r.optional));
            }
        }
    };
    for c in spec
        .init_containers
        .iter()
        .flatten()
        .chain(&spec.containers)
    {
        env(&c.env, &c.env_from);
    }
    for c in spec.ephemeral_containers.iter().flatten() {
        env(&c.env, &c.env_from);
    }
    for v in spec.volumes.iter().flatten() {
        if let Some(c) = &v.config_map {
            read.push((&c.name, c.optional));
        }
        for src in v.projected.iter().flat_map(|p| p.sources.iter().flatten()) {
            if let Some(c) = &src.config_map {
                read.push((&c.name, c.optional));
            }
        }
    }
    read.into_iter()
        .filter(|(name, optional)| *optional != Some(true) && !known(name))
        .map(|(name, _)| name)
        .collect()
}

/// The variables known while a container's env is expanded: name → (value, whether the
/// value came from a ConfigMap, and so may not be shown).
type Vars = BTreeMap<String, (String, bool)>;

/// Expands `$(NAME)` in `text` as the kubelet does: with the value of `NAME` when it is
/// known, else left as written; `$$` is a literal `$`. Also says whether a hidden value went
/// in. Values from Secrets, `fieldRef` and `resourceFieldRef` are never known here.
fn expand(text: &str, vars: &Vars) -> (String, bool) {
    let mut out = String::with_capacity(text.len());
    let mut hidden = false;
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(a) = after.strip_prefix('$') {
            out.push('$');
            rest = a;
        } else if let Some(a) = after.strip_prefix('(')
            && let Some(end) = a.find(')')
        {
            match vars.get(&a[..end]) {
                Some((value, h)) => {
                    out.push_str(value);
                    hidden |= *h;
                }
                None => out.push_str(&rest[i..i + 3 + end]),
            }
            rest = &a[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    (out, hidden)
}

/// A host variable's sibling port: `X_HOST` or `X_HOSTNAME` without a port, next to
/// `X_PORT` (in `ports`, by variable name), names that port.
fn pair_port(
    var: &str,
    refs: Vec<(HostRef, bool)>,
    ports: &BTreeMap<String, u16>,
) -> Vec<(HostRef, bool)> {
    let upper = var.to_ascii_uppercase();
    let Some(prefix) = upper
        .strip_suffix("_HOSTNAME")
        .or_else(|| upper.strip_suffix("_HOST"))
        .filter(|p| !p.is_empty())
    else {
        return refs;
    };
    let want = format!("{prefix}_PORT");
    let Some(port) = ports
        .iter()
        .find(|(k, _)| k.to_ascii_uppercase() == want)
        .map(|(_, p)| *p)
        .filter(|p| *p > 0)
    else {
        return refs;
    };
    refs.into_iter()
        .map(|(mut h, a)| {
            if h.port.is_none() && h.scheme.is_none() {
                h.port = Some(port);
            }
            (h, a)
        })
        .collect()
}

/// A ConfigMap a volume holds, with the keys it projects (`None`: all).
type ConfigMapVolume<'a> = (&'a str, Option<Vec<&'a str>>);

/// The parts of a container (regular, init or ephemeral) that can name a host.
struct ContainerView<'c> {
    name: &'c str,
    env: &'c [EnvVar],
    env_from: &'c [EnvFromSource],
    mounts: &'c [VolumeMount],
    args: &'c [String],
    command: &'c [String],
}

macro_rules! container_view {
    ($c:expr) => {
        ContainerView {
            name: &$c.name,
            env: $c.env.as_deref().unwrap_or(&[]),
            env_from: $c.env_from.as_deref().unwrap_or(&[]),
            mounts: $c.volume_mounts.as_deref().unwrap_or(&[]),
            args: $c.args.as_deref().unwrap_or(&[]),
            command: $c.command.as_deref().unwrap_or(&[]),
        }
    };
}

/// What the mentions of one workload are read against, and the mentions found so far.
struct MentionScan<'a> {
    namespace: &'a str,
    config_maps: &'a [ConfigMap],
    /// ConfigMap volumes: volume name → (ConfigMap, the keys it projects; `None` = all).
    cm_volumes: BTreeMap<&'a str, Vec<ConfigMapVolume<'a>>>,
    out: Vec<Mention>,
}

/// Every host the containers of `w` name, with where. `config_maps` are the ConfigMaps
/// known (any namespace): only the keys that an env var of `w` reads are looked at.
pub(crate) fn mentions(w: &Workload, config_maps: &[ConfigMap]) -> Vec<Mention> {
    let spec = &w.spec;
    let mut scan = MentionScan {
        namespace: w.namespace(),
        config_maps,
        cm_volumes: config_map_volumes(spec.volumes.iter().flatten()),
        out: Vec::new(),
    };
    for c in spec.init_containers.iter().flatten() {
        scan.container(&container_view!(c));
    }
    for c in &spec.containers {
        scan.container(&container_view!(c));
    }
    for c in spec.ephemeral_containers.iter().flatten() {
        scan.container(&container_view!(c));
    }
    scan.out
}

/// The ConfigMaps each volume holds (directly or projected), with the keys it projects.
fn config_map_volumes<'a>(
    volumes: impl Iterator<Item = &'a Volume>,
) -> BTreeMap<&'a str, Vec<ConfigMapVolume<'a>>> {
    fn keys(items: &Option<Vec<KeyToPath>>) -> Option<Vec<&str>> {
        items
            .as_ref()
            .map(|i| i.iter().map(|k| k.key.as_str()).collect())
    }
    let mut out: BTreeMap<&str, Vec<ConfigMapVolume<'_>>> = BTreeMap::new();
    for v in volumes {
        if let Some(c) = &v.config_map {
            out.entry(&v.name)
                .or_default()
                .push((&c.name, keys(&c.items)));
        }
        for src in v.projected.iter().flat_map(|p| p.sources.iter().flatten()) {
            if let Some(c) = &src.config_map {
                out.entry(&v.name)
                    .or_default()
                    .push((&c.name, keys(&c.items)));
            }
        }
    }
    out
}

impl<'a> MentionScan<'a> {
    fn push(&mut self, container: &str, source: Source, refs: Vec<(HostRef, bool)>) {
        for (host, named_as_address) in refs {
            self.out.push(Mention {
                container: container.to_string(),
                source: source.clone(),
                host,
                named_as_address,
            });
        }
    }

    fn data(&self, config_map: &str) -> Option<&'a BTreeMap<String, String>> {
        config_map_data(self.config_maps, self.namespace, config_map)
    }

    /// The hosts one container names: in mounted ConfigMap files, env values (literal or
    /// from ConfigMaps), then command and args with `$(NAME)` expanded.
    fn container(&mut self, c: &ContainerView<'_>) {
        self.mounted_files(c);
        let ports = self.port_vars(c);
        let vars = self.env(c, &ports);
        self.env_from(c, &ports);
        self.command_and_args(c, &vars);
    }

    /// The files of the ConfigMap volumes `c` mounts (a `subPath` mount of a whole
    /// ConfigMap is one file, named by its key).
    fn mounted_files(&mut self, c: &ContainerView<'_>) {
        let cm_volumes = std::mem::take(&mut self.cm_volumes);
        for m in c.mounts {
            for (cm, keys) in cm_volumes.get(m.name.as_str()).into_iter().flatten() {
                let Some(data) = self.data(cm) else {
                    continue;
                };
                let sub = m.sub_path.as_deref();
                for (key, v) in data {
                    let projected = keys.as_ref().is_none_or(|k| k.contains(&key.as_str()));
                    let mounted = sub.is_none_or(|p| keys.is_some() || p == key);
                    if !projected || !mounted {
                        continue;
                    }
                    let v = without_url_queries(v);
                    let tokens: Vec<&str> =
                        v.split(is_separator).filter(|t| !t.is_empty()).collect();
                    self.push(
                        c.name,
                        Source::ConfigMapFile {
                            config_map: cm.to_string(),
                            key: key.clone(),
                        },
                        context_refs(&tokens),
                    );
                }
            }
        }
        self.cm_volumes = cm_volumes;
    }

    /// Port variables (`X_PORT=5672`, literal or from a ConfigMap): a sibling host variable
    /// (`X_HOST`, `X_HOSTNAME`) without a port names that port.
    fn port_vars(&self, c: &ContainerView<'_>) -> BTreeMap<String, u16> {
        let mut port_vars: BTreeMap<String, u16> = BTreeMap::new();
        for ef in c.env_from {
            if let Some(data) = ef.config_map_ref.as_ref().and_then(|r| self.data(&r.name)) {
                let prefix = ef.prefix.as_deref().unwrap_or("");
                for (key, v) in data {
                    if let Ok(p) = v.trim().parse::<u16>() {
                        port_vars.insert(format!("{prefix}{key}"), p);
                    }
                }
            }
        }
        for e in c.env {
            let v = e.value.clone().or_else(|| {
                e.value_from
                    .as_ref()
                    .and_then(|vf| vf.config_map_key_ref.as_ref())
                    .and_then(|r| self.data(&r.name)?.get(&r.key).cloned())
            });
            match v.and_then(|v| v.trim().parse::<u16>().ok()) {
                Some(p) => {
                    port_vars.insert(e.name.clone(), p);
                }
                None => {
                    port_vars.remove(&e.name);
                }
            }
        }
        port_vars
    }

    /// The hosts each `env` entry names, and what `$(NAME)` expands to after them, in the
    /// kubelet's order: `envFrom` first, then each `env` entry in turn (a literal value
    /// expanded with those before it).
    fn env(&mut self, c: &ContainerView<'_>, ports: &BTreeMap<String, u16>) -> Vars {
        let mut vars = Vars::new();
        for ef in c.env_from {
            let Some(data) = ef.config_map_ref.as_ref().and_then(|r| self.data(&r.name)) else {
                continue;
            };
            let prefix = ef.prefix.as_deref().unwrap_or("");
            for (key, v) in data {
                vars.insert(format!("{prefix}{key}"), (v.clone(), true));
            }
        }
        for e in c.env {
            if let Some(v) = &e.value {
                let (value, hidden) = expand(v, &vars);
                let source = Source::Env {
                    var: e.name.clone(),
                }
                .expanded(hidden);
                let refs = pair_port(&e.name, value_refs(&e.name, &value), ports);
                self.push(c.name, source, refs);
                if crate::checks::env_literal_secret::classify(&e.name, v).is_some() {
                    // A literal secret never goes into another value.
                    vars.remove(&e.name);
                } else {
                    vars.insert(e.name.clone(), (value, hidden));
                }
            } else if let Some(r) = e
                .value_from
                .as_ref()
                .and_then(|vf| vf.config_map_key_ref.as_ref())
                && let Some(v) = self.data(&r.name).and_then(|d| d.get(&r.key))
            {
                let refs = pair_port(&e.name, value_refs(&e.name, v), ports);
                self.push(
                    c.name,
                    Source::ConfigMap {
                        var: e.name.clone(),
                        config_map: r.name.clone(),
                        key: r.key.clone(),
                    },
                    refs,
                );
                vars.insert(e.name.clone(), (v.clone(), true));
            } else {
                // A Secret, field or resource: its value is not known (and `$(NAME)` then
                // expands to something we cannot see, so it stays as written).
                vars.remove(&e.name);
            }
        }
        vars
    }

    /// The hosts the ConfigMaps of `envFrom` name, one variable per key.
    fn env_from(&mut self, c: &ContainerView<'_>, ports: &BTreeMap<String, u16>) {
        for ef in c.env_from {
            let Some(r) = &ef.config_map_ref else {
                continue;
            };
            let Some(data) = self.data(&r.name) else {
                continue;
            };
            let prefix = ef.prefix.as_deref().unwrap_or("");
            for (key, v) in data {
                let var = format!("{prefix}{key}");
                let refs = pair_port(&var, value_refs(&var, v), ports);
                self.push(
                    c.name,
                    Source::ConfigMap {
                        var,
                        config_map: r.name.clone(),
                        key: key.clone(),
                    },
                    refs,
                );
            }
        }
    }

    /// The hosts `command` and `args` name, with `$(NAME)` expanded from the whole env.
    fn command_and_args(&mut self, c: &ContainerView<'_>, vars: &Vars) {
        for (source, list) in [(Source::Command, c.command), (Source::Args, c.args)] {
            let mut hidden = false;
            let expanded: Vec<String> = list
                .iter()
                .map(|a| {
                    let (v, h) = expand(a, vars);
                    hidden |= h;
                    without_url_queries(&v).into_owned()
                })
                .collect();
            let tokens: Vec<&str> = expanded
                .iter()
                .flat_map(|a| a.split(is_separator))
                .filter(|t| !t.is_empty())
                .collect();
            self.push(c.name, source.expanded(hidden), context_refs(&tokens));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(text: &str) -> HostRef {
        let v = host_refs(text);
        assert_eq!(v.len(), 1, "{text}: {v:?}");
        v.into_iter().next().unwrap()
    }

    fn hp(text: &str) -> (String, Option<u16>, Form) {
        let r = one(text);
        (r.host, r.port, r.form)
    }

    #[test]
    fn bare_service_names_and_namespaced_forms() {
        assert_eq!(hp("redis"), ("redis".into(), None, Form::Bare));
        assert_eq!(hp("redis.cache"), ("redis.cache".into(), None, Form::Bare));
        assert_eq!(
            hp("redis.cache.svc"),
            ("redis.cache.svc".into(), None, Form::Bare)
        );
        assert_eq!(
            hp("redis.cache.svc.cluster.local."),
            ("redis.cache.svc.cluster.local".into(), None, Form::Bare)
        );
    }

    #[test]
    fn host_and_port() {
        assert_eq!(
            hp("cartservice:7070"),
            ("cartservice".into(), Some(7070), Form::HostPort)
        );
        assert_eq!(
            hp("emoji-svc.emojivoto:8080"),
            ("emoji-svc.emojivoto".into(), Some(8080), Form::HostPort)
        );
        assert_eq!(
            hp("redis-cart:6379/0"),
            ("redis-cart".into(), Some(6379), Form::HostPort)
        );
        assert_eq!(
            hp("server.1=zk-0.zk-hs:2888:3888"),
            ("zk-0.zk-hs".into(), Some(2888), Form::HostPort)
        );
        assert!(host_refs("image:tag").is_empty());
        assert!(host_refs("redis:99999").is_empty());
    }

    #[test]
    fn urls_lose_user_info_path_and_query() {
        let r = one("postgres://app:hunter2@db.shop.svc.cluster.local:5432/orders?ssl=1");
        assert_eq!(r.host, "db.shop.svc.cluster.local");
        assert_eq!(r.port, Some(5432));
        assert_eq!(r.scheme.as_deref(), Some("postgres"));
        assert_eq!(r.form, Form::Url);
        assert!(!format!("{r:?}").contains("hunter2"));
        let r = one("http://frontend/");
        assert_eq!(
            (r.host.as_str(), r.port, r.effective_port()),
            ("frontend", None, Some(80))
        );
        let r = one("jdbc:mysql://mysql:3306/db");
        assert_eq!(
            (r.host.as_str(), r.port, r.scheme.as_deref()),
            ("mysql", Some(3306), Some("mysql"))
        );
        let r = one("https://[2001:db8::1]:8443/x");
        assert_eq!((r.host.as_str(), r.port), ("2001:db8::1", Some(8443)));
        assert!(host_refs("file:///etc/config").is_empty());
    }

    #[test]
    fn several_hosts_in_one_value_and_flags() {
        let v = host_refs("kafka-0.kafka:9092,kafka-1.kafka:9092");
        assert_eq!(v.len(), 2);
        let v = host_refs_with_keys("--redis-host=redis-master --port 6379");
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].0.host, "redis-master");
        assert_eq!(v[0].1.as_deref(), Some("redis-host"));
        let v = host_refs("until nslookup mydb; do sleep 2; done");
        let hosts: Vec<&str> = v.iter().map(|r| r.host.as_str()).collect();
        assert!(hosts.contains(&"mydb"), "{hosts:?}");
    }

    #[test]
    fn paths_versions_numbers_upper_case_and_loopback_are_not_hosts() {
        for t in [
            "/tmp/logs",
            "dist/index_bundle.js",
            "1.2.3",
            "8080",
            "INFO",
            "True",
            "localhost:8080",
            "127.0.0.1:9000",
            "0.0.0.0:8080",
            "http://${FRONTEND_ADDR}",
            "user@example",
        ] {
            assert!(host_refs(t).is_empty(), "{t}: {:?}", host_refs(t));
        }
    }

    #[test]
    fn variable_names_that_say_not_a_host() {
        assert!(name_says_not_a_host("WORDPRESS_DB_USER"));
        assert!(name_says_not_a_host("MYSQL_DATABASE"));
        assert!(name_says_not_a_host("OTEL_SERVICE_NAME"));
        assert!(name_says_not_a_host("db-password"));
        assert!(name_says_not_a_host("API_TOKEN_FOR_HOST"));
        assert!(!name_says_not_a_host("WORDPRESS_DB_HOST"));
        assert!(!name_says_not_a_host("CART_SERVICE_ADDR"));
        assert!(!name_says_not_a_host("GET_HOSTS_FROM"));
        assert!(name_says_address("REDIS_URL"));
        assert!(name_says_address("--db-host"));
        assert!(!name_says_address("USERS"));
        assert!(!name_says_address("GET_HOSTS_FROM"));
        assert!(name_says_address("PEER_ADDR_2"));
    }

    fn workload(v: serde_json::Value) -> Workload {
        Workload::from_value(v).unwrap().unwrap()
    }

    /// Found on the OpenTelemetry demo: every service exports to
    /// `http://$(OTEL_COLLECTOR_NAME):4317`, which the kubelet expands before the app starts;
    /// unexpanded, no collector flow was seen and all of them were cut.
    #[test]
    fn dependent_env_values_expand_like_the_kubelet() {
        let vars: Vars = [
            ("A".to_string(), ("otel-collector".to_string(), false)),
            ("C".to_string(), ("cm-host".to_string(), true)),
        ]
        .into();
        assert_eq!(
            expand("http://$(A):4317", &vars),
            ("http://otel-collector:4317".to_string(), false)
        );
        assert_eq!(
            expand("$$(A) $(B) $(C) $", &vars),
            ("$(A) $(B) cm-host $".to_string(), true)
        );
        assert_eq!(expand("$(A", &vars), ("$(A".to_string(), false));

        let w = workload(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "cart", "namespace": "demo"},
            "spec": {"template": {"metadata": {"labels": {"app": "cart"}}, "spec": {
                "containers": [{"name": "cart", "image": "x",
                    "args": ["--metrics=$(OTEL_COLLECTOR_NAME):8888"],
                    "command": ["run", "--upstream=$(BROKER)"],
                    "envFrom": [{"configMapRef": {"name": "cfg"}}],
                    "env": [
                        {"name": "LATER", "value": "$(OTEL_COLLECTOR_NAME)"},
                        {"name": "OTEL_COLLECTOR_NAME", "value": "otel-collector"},
                        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://$(OTEL_COLLECTOR_NAME):4317"},
                        {"name": "API_TOKEN", "value": "tok3n-9f8e7d6c5b4a3928171605f4e3d2c1b0"},
                        {"name": "SINK_HOST", "value": "$(API_TOKEN)"},
                        {"name": "BROKER_URL", "value": "amqp://$(BROKER)/"}
                    ]}]}}}
        }));
        let cms: Vec<ConfigMap> = vec![
            serde_json::from_value(json!({"metadata": {"name": "cfg", "namespace": "demo"},
                "data": {"BROKER": "rabbit:5672"}}))
            .unwrap(),
        ];
        let m = mentions(&w, &cms);
        let found: Vec<(String, Option<u16>, String, bool)> = m
            .iter()
            .map(|m| {
                (
                    m.host.host.clone(),
                    m.host.port,
                    m.source.to_string(),
                    m.source.may_show_value(),
                )
            })
            .collect();
        let has = |host: &str, port: Option<u16>, source: &str, shown: bool| {
            found.contains(&(host.to_string(), port, source.to_string(), shown))
        };
        assert!(
            has(
                "otel-collector",
                Some(4317),
                "env OTEL_EXPORTER_OTLP_ENDPOINT",
                true
            ),
            "{found:?}"
        );
        assert!(has("otel-collector", Some(8888), "args", true), "{found:?}");
        // A ConfigMap value expanded into a literal is used, never shown.
        assert!(
            has(
                "rabbit",
                Some(5672),
                "env BROKER_URL (with ConfigMap values)",
                false
            ),
            "{found:?}"
        );
        assert!(
            has(
                "rabbit",
                Some(5672),
                "command (with ConfigMap values)",
                false
            ),
            "{found:?}"
        );
        // Only earlier entries expand an env value (the kubelet's order).
        assert!(!found.iter().any(|f| f.2 == "env LATER"), "{found:?}");
        // A literal secret never goes into another value.
        assert!(!found.iter().any(|f| f.0.contains("tok3n")), "{found:?}");
    }

    /// Found on spring-petclinic: `…/db?useSSL=false&zipkinServiceName=visits` made `visits`
    /// a named Service (its `&` split the query into words), and its real caller was cut.
    #[test]
    fn url_queries_and_fragments_name_no_hosts() {
        let url = "jdbc:mysql://reports-db:3306/db?useSSL=false&zipkinServiceName=visits";
        let hosts = |refs: Vec<(HostRef, bool)>| -> Vec<String> {
            refs.into_iter().map(|(r, _)| r.display()).collect()
        };
        assert_eq!(
            hosts(value_refs("SPRING_DATASOURCE_URL", url)),
            ["reports-db:3306"]
        );
        assert_eq!(
            hosts(value_refs(
                "UPSTREAMS",
                "http://a:1/x?h=b&k=c#frag&d, http://e:2?q=f&r=g"
            )),
            ["a:1", "e:2"]
        );
        let words = ["--url=http://web/?next=db&x=cache", "--cache", "redis:6379"];
        let refs: Vec<String> = context_refs(
            &without_url_queries(&words.join(" "))
                .split(is_separator)
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>(),
        )
        .into_iter()
        .map(|(r, _)| r.display())
        .collect();
        assert_eq!(refs, ["web", "redis:6379"]);
    }

    /// Found on eShopOnContainers: ADO.NET connection strings name the server as
    /// `tcp:host,port`, and `Host=` values may be upper case.
    #[test]
    fn sql_server_connection_strings_name_their_server() {
        let hosts = |var: &str, v: &str| -> Vec<String> {
            value_refs(var, v)
                .into_iter()
                .map(|(r, _)| r.host)
                .collect()
        };
        assert_eq!(
            hosts(
                "ConnectionString",
                "Server=tcp:sql-data,1433;Initial Catalog=Ordering;User Id=sa"
            ),
            ["sql-data"]
        );
        assert_eq!(
            hosts("ConnectionString", "Host=SQL-DATA;Port=1433;Database=x"),
            ["sql-data"]
        );
        // Without an address key, upper-case words stay words.
        assert!(hosts("LOG_SETTINGS", "INFO;Verbose=True").is_empty());
    }

    #[test]
    fn kafka_quorum_voters_name_their_hosts() {
        let refs = host_refs("1@kafka-0.kafka:9093,2@kafka-1.kafka:9093");
        let hosts: Vec<(&str, Option<u16>)> =
            refs.iter().map(|r| (r.host.as_str(), r.port)).collect();
        assert_eq!(
            hosts,
            [("kafka-0.kafka", Some(9093)), ("kafka-1.kafka", Some(9093))]
        );
        // An e-mail address or `user@host` without a scheme is not a destination.
        assert!(host_refs("ops@example.com admin@db:5432").is_empty());
    }

    #[test]
    fn mentions_from_env_args_command_and_config_maps() {
        let w = workload(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                "initContainers": [{"name": "wait", "image": "busybox",
                    "command": ["sh", "-c", "until nc -z db 5432; do sleep 1; done"]}],
                "containers": [{"name": "app", "image": "x",
                    "args": ["--cache=redis:6379", "--password", "redis"],
                    "env": [
                        {"name": "CART_SERVICE_ADDR", "value": "cartservice:7070"},
                        {"name": "DB_USER", "value": "db"},
                        {"name": "QUEUE_URL", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "queue"}}},
                        {"name": "OTHER", "valueFrom": {"configMapKeyRef": {"name": "missing", "key": "k"}}}
                    ],
                    "envFrom": [{"configMapRef": {"name": "all"}, "prefix": "X_"}]}]}}}
        }));
        let cms: Vec<ConfigMap> = vec![
            serde_json::from_value(json!({"metadata": {"name": "cfg", "namespace": "shop"},
                "data": {"queue": "amqp://guest:guest@rabbit:5672/", "unread": "other-svc:80"}}))
            .unwrap(),
            serde_json::from_value(json!({"metadata": {"name": "all", "namespace": "shop"},
                "data": {"SEARCH_HOST": "search.tools", "ADMIN_PASSWORD": "search"}}))
            .unwrap(),
            serde_json::from_value(json!({"metadata": {"name": "cfg", "namespace": "other"},
                "data": {"queue": "wrong:1"}}))
            .unwrap(),
        ];
        let m = mentions(&w, &cms);
        // Every word is a candidate; only those that name a Service will count later.
        let known = [
            "db",
            "cartservice",
            "rabbit",
            "search.tools",
            "search",
            "redis",
        ];
        let got: Vec<(String, String, String)> = m
            .iter()
            .filter(|m| known.contains(&m.host.host.as_str()))
            .map(|m| (m.container.clone(), m.source.to_string(), m.host.display()))
            .collect();
        let want = |c: &str, s: &str, h: &str| (c.to_string(), s.to_string(), h.to_string());
        assert_eq!(
            got,
            vec![
                want("wait", "command", "db"),
                want("app", "env CART_SERVICE_ADDR", "cartservice:7070"),
                want(
                    "app",
                    "env QUEUE_URL from ConfigMap cfg key queue",
                    "rabbit:5672"
                ),
                want(
                    "app",
                    "env X_SEARCH_HOST from ConfigMap all key SEARCH_HOST",
                    "search.tools"
                ),
                want("app", "args", "redis:6379"),
            ],
            "{m:#?}"
        );
        assert!(
            m.iter()
                .all(|m| m.host.host != "other-svc" && m.host.host != "wrong")
        );
        assert!(
            m.iter()
                .find(|m| m.host.host == "search.tools")
                .unwrap()
                .named_as_address
        );
    }

    fn words(text: &str) -> Vec<String> {
        let tokens: Vec<&str> = text.split(is_separator).filter(|t| !t.is_empty()).collect();
        context_refs(&tokens)
            .into_iter()
            .map(|(r, _)| r.display())
            .collect()
    }

    #[test]
    fn bare_words_in_commands_and_files_need_an_address_context() {
        // A word that happens to be a Service name is no evidence on its own: it would take
        // the "assumed" reachability away from that Service's real callers.
        assert!(words("python -m user --workers 4").is_empty());
        assert!(words("job_name: cart").is_empty());
        assert_eq!(words("redis-cli -h redis -p 6379 ping"), ["redis"]);
        assert_eq!(words("until nslookup mydb; do sleep 2; done"), ["mydb"]);
        assert_eq!(words("nc -z db 5432"), ["db"]);
        assert_eq!(words("--db-host db --password db"), ["db"]);
        assert_eq!(words("host: redis\nport: 6379\nuser: redis"), ["redis"]);
        assert_eq!(words("DB_HOST=db"), ["db"]);
        assert_eq!(
            words("location / { proxy_pass http://backend:8080; }"),
            ["backend:8080"]
        );
        assert_eq!(
            words("upstream cache.data.svc.cluster.local"),
            ["cache.data.svc.cluster.local"]
        );
    }

    #[test]
    fn mounted_config_map_files_are_read_only_for_the_projected_keys() {
        let w = workload(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "proxy", "namespace": "shop"},
            "spec": {"template": {"spec": {
                "containers": [{"name": "nginx", "volumeMounts": [
                    {"name": "conf", "mountPath": "/etc/nginx/conf.d"},
                    {"name": "proj", "mountPath": "/etc/x"}]}],
                "volumes": [
                    {"name": "conf", "configMap": {"name": "nginx"}},
                    {"name": "proj", "projected": {"sources": [{"configMap": {"name": "more",
                        "items": [{"key": "used", "path": "u"}]}}]}},
                    {"name": "unmounted", "configMap": {"name": "other"}}]}}}
        }));
        let cms: Vec<ConfigMap> = vec![
            serde_json::from_value(json!({"metadata": {"name": "nginx", "namespace": "shop"},
                "data": {"default.conf": "server { location / { proxy_pass http://web:8080; } }"}}))
            .unwrap(),
            serde_json::from_value(json!({"metadata": {"name": "more", "namespace": "shop"},
                "data": {"used": "api:9000", "unused": "nope:1"}}))
            .unwrap(),
            serde_json::from_value(json!({"metadata": {"name": "other", "namespace": "shop"},
                "data": {"x": "other:1"}}))
            .unwrap(),
        ];
        let got: Vec<(String, String)> = mentions(&w, &cms)
            .into_iter()
            .map(|m| (m.source.to_string(), m.host.display()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "file default.conf of ConfigMap nginx".to_string(),
                    "web:8080".to_string()
                ),
                (
                    "file used of ConfigMap more".to_string(),
                    "api:9000".to_string()
                ),
            ]
        );
        assert!(
            !Source::ConfigMapFile {
                config_map: "a".into(),
                key: "b".into()
            }
            .may_show_value()
        );
    }
}
