//! Scan output: the versioned JSON/YAML document (`-o json|yaml`), SARIF 2.1.0 (`-o sarif`),
//! and the overviews for people: a self-contained HTML page (`-o html`) and Markdown for CI
//! job summaries and pull-request comments (`-o markdown`). The terminal renderings of the
//! same [`Report`] (`-o table|wide|name|summary`) style for a terminal and live in the
//! binary's `ui`.
//!
//! Every renderer is a pure function of a [`Report`] and returns text **without** a trailing
//! newline, so the caller prints it with `println!` to stdout. The table and the HTML list
//! findings worst severity first (a stable sort: otherwise in the scanner's order, see
//! [`Report::worst_first`]); the machine formats keep the report's order. Output is as
//! deterministic as the report itself.
//!
//! Nothing here can leak a secret value: a [`Finding`] (and its [`crate::checks::Detail`])
//! never holds one, and the renderers only print what the finding holds.
//!
//! The JSON/YAML document is a public, versioned interface (`apiVersion: secfix.dev/v1`,
//! `kind: ScanReport`); `docs/scan-report.md` describes it and its compatibility promise.

mod html;
mod json;
mod markdown;
pub mod overview;
pub mod policy_report;
mod sarif;
pub mod stream;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checks::{CheckId, Finding, Severity};

pub use html::{content_security_policy, render_html};
pub use json::{ReportError, ScanReport, to_json, to_yaml};
pub use markdown::{MARKDOWN_LIMIT, render_markdown};
pub use overview::{CheckRow, NamespaceRow, NextStep, Overview};
pub use sarif::{FINGERPRINT_KEY, SARIF_SCHEMA_URI, to_sarif};

/// `apiVersion` of the JSON/YAML scan report document.
pub const API_VERSION: &str = "secfix.dev/v1";
/// `kind` of the JSON/YAML scan report document.
pub(crate) const KIND: &str = "ScanReport";

/// The outcome of one scan, as every output format sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// What the checks found (suppressed findings are not in here, only counted).
    pub findings: Vec<Finding>,
    /// Findings dropped by a `secfix.dev/ignore` annotation.
    pub suppressed: usize,
    /// Objects checked (workloads, pods and namespaces).
    pub scanned: usize,
    /// Things the user should know that are not findings, e.g.
    /// `"CronJob: batch/v1 not served, used batch/v1beta1"` or
    /// `"Deployments: forbidden (needs list deployments.apps)"`.
    pub warnings: Vec<String>,
    /// Input that could not be read: a `-f` path, file, document or object, by file and
    /// line. The rest was still scanned, and the run exits 1.
    pub errors: Vec<InputError>,
    /// Where the objects came from and how they were selected (report headers, suggested
    /// commands).
    pub origin: Origin,
    /// When the scan ran. The caller passes it in, so renderers stay pure functions of the
    /// report (and snapshots stable); `None` leaves the time out.
    pub time: Option<jiff::Timestamp>,
    /// How each context went, in a scan of several contexts (`--all-contexts`,
    /// `--contexts`), in the order they were given; empty otherwise.
    pub contexts: Vec<ContextStatus>,
}

/// How one context of a scan of several contexts went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextStatus {
    /// The kubeconfig context's name.
    pub context: String,
    /// The API server URL of its cluster (empty when the kubeconfig names none).
    pub server: String,
    /// `ok`, or `failed` when anything could not be read (or written).
    pub status: ContextState,
    /// Findings from this context (suppressed ones not counted).
    pub findings: usize,
    /// Objects checked in this context.
    pub scanned: usize,
    /// What went wrong, one message each (empty when `ok`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// [`ContextStatus::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContextState {
    /// Scanned completely.
    Ok,
    /// Unreachable, forbidden, misconfigured, or only partly read.
    Failed,
}

impl ContextState {
    pub fn as_str(self) -> &'static str {
        match self {
            ContextState::Ok => "ok",
            ContextState::Failed => "failed",
        }
    }
}

/// Input that could not be read (an `errors` entry of the JSON/YAML report, an error
/// notification in SARIF).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InputError {
    /// The path as given (`-` for stdin).
    pub file: String,
    /// 1-based line; absent when the problem is the file as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// What is wrong (never a value from the input).
    pub message: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Where a scan's objects came from and how they were selected: the header of the HTML and
