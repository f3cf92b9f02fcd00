//! The unit every check and fix works on: one object that carries a pod template (or is a Pod).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, EnvFromSource, EnvVar, PodSpec, VolumeMount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde::{Deserialize as _, Serialize};
use serde_json::Value;

/// Kinds of object that carry a pod spec, with where that spec lives in the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
    DaemonSet,
    ReplicaSet,
    ReplicationController,
    Job,
    CronJob,
    Pod,
}

impl WorkloadKind {
    pub const ALL: [WorkloadKind; 8] = [
        WorkloadKind::Deployment,
        WorkloadKind::StatefulSet,
        WorkloadKind::DaemonSet,
        WorkloadKind::ReplicaSet,
        WorkloadKind::ReplicationController,
        WorkloadKind::Job,
        WorkloadKind::CronJob,
        WorkloadKind::Pod,
    ];

    pub fn from_kind(kind: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == kind)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::DaemonSet => "DaemonSet",
            WorkloadKind::ReplicaSet => "ReplicaSet",
            WorkloadKind::ReplicationController => "ReplicationController",
            WorkloadKind::Job => "Job",
            WorkloadKind::CronJob => "CronJob",
            WorkloadKind::Pod => "Pod",
        }
    }

    /// JSON pointer of the pod spec inside an object of this kind.
    pub fn spec_pointer(self) -> &'static str {
        match self {
            WorkloadKind::Pod => "/spec",
            WorkloadKind::CronJob => "/spec/jobTemplate/spec/template/spec",
            _ => "/spec/template/spec",
        }
    }

    /// JSON pointer of the pod template's metadata (the object's own for a Pod).
    fn template_meta_pointer(self) -> &'static str {
        match self {
            WorkloadKind::Pod => "/metadata",
            WorkloadKind::CronJob => "/spec/jobTemplate/spec/template/metadata",
            _ => "/spec/template/metadata",
        }
    }

    /// The preferred `apiVersion` (the one a live listing asks for first).
    pub fn api_version(self) -> &'static str {
        match self {
            WorkloadKind::Pod | WorkloadKind::ReplicationController => "v1",
            WorkloadKind::Job | WorkloadKind::CronJob => "batch/v1",
            _ => "apps/v1",
        }
    }

    /// Kinds whose controller owns objects of this kind, so that an owned object's
    /// findings belong to its owner instead.
    pub fn owner_kinds(self) -> &'static [&'static str] {
        match self {
            WorkloadKind::Pod => &[
                "ReplicaSet",
                "StatefulSet",
                "DaemonSet",
                "Job",
                "ReplicationController",
            ],
            WorkloadKind::ReplicaSet => &["Deployment"],
            WorkloadKind::Job => &["CronJob"],
            _ => &[],
        }
    }
}

