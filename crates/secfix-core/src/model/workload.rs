//! The unit every check and fix works on: one object that carries a pod template (or is a Pod).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, EnvFromSource, EnvVar, PodSpec, VolumeMount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde::{Deserialize as _, Serialize};
use serde_json::Value;

/// Where a custom kind keeps its pod template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TemplatePath {
    /// `spec.template.spec` (Argo Rollout, OpenShift DeploymentConfig, Knative, Kruise, …).
    Template,
    /// `spec.jobTemplate.spec.template.spec` (CronJob-like kinds).
    JobTemplate,
}

/// Kinds of object that carry a pod spec, with where that spec lives in the object.
///
/// Besides the built-in kinds, any other kind with a pod template (an object with
/// `containers` at `spec.template.spec` or `spec.jobTemplate.spec.template.spec`) is a
/// [`WorkloadKind::Custom`] workload, reported under its own kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
    DaemonSet,
    ReplicaSet,
    ReplicationController,
    Job,
    CronJob,
    Pod,
    /// Another kind with a pod template (its name interned: see [`WorkloadKind::custom`]).
    Custom {
        kind: &'static str,
        template: TemplatePath,
    },
}

impl Serialize for WorkloadKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Kinds that own ReplicaSets besides Deployment, and ReplicationControllers: their
/// ReplicaSets (and those ReplicaSets' Pods) are reported on them.
const REPLICASET_OWNERS: &[&str] = &["Deployment", "Rollout"];
const REPLICATION_CONTROLLER_OWNERS: &[&str] = &["DeploymentConfig"];

/// Controller kinds a live run lists besides the built-in ones (found by discovery): the
/// ReplicaSets, ReplicationControllers, Jobs and Pods they own are reported on them.
static CONTROLLERS: std::sync::RwLock<Vec<String>> = std::sync::RwLock::new(Vec::new());

/// Registers a controller kind that is listed and checked (see [`CONTROLLERS`]).
pub fn register_controller(kind: &str) {
    let mut c = CONTROLLERS.write().unwrap_or_else(|e| e.into_inner());
    if !c.iter().any(|k| k == kind) {
        c.push(kind.to_string());
    }
}

