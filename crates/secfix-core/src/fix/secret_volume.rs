//! `env-secret` fix: Secrets referenced from env vars become read-only volume mounts that
//! give each container exactly the keys it had, no more.
//!
//! The work runs in phases, one function each ([`move_secrets`]):
//! 1. **Validate** ([`validate`]): every move names an existing entry of a fixable container;
//!    duplicates are applied once. An error leaves the spec untouched.
//! 2. **Needs** ([`needs`]): per container and Secret, the keys it must get as files: all of
//!    them for an `envFrom` Secret (that is what it had), else the keys of its
//!    `secretKeyRef`s; required and optional keys apart, so an optional key missing from the
//!    Secret never stops the pod (the volume of optional keys is `optional: true`).
//! 3. **Volumes** ([`choose_volumes`]): a volume may serve a container only if it projects
//!    every key needed and no key the container could not read before (through env, `envFrom`
//!    or a whole-volume mount of that Secret; `subPath` mounts count for nothing). Existing
//!    `secret` volumes are reused under that rule; otherwise a volume `secfix-<S>` (`-2`, …
//!    when taken; a DNS label) is added, with `items` listing exactly the needed keys
//!    (key → path = key), or none for `envFrom`. File modes are the narrowest the pod's
//!    containers can read ([`file_mode`]): `0400` when all run as root, `0440` with an
//!    `fsGroup`, else `0444` (Secret files are owned by root; an owner-only file would hide
//!    the secret from a non-root app). Two containers needing different keys of one Secret
//!    thus get separate volumes.
//! 4. **Mounts** ([`mount_volumes`]): in each container, an existing whole mount of the volume
//!    is reused (and made `readOnly`); otherwise the volume is mounted `readOnly` at
//!    `<mount_root>/<S>` (`-2`, … when the container mounts something there). Never `subPath`
//!    (a `subPath` file is not updated when the Secret rotates).
//! 5. **Env** ([`rewrite_env`]): each `env` entry is replaced in place by the variable that
//!    names its file (so `$(…)` expansion order is kept and the patch is one `replace`), or
//!    removed when no variable can name it. Which variable, and whether the app reads it
//!    ([`Delivery`]), comes from [`file_env::resolve`]. An `envFrom` entry is removed. Lists
//!    left empty are dropped. Removal goes from the back so indices stay right.
//! 6. **References** ([`reference_warnings`]): `$(NAME)` of a removed variable no longer
//!    expands; each place is named.
//!
//! Warnings never contain values, only names and paths.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    Container, EnvVar, KeyToPath, PodSpec, SecretVolumeSource, Volume, VolumeMount,
};

use super::file_env::{self, Delivery, Policy, Resolution, Why};
use crate::model::ContainerGroup;

/// Prefix of the volumes this fix adds.
pub(crate) const VOLUME_PREFIX: &str = "secfix-";
/// `defaultMode` of the volumes this fix adds, and `mode` of their items, when every
/// container of the pod runs as root (`runAsUser: 0`): owner read-only.
pub(crate) const ROOT_MODE: i32 = 0o400;
/// ... when the pod sets `fsGroup`: the kubelet gives the files that group, which every
/// container has, so owner and group read.
pub(crate) const FS_GROUP_MODE: i32 = 0o440;
/// ... otherwise: the kubelet writes Secret files owned by root, and a container that runs
/// as another user (its image's `USER`, `runAsUser`, `runAsNonRoot`) could not read an
/// owner-only file, so the app would lose its secret. Everyone reads, as every process of
/// the container could read the variable before; the mount stays read-only and holds only
/// the container's keys.
pub(crate) const ANY_USER_MODE: i32 = 0o444;

/// The mode of the files this fix adds to `spec`'s pod: the narrowest its containers can
/// still read (see the constants).
pub(crate) fn file_mode(spec: &PodSpec) -> i32 {
    let pod = spec.security_context.as_ref();
    if pod.and_then(|p| p.fs_group).is_some() {
        return FS_GROUP_MODE;
    }
    let pod_user = pod.and_then(|p| p.run_as_user);
    let all_root = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .all(|c| {
            c.security_context
                .as_ref()
                .and_then(|s| s.run_as_user)
                .or(pod_user)
                == Some(0)
        });
    if all_root { ROOT_MODE } else { ANY_USER_MODE }
}

/// A container of the pod spec: its list and index.
type Cid = (ContainerGroup, usize);

/// One env reference to move into a mounted file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Move {
    /// `env[index]` of the container, `valueFrom.secretKeyRef {name: secret, key}`.
    Key {
        group: ContainerGroup,
        container: usize,
        index: usize,
        env: String,
        secret: String,
        key: String,
        optional: bool,
    },
    /// `envFrom[index]` of the container, `secretRef {name: secret}`.
    Whole {
        group: ContainerGroup,
        container: usize,
        index: usize,
        secret: String,
        prefix: Option<String>,
        optional: bool,
    },
}

impl Move {
    fn container(&self) -> Cid {
        match self {
            Move::Key {
                group, container, ..
            }
            | Move::Whole {
                group, container, ..
            } => (*group, *container),
        }
    }

    fn secret(&self) -> &str {
        match self {
            Move::Key { secret, .. } | Move::Whole { secret, .. } => secret,
        }
    }

    fn optional(&self) -> bool {
        match self {
            Move::Key { optional, .. } | Move::Whole { optional, .. } => *optional,
        }
    }

    fn index(&self) -> usize {
        match self {
            Move::Key { index, .. } | Move::Whole { index, .. } => *index,
        }
    }

    /// Identity of the entry moved: container, list (`true` for `env`), index.
    fn entry(&self) -> (ContainerGroup, usize, bool, usize) {
        let (group, container) = self.container();
        (
            group,
            container,
            matches!(self, Move::Key { .. }),
            self.index(),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoveError {
    #[error("{group}/{index}: no such container")]
    NoContainer { group: &'static str, index: usize },
    #[error("ephemeralContainers/{index}: ephemeral containers cannot be fixed")]
    Ephemeral { index: usize },
    #[error("{group}/{container}/{list}/{index}: no such entry")]
    NoEntry {
        group: &'static str,
        container: usize,
        list: &'static str,
        index: usize,
    },
    #[error("--mount-root must be an absolute path, got {0:?}")]
    MountRoot(String),
    /// No mounted volume serves a moved Secret: the plan lost track of a mount. Nothing is
    /// changed, rather than removing the variables with no file to replace them.
    #[error("{group}/{index}: no mounted volume serves Secret {secret}")]
    NotServed {
        group: &'static str,
        index: usize,
        secret: String,
    },
}

/// What happened to one moved entry. Names and paths only, never a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MovedVar {
    pub group: ContainerGroup,
    pub container: usize,
    /// The container's name.
    pub container_name: String,
    /// `env[index]` (`true`) or `envFrom[index]` (`false`).
    pub is_env: bool,
    pub index: usize,
    /// The variable moved (`None` for an `envFrom` Secret).
    pub env: Option<String>,
    pub secret: String,
    /// The file now holding the value (for `envFrom`: the folder holding one file per key).
    pub path: String,
    /// How the value reaches the app now.
    pub resolution: Resolution,
}

/// The outcome of [`move_secrets`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Moved {
    /// What the user must know (app changes, `$(…)` that no longer expand, prefixes).
    pub warnings: Vec<String>,
    /// One per moved entry, in the order of the moves.
    pub vars: Vec<MovedVar>,
}

/// Keys of one Secret: those a container can read, or those a volume projects.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Keys {
    All,
    Some(BTreeSet<String>),
}

impl Keys {
    fn none() -> Self {
        Keys::Some(BTreeSet::new())
    }

    /// Whether every key of `other` is in `self`.
    fn covers(&self, other: &Keys) -> bool {
        match (self, other) {
            (Keys::All, _) => true,
            (Keys::Some(_), Keys::All) => false,
            (Keys::Some(a), Keys::Some(b)) => b.is_subset(a),
        }
    }

    fn add(&mut self, other: Keys) {
        match (&mut *self, other) {
            (Keys::All, _) => {}
            (_, Keys::All) => *self = Keys::All,
            (Keys::Some(a), Keys::Some(b)) => a.extend(b),
        }
    }

