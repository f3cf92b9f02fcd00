//! `untrusted-registry`: container images (init, regular and ephemeral) that come from a
//! registry the organisation does not allow.
//!
//! The policy is `--allowed-registries LIST`: registry hosts or host/path prefixes
//! (`ghcr.io/acme,registry.k8s.io`). A namespace can narrow it, never widen it, with the
//! annotation `secfix.dev/allowed-registries` (same syntax): an image in that namespace must
//! be allowed by both lists. Without `--allowed-registries` the check does not run, and
//! asking for it with `--checks` is a usage error.
//!
//! Matching is on the reference as the runtime pulls it: `nginx` is
//! `docker.io/library/nginx`, `index.docker.io/x/y` is `docker.io/x/y`. An entry allows a
//! repository that equals it or lies below it, component by component, so `ghcr.io/acme`
//! allows `ghcr.io/acme/app` but neither `ghcr.io/acme-evil/app` nor
//! `ghcr.io.evil.example/acme/app`. Hosts compare case-insensitively and include the port
//! (`localhost:5000` is not `localhost`). An image reference that does not parse is left to
//! `mutable-image-tag`, which reports it.
//!
//! There is no automatic fix: the image has to be mirrored into an allowed registry.

use crate::model::{ImageRef, Workload};

use crate::checks::{CheckId, Finding, Severity};

use super::{Check, CheckContext, Evidence, Fixer, Images, Meta, Scan};
use super::options::{CheckOptions, Flag, Takes, Value};
use super::{ScanOptions, workload_finding};

/// The namespace annotation that narrows `--allowed-registries`.
pub(crate) const ANNOTATION: &str = "secfix.dev/allowed-registries";

/// What an `untrusted-registry` finding records: the facts its fix needs, never a secret's value. Serialized
/// into the finding's `detail` with its `type`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Detail {
    /// An image from a registry outside the allowed list.
    #[serde(rename_all = "camelCase")]
    UntrustedImage {
        image: String,
        /// The normalised repository (`docker.io/library/nginx`), as compared with the list.
        repository: String,
        /// The allowed registries in force for this object (flag, narrowed by its namespace).
        allowed: Vec<String>,
    },
}

impl super::CheckDetail for Detail {
    fn delivery(&self) -> Option<super::Delivery> {
        None
    }

    fn set_delivery(&mut self, _: Option<super::Delivery>) {}

    /// One image per container; a finding without a container keeps its field.
    fn identity(&self, container: Option<&str>, path: &str) -> String {
        match container {
            Some(_) => String::new(),
            None => format!(":{path}"),
        }
    }

    fn subject(&self) -> Option<String> {
        None
    }

    fn moved_literal(&self) -> Option<&str> {
        None
    }

    fn rank(&self) -> u8 {
        0
    }

    fn pin(&self) -> Option<(&str, &str)> {
        None
    }
}

/// The check's definition (registered in the table of [`super`]).
pub static CHECK: UntrustedRegistry = UntrustedRegistry;

/// The untrusted-registry check.
#[derive(Debug)]
pub struct UntrustedRegistry;

static META: Meta = Meta {
    id: CheckId::UntrustedRegistry,
    name: "untrusted-registry",
    title: "Container image comes from a registry that is not allowed",
    help: "Images should come only from registries the organisation trusts and scans. \
           The check compares every image with --allowed-registries (narrowed per namespace \
           by the secfix.dev/allowed-registries annotation). There is no automatic fix: \
           mirror the image into an allowed registry and change the reference.",
    finds: "an image from a registry outside `--allowed-registries` (narrowed per namespace by `secfix.dev/allowed-registries`); runs only with that flag",
    remedy: "nothing: mirror the image into an allowed registry",
    severity: Severity::High,
    tags: &["supply-chain"],
};

impl Check for UntrustedRegistry {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn unavailable(&self, opts: &ScanOptions) -> Option<&'static str> {
        needs_list(opts)
    }

    fn evidence(&self, _opts: &ScanOptions) -> Evidence {
        Evidence {
            namespace_annotations: true,
            ..Evidence::NONE
        }
    }

    fn scan(&self) -> Scan {
        Scan::Workload(check)
    }

    fn fixer(&self) -> Option<Fixer> {
        None
    }

    fn images(&self) -> Option<&'static dyn Images> {
        None
    }
}

/// The check's options: the list of `--allowed-registries`.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Registries (hosts or host/path prefixes) images may come from; `None`: no policy,
    /// and the check does not run.
    pub allowed: Option<AllowList>,
}

impl CheckOptions for Options {
    const FLAGS: &'static [Flag] = &[Flag {
        long: "allowed-registries",
        value_name: "LIST",
        help: "Registries images may come from: hosts or host/path prefixes, comma-separated \
               (e.g. `ghcr.io/acme,registry.k8s.io`). Turns on the untrusted-registry check; a \
               namespace's `secfix.dev/allowed-registries` annotation narrows it",
        takes: Takes::Once,
        file: None,
        group: None,
        requires: &[],
    }];

    fn set(&mut self, _flag: &str, value: Value<'_>) -> Result<(), String> {
        self.allowed = Some(AllowList::parse(value.text())?);
        Ok(())
    }

    fn finish(&mut self) -> Result<(), String> {
        Ok(())
    }
}

