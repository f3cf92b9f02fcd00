//! Which variable an app reads a moved secret's file path from, and whether that is known.
//!
//! The knowledge table is `file_env.yaml` (embedded; its header says how to add an entry):
//! per image repository, the variable naming the file (`{NAME}_FILE`, `{NAME}__FILE`,
//! `FILE__{NAME}`) and the variables read that way. [`resolve`] gives each moved variable a
//! [`Delivery`] class:
//! - [`Delivery::Native`]: the image reads that exact file variable (from the table), or the
//!   user named it (`--file-env NAME=VAR`): the fix sets it;
//! - [`Delivery::AppChange`]: not known. The fix sets `<NAME>_FILE` (unless it cannot), and
//!   the app must be changed to read it.
//!
//! Repositories match as a runtime resolves them (through [`ImageRef`]): `mysql`,
//! `docker.io/library/mysql` and `index.docker.io/library/mysql:8.0@sha256:…` are one
//! repository, any tag or digest; `registry.example.com/mysql` (a mirror) is another.
//!
//! Everything here is pure: no I/O, and no secret value is ever seen (only names).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use k8s_openapi::api::core::v1::{Container, PodSpec};
use serde::Deserialize;

pub use crate::checks::Delivery;
use crate::model::{ContainerGroup, ImageRef};

/// The reviewed knowledge table.
const TABLE_YAML: &str = include_str!("file_env.yaml");

/// The placeholder for the original variable in an entry's `file_var`.
const NAME: &str = "{NAME}";

/// A variable pattern of the table: `NAME`, `PREFIX*` or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Exact(String),
    Prefix(String),
}

impl Pattern {
    fn parse(s: &str) -> Result<Self, String> {
        let (body, prefix) = match s.strip_suffix('*') {
            Some(b) => (b, true),
            None => (s, false),
        };
        if body.contains('*') {
            return Err(format!("{s:?}: `*` may only end a pattern"));
        }
        if !body.chars().all(is_env_char) || (!prefix && body.is_empty()) {
            return Err(format!("{s:?} is not a variable name or `PREFIX*`"));
        }
        Ok(if prefix {
            Pattern::Prefix(body.to_string())
        } else {
            Pattern::Exact(body.to_string())
        })
    }

    fn matches(&self, var: &str) -> bool {
        match self {
            Pattern::Exact(n) => n == var,
            Pattern::Prefix(p) => var.starts_with(p.as_str()),
        }
    }
}

/// Characters of a variable name as Kubernetes has always accepted them (`C_IDENTIFIER`
/// plus `-` and `.`).
fn is_env_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// Whether `s` is a valid environment variable name (`[-._a-zA-Z][-._a-zA-Z0-9]*`).
pub(crate) fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| is_env_char(c) && !c.is_ascii_digit())
        && chars.all(is_env_char)
}

/// One entry of `file_env.yaml`, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    image: String,
    docs: String,
    registries: Vec<String>,
    repositories: Vec<String>,
    file_var: String,
    variables: Vec<String>,
    #[serde(default)]
    except: Vec<String>,
    #[serde(default)]
    except_tags: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    images: Vec<RawEntry>,
}

/// One image (family) of the table, validated.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Short name for messages (`mysql`, `grafana`).
    pub image: String,
    /// Where the image documents the convention.
    pub docs: String,
    /// `file_var` split at `{NAME}`.
    before: String,
    after: String,
    variables: Vec<Pattern>,
    except: Vec<Pattern>,
    except_tags: Vec<String>,
}

impl Entry {
    /// The file variable for `var` (`MYSQL_PASSWORD` → `MYSQL_PASSWORD_FILE`).
    pub(crate) fn file_var(&self, var: &str) -> String {
        format!("{}{var}{}", self.before, self.after)
    }

    /// Whether the image reads `var` from a file.
    pub fn reads(&self, var: &str) -> bool {
        self.variables.iter().any(|p| p.matches(var)) && !self.except.iter().any(|p| p.matches(var))
    }

    /// The excluded variant `tag` belongs to, if any.
    fn excluded_tag(&self, tag: Option<&str>) -> Option<&str> {
        let tag = tag?;
        self.except_tags
            .iter()
            .find(|t| tag.contains(t.as_str()))
            .map(String::as_str)
    }
}

/// Why the table could not be loaded. Only a broken `file_env.yaml` gives one (a test loads it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("file_env.yaml: {0}")]
pub struct TableError(String);

/// The knowledge table: entries, and an index by `(registry, repository)`.
#[derive(Debug, Clone)]
pub struct Table {
    entries: Vec<Entry>,
    index: BTreeMap<(String, String), usize>,
}

