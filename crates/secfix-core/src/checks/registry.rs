//! What a check is: a type implementing [`Check`], defined in the check's own folder and
//! registered once in the table of [`super`]. Everything else about a check — `--checks`
//! values and their help, the `secfix.dev/ignore` annotation, SARIF rules, report names, fix
//! routing, the evidence read for it, the check tables in the docs — is read from here.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::networking::v1::NetworkPolicy;

use super::suppress::Ignore;
use super::{CheckId, ScanOptions};
use crate::checks::{Delivery, Finding, Severity};
use crate::model::signature::Fetched;
use crate::model::{ImageRef, Workload};

/// One check. Every method is required: the compiler asks a new check for its metadata,
/// when it can run, what it reads, how it scans and how (or whether) it is fixed.
pub trait Check: Sync + std::fmt::Debug {
    /// Its names, texts and severity.
    fn meta(&self) -> &'static Meta;
    /// Why it cannot run with these options (e.g. a required list is missing), or `None`.
    /// A check that cannot run is skipped when no `--checks` names it, and asking for it by
    /// name is a usage error.
    fn unavailable(&self, opts: &ScanOptions) -> Option<&'static str>;
    /// What it reads besides the objects it checks.
    fn evidence(&self, opts: &ScanOptions) -> Evidence;
    /// When and over what it runs.
    fn scan(&self) -> Scan;
    /// How `fix` fixes its findings; `None`: never fixable (listed as not fixable).
    fn fixer(&self) -> Option<Fixer>;
    /// What it asks of images after the scan (digests for its findings, signatures it
    /// verifies), or `None`. The binary gathers both and names no check.
    fn images(&self) -> Option<&'static dyn Images>;
}

/// The image evidence a check takes after the scan: the digest of an image its findings
/// name (the pods' agreed `imageID`, else the registry), and signatures verified against a
/// trust policy. The binary looks both up, for every check alike, and hands the answers back;
/// the wording of what was not found is the check's.
pub trait Images: Sync {
    /// The image whose digest `f` (a finding of this check) still needs, if any.
    fn digest_wanted(&self, f: &Finding) -> Option<DigestWanted>;
    /// Takes what the lookup found for `f` (a finding [`Images::digest_wanted`] asked
    /// for). Returns an error of the run, if it is one (the run then exits 1).
    fn take_digest(&self, f: &mut Finding, lookup: DigestLookup) -> Option<String>;
    /// Whether, with these options, it verifies signatures: of its own findings and of each
    /// digest any fix would pin ([`CheckDetail::pin`]), whether or not it is selected.
    fn verifies(&self, opts: &ScanOptions) -> bool;
    /// The image and digest whose signatures `f` (any check's finding) needs verified.
    fn signature_wanted(&self, opts: &ScanOptions, f: &Finding) -> Option<(ImageRef, String)>;
    /// Settles `findings` with the signatures fetched for what [`Images::signature_wanted`]
    /// asked: returns the findings that remain and the errors of the run.
    /// `namespaces` holds the annotations of each known namespace (a policy narrowed per
    /// namespace).
    fn take_signatures(
        &self,
        opts: &ScanOptions,
        findings: Vec<Finding>,
        fetched: &Fetched,
        namespaces: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> (Vec<Finding>, BTreeSet<String>);
}

/// An image whose digest a finding needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestWanted {
    pub image: ImageRef,
    /// Whether the pods' `imageID`s may answer (not for an ephemeral container, whose fix
    /// is never made).
    pub from_pods: bool,
    /// Whether the registry is asked without `--digest-source` even where the command asks
    /// only the pods by default (a live `scan`): the check reads the registry anyway.
    pub registry_by_default: bool,
}

/// Where a digest came from (findings record it as `digestSource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DigestFrom {
    /// The image reference itself names it (`@sha256:…`).
    Reference,
    /// The running pods agree on it.
    Pods,
    /// The registry serves it for the tag.
    Registry,
}

/// What looking up one finding's digest gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestLookup {
    /// Nothing was asked: `-f` without `--digest-source`.
    Offline,
    /// What was asked, and the answers.
    Looked {
        /// The digest, and where from.
        found: Option<(String, DigestFrom)>,
        /// Why the pods did not answer, when they were asked and did not.
        pods: Option<String>,
        /// Why the registry did not answer, when it was asked and did not.
        registry: Option<String>,
    },
}

/// What code outside a check's folder may ask of its findings' detail, whatever the check
/// ([`super::Detail::get`]). Every method is required, so a new check answers each.
pub trait CheckDetail {
    /// How the fix would deliver a moved secret (the env checks), else `None`.
    fn delivery(&self) -> Option<Delivery>;
    /// Sets it (a check without a delivery ignores it).
    fn set_delivery(&mut self, delivery: Option<Delivery>);
    /// What tells the finding apart from the other findings of its check on the same object
    /// and container, for its identity (baseline, SARIF fingerprints): e.g. `:env=TOKEN`.
    /// `container` and `path` are the finding's.
    fn identity(&self, container: Option<&str>, path: &str) -> String;
    /// A few words on what the finding is about (`TOKEN`, `envFrom Secret db`), or `None`
    /// for its path.
    fn subject(&self) -> Option<String>;
    /// The env variable whose literal value the fix moves into a Secret, if it does.
    fn moved_literal(&self) -> Option<&str>;
    /// The order of findings at the same place (Ingress before Egress); 0 for most.
    fn rank(&self) -> u8;
    /// The image and the digest the fix would pin it to, if it pins one (a check that
    /// verifies signatures vets it).
    fn pin(&self) -> Option<(&str, &str)>;
}