/// Markdown reports, and the selection flags that suggested `kubectl secfix fix` commands
/// repeat so they act on what was scanned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub target: Target,
    /// The namespace scanned; with `-f`, the `-n` given to objects that name none. `None`:
    /// all namespaces (`-A`), or `-f` without `-n`.
    pub namespace: Option<String>,
    /// `-l` as given.
    pub selector: Option<String>,
    /// `--checks` as given (empty: not given). Suggested commands repeat it.
    pub checks: Vec<CheckId>,
    /// The checks that ran, in report order (empty: not said; then the ones `checks` names,
    /// or all). A check that did not run (e.g. `untrusted-registry` without
    /// `--allowed-registries`) is left out of the per-check overviews.
    pub ran: Vec<CheckId>,
    /// Further selection flags as given (`--include-system`, `--allowed-registries LIST`,
    /// `--signature-key PATH`, `--include-kinds …`, …), word by word: suggested commands repeat them, so a
    /// suggested `fix` selects what the scan selected.
    pub flags: Vec<String>,
}

/// What was scanned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Target {
    /// Not said (a report made by a library user, or a test).
    #[default]
    Unknown,
    /// A live cluster, through a kubeconfig context.
    Cluster {
        /// The context's name.
        context: Option<String>,
        /// The context's cluster, as the kubeconfig names it.
        cluster: Option<String>,
        /// `--kubeconfig` when it was given (suggested commands must repeat it).
        kubeconfig: Option<String>,
    },
    /// Manifests read with `-f`, as given (files, directories, `-` for stdin).
    Files(Vec<String>),
    /// Several kubeconfig contexts at once (`--all-contexts`, `--contexts`); each finding
    /// names its own context.
    Contexts {
        /// Their names, in scan order.
        contexts: Vec<String>,
        /// `--kubeconfig` when it was given (suggested commands must repeat it).
        kubeconfig: Option<String>,
        /// Neither `-n` nor `-A`: each context's own namespace was scanned.
        default_namespaces: bool,
    },
}

impl Origin {
    /// True when `check` ran (see [`Origin::ran`](Origin#structfield.ran)).
    pub(crate) fn did_run(&self, check: CheckId) -> bool {
        if self.ran.is_empty() {
            self.checks.is_empty() || self.checks.contains(&check)
        } else {
            self.ran.contains(&check)
        }
    }

    /// One line for report headers, e.g. `context admin (cluster prod), all namespaces` or
    /// `manifests deploy/, extra.yaml`.
    pub(crate) fn describe(&self) -> String {
        let mut parts = Vec::new();
        match &self.target {
            Target::Unknown => {}
            Target::Cluster {
                context, cluster, ..
            } => {
                let mut s = match context {
                    Some(c) => format!("context {c}"),
                    None => "cluster".to_string(),
                };
                if let Some(cluster) = cluster {
                    if context.is_some() {
                        s.push_str(&format!(" (cluster {cluster})"));
                    } else {
                        s = format!("cluster {cluster}");
                    }
                }
                parts.push(s);
            }
            Target::Files(paths) => {
                const SHOWN: usize = 5;
                let mut s = format!(
                    "{} {}",
                    if paths.len() == 1 {
                        "manifest"
                    } else {
                        "manifests"
                    },
                    paths
                        .iter()
                        .take(SHOWN)
                        .map(|p| if p == "-" { "<stdin>" } else { p.as_str() })
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                if paths.len() > SHOWN {
                    s.push_str(&format!(" and {} more", paths.len() - SHOWN));
                }
                parts.push(s);
            }
            Target::Contexts { contexts, .. } => {
                const SHOWN: usize = 5;
                let mut s = format!(
                    "{} {}",
                    if contexts.len() == 1 {
                        "context"
                    } else {
                        "contexts"
                    },
                    contexts
                        .iter()
                        .take(SHOWN)
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                if contexts.len() > SHOWN {
                    s.push_str(&format!(" and {} more", contexts.len() - SHOWN));
                }
                parts.push(s);
            }
        }
        match (&self.target, &self.namespace) {
            (Target::Files(_), Some(ns)) => parts.push(format!("default namespace {ns}")),
            (Target::Files(_) | Target::Unknown, None) => {}
            (
                Target::Contexts {
                    default_namespaces: true,
                    ..
                },
                None,
            ) => parts.push("each context's namespace".into()),
            (Target::Cluster { .. } | Target::Contexts { .. }, None) => {
                parts.push("all namespaces".into())
            }
            (_, Some(ns)) => parts.push(format!("namespace {ns}")),
        }
        if let Some(l) = &self.selector {
            parts.push(format!("selector {l}"));
        }
        if !self.checks.is_empty() {
            let ids: Vec<&str> = self.checks.iter().map(|c| c.as_str()).collect();
            parts.push(format!("checks {}", ids.join(",")));
        }
        parts.join(", ")
    }
}

/// Counts over a [`Report`], as serialized in the `summary` of the JSON/YAML document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Number of findings.
    pub total: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    /// Findings with `fixable: true`.
    pub fixable: usize,
    /// Findings dropped by a `secfix.dev/ignore` annotation.
    pub suppressed: usize,
    /// Objects checked.
    pub scanned: usize,
    /// Findings per check. Every check is present (with 0 when it found nothing), so
    /// consumers can rely on the keys.
    pub by_check: BTreeMap<CheckId, usize>,
    /// Findings that are in the `--baseline` report (absent when none are).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub baseline: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A finding's identity across runs and edits: check, object (`namespace/Kind/name`, with
/// `context@` in front in a scan of several contexts), container, and what inside the
/// container it is about (the env var's name, the `envFrom` Secret, the isolation
/// direction). Never an array index, a line, the message or the severity, so inserting an env
/// var above a finding, reformatting the file or a changed message keeps it. SARIF's
/// `partialFingerprints` and `--baseline` both use it.
pub fn identity(f: &Finding) -> String {
    let mut id = format!("{}:{}/{}/{}", f.check, f.namespace, f.kind, f.name);
    if let Some(context) = f.context() {
        id = format!("{context}@{id}");
    }
    if let Some(c) = &f.container {
        id.push_str(&format!(":container={c}"));
    }
    id.push_str(&f.detail.get().identity(f.container.as_deref(), &f.path));
    id
}

/// The findings of a previous `-o json` report (`--baseline FILE`), by [`identity`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    identities: std::collections::BTreeSet<String>,
}

impl Baseline {
    /// Reads a saved `-o json` (or `-o yaml`) scan report. `Err` says what is wrong with it.
    pub fn parse(text: &str) -> Result<Baseline, String> {
        let report: ScanReport = serde_json::from_str(text)
            .or_else(|_| serde_saphyr::from_str(text))
            .map_err(|e| format!("not a `-o json` scan report: {e}"))?;
        if report.kind != KIND {
            return Err(format!("kind {:?}, not a {KIND}", report.kind));
        }
        Ok(Baseline {
            identities: report.findings.iter().map(identity).collect(),
        })
    }