impl Table {
    /// The table shipped in the binary (`file_env.yaml`).
    pub(crate) fn builtin() -> &'static Table {
        static TABLE: LazyLock<Table> = LazyLock::new(|| {
            // The embedded file is checked by `builtin_table_loads`; a broken one is a bug
            // in this build, not a runtime condition.
            Table::parse(TABLE_YAML).unwrap_or_else(|e| panic!("{e}"))
        });
        &TABLE
    }

    /// Parses and validates a table in the format of `file_env.yaml`.
    pub fn parse(yaml: &str) -> Result<Table, TableError> {
        let raw: RawTable =
            serde_saphyr::from_str(yaml).map_err(|e| TableError(format!("not a table: {e}")))?;
        let mut entries = Vec::new();
        let mut index = BTreeMap::new();
        for (i, r) in raw.images.into_iter().enumerate() {
            let err = |m: String| TableError(format!("entry {} ({}): {m}", i + 1, r.image));
            if r.image.trim().is_empty() {
                return Err(err("`image` is empty".into()));
            }
            if !r.docs.starts_with("https://") {
                return Err(err(format!(
                    "`docs` must be an https URL, got {:?}",
                    r.docs
                )));
            }
            let (before, after) = r
                .file_var
                .split_once(NAME)
                .filter(|(b, a)| !a.contains(NAME) && (!b.is_empty() || !a.is_empty()))
                .ok_or_else(|| {
                    err(format!(
                        "`file_var` must hold {NAME} once, with something around it, got {:?}",
                        r.file_var
                    ))
                })?;
            if !before.chars().chain(after.chars()).all(is_env_char) {
                return Err(err(format!(
                    "`file_var` {:?} is not a variable name",
                    r.file_var
                )));
            }
            let patterns = |list: &[String]| {
                list.iter()
                    .map(|p| Pattern::parse(p))
                    .collect::<Result<Vec<_>, _>>()
            };
            let variables = patterns(&r.variables).map_err(err)?;
            let except = patterns(&r.except).map_err(err)?;
            if variables.is_empty() {
                return Err(err("`variables` is empty".into()));
            }
            if r.registries.is_empty() || r.repositories.is_empty() {
                return Err(err(
                    "`registries` and `repositories` must not be empty".into()
                ));
            }
            for reg in &r.registries {
                for repo in &r.repositories {
                    let name = format!("{reg}/{repo}");
                    let parsed = ImageRef::parse(&name)
                        .map_err(|e| err(format!("{name:?} is not a repository: {e}")))?;
                    if parsed.registry != *reg
                        || parsed.repository != *repo
                        || parsed.tag.is_some()
                        || parsed.digest.is_some()
                    {
                        return Err(err(format!(
                            "{name:?} must be written as a runtime resolves it: {}",
                            parsed.full_name()
                        )));
                    }
                    if index
                        .insert((reg.clone(), repo.clone()), entries.len())
                        .is_some()
                    {
                        return Err(err(format!("{name} is listed twice")));
                    }
                }
            }
            entries.push(Entry {
                image: r.image.clone(),
                docs: r.docs.clone(),
                before: before.to_string(),
                after: after.to_string(),
                variables,
                except,
                except_tags: r.except_tags.clone(),
            });
        }
        Ok(Table { entries, index })
    }

    /// The entry for `image`'s repository (any tag or digest), if the table knows it.
    pub fn entry(&self, image: &ImageRef) -> Option<&Entry> {
        self.index
            .get(&(image.registry.clone(), image.repository.clone()))
            .map(|&i| &self.entries[i])
    }

    /// Every `registry/repository` the table knows, for docs and tests.
    #[cfg(test)]
    pub(crate) fn repositories(&self) -> impl Iterator<Item = String> + '_ {
        self.index.keys().map(|(r, p)| format!("{r}/{p}"))
    }
}

/// Variables the user named with `--file-env NAME=VAR`: `NAME` → `VAR`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFileVars(BTreeMap<String, String>);

/// A bad `--file-env` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--file-env {value:?}: {reason}")]
pub struct UserFileVarError {
    pub value: String,
    pub reason: String,
}

impl UserFileVars {
    /// Parses the `NAME=VAR` values of `--file-env` (repeatable).
    pub fn parse<S: AsRef<str>>(values: &[S]) -> Result<Self, UserFileVarError> {
        let mut map = BTreeMap::new();
        let mut vars: BTreeMap<String, String> = BTreeMap::new();
        for v in values {
            let value = v.as_ref();
            let err = |reason: String| UserFileVarError {
                value: value.to_string(),
                reason,
            };
            let (name, var) = value.split_once('=').ok_or_else(|| {
                err("expected NAME=VAR, e.g. DB_PASSWORD=DB_PASSWORD_PATH".into())
            })?;
            for (what, n) in [("NAME", name), ("VAR", var)] {
                if !is_env_name(n) {
                    return Err(err(format!(
                        "{what} {n:?} is not a variable name ([-._a-zA-Z][-._a-zA-Z0-9]*)"
                    )));
                }
            }
            if name == var {
                return Err(err(
                    "VAR must differ from NAME: NAME is removed by the fix".into()
                ));
            }
            if let Some(prev) = map.get(name).filter(|p| *p != var) {
                return Err(err(format!("{name} was already given as {name}={prev}")));
            }
            if let Some(other) = vars.get(var).filter(|o| *o != name) {
                return Err(err(format!(
                    "{var} is already the file variable of {other}"
                )));
            }
            map.insert(name.to_string(), var.to_string());
            vars.insert(var.to_string(), name.to_string());
        }
        Ok(UserFileVars(map))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What decides how moved variables are delivered (from `fix` flags).
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    pub table: &'a Table,
    /// Variables named by the user.
    pub user: &'a UserFileVars,
    /// Set a file variable at all (`false` with `--no-file-env`: only user-named ones).
    pub set_file_vars: bool,
    /// The keys of the ConfigMaps and Secrets that `envFrom` may read.
    pub sources: &'a EnvSources,
    /// The namespace of the workload (where its `envFrom` sources are).
    pub namespace: &'a str,
}

/// The keys (never the values) of the ConfigMaps and Secrets a container's `envFrom` may
/// read: offline those in the manifests, live those read by name. A source not here is
/// unknown, and a native move beside it is not safe: it may set the variable again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvSources {
    keys: BTreeMap<(String, String, String), BTreeSet<String>>,
}

