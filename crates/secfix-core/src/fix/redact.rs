//! The one redaction pass: display copies of plans and objects with every secret value
//! replaced by [`REDACTED`].
//!
//! Plans keep real values (the Secret a literal moves into must hold them), so everything
//! that shows a plan goes through here: previews, the "show patch" view, `-o json`, the
//! manifests `fix -f` prints. [`Redactor`] decides what is secret on its own, whatever
//! `--checks` or suppression say: it classifies **every** literal env value (with the
//! `env-literal-secret` classifier), also inside a `kubectl.kubernetes.io/last-applied-configuration`
//! annotation, plus the data of the Secrets a plan creates, and then replaces those values
//! wherever they appear: the env entry itself, other env values, `args`, annotations, copies
//! made by YAML aliases (which are plain copies once parsed), and in text.

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::{NewObject, Plan};
use crate::checks::env_literal_secret::classify;
use crate::model::REDACTED;

/// The annotation `kubectl apply` keeps a full copy of the object in.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Fields that name things, which the text scrub leaves alone (see `Redactor::scrub_strings`).
const IDENTITY_KEYS: &[&str] = &[
    "name",
    "namespace",
    "generateName",
    "kind",
    "apiVersion",
    "uid",
    "resourceVersion",
    "labels",
    "matchLabels",
    "selector",
    "podSelector",
    "namespaceSelector",
    "image",
    "serviceName",
    "secretName",
    "serviceAccountName",
];

/// Whether the text scrub leaves `s` alone: it stands where things are named (`naming`: under
/// one of [`IDENTITY_KEYS`]) and has the shape of a name, label, kind or image reference
/// (letters, digits and `-._/:@+`, at most 253 bytes). A secret is never a name, and a name
/// that contains a weak secret's text must stay whole; anything else there (quotes, spaces,
/// JSON) is scrubbed like every other string.
pub fn kept_as_name(naming: bool, s: &str) -> bool {
    naming
        && !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._/:@+".contains(&b))
}

/// Visits every string and map key of `v` that the text scrub applies to (all but those
/// [`kept_as_name`]): what an oracle checks for surviving secrets.
pub fn scrubbed_strings<'a>(v: &'a Value, naming: bool, f: &mut dyn FnMut(&'a str)) {
    match v {
        Value::String(s) if !kept_as_name(naming, s) => f(s),
        Value::Array(items) => items.iter().for_each(|i| scrubbed_strings(i, naming, f)),
        Value::Object(m) => {
            for (k, c) in m {
                if !kept_as_name(naming, k) {
                    f(k);
                }
                scrubbed_strings(c, naming || IDENTITY_KEYS.contains(&k.as_str()), f);
            }
        }
        _ => {}
    }
}

/// Secret values shorter than this are redacted structurally only (where they stand as an
/// env value): replacing every occurrence of a one- to three-character string in a text
/// would make it unreadable.
pub const MIN_SCRUB_LEN: usize = 4;

