//! Findings: what a check reports, in the shape every output format serializes.

use serde::{Deserialize, Serialize};

use crate::model::SourceLocation;

/// How bad a finding is. Ordered: `Low < Medium < High`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

use super::{CheckId, Detail};

/// How a secret moved into a file reaches the app (see `fix::file_env`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Delivery {
    /// The image reads the file through the variable the fix sets (the file-variable table
    /// says so, or the user named the variable with `--file-env`).
    Native,
    /// Not known: the app must be changed to read the file.
    AppChange,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Native => "native",
            Delivery::AppChange => "app-change",
        }
    }
}

impl std::fmt::Display for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "Ingress",
            Direction::Egress => "Egress",
        }
    }
}

/// Which cluster a finding was read from, in a scan of several kubeconfig contexts
/// (`--all-contexts`, `--contexts`). Serialized into the finding itself, as `context` and
/// `server`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ContextRef {
    /// The kubeconfig context's name.
    pub context: String,
    /// The API server URL of the context's cluster.
    pub server: String,
}

/// One risky thing found in one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The context (and its server) the finding comes from, in a scan of several contexts;
    /// `None` otherwise.
    #[serde(default, flatten, skip_serializing_if = "Option::is_none")]
    pub origin: Option<ContextRef>,
    pub check: CheckId,
    pub severity: Severity,
    pub namespace: String,
    pub kind: String,
    pub api_version: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// JSON pointer to the offending field in the object (empty for the object itself).
    pub path: String,
    /// The same field, typed, when it is a container's field and the finding was made by a
    /// check in this run (not kept in reports: a finding read back from JSON has none, and
    /// is never fixed). Fixes find the container and field from it, never by parsing
    /// `path`.
    #[serde(skip)]
    pub at: Option<crate::model::FieldRef>,
    pub message: String,
    pub fixable: bool,
    /// Why `fixable` is false, when a fix exists for the check in general.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_fixable_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceLocation>,
    pub detail: Detail,
    /// The finding is in the `--baseline` report given (same identity, see
    /// `report::identity`): reported, but it does not fail the run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub baseline: bool,
}

impl Finding {
    /// `kind/name`, as kubectl prints objects.
    pub fn object(&self) -> String {
        format!("{}/{}", self.kind.to_lowercase(), self.name)
    }

    /// The kubeconfig context the finding comes from, in a scan of several contexts.
    pub fn context(&self) -> Option<&str> {
        self.origin.as_ref().map(|o| o.context.as_str())
    }
}