impl std::fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an object came from when read from a manifest file (`-f`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SourceLocation {
    /// The path as given on the command line (`-` for stdin).
    pub file: String,
    /// 1-based line of the document's first line.
    pub line: usize,
    /// 0-based index of the YAML document in the file.
    #[serde(skip, default)]
    pub document: usize,
    /// Index in `items` when the object came from a `kind: List` document.
    #[serde(skip, default)]
    pub item: Option<usize>,
}

/// An object that carries a pod spec, read live or from a manifest.
#[derive(Debug, Clone)]
pub struct Workload {
    pub kind: WorkloadKind,
    /// The object's own `apiVersion` (e.g. `batch/v1beta1` for an old CronJob).
    pub api_version: String,
    pub metadata: ObjectMeta,
    /// Labels of the pods this object makes (the template's labels; a Pod's own).
    pub pod_labels: BTreeMap<String, String>,
    pub spec: PodSpec,
    /// The whole object as read, so a fix can be previewed and applied to it.
    pub raw: Value,
    pub source: Option<SourceLocation>,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    #[error("{kind} {name}: has no pod spec at {pointer}")]
    MissingSpec {
        kind: WorkloadKind,
        name: String,
        pointer: &'static str,
    },
    #[error("{kind} {name}: invalid pod spec: {reason}")]
    InvalidSpec {
        kind: WorkloadKind,
        name: String,
        /// The parser's message with any echoed value redacted ([`without_values`]).
        reason: String,
    },
    #[error("invalid object metadata: {0}")]
    InvalidMeta(String),
}

/// A serde error message safe to print: "invalid type: string \"hunter2\", expected i32"
/// would echo a value from the spec (an env value can be a secret), so the whole offending
/// value is replaced with `<redacted>`, keeping only what kind of value it was
/// (`invalid type: string <redacted>, expected i32`). Messages that name fields ("missing
/// field `containers`") are kept as they are.
///
/// The value is cut at the *last* `, expected`: the expected part comes from the type being
/// read, never from the input, while the value itself may contain `", expected"`.
pub fn without_values(e: &serde_json::Error) -> String {
    redact_serde_message(&e.to_string())
}

/// [`without_values`] on a message.
pub fn redact_serde_message(msg: &str) -> String {
    let redacted = super::REDACTED;
    let (prefix, rest) = if let Some(rest) = msg.strip_prefix("invalid type: ") {
        ("invalid type: ", rest)
    } else if let Some(rest) = msg.strip_prefix("invalid value: ") {
        ("invalid value: ", rest)
    } else if let Some(rest) = msg.strip_prefix("unknown variant ") {
        // "unknown variant `VALUE`, expected one of …" or "…, there are no variants".
        let tail = rest
            .rfind(", expected")
            .or_else(|| rest.rfind(", there are no variants"))
            .map_or("", |i| &rest[i..]);
        return format!("unknown variant {redacted}{tail}");
    } else {
        return msg.to_string();
    };
    let (what, tail) = match rest.rfind(", expected") {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    // "string \"…\"", "integer `5`", "floating point `1.5`", "character `c`", "boolean
    // `true`": keep the words before the value. Words alone ("map", "sequence", "unit
    // value") hold no value and are kept.
    let what = match what.find(['"', '`']) {
        Some(i) => format!("{} {redacted}", what[..i].trim_end()),
        None => what.to_string(),
    };
    format!("{prefix}{what}{tail}")
}

impl Workload {
    /// Reads an object; `Ok(None)` when its kind carries no pod spec.
    pub fn from_value(raw: Value) -> Result<Option<Self>, WorkloadError> {
        let Some(kind) = raw
            .get("kind")
            .and_then(Value::as_str)
            .and_then(WorkloadKind::from_kind)
        else {
            return Ok(None);
        };
        let api_version = raw
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or(kind.api_version())
            .to_string();
        // Deserialized from borrowed values: no copy of the (large) spec or metadata.
        let metadata: ObjectMeta = match raw.get("metadata") {
            Some(m) => ObjectMeta::deserialize(m)
                .map_err(|e| WorkloadError::InvalidMeta(without_values(&e)))?,
            None => ObjectMeta::default(),
        };
        let name = metadata.name.clone().unwrap_or_default();
        let spec_value =
            raw.pointer(kind.spec_pointer())
                .ok_or_else(|| WorkloadError::MissingSpec {
                    kind,
                    name: name.clone(),
                    pointer: kind.spec_pointer(),
                })?;
        let spec = PodSpec::deserialize(spec_value).map_err(|e| WorkloadError::InvalidSpec {
            kind,
            name,
            reason: without_values(&e),
        })?;
        let pod_labels = raw
            .pointer(kind.template_meta_pointer())
            .and_then(|m| m.get("labels"))
            .and_then(|l| BTreeMap::deserialize(l).ok())
            .unwrap_or_default();
        Ok(Some(Workload {
            kind,
            api_version,
            metadata,
            pod_labels,
            spec,
            raw,
            source: None,
        }))
    }

    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or("")
    }

    pub fn namespace(&self) -> &str {
        self.metadata.namespace.as_deref().unwrap_or("default")
    }

    pub fn spec_pointer(&self) -> &'static str {
        self.kind.spec_pointer()
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(key))
            .map(String::as_str)
    }

    /// The controller owner reference, if any.
    pub fn controller(&self) -> Option<&OwnerReference> {
        self.metadata
            .owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true))
    }

    /// True when this object's findings belong to a controller that is scanned itself
    /// (Pod→ReplicaSet, ReplicaSet→Deployment, Job→CronJob, …). Objects owned by other
    /// controllers (custom resources) are reported on their own.
    pub fn is_owned_by_scanned_controller(&self) -> bool {
        self.controller()
            .is_some_and(|o| self.kind.owner_kinds().contains(&o.kind.as_str()))
    }
}

