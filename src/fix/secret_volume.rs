//! `env-secret` fix: Secrets referenced from env vars become read-only volume mounts.
//!
//! Rules, per referenced Secret `S` (see the crate brief, issue 4):
//! - **Volume**: an existing `secret` volume for `S` is reused when it has no `items`, or
//!   (for single keys only) when its `items` list every key needed; the file is then the
//!   item's `path`. Otherwise a volume `secfix-<S>` is added (a DNS label of at most 63
//!   characters, `-2`, `-3`, … when taken) with `defaultMode: 0400` and `optional: true` only
//!   when every reference to `S` being fixed is optional.
//! - **Mount**: in each container that referenced `S`, an existing mount of that volume
//!   without `subPath`/`subPathExpr` is reused (and made `readOnly`); otherwise the volume is
//!   mounted `readOnly` at `<mount_root>/<S>` (`-2`, … when the container already mounts
//!   something there).
//! - **Env**: the `env` entry is replaced in place by `<NAME>_FILE=<file>` (so `$(…)`
//!   expansion order is kept and the patch is one `replace`), or removed when
//!   `file_env` is off or `<NAME>_FILE` already exists (then a warning says so). An
//!   `envFrom` entry is removed. Lists left empty are dropped. Removal goes from the back so
//!   indices stay right.
//!
//! Warnings never contain values, only names and paths.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    Container, EnvVar, PodSpec, SecretVolumeSource, Volume, VolumeMount,
};

use super::FixOptions;
use crate::model::ContainerGroup;

/// Prefix of the volumes this fix adds.
pub const VOLUME_PREFIX: &str = "secfix-";
/// `defaultMode` of the volumes this fix adds: owner read-only.
pub const DEFAULT_MODE: i32 = 0o400;
/// Longest volume name (DNS label).
const MAX_VOLUME_NAME: usize = 63;

/// One env reference to move into a mounted file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move {
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
    fn container(&self) -> (ContainerGroup, usize) {
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

    /// Identity of the entry moved: container, list, index.
    fn entry(&self) -> (ContainerGroup, usize, bool, usize) {
        match self {
            Move::Key {
                group,
                container,
                index,
                ..
            } => (*group, *container, true, *index),
            Move::Whole {
                group,
                container,
                index,
                ..
            } => (*group, *container, false, *index),
        }
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
}

/// What the fix needs from one Secret.
#[derive(Debug, Default)]
struct Need {
    keys: BTreeSet<String>,
    whole: bool,
    all_optional: bool,
}

/// The volume chosen for one Secret.
#[derive(Debug)]
struct Chosen {
    volume: String,
    /// `items` of a reused volume: key → file path inside the mount.
    items: BTreeMap<String, String>,
}

fn container_mut(
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
pub fn volume_name(secret: &str, taken: &BTreeSet<String>) -> String {
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
    crate::model::names::unique(raw.trim_end_matches('-'), "", "-", MAX_VOLUME_NAME, |n| {
        taken.contains(n)
    })
}

/// Picks (or adds) the volume for `secret`.
fn choose_volume(spec: &mut PodSpec, secret: &str, need: &Need) -> Chosen {
    let volumes = spec.volumes.as_deref().unwrap_or(&[]);
    let of_secret = || {
        volumes.iter().filter_map(|v| {
            v.secret
                .as_ref()
                .filter(|s| s.secret_name.as_deref() == Some(secret))
                .map(|s| (v, s))
        })
    };
    if let Some((v, _)) = of_secret().find(|(_, s)| s.items.as_ref().is_none_or(Vec::is_empty)) {
        return Chosen {
            volume: v.name.clone(),
            items: BTreeMap::new(),
        };
    }
    if !need.whole {
        let covering = of_secret().find(|(_, s)| {
            let items = s.items.as_deref().unwrap_or(&[]);
            need.keys.iter().all(|k| items.iter().any(|i| &i.key == k))
        });
        if let Some((v, s)) = covering {
            let items = s
                .items
                .iter()
                .flatten()
                .map(|i| (i.key.clone(), i.path.clone()))
                .collect();
            return Chosen {
                volume: v.name.clone(),
                items,
            };
        }
    }
    let taken: BTreeSet<String> = volumes.iter().map(|v| v.name.clone()).collect();
    let name = volume_name(secret, &taken);
    spec.volumes.get_or_insert_default().push(Volume {
        name: name.clone(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret.to_string()),
            default_mode: Some(DEFAULT_MODE),
            optional: need.all_optional.then_some(true),
            items: None,
        }),
        ..Volume::default()
    });
    Chosen {
        volume: name,
        items: BTreeMap::new(),
    }
}