impl EnvSources {
    /// Records the keys of a ConfigMap or Secret object (`data`, `binaryData`,
    /// `stringData`); anything else is ignored. Values are not kept.
    pub fn learn(&mut self, obj: &serde_json::Value, default_namespace: &str) {
        let kind = obj.get("kind").and_then(serde_json::Value::as_str);
        let name = obj
            .pointer("/metadata/name")
            .and_then(serde_json::Value::as_str);
        let (Some(kind @ ("ConfigMap" | "Secret")), Some(name)) = (kind, name) else {
            return;
        };
        let namespace = obj
            .pointer("/metadata/namespace")
            .and_then(serde_json::Value::as_str)
            .unwrap_or(default_namespace);
        let keys = ["data", "binaryData", "stringData"]
            .iter()
            .filter_map(|f| obj.get(*f).and_then(serde_json::Value::as_object))
            .flat_map(|m| m.keys().cloned());
        self.add(kind, namespace, name, keys);
    }

    /// Records the keys of ConfigMap or Secret `namespace/name`.
    pub fn add(
        &mut self,
        kind: &str,
        namespace: &str,
        name: &str,
        keys: impl IntoIterator<Item = String>,
    ) {
        self.keys
            .entry((kind.to_string(), namespace.to_string(), name.to_string()))
            .or_default()
            .extend(keys);
    }

    /// No source known (every `envFrom` is then a possible conflict).
    pub fn none() -> &'static EnvSources {
        static NONE: EnvSources = EnvSources {
            keys: BTreeMap::new(),
        };
        &NONE
    }

    fn keys(&self, kind: &str, namespace: &str, name: &str) -> Option<&BTreeSet<String>> {
        self.keys
            .get(&(kind.to_string(), namespace.to_string(), name.to_string()))
    }
}

/// Why a moved variable got its class. Holds names only, never values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// The table: `image` reads the file variable (`docs` says so).
    Table { image: String, docs: String },
    /// The user named the variable with `--file-env`.
    UserNamed,
    /// The image's repository is not in the table.
    UnknownImage { repository: String },
    /// The container has no image, or one that does not parse.
    NoImage,
    /// The image is in the table, but does not read this variable from a file.
    NotRead { image: String },
    /// The image is in the table, but this tag's variant does not read files.
    Variant { image: String, tag: String },
    /// `command` replaces the image's entrypoint, which is what reads the file variables.
    Command,
    /// `--no-file-env`: no variable names the file.
    NoFileEnv,
    /// The file variable is already set by another entry of the container.
    Taken { var: String },
    /// `envFrom`: every key becomes a file, and no variable names them.
    WholeSecret,
    /// The moved variable, or its file variable, would still be set by another source of
    /// the container (an `envFrom` ConfigMap or Secret, another `env` entry): entrypoints
    /// refuse both (`both POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are set`).
    Conflict { var: String, source: String },
    /// Something in the container reads the moved variable, which the move removes.
    Readers { var: String, places: Vec<String> },
}

impl Why {
    /// One sentence on why, for warnings and `-o json` reasons.
    pub(crate) fn describe(&self) -> String {
        match self {
            Why::Table { image, docs } => format!("the {image} image reads it ({docs})"),
            Why::UserNamed => "named with --file-env".to_string(),
            Why::UnknownImage { repository } => {
                format!("{repository} is not in the table of images that read files")
            }
            Why::NoImage => "the container's image is unknown".to_string(),
            Why::NotRead { image } => {
                format!("the {image} image does not document a file form of this variable")
            }
            Why::Variant { image, tag } => {
                format!("the {image} image's {tag} variant does not read file variables")
            }
            Why::Command => "the container sets `command`, which replaces the image \
                             entrypoint that reads file variables"
                .to_string(),
            Why::NoFileEnv => "--no-file-env: no variable names the file".to_string(),
            Why::Taken { var } => format!("{var} is already set in the container"),
            Why::WholeSecret => {
                "envFrom: each key becomes a file, and no variable names it".to_string()
            }
            Why::Conflict { var, source } => format!(
                "{var} would still be set by {source}: with the file variable also set, the \
                 entrypoint may refuse to start"
            ),
            Why::Readers { var, places } => format!(
                "{var} is read by {}, which lose it when it is removed",
                places.join(", ")
            ),
        }
    }
}

/// The delivery of one moved variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    pub delivery: Delivery,
    /// The variable set to the file's path; `None` when none is set.
    pub file_var: Option<String>,
    pub why: Why,
}

impl Resolution {
    fn native(file_var: String, why: Why) -> Self {
        Resolution {
            delivery: Delivery::Native,
            file_var: Some(file_var),
            why,
        }
    }