/// [`Workload::is_owned_by_scanned_controller`] read straight from an object's JSON, without
/// parsing it into a workload.
pub fn owned_by_scanned_controller(raw: &Value) -> bool {
    let Some(kind) = raw
        .get("kind")
        .and_then(Value::as_str)
        .and_then(WorkloadKind::from_kind)
    else {
        return false;
    };
    raw.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|o| o.get("controller").and_then(Value::as_bool) == Some(true))
        .filter_map(|o| o.get("kind").and_then(Value::as_str))
        .any(|k| kind.owner_kinds().contains(&k))
}

impl Workload {
    /// Every container of the pod spec: init containers, containers, ephemeral containers.
    pub fn containers(&self) -> Vec<ContainerRef<'_>> {
        containers_of(&self.spec, self.spec_pointer())
    }
}

/// Which list of the pod spec a container is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ContainerGroup {
    InitContainers,
    Containers,
    EphemeralContainers,
}

impl ContainerGroup {
    pub fn field(self) -> &'static str {
        match self {
            ContainerGroup::InitContainers => "initContainers",
            ContainerGroup::Containers => "containers",
            ContainerGroup::EphemeralContainers => "ephemeralContainers",
        }
    }
}

/// The container at `index` of `group` in `spec`, for changing it. Ephemeral containers
/// are never returned: they cannot be changed once added.
pub fn container_mut(
    spec: &mut PodSpec,
    group: ContainerGroup,
    index: usize,
) -> Option<&mut Container> {
    match group {
        ContainerGroup::Containers => spec.containers.get_mut(index),
        ContainerGroup::InitContainers => spec.init_containers.as_mut()?.get_mut(index),
        ContainerGroup::EphemeralContainers => None,
    }
}

/// A read-only view of one container, whichever list it is in.
#[derive(Debug, Clone, Copy)]
pub struct ContainerRef<'a> {
    pub group: ContainerGroup,
    pub index: usize,
    pub name: &'a str,
    pub image: Option<&'a str>,
    pub env: &'a [EnvVar],
    pub env_from: &'a [EnvFromSource],
    pub volume_mounts: &'a [VolumeMount],
    /// JSON pointer of the container inside the whole object.
    pub pointer: Pointer,
}

/// A JSON pointer to a container: `{spec_pointer}/{group}/{index}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pointer {
    pub spec: &'static str,
    pub group: ContainerGroup,
    pub index: usize,
}

impl std::fmt::Display for Pointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.spec, self.group.field(), self.index)
    }
}

fn slice<T>(v: &Option<Vec<T>>) -> &[T] {
    v.as_deref().unwrap_or(&[])
}

fn container_ref<'a>(
    c: &'a Container,
    group: ContainerGroup,
    index: usize,
    spec: &'static str,
) -> ContainerRef<'a> {
    ContainerRef {
        group,
        index,
        name: &c.name,
        image: c.image.as_deref(),
        env: slice(&c.env),
        env_from: slice(&c.env_from),
        volume_mounts: slice(&c.volume_mounts),
        pointer: Pointer { spec, group, index },
    }
}