/// What is secret in a run's objects, and the pass that hides it. Build it from every object
/// an output may show ([`Redactor::learn`], [`Redactor::for_plan`]), then render through
/// [`Redactor::value`] and, as a last net over text, [`Redactor::text`].
#[derive(Clone, Default)]
pub struct Redactor {
    /// Flagged values and their JSON-escaped spellings, longest first.
    secrets: Vec<String>,
    /// Env names whose value was flagged somewhere (redacted structurally, at any length).
    names: BTreeSet<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("secrets", &self.secrets.len())
            .field("names", &self.names)
            .finish()
    }
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// The redactor for one plan: its object before and after, the data of the Secrets it
    /// creates, and the env names its findings flag.
    pub fn for_plan(plan: &Plan) -> Self {
        let mut r = Redactor::new();
        r.learn_plan(plan);
        r
    }

    /// Learns everything [`Redactor::for_plan`] does from `plan`.
    pub fn learn_plan(&mut self, plan: &Plan) {
        self.learn(&plan.before);
        self.learn(&plan.after);
        for p in &plan.prerequisites {
            if p.sensitive {
                self.learn_secret_data(&p.object);
            }
        }
        for name in literal_names(plan) {
            self.names.insert(name.to_string());
        }
        self.finish();
    }

    /// Learns the secret values of an object: every literal env value the classifier flags
    /// (anywhere in the object), the same inside its `last-applied-configuration`
    /// annotation, and all of its data when it is a Secret.
    pub fn learn(&mut self, obj: &Value) {
        self.learn_env(obj);
        if let Some(text) = obj
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(LAST_APPLIED_ANNOTATION))
            .and_then(Value::as_str)
            && let Ok(applied) = serde_json::from_str::<Value>(text)
        {
            self.learn_env(&applied);
            if applied.get("kind").and_then(Value::as_str) == Some("Secret") {
                self.learn_secret_data(&applied);
            }
        }
        if obj.get("kind").and_then(Value::as_str) == Some("Secret") {
            self.learn_secret_data(obj);
        }
        self.finish();
    }

    /// Learns a whole document: a `List`'s items one by one (nested Lists too), any other
    /// object as [`Redactor::learn`].
    pub fn learn_document(&mut self, v: &Value) {
        match v.get("items").and_then(Value::as_array) {
            Some(items) if is_list(v) => items.iter().for_each(|i| self.learn_document(i)),
            _ => self.learn(v),
        }
    }

    /// A document as it may leave the process (printed, saved): a `List` item by item,
    /// every Secret's `data`/`stringData` replaced, then [`Redactor::value`]. The one
    /// boundary every echoed object goes through, changed or not.
    pub fn output(&self, v: &Value) -> Value {
        let mut out = match v.get("items").and_then(Value::as_array) {
            Some(items) if is_list(v) => {
                let mut list = v.clone();
                list["items"] = Value::Array(items.iter().map(|i| self.output(i)).collect());
                list
            }
            _ if v.get("kind").and_then(Value::as_str) == Some("Secret") => {
                let mut secret = redact_secret(v);
                // Its last-applied copy holds the same data.
                if let Some(Value::String(text)) = secret
                    .pointer_mut("/metadata/annotations")
                    .and_then(|a| a.get_mut(LAST_APPLIED_ANNOTATION))
                {
                    *text = match serde_json::from_str::<Value>(text) {
                        Ok(applied) => redact_secret(&applied).to_string(),
                        Err(_) => REDACTED.to_string(),
                    };
                }
                secret
            }
            _ => v.clone(),
        };
        self.redact_in_place(&mut out);
        out
    }

    /// Learns every `data`/`stringData` value of a Secret (and, for `data`, its decoded
    /// text).
    pub(crate) fn learn_secret_data(&mut self, obj: &Value) {
        for field in ["data", "stringData"] {
            if let Some(Value::Object(map)) = obj.get(field) {
                for v in map.values().filter_map(Value::as_str) {
                    self.add(v);
                }
            }
        }
        self.finish();
    }

    fn learn_env(&mut self, v: &Value) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    if k == "env"
                        && let Value::Array(entries) = child
                    {
                        for e in entries {
                            let name = e.get("name").and_then(Value::as_str);
                            let value = e.get("value").and_then(Value::as_str);
                            if let (Some(name), Some(value)) = (name, value)
                                && classify(name, value).is_some()
                            {
                                self.names.insert(name.to_string());
                                self.add(value);
                            }
                        }
                    } else {
                        self.learn_env(child);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| self.learn_env(i)),
            _ => {}
        }
    }

    fn add(&mut self, value: &str) {
        if value.len() < MIN_SCRUB_LEN || value == REDACTED {
            return;
        }
        self.secrets.push(value.to_string());
        // As it appears inside a JSON string (a last-applied annotation), and inside a JSON
        // string inside JSON (that annotation in a JSON document).
        let mut spelling = value.to_string();
        for _ in 0..2 {
            let quoted = serde_json::to_string(&spelling).unwrap_or_default();
            let inner = quoted
                .strip_prefix('"')
                .and_then(|q| q.strip_suffix('"'))
                .unwrap_or(&quoted)
                .to_string();
            if inner == spelling {
                break;
            }
            self.secrets.push(inner.clone());
            spelling = inner;
        }
    }

    fn finish(&mut self) {
        // Longest first, so a value containing another is replaced whole.
        self.secrets
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        self.secrets.dedup();
    }

    /// Whether nothing is known to be secret.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty() && self.names.is_empty()
    }

    /// A copy of `v` safe to show: the `value` of every env entry with a flagged name is
    /// [`REDACTED`], and every string (map keys too) has each known secret replaced.
    pub fn value(&self, v: &Value) -> Value {
        let mut out = v.clone();
        self.redact_in_place(&mut out);
        out
    }

    /// [`Redactor::value`] in place.
    pub(crate) fn redact_in_place(&self, v: &mut Value) {
        if self.is_empty() {
            return;
        }
        // The last-applied annotation is JSON in a string: redacted as JSON (whatever escapes
        // spell the value there), then written back.
        let applied = v
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(LAST_APPLIED_ANNOTATION))
            .and_then(Value::as_str)
            .and_then(|t| serde_json::from_str::<Value>(t).ok());
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        redact_env_values(v, &names);
        self.scrub_strings(v);
        if let Some(mut applied) = applied
            && let Some(Value::Object(annotations)) = v.pointer_mut("/metadata/annotations")
        {
            redact_env_values(&mut applied, &names);
            self.scrub_strings(&mut applied);
            annotations.insert(
                LAST_APPLIED_ANNOTATION.to_string(),
                Value::String(applied.to_string()),
            );
        }
    }

    /// Replaces known secret values in every string of `v` and every map key, except names
    /// ([`kept_as_name`]): a weak password such as `otel` must not turn namespace `otel-demo`
    /// into `<redacted>-demo` in a manifest the user applies.
    fn scrub_strings(&self, v: &mut Value) {
        self.scrub_within(v, false);
    }

    fn scrub_within(&self, v: &mut Value, naming: bool) {
        match v {
            Value::String(s) => {
                if !kept_as_name(naming, s)
                    && let Cow::Owned(clean) = self.text(s)
                {
                    *s = clean;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| self.scrub_within(i, naming)),
            Value::Object(map) => {
                let dirty = map
                    .keys()
                    .any(|k| !kept_as_name(naming, k) && matches!(self.text(k), Cow::Owned(_)));
                if dirty {
                    let old = std::mem::take(map);
                    *map = old
                        .into_iter()
                        .map(|(k, v)| {
                            let k = if kept_as_name(naming, &k) {
                                k
                            } else {
                                self.text(&k).into_owned()
                            };
                            (k, v)
                        })
                        .collect::<Map<String, Value>>();
                }
                for (k, c) in map.iter_mut() {
                    let naming = naming || IDENTITY_KEYS.contains(&k.as_str());
                    self.scrub_within(c, naming);
                }
            }
            _ => {}
        }
    }

    /// `text` with every known secret value replaced by [`REDACTED`].
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), REDACTED));
            }
        }
        out
    }

    /// The JSON patch operations `ops` (a JSON array) safe to show: values of flagged env
    /// entries redacted where an op adds or replaces whole env arrays, single entries or an
    /// entry's `value` (the entry named in `before`), then [`Redactor::value`].
    pub fn patch(&self, ops: &Value, before: &Value) -> Value {
        let mut ops = ops.clone();
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        if let Value::Array(items) = &mut ops {
            for op in items {
                let Some(path) = op.get("path").and_then(Value::as_str).map(str::to_string) else {
                    continue;
                };
                let Some(value) = op.get_mut("value") else {
                    continue;
                };
                let segments: Vec<&str> = path.split('/').collect();
                let last = segments.last().copied().unwrap_or_default();
                let parent = segments.len().checked_sub(2).map(|i| segments[i]);
                let grandparent = segments.len().checked_sub(3).map(|i| segments[i]);
                if last == "env" {
                    let mut wrapper =
                        Value::Object(Map::from_iter([("env".to_string(), value.take())]));
                    redact_env_values(&mut wrapper, &names);
                    *value = wrapper["env"].take();
                } else if parent == Some("env") {
                    let mut wrapper = serde_json::json!({ "env": [value.take()] });
                    redact_env_values(&mut wrapper, &names);
                    *value = wrapper["env"][0].take();
                } else if last == "value" && grandparent == Some("env") {
                    // `/…/env/3/value`: the entry's name is in the object before the change.
                    let entry = path.rsplit_once('/').map(|(p, _)| p).unwrap_or_default();
                    let named = before
                        .pointer(entry)
                        .and_then(|e| e.get("name"))
                        .and_then(Value::as_str)
                        .is_some_and(|n| names.contains(&n));
                    if named {
                        *value = Value::String(REDACTED.to_string());
                    }
                }
            }
        }
        self.redact_in_place(&mut ops);
        ops
    }
}

