//! `fix --overlay OUT`: the fixes as a kustomize overlay to commit, instead of changed files
//! or live patches. Pure: from plans to the overlay's files (the caller writes them).
//!
//! - `kustomization.yaml` lists the base (`resources`), the new objects, and one JSON 6902
//!   patch per changed object under `patches:` with a precise `target` (group, version,
//!   kind, name, and namespace when the object names one);
//! - each patch starts with `test` operations taken from the object the fix was planned
//!   from: the `name` of every list entry its paths go through (a container, an env entry,
//!   a volume) and the old value of every scalar it replaces or removes. A base that drifted
//!   under the patch then fails to render instead of being patched in the wrong place. A
//!   test never carries an env entry's value (it could be a literal secret);
//! - new objects (NetworkPolicies) go into `secfix-resources.yaml`; a Secret a literal moves
//!   into goes into a file of its own under `secrets/`, which the caller writes with mode
//!   0600 (it holds the value).

use std::collections::BTreeSet;

use json_patch::PatchOperation;
use json_patch::jsonptr::PointerBuf;
use serde_json::{Value, json};

use super::{Action, Plan};

/// One file of the overlay, by its path relative to the overlay's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayFile {
    pub path: String,
    pub content: String,
    /// Holds secret values: written with mode 0600, never printed.
    pub secret: bool,
}

/// The overlay's files, and what the user must know.
#[derive(Debug, Clone, Default)]
pub struct Overlay {
    pub files: Vec<OverlayFile>,
    pub notes: Vec<String>,
}

/// The `test` operations that pin `ops` to the object they were planned from (`before`).
pub fn guards(before: &Value, ops: &[PatchOperation]) -> Vec<PatchOperation> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut test = |path: String, value: Value, out: &mut Vec<PatchOperation>| {
        if seen.insert(path.clone())
            && let Ok(path) = PointerBuf::parse(&path)
        {
            out.push(PatchOperation::Test(json_patch::TestOperation {
                path,
                value,
            }));
        }
    };
    for op in ops {
        let (path, old_value) = match op {
            PatchOperation::Replace(o) => (o.path.to_string(), true),
            PatchOperation::Remove(o) => (o.path.to_string(), true),
            PatchOperation::Add(o) => (o.path.to_string(), false),
            _ => continue,
        };
        let tokens: Vec<String> = path
            .split('/')
            .skip(1)
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect();
        let mut node = before;
        let mut prefix = String::new();
        let mut in_env = false;
        for (i, token) in tokens.iter().enumerate() {
            let next = match node {
                Value::Array(a) => token.parse::<usize>().ok().and_then(|n| a.get(n)),
                Value::Object(m) => m.get(token),
                _ => None,
            };
            let Some(next) = next else { break };
            prefix.push('/');
            prefix.push_str(&token.replace('~', "~0").replace('/', "~1"));
            if node.is_array()
                && let Some(name) = next.get("name").filter(|n| n.is_string())
            {
                test(format!("{prefix}/name"), name.clone(), &mut out);
            }
            if matches!(token.as_str(), "env" | "envFrom") {
                in_env = true;
            }
            let last = i + 1 == tokens.len();
            if last
                && old_value
                && !in_env
                && matches!(next, Value::String(_) | Value::Number(_) | Value::Bool(_))
            {
                test(prefix.clone(), next.clone(), &mut out);
            }
            node = next;
        }
    }
    out
}

/// `group/version` split as a kustomize patch target wants it.
fn group_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