/// What a check is called and says about itself.
#[derive(Debug)]
pub struct Meta {
    pub id: CheckId,
    /// The id as written in flags, annotations and reports (`env-secret`): a stable, public
    /// interface.
    pub name: &'static str,
    /// One line on what it finds (SARIF `shortDescription`, `--checks` help).
    pub title: &'static str,
    /// Why it matters and what the fix does (SARIF `help`).
    pub help: &'static str,
    /// What it finds, for the check tables of the README and docs (Markdown, one line).
    pub finds: &'static str,
    /// What `fix` does about it, for the same tables (Markdown, one line).
    pub remedy: &'static str,
    /// The severity its findings usually have (SARIF `defaultConfiguration`); a finding may
    /// carry another.
    pub severity: Severity,
    /// SARIF tags besides `security` and `kubernetes`.
    pub tags: &'static [&'static str],
}

/// What a check reads besides the objects it checks. The readers (in the I/O crate and the
/// binary) ask the selected checks, never name one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evidence {
    /// The annotations of each workload's Namespace beyond `secfix.dev/ignore` (a policy
    /// narrowed per namespace): Namespace objects are then read before their workloads.
    pub namespace_annotations: bool,
    /// The digest each image runs: pods' `imageID`s, or the registry.
    pub image_digests: bool,
    /// The signatures of those digests (the registry).
    pub image_signatures: bool,
    /// Who talks to whom: NetworkPolicies, Services, Ingresses, Gateway routes, the API
    /// server's address and its callers (webhooks, aggregated APIs, CRD conversion), and the
    /// ConfigMaps that name hosts. A live run lists and reads them only when a check that
    /// runs asks: on a large cluster they are many requests (CRDs alone can be megabytes),
    /// and each needs a permission the other checks do not.
    pub traffic: bool,
}

impl Evidence {
    /// Nothing beyond the objects.
    pub const NONE: Evidence = Evidence {
        namespace_annotations: false,
        image_digests: false,
        image_signatures: false,
        traffic: false,
    };

    /// What `self` or `other` needs.
    pub fn union(self, other: Evidence) -> Evidence {
        Evidence {
            namespace_annotations: self.namespace_annotations || other.namespace_annotations,
            image_digests: self.image_digests || other.image_digests,
            image_signatures: self.image_signatures || other.image_signatures,
            traffic: self.traffic || other.traffic,
        }
    }
}

/// How a check's findings are fixed.
#[derive(Debug, Clone, Copy)]
pub enum Fixer {
    /// Patched into the plan of the workload the finding is about (`fix::workload` builds
    /// the plan; the check's own fix gathers its edit).
    Workload(&'static dyn crate::fix::workload::WorkloadFix),
    /// One plan per namespace (`fix::network_policy` builds the policies; the check's own
    /// fix says what each finding asks to isolate).
    Namespace(&'static dyn crate::fix::network_policy::NamespaceFix),
}

/// When and over what a check runs.
#[derive(Clone, Copy)]
pub enum Scan {
    /// Per workload, as objects arrive.
    Workload(fn(&Workload, &CheckContext<'_>) -> Vec<Finding>),
    /// Per namespace, once every workload and NetworkPolicy has been read.
    Namespace(fn(&NamespaceInput<'_>) -> Vec<Finding>),
}

impl std::fmt::Debug for Scan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Scan::Workload(_) => "Scan::Workload",
            Scan::Namespace(_) => "Scan::Namespace",
        })
    }
}

/// What a per-workload check may look at besides the workload.
#[derive(Debug, Clone, Copy)]
pub struct CheckContext<'a> {
    pub opts: &'a ScanOptions,
    /// Facts about the workload's namespace (default when its Namespace object is not known).
    pub namespace: &'a NamespaceFacts,
}

/// The pods one workload makes, as the namespace check sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodGroup {
    /// `Kind/name` (e.g. `Deployment/web`), as namespace checks list it.
    pub workload: String,
    /// The pod template's labels (a bare Pod's own).
    pub labels: BTreeMap<String, String>,
}

impl PodGroup {
    pub fn of(w: &Workload) -> Self {
        PodGroup {
            workload: format!("{}/{}", w.kind, w.name()),
            labels: w.pod_labels.clone(),
        }
    }
}

