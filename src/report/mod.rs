//! Scan output: the aligned table (`-o table`), the versioned JSON/YAML document
//! (`-o json|yaml`) and SARIF 2.1.0 (`-o sarif`).
//!
//! Every renderer is a pure function of a [`Report`] and returns text **without** a trailing
//! newline, so the caller prints it with `println!` to stdout. Findings are rendered in the
//! order the scanner put them in the report; renderers never reorder them, so output is as
//! deterministic as the report itself.
//!
//! Nothing here can leak a secret value: a [`Finding`] (and its [`crate::model::Detail`])
//! never holds one, and the renderers only print what the finding holds.
//!
//! The JSON/YAML document is a public, versioned interface (`apiVersion: secfix.dev/v1`,
//! `kind: ScanReport`); `docs/scan-report.md` describes it and its compatibility promise.

mod json;
mod sarif;
mod table;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{CheckId, Finding, Severity};

pub use json::{ReportError, ScanReport, to_json, to_yaml};
pub use sarif::{FINGERPRINT_KEY, SARIF_SCHEMA_URI, to_sarif};
pub use table::{render_table, render_warnings};

/// `apiVersion` of the JSON/YAML scan report document.
pub const API_VERSION: &str = "secfix.dev/v1";
/// `kind` of the JSON/YAML scan report document.
pub const KIND: &str = "ScanReport";

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
}

impl Report {
    /// Counts findings by severity, fixability and check.
    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            total: self.findings.len(),
            suppressed: self.suppressed,
            scanned: self.scanned,
            by_check: CheckId::ALL.into_iter().map(|c| (c, 0)).collect(),
            ..Summary::default()
        };
        for f in &self.findings {
            match f.severity {
                Severity::High => s.high += 1,
                Severity::Medium => s.medium += 1,
                Severity::Low => s.low += 1,
            }
            if f.fixable {
                s.fixable += 1;
            }
            *s.by_check.entry(f.check).or_default() += 1;
        }
        s
    }

    /// The highest severity among the findings (`None` when there are none); the CLI
    /// compares it with `--fail-on` for exit code 3.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

impl Summary {
    /// One line for humans:
    /// `5 findings (2 high, 3 medium, 0 low), 3 fixable, 1 suppressed, 12 objects scanned`.
    pub fn line(&self) -> String {
        format!(
            "{} ({} high, {} medium, {} low), {} fixable, {} suppressed, {} scanned",
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

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Detail;

    fn finding(check: CheckId, severity: Severity, fixable: bool) -> Finding {
        Finding {
            check,
            severity,
            namespace: "ns".into(),
            kind: "Deployment".into(),
            api_version: "apps/v1".into(),
            name: "web".into(),
            container: Some("app".into()),
            path: "/spec/template/spec/containers/0/image".into(),
            message: "m".into(),
            fixable,
            not_fixable_reason: None,
            source: None,
            detail: Detail::Image {
                image: "nginx".into(),
                digest: None,
                digest_source: None,
            },
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
            warnings: vec![],
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
    fn summary_serializes_camel_case_with_check_ids() {
        let v = serde_json::to_value(Report::default().summary()).unwrap();
        assert_eq!(v["byCheck"]["env-literal-secret"], 0);
        assert!(v.get("by_check").is_none());
    }
}