    /// Not known: `<NAME>_FILE` is set for an app to be changed to read.
    fn guess(name: &str, why: Why) -> Self {
        Resolution {
            delivery: Delivery::AppChange,
            file_var: Some(format!("{name}_FILE")),
            why,
        }
    }
}

/// How the value of env var `name` of container `c` reaches the app once it is a file.
/// `other_names` are the container's other env entries (a file variable among them cannot
/// be set). Order: a user-named variable wins; then `--no-file-env`; then the table, where
/// a container with `command` is never native.
pub fn resolve<'n>(
    c: &Container,
    name: &str,
    other_names: impl IntoIterator<Item = &'n str>,
    policy: Policy<'_>,
) -> Resolution {
    let r = resolve_unchecked(c, name, policy);
    let others: BTreeSet<&str> = other_names.into_iter().collect();
    match &r.file_var {
        Some(var) if others.contains(var.as_str()) => Resolution {
            delivery: Delivery::AppChange,
            file_var: None,
            why: Why::Taken { var: var.clone() },
        },
        // A native move is only native if nothing else sets either variable and nothing
        // reads the one removed (issue #22): else it is an app change, said and asked.
        Some(var) if r.delivery == Delivery::Native => {
            let app_change = |why| Resolution {
                delivery: Delivery::AppChange,
                file_var: Some(var.clone()),
                why,
            };
            if let Some(why) = conflict(c, name, var, &others, policy) {
                return app_change(why);
            }
            let places = readers(c, name);
            if !places.is_empty() {
                return app_change(Why::Readers {
                    var: name.to_string(),
                    places,
                });
            }
            r
        }
        _ => r,
    }
}

/// Another source of `name` (the variable moved) or `file_var` in container `c`: another
/// `env` entry of the same name (it stays), or an `envFrom` ConfigMap or Secret holding
/// either key (with its prefix), or one whose keys are not known.
fn conflict(
    c: &Container,
    name: &str,
    file_var: &str,
    others: &BTreeSet<&str>,
    policy: Policy<'_>,
) -> Option<Why> {
    if others.contains(name) {
        return Some(Why::Conflict {
            var: name.to_string(),
            source: "another env entry of the container".to_string(),
        });
    }
    for from in c.env_from.iter().flatten() {
        let prefix = from.prefix.as_deref().unwrap_or_default();
        let (kind, source) = match (&from.config_map_ref, &from.secret_ref) {
            (Some(cm), _) => ("ConfigMap", cm.name.as_str()),
            (None, Some(s)) => ("Secret", s.name.as_str()),
            (None, None) => continue,
        };
        let described = format!("envFrom {kind} {source}");
        match policy.sources.keys(kind, policy.namespace, source) {
            Some(keys) => {
                for var in [name, file_var] {
                    let hit = var
                        .strip_prefix(prefix)
                        .is_some_and(|key| keys.contains(key));
                    if hit {
                        return Some(Why::Conflict {
                            var: var.to_string(),
                            source: described,
                        });
                    }
                }
            }
            None => {
                return Some(Why::Conflict {
                    var: name.to_string(),
                    source: format!("{described} (its keys could not be read)"),
                });
            }
        }
    }
    None
}

/// Where container `c` reads variable `name`, which a move removes: `$(NAME)` (expanded
/// by Kubernetes in `command`, `args` and env values) and the shell forms `$NAME` and
/// `${NAME…}` in `command`, `args`, env values, exec probes and lifecycle hooks.
pub(crate) fn readers(c: &Container, name: &str) -> Vec<String> {
    let mut places = Vec::new();
    let mut look = |place: String, texts: &mut dyn Iterator<Item = &String>| {
        for t in texts {
            if reads(t, name) {
                places.push(place);
                return;
            }
        }
    };
    look("command".into(), &mut c.command.iter().flatten());
    look("args".into(), &mut c.args.iter().flatten());
    for e in c.env.iter().flatten().filter(|e| e.name != name) {
        look(format!("env {}", e.name), &mut e.value.iter());
    }
    let probes = [
        ("livenessProbe", &c.liveness_probe),
        ("readinessProbe", &c.readiness_probe),
        ("startupProbe", &c.startup_probe),
    ];
    for (field, probe) in probes {
        let command = probe
            .as_ref()
            .and_then(|p| p.exec.as_ref())
            .and_then(|e| e.command.as_ref());
        look(field.to_string(), &mut command.into_iter().flatten());
    }
    let hooks = c.lifecycle.as_ref();
    let hooks = [
        (
            "lifecycle.postStart",
            hooks.and_then(|l| l.post_start.as_ref()),
        ),
        ("lifecycle.preStop", hooks.and_then(|l| l.pre_stop.as_ref())),
    ];
    for (field, hook) in hooks {
        let command = hook
            .and_then(|h| h.exec.as_ref())
            .and_then(|e| e.command.as_ref());
        look(field.to_string(), &mut command.into_iter().flatten());
    }
    places
}