    fn of_volume(s: &SecretVolumeSource) -> Keys {
        match s.items.as_deref() {
            None | Some([]) => Keys::All,
            Some(items) => Keys::Some(items.iter().map(|i| i.key.clone()).collect()),
        }
    }
}

/// What one container must get from one Secret, served by one volume.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Need {
    cid: Cid,
    secret: String,
    keys: Keys,
    /// Every reference served is optional: the volume may be missing or lack keys.
    optional: bool,
}

/// The volume serving a need.
#[derive(Debug, Clone)]
struct Chosen {
    volume: String,
    /// `items` of the volume: key → file path inside the mount (absent: the key itself).
    paths: BTreeMap<String, String>,
}

impl Chosen {
    fn file(&self, dir: &str, key: &str) -> String {
        file_in(dir, self.paths.get(key).map_or(key, String::as_str))
    }
}

pub(crate) fn container_mut(
    spec: &mut PodSpec,
    group: ContainerGroup,
    index: usize,
) -> Result<&mut Container, MoveError> {
    if group == ContainerGroup::EphemeralContainers {
        return Err(MoveError::Ephemeral { index });
    }
    crate::model::workload::container_mut(spec, group, index).ok_or(MoveError::NoContainer {
        group: group.field(),
        index,
    })
}

/// The mount root without trailing `/` (`""` for `/`).
fn mount_root(root: &str) -> Result<&str, MoveError> {
    if !root.starts_with('/') {
        return Err(MoveError::MountRoot(root.to_string()));
    }
    Ok(root.trim_end_matches('/'))
}

/// `secfix-<secret>` as a DNS label, made unique against `taken`.
pub(crate) fn volume_name(secret: &str, taken: &BTreeSet<String>) -> String {
    let raw: String = format!("{VOLUME_PREFIX}{secret}")
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .collect();
    crate::model::names::unique(
        raw.trim_end_matches('-'),
        "",
        "-",
        crate::model::names::MAX_LABEL,
        |n| taken.contains(n),
    )
}

fn is_empty(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(str::is_empty)
}

/// A mount of the whole volume (no `subPath`): the container sees every file of it.
fn is_whole_mount(m: &VolumeMount) -> bool {
    is_empty(&m.sub_path) && is_empty(&m.sub_path_expr)
}

/// The `secret` volumes of `spec` for `secret`: (index, volume, source).
fn secret_volumes<'s>(
    spec: &'s PodSpec,
    secret: &'s str,
) -> impl Iterator<Item = (&'s Volume, &'s SecretVolumeSource)> + 's {
    spec.volumes.iter().flatten().filter_map(move |v| {
        v.secret
            .as_ref()
            .filter(|s| s.secret_name.as_deref() == Some(secret))
            .map(|s| (v, s))
    })
}

/// The keys of `secret` that container `c` of `spec` can read: its `secretKeyRef`s, all of
/// them through `envFrom` or a whole mount of a volume without `items`, the `items` of a
/// whole mount otherwise.
fn readable(spec: &PodSpec, c: &Container, secret: &str) -> Keys {
    let mut keys = Keys::none();
    for e in c.env.iter().flatten() {
        if let Some(r) = e
            .value_from
            .as_ref()
            .and_then(|v| v.secret_key_ref.as_ref())
            .filter(|r| r.name == secret)
        {
            keys.add(Keys::Some([r.key.clone()].into()));
        }
    }
    if c.env_from
        .iter()
        .flatten()
        .any(|e| e.secret_ref.as_ref().is_some_and(|r| r.name == secret))
    {
        keys.add(Keys::All);
    }
    for (v, s) in secret_volumes(spec, secret) {
        let mounted = c
            .volume_mounts
            .iter()
            .flatten()
            .any(|m| m.name == v.name && is_whole_mount(m));
        if mounted {
            keys.add(Keys::of_volume(s));
        }
    }
    keys
}

/// The directory where `volume` is mounted in `c`: an existing whole-volume mount (made
/// read-only) or a new read-only mount at a path no other mount of `c` uses.
fn ensure_mount(c: &mut Container, volume: &str, secret: &str, root: &str) -> String {
    let mounts = c.volume_mounts.get_or_insert_default();
    if let Some(m) = mounts
        .iter_mut()
        .find(|m| m.name == volume && is_whole_mount(m))
    {
        if m.read_only != Some(true) {
            m.read_only = Some(true);
        }
        let p = m.mount_path.trim_end_matches('/');
        return if p.is_empty() { "/".into() } else { p.into() };
    }
    let taken: BTreeSet<&str> = mounts
        .iter()
        .map(|m| m.mount_path.trim_end_matches('/'))
        .collect();
    let base = format!("{root}/{secret}");
    let path = crate::model::names::unique(&base, "", "-", usize::MAX, |p| taken.contains(p));
    mounts.push(VolumeMount {
        name: volume.to_string(),
        mount_path: path.clone(),
        read_only: Some(true),
        ..VolumeMount::default()
    });
    path
}

/// `dir/file` without a doubled `/`.
fn file_in(dir: &str, file: &str) -> String {
    format!("{}/{file}", dir.trim_end_matches('/'))
}

/// Where `$(name)` appears in `c`: `env X`, `command`, `args`.
pub(crate) fn references(c: &Container, name: &str) -> Vec<String> {
    let pat = format!("$({name})");
    let mut places: Vec<String> = c
        .env
        .iter()
        .flatten()
        .filter(|e| e.value.as_deref().is_some_and(|v| v.contains(&pat)))
        .map(|e| format!("env {}", e.name))
        .collect();
    if c.command.iter().flatten().any(|a| a.contains(&pat)) {
        places.push("command".into());
    }
    if c.args.iter().flatten().any(|a| a.contains(&pat)) {
        places.push("args".into());
    }
    places
}

/// Applies `moves` to `spec`, mounting under `mount_root`, and says how each moved value
/// reaches the app. Duplicate moves of the same entry are applied once. Nothing is changed
/// when an error is returned.
pub(crate) fn move_secrets(
    spec: &mut PodSpec,
    moves: &[Move],
    mount_root_path: &str,
    policy: Policy<'_>,
) -> Result<Moved, MoveError> {
    if moves.is_empty() {
        return Ok(Moved::default());
    }
    let root = mount_root(mount_root_path)?;
    let unique = validate(spec, moves)?;
    let original = spec.clone();
    let needs = needs(&unique);
    let chosen = choose_volumes(spec, &original, &needs);
    let dirs = mount_volumes(spec, &needs, &chosen, root)?;
    let served = Served {
        needs: &needs,
        chosen: &chosen,
        dirs: &dirs,
    };
    let mut moved = rewrite_env(spec, &original, &unique, &served, policy)?;
    moved
        .warnings
        .extend(reference_warnings(spec, &moved.vars)?);
    Ok(moved)
}

/// Phase 1: every move names an entry of a container that can be fixed. Returns the moves
/// without duplicates, in order.
fn validate<'m>(spec: &mut PodSpec, moves: &'m [Move]) -> Result<Vec<&'m Move>, MoveError> {
    let mut seen = BTreeSet::new();
    let mut unique: Vec<&Move> = Vec::new();
    for m in moves {
        let (group, ci) = m.container();
        let c = container_mut(spec, group, ci)?;
        let (_, _, is_env, index) = m.entry();
        let len = if is_env {
            c.env.as_ref().map_or(0, Vec::len)
        } else {
            c.env_from.as_ref().map_or(0, Vec::len)
        };
        if index >= len {
            return Err(MoveError::NoEntry {
                group: group.field(),
                container: ci,
                list: if is_env { "env" } else { "envFrom" },
                index,
            });
        }
        if seen.insert(m.entry()) {
            unique.push(m);
        }
    }
    Ok(unique)
}