fn needs_list(opts: &ScanOptions) -> Option<&'static str> {
    opts.options
        .untrusted_registry
        .allowed
        .is_none()
        .then_some("needs --allowed-registries (the registries images may come from)")
}

/// A list of allowed registries: each entry a host (`registry.k8s.io`, `localhost:5000`)
/// or a host and path prefix (`ghcr.io/acme`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowList {
    entries: Vec<String>,
}

impl AllowList {
    /// Parses a comma-separated list. Entries are trimmed, hosts lowercased, `docker.io`
    /// aliases normalised; an entry that is not `host[:port][/path]` is an error naming it.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut entries = Vec::new();
        for raw in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            entries.push(normalise_entry(raw)?);
        }
        if entries.is_empty() {
            return Err("the list is empty".to_string());
        }
        entries.sort();
        entries.dedup();
        Ok(AllowList { entries })
    }

    /// The entries, normalised, sorted.
    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    /// Whether `repository` (`registry/path`, normalised as [`ImageRef::full_name`]) is
    /// allowed by some entry.
    pub fn allows(&self, repository: &str) -> bool {
        self.entries.iter().any(|e| {
            repository == e
                || repository
                    .strip_prefix(e.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    }
}

fn normalise_entry(raw: &str) -> Result<String, String> {
    if raw.contains("://") {
        return Err(format!(
            "{raw:?}: give a registry host or host/path, without a scheme"
        ));
    }
    let trimmed = raw.trim_end_matches('/');
    let (host, path) = match trimmed.split_once('/') {
        Some((h, p)) => (h, Some(p)),
        None => (trimmed, None),
    };
    let host = host.to_ascii_lowercase();
    let is_host = host.contains('.') || host.contains(':') || host == "localhost";
    if !is_host {
        return Err(format!(
            "{raw:?} is not a registry host (a host has a dot or a port, or is localhost); \
             for Docker Hub write docker.io/{trimmed}"
        ));
    }
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '[' | ']')
            })
    };
    if !valid(&host) || path.is_some_and(|p| !p.split('/').all(valid)) {
        return Err(format!("{raw:?} is not a registry host or host/path"));
    }
    let host = match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" => "docker.io".to_string(),
        _ => host,
    };
    Ok(match path {
        Some(p) => format!("{host}/{p}"),
        None => host,
    })
}

/// The namespace's own list, if it has the annotation. Entries that do not parse allow
/// nothing, so a broken annotation can only make the policy stricter.
fn namespace_list(ctx: &CheckContext<'_>) -> Option<AllowList> {
    let value = ctx.namespace.annotations.get(ANNOTATION)?;
    let entries = value
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .filter_map(|e| normalise_entry(e).ok())
        .collect();
    Some(AllowList { entries })
}