/// Whether `text` reads variable `name`: `$(NAME)`, `${NAME` or `$NAME`, not followed by a
/// name character.
fn reads(text: &str, name: &str) -> bool {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices('$').any(|(i, _)| {
        let rest = &text[i + 1..];
        if let Some(r) = rest.strip_prefix('(') {
            return r.strip_prefix(name).is_some_and(|t| t.starts_with(')'));
        }
        let r = rest.strip_prefix('{').unwrap_or(rest);
        r.strip_prefix(name)
            .is_some_and(|t| !t.starts_with(is_name_char))
    })
}

fn resolve_unchecked(c: &Container, name: &str, policy: Policy<'_>) -> Resolution {
    if let Some(var) = policy.user.get(name) {
        return Resolution::native(var.to_string(), Why::UserNamed);
    }
    if !policy.set_file_vars {
        return Resolution {
            delivery: Delivery::AppChange,
            file_var: None,
            why: Why::NoFileEnv,
        };
    }
    let Some(image) = c.image.as_deref().and_then(|i| ImageRef::parse(i).ok()) else {
        return Resolution::guess(name, Why::NoImage);
    };
    let Some(entry) = policy.table.entry(&image) else {
        return Resolution::guess(
            name,
            Why::UnknownImage {
                repository: image.full_name(),
            },
        );
    };
    if let Some(tag) = entry.excluded_tag(image.tag.as_deref()) {
        return Resolution::guess(
            name,
            Why::Variant {
                image: entry.image.clone(),
                tag: tag.to_string(),
            },
        );
    }
    if !entry.reads(name) {
        return Resolution::guess(
            name,
            Why::NotRead {
                image: entry.image.clone(),
            },
        );
    }
    if c.command.as_ref().is_some_and(|cmd| !cmd.is_empty()) {
        return Resolution::guess(name, Why::Command);
    }
    Resolution::native(
        entry.file_var(name),
        Why::Table {
            image: entry.image.clone(),
            docs: entry.docs.clone(),
        },
    )
}

/// The delivery of an `envFrom` Secret: always an app change (no variable can name files
/// whose keys the fix never reads).
pub(crate) fn resolve_whole() -> Resolution {
    Resolution {
        delivery: Delivery::AppChange,
        file_var: None,
        why: Why::WholeSecret,
    }
}

/// The delivery `scan` reports for `env[index]` (named `name`) of container `cid` of
/// `spec`: the table alone, as `fix` without `--file-env` or `--no-file-env` would decide.
pub(crate) fn scan_delivery(
    spec: &PodSpec,
    (group, ci): (ContainerGroup, usize),
    index: usize,
    name: &str,
) -> Option<Delivery> {
    let c = crate::model::workload::container(spec, group, ci)?;
    let user = UserFileVars::default();
    let policy = Policy {
        table: Table::builtin(),
        user: &user,
        set_file_vars: true,
        sources: EnvSources::none(),
        namespace: "",
    };
    Some(resolve(c, name, other_env_names(c, index), policy).delivery)
}

