//! The one redaction pass on arbitrary manifests: every env value the classifier flags (and
//! every copy of it, anywhere in the object: other env values, args, annotations, the
//! last-applied annotation, map keys) is gone from the redacted object, from its YAML and
//! JSON renderings, and from the text pass over them.
#![no_main]

use kubectl_secfix::checks::env_literal_secret::classify;
use kubectl_secfix::fix::redact::{MIN_SCRUB_LEN, Redactor, scrubbed_strings};
use kubectl_secfix::manifest;
use kubectl_secfix::model::REDACTED;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let (file, _) = manifest::parse_bytes("-", data);
    for (obj, _) in manifest::objects(std::slice::from_ref(&file)) {
        let mut flagged = Vec::new();
        flagged_values(&obj, &mut flagged);
        if let Some(applied) = obj
            .pointer("/metadata/annotations")
            .and_then(|a| a.get("kubectl.kubernetes.io/last-applied-configuration"))
            .and_then(Value::as_str)
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
        {
            flagged_values(&applied, &mut flagged);
        }
        if flagged.is_empty() {
            continue;
        }
        let mut r = Redactor::new();
        r.learn(&obj);
        let shown = r.value(&obj);
        let numbers = numbers_text(&obj);
        for secret in &flagged {
            if secret.len() < MIN_SCRUB_LEN || REDACTED.contains(secret.as_str()) {
                continue;
            }
            // Every string but names (a secret is never a name; `kept_as_name`).
            let mut strings = Vec::new();
            scrubbed_strings(&shown, false, &mut |s| strings.push(s.to_string()));
            for s in &strings {
                // Only bytes that are not our marker count: a value written to look like
                // `x=<redacted` would otherwise be "found" where the marker stands after an
                // `x=` of the object's own text.
                let unmarked = s.replace(REDACTED, "\u{1}");
                assert!(
                    !unmarked.contains(secret.as_str()),
                    "flagged value {secret:?} survives in {s:?}"
                );
            }
            // In text, only spellings that render as themselves, and not as part of a number.
            let plain = secret.len() >= 8
                && secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !numbers.contains(secret.as_str());
            if plain {
                let json = r.text(&shown.to_string()).into_owned();
                assert!(!json.contains(secret.as_str()), "{secret:?} in JSON {json}");
                if let Ok(yaml) = manifest::to_yaml(&shown) {
                    let yaml = r.text(&yaml).into_owned();
                    assert!(!yaml.contains(secret.as_str()), "{secret:?} in YAML {yaml}");
                }
            }
        }
    }
});

/// The `value` of every env entry (`{name, value}` in an `env` array) the classifier flags.
fn flagged_values(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                if k == "env"
                    && let Value::Array(entries) = child
                {
                    for e in entries {
                        let name = e.get("name").and_then(Value::as_str);
                        let value = e.get("value").and_then(Value::as_str);
                        if let (Some(n), Some(v)) = (name, value)
                            && classify(n, v).is_some()
                        {
                            out.push(v.to_string());
                        }
                    }
                } else {
                    flagged_values(child, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| flagged_values(i, out)),
        _ => {}
    }
}

/// The numbers and booleans of `v` as text (they are not strings, so never scrubbed).
fn numbers_text(v: &Value) -> String {
    match v {
        Value::Number(n) => format!("{n} "),
        Value::Bool(b) => format!("{b} "),
        Value::Array(items) => items.iter().map(numbers_text).collect(),
        Value::Object(m) => m.values().map(numbers_text).collect(),
        _ => String::new(),
    }
}