/// Phase 2: per container and Secret, in the order they are first referenced: one need of
/// all keys when the container had the Secret through `envFrom`; else one of the required
/// keys and one of the optional keys (a key referenced both ways is required).
fn needs(unique: &[&Move]) -> Vec<Need> {
    let mut order: Vec<(Cid, &str)> = Vec::new();
    for m in unique {
        let at = (m.container(), m.secret());
        if !order.contains(&at) {
            order.push(at);
        }
    }
    let mut out = Vec::new();
    for (cid, secret) in order {
        let of: Vec<&&Move> = unique
            .iter()
            .filter(|m| m.container() == cid && m.secret() == secret)
            .collect();
        let need = |keys, optional| Need {
            cid,
            secret: secret.to_string(),
            keys,
            optional,
        };
        if of.iter().any(|m| matches!(m, Move::Whole { .. })) {
            out.push(need(Keys::All, of.iter().all(|m| m.optional())));
            continue;
        }
        let key_set = |optional: bool| -> BTreeSet<String> {
            of.iter()
                .filter_map(|m| match m {
                    Move::Key {
                        key, optional: o, ..
                    } if *o == optional => Some(key.clone()),
                    _ => None,
                })
                .collect()
        };
        let required = key_set(false);
        let optional: BTreeSet<String> = key_set(true).difference(&required).cloned().collect();
        if !required.is_empty() {
            out.push(need(Keys::Some(required), false));
        }
        if !optional.is_empty() {
            out.push(need(Keys::Some(optional), true));
        }
    }
    out
}

/// Phase 3: a volume for each need. A volume serves a need when it projects every key needed
/// and only keys the container could already read (in `original`). Preferred: an existing
/// volume the container already mounts whole; then any other existing one; then one added
/// for an earlier need with the same `optional`; else a new volume listing the needed keys.
fn choose_volumes(spec: &mut PodSpec, original: &PodSpec, needs: &[Need]) -> Vec<Chosen> {
    let mode = file_mode(original);
    // Volumes added by this fix: name, Secret, keys, optional.
    let mut added: Vec<(String, String, Keys, bool)> = Vec::new();
    let mut out = Vec::new();
    for need in needs {
        let Some(c) = crate::model::workload::container(original, need.cid.0, need.cid.1) else {
            // `validate` checked every container.
            continue;
        };
        let had = readable(original, c, &need.secret);
        let serves = |keys: &Keys| keys.covers(&need.keys) && had.covers(keys);
        let mounted = |name: &str| {
            c.volume_mounts
                .iter()
                .flatten()
                .any(|m| m.name == name && is_whole_mount(m))
        };
        let existing: Vec<(&Volume, &SecretVolumeSource)> = secret_volumes(original, &need.secret)
            .filter(|(_, s)| serves(&Keys::of_volume(s)))
            .collect();
        let pick = existing
            .iter()
            .find(|(v, _)| mounted(&v.name))
            .or_else(|| existing.first());
        if let Some((v, s)) = pick {
            out.push(Chosen {
                volume: v.name.clone(),
                paths: s
                    .items
                    .iter()
                    .flatten()
                    .map(|i| (i.key.clone(), i.path.clone()))
                    .collect(),
            });
            continue;
        }
        if let Some((name, _, keys, _)) = added
            .iter()
            .find(|(_, s, k, o)| *s == need.secret && *o == need.optional && serves(k))
        {
            out.push(Chosen {
                volume: name.clone(),
                paths: match keys {
                    Keys::All => BTreeMap::new(),
                    Keys::Some(k) => k.iter().map(|k| (k.clone(), k.clone())).collect(),
                },
            });
            continue;
        }
        let taken: BTreeSet<String> = spec
            .volumes
            .iter()
            .flatten()
            .map(|v| v.name.clone())
            .collect();
        let name = volume_name(&need.secret, &taken);
        let items = match &need.keys {
            Keys::All => None,
            Keys::Some(keys) => Some(
                keys.iter()
                    .map(|k| KeyToPath {
                        key: k.clone(),
                        path: k.clone(),
                        mode: Some(mode),
                    })
                    .collect(),
            ),
        };
        spec.volumes.get_or_insert_default().push(Volume {
            name: name.clone(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(need.secret.clone()),
                default_mode: Some(mode),
                optional: need.optional.then_some(true),
                items,
            }),
            ..Volume::default()
        });
        added.push((
            name.clone(),
            need.secret.clone(),
            need.keys.clone(),
            need.optional,
        ));
        out.push(Chosen {
            volume: name,
            paths: BTreeMap::new(),
        });
    }
    out
}

/// Phase 4: the directory where each need's volume is mounted in its container.
fn mount_volumes(
    spec: &mut PodSpec,
    needs: &[Need],
    chosen: &[Chosen],
    root: &str,
) -> Result<Vec<String>, MoveError> {
    needs
        .iter()
        .zip(chosen)
        .map(|(need, ch)| {
            let (group, ci) = need.cid;
            let c = container_mut(spec, group, ci)?;
            Ok(ensure_mount(c, &ch.volume, &need.secret, root))
        })
        .collect()
}

/// Needs, their volumes and mount directories, for looking up where a moved entry went.
struct Served<'a> {
    needs: &'a [Need],
    chosen: &'a [Chosen],
    dirs: &'a [String],
}

impl Served<'_> {
    /// The need serving key `key` (or, for `None`, the whole Secret) of `secret` in `cid`.
    fn find(&self, cid: Cid, secret: &str, key: Option<&str>) -> Option<usize> {
        self.needs.iter().position(|n| {
            n.cid == cid
                && n.secret == secret
                && match (&n.keys, key) {
                    (Keys::All, _) => true,
                    (Keys::Some(keys), Some(k)) => keys.contains(k),
                    (Keys::Some(_), None) => false,
                }
        })
    }

    /// The file holding `key` of `secret` in `cid` (for `None`: the folder of the Secret).
    fn path(&self, cid: Cid, secret: &str, key: Option<&str>) -> Option<String> {
        let i = self.find(cid, secret, key)?;
        let dir = &self.dirs[i];
        Some(match key {
            Some(k) => self.chosen[i].file(dir, k),
            None => dir.clone(),
        })
    }
}

/// Phase 5: replaces or removes each moved entry, deciding per variable which variable
/// names its file ([`file_env::resolve`], on the container as it was).
fn rewrite_env(
    spec: &mut PodSpec,
    original: &PodSpec,
    unique: &[&Move],
    served: &Served<'_>,
    policy: Policy<'_>,
) -> Result<Moved, MoveError> {
    let mut out = Rewritten {
        vars: vec![None; unique.len()],
        warnings: Vec::new(),
    };
    let containers: BTreeSet<Cid> = unique.iter().map(|m| m.container()).collect();
    for cid in containers {
        let before = crate::model::workload::container(original, cid.0, cid.1).ok_or(
            MoveError::NoContainer {
                group: cid.0.field(),
                index: cid.1,
            },
        )?;
        let c = container_mut(spec, cid.0, cid.1)?;
        let keys = moves_of(unique, cid, true);
        if !keys.is_empty() {
            out.rewrite_keys(c, before, cid, &keys, served, policy)?;
        }
        let wholes = moves_of(unique, cid, false);
        if !wholes.is_empty() {
            out.rewrite_wholes(c, cid, &wholes, served)?;
        }
    }
    Ok(Moved {
        warnings: out.warnings,
        vars: out.vars.into_iter().flatten().collect(),
    })
}

/// The moves of container `cid`, with their slots in `unique`, in entry order: the
/// `env` ones (`key`) or the `envFrom` ones.
fn moves_of<'m>(unique: &[&'m Move], cid: Cid, key: bool) -> Vec<(usize, &'m Move)> {
    let mut v: Vec<(usize, &Move)> = unique
        .iter()
        .enumerate()
        .filter(|(_, m)| m.container() == cid && matches!(m, Move::Key { .. }) == key)
        .map(|(i, m)| (i, *m))
        .collect();
    v.sort_by_key(|(_, m)| m.index());
    v
}

/// What phase 5 has said so far: per slot of `unique`, what happened to the entry.
struct Rewritten {
    vars: Vec<Option<MovedVar>>,
    warnings: Vec<String>,
}