/// Every container of `spec`, in the order init, regular, ephemeral.
pub fn containers_of<'a>(spec: &'a PodSpec, spec_pointer: &'static str) -> Vec<ContainerRef<'a>> {
    let mut out = Vec::new();
    for (i, c) in slice(&spec.init_containers).iter().enumerate() {
        out.push(container_ref(
            c,
            ContainerGroup::InitContainers,
            i,
            spec_pointer,
        ));
    }
    for (i, c) in spec.containers.iter().enumerate() {
        out.push(container_ref(
            c,
            ContainerGroup::Containers,
            i,
            spec_pointer,
        ));
    }
    for (i, c) in slice(&spec.ephemeral_containers).iter().enumerate() {
        let group = ContainerGroup::EphemeralContainers;
        out.push(ContainerRef {
            group,
            index: i,
            name: &c.name,
            image: c.image.as_deref(),
            env: slice(&c.env),
            env_from: slice(&c.env_from),
            volume_mounts: slice(&c.volume_mounts),
            pointer: Pointer {
                spec: spec_pointer,
                group,
                index: i,
            },
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_cronjob_template() {
        let w = Workload::from_value(json!({
            "apiVersion": "batch/v1beta1", "kind": "CronJob",
            "metadata": {"name": "c", "namespace": "n"},
            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {
                "metadata": {"labels": {"app": "c"}},
                "spec": {"containers": [{"name": "x", "image": "busybox"}]}}}}}
        }))
        .unwrap()
        .unwrap();
        assert_eq!(w.api_version, "batch/v1beta1");
        assert_eq!(w.pod_labels["app"], "c");
        let cs = w.containers();
        assert_eq!(
            cs[0].pointer.to_string(),
            "/spec/jobTemplate/spec/template/spec/containers/0"
        );
    }

    #[test]
    fn a_badly_typed_env_value_is_not_echoed_in_the_error() {
        let err = Workload::from_value(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "env": [{"name": "PIN", "value": 918273}]}]}}))
        .unwrap_err()
        .to_string();
        assert!(!err.contains("918273"), "{err}");
        assert!(
            err.contains("invalid type: integer <redacted>, expected"),
            "{err}"
        );
        // Messages without a value are kept whole.
        let e = serde_json::from_value::<Vec<u8>>(json!({})).unwrap_err();
        assert_eq!(without_values(&e), e.to_string());
    }

    /// covers issue #15 (item 4): a string `valueFrom` holding `", expected"` is redacted
    /// whole, not cut at the first `, expected` it contains.
    #[test]
    fn a_string_value_from_holding_expected_is_redacted_whole() {
        for secret in [
            "s3cr3t\", expected hunter2-tail",
            "s3cr3t, expected hunter2-tail",
            "s3cr3t`, expected hunter2-tail",
            "s3cr3t\\\", expected hunter2-tail",
        ] {
            let err = Workload::from_value(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "p"},
                "spec": {"containers": [{"name": "c",
                    "env": [{"name": "PASSWORD", "valueFrom": secret}]}]}}))
            .unwrap_err()
            .to_string();
            assert!(!err.contains("s3cr3t") && !err.contains("hunter2"), "{err}");
            assert!(
                err.ends_with("invalid type: string <redacted>, expected EnvVarSource"),
                "{err}"
            );
        }
        for (msg, want) in [
            (
                "unknown variant `a, expected b`, expected one of `X`, `Y`",
                "unknown variant <redacted>, expected one of `X`, `Y`",
            ),
            (
                "invalid value: character `,`, expected a digit at line 1 column 2",
                "invalid value: character <redacted>, expected a digit at line 1 column 2",
            ),
            (
                "invalid type: floating point `1.5`, expected i32",
                "invalid type: floating point <redacted>, expected i32",
            ),
            (
                "invalid type: map, expected a string",
                "invalid type: map, expected a string",
            ),
        ] {
            assert_eq!(redact_serde_message(msg), want);
        }
    }

    #[test]
    fn messages_naming_fields_are_kept() {
        for msg in [
            "missing field `name`",
            "unknown field `valu`, expected one of `name`, `value`, `valueFrom`",
            "invalid length 2, expected fewer elements in array",
        ] {
            assert_eq!(redact_serde_message(msg), msg);
        }
    }

    #[test]
    fn non_workload_kinds_are_none() {
        assert!(
            Workload::from_value(json!({"kind": "ConfigMap"}))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn pod_owned_by_replicaset_belongs_to_it_but_not_to_a_custom_controller() {
        let pod = |kind: &str| {
            Workload::from_value(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "p", "ownerReferences": [{"apiVersion": "x", "kind": kind,
                    "name": "o", "uid": "u", "controller": true}]},
                "spec": {"containers": []}}))
            .unwrap()
            .unwrap()
        };
        assert!(pod("ReplicaSet").is_owned_by_scanned_controller());
        assert!(!pod("Rollout").is_owned_by_scanned_controller());
        assert!(owned_by_scanned_controller(&pod("ReplicaSet").raw));
        assert!(!owned_by_scanned_controller(&pod("Rollout").raw));
    }
}