/// The names of `c`'s env entries other than `env[index]`.
pub(crate) fn other_env_names(c: &Container, index: usize) -> BTreeSet<&str> {
    c.env
        .iter()
        .flatten()
        .enumerate()
        .filter(|(i, _)| *i != index)
        .map(|(_, e)| e.name.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn table() -> &'static Table {
        Table::builtin()
    }

    fn entry_of(image: &str) -> Option<&'static str> {
        let r = ImageRef::parse(image).unwrap();
        table().entry(&r).map(|e| e.image.as_str())
    }

    fn container(image: &str) -> Container {
        serde_json::from_value(json!({"name": "c", "image": image})).unwrap()
    }

    fn resolve_in(c: &Container, name: &str, user: &UserFileVars) -> Resolution {
        resolve(
            c,
            name,
            [],
            Policy {
                table: table(),
                user,
                set_file_vars: true,
                sources: EnvSources::none(),
                namespace: "",
            },
        )
    }

    fn native(image: &str, name: &str) -> Option<String> {
        let r = resolve_in(&container(image), name, &UserFileVars::default());
        (r.delivery == Delivery::Native).then(|| r.file_var.unwrap())
    }

    #[test]
    fn builtin_table_loads() {
        let t = Table::parse(TABLE_YAML).unwrap();
        assert!(t.entries.len() >= 10);
        let repos: Vec<String> = t.repositories().collect();
        for r in [
            "docker.io/library/mysql",
            "docker.io/grafana/grafana",
            "lscr.io/linuxserver/jellyfin",
        ] {
            assert!(repos.iter().any(|x| x == r), "{r}");
        }
        for image in [
            "mysql",
            "mariadb",
            "postgres",
            "mongo",
            "wordpress",
            "grafana",
            "linuxserver.io",
        ] {
            assert!(
                t.entries.iter().any(|e| e.image == image),
                "{image} missing"
            );
        }
    }

    #[test]
    fn every_spelling_of_a_repository_matches_any_tag_or_digest() {
        // covers issue #14: repository matching
        for spelling in [
            "mysql".to_string(),
            "mysql:8.0".to_string(),
            "docker.io/library/mysql".to_string(),
            "docker.io/mysql:8.4".to_string(),
            "index.docker.io/library/mysql:8.0".to_string(),
            "registry-1.docker.io/library/mysql".to_string(),
            format!("mysql@{D}"),
            format!("mysql:8.0@{D}"),
            format!("index.docker.io/library/mysql:8.0@{D}"),
        ] {
            assert_eq!(entry_of(&spelling), Some("mysql"), "{spelling}");
        }
        assert_eq!(entry_of("grafana/grafana-oss:11.0.0"), Some("grafana"));
        assert_eq!(
            entry_of("lscr.io/linuxserver/jellyfin:latest"),
            Some("linuxserver.io")
        );
        assert_eq!(
            entry_of("ghcr.io/linuxserver/jellyfin"),
            Some("linuxserver.io")
        );
        assert_eq!(entry_of("linuxserver/jellyfin"), Some("linuxserver.io"));
    }

    #[test]
    fn mirrors_and_lookalikes_are_other_repositories() {
        // covers issue #14: a private mirror is not the same repository
        for other in [
            "registry.example.com/mysql",
            "registry.example.com/library/mysql:8.0",
            "ghcr.io/library/mysql",
            "localhost:5000/mysql",
            "mysql/mysql-server:8.0",
            "bitnami/mysql",
            "docker.io/library/mysqlx",
            "docker.io.evil.example/library/mysql",
            "lscr.io/linuxserver/ffmpeg",
            "quay.io/linuxserver/jellyfin",
            "grafana/loki",
        ] {
            assert_eq!(entry_of(other), None, "{other}");
        }
    }

    #[test]
    fn native_variables_follow_each_images_convention() {
        assert_eq!(
            native("mysql:8.0", "MYSQL_PASSWORD").as_deref(),
            Some("MYSQL_PASSWORD_FILE")
        );
        assert_eq!(native("mysql:8.0", "MYSQL_ALLOW_EMPTY_PASSWORD"), None);
        assert_eq!(
            native("postgres:16", "POSTGRES_PASSWORD").as_deref(),
            Some("POSTGRES_PASSWORD_FILE")
        );
        // PGPASSWORD is libpq's, not the image's: not read from a file.
        assert_eq!(native("postgres:16", "PGPASSWORD"), None);
        assert_eq!(
            native("mariadb:11", "MARIADB_ROOT_PASSWORD").as_deref(),
            Some("MARIADB_ROOT_PASSWORD_FILE")
        );
        assert_eq!(
            native("mariadb:11", "MARIADB_UNIX_SOCKET_AUTHENTICATION"),
            None
        );
        assert_eq!(
            native("mongo", "MONGO_INITDB_ROOT_PASSWORD").as_deref(),
            Some("MONGO_INITDB_ROOT_PASSWORD_FILE")
        );
        assert_eq!(
            native("wordpress:6-apache", "WORDPRESS_DB_PASSWORD").as_deref(),
            Some("WORDPRESS_DB_PASSWORD_FILE")
        );
        // Grafana: two underscores, any GF_ variable, except the AWS profiles and paths.
        assert_eq!(
            native("grafana/grafana:11.2.0", "GF_SECURITY_ADMIN_PASSWORD").as_deref(),
            Some("GF_SECURITY_ADMIN_PASSWORD__FILE")
        );
        assert_eq!(
            native("grafana/grafana", "GF_DATABASE_PASSWORD").as_deref(),
            Some("GF_DATABASE_PASSWORD__FILE")
        );
        assert_eq!(
            native("grafana/grafana", "GF_AWS_default_SECRET_ACCESS_KEY"),
            None
        );
        assert_eq!(native("grafana/grafana", "DB_PASSWORD"), None);
        assert_eq!(
            native(
                "grafana/grafana:13.0-distroless",
                "GF_SECURITY_ADMIN_PASSWORD"
            ),
            None
        );
        // LinuxServer.io: a prefix, any variable.
        assert_eq!(
            native("lscr.io/linuxserver/nextcloud:latest", "ANY_TOKEN").as_deref(),
            Some("FILE__ANY_TOKEN")
        );
    }

    #[test]
    fn unknown_images_are_app_changes_that_guess_name_file() {
        let r = resolve_in(
            &container("registry.example.com/mysql:8.0"),
            "MYSQL_PASSWORD",
            &UserFileVars::default(),
        );
        assert_eq!(r.delivery, Delivery::AppChange);
        assert_eq!(r.file_var.as_deref(), Some("MYSQL_PASSWORD_FILE"));
        assert_eq!(
            r.why.describe(),
            "registry.example.com/mysql is not in the table of images that read files"
        );
        let mut c = container("x");
        c.image = None;
        assert_eq!(
            resolve_in(&c, "A", &UserFileVars::default()).why,
            Why::NoImage
        );
    }

    #[test]
    fn a_command_replacing_the_entrypoint_is_never_native() {
        let mut c = container("mysql:8.0");
        c.command = Some(vec!["mysqld".into()]);
        let r = resolve_in(&c, "MYSQL_PASSWORD", &UserFileVars::default());
        assert_eq!((r.delivery, r.why), (Delivery::AppChange, Why::Command));
        // `args` keep the entrypoint.
        let mut c = container("mysql:8.0");
        c.args = Some(vec!["--max-connections=10".into()]);
        assert_eq!(
            resolve_in(&c, "MYSQL_PASSWORD", &UserFileVars::default()).delivery,
            Delivery::Native
        );
    }

    #[test]
    fn user_named_variables_win_and_a_taken_variable_is_never_set() {
        let user = UserFileVars::parse(&["API_TOKEN=API_TOKEN_PATH"]).unwrap();
        let r = resolve_in(&container("example/api:1"), "API_TOKEN", &user);
        assert_eq!(r.delivery, Delivery::Native);
        assert_eq!(r.file_var.as_deref(), Some("API_TOKEN_PATH"));
        assert_eq!(r.why, Why::UserNamed);
        let policy = Policy {
            table: table(),
            user: &user,
            set_file_vars: false,
            sources: EnvSources::none(),
            namespace: "",
        };
        let c = container("mysql");
        assert_eq!(
            resolve(&c, "API_TOKEN", [], policy).delivery,
            Delivery::Native
        );
        let off = resolve(&c, "MYSQL_PASSWORD", [], policy);
        assert_eq!((off.delivery, off.file_var), (Delivery::AppChange, None));
        let policy = Policy {
            set_file_vars: true,
            sources: EnvSources::none(),
            namespace: "",
            ..policy
        };
        let taken = resolve(&c, "MYSQL_PASSWORD", ["MYSQL_PASSWORD_FILE"], policy);
        assert_eq!(taken.delivery, Delivery::AppChange);
        assert_eq!(taken.file_var, None);
        assert_eq!(
            taken.why.describe(),
            "MYSQL_PASSWORD_FILE is already set in the container"
        );
    }

    #[test]
    fn file_env_flags_are_validated() {
        let ok = UserFileVars::parse(&["A=B", "C=D", "A=B"]).unwrap();
        assert_eq!(ok.get("A"), Some("B"));
        for (bad, why) in [
            ("A", "expected NAME=VAR"),
            ("=B", "NAME \"\" is not a variable name"),
            ("A=", "VAR \"\" is not a variable name"),
            ("1A=B", "NAME \"1A\" is not a variable name"),
            ("A=B C", "VAR \"B C\" is not a variable name"),
            ("A=A", "VAR must differ from NAME"),
        ] {
            let e = UserFileVars::parse(&[bad]).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
            assert!(e.starts_with(&format!("--file-env {bad:?}")), "{e}");
        }
        let e = UserFileVars::parse(&["A=B", "A=C"]).unwrap_err();
        assert_eq!(e.reason, "A was already given as A=B");
        let e = UserFileVars::parse(&["A=X", "B=X"]).unwrap_err();
        assert_eq!(e.reason, "X is already the file variable of A");
    }

    #[test]
    fn bad_tables_are_refused_with_the_entry_named() {
        let entry = |patch: &str| {
            format!(
                "images:\n  - image: x\n    docs: https://example.com\n    registries: [docker.io]\n    repositories: [library/x]\n    file_var: \"{{NAME}}_FILE\"\n    variables: [A]\n{patch}"
            )
        };
        assert!(Table::parse(&entry("")).is_ok());
        let bad = |yaml: &str, want: &str| {
            let e = Table::parse(yaml).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        };
        bad(&entry("    typo: 1\n"), "unknown field");
        bad(
            &entry("").replace("library/x", "x"),
            "\"docker.io/x\" must be written as a runtime resolves it: docker.io/library/x",
        );
        bad(
            &entry("").replace("library/x", "library/x:1"),
            "must be written",
        );
        bad(
            &entry("").replace("{NAME}_FILE", "_FILE"),
            "must hold {NAME} once",
        );
        bad(
            &entry("").replace("{NAME}_FILE", "{NAME}"),
            "must hold {NAME} once",
        );
        bad(
            &entry("").replace("[A]", "[\"A*B\"]"),
            "`*` may only end a pattern",
        );
        bad(&entry("").replace("[A]", "[]"), "`variables` is empty");
        bad(&entry("").replace("https://", "http://"), "https URL");
        let twice = format!("{}{}", entry(""), entry("").replace("images:\n", ""));
        bad(&twice, "docker.io/library/x is listed twice");
    }

    #[test]
    fn delivery_serialises_as_kebab_case() {
        assert_eq!(
            serde_json::to_value([Delivery::Native, Delivery::AppChange]).unwrap(),
            json!(["native", "app-change"])
        );
    }

    fn resolve_with(c: &Container, name: &str, sources: &EnvSources) -> Resolution {
        let user = UserFileVars::default();
        let others = other_env_names(c, 0);
        resolve(
            c,
            name,
            others,
            Policy {
                table: table(),
                user: &user,
                set_file_vars: true,
                sources,
                namespace: "db",
            },
        )
    }

    fn postgres(extra: serde_json::Value) -> Container {
        let mut c = json!({"name": "db", "image": "postgres:16", "env": [
            {"name": "POSTGRES_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "pg", "key": "pw"}}}]});
        if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
            c.extend(extra.clone());
        }
        serde_json::from_value(c).unwrap()
    }

    /// covers issue #22: moving POSTGRES_PASSWORD to POSTGRES_PASSWORD_FILE while an
    /// `envFrom` ConfigMap still sets POSTGRES_PASSWORD makes the entrypoint exit ("both
    /// … are set"): such a move is an app change, as is one beside a source whose keys are
    /// not known; a source known not to hold either variable leaves it native.
    #[test]
    fn a_native_move_conflicts_with_env_from() {
        let c = postgres(json!({"envFrom": [{"configMapRef": {"name": "cfg"}}]}));
        let mut sources = EnvSources::default();
        sources.learn(
            &json!({"kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "db"},
                "data": {"POSTGRES_PASSWORD": "sfxCANARY-cm", "MODE": "x"}}),
            "default",
        );
        let r = resolve_with(&c, "POSTGRES_PASSWORD", &sources);
        assert_eq!(r.delivery, Delivery::AppChange);
        assert_eq!(
            r.why,
            Why::Conflict {
                var: "POSTGRES_PASSWORD".into(),
                source: "envFrom ConfigMap cfg".into()
            }
        );
        assert_eq!(r.file_var.as_deref(), Some("POSTGRES_PASSWORD_FILE"));
        assert!(
            !format!("{sources:?}").contains("sfxCANARY"),
            "values are never kept"
        );
        // The file variable set by a Secret with a prefix conflicts too.
        let c = postgres(json!({"envFrom": [{"secretRef": {"name": "s"}, "prefix": "POSTGRES_"}]}));
        let mut sources = EnvSources::default();
        sources.add("Secret", "db", "s", ["PASSWORD_FILE".to_string()]);
        let r = resolve_with(&c, "POSTGRES_PASSWORD", &sources);
        assert_eq!(
            r.why,
            Why::Conflict {
                var: "POSTGRES_PASSWORD_FILE".into(),
                source: "envFrom Secret s".into()
            }
        );
        // Unknown keys: the tool cannot know, so it does not act silently.
        let r = resolve_with(&c, "POSTGRES_PASSWORD", EnvSources::none());
        assert_eq!(r.delivery, Delivery::AppChange);
        assert!(
            r.why.describe().contains("could not be read"),
            "{}",
            r.why.describe()
        );
        // Known, and holding neither variable: native.
        let mut sources = EnvSources::default();
        sources.add("Secret", "db", "s", ["USER".to_string()]);
        let r = resolve_with(&c, "POSTGRES_PASSWORD", &sources);
        assert_eq!(r.delivery, Delivery::Native);
        // Another env entry of the same name stays set.
        let mut c = postgres(json!({}));
        c.env.as_mut().unwrap().push(
            serde_json::from_value(json!({"name": "POSTGRES_PASSWORD", "value": "x"})).unwrap(),
        );
        let r = resolve_with(&c, "POSTGRES_PASSWORD", EnvSources::none());
        assert_eq!(r.delivery, Delivery::AppChange);
    }

    /// covers issue #22: a native move removes a variable that an exec probe, a lifecycle
    /// hook, `command`/`args` or another env value reads (`$VAR`, `${VAR}`, `$(VAR)`):
    /// that is an app change, said with where it is read.
    #[test]
    fn a_native_move_removes_a_variable_that_probes_or_hooks_read() {
        let cases = [
            (
                json!({"livenessProbe": {"exec": {"command": ["sh", "-c",
                    "PGPASSWORD=$POSTGRES_PASSWORD pg_isready -h localhost"]}}}),
                "livenessProbe",
            ),
            (
                json!({"readinessProbe": {"exec": {"command": ["sh", "-c", "echo ${POSTGRES_PASSWORD:-x}"]}}}),
                "readinessProbe",
            ),
            (
                json!({"startupProbe": {"exec": {"command": ["check", "$(POSTGRES_PASSWORD)"]}}}),
                "startupProbe",
            ),
            (
                json!({"lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", "backup --pw \"$POSTGRES_PASSWORD\""]}}}}),
                "lifecycle.preStop",
            ),
            (
                json!({"lifecycle": {"postStart": {"exec": {"command": ["init", "--password=$(POSTGRES_PASSWORD)"]}}}}),
                "lifecycle.postStart",
            ),
            (
                json!({"args": ["-c", "password=$(POSTGRES_PASSWORD)"]}),
                "args",
            ),
        ];
        for (extra, place) in cases {
            let c = postgres(extra.clone());
            let r = resolve_with(&c, "POSTGRES_PASSWORD", EnvSources::none());
            assert_eq!(r.delivery, Delivery::AppChange, "{extra}");
            assert_eq!(
                r.why,
                Why::Readers {
                    var: "POSTGRES_PASSWORD".into(),
                    places: vec![place.into()]
                },
                "{extra}"
            );
        }
        let mut c = postgres(json!({}));
        c.env.as_mut().unwrap().push(
            serde_json::from_value(
                json!({"name": "DSN", "value": "postgres://u:$(POSTGRES_PASSWORD)@h/db"}),
            )
            .unwrap(),
        );
        let r = resolve_with(&c, "POSTGRES_PASSWORD", EnvSources::none());
        assert!(
            matches!(r.why, Why::Readers { ref places, .. } if places == &["env DSN"]),
            "{r:?}"
        );
        // Names that only start the same are other variables.
        let c = postgres(json!({"livenessProbe": {"exec": {"command": ["sh", "-c",
            "echo $POSTGRES_PASSWORD_OLD ${POSTGRES_PASSWORDX} $(POSTGRES_PASSWORD2)"]}}}));
        let r = resolve_with(&c, "POSTGRES_PASSWORD", EnvSources::none());
        assert_eq!(r.delivery, Delivery::Native, "{r:?}");
    }
}