fn is_empty(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(str::is_empty)
}

/// The directory where `volume` is mounted in `c`: an existing whole-volume mount (made
/// read-only) or a new read-only mount at a path no other mount of `c` uses.
fn ensure_mount(c: &mut Container, volume: &str, secret: &str, root: &str) -> String {
    let mounts = c.volume_mounts.get_or_insert_default();
    if let Some(m) = mounts
        .iter_mut()
        .find(|m| m.name == volume && is_empty(&m.sub_path) && is_empty(&m.sub_path_expr))
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
pub fn references(c: &Container, name: &str) -> Vec<String> {
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

/// Applies `moves` to `spec` and returns the warnings for the user. Duplicate moves of the
/// same entry are applied once. Nothing is changed when an error is returned.
pub fn move_to_volumes(
    spec: &mut PodSpec,
    moves: &[Move],
    opts: &FixOptions,
) -> Result<Vec<String>, MoveError> {
    if moves.is_empty() {
        return Ok(Vec::new());
    }
    let root = mount_root(&opts.mount_root)?;
    // Validate every entry first, so an error leaves the spec untouched.
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

    let mut needs: BTreeMap<&str, Need> = BTreeMap::new();
    for m in &unique {
        let need = needs.entry(m.secret()).or_insert_with(|| Need {
            all_optional: true,
            ..Need::default()
        });
        need.all_optional &= m.optional();
        match m {
            Move::Key { key, .. } => {
                need.keys.insert(key.clone());
            }
            Move::Whole { .. } => need.whole = true,
        }
    }
    // Volumes are added in the order their Secrets are first referenced.
    let mut chosen: BTreeMap<&str, Chosen> = BTreeMap::new();
    for m in &unique {
        if !chosen.contains_key(m.secret()) {
            let c = choose_volume(spec, m.secret(), &needs[m.secret()]);
            chosen.insert(m.secret(), c);
        }
    }

    // Mount directories, per (container, secret), in the order references appear.
    let mut dirs: BTreeMap<((ContainerGroup, usize), &str), String> = BTreeMap::new();
    for m in &unique {
        let (group, ci) = m.container();
        if let std::collections::btree_map::Entry::Vacant(slot) =
            dirs.entry((m.container(), m.secret()))
        {
            let c = container_mut(spec, group, ci)?;
            slot.insert(ensure_mount(
                c,
                &chosen[m.secret()].volume,
                m.secret(),
                root,
            ));
        }
    }

    let containers: BTreeSet<(ContainerGroup, usize)> =
        unique.iter().map(|m| m.container()).collect();
    let mut warnings = Vec::new();
    for (group, ci) in containers {
        let c = container_mut(spec, group, ci)?;
        let cname = c.name.clone();
        let mut keys: Vec<&Move> = unique
            .iter()
            .copied()
            .filter(|m| m.container() == (group, ci) && matches!(m, Move::Key { .. }))
            .collect();
        keys.sort_by_key(|m| m.entry().3);
        let mut wholes: Vec<&Move> = unique
            .iter()
            .copied()
            .filter(|m| m.container() == (group, ci) && matches!(m, Move::Whole { .. }))
            .collect();
        wholes.sort_by_key(|m| m.entry().3);

        let mut removed_names = Vec::new();
        if !keys.is_empty() {
            let mut env = c.env.take().unwrap_or_default();
            let moved: BTreeSet<usize> = keys.iter().map(|m| m.entry().3).collect();
            let mut remaining: BTreeSet<String> = env
                .iter()
                .enumerate()
                .filter(|(i, _)| !moved.contains(i))
                .map(|(_, e)| e.name.clone())
                .collect();
            let mut replacement: BTreeMap<usize, Option<EnvVar>> = BTreeMap::new();
            for m in &keys {
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
                let dir = &dirs[&((group, ci), secret.as_str())];
                let file = file_in(
                    dir,
                    chosen[secret.as_str()]
                        .items
                        .get(key)
                        .map_or(key.as_str(), String::as_str),
                );
                removed_names.push(name.clone());
                let file_var = format!("{name}_FILE");
                if !opts.file_env {
                    warnings.push(format!(
                        "container {cname}: {name} is removed; its value is now the file \
                         {file}: the app must read it from there"
                    ));
                    replacement.insert(*index, None);
                } else if remaining.contains(&file_var) {
                    warnings.push(format!(
                        "container {cname}: {file_var} is already set and was left unchanged; \
                         the value of {name} is now the file {file}"
                    ));
                    replacement.insert(*index, None);
                } else {
                    warnings.push(format!(
                        "container {cname}: {name} is removed; its value is now the file \
                         {file}, named by {file_var}: the app must read {file_var}"
                    ));
                    remaining.insert(file_var.clone());
                    replacement.insert(
                        *index,
                        Some(EnvVar {
                            name: file_var,
                            value: Some(file),
                            value_from: None,
                        }),
                    );
                }
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
        }
        if !wholes.is_empty() {
            let mut env_from = c.env_from.take().unwrap_or_default();
            for m in wholes.iter().rev() {
                let Move::Whole {
                    index,
                    secret,
                    prefix,
                    ..
                } = m
                else {
                    continue;
                };
                env_from.remove(*index);
                let dir = &dirs[&((group, ci), secret.as_str())];
                warnings.push(format!(
                    "container {cname}: the variables from Secret {secret} are removed; each key \
                     is now a file in {dir}: the app must read them from there (any $(…) \
                     references to them no longer expand)"
                ));
                if let Some(p) = prefix.as_deref().filter(|p| !p.is_empty()) {
                    warnings.push(format!(
                        "container {cname}: envFrom of Secret {secret} had prefix {p}: the files \
                         are named by key, without the prefix"
                    ));
                }
            }
            c.env_from = (!env_from.is_empty()).then_some(env_from);
        }
        let mut warned = BTreeSet::new();
        for name in removed_names {
            if !warned.insert(name.clone()) {
                continue;
            }
            let places = references(c, &name);
            if !places.is_empty() {
                warnings.push(format!(
                    "container {cname}: $({name}) in {} will no longer expand: {name} is removed",
                    places.join(", ")
                ));
            }
        }
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
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
                "volumes": [{"name": "secfix-db", "secret": {"secretName": "db", "defaultMode": 256}}]})
        );
        let w = w.join("\n");
        assert!(w.contains("the app must read DB_PASSWORD_FILE"), "{w}");
        assert!(
            w.contains("$(DB_PASSWORD) in env URL, command will no longer expand"),
            "{w}"
        );
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
    fn items_lacking_the_key_and_subpath_mounts_are_not_reused() {
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
            json!({"name": "secfix-db", "secret": {"secretName": "db", "defaultMode": 256}})
        );
        assert_eq!(v["volumes"].as_array().unwrap().len(), 3);
        assert_eq!(
            v["containers"][0]["volumeMounts"],
            json!([
            {"name": "all", "mountPath": "/etc/token", "subPath": "t"},
            {"name": "secfix-db", "mountPath": "/var/run/secrets/secfix/db", "readOnly": true},
            {"name": "all", "mountPath": "/var/run/secrets/secfix/api", "readOnly": true}])
        );
        assert_eq!(
            v["containers"][0]["env"],
            json!([
            {"name": "P_FILE", "value": "/var/run/secrets/secfix/db/k"},
            {"name": "T_FILE", "value": "/var/run/secrets/secfix/api/t"}])
        );
    }

    #[test]
    fn optional_only_when_every_reference_is() {
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
        assert!(
            serde_json::to_value(&s).unwrap()["volumes"][0]["secret"]
                .get("optional")
                .is_none()
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
            json!({"secretName": "db", "defaultMode": 256, "optional": true})
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
        assert!(w[0].contains("P_FILE is already set"), "{w:?}");

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
}
