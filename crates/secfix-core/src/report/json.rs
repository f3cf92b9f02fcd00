//! The versioned scan report document behind `-o json` and `-o yaml`.
//!
//! JSON and YAML carry the same document ([`ScanReport`]); the YAML is written with
//! serde-saphyr. `docs/scan-report.md` documents every field and the compatibility promise
//! of `apiVersion: secfix.dev/v1`.

use serde::{Deserialize, Serialize};

use super::{API_VERSION, ContextStatus, KIND, Report, Summary};
use crate::checks::Finding;

/// The JSON/YAML scan report, field for field as written.
///
/// It is also `Deserialize`, so tools (and tests) written in Rust can read a saved report
/// back; readers should check [`ScanReport::api_version`] first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanReport {
    /// Always [`API_VERSION`] (`secfix.dev/v1`) for this shape.
    pub api_version: String,
    /// Always [`KIND`] (`ScanReport`).
    pub kind: String,
    /// Every finding, serialized as [`Finding`] (camelCase keys).
    pub findings: Vec<Finding>,
    pub summary: Summary,
    /// Non-finding messages (API versions fallen back to, lists forbidden by RBAC, …).
    pub warnings: Vec<String>,
    /// Input that could not be read (`-f` files and documents, by file and line); absent
    /// when there is none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<super::InputError>,
    /// How each context went, in a scan of several contexts; absent otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contexts: Vec<ContextStatus>,
}

impl From<&Report> for ScanReport {
    fn from(r: &Report) -> Self {
        ScanReport {
            api_version: API_VERSION.to_string(),
            kind: KIND.to_string(),
            findings: r.findings.clone(),
            summary: r.summary(),
            warnings: r.warnings.clone(),
            errors: r.errors.clone(),
            contexts: r.contexts.clone(),
        }
    }
}

/// Writing the report failed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write the scan report as YAML: {0}")]
    Yaml(#[from] serde_saphyr::SerializeError),
}

/// The report as pretty-printed JSON (2-space indent, no trailing newline).
pub fn to_json(report: &Report) -> String {
    pretty_json(&ScanReport::from(report))
}

/// The same document as [`to_json`], as YAML (no trailing newline).
pub fn to_yaml(report: &Report) -> Result<String, ReportError> {
    let yaml = serde_saphyr::to_string(&ScanReport::from(report))?;
    Ok(yaml.trim_end().to_string())
}

/// Pretty JSON for types whose serialization cannot fail.
///
/// `serde_json` only fails on maps with non-string keys or on a `Serialize` impl that
/// returns an error; every type written here is derived and keyed by strings (or by
/// unit enums such as `CheckId`, which serialize as strings), so the error branch is
/// unreachable. It still yields valid JSON naming the problem instead of panicking.
pub(super) fn pretty_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| {
        serde_json::json!({ "error": format!("cannot serialize the scan report: {e}") }).to_string()
    })
}