/// Every container of `w` whose image is not allowed.
pub fn check(w: &Workload, ctx: &CheckContext<'_>) -> Vec<Finding> {
    let Some(flag) = &ctx.opts.options.untrusted_registry.allowed else {
        return Vec::new();
    };
    let narrowed = namespace_list(ctx);
    let in_force: Vec<String> = match &narrowed {
        Some(ns) => ns
            .entries
            .iter()
            .filter(|e| flag.allows(e))
            .cloned()
            .collect(),
        None => flag.entries.clone(),
    };
    let mut out = Vec::new();
    for c in w.containers() {
        let Some(image) = c.image.filter(|i| !i.trim().is_empty()) else {
            continue;
        };
        let Ok(r) = ImageRef::parse(image) else {
            continue;
        };
        let registry = r.registry.to_ascii_lowercase();
        let repository = format!("{registry}/{}", r.repository);
        let allowed =
            flag.allows(&repository) && narrowed.as_ref().is_none_or(|n| n.allows(&repository));
        if allowed {
            continue;
        }
        let mut f = workload_finding(
            w,
            CheckId::UntrustedRegistry,
            Severity::High,
            &c,
                crate::model::ContainerField::Image,
            format!("{image}: {repository} is not from an allowed registry"),
            crate::checks::Detail::UntrustedRegistry(Detail::UntrustedImage {
                image: image.to_string(),
                repository,
                allowed: in_force.clone(),
            }),
        );
        f.fixable = false;
        f.not_fixable_reason = Some(
            "no automatic fix: mirror the image into an allowed registry and change the reference"
                .to_string(),
        );
        out.push(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::NamespaceFacts;
    use crate::checks::tests::deployment;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn opts(list: &str) -> ScanOptions {
        let mut o = ScanOptions::default();
        o.options.untrusted_registry.allowed = Some(AllowList::parse(list).unwrap());
        o
    }

    fn run(list: &str, ns: &NamespaceFacts, images: &[&str]) -> Vec<String> {
        let containers: Vec<_> = images
            .iter()
            .enumerate()
            .map(|(i, im)| json!({"name": format!("c{i}"), "image": im}))
            .collect();
        let w = deployment("web", json!({"containers": containers}));
        let o = opts(list);
        check(
            &w,
            &CheckContext {
                opts: &o,
                namespace: ns,
            },
        )
        .into_iter()
        .map(|f| match f.detail {
            crate::checks::Detail::UntrustedRegistry(Detail::UntrustedImage { repository, .. }) => repository,
            d => panic!("{d:?}"),
        })
        .collect()
    }

    #[test]
    fn docker_hub_short_names_are_normalised_as_the_runtime_pulls_them() {
        let ns = NamespaceFacts::default();
        assert_eq!(
            run("ghcr.io/acme", &ns, &["nginx", "redis:7"]),
            ["docker.io/library/nginx", "docker.io/library/redis"]
        );
        assert!(run("docker.io/library", &ns, &["nginx:1.25", "index.docker.io/library/redis"]).is_empty());
        assert!(run("index.docker.io", &ns, &["bitnami/redis"]).is_empty());
    }

    #[test]
    fn prefixes_match_whole_components_only() {
        let ns = NamespaceFacts::default();
        let bad = run(
            "ghcr.io/acme,registry.k8s.io",
            &ns,
            &[
                "ghcr.io/acme/app:1",
                "ghcr.io/acme",
                "GHCR.IO/acme/app",
                "ghcr.io/acme-evil/app",
                "ghcr.io.evil.example/acme/app",
                "registry.k8s.io/pause:3.9",
                "evil.example/registry.k8s.io/pause",
            ],
        );
        assert_eq!(
            bad,
            [
                "ghcr.io/acme-evil/app",
                "ghcr.io.evil.example/acme/app",
                "evil.example/registry.k8s.io/pause"
            ]
        );
    }

    #[test]
    fn ports_are_part_of_the_host() {
        let ns = NamespaceFacts::default();
        assert_eq!(
            run("localhost", &ns, &["localhost:5000/app", "localhost/app"]),
            ["localhost:5000/app"]
        );
    }

    #[test]
    fn namespace_annotation_narrows_never_widens() {
        let ns = NamespaceFacts {
            annotations: BTreeMap::from([(
                ANNOTATION.to_string(),
                "ghcr.io/acme/team-a, quay.io".to_string(),
            )]),
            ..NamespaceFacts::default()
        };
        let bad = run(
            "ghcr.io/acme",
            &ns,
            &["ghcr.io/acme/team-a/app", "ghcr.io/acme/team-b/app", "quay.io/x/y"],
        );
        assert_eq!(bad, ["ghcr.io/acme/team-b/app", "quay.io/x/y"]);
        // A broken annotation allows nothing.
        let broken = NamespaceFacts {
            annotations: BTreeMap::from([(ANNOTATION.to_string(), "nonsense".to_string())]),
            ..NamespaceFacts::default()
        };
        assert_eq!(run("ghcr.io", &broken, &["ghcr.io/a/b"]), ["ghcr.io/a/b"]);
    }

    #[test]
    fn init_and_ephemeral_containers_are_checked() {
        let w = deployment(
            "web",
            json!({"initContainers": [{"name": "i", "image": "busybox"}],
                   "containers": [{"name": "c", "image": "ghcr.io/acme/app"}],
                   "ephemeralContainers": [{"name": "e", "image": "alpine"}]}),
        );
        let o = opts("ghcr.io/acme");
        let ns = NamespaceFacts::default();
        let found = check(
            &w,
            &CheckContext {
                opts: &o,
                namespace: &ns,
            },
        );
        let containers: Vec<_> = found.iter().map(|f| f.container.clone().unwrap()).collect();
        assert_eq!(containers, ["i", "e"]);
        assert!(found.iter().all(|f| !f.fixable && f.severity == Severity::High));
        assert_eq!(
            found[0].path,
            "/spec/template/spec/initContainers/0/image"
        );
    }

    #[test]
    fn list_syntax_errors_name_the_entry() {
        assert!(AllowList::parse("https://ghcr.io").unwrap_err().contains("scheme"));
        assert!(AllowList::parse("acme").unwrap_err().contains("docker.io/acme"));
        assert!(AllowList::parse(" , ").unwrap_err().contains("empty"));
        assert_eq!(
            AllowList::parse("Registry.K8s.io/, ghcr.io/acme").unwrap().entries(),
            ["ghcr.io/acme", "registry.k8s.io"]
        );
    }

    #[test]
    fn without_a_list_the_check_does_not_run_and_naming_it_is_a_usage_error() {
        let mut o = ScanOptions::default();
        assert!(!o.enabled(CheckId::UntrustedRegistry));
        assert!(o.validate().is_ok());
        o.checks.insert(CheckId::UntrustedRegistry);
        let e = o.validate().unwrap_err().to_string();
        assert!(e.contains("--allowed-registries"), "{e}");
        o.options.untrusted_registry.allowed = Some(AllowList::parse("ghcr.io").unwrap());
        assert!(o.enabled(CheckId::UntrustedRegistry));
        assert!(o.validate().is_ok());
    }
}