/// What a per-namespace check looks at.
#[derive(Debug, Clone, Copy)]
pub struct NamespaceInput<'a> {
    pub namespace: &'a str,
    /// The pods of the namespace's workloads (and bare Pods).
    pub pods: &'a [PodGroup],
    pub policies: &'a [NetworkPolicy],
    pub opts: &'a ScanOptions,
}

/// What the annotations of a Namespace object say to the checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamespaceFacts {
    /// `secfix.dev/ignore`.
    pub ignore: Ignore,
    /// The raw annotations, for checks that read their own (`secfix.dev/allowed-registries`).
    pub annotations: BTreeMap<String, String>,
}

impl CheckId {
    /// The check's definition.
    pub fn def(self) -> &'static dyn Check {
        super::definition(self)
    }

    /// Its names, texts and severity.
    pub fn meta(self) -> &'static Meta {
        self.def().meta()
    }

    /// The id as written in flags, annotations and reports (`env-secret`).
    pub fn as_str(self) -> &'static str {
        self.meta().name
    }

    /// The check named `s` (exactly as [`CheckId::as_str`] writes it).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// One line on what the check finds.
    pub fn title(self) -> &'static str {
        self.meta().title
    }

    /// Why it matters and what the fix does.
    pub fn help(self) -> &'static str {
        self.meta().help
    }

    /// The severity its findings usually have.
    pub fn severity(self) -> Severity {
        self.meta().severity
    }
}

impl std::fmt::Display for CheckId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for CheckId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for CheckId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CheckId::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown check {s:?} (known: {})",
                CheckId::ALL.map(CheckId::as_str).join(", ")
            ))
        })
    }
}

/// The checks to run with `opts`, in registry order. Checks that cannot run with these
/// options are left out, and so is everything `--checks` does not name.
pub fn selected(opts: &ScanOptions) -> impl Iterator<Item = CheckId> + '_ {
    CheckId::ALL
        .into_iter()
        .filter(|c| opts.checks.is_empty() || opts.checks.contains(c))
        .filter(|c| c.def().unavailable(opts).is_none())
}

/// Checks that `--checks` names explicitly but cannot run with `opts`, with the reason.
pub(crate) fn unavailable(opts: &ScanOptions) -> Vec<(CheckId, &'static str)> {
    let named: BTreeSet<CheckId> = opts.checks.iter().copied().collect();
    named
        .into_iter()
        .filter_map(|c| c.def().unavailable(opts).map(|why| (c, why)))
        .collect()
}

/// The anchor of a check's row in the README's check table (`check-env-secret`): SARIF rules
/// link to it (`helpUri`).
pub fn readme_anchor(id: CheckId) -> String {
    format!("check-{}", id.as_str())
}

/// The Markdown table of every check (README and docs/scan-report.md carry it between
/// `<!-- checks -->` markers; a test keeps them in step with the definitions).
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| check (`--checks` id) | default severity | what it finds | what `fix` does |\n\
         |---|---|---|---|\n",
    );
    for id in CheckId::ALL {
        let c = id.meta();
        out.push_str(&format!(
            "| <a id=\"{}\"></a>`{}` | {} | {} | {} |\n",
            readme_anchor(id),
            c.name,
            c.severity,
            c.finds,
            c.remedy
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list, the ids and the definitions agree: each id's definition names that id,
    /// names are unique kebab-case, and each has a title and help.
    #[test]
    fn every_check_is_registered_once_under_its_own_id() {
        let mut names = BTreeSet::new();
        for id in CheckId::ALL {
            let def = id.meta();
            assert_eq!(def.id, id, "{} is registered under {:?}", def.name, id);
            assert!(names.insert(def.name), "duplicate check name {}", def.name);
            assert!(
                def.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{} is not kebab-case",
                def.name
            );
            assert!(
                !def.title.is_empty() && !def.help.is_empty(),
                "{}",
                def.name
            );
            assert_eq!(CheckId::parse(def.name), Some(id));
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(json, format!("\"{}\"", def.name));
            assert_eq!(serde_json::from_str::<CheckId>(&json).unwrap(), id);
        }
        assert!(serde_json::from_str::<CheckId>("\"nope\"").is_err());
    }

    /// A check is a folder under `checks/` and one line in the table: a folder the table
    /// does not name would never be compiled, and fails here.
    #[test]
    fn every_check_folder_is_in_the_table() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/checks");
        let folders: BTreeSet<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().unwrap().is_dir())
            .map(|e| e.file_name().to_string_lossy().replace('_', "-"))
            .collect();
        let table: BTreeSet<String> = CheckId::ALL.iter().map(|c| c.to_string()).collect();
        assert_eq!(folders, table, "checks/ folders and the check table differ");
    }

    #[test]
    fn fix_route_matches_run_kind() {
        for id in CheckId::ALL {
            let def = id.def();
            match (def.scan(), def.fixer()) {
                (Scan::Namespace(_), Some(Fixer::Workload(_)))
                | (Scan::Workload(_), Some(Fixer::Namespace(_))) => {
                    panic!("{}: fix route does not match how it runs", id)
                }
                (Scan::Namespace(_) | Scan::Workload(_), _) => {}
            }
        }
    }
}