/// A file name part from a kind and a name: lower case, `[a-z0-9.-]` only.
fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The overlay of `plans` over `resources` (paths relative to the overlay's folder: the
/// base kustomization, or the manifest files).
pub fn build(plans: &[Plan], resources: &[String]) -> Result<Overlay, String> {
    let mut out = Overlay::default();
    let mut patches = Vec::new();
    let mut new_objects: Vec<&Value> = Vec::new();
    let mut secret_files = Vec::new();
    let mut taken = BTreeSet::new();
    let mut targets = BTreeSet::new();
    for plan in plans {
        for p in &plan.prerequisites {
            if p.sensitive {
                let path = crate::model::names::unique(
                    &format!("secrets/{}", slug(&p.target.name)),
                    ".yaml",
                    "-",
                    usize::MAX,
                    |n| taken.contains(n),
                );
                taken.insert(path.clone());
                let content = crate::model::yaml::to_yaml(&p.object)?;
                out.notes.push(format!(
                    "{path} holds the values of Secret {}/{} (mode 0600): encrypt it (SOPS, \
                     Sealed Secrets) or create the Secret another way before committing",
                    crate::model::names::namespace_label(&p.target.namespace),
                    p.target.name
                ));
                secret_files.push(OverlayFile {
                    path: path.clone(),
                    content,
                    secret: true,
                });
            } else {
                new_objects.push(&p.object);
            }
        }
        match &plan.action {
            Action::Create => new_objects.push(&plan.after),
            Action::Patch { ops, .. } => {
                let t = &plan.target;
                let key = (
                    t.api_version.clone(),
                    t.kind.clone(),
                    t.namespace.clone(),
                    t.name.clone(),
                );
                if !targets.insert(key) {
                    return Err(format!(
                        "{t}: defined more than once in the input; an overlay patch cannot tell \
                         the copies apart (fix them with -f --write)"
                    ));
                }
                let mut all = guards(&plan.before, ops);
                all.extend(ops.iter().cloned());
                let value = serde_json::to_value(&all).map_err(|e| e.to_string())?;
                let path = crate::model::names::unique(
                    &format!("patches/{}-{}", slug(&t.kind), slug(&t.name)),
                    ".yaml",
                    "-",
                    usize::MAX,
                    |n| taken.contains(n),
                );
                taken.insert(path.clone());
                let (group, version) = group_version(&t.api_version);
                let mut target = serde_json::Map::new();
                if !group.is_empty() {
                    target.insert("group".into(), group.into());
                }
                target.insert("version".into(), version.into());
                target.insert("kind".into(), t.kind.clone().into());
                target.insert("name".into(), t.name.clone().into());
                if !t.namespace.is_empty() {
                    target.insert("namespace".into(), t.namespace.clone().into());
                }
                patches.push(json!({"path": path, "target": target}));
                out.files.push(OverlayFile {
                    path,
                    content: crate::model::yaml::to_yaml(&value)?,
                    secret: false,
                });
            }
        }
    }
    let mut all_resources: Vec<String> = resources.to_vec();
    if !new_objects.is_empty() {
        let docs: Result<Vec<String>, String> = new_objects
            .iter()
            .map(|o| crate::model::yaml::to_yaml(o))
            .collect();
        out.files.push(OverlayFile {
            path: "secfix-resources.yaml".into(),
            content: docs?.join("---\n"),
            secret: false,
        });
        all_resources.push("secfix-resources.yaml".into());
    }
    all_resources.extend(secret_files.iter().map(|f| f.path.clone()));
    out.files.extend(secret_files);
    let mut k = serde_json::Map::new();
    k.insert(
        "apiVersion".into(),
        "kustomize.config.k8s.io/v1beta1".into(),
    );
    k.insert("kind".into(), "Kustomization".into());
    k.insert("resources".into(), all_resources.into());
    if !patches.is_empty() {
        k.insert("patches".into(), patches.into());
    }
    let mut content = String::from(
        "# Written by `kubectl secfix fix --overlay`: the fixes as patches over the resources\n\
         # below. Each patch first tests what it was planned from: a base that changed under\n\
         # it fails to render (run the fix again).\n",
    );
    content.push_str(&crate::model::yaml::to_yaml(&Value::Object(k))?);
    out.files.insert(
        0,
        OverlayFile {
            path: "kustomization.yaml".into(),
            content,
            secret: false,
        },
    );
    Ok(out)
}

/// `to` relative to the folder `from` (both absolute and normalized), with `/`.
pub fn relative(from: &std::path::Path, to: &std::path::Path) -> String {
    let a: Vec<_> = from.components().collect();
    let b: Vec<_> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = vec!["..".into(); a.len() - common];
    parts.extend(
        b[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_test_names_on_the_way_and_old_scalars_but_never_env_values() {
        let before = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "nginx:1.25", "env": [
                {"name": "A", "value": "plain"},
                {"name": "PASSWORD", "value": "sfxCANARYguard"}]}]}}}});
        let ops: Vec<PatchOperation> = serde_json::from_value(json!([
            {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "nginx@sha256:00"},
            {"op": "remove", "path": "/spec/template/spec/containers/0/env/1"},
            {"op": "replace", "path": "/spec/template/spec/containers/0/env/0/value", "value": "x"},
            {"op": "add", "path": "/spec/template/spec/volumes", "value": []}
        ]))
        .unwrap();
        let tests = serde_json::to_value(guards(&before, &ops)).unwrap();
        assert_eq!(
            tests,
            json!([
                {"op": "test", "path": "/spec/template/spec/containers/0/name", "value": "app"},
                {"op": "test", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.25"},
                {"op": "test", "path": "/spec/template/spec/containers/0/env/1/name", "value": "PASSWORD"},
                {"op": "test", "path": "/spec/template/spec/containers/0/env/0/name", "value": "A"}
            ])
        );
        assert!(!tests.to_string().contains("sfxCANARY"));
    }

    #[test]
    fn relative_paths() {
        use std::path::Path;
        assert_eq!(
            relative(Path::new("/a/out"), Path::new("/a/base")),
            "../base"
        );
        assert_eq!(
            relative(Path::new("/a/out"), Path::new("/a/out/x.yaml")),
            "x.yaml"
        );
        assert_eq!(relative(Path::new("/a"), Path::new("/a")), ".");
    }
}