impl Rewritten {
    /// Each moved `env` entry of `c` becomes the variable that names its file (or goes,
    /// when the app must change).
    fn rewrite_keys(
        &mut self,
        c: &mut Container,
        before: &Container,
        cid: Cid,
        keys: &[(usize, &Move)],
        served: &Served<'_>,
        policy: Policy<'_>,
    ) -> Result<(), MoveError> {
        let cname = c.name.clone();
        let mut env = c.env.take().unwrap_or_default();
        let mut assigned: BTreeSet<String> = BTreeSet::new();
        let mut replacement: BTreeMap<usize, Option<EnvVar>> = BTreeMap::new();
        for (slot, m) in keys {
            let Move::Key {
                index,
                env: name,
                secret,
                key,
                ..
            } = m
            else {
                continue;
            };
            let file = served
                .path(cid, secret, Some(key))
                .ok_or_else(|| not_served(cid, secret))?;
            let others = file_env::other_env_names(before, *index);
            let mut r = file_env::resolve(before, name, others, policy);
            if let Some(var) = r.file_var.clone().filter(|v| assigned.contains(v)) {
                r = Resolution {
                    delivery: Delivery::AppChange,
                    file_var: None,
                    why: Why::Taken { var },
                };
            }
            if let Some(w) = key_warning(&cname, name, &file, &r) {
                self.warnings.push(w);
            }
            replacement.insert(
                *index,
                r.file_var.as_ref().map(|var| {
                    assigned.insert(var.clone());
                    EnvVar {
                        name: var.clone(),
                        value: Some(file.clone()),
                        value_from: None,
                    }
                }),
            );
            self.vars[*slot] = Some(MovedVar {
                group: cid.0,
                container: cid.1,
                container_name: cname.clone(),
                is_env: true,
                index: *index,
                env: Some(name.clone()),
                secret: secret.clone(),
                path: file,
                resolution: r,
            });
        }
        for (i, r) in replacement.into_iter().rev() {
            match r {
                Some(v) => env[i] = v,
                None => {
                    env.remove(i);
                }
            }
        }
        c.env = (!env.is_empty()).then_some(env);
        Ok(())
    }

    /// Each moved `envFrom` entry of `c` goes: its keys are files in the Secret's folder,
    /// which the app must read (said).
    fn rewrite_wholes(
        &mut self,
        c: &mut Container,
        cid: Cid,
        wholes: &[(usize, &Move)],
        served: &Served<'_>,
    ) -> Result<(), MoveError> {
        let cname = c.name.clone();
        let mut env_from = c.env_from.take().unwrap_or_default();
        for (slot, m) in wholes.iter().rev() {
            let Move::Whole {
                index,
                secret,
                prefix,
                ..
            } = m
            else {
                continue;
            };
            let dir = served
                .path(cid, secret, None)
                .ok_or_else(|| not_served(cid, secret))?;
            env_from.remove(*index);
            self.warnings.push(format!(
                "container {cname}: the variables from Secret {secret} are removed; each key \
                 is now a file in {dir}: app-change: the app must read them from there (any \
                 $(…) references to them no longer expand)"
            ));
            if let Some(p) = prefix.as_deref().filter(|p| !p.is_empty()) {
                self.warnings.push(format!(
                    "container {cname}: envFrom of Secret {secret} had prefix {p}: the files \
                     are named by key, without the prefix"
                ));
            }
            self.vars[*slot] = Some(MovedVar {
                group: cid.0,
                container: cid.1,
                container_name: cname.clone(),
                is_env: false,
                index: *index,
                env: None,
                secret: secret.clone(),
                path: dir,
                resolution: file_env::resolve_whole(),
            });
        }
        c.env_from = (!env_from.is_empty()).then_some(env_from);
        Ok(())
    }
}

fn not_served(cid: Cid, secret: &str) -> MoveError {
    MoveError::NotServed {
        group: cid.0.field(),
        index: cid.1,
        secret: secret.to_string(),
    }
}

/// The warning for a moved `secretKeyRef`: every app change says what the app must do; a
/// native move needs none.
fn key_warning(cname: &str, name: &str, file: &str, r: &Resolution) -> Option<String> {
    if r.delivery == Delivery::Native {
        return None;
    }
    let why = r.why.describe();
    Some(match (&r.why, &r.file_var) {
        (Why::Conflict { .. } | Why::Readers { .. }, Some(var)) => format!(
            "container {cname}: {name} is removed; its value is now the file {file}, named by \
             {var}: app-change: {why}; the pod may not start or work until that is changed"
        ),
        (Why::Taken { var }, _) => format!(
            "container {cname}: {var} is already set and was left unchanged; the value of {name} \
             is now the file {file}: app-change: the app must read it from there"
        ),
        (_, Some(var)) => format!(
            "container {cname}: {name} is removed; its value is now the file {file}, named by \
             {var}: app-change: the app must read {var} ({why})"
        ),
        (_, None) => format!(
            "container {cname}: {name} is removed; its value is now the file {file}: app-change: \
             the app must read it from there ({why})"
        ),
    })
}