    /// Marks the findings of `report` that the baseline holds (`Finding::baseline`).
    pub fn mark(&self, report: &mut Report) {
        for f in &mut report.findings {
            self.mark_finding(f);
        }
    }

    /// Marks `f` when the baseline holds it (`Finding::baseline`).
    pub fn mark_finding(&self, f: &mut Finding) {
        f.baseline = self.identities.contains(&identity(f));
    }
}

impl Report {
    /// Counts findings by severity, fixability and check.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::empty(self.suppressed, self.scanned);
        for f in &self.findings {
            s.count(f);
        }
        s
    }

    /// The findings worst severity first (then in report order): the order the table and
    /// the HTML list them in, so high findings are not buried among medium ones.
    pub fn worst_first(&self) -> Vec<&Finding> {
        let mut v: Vec<&Finding> = self.findings.iter().collect();
        v.sort_by_key(|f| std::cmp::Reverse(f.severity));
        v
    }

    /// True for a scan of several contexts: the table then shows a CONTEXT column.
    pub fn is_multi_context(&self) -> bool {
        !self.contexts.is_empty() || self.findings.iter().any(|f| f.origin.is_some())
    }

    /// The highest severity among the findings (`None` when there are none).
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// The highest severity among the findings not in the baseline; the CLI compares it with
    /// `--fail-on` for exit code 3.
    pub fn worst_new(&self) -> Option<Severity> {
        self.findings
            .iter()
            .filter(|f| !f.baseline)
            .map(|f| f.severity)
            .max()
    }

    /// How many findings are in the baseline (`--baseline`).
    pub fn in_baseline(&self) -> usize {
        self.findings.iter().filter(|f| f.baseline).count()
    }
}

impl Summary {
    /// The counts of a report without findings yet (see [`Summary::count`]).
    pub fn empty(suppressed: usize, scanned: usize) -> Summary {
        Summary {
            suppressed,
            scanned,
            by_check: CheckId::ALL.into_iter().map(|c| (c, 0)).collect(),
            ..Summary::default()
        }
    }

    /// Counts one more finding.
    pub fn count(&mut self, f: &Finding) {
        self.total += 1;
        match f.severity {
            Severity::High => self.high += 1,
            Severity::Medium => self.medium += 1,
            Severity::Low => self.low += 1,
        }
        if f.fixable {
            self.fixable += 1;
        }
        if f.baseline {
            self.baseline += 1;
        }
        *self.by_check.entry(f.check).or_default() += 1;
    }

    /// One line for humans:
    /// `5 findings (2 high, 3 medium, 0 low), 3 fixable, 1 suppressed, 12 objects scanned`.
    pub fn line(&self) -> String {
        let baseline = if self.baseline > 0 {
            format!(
                ", {} in the baseline ({} new)",
                self.baseline,
                self.total - self.baseline
            )
        } else {
            String::new()
        };
        format!(
            "{} ({} high, {} medium, {} low), {} fixable, {} suppressed{baseline}, {} scanned",
            plural(self.total, "finding", "findings"),
            self.high,
            self.medium,
            self.low,
            self.fixable,
            self.suppressed,
            plural(self.scanned, "object", "objects"),
        )
    }
}

pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Detail;

    fn finding(check: CheckId, severity: Severity, fixable: bool) -> Finding {
        Finding {
            origin: None,
            check,
            severity,
            namespace: "ns".into(),
            kind: "Deployment".into(),
            api_version: "apps/v1".into(),
            name: "web".into(),
            container: Some("app".into()),
            path: "/spec/template/spec/containers/0/image".into(),
            at: None,
            message: "m".into(),
            fixable,
            not_fixable_reason: None,
            source: None,
            detail: Detail::MutableImageTag(crate::checks::mutable_image_tag::Detail::Image {
                image: "nginx".into(),
                digest: None,
                digest_source: None,
            }),
            baseline: false,
        }
    }

    #[test]
    fn summary_counts_everything() {
        let r = Report {
            findings: vec![
                finding(CheckId::MutableImageTag, Severity::High, true),
                finding(CheckId::MutableImageTag, Severity::Medium, false),
                finding(CheckId::EnvSecret, Severity::High, true),
            ],
            suppressed: 2,
            scanned: 7,
            ..Report::default()
        };
        let s = r.summary();
        assert_eq!((s.total, s.high, s.medium, s.low), (3, 2, 1, 0));
        assert_eq!((s.fixable, s.suppressed, s.scanned), (2, 2, 7));
        assert_eq!(s.by_check[&CheckId::MutableImageTag], 2);
        assert_eq!(s.by_check[&CheckId::EnvSecret], 1);
        assert_eq!(s.by_check[&CheckId::DefaultAllowNamespace], 0);
        assert_eq!(s.by_check.len(), CheckId::ALL.len());
        assert_eq!(r.worst(), Some(Severity::High));
        assert_eq!(
            s.line(),
            "3 findings (2 high, 1 medium, 0 low), 2 fixable, 2 suppressed, 7 objects scanned"
        );
    }

    #[test]
    fn empty_report() {
        let r = Report {
            scanned: 1,
            ..Report::default()
        };
        assert_eq!(r.worst(), None);
        assert_eq!(
            r.summary().line(),
            "0 findings (0 high, 0 medium, 0 low), 0 fixable, 0 suppressed, 1 object scanned"
        );
    }

    #[test]
    fn origin_is_described_in_one_line() {
        let mut o = Origin {
            target: Target::Cluster {
                context: Some("admin".into()),
                cluster: Some("prod".into()),
                kubeconfig: None,
            },
            ..Origin::default()
        };
        assert_eq!(o.describe(), "context admin (cluster prod), all namespaces");
        o.namespace = Some("shop".into());
        o.selector = Some("app=web".into());
        o.checks = vec![CheckId::EnvSecret, CheckId::MutableImageTag];
        assert_eq!(
            o.describe(),
            "context admin (cluster prod), namespace shop, selector app=web, checks env-secret,mutable-image-tag"
        );
        assert!(o.did_run(CheckId::EnvSecret) && !o.did_run(CheckId::EnvLiteralSecret));
        o.ran = vec![CheckId::EnvSecret];
        assert!(!o.did_run(CheckId::MutableImageTag));
        let files: Vec<String> = ["a.yaml", "-", "c", "d", "e", "f", "g"]
            .map(String::from)
            .to_vec();
        let o = Origin {
            target: Target::Files(files),
            ..Origin::default()
        };
        assert_eq!(
            o.describe(),
            "manifests a.yaml, <stdin>, c, d, e and 2 more"
        );
        assert!(o.did_run(CheckId::EnvLiteralSecret));
        assert_eq!(Origin::default().describe(), "");
        let mut o = Origin {
            target: Target::Contexts {
                contexts: vec!["prod".into(), "staging".into()],
                kubeconfig: None,
                default_namespaces: true,
            },
            ..Origin::default()
        };
        assert_eq!(
            o.describe(),
            "contexts prod, staging, each context's namespace"
        );
        if let Target::Contexts {
            default_namespaces, ..
        } = &mut o.target
        {
            *default_namespaces = false;
        }
        assert_eq!(o.describe(), "contexts prod, staging, all namespaces");
        o.namespace = Some("shop".into());
        assert_eq!(o.describe(), "contexts prod, staging, namespace shop");
    }

    #[test]
    fn summary_serializes_camel_case_with_check_ids() {
        let v = serde_json::to_value(Report::default().summary()).unwrap();
        assert_eq!(v["byCheck"]["env-literal-secret"], 0);
        assert!(v.get("by_check").is_none());
    }
}
