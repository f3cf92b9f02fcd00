//! `env-literal-secret` fix, first half: the Secret that receives the literal values.
//!
//! The Secret is `<workload>-secfix` (`-secfix-2`, … when the name is taken; the workload
//! part is truncated so the name fits the 253 characters of a DNS subdomain), type `Opaque`,
//! labelled `app.kubernetes.io/managed-by: kubectl-secfix`, with one `stringData` key per
//! env var name (sanitised to `[-._a-zA-Z0-9]`). The same name with another value (another
//! container) gets its own key (`NAME_2`). The second half, turning each literal into a file
//! mount, is the `env-secret` fix in [`super::secret_volume`].
//!
//! The values only ever live in the returned [`NewObject`] (`sensitive: true`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::network_policy::{MANAGED_BY, MANAGED_BY_LABEL};
use super::{NewObject, Target};

/// `<workload>-secfix`, or the first of `<workload>-secfix-2`, `-3`, … not in `taken`,
/// the workload part cut so the name fits 253 characters.
pub(crate) fn secret_name(workload: &str, taken: &BTreeSet<String>) -> String {
    crate::model::names::unique(
        workload,
        "-secfix",
        "-",
        crate::model::names::MAX_NAME,
        |n| taken.contains(n),
    )
}

/// A Secret key for an env var name: characters outside `[-._a-zA-Z0-9]` become `_`;
/// names that would be empty, `.` or `..` become `value`.
pub(crate) fn sanitize_key(env: &str) -> String {
    let k: String = env
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if k.is_empty() || k == "." || k == ".." {
        "value".to_string()
    } else {
        k
    }
}

/// The literal values collected for one Secret, by key.
#[derive(Default)]
pub(crate) struct LiteralSecret {
    data: BTreeMap<String, String>,
}

impl std::fmt::Debug for LiteralSecret {
    /// Keys only: the values are secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiteralSecret")
            .field("keys", &self.data.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl LiteralSecret {
    /// Stores `value` for env var `env` and returns its key: the sanitised name, reused when
    /// it already holds the same value, else made unique with `_2`, `_3`, ….
    pub(crate) fn add(&mut self, env: &str, value: &str) -> String {
        let base = sanitize_key(env);
        let key = crate::model::names::unique(&base, "", "_", usize::MAX, |k| {
            self.data.get(k).is_some_and(|v| v != value)
        });
        self.data
            .entry(key.clone())
            .or_insert_with(|| value.to_string());
        key
    }

    /// The moved values (to scrub their copies; never to show).
    pub(crate) fn values(&self) -> impl Iterator<Item = &str> {
        self.data.values().map(String::as_str)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The Secret to create before the workload is patched, in the workload's namespace
    /// (`namespace`: as written in the workload, omitted from the object when it has none;
    /// `target_namespace`: the effective one).
    pub(crate) fn into_object(
        self,
        namespace: Option<&str>,
        target_namespace: &str,
        name: &str,
    ) -> NewObject {
        // Built as JSON, not as a typed Secret: serialising cannot fail, and no fallback
        // could stand in for a Secret that must hold the values.
        let mut metadata = serde_json::Map::new();
        metadata.insert("name".into(), Value::String(name.to_string()));
        if let Some(ns) = namespace {
            metadata.insert("namespace".into(), Value::String(ns.to_string()));
        }
        metadata.insert("labels".into(), json!({ MANAGED_BY_LABEL: MANAGED_BY }));
        let object = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": metadata,
            "type": "Opaque",
            "stringData": self.data,
        });
        NewObject {
            keep_on_rollback: true,
            target: Target {
                api_version: "v1".to_string(),
                kind: "Secret".to_string(),
                namespace: target_namespace.to_string(),
                name: name.to_string(),
            },
            object,
            sensitive: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_collisions() {
        let none = BTreeSet::new();
        assert_eq!(secret_name("web", &none), "web-secfix");
        let taken: BTreeSet<String> = ["web-secfix".to_string(), "web-secfix-2".to_string()].into();
        assert_eq!(secret_name("web", &taken), "web-secfix-3");
        let long = "a".repeat(253);
        let n = secret_name(&long, &none);
        assert_eq!(n.len(), 253);
        assert!(n.ends_with("-secfix"));
        let n = secret_name(&long, &[n.clone()].into());
        assert_eq!(n.len(), 253);
        assert!(n.ends_with("-secfix-2"));
        // Truncation never leaves "-." before the suffix (a cut name ends in a hash).
        let odd = format!("{}.-{}", "b".repeat(227), "x".repeat(20));
        let n = secret_name(&odd, &none);
        let hash = n
            .strip_prefix(&format!("{}-", "b".repeat(227)))
            .and_then(|r| r.strip_suffix("-secfix"))
            .unwrap_or_else(|| panic!("{n}"));
        assert!(
            hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()),
            "{n}"
        );
    }

    #[test]
    fn keys_are_sanitised_and_unique() {
        assert_eq!(sanitize_key("DB_PASSWORD"), "DB_PASSWORD");
        assert_eq!(sanitize_key("my var$"), "my_var_");
        assert_eq!(sanitize_key(".."), "value");
        let mut s = LiteralSecret::default();
        assert_eq!(s.add("TOKEN", "a"), "TOKEN");
        assert_eq!(s.add("TOKEN", "a"), "TOKEN");
        assert_eq!(s.add("TOKEN", "b"), "TOKEN_2");
        assert_eq!(s.add("TOK EN", "c"), "TOK_EN");
        let debug = format!("{s:?}");
        for v in ["\"a\"", "\"b\"", "\"c\""] {
            assert!(!debug.contains(v), "{debug}");
        }
    }

    #[test]
    fn secret_object() {
        let mut s = LiteralSecret::default();
        s.add("API_KEY", "hunter2");
        let o = s.into_object(Some("ns"), "ns", "web-secfix");
        assert!(o.sensitive);
        assert_eq!(o.target.kind, "Secret");
        assert_eq!(
            o.object,
            json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "web-secfix", "namespace": "ns",
                    "labels": {"app.kubernetes.io/managed-by": "kubectl-secfix"}},
                "stringData": {"API_KEY": "hunter2"}, "type": "Opaque"})
        );
        assert!(!o.display().to_string().contains("hunter2"));
    }
}