/// Phase 6: where a removed variable is still referenced as `$(NAME)`.
fn reference_warnings(spec: &mut PodSpec, vars: &[MovedVar]) -> Result<Vec<String>, MoveError> {
    let mut warnings = Vec::new();
    let mut warned = BTreeSet::new();
    for v in vars {
        let Some(name) = &v.env else {
            continue;
        };
        if !warned.insert((v.group, v.container, name.clone())) {
            continue;
        }
        let c = container_mut(spec, v.group, v.container)?;
        let places = references(c, name);
        if !places.is_empty() {
            warnings.push(format!(
                "container {}: $({name}) in {} will no longer expand: {name} is removed",
                v.container_name,
                places.join(", ")
            ));
        }
    }
    Ok(warnings)
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::FixOptions;
    use crate::fix::file_env::{EnvSources, Table, UserFileVars};
    use serde_json::{Value, json};

    fn spec(v: Value) -> PodSpec {
        serde_json::from_value(v).unwrap()
    }

    fn key(
        group: ContainerGroup,
        container: usize,
        index: usize,
        env: &str,
        secret: &str,
        k: &str,
    ) -> Move {
        Move::Key {
            group,
            container,
            index,
            env: env.into(),
            secret: secret.into(),
            key: k.into(),
            optional: false,
        }
    }

    const C: ContainerGroup = ContainerGroup::Containers;

    fn skr(env: &str, secret: &str, key: &str) -> Value {
        json!({"name": env, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
    }

    /// [`move_secrets`] with `opts`, no `--file-env`: the warnings.
    fn move_to_volumes(
        spec: &mut PodSpec,
        moves: &[Move],
        opts: &FixOptions,
    ) -> Result<Vec<String>, MoveError> {
        let user = UserFileVars::default();
        let policy = Policy {
            table: Table::builtin(),
            user: &user,
            set_file_vars: opts.file_env,
            sources: EnvSources::none(),
            namespace: "",
        };
        Ok(move_secrets(spec, moves, &opts.mount_root, policy)?.warnings)
    }

    fn run(s: &mut PodSpec, moves: &[Move]) -> Vec<String> {
        move_to_volumes(s, moves, &FixOptions::default()).unwrap()
    }

    #[test]
    fn basic_key_move() {
        let mut s = spec(
            json!({"containers": [{"name": "app", "command": ["run", "--pw=$(DB_PASSWORD)"],
            "env": [{"name": "A", "value": "1"}, skr("DB_PASSWORD", "db", "password"), {"name": "URL", "value": "pg://u:$(DB_PASSWORD)@h"}]}]}),
        );
        let w = run(&mut s, &[key(C, 0, 1, "DB_PASSWORD", "db", "password")]);
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"containers": [{"name": "app", "command": ["run", "--pw=$(DB_PASSWORD)"],
                "env": [{"name": "A", "value": "1"},
                    {"name": "DB_PASSWORD_FILE", "value": "/var/run/secrets/secfix/db/password"},
                    {"name": "URL", "value": "pg://u:$(DB_PASSWORD)@h"}],
                "volumeMounts": [{"name": "secfix-db", "mountPath": "/var/run/secrets/secfix/db", "readOnly": true}]}],
                "volumes": [{"name": "secfix-db", "secret": {"secretName": "db", "defaultMode": 292,
                    "items": [{"key": "password", "path": "password", "mode": 292}]}}]})
        );
        let w = w.join("\n");
        assert!(
            w.contains("named by DB_PASSWORD_FILE: app-change: the app must read DB_PASSWORD_FILE (the container's image is unknown)"),
            "{w}"
        );
        assert!(
            w.contains("$(DB_PASSWORD) in env URL, command will no longer expand"),
            "{w}"
        );
    }

    /// Secret files are owned by root: an owner-only file would hide the secret from an app
    /// that runs as another user (the image's `USER`, `runAsUser`, `runAsNonRoot`).
    #[test]
    fn file_mode_is_the_narrowest_the_containers_can_read() {
        let mode = |v: Value| file_mode(&serde_json::from_value::<PodSpec>(v).unwrap());
        // Unknown user (the image decides): everyone reads.
        assert_eq!(mode(json!({"containers": [{"name": "a"}]})), 0o444);
        assert_eq!(
            mode(json!({"securityContext": {"runAsNonRoot": true}, "containers": [{"name": "a"}]})),
            0o444
        );
        // Root everywhere: owner only.
        assert_eq!(
            mode(json!({"securityContext": {"runAsUser": 0}, "containers": [{"name": "a"}]})),
            0o400
        );
        assert_eq!(
            mode(json!({"containers": [{"name": "a", "securityContext": {"runAsUser": 0}}]})),
            0o400
        );
        // One container (or init container) not root: everyone reads.
        assert_eq!(
            mode(
                json!({"securityContext": {"runAsUser": 0}, "containers": [{"name": "a"},
                {"name": "b", "securityContext": {"runAsUser": 1000}}]})
            ),
            0o444
        );
        assert_eq!(
            mode(
                json!({"securityContext": {"runAsUser": 0}, "containers": [{"name": "a"}],
                "initContainers": [{"name": "i", "securityContext": {"runAsUser": 70}}]})
            ),
            0o444
        );
        // fsGroup: the kubelet gives the files that group, which every container has.
        assert_eq!(
            mode(
                json!({"securityContext": {"runAsUser": 1000, "fsGroup": 2000}, "containers": [{"name": "a"}]})
            ),
            0o440
        );
        let mut s = spec(
            json!({"securityContext": {"runAsUser": 472, "fsGroup": 472},
            "containers": [{"name": "app", "env": [skr("PW", "db", "password")]}]}),
        );
        run(&mut s, &[key(C, 0, 0, "PW", "db", "password")]);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["volumes"][0]["secret"]["defaultMode"], json!(0o440));
        assert_eq!(v["volumes"][0]["secret"]["items"][0]["mode"], json!(0o440));
    }

    #[test]
    fn volume_name_and_mount_path_collisions() {
        let mut s = spec(json!({
            "volumes": [{"name": "secfix-db", "emptyDir": {}}, {"name": "secfix-db-2", "configMap": {"name": "x"}}],
            "containers": [{"name": "app", "env": [skr("P", "db", "k")],
                "volumeMounts": [{"name": "secfix-db", "mountPath": "/var/run/secrets/secfix/db/"}]}]}));
        run(&mut s, &[key(C, 0, 0, "P", "db", "k")]);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["volumes"][2]["name"], "secfix-db-3");
        assert_eq!(
            v["containers"][0]["volumeMounts"][1],
            json!({"name": "secfix-db-3", "mountPath": "/var/run/secrets/secfix/db-2", "readOnly": true})
        );
        assert_eq!(
            v["containers"][0]["env"][0]["value"],
            "/var/run/secrets/secfix/db-2/k"
        );
    }

    #[test]
    fn long_and_dotted_secret_names_give_dns_labels() {
        let taken = BTreeSet::new();
        assert_eq!(
            volume_name("tls.example.com", &taken),
            "secfix-tls-example-com"
        );
        let n = volume_name(&"x".repeat(100), &taken);
        assert_eq!(n.len(), 63);
        let n2 = volume_name(&"x".repeat(100), &[n.clone()].into());
        assert_eq!(n2.len(), 63);
        assert!(n2.ends_with("-2"));
    }

    #[test]
    fn existing_volume_and_mount_are_reused_and_made_read_only() {
        let mut s = spec(json!({
            "volumes": [{"name": "creds", "secret": {"secretName": "db"}}],
            "containers": [{"name": "app", "env": [skr("P", "db", "k")],
                "volumeMounts": [{"name": "creds", "mountPath": "/etc/creds"}]}]}));
        run(&mut s, &[key(C, 0, 0, "P", "db", "k")]);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["volumes"].as_array().unwrap().len(), 1);
        assert_eq!(
            v["containers"][0]["volumeMounts"],
            json!([{"name": "creds", "mountPath": "/etc/creds", "readOnly": true}])
        );
        assert_eq!(
            v["containers"][0]["env"],
            json!([{"name": "P_FILE", "value": "/etc/creds/k"}])
        );
    }

    #[test]
    fn items_covering_the_key_are_reused_with_their_path() {
        let mut s = spec(json!({
            "volumes": [{"name": "creds", "secret": {"secretName": "db", "items": [{"key": "k", "path": "sub/file"}]}}],
            "containers": [{"name": "app", "env": [skr("P", "db", "k")]}]}));
        run(&mut s, &[key(C, 0, 0, "P", "db", "k")]);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["volumes"].as_array().unwrap().len(), 1);
        assert_eq!(
            v["containers"][0]["env"][0]["value"],
            "/var/run/secrets/secfix/db/sub/file"
        );
    }

    #[test]
    fn volumes_lacking_the_key_or_holding_unseen_keys_are_not_reused() {
        let mut s = spec(json!({
            "volumes": [{"name": "creds", "secret": {"secretName": "db", "items": [{"key": "other", "path": "o"}]}},
                        {"name": "all", "secret": {"secretName": "api"}}],
            "containers": [{"name": "app", "env": [skr("P", "db", "k"), skr("T", "api", "t")],
                "volumeMounts": [{"name": "all", "mountPath": "/etc/token", "subPath": "t"}]}]}));
        run(
            &mut s,
            &[key(C, 0, 0, "P", "db", "k"), key(C, 0, 1, "T", "api", "t")],
        );
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            v["volumes"][2],
            json!({"name": "secfix-db", "secret": {"secretName": "db", "defaultMode": 292,
                "items": [{"key": "k", "path": "k", "mode": 292}]}})
        );
        // `all` holds every key of `api`, but the container only saw `t` (through subPath
        // and env): mounting `all` whole would widen its access.
        assert_eq!(
            v["volumes"][3],
            json!({"name": "secfix-api", "secret": {"secretName": "api", "defaultMode": 292,
                "items": [{"key": "t", "path": "t", "mode": 292}]}})
        );
        assert_eq!(v["volumes"].as_array().unwrap().len(), 4);
        assert_eq!(
            v["containers"][0]["volumeMounts"],
            json!([
            {"name": "all", "mountPath": "/etc/token", "subPath": "t"},
            {"name": "secfix-db", "mountPath": "/var/run/secrets/secfix/db", "readOnly": true},
            {"name": "secfix-api", "mountPath": "/var/run/secrets/secfix/api", "readOnly": true}])
        );
        assert_eq!(
            v["containers"][0]["env"],
            json!([
            {"name": "P_FILE", "value": "/var/run/secrets/secfix/db/k"},
            {"name": "T_FILE", "value": "/var/run/secrets/secfix/api/t"}])
        );
    }

    #[test]
    fn optional_keys_get_their_own_optional_volume() {
        let base = json!({"containers": [{"name": "a", "env": [skr("P", "db", "k"), skr("Q", "db", "j")]}]});
        let opt = |m: Move, o: bool| match m {
            Move::Key {
                group,
                container,
                index,
                env,
                secret,
                key,
                ..
            } => Move::Key {
                group,
                container,
                index,
                env,
                secret,
                key,
                optional: o,
            },
            w => w,
        };
        let mut s = spec(base.clone());
        run(
            &mut s,
            &[
                opt(key(C, 0, 0, "P", "db", "k"), true),
                opt(key(C, 0, 1, "Q", "db", "j"), true),
            ],
        );
        assert_eq!(
            serde_json::to_value(&s).unwrap()["volumes"][0]["secret"]["optional"],
            true
        );
        let mut s = spec(base);
        run(
            &mut s,
            &[
                opt(key(C, 0, 0, "P", "db", "k"), true),
                opt(key(C, 0, 1, "Q", "db", "j"), false),
            ],
        );
        // Mixed: the required key and the optional key get a volume each, so a missing
        // optional key never stops the pod.
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            v["volumes"],
            json!([
                {"name": "secfix-db", "secret": {"secretName": "db", "defaultMode": 292,
                    "items": [{"key": "j", "path": "j", "mode": 292}]}},
                {"name": "secfix-db-2", "secret": {"secretName": "db", "defaultMode": 292, "optional": true,
                    "items": [{"key": "k", "path": "k", "mode": 292}]}}])
        );
        assert_eq!(
            v["containers"][0]["env"],
            json!([{"name": "P_FILE", "value": "/var/run/secrets/secfix/db-2/k"},
                   {"name": "Q_FILE", "value": "/var/run/secrets/secfix/db/j"}])
        );
    }

    #[test]
    fn several_containers_and_init_containers_share_one_volume() {
        let mut s = spec(json!({
            "initContainers": [{"name": "migrate", "env": [skr("P", "db", "k")]}],
            "containers": [{"name": "a", "env": [skr("P", "db", "k")]}, {"name": "b", "env": [{"name": "X", "value": "y"}, skr("P", "db", "k")]}]}));
        run(
            &mut s,
            &[
                key(ContainerGroup::InitContainers, 0, 0, "P", "db", "k"),
                key(C, 0, 0, "P", "db", "k"),
                key(C, 1, 1, "P", "db", "k"),
            ],
        );
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["volumes"].as_array().unwrap().len(), 1);
        for c in [
            &v["initContainers"][0],
            &v["containers"][0],
            &v["containers"][1],
        ] {
            assert_eq!(c["volumeMounts"][0]["name"], "secfix-db");
            assert!(
                c["env"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["name"] == "P_FILE")
            );
        }
    }

    #[test]
    fn envfrom_with_prefix() {
        let mut s = spec(json!({"containers": [{"name": "a",
            "envFrom": [{"configMapRef": {"name": "cfg"}}, {"prefix": "DB_", "secretRef": {"name": "db", "optional": true}}]}]}));
        let w = run(
            &mut s,
            &[Move::Whole {
                group: C,
                container: 0,
                index: 1,
                secret: "db".into(),
                prefix: Some("DB_".into()),
                optional: true,
            }],
        );
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            v["containers"][0]["envFrom"],
            json!([{"configMapRef": {"name": "cfg"}}])
        );
        assert_eq!(
            v["volumes"][0]["secret"],
            json!({"secretName": "db", "defaultMode": 292, "optional": true})
        );
        let w = w.join("\n");
        assert!(
            w.contains("prefix DB_: the files are named by key, without the prefix"),
            "{w}"
        );
    }

    #[test]
    fn envfrom_does_not_reuse_items_volumes() {
        let mut s = spec(json!({
            "volumes": [{"name": "v", "secret": {"secretName": "db", "items": [{"key": "a", "path": "a"}]}}],
            "containers": [{"name": "a", "envFrom": [{"secretRef": {"name": "db"}}]}]}));
        run(
            &mut s,
            &[Move::Whole {
                group: C,
                container: 0,
                index: 0,
                secret: "db".into(),
                prefix: None,
                optional: false,
            }],
        );
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["volumes"][1]["name"], "secfix-db");
        assert!(v["containers"][0].get("envFrom").is_none());
    }

    #[test]
    fn file_var_already_present_or_file_env_off() {
        let mut s = spec(json!({"containers": [{"name": "a",
            "env": [{"name": "P_FILE", "value": "/mine"}, skr("P", "db", "k")]}]}));
        let w = run(&mut s, &[key(C, 0, 1, "P", "db", "k")]);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            v["containers"][0]["env"],
            json!([{"name": "P_FILE", "value": "/mine"}])
        );
        assert!(
            w[0].contains("P_FILE is already set and was left unchanged; the value of P is now the file /var/run/secrets/secfix/db/k: app-change"),
            "{w:?}"
        );

        let mut s = spec(json!({"containers": [{"name": "a", "env": [skr("P", "db", "k")]}]}));
        let opts = FixOptions {
            file_env: false,
            ..FixOptions::default()
        };
        move_to_volumes(&mut s, &[key(C, 0, 0, "P", "db", "k")], &opts).unwrap();
        let v = serde_json::to_value(&s).unwrap();
        assert!(v["containers"][0].get("env").is_none());
        assert_eq!(
            v["containers"][0]["volumeMounts"][0]["mountPath"],
            "/var/run/secrets/secfix/db"
        );
    }

    #[test]
    fn removal_from_the_back_keeps_indices() {
        let mut s = spec(json!({"containers": [{"name": "a", "env": [
            skr("A", "s", "a"), {"name": "K", "value": "k"}, skr("B", "s", "b"), skr("C", "t", "c")]}]}));
        let opts = FixOptions {
            file_env: false,
            ..FixOptions::default()
        };
        move_to_volumes(
            &mut s,
            &[
                key(C, 0, 3, "C", "t", "c"),
                key(C, 0, 0, "A", "s", "a"),
                key(C, 0, 2, "B", "s", "b"),
                key(C, 0, 0, "A", "s", "a"),
            ],
            &opts,
        )
        .unwrap();
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            v["containers"][0]["env"],
            json!([{"name": "K", "value": "k"}])
        );
    }

    #[test]
    fn errors_leave_the_spec_alone() {
        let orig = spec(json!({"containers": [{"name": "a", "env": [skr("A", "s", "a")]}]}));
        let mut s = orig.clone();
        let e = move_to_volumes(
            &mut s,
            &[key(C, 0, 0, "A", "s", "a"), key(C, 0, 5, "A", "s", "a")],
            &FixOptions::default(),
        );
        assert!(matches!(e, Err(MoveError::NoEntry { index: 5, .. })));
        assert_eq!(s, orig);
        let e = move_to_volumes(
            &mut s,
            &[key(
                ContainerGroup::EphemeralContainers,
                0,
                0,
                "A",
                "s",
                "a",
            )],
            &FixOptions::default(),
        );
        assert!(matches!(e, Err(MoveError::Ephemeral { .. })));
        let opts = FixOptions {
            mount_root: "relative".into(),
            ..FixOptions::default()
        };
        let e = move_to_volumes(&mut s, &[key(C, 0, 0, "A", "s", "a")], &opts);
        assert_eq!(
            e.unwrap_err().to_string(),
            "--mount-root must be an absolute path, got \"relative\""
        );
        assert_eq!(s, orig);
    }

    #[test]
    fn custom_mount_root() {
        let mut s = spec(json!({"containers": [{"name": "a", "env": [skr("A", "s", "a")]}]}));
        let opts = FixOptions {
            mount_root: "/".into(),
            ..FixOptions::default()
        };
        move_to_volumes(&mut s, &[key(C, 0, 0, "A", "s", "a")], &opts).unwrap();
        assert_eq!(
            s.containers[0].volume_mounts.as_ref().unwrap()[0].mount_path,
            "/s"
        );
    }

    fn vol(s: &PodSpec, name: &str) -> Value {
        let v = serde_json::to_value(s).unwrap();
        v["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    }

    #[test]
    fn each_container_gets_only_the_keys_it_had() {
        // covers issue #14: items per container, separate volumes for different keys
        let mut s = spec(json!({
            "volumes": [{"name": "everything", "secret": {"secretName": "s"}}],
            "containers": [
                {"name": "a", "env": [skr("A", "s", "a")]},
                {"name": "b", "env": [skr("B", "s", "b")]},
                {"name": "ab", "env": [skr("A", "s", "a"), skr("B", "s", "b")]},
                {"name": "a2", "env": [skr("A", "s", "a")]}]}));
        run(
            &mut s,
            &[
                key(C, 0, 0, "A", "s", "a"),
                key(C, 1, 0, "B", "s", "b"),
                key(C, 2, 0, "A", "s", "a"),
                key(C, 2, 1, "B", "s", "b"),
                key(C, 3, 0, "A", "s", "a"),
            ],
        );
        let items = |name: &str| vol(&s, name)["secret"]["items"].clone();
        let item = |k: &str| json!({"key": k, "path": k, "mode": 292});
        assert_eq!(items("secfix-s"), json!([item("a")]));
        assert_eq!(items("secfix-s-2"), json!([item("b")]));
        assert_eq!(items("secfix-s-3"), json!([item("a"), item("b")]));
        assert_eq!(s.volumes.as_ref().unwrap().len(), 4, "{:?}", s.volumes);
        let mounts: Vec<&str> = s
            .containers
            .iter()
            .map(|c| c.volume_mounts.as_ref().unwrap()[0].name.as_str())
            .collect();
        // The volume holding every key is never mounted where only some were seen.
        assert_eq!(mounts, ["secfix-s", "secfix-s-2", "secfix-s-3", "secfix-s"]);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            v["containers"][2]["env"],
            json!([{"name": "A_FILE", "value": "/var/run/secrets/secfix/s/a"},
                   {"name": "B_FILE", "value": "/var/run/secrets/secfix/s/b"}])
        );
    }

    #[test]
    fn envfrom_mounts_every_key_and_serves_the_key_refs_of_that_container() {
        let mut s = spec(json!({"containers": [{"name": "a",
            "env": [skr("P", "db", "password")],
            "envFrom": [{"secretRef": {"name": "db"}}]}]}));
        let moved = move_secrets(
            &mut s,
            &[
                key(C, 0, 0, "P", "db", "password"),
                Move::Whole {
                    group: C,
                    container: 0,
                    index: 0,
                    secret: "db".into(),
                    prefix: None,
                    optional: false,
                },
            ],
            "/s",
            Policy {
                table: Table::builtin(),
                user: &UserFileVars::default(),
                set_file_vars: true,
                sources: EnvSources::none(),
                namespace: "",
            },
        )
        .unwrap();
        assert_eq!(
            vol(&s, "secfix-db"),
            json!({"name": "secfix-db", "secret": {"secretName": "db", "defaultMode": 292}})
        );
        assert_eq!(s.volumes.as_ref().unwrap().len(), 1);
        let whole = &moved.vars[1];
        assert_eq!((whole.is_env, whole.path.as_str()), (false, "/s/db"));
        assert_eq!(whole.resolution.why, Why::WholeSecret);
        assert_eq!(whole.resolution.delivery, Delivery::AppChange);
        assert_eq!(moved.vars[0].path, "/s/db/password");
    }

    fn policy(user: &UserFileVars) -> Policy<'_> {
        Policy {
            table: Table::builtin(),
            user,
            set_file_vars: true,
            sources: EnvSources::none(),
            namespace: "",
        }
    }

    #[test]
    fn native_images_get_the_exact_variable_they_read() {
        // covers issue #14: images that read files natively get the exact variable
        let mut s = spec(json!({"containers": [
            {"name": "db", "image": "docker.io/library/mysql:8.4", "env": [skr("MYSQL_PASSWORD", "db", "password")]},
            {"name": "grafana", "image": "grafana/grafana:11.2.0", "env": [skr("GF_SECURITY_ADMIN_PASSWORD", "graf", "admin")]},
            {"name": "api", "image": "registry.example.com/mysql:8.4", "env": [skr("MYSQL_PASSWORD", "db", "password")]}]}));
        let user = UserFileVars::default();
        let moved = move_secrets(
            &mut s,
            &[
                key(C, 0, 0, "MYSQL_PASSWORD", "db", "password"),
                key(C, 1, 0, "GF_SECURITY_ADMIN_PASSWORD", "graf", "admin"),
                key(C, 2, 0, "MYSQL_PASSWORD", "db", "password"),
            ],
            "/var/run/secrets/secfix",
            policy(&user),
        )
        .unwrap();
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            v["containers"][0]["env"],
            json!([{"name": "MYSQL_PASSWORD_FILE", "value": "/var/run/secrets/secfix/db/password"}])
        );
        assert_eq!(
            v["containers"][1]["env"],
            json!([{"name": "GF_SECURITY_ADMIN_PASSWORD__FILE", "value": "/var/run/secrets/secfix/graf/admin"}])
        );
        let classes: Vec<Delivery> = moved.vars.iter().map(|v| v.resolution.delivery).collect();
        assert_eq!(
            classes,
            [Delivery::Native, Delivery::Native, Delivery::AppChange]
        );
        // Only the app change warns; the mirror is not the official image.
        assert_eq!(moved.warnings.len(), 1, "{:?}", moved.warnings);
        assert!(
            moved.warnings[0].starts_with("container api: MYSQL_PASSWORD is removed")
                && moved.warnings[0].contains(
                    "app-change: the app must read MYSQL_PASSWORD_FILE (registry.example.com/mysql is not in the table"
                ),
            "{:?}",
            moved.warnings
        );
    }

    #[test]
    fn a_user_named_variable_makes_the_move_native() {
        let mut s = spec(json!({"containers": [
            {"name": "api", "image": "example/api:1", "env": [skr("API_TOKEN", "api", "token")]}]}));
        let user = UserFileVars::parse(&["API_TOKEN=API_TOKEN_PATH"]).unwrap();
        let moved = move_secrets(
            &mut s,
            &[key(C, 0, 0, "API_TOKEN", "api", "token")],
            "/s",
            policy(&user),
        )
        .unwrap();
        assert!(moved.warnings.is_empty(), "{:?}", moved.warnings);
        assert_eq!(moved.vars[0].resolution.why, Why::UserNamed);
        assert_eq!(
            serde_json::to_value(&s.containers[0].env).unwrap(),
            json!([{"name": "API_TOKEN_PATH", "value": "/s/api/token"}])
        );
    }

    #[test]
    fn two_entries_never_get_the_same_file_variable() {
        let mut s = spec(json!({"containers": [{"name": "a", "image": "mysql",
            "env": [skr("MYSQL_PASSWORD", "db", "p"), skr("MYSQL_PASSWORD", "db", "q")]}]}));
        let moved = run_moved(
            &mut s,
            &[
                key(C, 0, 0, "MYSQL_PASSWORD", "db", "p"),
                key(C, 0, 1, "MYSQL_PASSWORD", "db", "q"),
            ],
        );
        // Kubernetes sets the last of two same-named entries: the first is no native move
        // (issue #22: another source of the variable).
        assert_eq!(moved.vars[0].resolution.delivery, Delivery::AppChange);
        assert_eq!(
            moved.vars[0].resolution.why,
            Why::Conflict {
                var: "MYSQL_PASSWORD".into(),
                source: "another env entry of the container".into()
            }
        );
        assert_eq!(
            moved.vars[1].resolution.why,
            Why::Taken {
                var: "MYSQL_PASSWORD_FILE".into()
            }
        );
        assert_eq!(s.containers[0].env.as_ref().unwrap().len(), 1);
    }

    fn run_moved(s: &mut PodSpec, moves: &[Move]) -> Moved {
        move_secrets(
            s,
            moves,
            "/var/run/secrets/secfix",
            policy(&UserFileVars::default()),
        )
        .unwrap()
    }

    mod properties {
        use super::*;
        use crate::fix::patch;
        use proptest::prelude::*;

        const SECRETS: [&str; 3] = ["db", "api", "web-secfix"];
        const KEYS: [&str; 3] = ["k1", "k2", "password"];
        const NAMES: [&str; 5] = ["A", "B", "PASSWORD", "A_FILE", "MYSQL_PASSWORD"];
        const IMAGES: [&str; 4] = [
            "mysql:8",
            "grafana/grafana",
            "example/app",
            "registry.example.com/mysql",
        ];

        /// (name, secret, key, optional) env refs; envFrom secrets (secret, optional); whole
        /// mounts (volume index, subPath); image.
        type GenC = (
            Vec<(usize, usize, usize, bool)>,
            Vec<(usize, bool)>,
            Vec<(usize, bool)>,
            usize,
        );

        /// A `secret` volume: Secret, and the keys of its `items` (none: every key).
        type GenVolume = (usize, Option<Vec<usize>>);

        fn gen_pod() -> impl Strategy<Value = (Vec<GenC>, Vec<GenVolume>)> {
            let c = (
                prop::collection::vec(
                    (
                        0..NAMES.len(),
                        0..SECRETS.len(),
                        0..KEYS.len(),
                        any::<bool>(),
                    ),
                    0..4,
                ),
                prop::collection::vec((0..SECRETS.len(), any::<bool>()), 0..2),
                prop::collection::vec((0..4usize, any::<bool>()), 0..2),
                0..IMAGES.len(),
            );
            (
                prop::collection::vec(c, 1..4),
                prop::collection::vec(
                    (
                        0..SECRETS.len(),
                        prop::option::of(prop::collection::vec(0..KEYS.len(), 1..3)),
                    ),
                    0..4,
                ),
            )
        }

        fn build(cs: &[GenC], vols: &[GenVolume]) -> PodSpec {
            let volumes: Vec<Value> = vols
                .iter()
                .enumerate()
                .map(|(i, (s, items))| {
                    let mut sv = json!({"secretName": SECRETS[*s]});
                    if let Some(items) = items {
                        let keys: BTreeSet<usize> = items.iter().copied().collect();
                        sv["items"] = keys
                            .iter()
                            .map(|k| json!({"key": KEYS[*k], "path": format!("f/{}", KEYS[*k])}))
                            .collect();
                    }
                    json!({"name": format!("v{i}"), "secret": sv})
                })
                .collect();
            let containers: Vec<Value> = cs
                .iter()
                .enumerate()
                .map(|(i, (env, from, mounts, image))| {
                    let mut c = json!({"name": format!("c{i}"), "image": IMAGES[*image],
                        "env": env.iter().map(|(n, s, k, o)| json!({"name": NAMES[*n],
                            "valueFrom": {"secretKeyRef": {"name": SECRETS[*s], "key": KEYS[*k], "optional": o}}})).collect::<Vec<_>>(),
                        "envFrom": from.iter().map(|(s, o)| json!({"secretRef": {"name": SECRETS[*s], "optional": o}})).collect::<Vec<_>>()});
                    for list in ["env", "envFrom"] {
                        if c[list].as_array().is_some_and(Vec::is_empty) {
                            c.as_object_mut().unwrap().remove(list);
                        }
                    }
                    let mut seen = BTreeSet::new();
                    let ms: Vec<Value> = mounts
                        .iter()
                        .filter(|(v, _)| *v < volumes.len() && seen.insert(*v))
                        .map(|(v, sub)| {
                            let mut m = json!({"name": format!("v{v}"), "mountPath": format!("/m/{v}")});
                            if *sub {
                                m["subPath"] = json!("f");
                            }
                            m
                        })
                        .collect();
                    if !ms.is_empty() {
                        c["volumeMounts"] = Value::Array(ms);
                    }
                    c
                })
                .collect();
            let mut s = json!({"containers": containers});
            if !volumes.is_empty() {
                s["volumes"] = Value::Array(volumes);
            }
            spec(s)
        }

        fn all_moves(s: &PodSpec) -> Vec<Move> {
            let mut out = Vec::new();
            for (ci, c) in s.containers.iter().enumerate() {
                for (i, e) in c.env.iter().flatten().enumerate() {
                    let r = e
                        .value_from
                        .as_ref()
                        .unwrap()
                        .secret_key_ref
                        .as_ref()
                        .unwrap();
                    out.push(Move::Key {
                        group: C,
                        container: ci,
                        index: i,
                        env: e.name.clone(),
                        secret: r.name.clone(),
                        key: r.key.clone(),
                        optional: r.optional == Some(true),
                    });
                }
                for (i, e) in c.env_from.iter().flatten().enumerate() {
                    let r = e.secret_ref.as_ref().unwrap();
                    out.push(Move::Whole {
                        group: C,
                        container: ci,
                        index: i,
                        secret: r.name.clone(),
                        prefix: None,
                        optional: r.optional == Some(true),
                    });
                }
            }
            out
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(400))]
            #[test]
            fn moves_never_widen_access_and_invert_exactly((cs, vols) in gen_pod(), file_env in any::<bool>()) {
                // covers issue #14: a fixed container never gains a key; the inverse is exact
                let original = build(&cs, &vols);
                let moves = all_moves(&original);
                let mut fixed = original.clone();
                let user = UserFileVars::default();
                let moved = move_secrets(&mut fixed, &moves, "/var/run/secrets/secfix", Policy {
                    table: Table::builtin(), user: &user, set_file_vars: file_env, sources: EnvSources::none(), namespace: "",
                }).unwrap();
                for (ci, (before, after)) in original.containers.iter().zip(&fixed.containers).enumerate() {
                    for secret in SECRETS {
                        let had = readable(&original, before, secret);
                        let has = readable(&fixed, after, secret);
                        prop_assert!(had.covers(&has), "c{} gained keys of {}: {:?} -> {:?}", ci, secret, had, has);
                    }
                    // No secret reference left; no subPath added.
                    prop_assert!(after.env.iter().flatten().all(|e| e.value_from.is_none()));
                    prop_assert!(after.env_from.is_none());
                    let before_sub = before.volume_mounts.iter().flatten().filter(|m| !is_whole_mount(m)).count();
                    let after_sub = after.volume_mounts.iter().flatten().filter(|m| !is_whole_mount(m)).count();
                    prop_assert_eq!(before_sub, after_sub);
                }
                // Every moved key is a file of a read-only whole mount projecting that key.
                for (m, v) in moves.iter().zip(&moved.vars) {
                    let Move::Key { secret, key, .. } = m else { continue };
                    let c = &fixed.containers[v.container];
                    let ok = c.volume_mounts.iter().flatten().any(|mnt| {
                        mnt.read_only == Some(true) && is_whole_mount(mnt)
                            && secret_volumes(&fixed, secret).any(|(vol, s)| vol.name == mnt.name && match s.items.as_deref() {
                                None | Some([]) => v.path == file_in(&mnt.mount_path, key),
                                Some(items) => items.iter().any(|i| &i.key == key && v.path == file_in(&mnt.mount_path, &i.path)),
                            })
                    });
                    prop_assert!(ok, "{} of {} not at {}", key, secret, v.path);
                }
                prop_assert_eq!(moved.vars.len(), {
                    let mut seen = BTreeSet::new();
                    moves.iter().filter(|m| seen.insert(m.entry())).count()
                });
                // The diff both ways is exact.
                let (a, b) = (serde_json::to_value(&original).unwrap(), serde_json::to_value(&fixed).unwrap());
                let forward = patch::diff(&a, &b, "").unwrap();
                let inverse = patch::diff(&b, &a, "").unwrap();
                prop_assert_eq!(patch::applied(&a, &forward).unwrap(), b.clone());
                let back: PodSpec = serde_json::from_value(patch::applied(&b, &inverse).unwrap()).unwrap();
                prop_assert_eq!(back, original);
            }
        }
    }

    /// Issue 20: phase 5 skipped a moved Secret that no mounted volume served with a silent
    /// `continue`; for an `envFrom` entry the entry was removed first, so its variables were
    /// gone with no file in their place. Now it is an error and nothing is changed.
    #[test]
    fn unserved_secret_is_an_error_not_a_silent_removal() {
        let original = spec(json!({"containers": [
            {"name": "app", "image": "x", "envFrom": [{"secretRef": {"name": "db"}}]}
        ]}));
        let mut s = original.clone();
        let m = Move::Whole {
            group: ContainerGroup::Containers,
            container: 0,
            index: 0,
            secret: "db".into(),
            prefix: None,
            optional: false,
        };
        let served = Served {
            needs: &[],
            chosen: &[],
            dirs: &[],
        };
        let user = UserFileVars::default();
        let e = rewrite_env(&mut s, &original, &[&m], &served, policy(&user));
        assert!(
            matches!(&e, Err(MoveError::NotServed { secret, .. }) if secret == "db"),
            "{e:?}"
        );
    }
}