/// At most this many distinct custom kinds are told apart in one run (names are interned).
const MAX_CUSTOM_KINDS: usize = 4096;

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

    /// A built-in kind by name.
    pub fn from_kind(kind: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == kind)
    }

    /// The kind of `raw`: a built-in kind, or a custom kind with a pod template (`containers`
    /// at one of the [`TemplatePath`]s); `None` for anything else.
    pub fn of(raw: &Value) -> Option<Self> {
        let kind = raw.get("kind").and_then(Value::as_str)?;
        if let Some(k) = Self::from_kind(kind) {
            return Some(k);
        }
        let has_containers = |p: &str| {
            raw.pointer(p)
                .and_then(|s| s.get("containers"))
                .is_some_and(Value::is_array)
        };
        let template = if has_containers("/spec/template/spec") {
            TemplatePath::Template
        } else if has_containers("/spec/jobTemplate/spec/template/spec") {
            TemplatePath::JobTemplate
        } else {
            return None;
        };
        Self::custom(kind, template)
    }

    /// A custom kind (names of letters and digits only, as Kubernetes kinds are).
    pub fn custom(kind: &str, template: TemplatePath) -> Option<Self> {
        if kind.is_empty() || kind.len() > 253 || !kind.chars().all(|c| c.is_ascii_alphanumeric()) {
            return None;
        }
        static KINDS: std::sync::Mutex<std::collections::BTreeSet<&'static str>> =
            std::sync::Mutex::new(std::collections::BTreeSet::new());
        let mut kinds = KINDS.lock().unwrap_or_else(|e| e.into_inner());
        let name = match kinds.get(kind) {
            Some(k) => *k,
            None if kinds.len() < MAX_CUSTOM_KINDS => {
                let leaked: &'static str = Box::leak(kind.to_string().into_boxed_str());
                kinds.insert(leaked);
                leaked
            }
            None => return None,
        };
        Some(WorkloadKind::Custom {
            kind: name,
            template,
        })
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
            WorkloadKind::Custom { kind, .. } => kind,
        }
    }

    /// JSON pointer of the pod spec inside an object of this kind.
    pub(crate) fn spec_pointer(self) -> &'static str {
        match self {
            WorkloadKind::Pod => "/spec",
            WorkloadKind::CronJob
            | WorkloadKind::Custom {
                template: TemplatePath::JobTemplate,
                ..
            } => "/spec/jobTemplate/spec/template/spec",
            _ => "/spec/template/spec",
        }
    }

    /// JSON pointer of the pod template's metadata (the object's own for a Pod).
    fn template_meta_pointer(self) -> &'static str {
        match self {
            WorkloadKind::Pod => "/metadata",
            WorkloadKind::CronJob
            | WorkloadKind::Custom {
                template: TemplatePath::JobTemplate,
                ..
            } => "/spec/jobTemplate/spec/template/metadata",
            _ => "/spec/template/metadata",
        }
    }

    /// The preferred `apiVersion` of a built-in kind (the one a live listing asks for
    /// first); empty for a custom kind (its objects always say theirs).
    pub fn api_version(self) -> &'static str {
        match self {
            WorkloadKind::Pod | WorkloadKind::ReplicationController => "v1",
            WorkloadKind::Job | WorkloadKind::CronJob => "batch/v1",
            WorkloadKind::Custom { .. } => "",
            _ => "apps/v1",
        }
    }

    /// Whether an object of this kind controlled by an `owner` of that kind is reported on
    /// its owner: [`WorkloadKind::owner_kinds`], and registered controllers
    /// ([`register_controller`]) for ReplicaSets, ReplicationControllers, Jobs and Pods.
    pub fn is_owned_by(self, owner: &str) -> bool {
        if self.owner_kinds().contains(&owner) {
            return true;
        }
        matches!(
            self,
            WorkloadKind::Pod
                | WorkloadKind::ReplicaSet
                | WorkloadKind::ReplicationController
                | WorkloadKind::Job
        ) && CONTROLLERS
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|k| k == owner)
    }

    /// Kinds whose controller owns objects of this kind, so that an owned object's
    /// findings belong to its owner instead.
    pub(crate) fn owner_kinds(self) -> &'static [&'static str] {
        match self {
            WorkloadKind::Pod => &[
                "ReplicaSet",
                "StatefulSet",
                "DaemonSet",
                "Job",
                "ReplicationController",
            ],
            WorkloadKind::ReplicaSet => REPLICASET_OWNERS,
            WorkloadKind::ReplicationController => REPLICATION_CONTROLLER_OWNERS,
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

/// Where an object came from when read from a manifest file (`-f`). Offline objects are
/// told apart by where they are, never by kind, namespace and name (two files may define
/// the same object).
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
pub struct SourceLocation {
    /// The path as given on the command line (`-` for stdin).
    pub file: String,
    /// 1-based line of the object: its document's first content line, or its List item's.
    pub line: usize,
    /// 1-based line of the offending field itself, when known (a finding read with `-f`
    /// from a file: see `manifest::position`).
    #[serde(default, rename = "fieldLine", skip_serializing_if = "Option::is_none")]
    pub field_line: Option<usize>,
    /// 1-based column (in characters) of that field.
    #[serde(
        default,
        rename = "fieldColumn",
        skip_serializing_if = "Option::is_none"
    )]
    pub field_column: Option<usize>,
    /// 0-based index of the YAML document in the file.
    #[serde(skip, default)]
    pub document: usize,
    /// Index in `items` when the object came from a `kind: List` document.
    #[serde(skip, default)]
    pub item: Option<usize>,
    /// Indexes in the `items` of nested Lists, below `item`.
    #[serde(skip, default)]
    pub nested: Vec<usize>,
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
    /// JSON pointers (in `raw`) of fields that no check reads and that could not be read
    /// (a wrong type, a placeholder): left out of `spec`/`metadata`, kept in `raw`. A fix
    /// never writes at or under them.
    pub unread: Vec<String>,
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
pub(crate) fn redact_serde_message(msg: &str) -> String {
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

/// Pod spec fields the checks read (in each container: its `name`, `image`, `env`, `envFrom`):
/// a type error there is reported. Any other field that cannot be read is left out of the
/// typed spec instead (and kept in the raw object), so that a placeholder such as
/// `lun: <ADD LUN ID Here>` never hides an object from the checks.
pub(crate) const CHECKED_CONTAINER_FIELDS: [&str; 4] = ["name", "image", "env", "envFrom"];

/// Metadata fields the checks read (names, suppression annotations, owners).
pub(crate) const CHECKED_METADATA_FIELDS: [&str; 4] =
    ["name", "namespace", "annotations", "ownerReferences"];

/// One step of a path in a JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

fn pointer_of(base: &str, path: &[Step]) -> String {
    let mut p = base.to_string();
    for s in path {
        p.push('/');
        match s {
            Step::Key(k) => p.push_str(&k.replace('~', "~0").replace('/', "~1")),
            Step::Index(i) => p.push_str(&i.to_string()),
        }
    }
    p
}

/// A path as `containers[0].env[1].value`. A key that is not a plain name (annotation and
/// label keys are free text) shows as `<key>`: a message never echoes text from the input.
fn display_path(path: &[Step]) -> String {
    let plain = |k: &str| {
        !k.is_empty()
            && k.len() <= 253
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
    };
    let mut out = String::new();
    for s in path {
        match s {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(if plain(k) { k } else { "<key>" });
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn steps(p: &serde_path_to_error::Path) -> Vec<Step> {
    p.iter()
        .filter_map(|s| match s {
            serde_path_to_error::Segment::Map { key } => Some(Step::Key(key.clone())),
            serde_path_to_error::Segment::Seq { index } => Some(Step::Index(*index)),
            _ => None,
        })
        .collect()
}

/// Whether a pod spec path is one the checks read.
fn checked_in_spec(path: &[Step]) -> bool {
    let group = matches!(path.first(), Some(Step::Key(k)) if matches!(k.as_str(), "containers" | "initContainers" | "ephemeralContainers"));
    match (group, path.get(1), path.get(2)) {
        (false, ..) => false,
        (true, None, _) | (true, Some(_), None) => true,
        (true, Some(Step::Index(_)), Some(Step::Key(f))) => {
            CHECKED_CONTAINER_FIELDS.contains(&f.as_str())
        }
        _ => true,
    }
}

fn checked_in_metadata(path: &[Step]) -> bool {
    match path.first() {
        None => true,
        Some(Step::Key(k)) => CHECKED_METADATA_FIELDS.contains(&k.as_str()),
        Some(Step::Index(_)) => true,
    }
}

fn value_at_mut<'v>(v: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
    let mut cur = v;
    for s in path {
        cur = match s {
            Step::Key(k) => cur.get_mut(k.as_str())?,
            Step::Index(i) => cur.get_mut(*i)?,
        };
    }
    Some(cur)
}

/// Decodes `T` from `value`; a field that cannot be read and that `checked` does not claim
/// is left out (set to null, or its nearest optional parent is) and its path returned.
/// A field `checked` claims fails the decode, with its path.
fn decode_lenient<T: serde::de::DeserializeOwned>(
    value: &Value,
    checked: fn(&[Step]) -> bool,
) -> Result<(T, Vec<Vec<Step>>), String> {
    if let Ok(t) = T::deserialize(value) {
        return Ok((t, Vec::new()));
    }
    let mut work = value.clone();
    let mut pruned: Vec<Vec<Step>> = Vec::new();
    // Each round prunes one more field (or a parent of one pruned before), so this ends.
    for _ in 0..256 {
        let err = match serde_path_to_error::deserialize::<_, T>(&work) {
            Ok(t) => return Ok((t, pruned)),
            Err(e) => e,
        };
        let path = steps(err.path());
        let reason = without_values(err.inner());
        if checked(&path) {
            return Err(if path.is_empty() {
                reason
            } else {
                format!("{}: {reason}", display_path(&path))
            });
        }
        // The deepest key on the path not pruned yet (an array element cannot be left out
        // without moving the ones after it).
        let mut target = path.clone();
        loop {
            while matches!(target.last(), Some(Step::Index(_))) {
                target.pop();
            }
            if target.is_empty() || checked(&target) {
                return Err(format!("{}: {reason}", display_path(&path)));
            }
            if pruned.contains(&target) {
                target.pop();
                continue;
            }
            break;
        }
        match value_at_mut(&mut work, &target) {
            Some(slot) => *slot = Value::Null,
            None => return Err(format!("{}: {reason}", display_path(&path))),
        }
        pruned.retain(|p| !p.starts_with(&target));
        pruned.push(target);
    }
    Err("too many fields that cannot be read".into())
}

impl Workload {
    /// Reads an object; `Ok(None)` when its kind carries no pod spec (see
    /// [`WorkloadKind::of`]). Fields no check reads never make this fail
    /// ([`CHECKED_CONTAINER_FIELDS`]): they are listed in [`Workload::unread`] instead.
    pub fn from_value(raw: Value) -> Result<Option<Self>, WorkloadError> {
        let Some(kind) = WorkloadKind::of(&raw) else {
            return Ok(None);
        };
        let api_version = raw
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or(kind.api_version())
            .to_string();
        let mut unread = Vec::new();
        // Deserialized from borrowed values: no copy of the (large) spec or metadata unless
        // something in them cannot be read.
        let metadata: ObjectMeta = match raw.get("metadata") {
            Some(m) => {
                let (meta, pruned) = decode_lenient::<ObjectMeta>(m, checked_in_metadata)
                    .map_err(WorkloadError::InvalidMeta)?;
                unread.extend(pruned.iter().map(|p| pointer_of("/metadata", p)));
                meta
            }
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
        let (spec, pruned) = decode_lenient::<PodSpec>(spec_value, checked_in_spec)
            .map_err(|reason| WorkloadError::InvalidSpec { kind, name, reason })?;
        unread.extend(pruned.iter().map(|p| pointer_of(kind.spec_pointer(), p)));
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
            unread,
        }))
    }

    /// Whether a patch operation at `path` (a JSON pointer in the object) would write at or
    /// under a field that could not be read, or over one (see [`Workload::unread`]).
    pub(crate) fn touches_unread(&self, path: &str) -> Option<&str> {
        let within = |a: &str, b: &str| a == b || a.starts_with(&format!("{b}/"));
        self.unread
            .iter()
            .find(|u| within(path, u) || within(u, path))
            .map(String::as_str)
    }

    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or("")
    }

    pub fn namespace(&self) -> &str {
        self.metadata.namespace.as_deref().unwrap_or("default")
    }

    pub(crate) fn spec_pointer(&self) -> &'static str {
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
    pub(crate) fn is_owned_by_scanned_controller(&self) -> bool {
        self.controller()
            .is_some_and(|o| self.kind.is_owned_by(&o.kind))
    }
}

/// [`Workload::is_owned_by_scanned_controller`] read straight from an object's JSON, without
/// parsing it into a workload.
pub(crate) fn owned_by_scanned_controller(raw: &Value) -> bool {
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
        .any(|k| kind.is_owned_by(k))
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

/// The container at `index` of `group` in `spec`. Ephemeral containers are never
/// returned (they are another type, and cannot be changed once added); for their names,
/// see [`container_name`].
pub(crate) fn container(spec: &PodSpec, group: ContainerGroup, index: usize) -> Option<&Container> {
    match group {
        ContainerGroup::Containers => spec.containers.get(index),
        ContainerGroup::InitContainers => spec.init_containers.as_ref()?.get(index),
        ContainerGroup::EphemeralContainers => None,
    }
}

/// The name of the container at `index` of `group` in `spec`, ephemeral ones included.
pub(crate) fn container_name(spec: &PodSpec, group: ContainerGroup, index: usize) -> Option<&str> {
    match group {
        ContainerGroup::EphemeralContainers => spec
            .ephemeral_containers
            .as_ref()?
            .get(index)
            .map(|c| c.name.as_str()),
        _ => container(spec, group, index).map(|c| c.name.as_str()),
    }
}

/// The container at `index` of `group` in `spec`, for changing it. Ephemeral containers
/// are never returned: they cannot be changed once added.
pub(crate) fn container_mut(
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

/// The field of a container a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerField {
    /// `env[i]`.
    Env(usize),
    /// `envFrom[i]`.
    EnvFrom(usize),
    /// `image`.
    Image,
}

/// A container's field in an object, typed: what a finding points at, and the JSON pointer
/// it reports (`Display`: `{container}/env/{i}`, `…/envFrom/{i}`, `…/image`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldRef {
    pub container: Pointer,
    pub field: ContainerField,
}

impl std::fmt::Display for FieldRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.field {
            ContainerField::Env(i) => write!(f, "{}/env/{i}", self.container),
            ContainerField::EnvFrom(i) => write!(f, "{}/envFrom/{i}", self.container),
            ContainerField::Image => write!(f, "{}/image", self.container),
        }
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
pub(crate) fn containers_of<'a>(
    spec: &'a PodSpec,
    spec_pointer: &'static str,
) -> Vec<ContainerRef<'a>> {
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

    #[test]
    fn a_placeholder_in_a_field_no_check_reads_never_drops_the_object() {
        // covers issue #16: `lun: <ADD LUN ID Here>` made the typed decode fail.
        let w = Workload::from_value(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "creationTimestamp": 5},
            "spec": {"template": {"spec": {
                "containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": "<port>"}],
                    "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}],
                "volumes": [{"name": "disk", "fc": {"targetWWNs": ["500a0982991b8dc5"], "lun": "<ADD LUN ID Here>"}},
                            {"name": "cfg", "configMap": {"name": "c"}}]}}}}))
        .unwrap()
        .unwrap();
        assert_eq!(w.spec.containers[0].env.as_ref().unwrap().len(), 1);
        assert_eq!(
            w.spec.volumes.as_ref().unwrap().len(),
            2,
            "array positions kept"
        );
        assert_eq!(
            w.unread,
            [
                "/metadata/creationTimestamp",
                "/spec/template/spec/containers/0/ports/0/containerPort",
                "/spec/template/spec/volumes/0/fc/lun",
            ]
        );
        assert_eq!(
            w.raw["spec"]["template"]["spec"]["volumes"][0]["fc"]["lun"],
            "<ADD LUN ID Here>"
        );
        assert!(
            w.touches_unread("/spec/template/spec/volumes/0/fc")
                .is_some()
        );
        assert!(w.touches_unread("/spec/template/spec/volumes/2").is_none());
        // A required field that cannot be read is left out too (k8s-openapi reads a null
        // required field as its default), positions in arrays are kept.
        let w = Workload::from_value(json!({"kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c"}], "volumes": [{"name": 7}]}}))
        .unwrap()
        .unwrap();
        assert_eq!(w.unread, ["/spec/volumes/0/name"]);
        assert_eq!(w.spec.volumes.as_ref().map(Vec::len), Some(1));
    }

    #[test]
    fn a_type_error_in_a_field_a_check_reads_is_reported_with_its_path() {
        let err = Workload::from_value(json!({"kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "env": [{"name": "A", "value": 5}]}]}}))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("containers[0].env[0].value: invalid type: integer"),
            "{err}"
        );
        let err = Workload::from_value(json!({"kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": ["x"]}]}}))
        .unwrap_err()
        .to_string();
        assert!(err.contains("containers[0].image"), "{err}");
        let err = Workload::from_value(
            json!({"kind": "Pod", "metadata": {"name": "p", "annotations": {"a": 1}},
            "spec": {"containers": []}}),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("annotations"), "{err}");
    }

    #[test]
    fn any_kind_with_a_pod_template_is_a_workload_under_its_own_kind() {
        let rollout = Workload::from_value(
            json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
            "metadata": {"name": "r"},
            "spec": {"template": {"metadata": {"labels": {"app": "r"}},
                "spec": {"containers": [{"name": "c", "image": "nginx:latest"}]}}}}),
        )
        .unwrap()
        .unwrap();
        assert_eq!(rollout.kind.as_str(), "Rollout");
        assert_eq!(rollout.kind.spec_pointer(), "/spec/template/spec");
        assert_eq!(rollout.pod_labels["app"], "r");
        let cron = Workload::from_value(json!({"apiVersion": "x.io/v1", "kind": "CronThing",
            "metadata": {"name": "c"},
            "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}}}))
        .unwrap()
        .unwrap();
        assert_eq!(
            cron.kind.spec_pointer(),
            "/spec/jobTemplate/spec/template/spec"
        );
        assert_eq!(cron.containers().len(), 0);
        // A template that is not a pod's (no containers) is not a workload.
        for v in [
            json!({"kind": "MachineDeployment", "spec": {"template": {"spec": {"bootstrap": {}}}}}),
            json!({"kind": "Weird Kind!", "spec": {"template": {"spec": {"containers": []}}}}),
        ] {
            assert!(Workload::from_value(v).unwrap().is_none());
        }
        // ReplicaSets of a Rollout and ReplicationControllers of a DeploymentConfig are
        // reported on them.
        let owned = |kind: &str, owner: &str| {
            json!({"apiVersion": "v1", "kind": kind,
            "metadata": {"name": "o", "ownerReferences": [{"apiVersion": "x", "kind": owner, "name": "n", "uid": "u", "controller": true}]},
            "spec": {"template": {"spec": {"containers": []}}}})
        };
        assert!(owned_by_scanned_controller(&owned("ReplicaSet", "Rollout")));
        assert!(owned_by_scanned_controller(&owned(
            "ReplicationController",
            "DeploymentConfig"
        )));
        assert!(!owned_by_scanned_controller(&owned("ReplicaSet", "Other")));
    }

    #[test]
    fn a_type_error_path_never_echoes_a_free_text_key() {
        let err = Workload::from_value(json!({"kind": "Pod",
            "metadata": {"name": "p", "annotations": {"x:\"hunter2\"": null}},
            "spec": {"containers": []}}))
        .unwrap_err()
        .to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains("annotations.<key>"), "{err}");
    }
}
