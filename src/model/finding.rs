//! Findings: what a check reports, in the shape every output format serializes.

use serde::{Deserialize, Serialize};

use super::workload::SourceLocation;

/// How bad a finding is. Ordered: `Low < Medium < High`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
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

/// The stable id of each check. These strings are part of the public interface
/// (`--checks`, `secfix.dev/ignore`, JSON and SARIF rule ids).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum CheckId {
    /// `env[].valueFrom.secretKeyRef` and `envFrom[].secretRef`.
    EnvSecret,
    /// A literal `env[].value` that looks like a secret.
    EnvLiteralSecret,
    /// A namespace whose pods no NetworkPolicy isolates.
    DefaultAllowNamespace,
    /// An image reference without `@sha256:`.
    MutableImageTag,
}

impl CheckId {
    pub const ALL: [CheckId; 4] = [
        CheckId::EnvSecret,
        CheckId::EnvLiteralSecret,
        CheckId::DefaultAllowNamespace,
        CheckId::MutableImageTag,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckId::EnvSecret => "env-secret",
            CheckId::EnvLiteralSecret => "env-literal-secret",
            CheckId::DefaultAllowNamespace => "default-allow-namespace",
            CheckId::MutableImageTag => "mutable-image-tag",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// One line on what the check finds (SARIF rule description, `--help`).
    pub fn summary(self) -> &'static str {
        match self {
            CheckId::EnvSecret => "Secret exposed through an environment variable",
            CheckId::EnvLiteralSecret => "Secret-looking literal value in an environment variable",
            CheckId::DefaultAllowNamespace => "Namespace pods are not isolated by a NetworkPolicy",
            CheckId::MutableImageTag => "Container image is not pinned by digest",
        }
    }

    /// Why it matters and what the fix does (SARIF rule help, docs).
    pub fn help(self) -> &'static str {
        match self {
            CheckId::EnvSecret => {
                "Environment variables leak into child processes, crash dumps and `kubectl describe`. \
                 The fix mounts the Secret as a read-only volume, removes the variable and sets \
                 <NAME>_FILE to the file's path."
            }
            CheckId::EnvLiteralSecret => {
                "A secret written into the pod spec is readable by anyone who can read the workload. \
                 The fix moves the value into a Secret and mounts it read-only."
            }
            CheckId::DefaultAllowNamespace => {
                "Without a NetworkPolicy selecting a pod, all traffic to and from it is allowed. \
                 The fix adds a default-deny NetworkPolicy (allowing DNS egress by default)."
            }
            CheckId::MutableImageTag => {
                "A tag can be moved to different content at any time, so what runs can change \
                 without a deploy. The fix pins the digest that is running or that the registry serves."
            }
        }
    }
}

impl std::fmt::Display for CheckId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Check-specific facts a fix needs. Never holds a secret's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Detail {
    /// `env[i].valueFrom.secretKeyRef`.
    #[serde(rename_all = "camelCase")]
    SecretKeyRef {
        env: String,
        secret: String,
        key: String,
        optional: bool,
    },
    /// `envFrom[i].secretRef`.
    #[serde(rename_all = "camelCase")]
    SecretRef {
        secret: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
        optional: bool,
    },
    /// A literal value that looks like a secret; `reason` says why (never the value).
    #[serde(rename_all = "camelCase")]
    LiteralSecret { env: String, reason: String },
    /// A namespace direction not isolated by any policy.
    #[serde(rename_all = "camelCase")]
    Unisolated {
        direction: Direction,
        /// Workloads (and bare pods) whose pods no policy isolates in this direction.
        workloads: Vec<String>,
    },
    /// An image reference without a digest.
    #[serde(rename_all = "camelCase")]
    Image {
        image: String,
        /// The digest a fix would pin, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        digest: Option<String>,
        /// Where that digest came from (`pods` or `registry`).
        #[serde(skip_serializing_if = "Option::is_none")]
        digest_source: Option<String>,
    },
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

/// One risky thing found in one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
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
    pub message: String,
    pub fixable: bool,
    /// Why `fixable` is false, when a fix exists for the check in general.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_fixable_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceLocation>,
    pub detail: Detail,
}

impl Finding {
    /// `kind/name`, as kubectl prints objects.
    pub fn object(&self) -> String {
        format!("{}/{}", self.kind.to_lowercase(), self.name)
    }
}
