//! Display copies of plans with every secret value replaced by [`REDACTED`].
//!
//! Plans keep real values (the Secret a literal moves into must hold them), so everything
//! that shows or saves a plan goes through here: previews, `-o json`, saved patch files.

use serde_json::Value;

use super::{NewObject, Plan};
use crate::model::{Detail, REDACTED};

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

/// A Secret-like object with every `data`/`stringData` value replaced.
pub fn redact_secret(obj: &Value) -> Value {
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
pub fn literal_names(plan: &Plan) -> Vec<&str> {
    plan.findings
        .iter()
        .filter_map(|f| match &f.detail {
            Detail::LiteralSecret { env, .. } => Some(env.as_str()),
            _ => None,
        })
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
    /// `before` and `after` as they may be shown or saved: literal secret values redacted.
    pub fn display_objects(&self) -> (Value, Value) {
        let names = literal_names(self);
        let mut before = self.before.clone();
        let mut after = self.after.clone();
        redact_env_values(&mut before, &names);
        redact_env_values(&mut after, &names);
        (before, after)
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

    #[test]
    fn secret_data_is_redacted() {
        let s = redact_secret(
            &json!({"kind": "Secret", "stringData": {"A": "hunter2"}, "data": {"B": "aHVudGVyMg=="}}),
        );
        assert_eq!(s["stringData"]["A"], REDACTED);
        assert_eq!(s["data"]["B"], REDACTED);
    }
}
