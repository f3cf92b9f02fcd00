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

use super::CheckId;

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
        /// How the fix would deliver it (fixable findings only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delivery: Option<Delivery>,
    },
    /// `envFrom[i].secretRef`.
    #[serde(rename_all = "camelCase")]
    SecretRef {
        secret: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
        optional: bool,
        /// How the fix would deliver it (fixable findings only): always `app-change`, since
        /// no variable can name files whose keys the fix never reads.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delivery: Option<Delivery>,
    },
    /// A literal value that looks like a secret; `reason` says why (never the value).
    #[serde(rename_all = "camelCase")]
    LiteralSecret {
        env: String,
        reason: String,
        /// How the fix would deliver it (fixable findings only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delivery: Option<Delivery>,
    },
    /// A namespace direction not isolated by any policy.
    #[serde(rename_all = "camelCase")]
    Unisolated {
        direction: Direction,
        /// Workloads (and bare pods) whose pods no policy isolates in this direction.
        workloads: Vec<String>,
    },
    /// An image from a registry outside the allowed list.
    #[serde(rename_all = "camelCase")]
    UntrustedImage {
        image: String,
        /// The normalised repository (`docker.io/library/nginx`), as compared with the list.
        repository: String,
        /// The allowed registries in force for this object (flag, narrowed by its namespace).
        allowed: Vec<String>,
    },
    /// An image whose signature does not verify (`unsigned-image`).
    #[serde(rename_all = "camelCase")]
    Unsigned {
        image: String,
        /// The digest whose signatures were checked, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        digest: Option<String>,
        /// Where that digest came from (`reference`, `pods` or `registry`).
        #[serde(skip_serializing_if = "Option::is_none")]
        digest_source: Option<String>,
        /// The names of the `--signature-key` keys in force for this object (narrowed by its
        /// namespace's `secfix.dev/signature-keys`).
        keys: Vec<String>,
        /// Why it failed; `None` while the verification is pending.
        #[serde(skip_serializing_if = "Option::is_none")]
        problem: Option<crate::checks::unsigned_image::Problem>,
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

impl Detail {
    /// How the fix would deliver a moved secret, for the env findings that carry it.
    pub fn delivery(&self) -> Option<Delivery> {
        match self {
            Detail::SecretKeyRef { delivery, .. }
            | Detail::SecretRef { delivery, .. }
            | Detail::LiteralSecret { delivery, .. } => *delivery,
            _ => None,
        }
    }

    /// Sets the delivery of an env finding (others have none).
    pub(crate) fn set_delivery(&mut self, d: Option<Delivery>) {
        match self {
            Detail::SecretKeyRef { delivery, .. }
            | Detail::SecretRef { delivery, .. }
            | Detail::LiteralSecret { delivery, .. } => *delivery = d,
            _ => {}
        }
    }
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