/// Replaces the `value` of every env entry named in `names`, in every container of `obj`.
pub fn redact_env_values(obj: &mut Value, names: &[&str]) {
    if names.is_empty() {
        return;
    }
    walk_env(obj, &mut |entry| {
        let hit = entry
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| names.contains(&n));
        if hit && let Some(v) = entry.get_mut("value") {
            *v = Value::String(REDACTED.to_string());
        }
    });
}

/// Calls `f` on every element of every `env` array under `v`.
fn walk_env(v: &mut Value, f: &mut dyn FnMut(&mut Value)) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if k == "env"
                    && let Value::Array(entries) = child
                {
                    entries.iter_mut().for_each(&mut *f);
                } else {
                    walk_env(child, f);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| walk_env(i, f)),
        _ => {}
    }
}

/// Whether `v` is a `List` (`kind: List`, or any `…List` kind holding `items`).
fn is_list(v: &Value) -> bool {
    v.get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"))
}

/// A Secret-like object with every `data`/`stringData` value replaced.
pub(crate) fn redact_secret(obj: &Value) -> Value {
    let mut out = obj.clone();
    for field in ["data", "stringData"] {
        if let Some(Value::Object(map)) = out.get_mut(field) {
            for v in map.values_mut() {
                *v = Value::String(REDACTED.to_string());
            }
        }
    }
    out
}

/// The env names whose literal values a plan's findings flag as secrets.
pub(crate) fn literal_names(plan: &Plan) -> Vec<&str> {
    plan.findings
        .iter()
        .filter_map(|f| f.detail.get().moved_literal())
        .collect()
}

impl NewObject {
    /// The object as it may be shown or saved.
    pub fn display(&self) -> Value {
        if self.sensitive {
            redact_secret(&self.object)
        } else {
            self.object.clone()
        }
    }
}

impl Plan {
    /// `before` and `after` as they may be shown: every secret value the [`Redactor`] finds
    /// in them redacted (not only the literals this plan moves).
    pub fn display_objects(&self) -> (Value, Value) {
        let r = Redactor::for_plan(self);
        (r.value(&self.before), r.value(&self.after))
    }

    /// The forward patch as it may be shown (`-o json`, "show JSON patch"): values redacted.
    pub fn display_patch(&self) -> Option<Value> {
        self.display_patch_with(&Redactor::for_plan(self))
    }

    /// [`Plan::display_patch`] with this plan's redactor already built
    /// ([`Redactor::for_plan`]).
    pub fn display_patch_with(&self, plan_redactor: &Redactor) -> Option<Value> {
        let patch = serde_json::to_value(self.forward_patch()?).ok()?;
        Some(plan_redactor.patch(&patch, &self.before))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn env_values_are_redacted_everywhere() {
        let mut v = json!({"spec": {"template": {"spec": {
            "initContainers": [{"name": "i", "env": [{"name": "PASSWORD", "value": "hunter2"}]}],
            "containers": [{"name": "c", "env": [{"name": "PASSWORD", "value": "hunter2"}, {"name": "MODE", "value": "x"}]}]}}}});
        redact_env_values(&mut v, &["PASSWORD"]);
        let s = v.to_string();
        assert!(!s.contains("hunter2"));
        assert!(s.contains("\"MODE\",\"value\":\"x\""));
    }

    /// covers issue #15 (item 3): every literal env value is classified, whatever the
    /// findings say, and its copies elsewhere (other env values, args, annotations, the
    /// last-applied annotation) are scrubbed.
    #[test]
    fn every_flagged_value_is_scrubbed_wherever_it_is_copied() {
        let applied = json!({"spec": {"template": {"spec": {"containers": [{"name": "web",
            "env": [{"name": "DB_PASSWORD", "value": "sfxCANARY-a1\"b2"}]}]}}}});
        let obj = json!({
            "kind": "Deployment",
            "metadata": {"name": "shop", "annotations": {
                LAST_APPLIED_ANNOTATION: applied.to_string(),
                "note": "pw is sfxCANARY-a1\"b2"}},
            "spec": {"template": {"spec": {"containers": [{"name": "web",
                "args": ["--db-password=sfxCANARY-a1\"b2"],
                "env": [
                    {"name": "DB_PASSWORD", "value": "sfxCANARY-a1\"b2"},
                    {"name": "BACKUP", "value": "sfxCANARY-a1\"b2"},
                    {"name": "MODE", "value": "fast"}]}]}}}
        });
        let mut r = Redactor::new();
        r.learn(&obj);
        let shown = r.value(&obj);
        let text = shown.to_string();
        assert!(!text.contains("sfxCANARY"), "{text}");
        assert!(text.contains("\"fast\""), "{text}");
        assert_eq!(
            shown["spec"]["template"]["spec"]["containers"][0]["args"][0],
            "--db-password=<redacted>"
        );
        assert!(!r.text(&obj.to_string()).contains("sfxCANARY"));
        assert!(format!("{r:?}").find("sfx").is_none());
    }

    /// covers issue #15 (item 2): a literal only in the last-applied annotation is found.
    #[test]
    fn a_literal_only_in_the_last_applied_annotation_is_redacted() {
        let applied = json!({"spec": {"containers": [{"name": "a",
            "env": [{"name": "API_TOKEN", "value": "sfxCANARY-f6g7h8i9j0"}]}]}});
        let obj = json!({"kind": "Pod", "metadata": {"annotations": {
            LAST_APPLIED_ANNOTATION: applied.to_string()}}, "spec": {"containers": []}});
        let mut r = Redactor::new();
        r.learn(&obj);
        assert!(!r.value(&obj).to_string().contains("sfxCANARY"));
    }

    /// A weak literal password equal to part of a name (`POSTGRES_PASSWORD: otel` in the
    /// OpenTelemetry demo) is hidden where it is copied, but never cuts into names: the
    /// NetworkPolicies printed for namespace `otel-demo` stay valid manifests.
    #[test]
    fn a_weak_password_that_is_part_of_a_name_does_not_corrupt_names() {
        let mut r = Redactor::new();
        r.learn(
            &json!({"kind": "Deployment", "spec": {"template": {"spec": {"containers": [
            {"name": "db", "env": [{"name": "POSTGRES_PASSWORD", "value": "otel"}]}]}}}}),
        );
        let policy = json!({"kind": "NetworkPolicy",
            "metadata": {"name": "otel-allow", "namespace": "otel-demo",
                         "labels": {"app": "otel"}, "annotations": {"note": "pw otel"}},
            "spec": {"podSelector": {"matchLabels": {"app": "otel-collector"}}}});
        let shown = r.output(&policy);
        assert_eq!(shown["metadata"]["namespace"], "otel-demo");
        assert_eq!(shown["metadata"]["name"], "otel-allow");
        assert_eq!(shown["metadata"]["labels"]["app"], "otel");
        assert_eq!(
            shown["spec"]["podSelector"]["matchLabels"]["app"],
            "otel-collector"
        );
        assert_eq!(shown["metadata"]["annotations"]["note"], "pw <redacted>");
    }

    #[test]
    fn secret_data_is_redacted() {
        let s = redact_secret(
            &json!({"kind": "Secret", "stringData": {"A": "hunter2"}, "data": {"B": "aHVudGVyMg=="}}),
        );
        assert_eq!(s["stringData"]["A"], REDACTED);
        assert_eq!(s["data"]["B"], REDACTED);
    }
}
